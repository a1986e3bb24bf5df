//! Jobs with JSON in and out, for callers that treat every operation alike (a gateway):
//! request ids filled into JSON payloads, JSON decoded with validation, typed errors
//! turned back into their stored failure.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::handle::CallOptions;
use super::outcome::json_pointer;
use crate::dispatch::TypedError;
use crate::error::JobError;
use crate::record::{FailureKind, JobFailure};
use crate::spec::OperationSpec;
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
