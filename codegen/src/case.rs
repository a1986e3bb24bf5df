//! Case conversion as `heck` 0.5 does it, without its per-character formatting for the
//! usual (ASCII) names: naming the properties and operations of a large document spent
//! more time in `heck` than in mapping its schemas. Non-ASCII input goes to `heck`
//! itself, so the results are `heck`'s in every case (the tests compare the two).
//! Shared by `typegen` and `rustgen`, which must spell names alike.

use heck::{ToPascalCase, ToShoutySnakeCase, ToSnakeCase};

/// `heck`'s `to_pascal_case`.
pub(crate) fn pascal(s: &str) -> String {
    if !s.is_ascii() {
        return s.to_pascal_case();
    }
    let mut out = String::with_capacity(s.len());
    words(s, |word| {
        let start = out.len();
        out.push_str(word);
        out[start..].make_ascii_lowercase();
        out[start..start + 1].make_ascii_uppercase();
    });
    out
}

/// `heck`'s `to_snake_case`.
pub(crate) fn snake(s: &str) -> String {
    if !s.is_ascii() {
        return s.to_snake_case();
    }
    underscored(s, str::make_ascii_lowercase)
}

/// `heck`'s `to_shouty_snake_case`.
pub(crate) fn shouty_snake(s: &str) -> String {
    if !s.is_ascii() {
        return s.to_shouty_snake_case();
    }
    underscored(s, str::make_ascii_uppercase)
}

/// The words of the ASCII string `s`, each cased by `case`, joined by `_`.
fn underscored(s: &str, case: fn(&mut str)) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    words(s, |word| {
        if !out.is_empty() {
            out.push('_');
        }
        let start = out.len();
        out.push_str(word);
        case(&mut out[start..]);
    });
    out
}

/// Calls `word` with every word of the ASCII string `s`, split as `heck`'s `transform`
/// does: at every non-alphanumeric character, between a lowercase letter and an
/// uppercase one (`fooBar`), and before the last capital of a run followed by a
/// lowercase letter (`HTTPServer` → `HTTP`, `Server`). Words are never empty.
fn words(s: &str, mut word: impl FnMut(&str)) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        /// No cased character since the last boundary.
        Boundary,
        Lower,
        Upper,
    }
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut mode = Mode::Boundary;
    for (i, &c) in bytes.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            start = i + 1;
            mode = Mode::Boundary;
            continue;
        }
        let Some(next) = bytes.get(i + 1).copied().filter(u8::is_ascii_alphanumeric) else {
            // The last character before a separator or the end.
            word(&s[start..=i]);
            continue;
        };
        let next_mode = if c.is_ascii_lowercase() {
            Mode::Lower
        } else if c.is_ascii_uppercase() {
            Mode::Upper
        } else {
            mode
        };
        if next_mode == Mode::Lower && next.is_ascii_uppercase() {
            word(&s[start..=i]);
            start = i + 1;
            mode = Mode::Boundary;
        } else if mode == Mode::Upper && c.is_ascii_uppercase() && next.is_ascii_lowercase() {
            word(&s[start..i]);
            start = i;
            mode = Mode::Boundary;
        } else {
            mode = next_mode;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of up to four characters from an alphabet covering each class the
    /// splitting looks at, plus names as documents write them.
    fn corpus() -> Vec<String> {
        let alphabet = ['a', 'b', 'A', 'B', '1', '_', '-', ' ', '.', 'é', 'Σ'];
        let mut out = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for prefix in &level {
                for c in alphabet {
                    let mut s = prefix.clone();
                    s.push(c);
                    next.push(s);
                }
            }
            out.extend(next.iter().cloned());
            level = next;
        }
        out.extend(
            [
                "getSystemStatus",
                "HTTPServer",
                "XMLHttpRequest",
                "user/signedup",
                "request_id",
                "S12Name",
                "v2Api3",
                "ABC",
                "aB1cD2",
                "__init__",
                "already_snake_case",
                "SHOUTY_CASE",
                "kebab-case-name",
                "with spaces  and\ttabs",
                "mode1999",
                "2fa",
                "ÉcoleNormale",
            ]
            .map(String::from),
        );
        out
    }

    #[test]
    fn matches_heck() {
        for s in corpus() {
            assert_eq!(pascal(&s), s.to_pascal_case(), "pascal of {s:?}");
            assert_eq!(snake(&s), s.to_snake_case(), "snake of {s:?}");
            assert_eq!(
                shouty_snake(&s),
                s.to_shouty_snake_case(),
                "shouty snake of {s:?}"
            );
        }
    }
}
