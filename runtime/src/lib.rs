//! # jetwire — the job protocol on NATS JetStream
//!
//! Spec-agnostic runtime used by crates generated with `jetwire-codegen`:
//!
//! 1. the [`client`] gives each request a unique request id (payload field and
//!    `Nats-Msg-Id`) and publishes it to a work-queue stream;
//! 2. the [`worker`] pulls from durable consumers, runs the job through a
//!    [`dispatch::Dispatch`] and stores a [`record::ResponseRecord`] in a KV bucket;
//! 3. the client reads the record when it is ready, or later by id;
//! 4. the [`deadletter`] component records jobs that exhausted their deliveries.

pub mod connect;
pub mod dispatch;
pub mod embedded;
pub mod error;
pub mod record;
pub mod spec;
#[cfg(feature = "testing")]
pub mod testing;
pub mod validate;

pub use connect::{Auth, ConnectError, ConnectOptions, TlsOptions};
pub use dispatch::{Dispatch, HandlerError, Job, JobContext, Outcome, TypedError};
pub use embedded::{EmbeddedError, EmbeddedOptions, EmbeddedServer};
pub use error::JobError;
pub use record::{FailureKind, JobFailure, JobStatus, ResponseRecord};
pub use spec::{JobClass, OperationSpec, ServiceSpec};
pub use validate::{Validate, Violation};

/// Re-exports used by generated code, so a generated crate needs no direct dependency
/// on these crates' exact versions.
#[doc(hidden)]
pub mod __private {
    pub use bytes;
    pub use chrono;
    pub use serde;
    pub use serde_json;
    pub use uuid;
}
