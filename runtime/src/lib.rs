//! # jetwire — the job protocol on NATS JetStream
//!
//! Spec-agnostic runtime used by crates generated with `jetwire-codegen`:
//!
//! 1. the [`client`] gives each request a unique request id (payload field and
//!    `Nats-Msg-Id`) and publishes it to a work-queue stream;
//! 2. the [`worker`] pulls from durable consumers, runs the job through a
//!    [`dispatch::Dispatch`] and stores a [`record::ResponseRecord`] in a KV bucket;
//! 3. the client reads the record when it is ready, or later by id;
//! 4. the [`deadletter`] component records jobs that exhausted their deliveries;
//! 5. every worker keeps an entry in the [`registry`] of live workers, which routes jobs
//!    addressed to one worker or to all of them ([`targets`]).
//!
//! ## The path of a request
//!
//! ```text
//!  caller ── Client::submit ──▶ jobs stream (WorkQueue, discard new, dedup window)
//!    │        request id = UUID v7 (or the caller's), set at the operation's
//!    │        payload pointer and as the Nats-Msg-Id / Jetwire-Request-Id headers;
//!    │        the PubAck means "accepted" (duplicate: true = same request again)
//!    │        target (targeted operations): `_any` as is; a worker id only when it
//!    │        is live in the registry; `_all` only through Client::broadcast
//!    │
//!    │                    durable pull consumer per class (query / modify);
//!    │                    targeted: shared `<durable>` (`_any`) + `<durable>-agent-<id>`
//!    │                               │ explicit ack, ack_wait, max_deliver, backoff
//!    │                               ▼
//!    │                    Worker: subject → operation → Dispatch → Outcome
//!    │                      · terminal record already there → ack, do not run
//!    │                      · claim: `running` record (create / CAS), renewed; in-progress acks
//!    │                        (a concurrent delivery finding a live claim does not run);
//!    │                        a query's first delivery claims only when still running
//!    │                        after 100 ms (queries only read: one record write)
//!    │                      · succeeded → record, ack
//!    │                      · retryable failure → NAK with delay (backoff)
//!    │                      · final failure → record, TERM
//!    │                               │
//!    │                               ▼
//!    └── Client::wait ◀── responses KV bucket, key = request id
//!          (one KV watcher per client)     ▲
//!                                          │ `dead_lettered` record
//!   MAX_DELIVERIES advisory ─▶ dead-letter stream ─▶ DeadLetters
//!                              (advisories + kept job messages; list / replay)
//! ```
//!
//! The KV record is the single source of truth for a request's state; every writer
//! creates it only if absent or replaces it with a CAS update on the revision it read,
//! and never overwrites a terminal state (a replay resets it explicitly).
//!
//! ## Targets, the registry and broadcasts
//!
//! When the service names a target parameter ([`spec::TargetsSpec`]), a subject like
//! `jobs.query.dns.{target}` takes `_any` (one worker, through the shared durable),
//! a worker id (that worker only, through its own durable `<durable>-agent-<id>`, which
//! the worker creates at start) or `_all`:
//!
//! ```text
//!  Client::broadcast ─ registry: live workers w1..wn
//!    ├─ manifest record under <request_id>: status accepted, result {"workers": [w1..wn]}
//!    ├─ one copy per worker: subject with target wi, request id <request_id>.wi
//!    └─ waits for the n records <request_id>.wi; returns when all answered, or at the
//!       timeout with the missing workers (Client::broadcast_get reads them later)
//! ```
//!
//! The registry ([`registry::Registry`]) is a KV bucket whose stream drops entries not
//! refreshed within the ttl; key = worker id, value
//! `{"worker_id", "hostname", "pid", "version", "state": "active" | "draining",
//! "started_at", "heartbeat_at", "partitions": [..]}`. A drained worker stops its `_any`
//! loops (running jobs finish) and keeps serving its own jobs and broadcasts.
//!
//! ## The response record
//!
//! Stored as JSON under the request id in the responses bucket
//! ([`record::ResponseRecord`]); fields that have no value are left out:
//!
//! ```json
//! {
//!   "request_id": "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b",
//!   "operation": "getDns",
//!   "subject": "jobs.query.dns.web-1",
//!   "status": "succeeded",
//!   "attempt": 1,
//!   "worker_id": "web-1-4242",
//!   "result": { "servers": ["192.0.2.53"] },
//!   "accepted_at": "2026-11-23T09:00:00Z",
//!   "started_at": "2026-11-23T09:00:00.010Z",
//!   "finished_at": "2026-11-23T09:00:00.020Z"
//! }
//! ```
//!
//! - `status`: `accepted` | `running` | `succeeded` | `failed` | `dead_lettered`; the last
//!   three are terminal.
//! - `attempt`: the delivery that wrote the record (1-based; 0 = no worker yet; for
//!   `dead_lettered`: the attempts used).
//! - `result`: the reply payload (exactly the spec's reply message), on success.
//! - `error` (on `failed` / `dead_lettered`):
//!   `{"kind": "handler" | "invalid_request" | "unknown_operation" | "dead_lettered" |
//!   "internal", "code": "...", "message": "...", "retryable": false,
//!   "details": {...}, "violations": [{"path": "/name", "message": "..."}]}` —
//!   `details` is the typed error's payload (handler errors), `violations` lists every
//!   schema violation (invalid requests).
//!
//! ## Deployment pieces
//!
//! [`connect`] builds the NATS connection, [`provision()`](provision::provision) creates
//! the stream, consumers, bucket and dead-letter stream, [`embedded`] runs a local
//! `nats-server`, and the `testing` feature adds the per-test server harness.

// `JobError` is the agreed, inline error type of every job call; boxing it would change
// the contract for a size lint.
#![allow(clippy::result_large_err)]

pub mod client;
pub mod connect;
pub mod deadletter;
pub mod dispatch;
pub mod embedded;
pub mod error;
pub mod leases;
pub mod partition;
pub mod provision;
pub mod record;
pub mod records;
pub mod registry;
pub mod schema;
pub mod spec;
pub mod subject;
pub mod targets;
#[cfg(feature = "testing")]
pub mod testing;
pub mod typed;
pub mod validate;
mod watcher;
pub mod worker;

pub use client::{Client, JobHandle, Request};
pub use connect::{Auth, ConnectError, ConnectOptions, TlsOptions};
pub use deadletter::{CancellationToken, DeadLetter, DeadLetters};
pub use dispatch::{Dispatch, HandlerError, Job, JobContext, Outcome, TypedError};
pub use embedded::{EmbeddedError, EmbeddedOptions, EmbeddedServer};
pub use error::JobError;
pub use provision::{provision, ProvisionError, ProvisionOptions, ProvisionReport};
pub use record::{FailureKind, JobFailure, JobStatus, ResponseRecord};
pub use registry::{AgentEntry, AgentState, Registry, RegistryError};
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
