//! The seam between the worker loop (this crate) and the generated consumer code: the
//! worker hands every received job to a [`Dispatch`], which the generated crate
//! implements by matching the subject to an operation, decoding and validating the payload,
//! and calling the user's handler.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

use crate::record::{FailureKind, JobFailure};
use crate::spec::OperationSpec;
use crate::validate::Violation;

/// One delivery of one job, as the dispatcher sees it.
#[derive(Debug)]
pub struct Job {
    pub request_id: String,
    /// The concrete subject, e.g. `jobs.query.dns._any`.
    pub subject: String,
    /// The operation the subject matched.
    pub operation: &'static OperationSpec,
    /// Values of the subject template's parameters, in template order.
    pub parameters: Vec<(&'static str, String)>,
    /// Message headers (name, value), `Nats-Msg-Id` included.
    pub headers: Vec<(String, String)>,
    /// The payload bytes exactly as published.
    pub payload: Bytes,
    pub context: JobContext,
}

/// What a running job may ask of the runtime.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub request_id: String,
    /// 1-based delivery attempt.
    pub attempt: u64,
    pub worker_id: String,
    pub(crate) progress: Option<tokio::sync::mpsc::UnboundedSender<()>>,
}

impl JobContext {
    /// A context not attached to a delivery (for calling handlers directly in tests).
    pub fn detached(request_id: impl Into<String>) -> Self {
        JobContext {
            request_id: request_id.into(),
            attempt: 1,
            worker_id: "detached".into(),
            progress: None,
        }
    }

    /// Tell the server the job is still being worked on (an in-progress ack), so a long
    /// job is not redelivered after `ack_wait`. Long jobs are also kept alive
    /// automatically; call this to be explicit.
    pub fn progress(&self) {
        if let Some(tx) = &self.progress {
            let _ = tx.send(());
        }
    }
}

/// What became of one delivery.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The reply payload (`Value::Null` for operations without a reply).
    Succeeded(serde_json::Value),
    /// A failure. `retry_after` is `Some` when the job should be retried (NAK with delay;
    /// the runtime uses the consumer's backoff step for the attempt when the delay is
    /// `Duration::ZERO`; retried only when the operation is retryable), `None` when it is
    /// final (failed record, TERM). A job whose attempts run out is dead-lettered.
    Failed {
        failure: JobFailure,
        retry_after: Option<Duration>,
    },
}

impl Outcome {
    /// The payload did not decode or validate: final, never retried.
    pub fn invalid_request(message: impl Into<String>, violations: Vec<Violation>) -> Self {
        Outcome::Failed {
            failure: JobFailure {
                kind: FailureKind::InvalidRequest,
                code: "invalid_request".into(),
                message: message.into(),
                retryable: false,
                details: None,
                violations,
            },
            retry_after: None,
        }
    }
}

/// A boxed, sendable future (what [`Dispatch::dispatch`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Routes a job to its handler. Implemented by the generated `worker` module.
pub trait Dispatch: Send + Sync + 'static {
    fn dispatch(&self, job: Job) -> BoxFuture<'_, Outcome>;
}

/// How a typed handler reports failure. `E` is the operation's typed error (a generated
/// enum of the spec's error messages), or `std::convert::Infallible` when it has none.
#[derive(Debug)]
pub enum HandlerError<E> {
    /// A typed, final error from the spec: recorded with its payload, never retried.
    Failed(E),
    /// A transient failure: retried with backoff (only if the operation is retryable;
    /// else recorded as a final internal failure).
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// A final failure outside the spec's typed errors.
    Internal(String),
}

impl<E> HandlerError<E> {
    pub fn retry(message: impl Into<String>) -> Self {
        HandlerError::Retry {
            message: message.into(),
            after: None,
        }
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        HandlerError::Internal(message.to_string())
    }
}

impl<E> From<E> for HandlerError<E> {
    fn from(e: E) -> Self {
        HandlerError::Failed(e)
    }
}

/// Implemented by the generated error enums: the code and payload stored in the record.
pub trait TypedError {
    /// The error message's name in the spec.
    fn code(&self) -> &'static str;
    /// A human-readable summary.
    fn message(&self) -> String;
    /// The payload (exactly the spec's error message payload).
    fn details(&self) -> serde_json::Value;
    /// Rebuild from a stored record (`None` when the code is not one of ours).
    fn from_failure(code: &str, details: &serde_json::Value) -> Option<Self>
    where
        Self: Sized;
}

impl TypedError for std::convert::Infallible {
    fn code(&self) -> &'static str {
        match *self {}
    }
    fn message(&self) -> String {
        match *self {}
    }
    fn details(&self) -> serde_json::Value {
        match *self {}
    }
    fn from_failure(_: &str, _: &serde_json::Value) -> Option<Self> {
        None
    }
}
