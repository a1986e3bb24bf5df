//! Jobs with JSON in and out, for callers that treat every operation alike (a gateway):
//! request ids filled into JSON payloads, JSON decoded with validation, typed errors
//! turned back into their stored failure.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::broadcast::Broadcast;
use super::handle::{CallOptions, JobHandle};
use super::outcome::json_pointer;
use super::request::parameter_path;
use crate::dispatch::TypedError;
use crate::error::JobError;
use crate::record::{FailureKind, JobFailure};
use crate::spec::OperationSpec;
use crate::targets;
use crate::validate::{Validate, Violation};

/// A typed job error with its typed error turned back into the stored failure (for
/// callers that handle every operation alike, e.g. a gateway).
pub fn untyped<E: TypedError>(error: JobError<E>) -> JobError {
    error.map_failed(|request_id, error| JobError::Failed {
        request_id,
        error: JobFailure {
            kind: FailureKind::Handler,
            code: error.code().to_string(),
            message: error.message(),
            retryable: false,
            details: Some(error.details()),
            violations: Vec::new(),
        },
    })
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

/// A JSON request payload of `operation` given its request id ([`assign_request_id`],
/// kept in `options`) and then decoded and validated ([`decode_request`]).
pub fn json_payload<T: DeserializeOwned + Validate>(
    operation: &OperationSpec,
    mut payload: Value,
    options: &mut CallOptions,
) -> Result<T, JobError> {
    assign_request_id(&mut payload, operation, options);
    decode_request(payload)
}

/// A typed call's result with the reply as JSON and a typed error turned back into its
/// stored failure (see [`untyped`]).
pub fn untyped_reply<T: Serialize, E: TypedError>(
    result: Result<T, JobError<E>>,
) -> Result<Value, JobError> {
    result.map(|r| reply_json(&r)).map_err(untyped)
}

/// A typed submit's result as the job's request id (see [`untyped`] for the error).
pub fn untyped_submitted<T: DeserializeOwned, E: TypedError>(
    result: Result<JobHandle<T, E>, JobError<E>>,
) -> Result<String, JobError> {
    result.map(|h| h.request_id().to_string()).map_err(untyped)
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

/// A typed broadcast with every reply as JSON and every typed error turned back into its
/// stored failure (see [`untyped`]).
pub fn untyped_broadcast<T: Serialize, E: TypedError>(
    broadcast: Result<Broadcast<T, E>, JobError<E>>,
) -> Result<Broadcast<Value, JobFailure>, JobError> {
    let broadcast = broadcast.map_err(untyped)?;
    Ok(Broadcast {
        request_id: broadcast.request_id,
        results: broadcast
            .results
            .into_iter()
            .map(|(worker, result)| (worker, untyped_reply(result)))
            .collect(),
        missing: broadcast.missing,
    })
}

/// The subject parameter values of a JSON broadcast with its target parameter `target`
/// set to `_all`. The caller may leave the target out or give `_all`; any other value is
/// a violation, since a broadcast runs on every worker.
pub fn broadcast_params<'a>(
    params: &[(&'a str, String)],
    target: &'a str,
) -> Result<Vec<(&'a str, String)>, JobError> {
    let mut out = Vec::with_capacity(params.len() + 1);
    for (name, value) in params {
        if *name != target {
            out.push((*name, value.clone()));
        } else if value != targets::ALL {
            return Err(JobError::InvalidRequest(vec![Violation {
                path: parameter_path(target),
                message: format!(
                    "a broadcast runs on every worker: leave the target out or give '{}' (is '{value}')",
                    targets::ALL
                ),
            }]));
        }
    }
    out.push((target, targets::ALL.to_string()));
    Ok(out)
}
