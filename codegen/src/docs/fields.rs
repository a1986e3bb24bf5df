//! Flattens a payload schema into table rows: one row per property, nested objects
//! written with dotted paths (`server.host`), array items with `[]` (`servers[].host`).
//! `allOf` members are merged; `oneOf`/`anyOf` variants are listed with their fields
//! under the variant's name. Recursive schemas stop at the first repetition.

use serde::Serialize;
use serde_json::Value;

use crate::ir::{AdditionalProperties, InstanceType, Schema, SchemaArena, SchemaId};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FieldRow {
    /// Dotted path; empty for the payload itself when it is not an object.
    pub path: String,
    pub ty: String,
    pub required: bool,
    pub constraints: Vec<String>,
    pub description: Option<String>,
}

/// Nesting deeper than this is cut off (documents with huge trees stay readable).
const MAX_DEPTH: usize = 8;

pub fn rows(arena: &SchemaArena, root: SchemaId) -> Vec<FieldRow> {
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let schema = &arena.get(root).schema;
    if has_properties(arena, root) {
        object_rows(arena, root, "", &mut stack, &mut out);
    } else {
        out.push(FieldRow {
            path: String::new(),
            ty: type_name(arena, root),
            required: true,
            constraints: constraints(schema),
            description: schema.description.clone(),
        });
        nested(arena, root, "", &mut stack, &mut out);
    }
    out
}

/// Properties of `id` and of its `allOf` members.
fn properties(
    arena: &SchemaArena,
    id: SchemaId,
    seen: &mut Vec<SchemaId>,
) -> Vec<(String, SchemaId, bool)> {
    if seen.contains(&id) {
        return vec![];
    }
    seen.push(id);
    let s = &arena.get(id).schema;
    let mut props: Vec<(String, SchemaId, bool)> = s
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), *v, s.required.contains(k)))
        .collect();
    for member in &s.all_of {
        for (k, v, r) in properties(arena, *member, seen) {
            match props.iter_mut().find(|(pk, _, _)| *pk == k) {
                Some(existing) => existing.2 |= r,
                None => {
                    let required = r || s.required.contains(&k);
                    props.push((k, v, required));
                }
            }
        }
    }
    props
}

fn has_properties(arena: &SchemaArena, id: SchemaId) -> bool {
    !properties(arena, id, &mut vec![]).is_empty()
}

fn object_rows(
    arena: &SchemaArena,
    id: SchemaId,
    prefix: &str,
    stack: &mut Vec<SchemaId>,
    out: &mut Vec<FieldRow>,
) {
    if stack.contains(&id) || stack.len() >= MAX_DEPTH {
        return;
    }
    stack.push(id);
    for (name, prop, required) in properties(arena, id, &mut vec![]) {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let s = &arena.get(prop).schema;
        out.push(FieldRow {
            path: path.clone(),
            ty: type_name(arena, prop),
            required,
            constraints: constraints(s),
            description: s
                .description
                .clone()
                .or_else(|| s.title.clone())
                .map(|d| d.trim().to_string()),
        });
        nested(arena, prop, &path, stack, out);
    }
    stack.pop();
}

/// Rows for what lies inside `id`: its properties, array items, variants.
fn nested(
    arena: &SchemaArena,
    id: SchemaId,
    path: &str,
    stack: &mut Vec<SchemaId>,
    out: &mut Vec<FieldRow>,
) {
    if stack.contains(&id) || stack.len() >= MAX_DEPTH {
        return;
    }
    let s = &arena.get(id).schema;
    if has_properties(arena, id) && !path.is_empty() {
        object_rows(arena, id, path, stack, out);
    }
    if let Some(items) = s.items {
        let item_path = format!("{path}[]");
        if has_properties(arena, items) {
            object_rows(arena, items, &item_path, stack, out);
        } else {
            stack.push(id);
            nested(arena, items, &item_path, stack, out);
            stack.pop();
        }
    }
    for (kind, variants) in [("oneOf", &s.one_of), ("anyOf", &s.any_of)] {
        for (i, v) in variants.iter().enumerate() {
            if !has_properties(arena, *v) {
                continue;
            }
            let label = arena
                .get(*v)
                .name
                .clone()
                .unwrap_or_else(|| format!("{kind}[{i}]"));
            let variant_path = if path.is_empty() {
                format!("({label})")
            } else {
                format!("{path}({label})")
            };
            object_rows(arena, *v, &variant_path, stack, out);
        }
    }
}

