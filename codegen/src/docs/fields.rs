//! Schemas as table rows, and the index of the named schemas the docs give a section of
//! their own.
//!
//! A table has one row per property: anonymous nested objects are written out with
//! dotted paths (`server.host`), array items with `[]` (`servers[].host`), `allOf`
//! members merged, anonymous `oneOf`/`anyOf` variants under the variant's label
//! (`(oneOf[0]).x`). A named schema (a component, or a schema with a title: what gets a
//! Rust type of its own) is never written out inside another: its row's type links to
//! its own section ([`TypeIndex`]), where it is documented once. Recursion therefore
//! always ends at a link.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use heck::ToPascalCase;
use serde::Serialize;

use crate::ir::{AdditionalProperties, InstanceType, Schema, SchemaArena, SchemaId};

/// The link target prefix of a named type in rendered Markdown (`[Disk](@type#disk)`);
/// each page replaces it with its own way to the type's section (see `docs::generate`).
pub const TYPE_LINK: &str = "@type#";

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FieldRow {
    /// Dotted path; empty for the schema itself when it is not an object.
    pub path: String,
    /// The type as Markdown: named types are links (see [`TYPE_LINK`]).
    pub ty: String,
    pub required: bool,
    /// The constraints, `; `-separated (see [`constraints`]).
    pub constraints: String,
    pub description: Option<String>,
}

/// A named schema's documentation handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeRef {
    /// The Rust type name in the generated crate's `types` module.
    pub rust_name: String,
    /// The section's anchor: what GitHub derives from the heading `` `Name` `` on the
    /// types page (so the Markdown links work there); the HTML page uses `type-<anchor>`.
    pub anchor: String,
}

/// The named schemas reachable from a set of root schemas (message payloads and
/// headers), each with its Rust name and anchor.
#[derive(Debug, Default)]
pub struct TypeIndex {
    refs: HashMap<SchemaId, TypeRef>,
    /// The documented schemas, sorted by Rust name.
    documented: Vec<SchemaId>,
}

impl TypeIndex {
    /// `named_roots`: every message's payload and headers, in document order (the order
    /// the crate's types are named in, so that numbered duplicates get the same number);
    /// `documented_roots`: those whose named schemas get a section (the operations').
    pub fn build(
        arena: &SchemaArena,
        named_roots: impl IntoIterator<Item = SchemaId>,
        documented_roots: impl IntoIterator<Item = SchemaId>,
    ) -> TypeIndex {
        let mut taken = BTreeSet::new();
        let mut rust_names: HashMap<SchemaId, String> = HashMap::new();
        for id in named_schemas(arena, named_roots) {
            if let Some(name) = &arena.get(id).name {
                rust_names.insert(id, claim(&mut taken, &rust_type_name(name)));
            }
        }
        let mut documented: Vec<SchemaId> = named_schemas(arena, documented_roots)
            .into_iter()
            .filter(|id| rust_names.contains_key(id))
            .collect();
        documented.sort_by(|a, b| rust_names[a].cmp(&rust_names[b]));
        // GitHub's heading anchors: lowercased, `-1`, `-2`, ... for repeats; the page
        // title `# Types` comes first.
        let mut anchors: HashMap<String, usize> = HashMap::from([("types".to_string(), 1)]);
        let mut refs = HashMap::new();
        for id in &documented {
            let rust_name = rust_names[id].clone();
            let base: String = rust_name
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .flat_map(char::to_lowercase)
                .collect();
            let seen = anchors.entry(base.clone()).or_insert(0);
            let anchor = if *seen == 0 {
                base.clone()
            } else {
                format!("{base}-{seen}")
            };
            *seen += 1;
            anchors.entry(anchor.clone()).or_insert(1);
            refs.insert(*id, TypeRef { rust_name, anchor });
        }
        TypeIndex { refs, documented }
    }

    /// The section of `id`, when it is a documented named schema.
    pub fn get(&self, id: SchemaId) -> Option<&TypeRef> {
        self.refs.get(&id)
    }

    /// The documented schemas, sorted by Rust name.
    pub fn documented(&self) -> &[SchemaId] {
        &self.documented
    }

