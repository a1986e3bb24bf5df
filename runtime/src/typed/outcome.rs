//! The worker side: payloads decoded and validated, handler results mapped to the
//! outcome the runtime records.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::dispatch::{HandlerError, Job, Outcome, TypedError};
use crate::record::{FailureKind, JobFailure};
use crate::spec::OperationSpec;
use crate::validate::{Validate, Violation};

/// Reads a job's subject parameters with the generated `<Op>Params::from_subject_values`;
/// a failure is the final `invalid_request` outcome with every violation.
#[allow(clippy::result_large_err)]
pub fn decode_params<P>(
    job: &Job,
    from_subject_values: impl FnOnce(&[(&str, String)]) -> Result<P, Vec<Violation>>,
) -> Result<P, Outcome> {
    from_subject_values(&job.parameters).map_err(|violations| {
        Outcome::invalid_request("the subject parameters do not match the spec", violations)
    })
}

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
pub(crate) fn json_pointer(path: &serde_path_to_error::Path) -> String {
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

pub(crate) fn final_failure(kind: FailureKind, code: &str, message: String) -> Outcome {
    Outcome::Failed {
        failure: JobFailure::new(kind, code, message),
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
