//! The `x-jetwire` extension: JetStream settings and per-operation job policy.
//!
//! Every key is optional; anything not given takes the default listed here. Keys are
//! kebab-case. An unknown key anywhere inside `x-jetwire` is an error (a typo must not
//! silently fall back to a default), and so is a value of the wrong type or range.
//!
//! **Durations** are written as a string of `<integer><unit>` parts — units `ms`, `s`,
//! `m`, `h`, `d`, e.g. `500ms`, `30s`, `2m`, `24h`, `1m30s` — or as an integer number of
//! milliseconds (`1500`). A duration must be greater than zero.
//!
//! # Document level (root `x-jetwire`)
//!
//! ```yaml
//! x-jetwire:
//!   stream:                  # the work-queue stream the jobs are published to
//!     name: JOBS             # default JOBS
//!     subjects: [jobs.>]     # default: the subject (parameters as `*`) of every
//!                            #   `receive` operation, sorted, without duplicates and
//!                            #   without subjects another one's wildcard covers
//!     storage: file          # file (default) | memory
//!     max-bytes: -1          # default -1 (unlimited)
//!     max-msgs: -1           # default -1 (unlimited)
//!     max-msg-size: -1       # default -1 (unlimited)
//!     duplicate-window: 2m   # de-duplication window for request ids; default 2m
//!     replicas: 1            # 1..=5, default 1
//!   responses:               # the KV bucket holding one response record per request
//!     bucket: JOBS_RESPONSES # default JOBS_RESPONSES
//!     ttl: 24h               # how long a response is kept; default 24h
//!     history: 1             # 1..=64, default 1
//!     replicas: 1            # 1..=5, default 1
//!   dead-letter:             # where jobs go that exhausted their deliveries
//!     stream: JOBS_DLQ       # default JOBS_DLQ
//!     replicas: 1            # 1..=5, default 1
//!   defaults:                # job policy defaults for every operation and consumer
//!     timeout: 30s           # how long a waiting client waits; default 30s
//!     max-deliver: 10        # deliveries before dead-lettering; default 10
//!     backoff: [5s, 10s, 15s]  # redelivery delays; default 5s, 10s, 15s
//!                            #   (must have fewer entries than max-deliver)
//!     ack-wait: 30s          # default 30s
//!     max-ack-pending: 1000  # default 1000
//!     query-concurrency: 16  # query jobs one worker runs at once; default 16
//!     modify-concurrency: 4  # modify jobs one worker runs at once; default 4
//!   consumers:               # optional: replaces the computed consumer plan
//!     - durable: jobs-query  # required; no whitespace, `.`, `*`, `>`, `/`, `\`
//!       class: query         # required: query | modify
//!       filter-subject: jobs.query.>  # required; one NATS subject filter
//!       ack-wait: 30s        # optional, default from `defaults`
//!       max-deliver: 10      # optional, default from `defaults`
//!       backoff: [5s]        # optional, default from `defaults`
//!       max-ack-pending: 1000  # optional, default from `defaults`
//!       concurrency: 16      # optional, default: the class's concurrency
//!       partitions: 8        # optional, 1..=1024: a keyed-partition consumer; then the
//!                            #   filter must hold the `{partition}` token
//!   registry:                # the KV bucket of live workers (every worker heartbeats)
//!     bucket: JOBS_WORKERS   # default <stream name>_WORKERS
//!     heartbeat: 2s          # how often a worker refreshes its entry; default 2s
//!     ttl: 10s               # a worker not refreshed for this long is gone;
//!                            #   default 10s, must be longer than heartbeat
//!     replicas: 1            # 1..=5, default: the stream's replicas
//!   targets:                 # optional: target routing
//!     parameter: target      # the channel parameter that picks the workers: `_any`
//!                            #   (exactly one), `_all` (every live worker) or a
//!                            #   worker id. Every `receive` operation whose channel
//!                            #   has it is targeted; at least one must. Not `partition`.
//!   leases:                  # leases on keyed partitions (used when an operation
//!                            #   is partitioned)
//!     bucket: JOBS_LEASES    # default <stream name>_LEASES
//!     ttl: 10s               # a lease not renewed this long may be taken over;
//!                            #   default 10s
//!     replicas: 1            # 1..=5, default: the stream's replicas
//! ```
//!
//! Without `consumers`, one durable pull consumer is planned per job class that has
//! `receive` operations with a NATS subject address: `jobs-query` and `jobs-modify`.
//! Its filter subject is, in order of preference:
//!
//! 1. `jobs.query.>` / `jobs.modify.>` when every subject of the class starts with
//!    that prefix and no subject of the other class does;
//! 2. else `<prefix>.>` for the shortest literal prefix that every subject of the
//!    class shares and that no subject of the other class falls under;
//! 3. else the narrowest single filter — literal tokens where all subjects of the
//!    class agree, `*` elsewhere, and a final `>` when they differ in length — that no
//!    subject of the other class falls under;
//! 4. else there is one consumer per operation of the class (durable: the operation id
//!    with every character other than ASCII letters, digits, `-` and `_` replaced by
//!    `-`; filter: the operation's subject with parameters as `*`), and a note says so.
//!
//! **Targets.** With `targets`, the operations of a class that are targeted get a
//! consumer whose filter keeps the target token literally, e.g. `jobs.query.*.{target}`
//! (rule 3 above, the `{target}` token at the same position in every subject; else one
//! consumer per operation). The runtime turns it into the shared durable (token →
//! `_any`) and one durable per worker (token → the worker id). Untargeted operations of
//! the same class get their own consumer, `jobs-<class>-untargeted`.
//!
//! **Keyed partitions.** Partitioned operations (`partitions` on the operation) are
//! pulled neither by `jobs-query` nor by `jobs-modify`: those with the same subject
//! tokens before `{partition}` share one partition consumer — `jobs-partitioned` (or
//! `jobs-partitioned-<prefix>` when there are several groups) with the filter
//! `<prefix>.{partition}.>` (`<prefix>.{partition}` when the subjects end there) and
//! `partitions: N` — so the jobs of one key run in publish order *across* those
//! operations, queries and modifications alike. They must agree on N. The job class of
//! a partitioned operation sets its retry default and its docs only; the partition
//! consumer's class is `modify` when any of its operations is a modification (else
//! `query`), it serves one job at a time per partition (`max-ack-pending` 1) and takes
//! the other settings from `defaults`.
//!
//! A channel parameter counts as matching any token when deciding what falls under a
//! filter. Every planned consumer takes `ack-wait`, `max-deliver`, `backoff` and
//! `max-ack-pending` from `defaults`, and its class's concurrency. Consumers with
//! overlapping filters (which a work-queue stream refuses) and `receive` operations
//! with overlapping subjects (whose jobs the worker cannot tell apart) get warnings.
//!
//! # Operation level (`x-jetwire` on an operation; in 2.x on `publish`/`subscribe`)
//!
//! ```yaml
//! x-jetwire:
//!   class: modify            # query | modify. Default: `modify` when the channel address
//!                            #   starts with `jobs.modify.`, else `query`
//!   timeout: 10s             # default: defaults.timeout
//!   retryable: false         # whether a failed run is retried with backoff;
//!                            #   default true for queries, false for modifications
//!   request-id: /request_id  # JSON pointer into the payload where the request id
//!                            #   travels. Default: the first message's `correlationId`
//!                            #   when its location is `$message.payload#/...`; else
//!                            #   the id travels only as the `Nats-Msg-Id` header
//!   routing-key: $message.payload#/host  # what keyed partitions hash: a payload
//!                            #   field (`$message.payload#/<pointer>`) or a channel
//!                            #   parameter (`{target}`)
//!   partitions: 8            # number of keyed partitions, 1..=1024; needs routing-key
//!                            #   and a `{partition}` parameter in the channel address
//!                            #   (filled by the runtime: FNV-1a 32-bit of the key mod N)
//! ```
//!
//! A `routing-key` must name a field of the operation's payload schema (every message's)
//! or one of the channel's parameters other than `{partition}`; a partitioned operation
//! must not also be targeted. Without `partitions` a routing key has no effect.

