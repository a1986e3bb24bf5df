//! Requests on the client side: [`RequestBuilder`] (what every generated client method
//! builds its request with), payloads validated and encoded, subjects rendered from their
//! templates, subject parameters checked, typed headers as NATS headers.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::handle::CallOptions;
use crate::client::Request;
use crate::error::JobError;
use crate::spec::OperationSpec;
use crate::validate::{Validate, Violation};

/// Builds the runtime [`Request`] of a generated client method from its typed arguments,
/// collecting every violation: the subject parameters (in template order), then the
/// payload, then the typed headers. [`build`](Self::build) returns them all as
/// `JobError::InvalidRequest` (nothing is published) or the request, whose subject is the
/// operation's template filled with the values and whose headers are the typed headers
/// followed by `options.headers`.
///
/// ```ignore
/// RequestBuilder::new(&OPERATION_GET_DISK, options)
///     .param("target", target, Some("^(_any|_all|[a-z0-9-]+)$"))
///     .payload(payload)
///     .build()
/// ```
#[derive(Debug)]
#[must_use = "nothing is validated or sent until `build`"]
pub struct RequestBuilder<'a> {
    operation: &'static OperationSpec,
    options: CallOptions,
    /// Subject parameter values in template order; `None` keeps the template's token.
    values: Vec<Option<&'a str>>,
    payload: Value,
    headers: Vec<(String, String)>,
    violations: Vec<Violation>,
}

impl<'a> RequestBuilder<'a> {
    pub fn new(operation: &'static OperationSpec, options: CallOptions) -> Self {
        RequestBuilder {
            operation,
            options,
            values: Vec::new(),
            payload: Value::Null,
            headers: Vec::new(),
            violations: Vec::new(),
        }
    }

    /// The next subject parameter, a free value: checked with
    /// [`check_subject_parameter`] (one subject token matching `pattern`).
    pub fn param(mut self, name: &str, value: &'a str, pattern: Option<&str>) -> Self {
        self.violations
            .extend(check_subject_parameter(name, value, pattern));
        self.values.push(Some(value));
        self
    }

    /// The next subject parameter, one of its listed values (valid by its type).
    pub fn listed(mut self, value: &'a str) -> Self {
        self.values.push(Some(value));
        self
    }

    /// The next subject parameter is a partition token: it stays in the subject for
    /// the runtime to compute from the routing key.
    pub fn keyed(mut self) -> Self {
        self.values.push(None);
        self
    }

    /// The request payload, validated and encoded with [`encode_payload`] (a
    /// caller-chosen `options.request_id` must fit the request id field). Without it the
    /// payload is `null`.
    pub fn payload<P: Serialize + DeserializeOwned + Validate>(mut self, payload: &P) -> Self {
        match encode_payload(payload, self.operation, self.options.request_id.as_deref()) {
            Ok(v) => self.payload = v,
            Err(mut v) => self.violations.append(&mut v),
        }
        self
    }

    /// The typed headers, validated (violations under `headers:`, telling them apart from
    /// payload ones) and sent as [`header_pairs`].
    pub fn headers<H: Serialize + Validate>(mut self, headers: &H) -> Self {
        headers.validate_at("headers:", &mut self.violations);
        self.headers = header_pairs(headers);
        self
    }

    /// The request, or every violation found.
    #[allow(clippy::result_large_err)]
    pub fn build<E>(self) -> Result<Request, JobError<E>> {
        if !self.violations.is_empty() {
            return Err(JobError::InvalidRequest(self.violations));
        }
        let subject = fill_template(self.operation.subject, self.values);
        let mut headers = self.headers;
        headers.extend(self.options.headers);
        Ok(Request {
            operation: self.operation,
            subject,
            headers,
            payload: self.payload,
            request_id: self.options.request_id,
        })
    }
}