    /// The section a field of schema `id` links to instead of being written out: its
    /// own, or, for `allOf: [$ref]` alone (a reference with a description of its own),
    /// the referenced schema's.
    fn link_target(&self, arena: &SchemaArena, id: SchemaId) -> Option<&TypeRef> {
        if let Some(r) = self.get(id) {
            return Some(r);
        }
        let s = &arena.get(id).schema;
        match s.all_of.as_slice() {
            [only]
                if s.properties.is_empty()
                    && s.items.is_none()
                    && s.one_of.is_empty()
                    && s.any_of.is_empty() =>
            {
                self.get(*only)
            }
            _ => None,
        }
    }
}

/// The schema's name as the generated crate's type name (the rule of
/// `typegen::naming::type_name`): PascalCase, a valid identifier.
fn rust_type_name(raw: &str) -> String {
    let mut name = raw.to_pascal_case();
    if name.is_empty() {
        name = "Type".to_string();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'T');
    }
    if matches!(name.as_str(), "Self" | "_") {
        name.push('_');
    }
    name
}

/// `wanted`, or `wanted2`, `wanted3`, ... when taken (as the type space numbers them).
fn claim(taken: &mut BTreeSet<String>, wanted: &str) -> String {
    let sep = if wanted.contains('_') { "_" } else { "" };
    let mut name = wanted.to_string();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{wanted}{sep}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// The named schemas reachable from `roots` (themselves included), depth first in
/// document order, each once.
fn named_schemas(arena: &SchemaArena, roots: impl IntoIterator<Item = SchemaId>) -> Vec<SchemaId> {
    let mut seen = vec![false; arena.nodes.len()];
    let mut out = Vec::new();
    let mut stack: Vec<SchemaId> = Vec::new();
    for root in roots {
        stack.push(root);
        while let Some(id) = stack.pop() {
            if id.0 >= seen.len() || std::mem::replace(&mut seen[id.0], true) {
                continue;
            }
            let node = arena.get(id);
            if node.name.is_some() {
                out.push(id);
            }
            let s = &node.schema;
            let before = stack.len();
            stack.extend(s.properties.values());
            stack.extend(&s.all_of);
            stack.extend(s.items);
            stack.extend(&s.prefix_items);
            stack.extend(&s.one_of);
            stack.extend(&s.any_of);
            if let Some(AdditionalProperties::Schema(v)) = &s.additional_properties {
                stack.push(*v);
            }
            stack.extend(s.pattern_properties.values());
            // Popped in the order written.
            stack[before..].reverse();
        }
    }
    out
}

/// A Markdown field table of `rows` (header included); `whole` names the row of the
/// value itself (empty path). Rendered once here and shared by the Markdown pages and
/// the HTML page: tables are most of the documentation's volume.
pub fn table(rows: &[FieldRow], whole: &str) -> String {
    let mut out = String::with_capacity(120 + rows.len() * 96);
    out.push_str(
        "| Field | Type | Required | Constraints | Description |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str("| ");
        if r.path.is_empty() {
            out.push_str(whole);
        } else {
            out.push('`');
            out.push_str(&r.path);
            out.push('`');
        }
        out.push_str(" | ");
        push_cell(&mut out, &r.ty);
        out.push_str(if r.required { " | yes | " } else { " | no | " });
        push_cell(&mut out, &r.constraints);
        out.push_str(" | ");
        push_cell(&mut out, r.description.as_deref().unwrap_or(""));
        out.push_str(" |\n");
    }
    out
}

/// Appends `value` as a Markdown table cell: one line (whitespace runs become one
/// space), `|` escaped.
pub fn push_cell(out: &mut String, value: &str) {
    // Most cells are one line of single-spaced words without `|`: as they are.
    let mut after_space = true;
    let mut plain = true;
    for b in value.bytes() {
        match b {
            b' ' if after_space => plain = false,
            b' ' => after_space = true,
            b'|' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r' => plain = false,
            _ => after_space = false,
        }
        if !plain {
            break;
        }
    }
    if plain && !after_space && (value.is_ascii() || !value.chars().any(char::is_whitespace)) {
        out.push_str(value);
        return;
    }
    for (i, word) in value.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for (j, part) in word.split('|').enumerate() {
            if j > 0 {
                out.push_str("\\|");
            }
            out.push_str(part);
        }
    }
}

