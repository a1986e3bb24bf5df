//! The documentation's content: the IR reduced to what the documentation shows, with
//! every value already formatted (durations, JSON examples, field tables).
//!
//! [`DocContext`] is serialized for the templates (README with the protocol, the HTML
//! frame), which read the document's settings and a summary of each operation and
//! type; the rest is skipped there and written by [`crate::docs::pages`].

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;

use crate::docs::fields::{self, TypeIndex};
use crate::ir::{
    partition_of, Action, ConsumerConfig, MessageId, Operation, RoutingKey, SchemaId, Spec,
    StorageKind, SubjectToken,
};

#[derive(Serialize)]
pub struct DocContext {
    pub title: String,
    pub version: String,
    pub description: Option<String>,
    pub asyncapi_version: String,
    pub spec_file: String,
    pub sha256: String,
    pub servers: Vec<ServerDoc>,
    pub stream: StreamDoc,
    pub responses: ResponsesDoc,
    pub dead_letter_stream: String,
    pub consumers: Vec<ConsumerDoc>,
    pub registry: RegistryDoc,
    /// The target parameter, when jobs are routed by target.
    pub targets: Option<String>,
    /// The lease bucket, when some operation is partitioned.
    pub leases: Option<LeasesDoc>,
    /// A worked example of the partition hash, when some operation is partitioned.
    pub partition_example: Option<PartitionExample>,
    pub jobs: Vec<OperationDoc>,
    pub events: Vec<OperationDoc>,
    /// Operations without a NATS subject: documented, but no client/worker code.
    pub skipped: Vec<OperationDoc>,
    /// The named schemas of the operations' messages, sorted by Rust name: each
    /// documented once, field tables link to them.
    pub types: Vec<TypeDoc>,
}

/// One named schema (a Rust type of the generated crate).
#[derive(Serialize)]
pub struct TypeDoc {
    /// The Rust type name (in the crate's `types` module).
    pub name: String,
    /// The name in the document (component key or title), when it differs.
    #[serde(skip)]
    pub schema_name: Option<String>,
    /// The section's anchor (see [`fields::TypeRef::anchor`]).
    pub anchor: String,
    /// Where the schema is written: `asyncapi.yaml#/components/schemas/Disk`.
    #[serde(skip)]
    pub location: String,
    /// What it is, as Markdown: `object`, `string (uuid)`, `[A](..) | [B](..)`.
    #[serde(skip)]
    pub kind: String,
    /// The title when it is not the name.
    #[serde(skip)]
    pub title: Option<String>,
    #[serde(skip)]
    pub description: Option<String>,
    /// For the index: the title, else the description's first line.
    #[serde(skip)]
    pub summary: Option<String>,
    #[serde(skip)]
    pub deprecated: bool,
    /// The field table, Markdown (see [`fields::table`]); shared with the messages
    /// whose payload the type is.
    #[serde(skip)]
    pub fields_table: Rc<str>,
    /// The schema's examples, pretty JSON.
    #[serde(skip)]
    pub examples: Vec<String>,
}

/// A link to a named type's section.
pub struct TypeLinkDoc {
    pub name: String,
    pub anchor: String,
}

impl DocContext {
    pub fn all_operations(&self) -> impl Iterator<Item = &OperationDoc> {
        self.jobs.iter().chain(&self.events).chain(&self.skipped)
    }
}

#[derive(Serialize)]
pub struct ServerDoc {
    pub name: String,
    pub host: String,
    pub protocol: String,
    pub description: Option<String>,
}

#[derive(Serialize)]
pub struct StreamDoc {
    pub name: String,
    pub subjects: Vec<String>,
    pub storage: &'static str,
    pub max_bytes: i64,
    pub max_msgs: i64,
    pub max_msg_size: i32,
    pub duplicate_window: String,
    pub replicas: usize,
}

#[derive(Serialize)]
pub struct ResponsesDoc {
    pub bucket: String,
    pub ttl: String,
    pub history: i64,
    pub replicas: usize,
}

