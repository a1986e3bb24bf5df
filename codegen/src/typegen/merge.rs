//! Schema algebra used before mapping: taking `null` out of a schema, and merging the
//! members of an `allOf` into one schema.
//!
//! Merging keeps every constraint it can represent (the tighter bound wins, `required`
//! and `properties` are unioned, a property described by several members becomes an
//! `allOf` of its descriptions). Whether the result may be `null` is decided by the
//! schema holding the `allOf` alone: `allOf: [$ref], nullable: true` is the usual way
//! to make a reference nullable.

use std::borrow::Cow;

use serde_json::Value;

use super::TypeSpace;
use crate::ir::{AdditionalProperties, InstanceType, Schema, SchemaId, SchemaNode, Severity};
use crate::Result;

/// The schema without its `null` alternative, and whether it had one (`type` listing
/// `null`, `nullable`/`x-nullable`, or `null` among the `enum` values).
pub(crate) fn without_null(s: &Schema) -> (Cow<'_, Schema>, bool) {
    let has_null = s.nullable
        || s.types.contains(&InstanceType::Null)
        || s.enum_values
            .as_ref()
            .is_some_and(|values| values.contains(&Value::Null));
    if !has_null {
        // Most schemas: nothing to take out, no copy.
        return (Cow::Borrowed(s), false);
    }
    let mut s = s.clone();
    let mut nullable = std::mem::take(&mut s.nullable);
    if s.types.contains(&InstanceType::Null) {
        nullable = true;
        s.types.retain(|t| *t != InstanceType::Null);
    }
    if let Some(values) = &mut s.enum_values {
        if values.contains(&Value::Null) {
            nullable = true;
            values.retain(|v| !v.is_null());
        }
    }
    (Cow::Owned(s), nullable)
}

/// The schema of `id` with its `allOf` merged in (recursively).
pub(crate) fn flatten(space: &mut TypeSpace<'_>, id: SchemaId) -> Result<Schema> {
    if space.flattening.contains(&id) {
        space.diag(
            id,
            Severity::Warning,
            "`allOf` that includes itself; the recursive member is ignored",
        );
        return Ok(Schema::default());
    }
    let schema = space.node(id).schema.clone();
    if schema.boolean.is_some() {
        return Ok(Schema::default());
    }
    if schema.all_of.is_empty() {
        return Ok(schema);
    }
    space.flattening.push(id);
    let merged = space.merge_all_of(id, &schema);
    space.flattening.pop();
    merged
}

