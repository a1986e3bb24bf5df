//! Structural comparison of two payload (or headers) schemas, recursively, judging each
//! difference by whether it narrows or widens the set of valid messages.

use std::collections::HashSet;
use std::fmt::Display;

use serde_json::Value;

use super::{Change, ChangeLocation, Impact};
use crate::ir::{AdditionalProperties, InstanceType, Schema, SchemaArena, SchemaId};

/// Who writes and who reads the message the schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// Job requests: clients (producers) write, workers (consumers) read.
    Request,
    /// Replies, typed errors and events: workers write, clients read.
    Response,
}

impl Flow {
    /// Old valid messages may now be rejected: the writer breaks.
    pub(super) fn narrows(self) -> Impact {
        match self {
            Flow::Request => Impact::BreaksProducers,
            Flow::Response => Impact::BreaksConsumers,
        }
    }
    /// Messages the old schema never allowed may now arrive: the reader breaks.
    pub(super) fn widens(self) -> Impact {
        match self {
            Flow::Request => Impact::BreaksConsumers,
            Flow::Response => Impact::BreaksProducers,
        }
    }
    fn writers(self) -> &'static str {
        match self {
            Flow::Request => "clients",
            Flow::Response => "workers",
        }
    }
    fn readers(self) -> &'static str {
        match self {
            Flow::Request => "workers",
            Flow::Response => "clients",
        }
    }
}

/// How a difference changes the set of valid messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Narrows,
    Widens,
    Both,
    Neutral,
}

/// Compares the schemas of one message part (`payload` or `headers`).
pub(super) struct SchemaDiff<'a> {
    old: &'a SchemaArena,
    new: &'a SchemaArena,
    flow: Flow,
    at: ChangeLocation,
    /// Pairs already compared: recursive schemas are cycles of ids.
    visited: HashSet<(SchemaId, SchemaId)>,
    out: &'a mut Vec<Change>,
}

impl<'a> SchemaDiff<'a> {
    pub(super) fn new(
        old: &'a SchemaArena,
        new: &'a SchemaArena,
        flow: Flow,
        at: ChangeLocation,
        out: &'a mut Vec<Change>,
    ) -> Self {
        SchemaDiff {
            old,
            new,
            flow,
            at,
            visited: HashSet::new(),
            out,
        }
    }

