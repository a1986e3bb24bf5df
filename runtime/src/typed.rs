//! The typed layer generated code is written against: typed job handles and call options
//! over the untyped [`crate::client::Client`], and the conversions the generated client
//! and dispatcher share (payload encoding with validation, subject rendering and
//! parameter checks, decoding with validation, handler results to outcomes, typed events).
//!
//! Everything here is spec-agnostic: the generated crate supplies the types.

use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::client::{Client, Request};
use crate::dispatch::{HandlerError, Job, Outcome, TypedError};
use crate::error::{record_outcome, JobError};
use crate::record::{FailureKind, JobFailure};
use crate::spec::OperationSpec;
use crate::validate::{Validate, Violation};

/// Per-call options of a generated client method.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// How long a waiting call waits; the operation's timeout when `None`.
    pub timeout: Option<Duration>,
    /// The request id to use instead of a fresh one. Submitting the same id again
    /// within the stream's duplicate window is accepted but runs the job only once,
    /// which makes retrying a submit safe.
    pub request_id: Option<String>,
    /// Extra NATS headers (name, value), sent after the typed headers.
    pub headers: Vec<(String, String)>,
}

impl CallOptions {
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A submitted job whose result is a `T` or a typed error `E`.
pub struct JobHandle<T, E> {
    client: Client,
    request_id: String,
    duplicate: bool,
    _result: PhantomData<fn() -> (T, E)>,
}

impl<T, E> std::fmt::Debug for JobHandle<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle")
            .field("request_id", &self.request_id)
            .field("duplicate", &self.duplicate)
            .finish()
    }
}

impl<T, E> Clone for JobHandle<T, E> {
    fn clone(&self) -> Self {
        JobHandle {
            client: self.client.clone(),
            request_id: self.request_id.clone(),
            duplicate: self.duplicate,
            _result: PhantomData,
        }
    }
}

impl<T: DeserializeOwned, E: TypedError> JobHandle<T, E> {
    /// A handle for a job submitted earlier (by this or another client).
    pub fn from_request_id(client: Client, request_id: impl Into<String>) -> Self {
        JobHandle {
            client,
            request_id: request_id.into(),
            duplicate: false,
            _result: PhantomData,
        }
    }

    /// The request id: the job's key in the responses bucket and its `Nats-Msg-Id`.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Whether the stream had already accepted this request id (a repeated submit
    /// within the duplicate window): the job runs once.
    pub fn is_duplicate(&self) -> bool {
        self.duplicate
    }

    /// Waits up to `timeout` for the result. On `JobError::TimedOut` the job goes on and
    /// this (or a new) handle can wait again.
    pub async fn wait(&self, timeout: Duration) -> Result<T, JobError<E>> {
        let result = self.client.wait_result(&self.request_id, timeout).await;
        typed_result(&self.request_id, result)
    }

    /// The result if the job has finished, `Ok(None)` while it is pending (or unknown).
    pub async fn get(&self) -> Result<Option<T>, JobError<E>> {
        let record = self
            .client
            .get(&self.request_id)
            .await
            .map_err(into_typed)?;
        match record.as_ref().and_then(record_outcome) {
            None => Ok(None),
            Some(result) => typed_result(&self.request_id, result).map(Some),
        }
    }
}

/// Submits a job and waits for its result (what generated waiting methods call after
/// validating and building the request).
pub async fn call<T: DeserializeOwned, E: TypedError>(
    client: &Client,
    request: Request,
    timeout: Duration,
) -> Result<T, JobError<E>> {
    let handle = client.submit(request).await.map_err(into_typed)?;
    typed_result(&handle.request_id, handle.result(timeout).await)
}

/// Submits a job without waiting (recorded as `accepted`, so a later lookup can tell
/// "pending" from "unknown") and returns its typed handle.
pub async fn submit<T: DeserializeOwned, E: TypedError>(
    client: &Client,
    request: Request,
) -> Result<JobHandle<T, E>, JobError<E>> {
    let handle = client.submit_detached(request).await.map_err(into_typed)?;
    Ok(JobHandle {
        client: client.clone(),
        request_id: handle.request_id,
        duplicate: handle.duplicate,
        _result: PhantomData,
    })
}

