//! Payload validation. `jetwire-codegen` implements [`Validate`] for every generated type
//! from the schema's constraints; the client validates before publishing and the worker
//! after decoding, so an invalid payload is rejected with every violation and its path.
//!
//! Generated bodies call the check functions re-exported here ([`min_length`],
//! [`pattern`], [`int_minimum`], [`unique_items`], ...) with a [`Loc`], so that a valid
//! payload allocates no path strings and the generated code stays small.

use serde::{Deserialize, Serialize};

mod checks;

pub use checks::{
    const_int, const_json, const_str, float_maximum, float_minimum, float_multiple_of, format,
    int_maximum, int_minimum, int_multiple_of, key_pattern, max_items, max_length, max_properties,
    min_items, min_length, min_properties, one_of_int, one_of_json, one_of_str, pattern,
    unique_items, Number, Pattern,
};

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
    ///
    /// The default finds none: it is for types without constraints of their own (string
    /// enums, plain structs), whose generated impls are then one line.
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        let _ = (path, out);
    }

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

/// Where a value sits in the payload, as a chain of steps from a JSON pointer.
///
/// Building one costs nothing (it borrows its parent); the pointer string is rendered
/// only when a violation is recorded or a nested [`Validate::validate_at`] needs it.
/// `Loc::root("/a").key("b~c").index(2)` renders as `/a/b~0c/2`, like nested
/// [`child_path`] calls.
#[derive(Clone, Copy, Debug)]
pub struct Loc<'a>(Step<'a>);

#[derive(Clone, Copy, Debug)]
enum Step<'a> {
    Root(&'a str),
    Key(&'a Loc<'a>, &'a str),
    Index(&'a Loc<'a>, usize),
}

impl<'a> Loc<'a> {
    /// The location given as a JSON pointer (`""` for the payload itself).
    pub fn root(path: &'a str) -> Self {
        Loc(Step::Root(path))
    }

    /// The property or map entry `key` of the value here.
    pub fn key<'b>(&'b self, key: &'b str) -> Loc<'b> {
        Loc(Step::Key(self, key))
    }

    /// The item at `index` of the array here.
    pub fn index(&self, index: usize) -> Loc<'_> {
        Loc(Step::Index(self, index))
    }

    /// The JSON pointer (borrowed for a root location, built otherwise).
    pub fn path(&self) -> std::borrow::Cow<'a, str> {
        match self.0 {
            Step::Root(path) => std::borrow::Cow::Borrowed(path),
            _ => {
                let mut out = String::new();
                self.write_to(&mut out);
                std::borrow::Cow::Owned(out)
            }
        }
    }

    fn write_to(&self, out: &mut String) {
        match self.0 {
            Step::Root(path) => out.push_str(path),
            Step::Key(parent, key) => {
                parent.write_to(out);
                out.push('/');
                for c in key.chars() {
                    match c {
                        '~' => out.push_str("~0"),
                        '/' => out.push_str("~1"),
                        c => out.push(c),
                    }
                }
            }
            Step::Index(parent, index) => {
                use std::fmt::Write as _;
                parent.write_to(out);
                // Writing to a String cannot fail.
                let _ = write!(out, "/{index}");
            }
        }
    }

    /// A violation of this location with `message`.
    pub fn violation(&self, message: impl Into<String>) -> Violation {
        Violation {
            path: self.path().into_owned(),
            message: message.into(),
        }
    }
}

macro_rules! no_constraints {
    ($($t:ty),* $(,)?) => {
        $(impl Validate for $t {})*
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