#[derive(Serialize)]
pub struct RegistryDoc {
    pub bucket: String,
    pub heartbeat: String,
    pub ttl: String,
    pub replicas: usize,
}

#[derive(Serialize)]
pub struct LeasesDoc {
    pub bucket: String,
    pub ttl: String,
    /// A third of `ttl`: how often the holder renews.
    pub renew: String,
    pub replicas: usize,
}

/// The partition of one sample key, step by step.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct PartitionExample {
    /// The operation whose routing key the example uses.
    pub operation: String,
    /// The key's text (what is hashed).
    pub key: String,
    /// FNV-1a 32-bit of the key's UTF-8 bytes, decimal and hex.
    pub hash: u32,
    pub hash_hex: String,
    pub count: u32,
    pub partition: u32,
    /// The concrete subject the job goes to.
    pub subject: String,
}

#[derive(Serialize, Clone)]
pub struct ConsumerDoc {
    pub durable: String,
    pub class: &'static str,
    pub filter_subject: String,
    pub ack_wait: String,
    pub max_deliver: i64,
    pub backoff: Vec<String>,
    pub max_ack_pending: i64,
    pub concurrency: usize,
    /// Keyed partitions: one durable per partition, `<durable>-<i>`.
    pub partitions: Option<u32>,
    /// The target parameter, when the filter holds its token.
    pub target: Option<String>,
}

/// One operation. The templates read its summary (the README's index, the HTML
/// navigation); the rest is skipped there and written by [`crate::docs::pages`].
#[derive(Serialize)]
pub struct OperationDoc {
    pub id: String,
    /// File name / anchor: the id with only `[A-Za-z0-9_-]`.
    pub slug: String,
    #[serde(skip)]
    pub action: &'static str,
    pub title: Option<String>,
    pub summary: Option<String>,
    #[serde(skip)]
    pub description: Option<String>,
    #[serde(skip)]
    pub deprecated: bool,
    #[serde(skip)]
    pub tags: Vec<String>,
    pub channel: String,
    /// The address as written (`None` for a dynamic address).
    #[serde(skip)]
    pub address: Option<String>,
    /// The NATS subject template, when the address is one.
    pub subject: Option<String>,
    #[serde(skip)]
    pub wildcard: Option<String>,
    /// An example concrete subject (parameters from their enum, default or example).
    #[serde(skip)]
    pub example_subject: Option<String>,
    /// Why no client/worker code exists, for skipped operations.
    pub skipped_reason: Option<String>,
    pub class: &'static str,
    #[serde(skip)]
    pub parameters: Vec<ParameterDoc>,
    #[serde(skip)]
    pub request: Vec<MessageDoc>,
    #[serde(skip)]
    pub reply: Vec<MessageDoc>,
    #[serde(skip)]
    pub errors: Vec<MessageDoc>,
    #[serde(skip)]
    pub has_reply_declared: bool,
    #[serde(skip)]
    pub policy: PolicyDoc,
    /// A worked submission, for jobs with a NATS subject.
    #[serde(skip)]
    pub wire: Option<WireExample>,
}

/// One concrete submission of a job: what to publish where, and where the answer is.
pub struct WireExample {
    pub subject: String,
    pub request_id: String,
    /// Further headers from the message's first example.
    pub headers: Vec<(String, String)>,
    /// The payload (pretty JSON) with the request id in place, when the message has one.
    pub payload: Option<String>,
    pub bucket: String,
}

/// The request id the worked examples use.
const SAMPLE_REQUEST_ID: &str = "0192b6d0-6c6f-7a1e-9a34-2f1c0e8d5b11";

pub struct ParameterDoc {
    pub name: String,
    pub description: Option<String>,
    pub enum_values: Vec<String>,
    pub pattern: Option<String>,
    pub default: Option<String>,
    pub examples: Vec<String>,
}