/// The rows of schema `root`: its properties, or one row for the value itself (path
/// empty) followed by what lies inside it (anonymous array items or variants).
pub fn rows(arena: &SchemaArena, index: &TypeIndex, root: SchemaId) -> Vec<FieldRow> {
    let mut walk = Rows {
        arena,
        index,
        stack: Vec::new(),
        out: Vec::new(),
    };
    let schema = &arena.get(root).schema;
    if has_properties(arena, root, 0) {
        walk.object(root, "");
    } else {
        walk.out.push(FieldRow {
            path: String::new(),
            ty: described_type(arena, index, root),
            required: true,
            constraints: constraints(schema),
            description: schema.description.clone(),
        });
        walk.nested(root, "");
    }
    walk.out
}

struct Rows<'a> {
    arena: &'a SchemaArena,
    index: &'a TypeIndex,
    /// The anonymous schemas being written out (a cycle through them stops).
    stack: Vec<SchemaId>,
    out: Vec<FieldRow>,
}

impl Rows<'_> {
    fn object(&mut self, id: SchemaId, prefix: &str) {
        if self.stack.contains(&id) {
            return;
        }
        self.stack.push(id);
        for (name, prop, required) in properties(self.arena, id, &mut vec![]) {
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            };
            let s = &self.arena.get(prop).schema;
            self.out.push(FieldRow {
                path: path.clone(),
                ty: type_name(self.arena, self.index, prop),
                required,
                constraints: constraints(s),
                description: s
                    .description
                    .as_deref()
                    .or(s.title.as_deref())
                    .map(|d| d.trim().to_string()),
            });
            if self.index.link_target(self.arena, prop).is_none() {
                self.nested(prop, &path);
            }
        }
        self.stack.pop();
    }

    /// Rows for what lies inside `id`: its properties, array items, variants; named
    /// schemas among them are links in the type, not rows.
    fn nested(&mut self, id: SchemaId, path: &str) {
        if self.stack.contains(&id) {
            return;
        }
        let arena = self.arena;
        let s = &arena.get(id).schema;
        if !path.is_empty() && has_properties(arena, id, 0) {
            self.object(id, path);
        }
        if let Some(items) = s.items {
            if self.index.link_target(arena, items).is_none() {
                let item_path = format!("{path}[]");
                if has_properties(arena, items, 0) {
                    self.object(items, &item_path);
                } else {
                    self.stack.push(id);
                    self.nested(items, &item_path);
                    self.stack.pop();
                }
            }
        }
        for (kind, variants) in [("oneOf", &s.one_of), ("anyOf", &s.any_of)] {
            for (i, v) in variants.iter().enumerate() {
                if self.index.link_target(arena, *v).is_some() || !has_properties(arena, *v, 0) {
                    continue;
                }
                let label = arena
                    .get(*v)
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{kind}[{i}]"));
                let variant_path = format!("{path}({label})");
                self.object(*v, &variant_path);
            }
        }
    }
}

/// Properties of `id` and of its `allOf` members, with whether each is required.
fn properties<'a>(
    arena: &'a SchemaArena,
    id: SchemaId,
    seen: &mut Vec<SchemaId>,
) -> Vec<(&'a str, SchemaId, bool)> {
    if seen.contains(&id) {
        return vec![];
    }
    seen.push(id);
    let s = &arena.get(id).schema;
    let mut props: Vec<(&str, SchemaId, bool)> = s
        .properties
        .iter()
        .map(|(k, v)| (k.as_str(), *v, s.required.contains(k)))
        .collect();
    for member in &s.all_of {
        for (k, v, r) in properties(arena, *member, seen) {
            match props.iter_mut().find(|(pk, _, _)| *pk == k) {
                Some(existing) => existing.2 |= r,
                None => {
                    let required = r || s.required.iter().any(|q| q == k);
                    props.push((k, v, required));
                }
            }
        }
    }
    props
}

/// Whether `id` or one of its `allOf` members has properties.
fn has_properties(arena: &SchemaArena, id: SchemaId, depth: usize) -> bool {
    let s = &arena.get(id).schema;
    // A cycle of `allOf`s adds nothing; the depth bound ends one.
    !s.properties.is_empty()
        || (depth < 32
            && s.all_of
                .iter()
                .any(|m| has_properties(arena, *m, depth + 1)))
}

