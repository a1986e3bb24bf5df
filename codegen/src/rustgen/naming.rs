//! Rust identifiers for spec names: operation ids, parameters, enum values and messages
//! become snake_case / PascalCase identifiers that are valid, not keywords, and unique
//! within their scope.

use proc_macro2::{Ident, Span};
use rustc_hash::FxHashSet;

use crate::{case, keywords};

/// Words these identifiers avoid: strict and reserved keywords of edition 2021, the
/// `self`-like path keywords (which cannot even be raw identifiers) and the contextual
/// `union` (escaped from the start, so generated names stay as they were).
fn is_keyword(name: &str) -> bool {
    keywords::is_keyword(name) || (name != "_" && keywords::cannot_be_raw(name)) || name == "union"
}

/// Makes `raw` (already cased) a valid identifier: non-alphanumeric characters become
/// `_`, a leading digit gets a prefix, keywords get a trailing `_`, empty becomes `fallback`.
fn sanitize(raw: &str, fallback: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.trim_matches('_').is_empty() {
        s = fallback.trim_end_matches('_').to_string();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("{fallback}{s}");
    }
    escape_keyword(s)
}

/// A keyword gets a trailing `_` (`type` → `type_`); other names are returned as they are.
pub fn escape_keyword(mut s: String) -> String {
    if is_keyword(&s) {
        s.push('_');
    }
    s
}

/// `getStatus` → `get_status`, without keyword escaping: the base of derived names
/// (`type` → `type_with`, `submit_type`), each escaped on its own with [`method`].
pub fn snake_base(name: &str) -> String {
    let s = case::snake(name);
    let mut s: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.trim_matches('_').is_empty() {
        s = "value".into();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("value_{s}");
    }
    s
}

/// A method name from a pattern (`submit_{}`) and a [`snake_base`] name.
pub fn method(pattern: &str, base: &str) -> Ident {
    ident(&escape_keyword(fill(pattern, base)))
}

/// `pattern` with every `{}` replaced by `base` (as `str::replace` does, without
/// setting up a substring search for a two-byte needle).
fn fill(pattern: &str, base: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + base.len());
    let mut rest = pattern;
    while let Some(i) = rest.as_bytes().windows(2).position(|w| w == b"{}") {
        out.push_str(&rest[..i]);
        out.push_str(base);
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

/// `getStatus` → `get_status`.
pub fn snake(name: &str) -> String {
    sanitize(&case::snake(name), "value_")
}

/// `get-status` → `GetStatus`.
pub fn pascal(name: &str) -> String {
    let p = sanitize(&case::pascal(name), "Value");
    // `sanitize` may have prefixed a lowercase fallback; types must start uppercase.
    let mut chars = p.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() => c.to_ascii_uppercase().to_string() + chars.as_str(),
        _ => p,
    }
}

/// `getStatus` → `GET_STATUS`.
pub fn shouty(name: &str) -> String {
    sanitize(&case::shouty_snake(name), "VALUE_")
}

pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// Hands out names unique within one scope: a clash gets `_2`, `_3`, ... (or `2`, `3`
/// for PascalCase names).
#[derive(Default)]
pub struct Scope {
    // Only asked whether a name is taken, never listed: the order does not matter.
    used: FxHashSet<String>,
}

impl Scope {
    /// A scope where `reserved` names are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Scope {
            used: reserved.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn claim(&mut self, name: String) -> String {
        if !self.used.contains(&name) {
            self.used.insert(name.clone());
            return name;
        }
        let sep = if name.contains('_') || name.starts_with(|c: char| c.is_ascii_lowercase()) {
            "_"
        } else {
            ""
        };
        let mut n = 2;
        loop {
            let candidate = format!("{name}{sep}{n}");
            if !self.used.contains(&candidate) {
                self.used.insert(candidate.clone());
                return candidate;
            }
            n += 1;
        }
    }

    pub fn is_taken(&self, name: &str) -> bool {
        self.used.contains(name)
    }

    /// Claims `base` (or `base_2`, ...) such that every name of the family — `patterns`
    /// with `{}` replaced by the base — is free, and claims them all.
    pub fn claim_family(&mut self, base: &str, patterns: &[&str]) -> String {
        // Each name keyword-escaped on its own, as `method` builds them.
        fn expand<'p>(patterns: &'p [&str], b: &'p str) -> impl Iterator<Item = String> + 'p {
            patterns.iter().map(move |p| escape_keyword(fill(p, b)))
        }
        let chosen = std::iter::once(base.to_string())
            .chain((2..).map(|n| format!("{base}_{n}")))
            .find(|b| expand(patterns, b).all(|n| !self.used.contains(&n)))
            .expect("an unused suffix exists");
        self.used.extend(expand(patterns, &chosen));
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_identifiers() {
        assert_eq!(snake("getStatus"), "get_status");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("2fa"), "value_2fa");
        assert_eq!(snake("user/signedup"), "user_signedup");
        assert_eq!(pascal("_any"), "Any");
        assert_eq!(pascal("1.2"), "Value12");
        assert_eq!(pascal("self"), "Self_");
        assert_eq!(shouty("getStatus"), "GET_STATUS");
    }

    #[test]
    fn scope_deduplicates() {
        let mut s = Scope::default();
        assert_eq!(s.claim("get_status".into()), "get_status");
        assert_eq!(s.claim("get_status".into()), "get_status_2");
        assert_eq!(s.claim("Status".into()), "Status");
        assert_eq!(s.claim("Status".into()), "Status2");
        assert_eq!(s.claim_family("submit_x", &["{}", "submit_{}"]), "submit_x");
        assert_eq!(s.claim_family("x", &["{}", "submit_{}"]), "x_2");
        assert_eq!(s.claim_family("type", &["{}", "{}_with"]), "type");
        assert!(s.is_taken("type_") && s.is_taken("type_with"));
        assert_eq!(method("{}", "type").to_string(), "type_");
        assert_eq!(method("{}_with", "type").to_string(), "type_with");
    }
}