    /// Compares `old` with `new`; `path` is the JSON pointer prefix, e.g. `payload#`.
    pub(super) fn compare(&mut self, old: SchemaId, new: SchemaId, path: &str) {
        if !self.visited.insert((old, new)) {
            return;
        }
        let (a, b) = (&self.old.get(old).schema, &self.new.get(new).schema);
        self.boolean(a, b, path);
        self.types(a, b, path);
        self.nullable(a, b, path);
        self.optional_text("format", &a.format, &b.format, path);
        self.enums(a, b, path);
        if a.const_value != b.const_value {
            let (o, n) = (show_opt(&a.const_value), show_opt(&b.const_value));
            self.push(
                path,
                "const_changed",
                Effect::Both,
                format!("`const` changed from {o} to {n}: the only allowed value is different"),
            );
        }
        if a.default != b.default {
            let (o, n) = (show_opt(&a.default), show_opt(&b.default));
            let impact = self.flow.narrows();
            let why = format!("default changed from {o} to {n}: {} that leave the field out now mean something else", self.flow.writers());
            self.push_impact(path, "default_changed", impact, why);
        }
        self.lower("min_length", a.min_length, b.min_length, path);
        self.upper("max_length", a.max_length, b.max_length, path);
        self.lower("min_items", a.min_items, b.min_items, path);
        self.upper("max_items", a.max_items, b.max_items, path);
        self.lower("min_properties", a.min_properties, b.min_properties, path);
        self.upper("max_properties", a.max_properties, b.max_properties, path);
        self.lower("minimum", a.minimum, b.minimum, path);
        self.upper("maximum", a.maximum, b.maximum, path);
        self.lower(
            "exclusive_minimum",
            a.exclusive_minimum,
            b.exclusive_minimum,
            path,
        );
        self.upper(
            "exclusive_maximum",
            a.exclusive_maximum,
            b.exclusive_maximum,
            path,
        );
        self.optional_text("pattern", &a.pattern, &b.pattern, path);
        if a.multiple_of != b.multiple_of {
            let why = format!(
                "`multipleOf` changed from {} to {}",
                show_num(a.multiple_of),
                show_num(b.multiple_of)
            );
            self.push(path, "multiple_of_changed", Effect::Both, why);
        }
        if a.unique_items != b.unique_items {
            let (effect, why) = if b.unique_items {
                (
                    Effect::Narrows,
                    "`uniqueItems` set: arrays with repeated items are now rejected",
                )
            } else {
                (
                    Effect::Widens,
                    "`uniqueItems` cleared: arrays may now repeat items",
                )
            };
            self.push(path, "unique_items_changed", effect, why.to_string());
        }
        self.additional_properties(a, b, path);
        self.properties(a, b, path);
        self.items(a, b, path);
        self.positional(
            "prefix_items",
            "prefixItems",
            &a.prefix_items,
            &b.prefix_items,
            path,
        );
        self.positional("all_of", "allOf", &a.all_of, &b.all_of, path);
        self.variants("oneOf", &a.one_of, &b.one_of, path);
        self.variants("anyOf", &a.any_of, &b.any_of, path);
        if a.not.is_some() != b.not.is_some() {
            self.push(
                path,
                "not_changed",
                Effect::Both,
                "`not` added or removed".to_string(),
            );
        } else if let (Some(o), Some(n)) = (a.not, b.not) {
            // `not` inverts the meaning: any difference inside may narrow or widen.
            let before = self.out.len();
            self.compare(o, n, &format!("{path}/not"));
            for c in &mut self.out[before..] {
                c.impact = Impact::BreaksBoth;
            }
        }
    }

    fn push(&mut self, path: &str, kind: &str, effect: Effect, reason: String) {
        let impact = match effect {
            Effect::Narrows => self.flow.narrows(),
            Effect::Widens => self.flow.widens(),
            Effect::Both => Impact::BreaksBoth,
            Effect::Neutral => Impact::Compatible,
        };
        let reason = match effect {
            Effect::Narrows => format!(
                "{reason} ({} may send messages that are now invalid)",
                self.flow.writers()
            ),
            Effect::Widens => format!(
                "{reason} ({} may receive messages they did not expect)",
                self.flow.readers()
            ),
            Effect::Both | Effect::Neutral => reason,
        };
        self.push_impact(path, kind, impact, reason);
    }

    fn push_impact(&mut self, path: &str, kind: &str, impact: Impact, reason: String) {
        let mut location = self.at.clone();
        location.path = Some(path.to_string());
        self.out.push(Change {
            location,
            kind: kind.to_string(),
            impact,
            reason,
        });
    }

    fn boolean(&mut self, a: &Schema, b: &Schema, path: &str) {
        // An absent boolean and `true` both accept everything the keywords allow.
        let (o, n) = (a.boolean.unwrap_or(true), b.boolean.unwrap_or(true));
        if o != n {
            let (effect, why) = if n {
                (
                    Effect::Widens,
                    "the schema changed from `false` to accepting values",
                )
            } else {
                (
                    Effect::Narrows,
                    "the schema changed to `false`: no value is valid",
                )
            };
            self.push(path, "boolean_schema_changed", effect, why.to_string());
        }
    }

    fn types(&mut self, a: &Schema, b: &Schema, path: &str) {
        let (old, new) = (type_set(a), type_set(b));
        if old == new {
            return;
        }
        let effect = match (covers(&old, &new), covers(&new, &old)) {
            (true, true) => return,
            (true, false) => Effect::Narrows,
            (false, true) => Effect::Widens,
            (false, false) => Effect::Both,
        };
        let why = format!(
            "type changed from {} to {}",
            show_types(&old),
            show_types(&new)
        );
        self.push(path, "type_changed", effect, why);
    }