use std::time::Duration;

use serde_json::Value;

use super::documents::Documents;
use super::fields::Fields;
use crate::error::{Error, Result};
use crate::ir::{
    ConsumerConfig, DeadLetterConfig, JetStreamConfig, JobClass, LeasesConfig, Location,
    OperationPolicyDefaults, RegistryConfig, ResponsesConfig, StorageKind, StreamConfig,
    TargetsConfig, PARTITION_PARAMETER,
};

/// The document-level settings as written; subjects and consumers are completed by
/// the consumer plan once the operations are known.
#[derive(Debug, Clone)]
pub(crate) struct RootExtension {
    /// Everything but `stream.subjects` and `consumers`, defaults filled in.
    pub config: JetStreamConfig,
    pub subjects: Option<Vec<String>>,
    pub consumers: Option<Vec<ConsumerConfig>>,
    /// Where `targets.parameter` is written (for the check that some operation has it).
    pub targets_at: Option<Location>,
    /// The lease settings, defaults filled in; they become `config.leases` when some
    /// operation is partitioned.
    pub leases: LeasesConfig,
    /// Where `leases` is written, when it is.
    pub leases_at: Option<Location>,
}

/// An operation's `x-jetwire`, as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OperationExtension {
    pub class: Option<JobClass>,
    pub timeout: Option<Duration>,
    pub retryable: Option<bool>,
    pub request_id: Option<String>,
    pub routing_key: Option<String>,
    pub partitions: Option<u32>,
    /// Where the extension is written (for errors found once the operation is known).
    pub at: Option<Location>,
}