/// Converts an untyped job error into one with the operation's typed error. A handler
/// failure whose code is not one of `E`'s stays [`JobError::Rejected`].
pub fn into_typed<E: TypedError>(err: JobError<JobFailure>) -> JobError<E> {
    match err {
        JobError::Failed { request_id, error } => {
            let details = error.details.clone().unwrap_or(Value::Null);
            match E::from_failure(&error.code, &details) {
                Some(typed) => JobError::Failed {
                    request_id,
                    error: typed,
                },
                None => JobError::Rejected {
                    request_id,
                    failure: error,
                },
            }
        }
        JobError::InvalidRequest(v) => JobError::InvalidRequest(v),
        JobError::ServerUnavailable(m) => JobError::ServerUnavailable(m),
        JobError::StreamFull { stream, message } => JobError::StreamFull { stream, message },
        JobError::TimedOut { request_id, waited } => JobError::TimedOut { request_id, waited },
        JobError::Rejected {
            request_id,
            failure,
        } => JobError::Rejected {
            request_id,
            failure,
        },
        JobError::DeadLettered {
            request_id,
            attempts,
        } => JobError::DeadLettered {
            request_id,
            attempts,
        },
        JobError::Decode {
            request_id,
            message,
        } => JobError::Decode {
            request_id,
            message,
        },
        JobError::Nats(m) => JobError::Nats(m),
    }
}

/// Decodes a reply payload into `T`.
pub fn decode_result<T: DeserializeOwned, E>(
    request_id: &str,
    value: Value,
) -> Result<T, JobError<E>> {
    serde_json::from_value(value).map_err(|e| JobError::Decode {
        request_id: request_id.into(),
        message: format!("the result does not match the reply type: {e}"),
    })
}

/// An untyped result (from `Client::call`/`wait_result`) as the operation's types.
pub fn typed_result<T: DeserializeOwned, E: TypedError>(
    request_id: &str,
    result: Result<Value, JobError>,
) -> Result<T, JobError<E>> {
    match result {
        Ok(value) => decode_result(request_id, value),
        Err(e) => Err(into_typed(e)),
    }
}

/// A typed job error with its typed error turned back into the stored failure (for
/// callers that handle every operation alike, e.g. a gateway).
pub fn untyped<E: TypedError>(error: JobError<E>) -> JobError {
    match error {
        JobError::Failed { request_id, error } => JobError::Failed {
            request_id,
            error: JobFailure {
                kind: FailureKind::Handler,
                code: error.code().to_string(),
                message: error.message(),
                retryable: false,
                details: Some(error.details()),
                violations: Vec::new(),
            },
        },
        JobError::InvalidRequest(v) => JobError::InvalidRequest(v),
        JobError::ServerUnavailable(m) => JobError::ServerUnavailable(m),
        JobError::StreamFull { stream, message } => JobError::StreamFull { stream, message },
        JobError::TimedOut { request_id, waited } => JobError::TimedOut { request_id, waited },
        JobError::Rejected {
            request_id,
            failure,
        } => JobError::Rejected {
            request_id,
            failure,
        },
        JobError::DeadLettered {
            request_id,
            attempts,
        } => JobError::DeadLettered {
            request_id,
            attempts,
        },
        JobError::Decode {
            request_id,
            message,
        } => JobError::Decode {
            request_id,
            message,
        },
        JobError::Nats(m) => JobError::Nats(m),
    }
}

/// Gives a JSON request its request id before it is decoded: `options.request_id`, or
/// a fresh UUID v7 (kept in `options`, so the job is published under it), written into
/// the payload at the operation's request id pointer (added when the object lacks it).
/// A JSON caller (a gateway) can thus leave the field out.
pub fn assign_request_id(
    payload: &mut Value,
    operation: &OperationSpec,
    options: &mut CallOptions,
) {
    let Some(ptr) = operation.request_id_pointer else {
        return;
    };
    let id = options
        .request_id
        .get_or_insert_with(|| uuid::Uuid::now_v7().to_string())
        .clone();
    if let Some(slot) = payload.pointer_mut(ptr) {
        *slot = Value::String(id);
        return;
    }
    // The field is missing: add it when its parent object exists.
    let (parent, key) = ptr.rsplit_once('/').unwrap_or(("", ptr));
    let key = key.replace("~1", "/").replace("~0", "~");
    let parent = if parent.is_empty() {
        Some(payload)
    } else {
        payload.pointer_mut(parent)
    };
    if let Some(Value::Object(map)) = parent {
        map.insert(key, Value::String(id));
    }
}