    fn nullable(&mut self, a: &Schema, b: &Schema, path: &str) {
        if a.nullable == b.nullable {
            return;
        }
        let (effect, why) = if b.nullable {
            (Effect::Widens, "the value may now be `null`")
        } else {
            (Effect::Narrows, "the value may no longer be `null`")
        };
        self.push(path, "nullable_changed", effect, why.to_string());
    }

    /// `format` and `pattern`: added narrows, removed widens, changed is both.
    fn optional_text(&mut self, keyword: &str, a: &Option<String>, b: &Option<String>, path: &str) {
        let (effect, why) = match (a, b) {
            (x, y) if x == y => return,
            (None, Some(n)) => (Effect::Narrows, format!("`{keyword}: {n}` added")),
            (Some(o), None) => (Effect::Widens, format!("`{keyword}: {o}` removed")),
            (Some(o), Some(n)) => (
                Effect::Both,
                format!("`{keyword}` changed from `{o}` to `{n}`"),
            ),
            (None, None) => return,
        };
        self.push(path, &format!("{keyword}_changed"), effect, why);
    }

    fn enums(&mut self, a: &Schema, b: &Schema, path: &str) {
        match (&a.enum_values, &b.enum_values) {
            (None, None) => {}
            (None, Some(n)) => {
                let why = format!("`enum` added: only {} allowed", show_list(n));
                self.push(path, "enum_added", Effect::Narrows, why);
            }
            (Some(o), None) => {
                let why = format!(
                    "`enum` removed: any value of the type allowed, not only {}",
                    show_list(o)
                );
                self.push(path, "enum_removed", Effect::Widens, why);
            }
            (Some(o), Some(n)) => {
                for v in n.iter().filter(|v| !o.contains(v)) {
                    self.push(
                        path,
                        "enum_value_added",
                        Effect::Widens,
                        format!("enum value {v} added"),
                    );
                }
                for v in o.iter().filter(|v| !n.contains(v)) {
                    self.push(
                        path,
                        "enum_value_removed",
                        Effect::Narrows,
                        format!("enum value {v} removed"),
                    );
                }
            }
        }
    }

    /// A lower bound: raising or adding it narrows, lowering or removing it widens.
    fn lower<T: PartialOrd + Display + Copy>(
        &mut self,
        keyword: &str,
        a: Option<T>,
        b: Option<T>,
        path: &str,
    ) {
        let effect = match (a, b) {
            (None, Some(_)) => Effect::Narrows,
            (Some(_), None) => Effect::Widens,
            (Some(o), Some(n)) if n > o => Effect::Narrows,
            (Some(o), Some(n)) if n < o => Effect::Widens,
            _ => return,
        };
        self.bound(keyword, a, b, effect, path);
    }

    /// An upper bound: lowering or adding it narrows, raising or removing it widens.
    fn upper<T: PartialOrd + Display + Copy>(
        &mut self,
        keyword: &str,
        a: Option<T>,
        b: Option<T>,
        path: &str,
    ) {
        let effect = match (a, b) {
            (None, Some(_)) => Effect::Narrows,
            (Some(_), None) => Effect::Widens,
            (Some(o), Some(n)) if n < o => Effect::Narrows,
            (Some(o), Some(n)) if n > o => Effect::Widens,
            _ => return,
        };
        self.bound(keyword, a, b, effect, path);
    }

    fn bound<T: Display>(
        &mut self,
        keyword: &str,
        a: Option<T>,
        b: Option<T>,
        effect: Effect,
        path: &str,
    ) {
        let show = |v: Option<T>| v.map_or_else(|| "none".to_string(), |v| v.to_string());
        let verb = if effect == Effect::Narrows {
            "tightened"
        } else {
            "loosened"
        };
        let why = format!("`{}` {verb}: {} → {}", camel(keyword), show(a), show(b));
        self.push(path, &format!("{keyword}_changed"), effect, why);
    }