const MAX_REPLICAS: i64 = 5;

/// Reads the root `x-jetwire` (`value` at `at`, absent = all defaults).
pub(crate) fn root_extension(
    docs: &Documents,
    at: Location,
    value: Option<&Value>,
) -> Result<RootExtension> {
    let mut config = JetStreamConfig {
        stream: StreamConfig {
            name: "JOBS".into(),
            subjects: Vec::new(),
            storage: StorageKind::File,
            max_bytes: -1,
            max_msgs: -1,
            max_msg_size: -1,
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
        },
        responses: ResponsesConfig {
            bucket: "JOBS_RESPONSES".into(),
            ttl: Duration::from_secs(24 * 3600),
            history: 1,
            replicas: 1,
        },
        dead_letter: DeadLetterConfig {
            stream: "JOBS_DLQ".into(),
            replicas: 1,
        },
        consumers: Vec::new(),
        defaults: OperationPolicyDefaults::default(),
        registry: registry_defaults("JOBS", 1),
        targets: None,
        leases: None,
    };
    let Some(value) = value else {
        return Ok(RootExtension {
            config,
            subjects: None,
            consumers: None,
            targets_at: None,
            leases: leases_defaults("JOBS", 1),
            leases_at: None,
        });
    };
    let root = Fields::new(docs, at, value, "x-jetwire")?;
    root.only(&[
        "stream",
        "responses",
        "dead-letter",
        "defaults",
        "consumers",
        "registry",
        "targets",
        "leases",
    ])?;

    let mut subjects = None;
    if let Some(stream) = root.object("stream", "x-jetwire.stream")? {
        stream.only(&[
            "name",
            "subjects",
            "storage",
            "max-bytes",
            "max-msgs",
            "max-msg-size",
            "duplicate-window",
            "replicas",
        ])?;
        let s = &mut config.stream;
        if let Some(name) = stream.string("name")? {
            s.name = nats_name(&stream, "name", name)?;
        }
        if let Some(list) = stream.strings("subjects")? {
            if list.is_empty() {
                return Err(Error::invalid(
                    stream.at("subjects"),
                    "`subjects` of x-jetwire.stream must not be empty (leave it out to derive it from the operations)",
                ));
            }
            for subject in &list {
                if let Err(why) = check_filter(subject) {
                    return Err(Error::invalid(
                        stream.at("subjects"),
                        format!("stream subject `{subject}`: {why}"),
                    ));
                }
            }
            subjects = Some(list);
        }
        if let Some(storage) = stream.string("storage")? {
            s.storage = match storage.as_str() {
                "file" => StorageKind::File,
                "memory" => StorageKind::Memory,
                other => {
                    return Err(Error::invalid(
                        stream.at("storage"),
                        format!("`storage` must be `file` or `memory`, found `{other}`"),
                    ))
                }
            };
        }
        if let Some(n) = stream.integer("max-bytes", -1, i64::MAX)? {
            s.max_bytes = n;
        }
        if let Some(n) = stream.integer("max-msgs", -1, i64::MAX)? {
            s.max_msgs = n;
        }
        if let Some(n) = stream.integer("max-msg-size", -1, i64::from(i32::MAX))? {
            s.max_msg_size = n as i32;
        }
        if let Some(d) = stream.duration("duplicate-window")? {
            s.duplicate_window = d;
        }
        if let Some(n) = stream.integer("replicas", 1, MAX_REPLICAS)? {
            s.replicas = n as usize;
        }
    }

    if let Some(responses) = root.object("responses", "x-jetwire.responses")? {
        responses.only(&["bucket", "ttl", "history", "replicas"])?;
        let r = &mut config.responses;
        if let Some(name) = responses.string("bucket")? {
            r.bucket = nats_name(&responses, "bucket", name)?;
        }
        if let Some(d) = responses.duration("ttl")? {
            r.ttl = d;
        }
        if let Some(n) = responses.integer("history", 1, 64)? {
            r.history = n;
        }
        if let Some(n) = responses.integer("replicas", 1, MAX_REPLICAS)? {
            r.replicas = n as usize;
        }
    }

    if let Some(dead_letter) = root.object("dead-letter", "x-jetwire.dead-letter")? {
        dead_letter.only(&["stream", "replicas"])?;
        if let Some(name) = dead_letter.string("stream")? {
            config.dead_letter.stream = nats_name(&dead_letter, "stream", name)?;
        }
        if let Some(n) = dead_letter.integer("replicas", 1, MAX_REPLICAS)? {
            config.dead_letter.replicas = n as usize;
        }
    }

    if let Some(defaults) = root.object("defaults", "x-jetwire.defaults")? {
        defaults.only(&[
            "timeout",
            "max-deliver",
            "backoff",
            "ack-wait",
            "max-ack-pending",
            "query-concurrency",
            "modify-concurrency",
        ])?;
        let d = &mut config.defaults;
        if let Some(v) = defaults.duration("timeout")? {
            d.timeout = v;
        }
        if let Some(v) = defaults.integer("max-deliver", 1, i64::from(i32::MAX))? {
            d.max_deliver = v;
        }
        if let Some(v) = defaults.durations("backoff")? {
            d.backoff = v;
        }
        if let Some(v) = defaults.duration("ack-wait")? {
            d.ack_wait = v;
        }
        if let Some(v) = defaults.integer("max-ack-pending", 1, i64::from(i32::MAX))? {
            d.max_ack_pending = v;
        }
        if let Some(v) = defaults.integer("query-concurrency", 1, 65_536)? {
            d.query_concurrency = v as usize;
        }
        if let Some(v) = defaults.integer("modify-concurrency", 1, 65_536)? {
            d.modify_concurrency = v as usize;
        }
        check_backoff(&defaults, d.max_deliver, &d.backoff)?;
    } else {
        let d = &config.defaults;
        check_backoff(&root, d.max_deliver, &d.backoff)?;
    }

    // Bucket defaults are named after the stream, whatever order the keys come in.
    config.registry = registry_defaults(&config.stream.name, config.stream.replicas);
    if let Some(registry) = root.object("registry", "x-jetwire.registry")? {
        registry.only(&["bucket", "heartbeat", "ttl", "replicas"])?;
        let r = &mut config.registry;
        if let Some(name) = registry.string("bucket")? {
            r.bucket = nats_name(&registry, "bucket", name)?;
        }
        if let Some(d) = registry.duration("heartbeat")? {
            r.heartbeat = d;
        }
        if let Some(d) = registry.duration("ttl")? {
            r.ttl = d;
        }
        if let Some(n) = registry.integer("replicas", 1, MAX_REPLICAS)? {
            r.replicas = n as usize;
        }
        if r.ttl <= r.heartbeat {
            // A worker would count as gone between two of its own heartbeats.
            let key = if registry.get("ttl").is_some() {
                "ttl"
            } else {
                "heartbeat"
            };
            return Err(Error::invalid(
                registry.at(key),
                format!(
                    "x-jetwire.registry: `ttl` ({:?}) must be longer than `heartbeat` ({:?}), \
                     else a live worker drops out of the registry between two heartbeats",
                    r.ttl, r.heartbeat
                ),
            ));
        }
    }

    let mut targets_at = None;
    if let Some(targets) = root.object("targets", "x-jetwire.targets")? {
        targets.only(&["parameter"])?;
        let parameter = targets.required_string("parameter")?;
        let valid = !parameter.is_empty()
            && parameter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(Error::invalid(
                targets.at("parameter"),
                format!(
                    "x-jetwire.targets: `parameter` must name a channel parameter \
                     (letters, digits, `_`, `-`), found `{parameter}`"
                ),
            ));
        }
        if parameter == PARTITION_PARAMETER {
            return Err(Error::invalid(
                targets.at("parameter"),
                format!(
                    "x-jetwire.targets: `{PARTITION_PARAMETER}` is the keyed-partition \
                     parameter, filled by the runtime; name another parameter as the target"
                ),
            ));
        }
        targets_at = Some(targets.at("parameter"));
        config.targets = Some(TargetsConfig { parameter });
    }

    let mut leases = leases_defaults(&config.stream.name, config.stream.replicas);
    let mut leases_at = None;
    if let Some(l) = root.object("leases", "x-jetwire.leases")? {
        l.only(&["bucket", "ttl", "replicas"])?;
        if let Some(name) = l.string("bucket")? {
            leases.bucket = nats_name(&l, "bucket", name)?;
        }
        if let Some(d) = l.duration("ttl")? {
            leases.ttl = d;
        }
        if let Some(n) = l.integer("replicas", 1, MAX_REPLICAS)? {
            leases.replicas = n as usize;
        }
        leases_at = Some(l.at.clone());
    }

    let consumers = match root.get("consumers") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut out: Vec<ConsumerConfig> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = docs_locate(docs, &root.at("consumers"), i);
                let consumer = explicit_consumer(docs, at.clone(), item, &config.defaults)?;
                if out.iter().any(|c| c.durable == consumer.durable) {
                    return Err(Error::invalid(
                        at,
                        format!("two consumers are named `{}`", consumer.durable),
                    ));
                }
                out.push(consumer);
            }
            Some(out)
        }
        Some(_) => {
            return Err(Error::invalid(
                root.at("consumers"),
                "`consumers` of x-jetwire must be a list of consumer objects",
            ))
        }
    };

    Ok(RootExtension {
        config,
        subjects,
        consumers,
        targets_at,
        leases,
        leases_at,
    })
}