impl TypeSpace<'_> {
    /// Adds a schema that the document does not contain as such (a merge, a variant).
    pub(crate) fn synthesize(&mut self, node: SchemaNode) -> SchemaId {
        self.synthetic.push(node);
        SchemaId(self.arena.nodes.len() + self.synthetic.len() - 1)
    }

    pub(crate) fn merge_all_of(&mut self, id: SchemaId, s: &Schema) -> Result<Schema> {
        let mut acc = Schema {
            all_of: Vec::new(),
            ..s.clone()
        };
        for &m in &s.all_of {
            let member = flatten(self, m)?;
            self.merge_into(id, &mut acc, member);
        }
        Ok(acc)
    }

    fn merge_into(&mut self, id: SchemaId, acc: &mut Schema, other: Schema) {
        let warn = |space: &mut Self, what: &str| {
            space.diag(
                id,
                Severity::Warning,
                format!("`allOf` members disagree on `{what}`; the first is used"),
            )
        };

        if acc.description.is_none() {
            acc.description = other.description;
        }
        let other_types: Vec<InstanceType> = other
            .types
            .into_iter()
            .filter(|t| *t != InstanceType::Null)
            .collect();
        if acc.types.is_empty() {
            acc.types = other_types;
        } else if !other_types.is_empty() {
            let common: Vec<InstanceType> = acc
                .types
                .iter()
                .filter_map(|t| match t {
                    t if other_types.contains(t) => Some(*t),
                    InstanceType::Integer if other_types.contains(&InstanceType::Number) => {
                        Some(InstanceType::Integer)
                    }
                    InstanceType::Number if other_types.contains(&InstanceType::Integer) => {
                        Some(InstanceType::Integer)
                    }
                    _ => None,
                })
                .collect();
            if common.is_empty() {
                warn(self, "type");
            } else {
                acc.types = common;
            }
        }
        first(&mut acc.format, other.format, || warn(self, "format"));
        match (&mut acc.enum_values, other.enum_values) {
            (Some(mine), Some(theirs)) => mine.retain(|v| theirs.contains(v)),
            (mine @ None, theirs) => *mine = theirs,
            _ => {}
        }
        first(&mut acc.const_value, other.const_value, || {
            warn(self, "const")
        });
        if acc.default.is_none() {
            acc.default = other.default;
        }
        acc.deprecated |= other.deprecated;
        acc.read_only |= other.read_only;
        acc.write_only |= other.write_only;

        for (key, pid) in other.properties {
            match acc.properties.get(&key).copied() {
                Some(existing) if existing != pid => {
                    let both = self.merged_property(existing, pid);
                    acc.properties.insert(key, both);
                }
                Some(_) => {}
                None => {
                    acc.properties.insert(key, pid);
                }
            }
        }
        for r in other.required {
            if !acc.required.contains(&r) {
                acc.required.push(r);
            }
        }
        acc.additional_properties = match (
            acc.additional_properties.take(),
            other.additional_properties,
        ) {
            (Some(AdditionalProperties::Allowed(false)), _)
            | (_, Some(AdditionalProperties::Allowed(false))) => {
                Some(AdditionalProperties::Allowed(false))
            }
            (Some(AdditionalProperties::Schema(a)), _)
            | (_, Some(AdditionalProperties::Schema(a))) => Some(AdditionalProperties::Schema(a)),
            (a, b) => a.or(b),
        };
        for (k, v) in other.pattern_properties {
            acc.pattern_properties.entry(k).or_insert(v);
        }
        if acc.property_names.is_none() {
            acc.property_names = other.property_names;
        }
        tighter_min(&mut acc.min_properties, other.min_properties);
        tighter_max(&mut acc.max_properties, other.max_properties);
        first(&mut acc.discriminator, other.discriminator, || {
            warn(self, "discriminator")
        });

        match (acc.items, other.items) {
            (Some(a), Some(b)) if a != b => acc.items = Some(self.merged_property(a, b)),
            (None, b) => acc.items = b,
            _ => {}
        }
        if acc.prefix_items.is_empty() {
            acc.prefix_items = other.prefix_items;
        }
        tighter_min(&mut acc.min_items, other.min_items);
        tighter_max(&mut acc.max_items, other.max_items);
        acc.unique_items |= other.unique_items;
        if acc.contains.is_none() {
            acc.contains = other.contains;
        }

        tighter_min(&mut acc.min_length, other.min_length);
        tighter_max(&mut acc.max_length, other.max_length);
        first(&mut acc.pattern, other.pattern, || warn(self, "pattern"));
        tighter_min_f(&mut acc.minimum, other.minimum);
        tighter_max_f(&mut acc.maximum, other.maximum);
        tighter_min_f(&mut acc.exclusive_minimum, other.exclusive_minimum);
        tighter_max_f(&mut acc.exclusive_maximum, other.exclusive_maximum);
        first(&mut acc.multiple_of, other.multiple_of, || {
            warn(self, "multipleOf")
        });

        if acc.one_of.is_empty() {
            acc.one_of = other.one_of;
        } else if !other.one_of.is_empty() {
            warn(self, "oneOf");
        }
        if acc.any_of.is_empty() {
            acc.any_of = other.any_of;
        } else if !other.any_of.is_empty() {
            warn(self, "anyOf");
        }
        if acc.not.is_none() {
            acc.not = other.not;
        }
        if acc.if_then_else.is_none() {
            acc.if_then_else = other.if_then_else;
        }
        for (k, v) in other.extensions {
            acc.extensions.entry(k).or_insert(v);
        }
        for k in other.unsupported {
            if !acc.unsupported.contains(&k) {
                acc.unsupported.push(k);
            }
        }
    }

    /// A property described by two `allOf` members: the `allOf` of both descriptions.
    fn merged_property(&mut self, a: SchemaId, b: SchemaId) -> SchemaId {
        if let Some(&id) = self.merged_properties.get(&(a, b)) {
            return id;
        }
        let location = self.node(a).location.clone();
        let id = self.synthesize(SchemaNode {
            location,
            name: None,
            schema: Schema {
                all_of: vec![a, b],
                ..Schema::default()
            },
        });
        self.merged_properties.insert((a, b), id);
        id
    }
}

/// Keeps `mine` if set (calling `conflict` when `theirs` differs), else takes `theirs`.
fn first<T: PartialEq>(mine: &mut Option<T>, theirs: Option<T>, conflict: impl FnOnce()) {
    match (mine.as_ref(), theirs) {
        (None, t) => *mine = t,
        (Some(m), Some(t)) if *m != t => conflict(),
        _ => {}
    }
}

fn tighter_min(mine: &mut Option<u64>, theirs: Option<u64>) {
    *mine = match (*mine, theirs) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
}

fn tighter_max(mine: &mut Option<u64>, theirs: Option<u64>) {
    *mine = match (*mine, theirs) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
}

fn tighter_min_f(mine: &mut Option<f64>, theirs: Option<f64>) {
    *mine = match (*mine, theirs) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
}

fn tighter_max_f(mine: &mut Option<f64>, theirs: Option<f64>) {
    *mine = match (*mine, theirs) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
}
