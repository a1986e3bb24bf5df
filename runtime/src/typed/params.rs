//! What every generated subject parameters struct (`<Op>Params`) does with its values:
//! read them from a job's subject by name ([`SubjectValues`]) and check them
//! ([`subject_violations`]). The generated methods are short calls of these, so the
//! rules live here once instead of in a copy per operation.

use std::str::FromStr;

use super::request::{check_subject_parameter, missing_subject_parameter};
use crate::validate::Violation;

/// Reads subject parameters by name from a job's `(name, value)` pairs, collecting a
/// violation for every one that is missing or invalid (all of them, not only the first).
///
/// A generated `from_subject_values` reads each parameter, then builds the struct when
/// every read gave a value, or returns [`SubjectValues::into_violations`]:
///
/// ```
/// use jetwire::typed::SubjectValues;
///
/// let values = vec![("target", "web.1".to_string())];
/// let mut read = SubjectValues::new(&values);
/// let target = read.free("target", None);
/// let zone = read.free("zone", Some("^[a-z]+$"));
/// assert_eq!((target, zone), (None, None));
/// let violations = read.into_violations();
/// assert_eq!(violations.len(), 2);
/// assert_eq!(violations[0].path, "{target}");
/// assert_eq!(violations[1].message, "is missing from the subject");
/// ```
#[derive(Debug)]
pub struct SubjectValues<'v> {
    values: &'v [(&'v str, String)],
    violations: Vec<Violation>,
}

impl<'v> SubjectValues<'v> {
    pub fn new(values: &'v [(&'v str, String)]) -> Self {
        SubjectValues {
            values,
            violations: Vec::new(),
        }
    }

    /// The value of `name` if there is one: a violation is recorded when it is missing.
    fn value(&mut self, name: &str) -> Option<&'v String> {
        let found = self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
        if found.is_none() {
            self.violations.push(missing_subject_parameter(name));
        }
        found
    }

    /// A free-form parameter: present, one subject token, and matching `pattern` when
    /// there is one ([`check_subject_parameter`]); `None` (and a violation) otherwise.
    pub fn free(&mut self, name: &str, pattern: Option<&str>) -> Option<String> {
        let value = self.value(name)?;
        match check_subject_parameter(name, value, pattern) {
            None => Some(value.clone()),
            Some(violation) => {
                self.violations.push(violation);
                None
            }
        }
    }

    /// An enumerated parameter: present and one of the enum's values (its `FromStr`
    /// says which violation it is not); `None` (and a violation) otherwise.
    pub fn listed<T: FromStr<Err = Violation>>(&mut self, name: &str) -> Option<T> {
        let value = self.value(name)?;
        match value.parse() {
            Ok(v) => Some(v),
            Err(violation) => {
                self.violations.push(violation);
                None
            }
        }
    }

    /// Every violation recorded so far, in the order the parameters were read.
    pub fn into_violations(self) -> Vec<Violation> {
        self.violations
    }
}

/// Every way free-form parameter values, as `(name, value, pattern)`, break the subject
/// rules ([`check_subject_parameter`]), in the order given. Enumerated parameters are
/// valid by construction and are not listed.
pub fn subject_violations(params: &[(&str, &str, Option<&str>)]) -> Vec<Violation> {
    params
        .iter()
        .filter_map(|(name, value, pattern)| check_subject_parameter(name, value, *pattern))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Zone {
        East,
    }

    impl FromStr for Zone {
        type Err = Violation;
        fn from_str(s: &str) -> Result<Self, Violation> {
            match s {
                "east" => Ok(Zone::East),
                other => Err(Violation {
                    path: "{zone}".into(),
                    message: format!("not a zone: {other}"),
                }),
            }
        }
    }

    fn values(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(n, v)| (*n, v.to_string())).collect()
    }

    #[test]
    fn reads_valid_values() {
        let values = values(&[("zone", "east"), ("target", "web-1")]);
        let mut read = SubjectValues::new(&values);
        assert_eq!(
            read.free("target", Some("^web-[0-9]$")),
            Some("web-1".into())
        );
        assert_eq!(read.listed::<Zone>("zone"), Some(Zone::East));
        assert!(read.into_violations().is_empty());
    }

    #[test]
    fn collects_every_violation_in_read_order() {
        let values = values(&[("zone", "west"), ("target", "db-1"), ("host", "a.b")]);
        let mut read = SubjectValues::new(&values);
        assert_eq!(read.listed::<Zone>("zone"), None);
        assert_eq!(read.free("missing", None), None);
        assert_eq!(read.free("target", Some("^web-[0-9]$")), None);
        assert_eq!(read.free("host", None), None);
        let v = read.into_violations();
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["{zone}", "{missing}", "{target}", "{host}"]);
        assert_eq!(v[0].message, "not a zone: west");
        assert_eq!(v[1].message, "is missing from the subject");
        assert!(
            v[2].message.contains("must match the pattern"),
            "{}",
            v[2].message
        );
        assert!(
            v[3].message.contains("one NATS subject token"),
            "{}",
            v[3].message
        );
    }

    #[test]
    fn subject_violations_checks_each_value() {
        assert!(subject_violations(&[]).is_empty());
        assert!(subject_violations(&[("a", "x", None), ("b", "web-1", Some("^web-"))]).is_empty());
        let v = subject_violations(&[
            ("a", "", None),
            ("b", "ok", None),
            ("c", "db", Some("^web-")),
        ]);
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["{a}", "{c}"]);
        assert_eq!(v[0].message, "must not be empty");
    }
}