/// Decodes and validates a JSON request payload (e.g. an HTTP body): a mismatch is
/// `InvalidRequest` with the JSON pointer where decoding stopped, or every violation.
pub fn decode_request<T: DeserializeOwned + Validate>(value: Value) -> Result<T, JobError> {
    let decoded: T = serde_path_to_error::deserialize(value).map_err(|e| {
        JobError::InvalidRequest(vec![Violation {
            path: json_pointer(e.path()),
            message: e.into_inner().to_string(),
        }])
    })?;
    decoded.validate().map_err(JobError::InvalidRequest)?;
    Ok(decoded)
}

/// Typed headers from NATS header pairs (the inverse of [`header_pairs`] for string
/// fields); violations are located under `headers:`.
pub fn decode_headers<H: DeserializeOwned + Validate>(
    pairs: &[(String, String)],
) -> Result<H, JobError> {
    let object: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let headers: H = serde_json::from_value(Value::Object(object)).map_err(|e| {
        JobError::InvalidRequest(vec![Violation {
            path: "headers:".into(),
            message: e.to_string(),
        }])
    })?;
    let mut violations = Vec::new();
    headers.validate_at("headers:", &mut violations);
    if violations.is_empty() {
        Ok(headers)
    } else {
        Err(JobError::InvalidRequest(violations))
    }
}