fn registry_defaults(stream: &str, replicas: usize) -> RegistryConfig {
    RegistryConfig {
        bucket: format!("{stream}_WORKERS"),
        heartbeat: Duration::from_secs(2),
        ttl: Duration::from_secs(10),
        replicas,
    }
}

fn leases_defaults(stream: &str, replicas: usize) -> LeasesConfig {
    LeasesConfig {
        bucket: format!("{stream}_LEASES"),
        ttl: Duration::from_secs(10),
        replicas,
    }
}

fn docs_locate(docs: &Documents, list: &Location, index: usize) -> Location {
    use super::schema::RefResolver;
    docs.locate(&list.file, &format!("{}/{index}", list.pointer))
}

fn explicit_consumer(
    docs: &Documents,
    at: Location,
    value: &Value,
    defaults: &OperationPolicyDefaults,
) -> Result<ConsumerConfig> {
    let c = Fields::new(docs, at, value, "an x-jetwire consumer")?;
    c.only(&[
        "durable",
        "class",
        "filter-subject",
        "ack-wait",
        "max-deliver",
        "backoff",
        "max-ack-pending",
        "concurrency",
        "partitions",
    ])?;
    let durable = nats_name(&c, "durable", c.required_string("durable")?)?;
    let class = job_class(&c, &c.required_string("class")?)?;
    let filter_subject = c.required_string("filter-subject")?;
    check_filter(&filter_subject).map_err(|why| {
        Error::invalid(c.at("filter-subject"), format!("`{filter_subject}`: {why}"))
    })?;
    let max_deliver = c
        .integer("max-deliver", 1, i64::from(i32::MAX))?
        .unwrap_or(defaults.max_deliver);
    let backoff = c
        .durations("backoff")?
        .unwrap_or_else(|| defaults.backoff.clone());
    check_backoff(&c, max_deliver, &backoff)?;
    let partitions = c.integer("partitions", 1, 1024)?.map(|n| n as u32);
    let token = format!("{{{PARTITION_PARAMETER}}}");
    let has_token = filter_subject.split('.').any(|t| t == token);
    if partitions.is_some() != has_token {
        let (key, why) = if has_token {
            (
                "filter-subject",
                format!("the filter holds `{token}` but the consumer has no `partitions`"),
            )
        } else {
            (
                "partitions",
                format!("a partitioned consumer's filter must hold the `{token}` token"),
            )
        };
        return Err(Error::invalid(
            c.at(key),
            format!("consumer `{durable}`: {why}"),
        ));
    }
    Ok(ConsumerConfig {
        durable,
        class,
        filter_subject,
        ack_wait: c.duration("ack-wait")?.unwrap_or(defaults.ack_wait),
        max_deliver,
        backoff,
        max_ack_pending: c
            .integer("max-ack-pending", 1, i64::from(i32::MAX))?
            .unwrap_or(defaults.max_ack_pending),
        concurrency: c
            .integer("concurrency", 1, 65_536)?
            .map(|n| n as usize)
            .unwrap_or(match class {
                JobClass::Query => defaults.query_concurrency,
                JobClass::Modify => defaults.modify_concurrency,
            }),
        partitions,
    })
}