    fn additional_properties(&mut self, a: &Schema, b: &Schema, path: &str) {
        use AdditionalProperties::{Allowed, Schema as Sub};
        let open = Allowed(true);
        let (o, n) = (
            a.additional_properties.as_ref().unwrap_or(&open),
            b.additional_properties.as_ref().unwrap_or(&open),
        );
        let (effect, why) = match (o, n) {
            (Allowed(x), Allowed(y)) if x == y => return,
            (Allowed(_), Allowed(false)) => (
                Effect::Narrows,
                "`additionalProperties: false`: unknown properties are now rejected",
            ),
            (Allowed(_), Allowed(true)) => (
                Effect::Widens,
                "`additionalProperties` opened: unknown properties may now arrive",
            ),
            (Allowed(true), Sub(_)) => (
                Effect::Narrows,
                "`additionalProperties` now constrained by a schema",
            ),
            (Allowed(false), Sub(_)) => {
                (Effect::Widens, "`additionalProperties` opened to a schema")
            }
            (Sub(_), Allowed(true)) => (
                Effect::Widens,
                "`additionalProperties` no longer constrained",
            ),
            (Sub(_), Allowed(false)) => (
                Effect::Narrows,
                "`additionalProperties: false`: unknown properties are now rejected",
            ),
            (Sub(x), Sub(y)) => {
                let (x, y) = (*x, *y);
                self.compare(x, y, &format!("{path}/additionalProperties"));
                return;
            }
        };
        self.push(
            path,
            "additional_properties_changed",
            effect,
            why.to_string(),
        );
    }

    fn properties(&mut self, a: &Schema, b: &Schema, path: &str) {
        let closed = matches!(
            a.additional_properties,
            Some(AdditionalProperties::Allowed(false))
        );
        for (name, &id) in &b.properties {
            let here = format!("{path}/properties/{}", escape(name));
            match a.properties.get(name) {
                Some(&old_id) => self.compare(old_id, id, &here),
                None if b.required.contains(name) => {
                    self.push(
                        &here,
                        "property_added",
                        Effect::Narrows,
                        format!("required property `{name}` added"),
                    );
                }
                None if closed => {
                    let why = format!("optional property `{name}` added to a closed object");
                    self.push(&here, "property_added", Effect::Widens, why);
                }
                None => {
                    let why = format!(
                        "optional property `{name}` added: readers that do not know it ignore it"
                    );
                    self.push(&here, "property_added", Effect::Neutral, why);
                }
            }
        }
        for name in a
            .properties
            .keys()
            .filter(|n| !b.properties.contains_key(*n))
        {
            let here = format!("{path}/properties/{}", escape(name));
            let why = format!(
                "property `{name}` removed: {} that read it lose it, {} that send it may be rejected",
                self.flow.readers(),
                self.flow.writers()
            );
            self.push(&here, "property_removed", Effect::Both, why);
        }
        // Required-ness of properties present on both sides (added and removed ones are
        // judged above).
        let kept = |n: &String| a.properties.contains_key(n) == b.properties.contains_key(n);
        for name in b
            .required
            .iter()
            .filter(|n| !a.required.contains(n) && kept(n))
        {
            let here = format!("{path}/properties/{}", escape(name));
            self.push(
                &here,
                "required_added",
                Effect::Narrows,
                format!("`{name}` is now required"),
            );
        }
        for name in a
            .required
            .iter()
            .filter(|n| !b.required.contains(n) && kept(n))
        {
            let here = format!("{path}/properties/{}", escape(name));
            self.push(
                &here,
                "required_removed",
                Effect::Widens,
                format!("`{name}` is no longer required"),
            );
        }
    }

    fn items(&mut self, a: &Schema, b: &Schema, path: &str) {
        match (a.items, b.items) {
            (Some(o), Some(n)) => self.compare(o, n, &format!("{path}/items")),
            (None, Some(_)) => self.push(
                path,
                "items_changed",
                Effect::Narrows,
                "`items` schema added".to_string(),
            ),
            (Some(_), None) => self.push(
                path,
                "items_changed",
                Effect::Widens,
                "`items` schema removed".to_string(),
            ),
            (None, None) => {}
        }
    }

