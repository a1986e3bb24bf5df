//! The version-independent intermediate representation (IR) of an AsyncAPI document.
//!
//! Every stage after loading works on this model only: AsyncAPI 3.0/3.1 and 2.6 documents
//! are both lowered into it (see `crate::load`), `$ref`s are resolved, traits are applied,
//! and JSON Schemas are interned into a [`SchemaArena`] where references become
//! [`SchemaId`]s (so recursive schemas are plain cycles of ids).
//!
//! The IR is deliberately free of Rust concerns (no identifiers, no tokens): naming and
//! type mapping belong to `crate::typegen`, code emission to `crate::rustgen`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;

/// A place in the source documents: which file, which JSON pointer inside it, and the
/// line/column when the document format gives one (YAML and JSON both do).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The file, as given by the user or as reached through a relative `$ref`.
    pub file: PathBuf,
    /// JSON pointer (RFC 6901) inside `file`, e.g. `/components/schemas/Point/properties/x`.
    pub pointer: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, " (at #{pointer})")
    }
}

/// Something the loader noticed but that does not stop generation: an unsupported
/// feature, an operation skipped because its address is not a NATS subject, ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Location,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Informational: e.g. a binding for another protocol that is kept only in the docs.
    Note,
    /// Something was skipped or approximated; generation still succeeds.
    Warning,
}

/// The whole document, lowered.
#[derive(Clone, Debug)]
pub struct Spec {
    pub source: SourceInfo,
    pub info: Info,
    pub servers: Vec<Server>,
    /// Channels in document order.
    pub channels: Vec<Channel>,
    /// Operations in document order. Ids are unique (checked by the loader).
    pub operations: Vec<Operation>,
    /// Every distinct message reachable from channels, operations or components,
    /// in first-seen order. Referenced by index ([`MessageId`]).
    pub messages: Vec<Message>,
    pub schemas: SchemaArena,
    /// JetStream settings: the document's `x-jetwire` extension merged over the defaults.
    pub jetstream: JetStreamConfig,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Clone, Debug)]
pub struct SourceInfo {
    /// The root document as given.
    pub path: PathBuf,
    /// The AsyncAPI version the document declared (`3.1.0`, `2.6.0`, ...).
    pub asyncapi_version: String,
    /// Hex SHA-256 over the root document and every external file it references, in a
    /// stable order. Written into the `@generated` header.
    pub sha256: String,
}

#[derive(Clone, Debug, Default)]
pub struct Info {
    pub title: String,
    pub version: String,
    pub description: Option<String>,
    /// The document's `id`, when present.
    pub id: Option<String>,
    pub default_content_type: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub name: String,
    /// `host` (3.x) or `url` (2.6).
    pub host: String,
    pub protocol: String,
    pub description: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub usize);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub usize);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaId(pub usize);

#[derive(Clone, Debug)]
pub struct Channel {
    /// The key under `channels` (3.x) or the channel path (2.6).
    pub key: String,
    /// The address with `{param}` placeholders; `None` when the document leaves it
    /// dynamic (`address: null`).
    pub address: Option<String>,
    /// The address as a NATS subject template, when it is one (see [`SubjectTemplate`]).
    pub subject: Option<SubjectTemplate>,
    pub parameters: Vec<Parameter>,
    pub messages: Vec<MessageId>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub location: Location,
}

/// A channel address split into NATS subject tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectTemplate {
    pub tokens: Vec<SubjectToken>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectToken {
    Literal(String),
    /// A whole token that is one `{parameter}`.
    Parameter(String),
}