/// Reads an operation's `x-jetwire` (`value` at `at`).
pub(crate) fn operation_extension(
    docs: &Documents,
    at: Location,
    value: &Value,
) -> Result<OperationExtension> {
    let x = Fields::new(docs, at, value, "the operation's x-jetwire")?;
    x.only(&[
        "class",
        "timeout",
        "retryable",
        "request-id",
        "routing-key",
        "partitions",
    ])?;
    let class = match x.string("class")? {
        Some(name) => Some(job_class(&x, &name)?),
        None => None,
    };
    let request_id = x.string("request-id")?;
    if let Some(pointer) = &request_id {
        if !pointer.starts_with('/') {
            return Err(Error::invalid(
                x.at("request-id"),
                format!(
                    "`request-id` must be a JSON pointer into the payload such as `/request_id`, found `{pointer}`"
                ),
            ));
        }
    }
    Ok(OperationExtension {
        class,
        timeout: x.duration("timeout")?,
        retryable: x.boolean("retryable")?,
        request_id,
        routing_key: x.string("routing-key")?,
        partitions: x.integer("partitions", 1, 1024)?.map(|n| n as u32),
        at: Some(x.at.clone()),
    })
}

fn job_class(fields: &Fields<'_>, name: &str) -> Result<JobClass> {
    match name {
        "query" => Ok(JobClass::Query),
        "modify" => Ok(JobClass::Modify),
        other => Err(Error::invalid(
            fields.at("class"),
            format!("`class` must be `query` or `modify`, found `{other}`"),
        )),
    }
}