pub struct PolicyDoc {
    pub timeout: String,
    pub retryable: bool,
    pub request_id_pointer: Option<String>,
    pub routing_key: Option<String>,
    pub partitions: Option<u32>,
    /// The target parameter, when the operation is targeted.
    pub target: Option<String>,
    /// How the partition is computed, when the operation is partitioned.
    pub partitioning: Option<PartitioningDoc>,
    /// The consumer that pulls the operation's jobs.
    pub consumer: Option<ConsumerDoc>,
}

pub struct PartitioningDoc {
    /// What the key is, in words: "the payload field `/system_id`".
    pub key: String,
    pub count: u32,
    pub parameter: String,
}

pub struct MessageDoc {
    pub name: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub content_type: String,
    pub has_payload: bool,
    /// The payload's named type, when it has one.
    pub payload_type: Option<TypeLinkDoc>,
    /// The payload's field table, Markdown, when it has fields.
    pub fields_table: Option<Rc<str>>,
    /// The headers' field table, Markdown, when there are headers.
    pub headers_table: Option<Rc<str>>,
    pub correlation_id: Option<String>,
    pub examples: Vec<ExampleDoc>,
    pub deprecated: bool,
}

pub struct ExampleDoc {
    pub name: Option<String>,
    pub summary: Option<String>,
    pub payload: Option<String>,
    pub headers: Option<String>,
}