    /// `allOf` and tuple items: compared position by position; an extra member narrows.
    fn positional(
        &mut self,
        kind: &str,
        keyword: &str,
        a: &[SchemaId],
        b: &[SchemaId],
        path: &str,
    ) {
        for (i, (&o, &n)) in a.iter().zip(b).enumerate() {
            self.compare(o, n, &format!("{path}/{keyword}/{i}"));
        }
        if b.len() > a.len() {
            let why = format!("`{keyword}` gained {} member(s)", b.len() - a.len());
            self.push(path, &format!("{kind}_changed"), Effect::Narrows, why);
        } else if a.len() > b.len() {
            let why = format!("`{keyword}` lost {} member(s)", a.len() - b.len());
            self.push(path, &format!("{kind}_changed"), Effect::Widens, why);
        }
    }

    /// `oneOf`/`anyOf`: variants are matched by schema name, then by position among the
    /// unnamed ones; unmatched new variants widen, unmatched old ones narrow.
    fn variants(&mut self, keyword: &str, a: &[SchemaId], b: &[SchemaId], path: &str) {
        let name = |arena: &SchemaArena, id: SchemaId| arena.get(id).name.clone();
        let mut old_left: Vec<(usize, SchemaId)> = a.iter().copied().enumerate().collect();
        let mut pairs = Vec::new();
        let mut added = Vec::new();
        let mut unnamed_new = Vec::new();
        for (j, &n) in b.iter().enumerate() {
            match name(self.new, n) {
                Some(wanted) => match old_left
                    .iter()
                    .position(|&(_, o)| name(self.old, o).as_deref() == Some(&wanted))
                {
                    Some(k) => pairs.push((old_left.remove(k).1, j, n)),
                    None => added.push((j, n)),
                },
                None => unnamed_new.push((j, n)),
            }
        }
        for (j, n) in unnamed_new {
            match old_left
                .iter()
                .position(|&(_, o)| name(self.old, o).is_none())
            {
                Some(k) => pairs.push((old_left.remove(k).1, j, n)),
                None => added.push((j, n)),
            }
        }
        for (o, j, n) in pairs {
            self.compare(o, n, &format!("{path}/{keyword}/{j}"));
        }
        for (j, n) in added {
            let label = name(self.new, n).map_or_else(|| format!("#{j}"), |s| format!("`{s}`"));
            let why = format!("`{keyword}` variant {label} added");
            self.push(
                &format!("{path}/{keyword}/{j}"),
                "variant_added",
                Effect::Widens,
                why,
            );
        }
        for (i, o) in old_left {
            let label = name(self.old, o).map_or_else(|| format!("#{i}"), |s| format!("`{s}`"));
            let why = format!("`{keyword}` variant {label} removed");
            self.push(
                &format!("{path}/{keyword}/{i}"),
                "variant_removed",
                Effect::Narrows,
                why,
            );
        }
    }
}

/// The instance types a schema allows (empty = any); `nullable` is judged separately.
fn type_set(s: &Schema) -> Vec<InstanceType> {
    let mut t = s.types.clone();
    t.sort();
    t.dedup();
    t
}

/// Whether every value of `inner`'s types is also one of `outer`'s (empty = any type).
fn covers(outer: &[InstanceType], inner: &[InstanceType]) -> bool {
    if outer.is_empty() {
        return true;
    }
    if inner.is_empty() {
        return false;
    }
    inner.iter().all(|t| {
        outer.contains(t) || (*t == InstanceType::Integer && outer.contains(&InstanceType::Number))
    })
}

fn show_types(t: &[InstanceType]) -> String {
    if t.is_empty() {
        return "any".to_string();
    }
    t.iter()
        .map(|t| format!("`{}`", format!("{t:?}").to_lowercase()))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn show_opt(v: &Option<Value>) -> String {
    v.as_ref()
        .map_or_else(|| "none".to_string(), |v| format!("`{v}`"))
}

fn show_num(v: Option<f64>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

fn show_list(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON Schema spelling of a keyword: `min_length` → `minLength`.
fn camel(keyword: &str) -> String {
    let mut parts = keyword.split('_');
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

/// RFC 6901 escaping of one pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