/// Validates and serialises a request payload. Violations at the request id field are
/// ignored: the runtime overwrites that field with the request id. A caller-chosen
/// `request_id` must fit that field though (its type, pattern, length), or the worker
/// would reject the job: a misfit is a violation at the field.
pub fn encode_payload<P: Serialize + DeserializeOwned + Validate>(
    payload: &P,
    operation: &OperationSpec,
    request_id: Option<&str>,
) -> Result<Value, Vec<Violation>> {
    let mut violations = Vec::new();
    payload.validate_at("", &mut violations);
    let at_id = |v: &Violation, ptr: &str| v.path == ptr || v.path.starts_with(&format!("{ptr}/"));
    if let Some(ptr) = operation.request_id_pointer {
        violations.retain(|v| !at_id(v, ptr));
    }
    let value = serde_json::to_value(payload).map_err(|e| {
        vec![Violation {
            path: String::new(),
            message: format!("cannot be serialised as JSON: {e}"),
        }]
    })?;
    if let (Some(ptr), Some(id)) = (operation.request_id_pointer, request_id) {
        let mut with_id = value.clone();
        if let Some(slot) = with_id.pointer_mut(ptr) {
            *slot = Value::String(id.to_string());
            let misfit = |message: String| Violation {
                path: ptr.to_string(),
                message: format!("the request id '{id}' does not fit this field: {message}"),
            };
            match serde_json::from_value::<P>(with_id) {
                Err(e) => violations.push(misfit(e.to_string())),
                Ok(p) => {
                    let mut found = Vec::new();
                    p.validate_at("", &mut found);
                    violations.extend(
                        found
                            .into_iter()
                            .filter(|v| at_id(v, ptr))
                            .map(|v| misfit(v.message)),
                    );
                }
            }
        }
    }
    if violations.is_empty() {
        Ok(value)
    } else {
        Err(violations)
    }
}

/// Checks one subject parameter value: a single NATS subject token (not empty, no `.`,
/// `*`, `>` or whitespace) that matches `pattern` when the spec gives one.
pub fn check_subject_parameter(
    name: &str,
    value: &str,
    pattern: Option<&str>,
) -> Option<Violation> {
    let problem = if value.is_empty() {
        Some("must not be empty".to_string())
    } else if let Some(c) = value
        .chars()
        .find(|c| matches!(c, '.' | '*' | '>') || c.is_whitespace() || c.is_control())
    {
        Some(format!(
            "must be one NATS subject token, without '.', '*', '>' or whitespace (contains {c:?})"
        ))
    } else {
        pattern.and_then(|p| match regex::Regex::new(p) {
            Ok(re) if re.is_match(value) => None,
            Ok(_) => Some(format!("must match the pattern '{p}' (is '{value}')")),
            Err(e) => Some(format!("cannot be checked against the pattern '{p}': {e}")),
        })
    };
    problem.map(|message| Violation {
        path: parameter_path(name),
        message,
    })
}

/// The violation of a subject parameter the subject does not carry.
pub fn missing_subject_parameter(name: &str) -> Violation {
    Violation {
        path: parameter_path(name),
        message: "is missing from the subject".into(),
    }
}

/// How violations name a subject parameter: `{name}`, as in the subject template.
pub fn parameter_path(name: &str) -> String {
    format!("{{{name}}}")
}

/// The concrete subject: the operation's template with its parameters replaced by
/// `values` (in template order).
pub fn render_subject(operation: &OperationSpec, values: &[&str]) -> String {
    render_template(operation.subject, values)
}

pub(crate) fn render_template(template: &str, values: &[&str]) -> String {
    fill_template(template, values.iter().map(|v| Some(*v)))
}

/// `template` with its `{parameter}` tokens replaced, in order, by `values`; a `None`
/// value, or a token past the last value, stays as written.
fn fill_template<'t>(
    template: &'t str,
    values: impl IntoIterator<Item = Option<&'t str>>,
) -> String {
    let mut values = values.into_iter();
    template
        .split('.')
        .map(|token| {
            if token.starts_with('{') && token.ends_with('}') {
                values.next().flatten().unwrap_or(token)
            } else {
                token
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The (name, value) pairs of a concrete subject matched against a template, or `None`
/// when it does not match.
pub fn subject_values(template: &str, subject: &str) -> Option<Vec<(String, String)>> {
    let t: Vec<&str> = template.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    if t.len() != s.len() {
        return None;
    }
    let mut out = Vec::new();
    for (t, s) in t.iter().zip(&s) {
        if let Some(name) = t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            out.push((name.to_string(), s.to_string()));
        } else if t != s {
            return None;
        }
    }
    Some(out)
}

/// Typed headers as NATS header pairs: every field of the serialised object, strings as
/// they are, other values as JSON. `null` fields are left out.
pub fn header_pairs<H: Serialize>(headers: &H) -> Vec<(String, String)> {
    match serde_json::to_value(headers) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect(),
        _ => Vec::new(),
    }
}