/// NATS stream, bucket and consumer names may not contain whitespace, `.`, `*`, `>`,
/// path separators or be empty.
fn nats_name(fields: &Fields<'_>, key: &str, name: String) -> Result<String> {
    let bad = name.is_empty()
        || name.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>' | '/' | '\\')
        });
    if bad {
        return Err(Error::invalid(
            fields.at(key),
            format!("`{name}` is not a valid NATS name (no whitespace, `.`, `*`, `>`, `/`, `\\`, not empty)"),
        ));
    }
    Ok(name)
}

/// NATS requires fewer backoff steps than deliveries.
fn check_backoff(fields: &Fields<'_>, max_deliver: i64, backoff: &[Duration]) -> Result<()> {
    if !backoff.is_empty() && backoff.len() as i64 >= max_deliver {
        return Err(Error::invalid(
            fields.at("backoff"),
            format!(
                "`backoff` has {} entries but `max-deliver` is {max_deliver}: NATS needs more deliveries than backoff steps",
                backoff.len()
            ),
        ));
    }
    Ok(())
}

/// A subject filter: like a subject, but `*` tokens and a final `>` are allowed.
pub(crate) fn check_filter(filter: &str) -> std::result::Result<(), String> {
    if filter.is_empty() {
        return Err("the subject is empty".into());
    }
    let tokens: Vec<&str> = filter.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err("a token is empty".into());
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("it contains whitespace".into());
        }
        if *token == ">" && i + 1 != tokens.len() {
            return Err("`>` may only be the last token".into());
        }
        if *token != "*" && *token != ">" && token.contains(['*', '>']) {
            return Err(format!("token `{token}` mixes a wildcard with text"));
        }
    }
    Ok(())
}
