//! Rust names for schema names and JSON property names: case conversion, keyword
//! escaping and deterministic de-duplication.

use rustc_hash::FxHashSet;

use crate::case;
use crate::keywords::{cannot_be_raw as is_not_raw, is_keyword};

/// `system status` / `system-status` / `systemStatus` → `SystemStatus`, always a valid
/// type identifier.
pub(crate) fn type_name(raw: &str) -> String {
    let mut name = case::pascal(raw);
    if name.is_empty() {
        name = "Type".to_string();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'T');
    }
    if is_not_raw(&name) {
        name.push('_');
    }
    name
}

/// An enum variant name for a string value: `in-progress` → `InProgress`, `""` →
/// `Empty`, `2xx` → `V2xx`.
pub(crate) fn variant_name(raw: &str) -> String {
    let name = case::pascal(raw);
    if name.is_empty() {
        return if raw.is_empty() { "Empty" } else { "Value" }.to_string();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("V{name}");
    }
    if is_not_raw(&name) {
        return format!("{name}_");
    }
    name
}

/// A field identifier for a property name: `requestId` → `request_id`, `type` →
/// `r#type`, `self` → `self_`, `2fa` → `_2fa`.
pub(crate) fn field_name(raw: &str) -> String {
    let mut name = case::snake(raw);
    if name.is_empty() {
        name = "field".to_string();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if is_not_raw(&name) {
        name.push('_');
    } else if is_keyword(&name) {
        name.insert_str(0, "r#");
    }
    name
}

/// The identifier without a raw prefix, as serde sees it.
pub(crate) fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// Hands out names that are unique within one scope, adding `2`, `3`, ... (or `_2`,
/// `_3` for snake-case names) to later claimants of a taken name.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    // Only asked whether a name is taken, never listed: the order does not matter.
    taken: FxHashSet<String>,
}

impl Names {
    /// A scope expecting about `n` names (a struct's fields, an enum's variants).
    pub fn with_capacity(n: usize) -> Self {
        Names {
            taken: FxHashSet::with_capacity_and_hasher(n, Default::default()),
        }
    }

    pub fn claim(&mut self, wanted: &str) -> String {
        if !self.taken.contains(wanted) {
            self.taken.insert(wanted.to_string());
            return wanted.to_string();
        }
        let sep = if wanted.contains('_') || wanted.starts_with(|c: char| c.is_lowercase()) {
            "_"
        } else {
            ""
        };
        let mut n = 2;
        loop {
            let name = format!("{wanted}{sep}{n}");
            if !self.taken.contains(&name) {
                self.taken.insert(name.clone());
                return name;
            }
            n += 1;
        }
    }

    pub fn release(&mut self, name: &str) {
        self.taken.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_identifiers() {
        assert_eq!(type_name("system status"), "SystemStatus");
        assert_eq!(type_name("self"), "Self_");
        assert_eq!(type_name("3d-point"), "T3dPoint");
        assert_eq!(variant_name("in-progress"), "InProgress");
        assert_eq!(variant_name(""), "Empty");
        assert_eq!(variant_name("+"), "Value");
        assert_eq!(variant_name("2xx"), "V2xx");
        assert_eq!(field_name("requestId"), "request_id");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("self"), "self_");
        assert_eq!(field_name("2fa"), "_2fa");
    }

    #[test]
    fn claimed_names_get_deterministic_suffixes() {
        let mut names = Names::default();
        assert_eq!(names.claim("Foo"), "Foo");
        assert_eq!(names.claim("Foo"), "Foo2");
        assert_eq!(names.claim("foo_bar"), "foo_bar");
        assert_eq!(names.claim("foo_bar"), "foo_bar_2");
        names.release("Foo");
        assert_eq!(names.claim("Foo"), "Foo");
    }
}
