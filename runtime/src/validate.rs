//! Payload validation. `jetwire-codegen` implements [`Validate`] for every generated type
//! from the schema's constraints; the client validates before publishing and the worker
//! after decoding, so an invalid payload is rejected with every violation and its path.

use serde::{Deserialize, Serialize};

/// One broken constraint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// JSON pointer of the offending value inside the payload, e.g. `/servers/1`
    /// (empty for the payload itself).
    pub path: String,
    /// What is wrong, e.g. `must be at most 253 characters long (is 300)`.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// A value that can check its schema constraints.
pub trait Validate {
    /// Push every violation found in `self` (located at `path`) onto `out`.
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>);

    /// Every violation, or `Ok` when there is none.
    fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut out = Vec::new();
        self.validate_at("", &mut out);
        if out.is_empty() {
            Ok(())
        } else {
            Err(out)
        }
    }
}

/// Appends one JSON-pointer token (escaped per RFC 6901) to `path`.
pub fn child_path(path: &str, token: impl std::fmt::Display) -> String {
    let token = token.to_string().replace('~', "~0").replace('/', "~1");
    format!("{path}/{token}")
}

macro_rules! no_constraints {
    ($($t:ty),* $(,)?) => {
        $(impl Validate for $t {
            fn validate_at(&self, _path: &str, _out: &mut Vec<Violation>) {}
        })*
    };
}

no_constraints!(
    bool,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64,
    String,
    (),
    serde_json::Value,
    uuid::Uuid,
    chrono::DateTime<chrono::Utc>,
    chrono::NaiveDate
);

impl<T: Validate> Validate for Option<T> {
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        if let Some(v) = self {
            v.validate_at(path, out)
        }
    }
}

impl<T: Validate> Validate for Box<T> {
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        (**self).validate_at(path, out)
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        for (i, v) in self.iter().enumerate() {
            v.validate_at(&child_path(path, i), out)
        }
    }
}

impl<K: std::fmt::Display, V: Validate, S> Validate for std::collections::HashMap<K, V, S> {
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        for (k, v) in self {
            v.validate_at(&child_path(path, k), out)
        }
    }
}

impl<K: std::fmt::Display, V: Validate> Validate for std::collections::BTreeMap<K, V> {
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        for (k, v) in self {
            v.validate_at(&child_path(path, k), out)
        }
    }
}
