//! Typed access to the fields of one JSON object of the document, with errors that
//! name the file, pointer and line of the offending field.

use std::time::Duration;

use serde_json::{Map, Value};

use super::documents::Documents;
use super::pointer;
use super::schema::RefResolver;
use crate::error::{Error, Result};
use crate::ir::Location;

/// One object of the document and where it is.
pub struct Fields<'a> {
    pub docs: &'a Documents,
    pub at: Location,
    pub map: &'a Map<String, Value>,
    /// What the object is, for messages: `operation`, `x-jetwire.stream`, ...
    pub what: &'a str,
}

impl<'a> Fields<'a> {
    /// `value` (at `at`) must be an object.
    pub fn new(docs: &'a Documents, at: Location, value: &'a Value, what: &'a str) -> Result<Self> {
        let map = value.as_object().ok_or_else(|| {
            Error::invalid(
                at.clone(),
                format!("{what} must be an object, found {}", kind(value)),
            )
        })?;
        Ok(Fields {
            docs,
            at,
            map,
            what,
        })
    }

    /// The location of field `key`.
    pub fn at(&self, key: &str) -> Location {
        self.docs
            .locate(&self.at.file, &pointer::child(&self.at.pointer, key))
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Every key must be one of `allowed`: typos are errors, not silently ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<()> {
        for key in self.map.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(Error::invalid(
                    self.at(key),
                    format!(
                        "unknown key `{key}` in {} (expected one of: {})",
                        self.what,
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn wrong(&self, key: &str, expected: &str) -> Error {
        let found = self.map.get(key).map_or("nothing", kind);
        Error::invalid(
            self.at(key),
            format!("`{key}` of {} must be {expected}, found {found}", self.what),
        )
    }

    pub fn string(&self, key: &str) -> Result<Option<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<String> {
        self.string(key)?.ok_or_else(|| {
            Error::invalid(
                self.at.clone(),
                format!("{} needs a `{key}` (a string)", self.what),
            )
        })
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong(key, "true or false")),
        }
    }

    /// An integer within `min..=max`.
    pub fn integer(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(self.wrong(key, &format!("an integer from {min} to {max}"))),
            },
        }
    }

    pub fn duration(&self, key: &str) -> Result<Option<Duration>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse_duration(v).map(Some).map_err(|why| {
                Error::invalid(self.at(key), format!("`{key}` of {}: {why}", self.what))
            }),
        }
    }

    pub fn durations(&self, key: &str) -> Result<Option<Vec<Duration>>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(parse_duration(item).map_err(|why| {
                        let at = self.docs.locate(
                            &self.at.file,
                            &format!("{}/{i}", pointer::child(&self.at.pointer, key)),
                        );
                        Error::invalid(at, format!("`{key}[{i}]` of {}: {why}", self.what))
                    })?);
                }
                Ok(Some(out))
            }
            Some(_) => Err(self.wrong(key, "a list of durations")),
        }
    }

    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a list of strings")),
            Some(_) => Err(self.wrong(key, "a list of strings")),
        }
    }

    /// The object under `key`, if present.
    pub fn object(&self, key: &str, what: &'a str) -> Result<Option<Fields<'a>>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Fields::new(self.docs, self.at(key), v, what).map(Some),
        }
    }
}

/// A duration: a string of `<integer><unit>` parts (`500ms`, `30s`, `2m`, `24h`, `1d`,
/// `1m30s`) or an integer number of milliseconds. Zero is refused.
pub fn parse_duration(value: &Value) -> std::result::Result<Duration, String> {
    let expected = "expected a duration like `500ms`, `30s`, `2m`, `24h` or integer milliseconds";
    let duration = match value {
        Value::Number(n) => {
            Duration::from_millis(n.as_u64().ok_or_else(|| {
                format!("`{n}` is not a whole number of milliseconds; {expected}")
            })?)
        }
        Value::String(s) => parse_duration_text(s).ok_or_else(|| format!("`{s}`: {expected}"))?,
        other => return Err(format!("found {}; {expected}", kind(other))),
    };
    if duration.is_zero() {
        return Err("the duration must be greater than zero".into());
    }
    Ok(duration)
}

fn parse_duration_text(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let amount: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let millis_per = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(Duration::from_millis(amount.checked_mul(millis_per)?))?;
    }
    Some(total)
}

/// `an object`, `a string`, ... for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        let ok = |v: Value| parse_duration(&v).unwrap();
        assert_eq!(ok(json!("30s")), Duration::from_secs(30));
        assert_eq!(ok(json!("500ms")), Duration::from_millis(500));
        assert_eq!(ok(json!("2m")), Duration::from_secs(120));
        assert_eq!(ok(json!("24h")), Duration::from_secs(86_400));
        assert_eq!(ok(json!("1m30s")), Duration::from_secs(90));
        assert_eq!(ok(json!(250)), Duration::from_millis(250));
        for bad in [
            json!("30"),
            json!("s"),
            json!("3 s"),
            json!("5x"),
            json!(-1),
            json!(1.5),
            json!("0s"),
            json!(true),
        ] {
            assert!(parse_duration(&bad).is_err(), "{bad}");
        }
    }
}
