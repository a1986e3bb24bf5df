//! Message and operation traits: each trait is merged into the object with JSON Merge
//! Patch (RFC 7386), in the order listed, and the object's own fields are applied last
//! so that they win.

use serde_json::{Map, Value};

use super::yaml::FastMap;
use crate::ir::Location;

/// An object after its traits were applied, with where each top-level field came from
/// (so that `$ref`s inside a field taken from a trait in another file resolve against
/// that file, and errors point at the trait).
#[derive(Debug, Clone)]
pub struct Merged {
    pub value: Value,
    /// Top-level key → the location of the object (the trait or the object itself)
    /// that supplied it; empty when there are no traits (every field is the object's).
    pub origins: FastMap<String, Location>,
}

/// Applies `traits` (each resolved, with its location) to `object` (at `at`, its own
/// `traits` key excluded from the result).
pub fn apply_traits(
    at: &Location,
    object: &Map<String, Value>,
    traits: &[(Location, Value)],
) -> Merged {
    let mut result = Value::Object(Map::new());
    let mut origins = FastMap::default();
    for (trait_at, trait_value) in traits {
        merge_patch(&mut result, trait_value);
        if let Value::Object(map) = trait_value {
            for (key, value) in map {
                if value.is_null() {
                    origins.remove(key);
                } else {
                    origins.insert(key.clone(), trait_at.clone());
                }
            }
        }
    }
    let own = object.iter().filter(|(k, _)| k.as_str() != "traits");
    // Without traits every field is the object's own: callers fall back to `at`.
    if !traits.is_empty() {
        for (key, _) in own.clone() {
            origins.insert(key.clone(), at.clone());
        }
    }
    merge_patch_entries(&mut result, own);
    Merged {
        value: result,
        origins,
    }
}

/// RFC 7386 JSON Merge Patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    merge_patch_entries(target, patch);
}

/// [`merge_patch`] with an object patch given as its entries.
fn merge_patch_entries<'p>(
    target: &mut Value,
    patch: impl IntoIterator<Item = (&'p String, &'p Value)>,
) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn loc(p: &str) -> Location {
        Location {
            file: "a.yaml".into(),
            pointer: p.into(),
            line: None,
            column: None,
        }
    }

    #[test]
    fn own_fields_win_and_origins_are_kept() {
        let object = json!({"name": "own", "headers": {"type": "object"}, "traits": [{}]});
        let traits = vec![
            (
                loc("/t1"),
                json!({"name": "t1", "summary": "from t1", "headers": {"required": ["a"]}}),
            ),
            (
                loc("/t2"),
                json!({"summary": "from t2", "contentType": "text/plain"}),
            ),
        ];
        let merged = apply_traits(&loc("/m"), object.as_object().unwrap(), &traits);
        assert_eq!(
            merged.value,
            json!({"name": "own", "summary": "from t2", "contentType": "text/plain",
                   "headers": {"type": "object", "required": ["a"]}})
        );
        assert_eq!(merged.origins["summary"].pointer, "/t2");
        assert_eq!(merged.origins["name"].pointer, "/m");
    }

    #[test]
    fn rfc7386_nulls_remove() {
        let mut target = json!({"a": {"b": 1, "c": 2}});
        merge_patch(&mut target, &json!({"a": {"b": null}, "d": [1]}));
        assert_eq!(target, json!({"a": {"c": 2}, "d": [1]}));
    }
}