/// A reply as JSON.
pub fn reply_json<T: Serialize>(reply: &T) -> Value {
    serde_json::to_value(reply).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------
// Requests: payloads, subjects, headers
// ---------------------------------------------------------------------------------------

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

fn render_template(template: &str, values: &[&str]) -> String {
    let mut values = values.iter();
    template
        .split('.')
        .map(|token| {
            if token.starts_with('{') && token.ends_with('}') {
                values.next().copied().unwrap_or(token)
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

// ---------------------------------------------------------------------------------------
// The worker side: decoding and outcomes
// ---------------------------------------------------------------------------------------

/// Decodes and validates a job payload; a failure is the final `invalid_request` outcome,
/// its violation located at the JSON pointer where decoding stopped.
#[allow(clippy::result_large_err)]
pub fn decode_payload<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, Outcome> {
    let not_decoded = |path: String, e: serde_json::Error| {
        Outcome::invalid_request(
            format!("the payload does not decode: {e}"),
            vec![Violation {
                path,
                message: e.to_string(),
            }],
        )
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| not_decoded(json_pointer(e.path()), e.into_inner()))?;
    // Trailing characters after the JSON value are an error too.
    de.end().map_err(|e| not_decoded(String::new(), e))?;
    value
        .validate()
        .map_err(|v| Outcome::invalid_request("the payload violates the schema", v))?;
    Ok(value)
}

/// A serde path (`servers[1].host`) as a JSON pointer (`/servers/1/host`).
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out = crate::validate::child_path(&out, index),
            Segment::Map { key } => out = crate::validate::child_path(&out, key),
            Segment::Enum { variant } => out = crate::validate::child_path(&out, variant),
            Segment::Unknown => {}
        }
    }
    out
}

/// Maps what a typed handler returned to the outcome the runtime records. A reply that
/// breaks the spec's constraints is not stored as a success: the job fails (final,
/// `internal`, code `invalid_reply`) with the violations, so no client ever receives a
/// reply outside the contract.
pub fn handler_outcome<T: Serialize + Validate, E: TypedError>(
    result: Result<T, HandlerError<E>>,
    operation: &OperationSpec,
) -> Outcome {
    match result {
        Ok(reply) => {
            if let Err(violations) = reply.validate() {
                return Outcome::Failed {
                    failure: JobFailure {
                        kind: FailureKind::Internal,
                        code: "invalid_reply".into(),
                        message: format!(
                            "the reply of '{}' violates the schema of its reply message",
                            operation.id
                        ),
                        retryable: false,
                        details: None,
                        violations,
                    },
                    retry_after: None,
                };
            }
            match serde_json::to_value(&reply) {
                Ok(value) => Outcome::Succeeded(value),
                Err(e) => final_failure(
                    FailureKind::Internal,
                    "internal",
                    format!("the reply cannot be serialised: {e}"),
                ),
            }
        }
        Err(HandlerError::Failed(e)) => Outcome::Failed {
            failure: JobFailure {
                kind: FailureKind::Handler,
                code: e.code().to_string(),
                message: e.message(),
                retryable: false,
                details: Some(e.details()),
                violations: Vec::new(),
            },
            retry_after: None,
        },
        Err(HandlerError::Retry { message, after }) if operation.retryable => Outcome::Failed {
            failure: JobFailure {
                kind: FailureKind::Internal,
                code: "retry".into(),
                message,
                retryable: true,
                details: None,
                violations: Vec::new(),
            },
            // Zero: no delay of its own, the runtime applies the consumer's backoff.
            retry_after: Some(after.unwrap_or(Duration::ZERO)),
        },
        Err(HandlerError::Retry { message, .. }) => final_failure(
            FailureKind::Internal,
            "internal",
            format!("{message} (the operation is not retryable)"),
        ),
        Err(HandlerError::Internal(message)) => {
            final_failure(FailureKind::Internal, "internal", message)
        }
    }
}

/// Writes the request id at each of `pointers` that exists in the outcome's reply (on
/// success) or typed error payload (on a handler failure): the spec's correlation id of
/// the reply messages, so that answers always carry the id of the request they answer.
pub fn set_correlation_id(outcome: &mut Outcome, pointers: &[&str], request_id: &str) {
    let value = match outcome {
        Outcome::Succeeded(value) => Some(value),
        Outcome::Failed { failure, .. } if failure.kind == FailureKind::Handler => {
            failure.details.as_mut()
        }
        Outcome::Failed { .. } => None,
    };
    if let Some(value) = value {
        for ptr in pointers {
            if let Some(slot) = value.pointer_mut(ptr) {
                *slot = Value::String(request_id.to_string());
            }
        }
    }
}

fn final_failure(kind: FailureKind, code: &str, message: String) -> Outcome {
    Outcome::Failed {
        failure: JobFailure {
            kind,
            code: code.into(),
            message,
            retryable: false,
            details: None,
            violations: Vec::new(),
        },
        retry_after: None,
    }
}

/// The outcome of a job whose operation the dispatcher does not serve.
pub fn unknown_operation(job: &Job) -> Outcome {
    final_failure(
        FailureKind::UnknownOperation,
        "unknown_operation",
        format!(
            "no handler for operation '{}' (subject '{}')",
            job.operation.id, job.subject
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Events (operations the service sends): core NATS publish / subscribe
// ---------------------------------------------------------------------------------------

/// One received event: its subject, subject parameters and payload.
#[derive(Clone, Debug)]
pub struct Event<P, T> {
    pub subject: String,
    pub params: P,
    pub payload: T,
}

/// Parses subject parameter values (name, value) into the operation's params type.
pub type ParseParams<P> = fn(&[(&str, String)]) -> Result<P, Vec<Violation>>;

/// A typed subscription: every message decoded and validated against the spec; a
/// message that does not match yields its violations instead.
pub struct EventStream<P, T> {
    subscriber: async_nats::Subscriber,
    template: &'static str,
    parse: ParseParams<P>,
    _payload: PhantomData<fn() -> T>,
}

impl<P, T> std::fmt::Debug for EventStream<P, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("template", &self.template)
            .finish()
    }
}

impl<P, T: DeserializeOwned + Validate> EventStream<P, T> {
    /// The next event; `None` when the subscription ended.
    pub async fn next(&mut self) -> Option<Result<Event<P, T>, Vec<Violation>>> {
        use futures::StreamExt;
        let message = self.subscriber.next().await?;
        Some(self.decode(&message))
    }

    /// Stops receiving (the subscription is also closed on drop).
    pub async fn unsubscribe(mut self) -> Result<(), JobError> {
        self.subscriber
            .unsubscribe()
            .await
            .map_err(|e| JobError::Nats(e.to_string()))
    }

    fn decode(&self, message: &async_nats::Message) -> Result<Event<P, T>, Vec<Violation>> {
        let subject = message.subject.to_string();
        let values = subject_values(self.template, &subject).ok_or_else(|| {
            vec![Violation {
                path: String::new(),
                message: format!("subject '{subject}' does not match '{}'", self.template),
            }]
        })?;
        let values: Vec<(&str, String)> = values
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        let params = (self.parse)(&values)?;
        let payload: T = serde_json::from_slice(&message.payload).map_err(|e| {
            vec![Violation {
                path: String::new(),
                message: format!("the payload does not decode: {e}"),
            }]
        })?;
        payload.validate()?;
        Ok(Event {
            subject,
            params,
            payload,
        })
    }
}

impl<P, T: DeserializeOwned + Validate> futures::Stream for EventStream<P, T> {
    type Item = Result<Event<P, T>, Vec<Violation>>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::pin::Pin::new(&mut self.subscriber)
            .poll_next(cx)
            .map(|message| message.map(|m| self.decode(&m)))
    }
}

/// Subscribes to every subject of `template` (parameters as wildcards).
pub async fn subscribe<P, T>(
    nats: &async_nats::Client,
    template: &'static str,
    parse: ParseParams<P>,
) -> Result<EventStream<P, T>, JobError> {
    let wildcard = template
        .split('.')
        .map(|t| if t.starts_with('{') { "*" } else { t })
        .collect::<Vec<_>>()
        .join(".");
    let subscriber = nats
        .subscribe(wildcard)
        .await
        .map_err(|e| JobError::Nats(e.to_string()))?;
    Ok(EventStream {
        subscriber,
        template,
        parse,
        _payload: PhantomData,
    })
}

/// Validates an event payload and publishes it (core NATS) on the rendered subject.
pub async fn publish_event<T: Serialize + Validate>(
    nats: &async_nats::Client,
    template: &str,
    values: &[&str],
    payload: &T,
) -> Result<(), JobError> {
    payload.validate().map_err(JobError::InvalidRequest)?;
    let bytes = serde_json::to_vec(payload).map_err(|e| {
        JobError::InvalidRequest(vec![Violation {
            path: String::new(),
            message: format!("cannot be serialised as JSON: {e}"),
        }])
    })?;
    let subject = render_template(template, values);
    nats.publish(subject, bytes.into())
        .await
        .map_err(|e| JobError::Nats(e.to_string()))?;
    nats.flush()
        .await
        .map_err(|e| JobError::Nats(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct NotFound {
        name: String,
    }

    impl TypedError for NotFound {
        fn code(&self) -> &'static str {
            "NotFound"
        }
        fn message(&self) -> String {
            format!("{} not found", self.name)
        }
        fn details(&self) -> Value {
            serde_json::json!({ "name": self.name })
        }
        fn from_failure(code: &str, details: &Value) -> Option<Self> {
            (code == "NotFound").then(|| NotFound {
                name: details["name"].as_str().unwrap_or_default().into(),
            })
        }
    }

    fn failure(code: &str) -> JobFailure {
        JobFailure {
            kind: FailureKind::Handler,
            code: code.into(),
            message: "m".into(),
            retryable: false,
            details: Some(serde_json::json!({ "name": "x" })),
            violations: vec![],
        }
    }

    #[test]
    fn known_codes_become_typed_errors() {
        let e: JobError<NotFound> = into_typed(JobError::Failed {
            request_id: "r".into(),
            error: failure("NotFound"),
        });
        match e {
            JobError::Failed { error, .. } => assert_eq!(error, NotFound { name: "x".into() }),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_codes_stay_rejected() {
        let e: JobError<NotFound> = into_typed(JobError::Failed {
            request_id: "r".into(),
            error: failure("Other"),
        });
        assert!(matches!(e, JobError::Rejected { ref failure, .. } if failure.code == "Other"));
    }

    #[test]
    fn results_decode_or_report_where() {
        let ok: Result<u32, JobError<NotFound>> = typed_result("r", Ok(serde_json::json!(7)));
        assert_eq!(ok.unwrap(), 7);
        let bad: Result<u32, JobError<NotFound>> =
            typed_result("r", Ok(serde_json::json!("seven")));
        assert!(matches!(bad, Err(JobError::Decode { .. })));
    }

    #[test]
    fn subjects_render_and_match() {
        assert_eq!(
            render_template("jobs.query.dns.{target}", &["host1"]),
            "jobs.query.dns.host1"
        );
        assert_eq!(
            subject_values("jobs.{a}.x.{b}", "jobs.1.x.2"),
            Some(vec![("a".into(), "1".into()), ("b".into(), "2".into())])
        );
        assert_eq!(subject_values("jobs.{a}.x", "jobs.1.y"), None);
    }

    #[test]
    fn parameters_must_be_single_tokens_matching_their_pattern() {
        assert!(check_subject_parameter("t", "host-1", None).is_none());
        for bad in ["", "a.b", "*", ">", "a b"] {
            let v = check_subject_parameter("t", bad, None).expect("rejected");
            assert_eq!(v.path, "{t}");
        }
        assert!(check_subject_parameter("t", "web1", Some("^[a-z0-9]+$")).is_none());
        assert!(check_subject_parameter("t", "Web_1", Some("^[a-z0-9]+$")).is_some());
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Host {
        name: String,
        ports: Vec<u16>,
    }

    impl Validate for Host {
        fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
            if self.name.is_empty() {
                out.push(Violation {
                    path: crate::validate::child_path(path, "name"),
                    message: "must not be empty".into(),
                });
            }
        }
    }

    fn violations(outcome: Outcome) -> Vec<Violation> {
        match outcome {
            Outcome::Failed { failure, .. } => {
                assert_eq!(failure.kind, FailureKind::InvalidRequest);
                failure.violations
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn decoding_errors_name_the_json_pointer() {
        let err = decode_payload::<Host>(br#"{"name": "a", "ports": [80, "x"]}"#).unwrap_err();
        assert_eq!(violations(err)[0].path, "/ports/1");
        let err = decode_payload::<Host>(br#"{"name": "a", "ports": []} x"#).unwrap_err();
        assert_eq!(violations(err)[0].path, "");
        let err = decode_payload::<Host>(br#"{"name": "", "ports": []}"#).unwrap_err();
        assert_eq!(violations(err)[0].path, "/name");
        assert!(decode_payload::<Host>(br#"{"name": "a", "ports": [1]}"#).is_ok());
    }

    #[test]
    fn answers_carry_the_request_id_at_their_correlation_pointer() {
        let mut ok = Outcome::Succeeded(serde_json::json!({ "request_id": "x", "n": 1 }));
        set_correlation_id(&mut ok, &["/request_id", "/absent"], "r-1");
        assert_eq!(
            ok,
            Outcome::Succeeded(serde_json::json!({ "request_id": "r-1", "n": 1 }))
        );
        let mut internal = final_failure(FailureKind::Internal, "internal", "m".into());
        let before = internal.clone();
        set_correlation_id(&mut internal, &["/request_id"], "r-1");
        assert_eq!(
            internal, before,
            "only replies and typed errors are touched"
        );
    }

    #[test]
    fn json_requests_get_their_request_id() {
        let op = OperationSpec {
            id: "op",
            subject: "jobs.x",
            parameters: &[],
            class: crate::spec::JobClass::Query,
            request_id_pointer: Some("/request_id"),
            timeout: Duration::from_secs(1),
            retryable: true,
            has_reply: false,
        };
        let mut payload = serde_json::json!({ "name": "x" });
        let mut options = CallOptions::default();
        assign_request_id(&mut payload, &op, &mut options);
        let id = options.request_id.clone().expect("an id was chosen");
        assert_eq!(payload["request_id"], id.as_str());

        let mut payload = serde_json::json!({ "request_id": "stale" });
        let mut options = CallOptions::default().request_id("mine");
        assign_request_id(&mut payload, &op, &mut options);
        assert_eq!(payload["request_id"], "mine");
    }

    #[test]
    fn retries_follow_the_operation_policy() {
        let mut op = OperationSpec {
            id: "op",
            subject: "jobs.x",
            parameters: &[],
            class: crate::spec::JobClass::Query,
            request_id_pointer: None,
            timeout: Duration::from_secs(1),
            retryable: true,
            has_reply: false,
        };
        let retry: Result<(), HandlerError<NotFound>> = Err(HandlerError::retry("busy"));
        match handler_outcome(retry, &op) {
            Outcome::Failed { retry_after, .. } => assert_eq!(retry_after, Some(Duration::ZERO)),
            other => panic!("unexpected {other:?}"),
        }
        op.retryable = false;
        let retry: Result<(), HandlerError<NotFound>> = Err(HandlerError::retry("busy"));
        match handler_outcome(retry, &op) {
            Outcome::Failed {
                retry_after,
                failure,
            } => {
                assert_eq!(retry_after, None);
                assert_eq!(failure.kind, FailureKind::Internal);
            }
            other => panic!("unexpected {other:?}"),
        }
        let typed: Result<(), HandlerError<NotFound>> =
            Err(HandlerError::Failed(NotFound { name: "n".into() }));
        match handler_outcome(typed, &op) {
            Outcome::Failed { failure, .. } => {
                assert_eq!(failure.kind, FailureKind::Handler);
                assert_eq!(failure.code, "NotFound");
                assert_eq!(failure.details, Some(serde_json::json!({ "name": "n" })));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
