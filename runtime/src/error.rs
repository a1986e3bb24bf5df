//! Errors a caller of the job client sees. Each says what happened and what the caller
//! can still do (a timed-out job keeps its handle; a dead-lettered job can be replayed).

use std::time::Duration;

use crate::record::{JobFailure, ResponseRecord};
use crate::validate::Violation;

/// Failure to submit a job or to get its result. `E` is the operation's typed error.
#[derive(Debug, thiserror::Error)]
pub enum JobError<E = JobFailure> {
    /// The request broke the schema; nothing was published.
    #[error("invalid request: {}", format_violations(.0))]
    InvalidRequest(Vec<Violation>),
    /// No NATS server could be reached (or the connection dropped and did not come back in time).
    #[error("NATS server unavailable: {0}")]
    ServerUnavailable(String),
    /// The jobs stream is full and discards new messages; nothing was accepted.
    #[error("jobs stream '{stream}' is full: {message}")]
    StreamFull { stream: String, message: String },
    /// The job was accepted but no terminal response arrived in time. The job goes on;
    /// wait again or `get` it later with the request id.
    #[error("job {request_id} did not finish within {waited:?}; it is still pending")]
    TimedOut {
        request_id: String,
        waited: Duration,
    },
    /// The worker reported a typed error from the spec.
    #[error("job {request_id} failed: {error}")]
    Failed { request_id: String, error: E },
    /// The job failed outside the spec's typed errors (invalid payload seen by the
    /// worker, internal error, unknown operation).
    #[error("job {request_id} failed ({}): {}", .failure.code, .failure.message)]
    Rejected {
        request_id: String,
        failure: JobFailure,
    },
    /// All delivery attempts were used up; the message is in the dead-letter stream.
    #[error("job {request_id} was dead-lettered after {attempts} delivery attempts")]
    DeadLettered { request_id: String, attempts: u64 },
    /// The stored record or reply does not decode into the expected type.
    #[error("job {request_id}: cannot decode response: {message}")]
    Decode { request_id: String, message: String },
    /// The job names one worker (agent) as its target, and no worker with that id is
    /// live in the registry; nothing was published.
    #[error(
        "no live worker '{worker_id}' in the registry (bucket '{bucket}'); nothing was published"
    )]
    NoSuchAgent { worker_id: String, bucket: String },
    /// The target `_all` was given to a single-job call; every worker runs such a job,
    /// so it must be sent with a broadcast. Nothing was published.
    #[error(
        "'{operation}' with target '_all' runs on every worker: send it with a broadcast \
         (jetwire::typed::broadcast or Client::broadcast); nothing was published"
    )]
    BroadcastOnly { operation: String },
    /// A broadcast found no live worker in the registry; nothing was published.
    #[error("no live worker in the registry (bucket '{bucket}') to broadcast '{operation}' to; nothing was published")]
    NoLiveWorkers { operation: String, bucket: String },
    /// Anything else NATS reported.
    #[error("NATS error: {0}")]
    Nats(String),
}

fn format_violations(v: &[Violation]) -> String {
    v.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl<E> JobError<E> {
    /// The same error for another typed error type: `Failed` becomes what `f` makes of
    /// its request id and error (a `Failed` of the new type, or another variant when the
    /// error has no counterpart), every other variant is carried over as it is.
    pub fn map_failed<F>(self, f: impl FnOnce(String, E) -> JobError<F>) -> JobError<F> {
        match self {
            JobError::Failed { request_id, error } => f(request_id, error),
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
            JobError::NoSuchAgent { worker_id, bucket } => {
                JobError::NoSuchAgent { worker_id, bucket }
            }
            JobError::BroadcastOnly { operation } => JobError::BroadcastOnly { operation },
            JobError::NoLiveWorkers { operation, bucket } => {
                JobError::NoLiveWorkers { operation, bucket }
            }
            JobError::Nats(m) => JobError::Nats(m),
        }
    }

    /// The request id, when the job got as far as being published.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            JobError::TimedOut { request_id, .. }
            | JobError::Failed { request_id, .. }
            | JobError::Rejected { request_id, .. }
            | JobError::DeadLettered { request_id, .. }
            | JobError::Decode { request_id, .. } => Some(request_id),
            _ => None,
        }
    }
}

/// Turns a terminal record into the untyped result: `Ok(result)` on success.
pub fn record_outcome(record: &ResponseRecord) -> Option<Result<serde_json::Value, JobError>> {
    use crate::record::{FailureKind, JobStatus};
    match record.status {
        JobStatus::Succeeded => Some(Ok(record.result.clone().unwrap_or(serde_json::Value::Null))),
        JobStatus::DeadLettered => Some(Err(JobError::DeadLettered {
            request_id: record.request_id.clone(),
            attempts: record.attempt,
        })),
        JobStatus::Failed => {
            let failure = record
                .error
                .clone()
                .unwrap_or_else(|| JobFailure::internal("failed without an error"));
            Some(Err(match failure.kind {
                FailureKind::Handler => JobError::Failed {
                    request_id: record.request_id.clone(),
                    error: failure,
                },
                _ => JobError::Rejected {
                    request_id: record.request_id.clone(),
                    failure,
                },
            }))
        }
        JobStatus::Accepted | JobStatus::Running => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_failed_converts_failed_and_carries_the_other_variants_over() {
        let failed: JobError<u32> = JobError::Failed {
            request_id: "r".into(),
            error: 7,
        };
        match failed.map_failed(|request_id, e| JobError::Failed {
            request_id,
            error: e.to_string(),
        }) {
            JobError::Failed { request_id, error } => {
                assert_eq!((request_id.as_str(), error.as_str()), ("r", "7"))
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        let timed_out: JobError<u32> = JobError::TimedOut {
            request_id: "t".into(),
            waited: Duration::from_secs(1),
        };
        let mapped: JobError<String> =
            timed_out.map_failed(|_, _| unreachable!("only Failed is mapped"));
        assert!(
            matches!(&mapped, JobError::TimedOut { request_id, waited } if request_id == "t" && *waited == Duration::from_secs(1)),
            "{mapped:?}"
        );
    }
}
