//! The response record: what the worker (and the dead-letter component) store in the
//! responses KV bucket under the request id. Its JSON shape is part of the wire protocol
//! and documented in the generated docs; change it only compatibly.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::validate::Violation;

/// Where a job is. `Accepted` → `Running` → one of the terminal states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Published and acknowledged by the stream; recorded when a caller stops waiting
    /// (or never waited), so that a later lookup can tell "pending" from "unknown"; also
    /// what a worker leaves when it hands the job back to the stream for a retry.
    Accepted,
    /// A worker has claimed it and runs it (written before the handler starts; the
    /// worker renews it while the job runs).
    Running,
    Succeeded,
    Failed,
    /// Every delivery attempt was used up; the original message is kept in the
    /// dead-letter stream and can be replayed.
    DeadLettered,
}

impl JobStatus {
    /// Whether the job is finished (the record will not change any more, barring a replay).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::DeadLettered
        )
    }
}

/// Why a job failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The handler returned one of the operation's typed errors (in `details`).
    Handler,
    /// The payload did not decode or validate (`violations` says where).
    InvalidRequest,
    /// No operation serves the subject.
    UnknownOperation,
    /// Delivery attempts were exhausted.
    DeadLettered,
    /// Anything else (a handler panic, an internal error).
    Internal,
}

/// The error part of a failed (or dead-lettered) record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobFailure {
    pub kind: FailureKind,
    /// Machine-readable code: the typed error's message name for handler errors.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Whether retrying the same request later could succeed.
    #[serde(default)]
    pub retryable: bool,
    /// The typed error payload (exactly the spec's error message payload), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// Validation errors, for `invalid_request`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

impl JobFailure {
    /// A final failure (not retryable) without details or violations.
    pub fn new(kind: FailureKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        JobFailure {
            kind,
            code: code.into(),
            message: message.into(),
            retryable: false,
            details: None,
            violations: Vec::new(),
        }
    }

    /// A final failure of the runtime itself (kind `internal`, code `internal`).
    pub fn internal(message: impl Into<String>) -> Self {
        JobFailure::new(FailureKind::Internal, "internal", message)
    }
}

/// The stored state of one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub request_id: String,
    /// Operation id from the spec.
    pub operation: String,
    /// The concrete subject the job was published on.
    pub subject: String,
    pub status: JobStatus,
    /// Delivery attempt that produced this record (1-based; 0 when no worker has run it).
    pub attempt: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// The reply payload (exactly the spec's reply message payload) on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JobFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