/// A short type description: `string (date-time)`, `array of Point`, `A | B`; a named
/// schema (a component) is prefixed with its name: `Disk: object`.
pub fn type_name(arena: &SchemaArena, id: SchemaId) -> String {
    let described = type_name_at(arena, id, 0);
    match &arena.get(id).name {
        Some(name) if *name != described => format!("{name}: {described}"),
        _ => described,
    }
}

fn type_name_at(arena: &SchemaArena, id: SchemaId, depth: usize) -> String {
    let node = arena.get(id);
    let s = &node.schema;
    if depth > 0 {
        if let Some(name) = &node.name {
            return name.clone();
        }
    }
    if depth > 3 {
        return "…".into();
    }
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
            variants
                .iter()
                .map(|v| type_name_at(arena, *v, depth + 1))
                .collect::<Vec<_>>()
                .join(" | ")
        } else if !s.all_of.is_empty() {
            s.all_of
                .iter()
                .map(|v| type_name_at(arena, *v, depth + 1))
                .collect::<Vec<_>>()
                .join(" & ")
        } else if s.const_value.is_some() || s.enum_values.is_some() {
            "enum".into()
        } else {
            "any".into()
        }
    } else {
        s.types
            .iter()
            .map(|t| match t {
                InstanceType::Array => match s.items {
                    Some(items) => format!("array of {}", type_name_at(arena, items, depth + 1)),
                    None => "array".into(),
                },
                InstanceType::Object => match &s.additional_properties {
                    Some(AdditionalProperties::Schema(v)) if s.properties.is_empty() => {
                        format!("map of {}", type_name_at(arena, *v, depth + 1))
                    }
                    _ => "object".into(),
                },
                other => instance_name(*other).into(),
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    if let Some(f) = &s.format {
        base.push_str(&format!(" ({f})"));
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

fn json(v: &Value) -> String {
    v.to_string()
}

fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The schema's constraints, one short phrase each.
pub fn constraints(s: &Schema) -> Vec<String> {
    let mut c = Vec::new();
    if let Some(values) = &s.enum_values {
        c.push(format!(
            "one of {}",
            values.iter().map(json).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(v) = &s.const_value {
        c.push(format!("= {}", json(v)));
    }
    if let Some(n) = s.min_length {
        c.push(format!("minLength {n}"));
    }
    if let Some(n) = s.max_length {
        c.push(format!("maxLength {n}"));
    }
    if let Some(p) = &s.pattern {
        c.push(format!("pattern `{p}`"));
    }
    if let Some(n) = s.minimum {
        c.push(format!("≥ {}", num(n)));
    }
    if let Some(n) = s.exclusive_minimum {
        c.push(format!("> {}", num(n)));
    }
    if let Some(n) = s.maximum {
        c.push(format!("≤ {}", num(n)));
    }
    if let Some(n) = s.exclusive_maximum {
        c.push(format!("< {}", num(n)));
    }
    if let Some(n) = s.multiple_of {
        c.push(format!("multiple of {}", num(n)));
    }
    if let Some(n) = s.min_items {
        c.push(format!("minItems {n}"));
    }
    if let Some(n) = s.max_items {
        c.push(format!("maxItems {n}"));
    }
    if s.unique_items {
        c.push("unique items".into());
    }
    if let Some(n) = s.min_properties {
        c.push(format!("minProperties {n}"));
    }
    if let Some(n) = s.max_properties {
        c.push(format!("maxProperties {n}"));
    }
    if let Some(AdditionalProperties::Allowed(false)) = s.additional_properties {
        c.push("no other properties".into());
    }
    if let Some(d) = &s.default {
        c.push(format!("default {}", json(d)));
    }
    if s.deprecated {
        c.push("deprecated".into());
    }
    if s.read_only {
        c.push("read-only".into());
    }
    if s.write_only {
        c.push("write-only".into());
    }
    c
}
