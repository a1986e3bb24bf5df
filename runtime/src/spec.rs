//! Static description of a job service, emitted by `jetwire-codegen` as a `static` in the
//! generated crate (`SERVICE`). The runtime knows nothing about any particular spec beyond
//! this: it provisions the stream, consumers, KV bucket and dead-letter stream from it, and
//! routes subjects to operations with it.

use std::time::Duration;

/// Everything the runtime needs to know about one service (one AsyncAPI document).
#[derive(Debug)]
pub struct ServiceSpec {
    /// `info.title` of the document.
    pub title: &'static str,
    /// `info.version` of the document.
    pub version: &'static str,
    /// SHA-256 of the document the code was generated from.
    pub spec_sha256: &'static str,
    pub stream: StreamSpec,
    pub responses: ResponsesSpec,
    pub dead_letter: DeadLetterSpec,
    pub consumers: &'static [ConsumerSpec],
    pub operations: &'static [OperationSpec],
    /// The registry of live workers (agents): every worker heartbeats into it.
    pub registry: RegistrySpec,
    /// Target routing (`_any` / `_all` / one agent), when the document names a target
    /// parameter.
    pub targets: Option<TargetsSpec>,
    /// Leases on keyed partitions, when an operation is partitioned.
    pub leases: Option<LeasesSpec>,
}

impl ServiceSpec {
    /// The operation with this id.
    pub fn operation(&self, id: &str) -> Option<&'static OperationSpec> {
        self.operations.iter().find(|op| op.id == id)
    }

    /// Whether `op` is routed by target (its subject has the target parameter).
    pub fn is_targeted(&self, op: &OperationSpec) -> bool {
        self.targets
            .as_ref()
            .is_some_and(|t| op.parameters.contains(&t.parameter))
    }
}

#[derive(Debug)]
pub struct StreamSpec {
    pub name: &'static str,
    pub subjects: &'static [&'static str],
    pub storage: StorageSpec,
    /// `-1` = unlimited.
    pub max_bytes: i64,
    pub max_msgs: i64,
    pub max_msg_size: i32,
    pub duplicate_window: Duration,
    pub replicas: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageSpec {
    File,
    Memory,
}

#[derive(Debug)]
pub struct ResponsesSpec {
    pub bucket: &'static str,
    pub ttl: Duration,
    pub history: i64,
    pub replicas: usize,
}

#[derive(Debug)]
pub struct DeadLetterSpec {
    pub stream: &'static str,
    pub replicas: usize,
}

/// Whether a job reads (query) or changes (modify) state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobClass {
    Query,
    Modify,
}

#[derive(Debug)]
pub struct ConsumerSpec {
    pub durable: &'static str,
    pub class: JobClass,
    pub filter_subject: &'static str,
    pub ack_wait: Duration,
    pub max_deliver: i64,
    pub backoff: &'static [Duration],
    pub max_ack_pending: i64,
    /// Jobs of this consumer one worker runs at once.
    pub concurrency: usize,
    /// Keyed partitions: `Some(n)` means the filter holds a `{partition}` token and there
    /// is one durable per partition, `<durable>-<i>` with the token replaced by `i`
    /// (`0..n`), each serving one job at a time, claimed by one worker through a lease.
    pub partitions: Option<u32>,
}

/// One job operation (an AsyncAPI operation the worker serves).
#[derive(Debug)]
pub struct OperationSpec {
    /// The operation id from the document.
    pub id: &'static str,
    /// Subject template with `{param}` tokens, e.g. `jobs.query.dns.{target}`.
    pub subject: &'static str,
    /// Names of the template's parameters, in order of appearance.
    pub parameters: &'static [&'static str],
    pub class: JobClass,
    /// JSON pointer (e.g. `/request_id`) of the payload field carrying the request id,
    /// when the spec names one; the id always also travels as `Nats-Msg-Id`.
    pub request_id_pointer: Option<&'static str>,
    /// Default wait of a waiting call.
    pub timeout: Duration,
    /// Whether a failed run may be retried.
    pub retryable: bool,
    /// Whether the operation declares a reply (else a success carries no result).
    pub has_reply: bool,
    /// Keyed partitioning, when the operation declares a routing key.
    pub partitioning: Option<PartitionSpec>,
}

/// The KV bucket where workers announce themselves (heartbeats with a time to live).
#[derive(Debug)]
pub struct RegistrySpec {
    pub bucket: &'static str,
    /// How often a worker refreshes its entry.
    pub heartbeat: Duration,
    /// After how long without a heartbeat a worker counts as gone.
    pub ttl: Duration,
    pub replicas: usize,
}

/// Target routing: the channel parameter that picks which workers run a job.
///
/// Its value is `_any` (exactly one worker, through one shared durable consumer per
/// class), `_all` (every live worker: the client publishes one job per worker in the
/// registry) or a worker id (only that worker, through its own durable consumer).
/// A consumer whose filter holds the `{parameter}` token is a targeted consumer.
#[derive(Debug)]
pub struct TargetsSpec {
    pub parameter: &'static str,
}

/// The KV bucket of partition leases.
#[derive(Debug)]
pub struct LeasesSpec {
    pub bucket: &'static str,
    /// A lease not renewed for this long may be taken over by another worker.
    pub ttl: Duration,
    pub replicas: usize,
}

/// How a keyed operation picks its partition.
#[derive(Debug)]
pub struct PartitionSpec {
    /// Where the routing key is read.
    pub key: RoutingKey,
    /// Number of partitions.
    pub count: u32,
    /// The subject parameter the partition number fills (not a caller's argument).
    pub parameter: &'static str,
}

/// Where a routing key is read.
#[derive(Debug)]
pub enum RoutingKey {
    /// A JSON pointer into the payload.
    Payload(&'static str),
    /// A subject parameter, by name.
    Parameter(&'static str),
}