/// `30s`, `2m`, `1h 30m`, `250ms`.
pub fn human(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    if d.subsec_nanos() != 0 {
        return format!("{}ms", d.as_millis());
    }
    let mut secs = d.as_secs();
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            parts.push(format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    parts.join(" ")
}

fn consumer_doc(spec: &Spec, c: &ConsumerConfig) -> ConsumerDoc {
    let target = spec
        .jetstream
        .targets
        .as_ref()
        .map(|t| t.parameter.clone())
        .filter(|t| {
            c.filter_subject
                .split('.')
                .any(|tok| tok == format!("{{{t}}}"))
        });
    ConsumerDoc {
        partitions: c.partitions,
        target,
        durable: c.durable.clone(),
        class: c.class.as_str(),
        filter_subject: c.filter_subject.clone(),
        ack_wait: human(c.ack_wait),
        max_deliver: c.max_deliver,
        backoff: c.backoff.iter().map(|d| human(*d)).collect(),
        max_ack_pending: c.max_ack_pending,
        concurrency: c.concurrency,
    }
}

/// Whether a NATS subject filter (with `*` and `>`) matches every subject of `wildcard`.
/// A `{parameter}` token of the filter (target, partition) stands for any token.
fn filter_covers(filter: &str, wildcard: &str) -> bool {
    let f: Vec<&str> = filter.split('.').collect();
    let s: Vec<&str> = wildcard.split('.').collect();
    for (i, ft) in f.iter().enumerate() {
        match *ft {
            ">" => return s.len() > i,
            t if t == "*" || (t.starts_with('{') && t.ends_with('}')) => {
                if i >= s.len() {
                    return false;
                }
            }
            lit => {
                if s.get(i) != Some(&lit) {
                    return false;
                }
            }
        }
    }
    f.len() == s.len()
}

fn slug(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn message_doc(spec: &Spec, types: &TypeIndex, tables: &Tables, id: MessageId) -> MessageDoc {
    let m = &spec.messages[id.0];
    let pretty =
        |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    MessageDoc {
        name: m.name.clone().unwrap_or_else(|| m.key.clone()),
        title: m.title.clone(),
        summary: m.summary.clone(),
        description: m.description.clone(),
        content_type: m
            .content_type
            .clone()
            .or_else(|| spec.info.default_content_type.clone())
            .unwrap_or_else(|| "application/json".into()),
        has_payload: m.payload.is_some(),
        payload_type: m.payload.and_then(|p| types.get(p)).map(|r| TypeLinkDoc {
            name: r.rust_name.clone(),
            anchor: r.anchor.clone(),
        }),
        fields_table: m.payload.and_then(|p| table(spec, types, tables, p)),
        headers_table: m.headers.and_then(|h| table(spec, types, tables, h)),
        correlation_id: m.correlation_id.as_ref().map(|c| c.location.clone()),
        examples: m
            .examples
            .iter()
            .map(|e| ExampleDoc {
                name: e.name.clone(),
                summary: e.summary.clone(),
                payload: e.payload.as_ref().map(pretty),
                headers: e.headers.as_ref().map(pretty),
            })
            .collect(),
        deprecated: m.deprecated,
    }
}

/// The field tables of the named types that a message's payload or headers can share:
/// objects (a table of properties is the same on the type's section and the message).
type Tables = HashMap<SchemaId, Rc<str>>;

/// The field table of a message's payload or headers, when the schema has rows.
fn table(spec: &Spec, types: &TypeIndex, tables: &Tables, id: SchemaId) -> Option<Rc<str>> {
    if let Some(table) = tables.get(&id) {
        return Some(table.clone());
    }
    let rows = fields::rows(&spec.schemas, types, id);
    (!rows.is_empty()).then(|| fields::table(&rows, "*(payload)*").into())
}

fn operation_doc(
    spec: &Spec,
    types: &TypeIndex,
    tables: &Tables,
    op: &Operation,
    skipped_reason: Option<String>,
) -> OperationDoc {
    let channel = &spec.channels[op.channel.0];
    let subject = channel.subject.as_ref();
    let parameters: Vec<ParameterDoc> = channel
        .parameters
        .iter()
        .map(|p| ParameterDoc {
            name: p.name.clone(),
            description: p.description.clone(),
            enum_values: p.enum_values.clone(),
            pattern: p.pattern.clone(),
            default: p.default.clone(),
            examples: p.examples.clone(),
        })
        .collect();
    let example_subject = subject.map(|s| {
        s.tokens
            .iter()
            .map(|t| match t {
                SubjectToken::Literal(l) => l.clone(),
                SubjectToken::Parameter(name) => channel
                    .parameters
                    .iter()
                    .find(|p| &p.name == name)
                    .and_then(|p| {
                        p.enum_values
                            .first()
                            .or(p.default.as_ref())
                            .or(p.examples.first())
                            .cloned()
                    })
                    .unwrap_or_else(|| format!("<{name}>")),
            })
            .collect::<Vec<_>>()
            .join(".")
    });
    // A partitioned job's example goes to the partition its example key hashes to.
    let partition = partition_example(spec, op);
    let example_subject = match (&partition, example_subject) {
        (Some(p), Some(_)) => Some(p.subject.clone()),
        (_, example) => example,
    };
    let target = spec
        .jetstream
        .targets
        .as_ref()
        .map(|t| t.parameter.clone())
        .filter(|t| op.action == Action::Receive && channel.parameters.iter().any(|p| &p.name == t))
        .filter(|_| subject.is_some());
    let partitioning = op.policy.partitioning.as_ref().map(|p| PartitioningDoc {
        key: match &p.key {
            RoutingKey::Payload(pointer) => format!("the payload field `{pointer}`"),
            RoutingKey::Parameter(name) => format!("the subject parameter `{{{name}}}`"),
        },
        count: p.count,
        parameter: p.parameter.clone(),
    });
    let consumer = subject.and_then(|s| {
        let wildcard = s.wildcard();
        spec.jetstream
            .consumers
            .iter()
            .find(|c| {
                c.partitions.is_some() == op.policy.partitioning.is_some()
                    && c.class == op.policy.class
                    && filter_covers(&c.filter_subject, &wildcard)
            })
            .or_else(|| {
                spec.jetstream.consumers.iter().find(|c| {
                    c.partitions.is_some() == op.policy.partitioning.is_some()
                        && filter_covers(&c.filter_subject, &wildcard)
                })
            })
            .or_else(|| {
                spec.jetstream
                    .consumers
                    .iter()
                    .find(|c| filter_covers(&c.filter_subject, &wildcard))
            })
            .map(|c| consumer_doc(spec, c))
    });
    let (reply, errors) = match &op.reply {
        Some(r) => (
            r.messages
                .iter()
                .map(|m| message_doc(spec, types, tables, *m))
                .collect(),
            r.errors
                .iter()
                .map(|m| message_doc(spec, types, tables, *m))
                .collect(),
        ),
        None => (vec![], vec![]),
    };
    let wire = match (op.action, &example_subject, &skipped_reason) {
        (Action::Receive, Some(subject), None) => Some(wire_example(spec, op, subject)),
        _ => None,
    };
    OperationDoc {
        wire,
        id: op.id.clone(),
        slug: slug(&op.id),
        action: match op.action {
            Action::Send => "send",
            Action::Receive => "receive",
        },
        title: op.title.clone(),
        summary: op.summary.clone(),
        description: op.description.clone(),
        deprecated: op.deprecated,
        tags: op.tags.clone(),
        channel: channel.key.clone(),
        address: channel.address.clone(),
        subject: subject.map(|s| s.template()),
        wildcard: subject.map(|s| s.wildcard()),
        example_subject,
        skipped_reason,
        class: op.policy.class.as_str(),
        parameters,
        request: op
            .messages
            .iter()
            .map(|m| message_doc(spec, types, tables, *m))
            .collect(),
        reply,
        errors,
        has_reply_declared: op.reply.is_some(),
        policy: PolicyDoc {
            timeout: human(op.policy.timeout),
            retryable: op.policy.retryable,
            request_id_pointer: op.policy.request_id_pointer.clone(),
            routing_key: op.policy.routing_key.clone(),
            partitions: op.policy.partitions,
            target,
            partitioning,
            consumer,
        },
    }
}

/// The partition of `op`'s example: its routing key read from the first request
/// message's first example (or the parameter's example), hashed as the runtime does.
pub fn partition_example(spec: &Spec, op: &Operation) -> Option<PartitionExample> {
    let p = op.policy.partitioning.as_ref()?;
    let channel = &spec.channels[op.channel.0];
    let subject = channel.subject.as_ref()?;
    let example_payload = op
        .messages
        .first()
        .and_then(|m| spec.messages[m.0].examples.first())
        .and_then(|e| e.payload.as_ref());
    let parameter_example = |name: &str| {
        channel
            .parameters
            .iter()
            .find(|q| q.name == name)
            .and_then(|q| {
                q.enum_values
                    .first()
                    .or(q.default.as_ref())
                    .or(q.examples.first())
            })
            .cloned()
    };
    let key = match &p.key {
        RoutingKey::Payload(pointer) => match example_payload.and_then(|v| v.pointer(pointer)) {
            // A string's content; any other JSON value as compact JSON text.
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => "example-key".to_string(),
        },
        RoutingKey::Parameter(name) => {
            parameter_example(name).unwrap_or_else(|| "example-key".to_string())
        }
    };
    let hash = crate::ir::fnv1a_32(key.as_bytes());
    let partition = partition_of(&key, p.count);
    let rendered = subject
        .tokens
        .iter()
        .map(|t| match t {
            SubjectToken::Literal(l) => l.clone(),
            SubjectToken::Parameter(name) if *name == p.parameter => partition.to_string(),
            SubjectToken::Parameter(name) => match &p.key {
                RoutingKey::Parameter(k) if k == name => key.clone(),
                _ => parameter_example(name).unwrap_or_else(|| format!("<{name}>")),
            },
        })
        .collect::<Vec<_>>()
        .join(".");
    Some(PartitionExample {
        operation: op.id.clone(),
        key,
        hash,
        hash_hex: format!("0x{hash:08x}"),
        count: p.count,
        partition,
        subject: rendered,
    })
}

fn wire_example(spec: &Spec, op: &Operation, subject: &str) -> WireExample {
    let message = op.messages.first().map(|m| &spec.messages[m.0]);
    let example = message.and_then(|m| m.examples.first());
    let headers = example
        .and_then(|e| e.headers.as_ref())
        .and_then(|h| h.as_object())
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    let v = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default();
    let payload = message.filter(|m| m.payload.is_some()).map(|_| {
        let mut value = example
            .and_then(|e| e.payload.clone())
            .unwrap_or_else(|| serde_json::json!({}));
        if let Some(ptr) = &op.policy.request_id_pointer {
            if let Some(slot) = value.pointer_mut(ptr) {
                *slot = serde_json::Value::String(SAMPLE_REQUEST_ID.into());
            } else if let (Some(map), Some(key)) = (value.as_object_mut(), ptr.strip_prefix('/')) {
                if !key.contains('/') {
                    map.insert(
                        key.into(),
                        serde_json::Value::String(SAMPLE_REQUEST_ID.into()),
                    );
                }
            }
        }
        serde_json::to_string_pretty(&value).unwrap_or_default()
    });
    WireExample {
        subject: subject.to_string(),
        request_id: SAMPLE_REQUEST_ID.into(),
        headers,
        payload,
        bucket: spec.jetstream.responses.bucket.clone(),
    }
}

/// The payload and header schemas of messages.
fn message_schemas<'a>(
    spec: &'a Spec,
    messages: impl IntoIterator<Item = &'a MessageId> + 'a,
) -> impl Iterator<Item = SchemaId> + 'a {
    messages.into_iter().flat_map(|m| {
        let m = &spec.messages[m.0];
        m.payload.into_iter().chain(m.headers)
    })
}