/// A short type description as Markdown: `string (date-time)`, `array of [Point](..)`,
/// `[A](..) | [B](..)`; a named schema is its link followed by what it is:
/// `[Disk](@type#disk): object`.
pub fn type_name(arena: &SchemaArena, index: &TypeIndex, id: SchemaId) -> String {
    let described = described_type(arena, index, id);
    match index.link_target(arena, id) {
        Some(r) if index.get(id).is_some() => format!("{}: {described}", link(r)),
        // `allOf: [$ref]` alone: the referenced type.
        Some(r) => link(r),
        None => match &arena.get(id).name {
            Some(name) if *name != described => format!("{name}: {described}"),
            _ => described,
        },
    }
}

/// What the schema is, without its own name: `object`, `array of [Point](..)`.
pub fn described_type(arena: &SchemaArena, index: &TypeIndex, id: SchemaId) -> String {
    type_name_at(arena, index, id, 0)
}

fn link(r: &TypeRef) -> String {
    format!("[{}]({TYPE_LINK}{})", r.rust_name, r.anchor)
}

fn type_name_at(arena: &SchemaArena, index: &TypeIndex, id: SchemaId, depth: usize) -> String {
    let node = arena.get(id);
    let s = &node.schema;
    if depth > 0 {
        if let Some(r) = index.get(id) {
            return link(r);
        }
        if let Some(name) = &node.name {
            return name.clone();
        }
    }
    if depth > 3 {
        return "…".into();
    }
    let inner = |v: &SchemaId| type_name_at(arena, index, *v, depth + 1);
    if let Some(b) = s.boolean {
        return if b { "any" } else { "nothing" }.into();
    }
    let mut base = if s.types.is_empty() {
        if !s.properties.is_empty() {
            "object".to_string()
        } else if !s.one_of.is_empty() || !s.any_of.is_empty() {
            let variants = if s.one_of.is_empty() {
                &s.any_of
            } else {
                &s.one_of
            };
            variants.iter().map(inner).collect::<Vec<_>>().join(" | ")
        } else if !s.all_of.is_empty() {
            s.all_of.iter().map(inner).collect::<Vec<_>>().join(" & ")
        } else if s.const_value.is_some() || s.enum_values.is_some() {
            "enum".into()
        } else {
            "any".into()
        }
    } else {
        let mut base = String::new();
        for (i, t) in s.types.iter().enumerate() {
            if i > 0 {
                base.push_str(" | ");
            }
            match t {
                InstanceType::Array => match &s.items {
                    Some(items) => {
                        base.push_str("array of ");
                        base.push_str(&inner(items));
                    }
                    None => base.push_str("array"),
                },
                InstanceType::Object => match &s.additional_properties {
                    Some(AdditionalProperties::Schema(v)) if s.properties.is_empty() => {
                        base.push_str("map of ");
                        base.push_str(&inner(v));
                    }
                    _ => base.push_str("object"),
                },
                other => base.push_str(instance_name(*other)),
            }
        }
        base
    };
    if let Some(f) = &s.format {
        base.push_str(" (");
        base.push_str(f);
        base.push(')');
    }
    if s.nullable {
        base.push_str(" | null");
    }
    base
}

fn instance_name(t: InstanceType) -> &'static str {
    match t {
        InstanceType::Null => "null",
        InstanceType::Boolean => "boolean",
        InstanceType::Object => "object",
        InstanceType::Array => "array",
        InstanceType::Number => "number",
        InstanceType::String => "string",
        InstanceType::Integer => "integer",
    }
}

fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The schema's constraints, one short phrase each, `; `-separated.
pub fn constraints(s: &Schema) -> String {
    let mut c = Phrases(String::new());
    if let Some(values) = &s.enum_values {
        let text = c.next();
        text.push_str("one of ");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            let _ = write!(text, "{v}");
        }
    }
    if let Some(v) = &s.const_value {
        c.add(format_args!("= {v}"));
    }
    if let Some(n) = s.min_length {
        c.add(format_args!("minLength {n}"));
    }
    if let Some(n) = s.max_length {
        c.add(format_args!("maxLength {n}"));
    }
    if let Some(p) = &s.pattern {
        c.add(format_args!("pattern `{p}`"));
    }
    if let Some(n) = s.minimum {
        c.add(format_args!("≥ {}", num(n)));
    }
    if let Some(n) = s.exclusive_minimum {
        c.add(format_args!("> {}", num(n)));
    }
    if let Some(n) = s.maximum {
        c.add(format_args!("≤ {}", num(n)));
    }
    if let Some(n) = s.exclusive_maximum {
        c.add(format_args!("< {}", num(n)));
    }
    if let Some(n) = s.multiple_of {
        c.add(format_args!("multiple of {}", num(n)));
    }
    if let Some(n) = s.min_items {
        c.add(format_args!("minItems {n}"));
    }
    if let Some(n) = s.max_items {
        c.add(format_args!("maxItems {n}"));
    }
    if s.unique_items {
        c.add(format_args!("unique items"));
    }
    if let Some(n) = s.min_properties {
        c.add(format_args!("minProperties {n}"));
    }
    if let Some(n) = s.max_properties {
        c.add(format_args!("maxProperties {n}"));
    }
    if let Some(AdditionalProperties::Allowed(false)) = s.additional_properties {
        c.add(format_args!("no other properties"));
    }
    if let Some(d) = &s.default {
        c.add(format_args!("default {d}"));
    }
    if s.deprecated {
        c.add(format_args!("deprecated"));
    }
    if s.read_only {
        c.add(format_args!("read-only"));
    }
    if s.write_only {
        c.add(format_args!("write-only"));
    }
    c.0
}

