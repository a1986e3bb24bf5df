//! The constraint checks that generated `validate_at` bodies call, one function per JSON
//! Schema keyword. Each pushes at most one [`Violation`] (the message says what is wrong
//! and shows the offending value) and builds the location's JSON pointer only then.
//!
//! The messages are part of the protocol (clients show them, tests compare them), so
//! they must not change: `must be at least 3 characters long (is 1)`,
//! `must be less than 10 (is 12)`, `must have at most 2 items (has 5)`, ...

use std::fmt::Display;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use super::{Loc, Violation};

fn push(at: Loc<'_>, message: String, out: &mut Vec<Violation>) {
    out.push(at.violation(message));
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A bound as people write it: `5`, not `5.0` (kept in step with the generator, which
/// wrote these messages before these helpers existed).
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

// ---- strings ----

/// `minLength`: `s` has at least `min` characters (Unicode scalar values).
pub fn min_length(at: Loc<'_>, s: &str, min: usize, out: &mut Vec<Violation>) {
    // A character is at most 4 bytes: a long enough string needs no counting.
    if s.len() >= min.saturating_mul(4) {
        return;
    }
    let n = s.chars().count();
    if n < min {
        let what = plural(min, "character", "characters");
        push(
            at,
            format!("must be at least {min} {what} long (is {n})"),
            out,
        );
    }
}

/// `maxLength`: `s` has at most `max` characters (Unicode scalar values).
pub fn max_length(at: Loc<'_>, s: &str, max: usize, out: &mut Vec<Violation>) {
    // A character is at least 1 byte: a short enough string needs no counting.
    if s.len() <= max {
        return;
    }
    let n = s.chars().count();
    if n > max {
        let what = plural(max, "character", "characters");
        push(
            at,
            format!("must be at most {max} {what} long (is {n})"),
            out,
        );
    }
}

/// A regular expression compiled on first use, meant for a `static`:
///
/// ```
/// use jetwire::validate::{pattern, Loc, Pattern};
///
/// static NAME: Pattern = Pattern::new("^[a-z]+$");
/// let mut out = Vec::new();
/// pattern(Loc::root("/name"), "Bob", &NAME, &mut out);
/// assert_eq!(out[0].message, "must match the pattern `^[a-z]+$`");
/// ```
///
/// A source the regex engine rejects checks nothing (the generator reports such
/// patterns when it reads the spec).
pub struct Pattern {
    source: &'static str,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    /// The pattern `source`, not compiled yet.
    pub const fn new(source: &'static str) -> Self {
        Pattern {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The pattern as written in the schema.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Whether `s` matches; `None` when the pattern does not compile.
    pub fn is_match(&self, s: &str) -> Option<bool> {
        self.compiled
            .get_or_init(|| Regex::new(self.source).ok())
            .as_ref()
            .map(|re| re.is_match(s))
    }
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pattern").field(&self.source).finish()
    }
}

/// A `&'static` [`Pattern`] for a literal source: a `static` of its own at each use,
/// so the regex is compiled once (on first use) even when the check runs in a loop.
///
/// ```
/// use jetwire::validate::{pattern, Loc};
///
/// let mut out = Vec::new();
/// for name in ["ok", "Not ok"] {
///     pattern(Loc::root("/name"), name, jetwire::pattern!("^[a-z]+$"), &mut out);
/// }
/// assert_eq!(out.len(), 1);
/// ```
#[macro_export]
macro_rules! pattern {
    ($source:literal) => {{
        static PATTERN: $crate::validate::Pattern = $crate::validate::Pattern::new($source);
        &PATTERN
    }};
}

/// `pattern`: `s` matches `re` (anywhere, as JSON Schema says: anchor it to match all).
pub fn pattern(at: Loc<'_>, s: &str, re: &Pattern, out: &mut Vec<Violation>) {
    if re.is_match(s) == Some(false) {
        let source = re.source;
        push(at, format!("must match the pattern `{source}`"), out);
    }
}

/// `propertyNames.pattern` of a map: every key matches `re`; a violation per key, at
/// the key's entry.
pub fn key_pattern<'k>(
    at: Loc<'_>,
    keys: impl IntoIterator<Item = &'k String>,
    re: &Pattern,
    out: &mut Vec<Violation>,
) {
    for key in keys {
        if re.is_match(key) == Some(false) {
            let source = re.source;
            let message = format!("property name must match the pattern `{source}`");
            push(at.key(key), message, out);
        }
    }
}

/// `format`: `valid(s)` holds, e.g. with [`crate::schema::is_email`] and
/// `what` = `an email address`.
pub fn format(at: Loc<'_>, s: &str, valid: fn(&str) -> bool, what: &str, out: &mut Vec<Violation>) {
    if !valid(s) {
        push(at, format!("must be {what}"), out);
    }
}

/// `enum` of strings: `s` is one of `allowed`.
pub fn one_of_str(at: Loc<'_>, s: &str, allowed: &[&str], out: &mut Vec<Violation>) {
    if !allowed.contains(&s) {
        let list: Vec<String> = allowed.iter().map(|a| json_string(a)).collect();
        push(at, format!("must be one of {}", list.join(", ")), out);
    }
}

/// `const` string: `s` is `expected`.
pub fn const_str(at: Loc<'_>, s: &str, expected: &str, out: &mut Vec<Violation>) {
    if s != expected {
        push(at, format!("must be {}", json_string(expected)), out);
    }
}

/// `s` written as a JSON string, as the messages show it.
fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

// ---- numbers ----

/// A number a bound can apply to: the integer and float types of generated fields.
pub trait Number: Copy + Display {
    /// The value as `f64` (`as` conversion: the nearest float for large integers).
    fn to_f64(self) -> f64;
}

macro_rules! number {
    ($($t:ty),*) => {
        $(impl Number for $t {
            fn to_f64(self) -> f64 {
                self as f64
            }
        })*
    };
}

number!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// `minimum` (`exclusive`: `exclusiveMinimum`) of an integer with a whole bound,
/// compared exactly as `i128`.
pub fn int_minimum<X: Into<i128> + Display + Copy>(
    at: Loc<'_>,
    x: X,
    bound: i128,
    exclusive: bool,
    out: &mut Vec<Violation>,
) {
    let v = x.into();
    below(
        at,
        x,
        if exclusive { v <= bound } else { v < bound },
        exclusive,
        bound as f64,
        out,
    );
}

/// `maximum` (`exclusive`: `exclusiveMaximum`) of an integer with a whole bound,
/// compared exactly as `i128`.
pub fn int_maximum<X: Into<i128> + Display + Copy>(
    at: Loc<'_>,
    x: X,
    bound: i128,
    exclusive: bool,
    out: &mut Vec<Violation>,
) {
    let v = x.into();
    above(
        at,
        x,
        if exclusive { v >= bound } else { v > bound },
        exclusive,
        bound as f64,
        out,
    );
}

/// `minimum` (`exclusive`: `exclusiveMinimum`) compared as `f64` (floats, and integers
/// with a fractional bound).
pub fn float_minimum<X: Number>(
    at: Loc<'_>,
    x: X,
    bound: f64,
    exclusive: bool,
    out: &mut Vec<Violation>,
) {
    let v = x.to_f64();
    below(
        at,
        x,
        if exclusive { v <= bound } else { v < bound },
        exclusive,
        bound,
        out,
    );
}

/// `maximum` (`exclusive`: `exclusiveMaximum`) compared as `f64` (floats, and integers
/// with a fractional bound).
pub fn float_maximum<X: Number>(
    at: Loc<'_>,
    x: X,
    bound: f64,
    exclusive: bool,
    out: &mut Vec<Violation>,
) {
    let v = x.to_f64();
    above(
        at,
        x,
        if exclusive { v >= bound } else { v > bound },
        exclusive,
        bound,
        out,
    );
}

fn below(
    at: Loc<'_>,
    x: impl Display,
    broken: bool,
    exclusive: bool,
    bound: f64,
    out: &mut Vec<Violation>,
) {
    if broken {
        let words = if exclusive {
            "greater than"
        } else {
            "at least"
        };
        push(at, format!("must be {words} {} (is {x})", num(bound)), out);
    }
}

fn above(
    at: Loc<'_>,
    x: impl Display,
    broken: bool,
    exclusive: bool,
    bound: f64,
    out: &mut Vec<Violation>,
) {
    if broken {
        let words = if exclusive { "less than" } else { "at most" };
        push(at, format!("must be {words} {} (is {x})", num(bound)), out);
    }
}

/// `multipleOf` of an integer by a whole `m` (> 0), exactly.
pub fn int_multiple_of<X: Into<i128> + Display + Copy>(
    at: Loc<'_>,
    x: X,
    m: i128,
    out: &mut Vec<Violation>,
) {
    // `m` is never 0 (the generator rejects it); a 0 would check nothing.
    if x.into().checked_rem(m).is_some_and(|r| r != 0) {
        push(at, multiple_message(x, m as f64), out);
    }
}

/// `multipleOf` compared as `f64`, within 1e-9 of a whole quotient.
pub fn float_multiple_of<X: Number>(at: Loc<'_>, x: X, m: f64, out: &mut Vec<Violation>) {
    let q = x.to_f64() / m;
    if (q - q.round()).abs() > 1e-9 {
        push(at, multiple_message(x, m), out);
    }
}

fn multiple_message(x: impl Display, m: f64) -> String {
    format!("must be a multiple of {} (is {x})", num(m))
}

/// `enum` of integers: `x` is one of `allowed`.
pub fn one_of_int<X: Into<i128>>(at: Loc<'_>, x: X, allowed: &[i128], out: &mut Vec<Violation>) {
    if !allowed.contains(&x.into()) {
        let list: Vec<String> = allowed.iter().map(i128::to_string).collect();
        push(at, format!("must be one of {}", list.join(", ")), out);
    }
}

/// `const` integer: `x` is `expected`.
pub fn const_int<X: Into<i128>>(at: Loc<'_>, x: X, expected: i128, out: &mut Vec<Violation>) {
    if x.into() != expected {
        push(at, format!("must be {expected}"), out);
    }
}

// ---- any value, compared as JSON ----

/// `enum` of any JSON values: `v`, serialized, is one of `allowed`; `message` is the
/// generator's `must be one of ...` (the values as written in the schema).
pub fn one_of_json<T: Serialize + ?Sized>(
    at: Loc<'_>,
    v: &T,
    allowed: &[Value],
    message: &str,
    out: &mut Vec<Violation>,
) {
    let json = serde_json::to_value(v).unwrap_or_default();
    if !allowed.contains(&json) {
        push(at, message.to_string(), out);
    }
}

/// `const` of any JSON value: `v`, serialized, equals `expected`; `message` is the
/// generator's `must be ...`.
pub fn const_json<T: Serialize + ?Sized>(
    at: Loc<'_>,
    v: &T,
    expected: &Value,
    message: &str,
    out: &mut Vec<Violation>,
) {
    let json = serde_json::to_value(v).unwrap_or_default();
    if json != *expected {
        push(at, message.to_string(), out);
    }
}

// ---- counts ----

/// `minItems`: an array of `len` items has at least `min`.
pub fn min_items(at: Loc<'_>, len: usize, min: usize, out: &mut Vec<Violation>) {
    count_bound(at, len, Bound::AtLeast(min), ("item", "items"), out);
}

/// `maxItems`: an array of `len` items has at most `max`.
pub fn max_items(at: Loc<'_>, len: usize, max: usize, out: &mut Vec<Violation>) {
    count_bound(at, len, Bound::AtMost(max), ("item", "items"), out);
}

/// `minProperties`: an object with `len` properties has at least `min`.
pub fn min_properties(at: Loc<'_>, len: usize, min: usize, out: &mut Vec<Violation>) {
    count_bound(
        at,
        len,
        Bound::AtLeast(min),
        ("property", "properties"),
        out,
    );
}

/// `maxProperties`: an object with `len` properties has at most `max`.
pub fn max_properties(at: Loc<'_>, len: usize, max: usize, out: &mut Vec<Violation>) {
    count_bound(at, len, Bound::AtMost(max), ("property", "properties"), out);
}

/// A lower or upper bound on a count.
enum Bound {
    AtLeast(usize),
    AtMost(usize),
}

/// The item and property counts: `len` things (`noun`: singular, plural) within `bound`.
fn count_bound(
    at: Loc<'_>,
    len: usize,
    bound: Bound,
    (one, many): (&'static str, &'static str),
    out: &mut Vec<Violation>,
) {
    let (broken, words, n) = match bound {
        Bound::AtLeast(min) => (len < min, "at least", min),
        Bound::AtMost(max) => (len > max, "at most", max),
    };
    if broken {
        let what = plural(n, one, many);
        push(at, format!("must have {words} {n} {what} (has {len})"), out);
    }
}

/// `uniqueItems`: a violation at every item equal to an earlier one.
pub fn unique_items<T: PartialEq>(at: Loc<'_>, items: &[T], out: &mut Vec<Violation>) {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            push(
                at.index(i),
                "must not repeat an earlier item".to_string(),
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(check: impl FnOnce(Loc<'_>, &mut Vec<Violation>)) -> Vec<(String, String)> {
        let mut out = Vec::new();
        check(Loc::root("/a"), &mut out);
        out.into_iter().map(|v| (v.path, v.message)).collect()
    }

    fn one(path: &str, message: &str) -> Vec<(String, String)> {
        vec![(path.to_string(), message.to_string())]
    }

    #[test]
    fn locations_render_like_child_path() {
        let root = Loc::root("/x");
        let key = root.key("a/b~c");
        let item = key.index(3);
        assert_eq!(root.path(), "/x");
        assert!(matches!(root.path(), std::borrow::Cow::Borrowed(_)));
        assert_eq!(
            item.path(),
            super::super::child_path(&super::super::child_path("/x", "a/b~c"), 3)
        );
        assert_eq!(Loc::root("").key("").path(), "/");
    }

    #[test]
    fn string_lengths_count_characters() {
        assert_eq!(run(|at, out| min_length(at, "éé", 2, out)), vec![]);
        assert_eq!(
            run(|at, out| min_length(at, "é", 2, out)),
            one("/a", "must be at least 2 characters long (is 1)")
        );
        assert_eq!(
            run(|at, out| min_length(at, "", 1, out)),
            one("/a", "must be at least 1 character long (is 0)")
        );
        assert_eq!(run(|at, out| max_length(at, "ééé", 3, out)), vec![]);
        assert_eq!(
            run(|at, out| max_length(at, "ab", 1, out)),
            one("/a", "must be at most 1 character long (is 2)")
        );
        // Around the byte-length shortcuts: four-byte characters.
        assert_eq!(run(|at, out| min_length(at, "😀😀", 2, out)), vec![]);
        assert_eq!(
            run(|at, out| min_length(at, "😀😀", 3, out)),
            one("/a", "must be at least 3 characters long (is 2)")
        );
        assert_eq!(run(|at, out| max_length(at, "😀😀", 2, out)), vec![]);
        assert_eq!(
            run(|at, out| max_length(at, "😀😀", 1, out)),
            one("/a", "must be at most 1 character long (is 2)")
        );
    }

    #[test]
    fn patterns_compile_once_and_skip_invalid_sources() {
        static RE: Pattern = Pattern::new("^[a-z]+$");
        let bad = crate::pattern!("(");
        assert_eq!(run(|at, out| pattern(at, "abc", &RE, out)), vec![]);
        assert_eq!(
            run(|at, out| pattern(at, "aB", &RE, out)),
            one("/a", "must match the pattern `^[a-z]+$`")
        );
        assert_eq!(bad.is_match("x"), None);
        assert_eq!(run(|at, out| pattern(at, "x", bad, out)), vec![]);
        let keys = ["ok".to_string(), "No/t".to_string()];
        assert_eq!(
            run(|at, out| key_pattern(at, &keys, &RE, out)),
            one(
                "/a/No~1t",
                "property name must match the pattern `^[a-z]+$`"
            )
        );
    }

    #[test]
    fn formats_and_string_enums() {
        assert_eq!(
            run(|at, out| format(at, "x", crate::schema::is_email, "an email address", out)),
            one("/a", "must be an email address")
        );
        assert_eq!(run(|at, out| one_of_str(at, "b", &["a", "b"], out)), vec![]);
        assert_eq!(
            run(|at, out| one_of_str(at, "c", &["a", "q\""], out)),
            one("/a", r#"must be one of "a", "q\"""#)
        );
        assert_eq!(
            run(|at, out| const_str(at, "c", "d", out)),
            one("/a", r#"must be "d""#)
        );
    }

    #[test]
    fn integer_bounds_compare_exactly() {
        // 2^53 + 1 is not representable as f64: an f64 comparison would pass it.
        assert_eq!(
            run(|at, out| int_maximum(at, 9_007_199_254_740_993u64, 1 << 53, false, out)),
            one(
                "/a",
                "must be at most 9007199254740992 (is 9007199254740993)"
            )
        );
        assert_eq!(run(|at, out| int_minimum(at, 0u32, 0, false, out)), vec![]);
        assert_eq!(
            run(|at, out| int_minimum(at, 0u32, 0, true, out)),
            one("/a", "must be greater than 0 (is 0)")
        );
        assert_eq!(
            run(|at, out| int_maximum(at, 5i8, 5, true, out)),
            one("/a", "must be less than 5 (is 5)")
        );
        assert_eq!(
            run(|at, out| int_multiple_of(at, 7i64, 3, out)),
            one("/a", "must be a multiple of 3 (is 7)")
        );
        assert_eq!(run(|at, out| int_multiple_of(at, -9i64, 3, out)), vec![]);
        assert_eq!(run(|at, out| one_of_int(at, 2u8, &[1, 2], out)), vec![]);
        assert_eq!(
            run(|at, out| one_of_int(at, 3u8, &[1, -2], out)),
            one("/a", "must be one of 1, -2")
        );
        assert_eq!(
            run(|at, out| const_int(at, 3u8, 4, out)),
            one("/a", "must be 4")
        );
    }

    #[test]
    fn float_bounds_show_the_value_in_its_own_type() {
        assert_eq!(
            run(|at, out| float_minimum(at, 0.1f32, 0.5, false, out)),
            one("/a", "must be at least 0.5 (is 0.1)")
        );
        assert_eq!(
            run(|at, out| float_maximum(at, 2.0f64, 1.0, false, out)),
            one("/a", "must be at most 1 (is 2)")
        );
        assert_eq!(
            run(|at, out| float_maximum(at, 1.0f64, 1.0, false, out)),
            vec![]
        );
        assert_eq!(
            run(|at, out| float_maximum(at, 1u16, 1.0, true, out)),
            one("/a", "must be less than 1 (is 1)")
        );
        assert_eq!(
            run(|at, out| float_multiple_of(at, 0.3f64, 0.1, out)),
            vec![]
        );
        assert_eq!(
            run(|at, out| float_multiple_of(at, 0.35f64, 0.1, out)),
            one("/a", "must be a multiple of 0.1 (is 0.35)")
        );
    }

    #[test]
    fn json_enums_and_consts_compare_serialized_values() {
        let allowed = [json!(1), json!({"a": [true]})];
        let ok = json!({"a": [true]});
        assert_eq!(
            run(|at, out| one_of_json(at, &ok, &allowed, "m", out)),
            vec![]
        );
        assert_eq!(
            run(|at, out| one_of_json(at, &2, &allowed, "m", out)),
            one("/a", "m")
        );
        assert_eq!(
            run(|at, out| const_json(at, &vec![1], &json!([1]), "m", out)),
            vec![]
        );
        assert_eq!(
            run(|at, out| const_json(at, "x", &json!(null), "must be null", out)),
            one("/a", "must be null")
        );
    }

    #[test]
    fn counts_and_unique_items() {
        assert_eq!(
            run(|at, out| min_items(at, 0, 1, out)),
            one("/a", "must have at least 1 item (has 0)")
        );
        assert_eq!(
            run(|at, out| max_items(at, 3, 2, out)),
            one("/a", "must have at most 2 items (has 3)")
        );
        assert_eq!(
            run(|at, out| min_properties(at, 1, 2, out)),
            one("/a", "must have at least 2 properties (has 1)")
        );
        assert_eq!(
            run(|at, out| max_properties(at, 2, 1, out)),
            one("/a", "must have at most 1 property (has 2)")
        );
        assert_eq!(run(|at, out| max_items(at, 2, 2, out)), vec![]);
        assert_eq!(
            run(|at, out| unique_items(at, &[1, 2, 1, 1], out)),
            vec![
                (
                    "/a/2".to_string(),
                    "must not repeat an earlier item".to_string()
                ),
                (
                    "/a/3".to_string(),
                    "must not repeat an earlier item".to_string()
                ),
            ]
        );
    }
}