/// The index of named types: named in the order the crate's types are (every message,
/// in document order), documented when an operation's message uses them.
fn type_index(spec: &Spec) -> TypeIndex {
    let all = spec
        .messages
        .iter()
        .flat_map(|m| m.payload.into_iter().chain(m.headers));
    let used = spec.operations.iter().flat_map(|op| {
        let reply = op
            .reply
            .iter()
            .flat_map(|r| r.messages.iter().chain(&r.errors));
        message_schemas(spec, op.messages.iter().chain(reply))
    });
    TypeIndex::build(&spec.schemas, all, used)
}

/// The type sections, and the tables of the object types among them for [`table`].
fn type_docs(spec: &Spec, types: &TypeIndex) -> (Vec<TypeDoc>, Tables) {
    let mut tables = Tables::new();
    let arena = &spec.schemas;
    let docs = types
        .documented()
        .iter()
        .filter_map(|id| {
            let r = types.get(*id)?;
            let node = arena.get(*id);
            let s = &node.schema;
            let file = node
                .location
                .file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let description = s.description.as_deref().map(str::trim).map(str::to_string);
            let title = s
                .title
                .as_deref()
                .map(str::trim)
                .filter(|t| Some(*t) != node.name.as_deref())
                .map(str::to_string);
            let summary = title.clone().or_else(|| {
                description
                    .as_deref()
                    .and_then(|d| d.lines().next())
                    .map(str::to_string)
            });
            let mut fields = fields::rows(arena, types, *id);
            let fields_table: Rc<str> = match fields.first_mut() {
                Some(value) if value.path.is_empty() => {
                    // The section's text above says it already.
                    value.description = None;
                    fields::table(&fields, "*(value)*").into()
                }
                _ => {
                    let table: Rc<str> = fields::table(&fields, "*(value)*").into();
                    if !fields.is_empty() {
                        tables.insert(*id, table.clone());
                    }
                    table
                }
            };
            Some(TypeDoc {
                name: r.rust_name.clone(),
                schema_name: node.name.clone().filter(|n| *n != r.rust_name),
                anchor: r.anchor.clone(),
                location: format!("{file}#{}", node.location.pointer),
                kind: fields::described_type(arena, types, *id),
                title,
                description,
                summary,
                deprecated: s.deprecated,
                fields_table,
                examples: s
                    .examples
                    .iter()
                    .map(|v| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()))
                    .collect(),
            })
        })
        .collect();
    (docs, tables)
}