/// Phrases joined with `; `, written in place.
struct Phrases(String);

impl Phrases {
    /// The text, ready for the next phrase.
    fn next(&mut self) -> &mut String {
        if !self.0.is_empty() {
            self.0.push_str("; ");
        }
        &mut self.0
    }

    fn add(&mut self, phrase: std::fmt::Arguments) {
        let _ = self.next().write_fmt(phrase);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Location, SchemaNode};

    fn node(name: Option<&str>, schema: Schema) -> SchemaNode {
        SchemaNode {
            location: Location {
                file: "spec.yaml".into(),
                pointer: String::new(),
                line: None,
                column: None,
            },
            name: name.map(str::to_string),
            schema,
        }
    }

    /// A root object with properties pointing at the schemas `1..n`.
    fn arena(names: &[&str]) -> SchemaArena {
        let mut root = Schema::default();
        for (i, _) in names.iter().enumerate() {
            root.properties.insert(format!("p{i}"), SchemaId(i + 1));
        }
        let mut nodes = vec![node(None, root)];
        nodes.extend(names.iter().map(|n| node(Some(n), Schema::default())));
        SchemaArena { nodes }
    }

    #[test]
    fn rust_names_and_anchors_are_unique_and_github_style() {
        let arena = arena(&["Foo", "FOO", "foo bar", "types", "ABc", "Abc"]);
        let index = TypeIndex::build(&arena, [SchemaId(0)], [SchemaId(0)]);
        let got: Vec<(String, String)> = index
            .documented()
            .iter()
            .map(|id| {
                let r = index.get(*id).unwrap();
                (r.rust_name.clone(), r.anchor.clone())
            })
            .collect();
        // Sorted by Rust name; `FOO` becomes `Foo` too and is numbered; names that
        // differ in case only share an anchor base (`-1`); the page title `# Types`
        // holds the anchor `types`.
        assert_eq!(
            got,
            [
                ("ABc", "abc"),
                ("Abc", "abc-1"),
                ("Foo", "foo"),
                ("Foo2", "foo2"),
                ("FooBar", "foobar"),
                ("Types", "types-1"),
            ]
            .map(|(n, a)| (n.to_string(), a.to_string()))
        );
    }

    #[test]
    fn cells_are_one_line_with_pipes_escaped() {
        let reference = |value: &str| {
            value
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace('|', "\\|")
        };
        for value in [
            "",
            " ",
            "plain words",
            "a|b",
            " lead",
            "trail ",
            "two  spaces",
            "tab\there",
            "line\nbreak\r\n",
            "≥ 0; ≤ 1000",
            "no\u{a0}break",
            "ideographic\u{3000}space",
            "| both |",
            "\u{b}vt\u{c}ff",
        ] {
            let mut out = String::new();
            push_cell(&mut out, value);
            assert_eq!(out, reference(value), "{value:?}");
        }
    }

    #[test]
    fn only_schemas_reachable_from_the_documented_roots_get_a_section() {
        let arena = arena(&["A", "B"]);
        let index = TypeIndex::build(&arena, [SchemaId(0)], [SchemaId(2)]);
        assert_eq!(index.documented(), [SchemaId(2)]);
        assert!(index.get(SchemaId(1)).is_none());
        // Named in the crate all the same: `B` is not renumbered.
        assert_eq!(index.get(SchemaId(2)).unwrap().rust_name, "B");
    }
}
