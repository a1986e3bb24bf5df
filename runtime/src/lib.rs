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

// `JobError` is the agreed, inline error type of every job call; boxing it would change
// the contract for a size lint.
#![allow(clippy::result_large_err)]

pub mod client;
pub mod connect;
pub mod deadletter;
pub mod dispatch;
pub mod embedded;
pub mod error;
pub mod provision;
pub mod record;
pub mod records;
pub mod schema;
pub mod spec;
pub mod subject;
#[cfg(feature = "testing")]
pub mod testing;
pub mod typed;
pub mod validate;
mod watcher;
pub mod worker;

pub use client::{Client, JobHandle, Request};
pub use connect::{Auth, ConnectError, ConnectOptions, TlsOptions};
pub use deadletter::{DeadLetter, DeadLetters};
pub use dispatch::{Dispatch, HandlerError, Job, JobContext, Outcome, TypedError};
pub use embedded::{EmbeddedError, EmbeddedOptions, EmbeddedServer};
pub use error::JobError;
pub use provision::{provision, ProvisionError, ProvisionOptions, ProvisionReport};
pub use record::{FailureKind, JobFailure, JobStatus, ResponseRecord};
pub use spec::{JobClass, OperationSpec, ServiceSpec};
pub use validate::{Validate, Violation};
pub use worker::{Worker, WorkerBuilder};

/// Re-exports used by generated code, so a generated crate needs no direct dependency
/// on these crates' exact versions.
#[doc(hidden)]
pub mod __private {
    pub use bytes;
    pub use chrono;
    pub use regex;
    pub use serde;
    pub use serde_json;
    pub use uuid;
}

/// The NATS client crate the runtime is built on (generated clients take its `Client`).
pub use async_nats;