impl SubjectTemplate {
    /// The template written back with `{param}` placeholders, e.g. `jobs.query.dns.{target}`.
    pub fn template(&self) -> String {
        self.tokens
            .iter()
            .map(|t| match t {
                SubjectToken::Literal(s) => s.clone(),
                SubjectToken::Parameter(p) => format!("{{{p}}}"),
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The subject filter matching every concrete subject: parameters become `*`.
    pub fn wildcard(&self) -> String {
        self.tokens
            .iter()
            .map(|t| match t {
                SubjectToken::Literal(s) => s.as_str(),
                SubjectToken::Parameter(_) => "*",
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A channel parameter. In 3.x parameters are not schemas but a small object
/// (`enum`, `default`, `examples`, `description`, `location`); 2.6 parameters carry a
/// schema, from which the same fields are taken (plus `pattern`).
#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub description: Option<String>,
    pub enum_values: Vec<String>,
    pub default: Option<String>,
    pub examples: Vec<String>,
    /// Regex the value must match (2.6 `schema.pattern`, or `x-pattern`).
    pub pattern: Option<String>,
    /// Runtime expression (`$message.payload#/user/id`), when given.
    pub location_expr: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The described application sends (2.6: `subscribe`).
    Send,
    /// The described application receives (2.6: `publish`). For a job service these are
    /// the jobs: the worker serves them, the generated client submits them.
    Receive,
}

#[derive(Clone, Debug)]
pub struct Operation {
    /// Unique id: the key under `operations` (3.x) or `operationId` (2.6; synthesised from
    /// the channel and action when missing, with a diagnostic).
    pub id: String,
    pub action: Action,
    pub channel: ChannelId,
    /// Messages that may be sent on the operation (all of the channel's when unspecified).
    pub messages: Vec<MessageId>,
    pub reply: Option<Reply>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub deprecated: bool,
    /// Job policy: the operation's `x-jetwire` merged over the document defaults.
    pub policy: OperationPolicy,
    pub location: Location,
}

#[derive(Clone, Debug)]
pub struct Reply {
    /// The reply channel when the document names one (3.x `reply.channel`).
    pub channel: Option<ChannelId>,
    /// `reply.address.location` runtime expression, when given.
    pub address_location: Option<String>,
    /// Success messages (the reply's messages not marked `x-jetwire-error: true`).
    pub messages: Vec<MessageId>,
    /// Typed error messages (reply messages marked `x-jetwire-error: true`).
    pub errors: Vec<MessageId>,
}

#[derive(Clone, Debug)]
pub struct Message {
    /// The key the message was found under (component key, channel message key), or a
    /// synthesised `<operationId>Message` for inline 2.6 messages.
    pub key: String,
    /// `name` of the message object, when given.
    pub name: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub content_type: Option<String>,
    /// The payload schema; `None` when the message has no payload.
    pub payload: Option<SchemaId>,
    /// The headers schema (an object schema), when given.
    pub headers: Option<SchemaId>,
    pub correlation_id: Option<CorrelationId>,
    pub examples: Vec<MessageExample>,
    /// `x-jetwire-error: true`: this message is a typed error reply.
    pub is_error: bool,
    pub deprecated: bool,
    pub location: Location,
}

#[derive(Clone, Debug)]
pub struct CorrelationId {
    pub description: Option<String>,
    /// Runtime expression, e.g. `$message.payload#/request_id` or `$message.header#/id`.
    pub location: String,
}

impl CorrelationId {
    /// The JSON pointer into the payload when the id lives in the payload.
    pub fn payload_pointer(&self) -> Option<&str> {
        self.location.strip_prefix("$message.payload#")
    }
    /// The header name when the id lives in a header.
    pub fn header_name(&self) -> Option<&str> {
        self.location
            .strip_prefix("$message.header#/")
            .filter(|h| !h.contains('/'))
    }
}

#[derive(Clone, Debug)]
pub struct MessageExample {
    pub name: Option<String>,
    pub summary: Option<String>,
    pub payload: Option<Value>,
    pub headers: Option<Value>,
}

// ---------------------------------------------------------------------------------------
// JSON Schema
// ---------------------------------------------------------------------------------------

/// All schemas of the document, interned. Each distinct schema *location* is one node:
/// a `$ref` to an already-interned location yields the same [`SchemaId`], which is how
/// recursion and sharing are represented.
#[derive(Clone, Debug, Default)]
pub struct SchemaArena {
    pub nodes: Vec<SchemaNode>,
}

impl SchemaArena {
    pub fn get(&self, id: SchemaId) -> &SchemaNode {
        &self.nodes[id.0]
    }
    pub fn ids(&self) -> impl Iterator<Item = SchemaId> {
        (0..self.nodes.len()).map(SchemaId)
    }
}

#[derive(Clone, Debug)]
pub struct SchemaNode {
    /// Where the schema is written (after following `$ref`s).
    pub location: Location,
    /// The best name the document offers, most specific first: a component key
    /// (`components/schemas/<key>`), else the `title`. Context-derived names (from the
    /// message or property that holds an anonymous schema) are chosen by `typegen`.
    pub name: Option<String>,
    pub schema: Schema,
}

/// One JSON Schema (draft 7 as AsyncAPI's Schema Object extends it), with sub-schemas
/// as ids. Keywords we do not model are listed in `unsupported` so that `typegen` can
/// report them instead of silently dropping them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    /// `true` / `false` boolean schemas.
    pub boolean: Option<bool>,

    pub title: Option<String>,
    pub description: Option<String>,
    /// `type`, normalised to a list (empty = any type).
    pub types: Vec<InstanceType>,
    /// OpenAPI-style `nullable: true` / `x-nullable: true`.
    pub nullable: bool,
    pub format: Option<String>,
    pub enum_values: Option<Vec<Value>>,
    pub const_value: Option<Value>,
    pub default: Option<Value>,
    pub examples: Vec<Value>,
    pub deprecated: bool,
    pub read_only: bool,
    pub write_only: bool,

    // objects
    pub properties: IndexMap<String, SchemaId>,
    pub required: Vec<String>,
    pub additional_properties: Option<AdditionalProperties>,
    pub pattern_properties: IndexMap<String, SchemaId>,
    pub property_names: Option<SchemaId>,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    /// AsyncAPI `discriminator` (the name of the property that tells variants apart).
    pub discriminator: Option<String>,

    // arrays
    pub items: Option<SchemaId>,
    /// Tuple form (`items: [..]` in draft 7, `prefixItems` later).
    pub prefix_items: Vec<SchemaId>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    pub contains: Option<SchemaId>,

    // strings
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub content_encoding: Option<String>,
    pub content_media_type: Option<String>,

    // numbers
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// Draft 7 numeric form (the draft 4 boolean form is converted by the loader).
    pub exclusive_minimum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
    pub multiple_of: Option<f64>,

    // composition
    pub all_of: Vec<SchemaId>,
    pub any_of: Vec<SchemaId>,
    pub one_of: Vec<SchemaId>,
    pub not: Option<SchemaId>,
    pub if_then_else: Option<(SchemaId, Option<SchemaId>, Option<SchemaId>)>,

    /// `x-*` keywords, verbatim.
    pub extensions: BTreeMap<String, Value>,
    /// Keywords present in the document that this model does not represent.
    pub unsupported: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceType {
    Null,
    Boolean,
    Object,
    Array,
    Number,
    String,
    Integer,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AdditionalProperties {
    /// `additionalProperties: true|false`.
    Allowed(bool),
    Schema(SchemaId),
}

// ---------------------------------------------------------------------------------------
// JetStream policy (the `x-jetwire` extension)
// ---------------------------------------------------------------------------------------

/// Whether a job reads or changes state. Queries and modifications are pulled through
/// separate consumers with separate concurrency limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobClass {
    Query,
    Modify,
}

impl JobClass {
    pub fn as_str(self) -> &'static str {
        match self {
            JobClass::Query => "query",
            JobClass::Modify => "modify",
        }
    }
}

/// Document-level JetStream settings, from root `x-jetwire`, defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct JetStreamConfig {
    pub stream: StreamConfig,
    pub responses: ResponsesConfig,
    pub dead_letter: DeadLetterConfig,
    /// The durable pull consumers the worker uses, computed from the operations' subjects
    /// and classes unless the document lists them.
    pub consumers: Vec<ConsumerConfig>,
    /// Defaults for every operation's policy.
    pub defaults: OperationPolicyDefaults,
    /// The KV bucket every worker heartbeats into (`x-jetwire.registry`).
    pub registry: RegistryConfig,
    /// Target routing (`x-jetwire.targets`), when the document names a target parameter.
    pub targets: Option<TargetsConfig>,
    /// Partition leases (`x-jetwire.leases`, defaults filled in): present when some
    /// operation is partitioned.
    pub leases: Option<LeasesConfig>,
}

/// The registry of live workers: a KV bucket, one entry per worker, refreshed every
/// `heartbeat`; an entry not refreshed within `ttl` is gone.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistryConfig {
    /// Default `<STREAM>_WORKERS`.
    pub bucket: String,
    /// Default 2 s.
    pub heartbeat: Duration,
    /// Default 10 s; always longer than `heartbeat`.
    pub ttl: Duration,
    /// Default: the stream's replicas.
    pub replicas: usize,
}

/// Target routing: the channel parameter whose value picks the workers (`_any`, `_all`
/// or one worker id).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetsConfig {
    pub parameter: String,
}

/// The KV bucket of keyed-partition leases.
#[derive(Clone, Debug, PartialEq)]
pub struct LeasesConfig {
    /// Default `<STREAM>_LEASES`.
    pub bucket: String,
    /// Default 10 s.
    pub ttl: Duration,
    /// Default: the stream's replicas.
    pub replicas: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StreamConfig {
    /// Default `JOBS`.
    pub name: String,
    /// Subjects the stream captures; default: every served operation's subject wildcard.
    pub subjects: Vec<String>,
    /// Work-queue retention, always (the protocol relies on it).
    pub storage: StorageKind,
    /// `-1` = unlimited.
    pub max_bytes: i64,
    pub max_msgs: i64,
    pub max_msg_size: i32,
    /// Default 2 minutes.
    pub duplicate_window: Duration,
    /// Default 1.
    pub replicas: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    File,
    Memory,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResponsesConfig {
    /// Default `JOBS_RESPONSES`.
    pub bucket: String,
    /// How long a response is kept; default 24 h.
    pub ttl: Duration,
    /// Default 1.
    pub history: i64,
    pub replicas: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetterConfig {
    /// Default `JOBS_DLQ`.
    pub stream: String,
    pub replicas: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerConfig {
    /// Durable name, e.g. `jobs-query`.
    pub durable: String,
    pub class: JobClass,
    /// One subject filter (NATS 2.9 allows only one per consumer).
    pub filter_subject: String,
    pub ack_wait: Duration,
    pub max_deliver: i64,
    pub backoff: Vec<Duration>,
    pub max_ack_pending: i64,
    /// How many jobs of this consumer one worker runs at once.
    pub concurrency: usize,
    /// Keyed partitions: `Some(n)` when the filter holds the `{partition}` token; one
    /// durable per partition (`<durable>-<i>`), each serving one job at a time.
    pub partitions: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OperationPolicyDefaults {
    /// How long a waiting client waits by default; default 30 s.
    pub timeout: Duration,
    /// Default 10.
    pub max_deliver: i64,
    /// Default 5 s, 10 s, 15 s.
    pub backoff: Vec<Duration>,
    /// Default 30 s.
    pub ack_wait: Duration,
    /// Default 1000.
    pub max_ack_pending: i64,
    /// Default: queries 16, modifications 4.
    pub query_concurrency: usize,
    pub modify_concurrency: usize,
}

impl Default for OperationPolicyDefaults {
    fn default() -> Self {
        OperationPolicyDefaults {
            timeout: Duration::from_secs(30),
            max_deliver: 10,
            backoff: vec![
                Duration::from_secs(5),
                Duration::from_secs(10),
                Duration::from_secs(15),
            ],
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 1000,
            query_concurrency: 16,
            modify_concurrency: 4,
        }
    }
}

/// One operation's job policy.
#[derive(Clone, Debug, PartialEq)]
pub struct OperationPolicy {
    /// From `x-jetwire.class`, else from the subject (`jobs.query.` / `jobs.modify.`),
    /// else `Query` for receive operations.
    pub class: JobClass,
    pub timeout: Duration,
    /// Whether a failed run may be retried (NAK with backoff). Queries: true by default;
    /// modifications: false unless the document says so.
    pub retryable: bool,
    /// Where the request id travels besides `Nats-Msg-Id`: a JSON pointer into the payload
    /// (from the message's `correlationId` or `x-jetwire.request-id`), or nowhere.
    pub request_id_pointer: Option<String>,
    /// Routing key (`x-jetwire.routing-key`): a runtime expression naming a payload field
    /// or a channel parameter. Used by keyed partitions.
    pub routing_key: Option<String>,
    /// Number of keyed partitions (`x-jetwire.partitions`), when keyed.
    pub partitions: Option<u32>,
    /// The routing key and partition count resolved, when the operation is partitioned.
    pub partitioning: Option<Partitioning>,
}

/// How a partitioned operation picks its partition: FNV-1a 32-bit of the key mod `count`.
#[derive(Clone, Debug, PartialEq)]
pub struct Partitioning {
    pub key: RoutingKey,
    pub count: u32,
    /// The subject parameter the partition number fills: always [`PARTITION_PARAMETER`].
    pub parameter: String,
}

/// The channel parameter a partitioned operation's address must have.
pub const PARTITION_PARAMETER: &str = "partition";

/// Where a routing key is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoutingKey {
    /// A JSON pointer into the payload (`/system_id`).
    Payload(String),
    /// A channel parameter, by name.
    Parameter(String),
}

/// The partition of `key` among `count` partitions: FNV-1a 32-bit of the key's UTF-8
/// bytes, modulo `count` (the runtime computes the same; the docs show a worked example).
pub fn partition_of(key: &str, count: u32) -> u32 {
    fnv1a_32(key.as_bytes()) % count.max(1)
}

/// FNV-1a, 32-bit: offset basis 2166136261, prime 16777619.
pub fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}