pub fn build(spec: &Spec) -> DocContext {
    let js = &spec.jetstream;
    let types = type_index(spec);
    let (type_docs, tables) = type_docs(spec, &types);
    let mut jobs = Vec::new();
    let mut events = Vec::new();
    let mut skipped = Vec::new();
    for op in &spec.operations {
        let channel = &spec.channels[op.channel.0];
        if channel.subject.is_none() {
            let reason = match &channel.address {
                Some(a) => format!("the address '{a}' is not a NATS subject"),
                None => "the channel has no address".into(),
            };
            skipped.push(operation_doc(spec, &types, &tables, op, Some(reason)));
            continue;
        }
        match op.action {
            Action::Receive => jobs.push(operation_doc(spec, &types, &tables, op, None)),
            Action::Send => events.push(operation_doc(spec, &types, &tables, op, None)),
        }
    }
    DocContext {
        title: spec.info.title.clone(),
        version: spec.info.version.clone(),
        description: spec.info.description.clone(),
        asyncapi_version: spec.source.asyncapi_version.clone(),
        spec_file: spec
            .source
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: spec.source.sha256.clone(),
        servers: spec
            .servers
            .iter()
            .map(|s| ServerDoc {
                name: s.name.clone(),
                host: s.host.clone(),
                protocol: s.protocol.clone(),
                description: s.description.clone(),
            })
            .collect(),
        stream: StreamDoc {
            name: js.stream.name.clone(),
            subjects: js.stream.subjects.clone(),
            storage: match js.stream.storage {
                StorageKind::File => "file",
                StorageKind::Memory => "memory",
            },
            max_bytes: js.stream.max_bytes,
            max_msgs: js.stream.max_msgs,
            max_msg_size: js.stream.max_msg_size,
            duplicate_window: human(js.stream.duplicate_window),
            replicas: js.stream.replicas,
        },
        responses: ResponsesDoc {
            bucket: js.responses.bucket.clone(),
            ttl: human(js.responses.ttl),
            history: js.responses.history,
            replicas: js.responses.replicas,
        },
        dead_letter_stream: js.dead_letter.stream.clone(),
        consumers: js.consumers.iter().map(|c| consumer_doc(spec, c)).collect(),
        registry: RegistryDoc {
            bucket: js.registry.bucket.clone(),
            heartbeat: human(js.registry.heartbeat),
            ttl: human(js.registry.ttl),
            replicas: js.registry.replicas,
        },
        targets: js.targets.as_ref().map(|t| t.parameter.clone()),
        leases: js.leases.as_ref().map(|l| LeasesDoc {
            bucket: l.bucket.clone(),
            ttl: human(l.ttl),
            renew: human(l.ttl / 3),
            replicas: l.replicas,
        }),
        partition_example: spec
            .operations
            .iter()
            .filter(|op| op.action == Action::Receive)
            .find_map(|op| partition_example(spec, op)),
        jobs,
        events,
        skipped,
        types: type_docs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_secs(30)), "30s");
        assert_eq!(human(Duration::from_secs(120)), "2m");
        assert_eq!(human(Duration::from_secs(86_400)), "1d");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn filters_cover_wildcards() {
        assert!(filter_covers("jobs.query.>", "jobs.query.dns.*"));
        assert!(!filter_covers("jobs.modify.>", "jobs.query.dns.*"));
        assert!(filter_covers("jobs.*.dns.*", "jobs.query.dns.*"));
        assert!(!filter_covers("jobs.query", "jobs.query.dns"));
        assert!(filter_covers("jobs.query.*.{target}", "jobs.query.dns.*"));
        assert!(filter_covers("coord.{partition}.>", "coord.*.point.get"));
    }
}
