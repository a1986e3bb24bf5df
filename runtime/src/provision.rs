//! Provisioning: makes the server hold exactly the JetStream resources a [`ServiceSpec`]
//! describes — the jobs stream, its durable pull consumers, the responses KV bucket, the
//! worker registry bucket, and the dead-letter stream with its advisory consumer; for keyed
//! partitions, one durable per partition and the leases KV bucket.
//!
//! Idempotent: a resource that is missing is created, one that matches is left alone, one
//! that differs is updated when NATS allows the change in place, and reported as
//! [`ProvisionError::Conflict`] naming the field when it does not (retention, storage, ack
//! policy…). A difference is never silently ignored.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};

use crate::partition::{partition_durables, partition_filter, PARTITION_TOKEN};
use crate::spec::{ConsumerSpec, ServiceSpec, StorageSpec};

/// Deployment overrides of the spec's settings.
#[derive(Clone, Debug, Default)]
pub struct ProvisionOptions {
    /// Replicas of the jobs stream, the KV bucket and the dead-letter stream (the spec's
    /// values when `None`); e.g. 1 for a single server, 3 for a cluster.
    pub replicas: Option<usize>,
}

/// What provisioning did to one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Created,
    /// Updated in place; the fields that differed.
    Updated(Vec<&'static str>),
    Unchanged,
}

/// What provisioning did, resource by resource (e.g. `stream OSAPI_JOBS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProvisionReport {
    pub resources: Vec<(String, Change)>,
}

impl ProvisionReport {
    /// Whether nothing had to be created or changed.
    pub fn is_unchanged(&self) -> bool {
        self.resources.iter().all(|(_, c)| *c == Change::Unchanged)
    }
}

impl std::fmt::Display for ProvisionReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (resource, change) in &self.resources {
            match change {
                Change::Created => writeln!(f, "{resource}: created")?,
                Change::Updated(fields) => {
                    writeln!(f, "{resource}: updated {}", fields.join(", "))?
                }
                Change::Unchanged => writeln!(f, "{resource}: unchanged")?,
            }
        }
        Ok(())
    }
}

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The server holds a resource whose configuration differs in a field NATS cannot
    /// change in place.
    #[error(
        "{resource}: `{field}` is {existing} on the server but the spec wants {wanted}; \
         NATS cannot change it in place (delete the resource or align the spec)"
    )]
    Conflict {
        resource: String,
        field: &'static str,
        existing: String,
        wanted: String,
    },
    /// The server refused an update of these fields.
    #[error("{resource}: the server refused to update {fields:?}: {message}")]
    UpdateRefused {
        resource: String,
        fields: Vec<&'static str>,
        message: String,
    },
    #[error("{resource}: {message}")]
    Nats { resource: String, message: String },
    /// The spec describes a resource that cannot be made (e.g. a partitioned consumer
    /// whose filter has no `{partition}` token).
    #[error("{resource}: {message}")]
    InvalidSpec { resource: String, message: String },
}

/// Subject filter of the advisories for jobs that exhausted their deliveries.
pub fn max_deliveries_subject(service: &ServiceSpec) -> String {
    format!(
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.*",
        service.stream.name
    )
}

/// Subject prefix (`jetwire.dlq.<stream>`) of the dead-lettered job messages; one message
/// per request id at `<prefix>.<request_id>`.
pub fn dead_letter_subject_prefix(service: &ServiceSpec) -> String {
    format!("jetwire.dlq.{}", service.stream.name)
}

/// Durable consumer of the dead-letter stream that reads the advisories.
pub fn dead_letter_consumer_name(service: &ServiceSpec) -> String {
    format!("{}_advisories", service.dead_letter.stream)
}

/// Creates or updates every resource of `service`.
pub async fn provision(
    js: &jetstream::Context,
    service: &ServiceSpec,
    options: &ProvisionOptions,
) -> Result<ProvisionReport, ProvisionError> {
    let mut report = ProvisionReport::default();
    let jobs = jobs_stream_config(service, options);
    let change = ensure_stream(js, &jobs).await?;
    report
        .resources
        .push((format!("stream {}", jobs.name), change));
    for c in service.consumers {
        for mut config in consumer_configs(c)? {
            crate::targets::shared_durable_config(service, &mut config);
            let durable = config.durable_name.clone().unwrap_or_default();
            let change = ensure_consumer(js, &jobs.name, config).await?;
            report
                .resources
                .push((format!("consumer {}/{durable}", jobs.name), change));
        }
    }
    let kv = responses_stream_config(service, options);
    let change = ensure_stream(js, &kv).await?;
    report
        .resources
        .push((format!("kv bucket {}", service.responses.bucket), change));
    if let (Some(spec), Some(config)) = (&service.leases, lease_stream_config(service, options)) {
        let change = ensure_stream(js, &config).await?;
        report
            .resources
            .push((format!("kv bucket {}", spec.bucket), change));
    }
    let registry = crate::registry::registry_stream_config(service, options);
    let change = ensure_stream(js, &registry).await?;
    report
        .resources
        .push((format!("kv bucket {}", service.registry.bucket), change));
    let dl = dead_letter_stream_config(service, options);
    let change = ensure_stream(js, &dl).await?;
    report
        .resources
        .push((format!("stream {}", dl.name), change));
    let change = ensure_consumer(js, &dl.name, dead_letter_consumer_config(service)).await?;
    report.resources.push((
        format!(
            "consumer {}/{}",
            dl.name,
            dead_letter_consumer_name(service)
        ),
        change,
    ));
    Ok(report)
}

fn replicas(spec: usize, options: &ProvisionOptions) -> usize {
    options.replicas.unwrap_or(spec).max(1)
}

fn storage(s: StorageSpec) -> stream::StorageType {
    match s {
        StorageSpec::File => stream::StorageType::File,
        StorageSpec::Memory => stream::StorageType::Memory,
    }
}

/// The work-queue stream of jobs.
pub fn jobs_stream_config(service: &ServiceSpec, options: &ProvisionOptions) -> stream::Config {
    let s = &service.stream;
    stream::Config {
        name: s.name.into(),
        subjects: s.subjects.iter().map(|s| s.to_string()).collect(),
        retention: stream::RetentionPolicy::WorkQueue,
        storage: storage(s.storage),
        discard: stream::DiscardPolicy::New,
        max_bytes: s.max_bytes,
        max_messages: s.max_msgs,
        max_message_size: s.max_msg_size,
        max_messages_per_subject: -1,
        max_consumers: -1,
        duplicate_window: s.duplicate_window,
        num_replicas: replicas(s.replicas, options),
        description: Some(format!(
            "jetwire jobs of {} {}",
            service.title, service.version
        )),
        ..Default::default()
    }
}

/// The stream behind a KV bucket, configured as the NATS KV convention wants (created
/// directly: the client library's bucket creation needs account info that not every
/// server version returns in the shape it expects). `max_age` zero = kept until deleted.
pub fn kv_bucket_stream_config(
    bucket: &str,
    history: i64,
    max_age: Duration,
    replicas: usize,
    description: String,
) -> stream::Config {
    stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        discard: stream::DiscardPolicy::New,
        max_bytes: -1,
        max_messages: -1,
        max_message_size: -1,
        max_messages_per_subject: history.max(1),
        max_consumers: -1,
        max_age,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        num_replicas: replicas,
        description: Some(description),
        ..Default::default()
    }
}

/// The stream behind the responses KV bucket.
pub fn responses_stream_config(
    service: &ServiceSpec,
    options: &ProvisionOptions,
) -> stream::Config {
    let r = &service.responses;
    kv_bucket_stream_config(
        r.bucket,
        r.history,
        r.ttl,
        replicas(r.replicas, options),
        format!("jetwire responses of {}", service.title),
    )
}

/// The dead-letter stream: keeps the MAX_DELIVERIES advisories of the jobs stream and the
/// dead-lettered job messages themselves.
pub fn dead_letter_stream_config(
    service: &ServiceSpec,
    options: &ProvisionOptions,
) -> stream::Config {
    stream::Config {
        name: service.dead_letter.stream.into(),
        subjects: vec![
            max_deliveries_subject(service),
            format!("{}.>", dead_letter_subject_prefix(service)),
        ],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        discard: stream::DiscardPolicy::Old,
        max_bytes: -1,
        max_messages: -1,
        max_message_size: -1,
        max_messages_per_subject: -1,
        max_consumers: -1,
        num_replicas: replicas(service.dead_letter.replicas, options),
        description: Some(format!("jetwire dead letters of {}", service.title)),
        ..Default::default()
    }
}

/// A durable pull consumer serving one class of jobs.
pub fn job_consumer_config(c: &ConsumerSpec) -> consumer::Config {
    consumer::Config {
        durable_name: Some(c.durable.into()),
        name: Some(c.durable.into()),
        description: Some(format!("jetwire {:?} jobs", c.class).to_lowercase()),
        ack_policy: consumer::AckPolicy::Explicit,
        deliver_policy: consumer::DeliverPolicy::All,
        ack_wait: c.ack_wait,
        max_deliver: c.max_deliver,
        backoff: c.backoff.to_vec(),
        max_ack_pending: c.max_ack_pending,
        filter_subject: c.filter_subject.into(),
        ..Default::default()
    }
}

/// The durables a consumer spec stands for: itself, or for a partitioned consumer one
/// per partition (`<durable>-<i>`, filter token `{partition}` → `i`, one job in flight
/// so the partition runs in publish order).
pub fn consumer_configs(c: &ConsumerSpec) -> Result<Vec<consumer::Config>, ProvisionError> {
    if c.partitions.is_none() {
        return Ok(vec![job_consumer_config(c)]);
    }
    partition_durables(c)
        .into_iter()
        .map(|(i, durable)| {
            let filter = partition_filter(c, i).ok_or_else(|| ProvisionError::InvalidSpec {
                resource: format!("consumer {}", c.durable),
                message: format!(
                    "partitioned, but its filter '{}' has no {PARTITION_TOKEN} token",
                    c.filter_subject
                ),
            })?;
            Ok(consumer::Config {
                durable_name: Some(durable.clone()),
                name: Some(durable),
                description: Some(
                    format!("jetwire {:?} jobs, partition {i}", c.class).to_lowercase(),
                ),
                filter_subject: filter,
                max_ack_pending: 1,
                ..job_consumer_config(c)
            })
        })
        .collect()
}

/// The stream behind the partition leases KV bucket, when the service has one (one value
/// per key, no age limit: a lease ends by deletion or by not being renewed).
pub fn lease_stream_config(
    service: &ServiceSpec,
    options: &ProvisionOptions,
) -> Option<stream::Config> {
    let l = service.leases.as_ref()?;
    Some(kv_bucket_stream_config(
        l.bucket,
        1,
        Duration::ZERO,
        replicas(l.replicas, options),
        format!("jetwire partition leases of {}", service.title),
    ))
}

/// The durable pull consumer of the dead-letter component.
pub fn dead_letter_consumer_config(service: &ServiceSpec) -> consumer::Config {
    let name = dead_letter_consumer_name(service);
    consumer::Config {
        durable_name: Some(name.clone()),
        name: Some(name),
        description: Some("jetwire dead-letter advisories".into()),
        ack_policy: consumer::AckPolicy::Explicit,
        deliver_policy: consumer::DeliverPolicy::All,
        ack_wait: Duration::from_secs(30),
        filter_subject: max_deliveries_subject(service),
        ..Default::default()
    }
}

/// One compared field: name, server value, wanted value, whether NATS can change it.
struct Diff {
    field: &'static str,
    existing: String,
    wanted: String,
    mutable: bool,
}

fn diff<T: PartialEq + std::fmt::Debug>(
    out: &mut Vec<Diff>,
    field: &'static str,
    existing: T,
    wanted: T,
    mutable: bool,
) {
    if existing != wanted {
        out.push(Diff {
            field,
            existing: format!("{existing:?}"),
            wanted: format!("{wanted:?}"),
            mutable,
        });
    }
}

fn stream_diffs(existing: &stream::Config, wanted: &stream::Config) -> Vec<Diff> {
    let mut d = Vec::new();
    diff(
        &mut d,
        "retention",
        existing.retention,
        wanted.retention,
        false,
    );
    diff(&mut d, "storage", existing.storage, wanted.storage, false);
    let mut es = existing.subjects.clone();
    let mut ws = wanted.subjects.clone();
    es.sort();
    ws.sort();
    diff(&mut d, "subjects", es, ws, true);
    diff(&mut d, "discard", existing.discard, wanted.discard, true);
    diff(
        &mut d,
        "max_bytes",
        existing.max_bytes,
        wanted.max_bytes,
        true,
    );
    diff(
        &mut d,
        "max_msgs",
        existing.max_messages,
        wanted.max_messages,
        true,
    );
    diff(
        &mut d,
        "max_msg_size",
        existing.max_message_size,
        wanted.max_message_size,
        true,
    );
    diff(
        &mut d,
        "max_msgs_per_subject",
        existing.max_messages_per_subject,
        wanted.max_messages_per_subject,
        true,
    );
    diff(&mut d, "max_age", existing.max_age, wanted.max_age, true);
    // Zero leaves the window to the server's default.
    if !wanted.duplicate_window.is_zero() {
        diff(
            &mut d,
            "duplicate_window",
            existing.duplicate_window,
            wanted.duplicate_window,
            true,
        );
    }
    diff(
        &mut d,
        "num_replicas",
        existing.num_replicas,
        wanted.num_replicas,
        true,
    );
    diff(
        &mut d,
        "allow_rollup_hdrs",
        existing.allow_rollup,
        wanted.allow_rollup,
        true,
    );
    diff(
        &mut d,
        "deny_delete",
        existing.deny_delete,
        wanted.deny_delete,
        true,
    );
    diff(
        &mut d,
        "allow_direct",
        existing.allow_direct,
        wanted.allow_direct,
        true,
    );
    d
}

fn consumer_diffs(existing: &consumer::Config, wanted: &consumer::Config) -> Vec<Diff> {
    let mut d = Vec::new();
    diff(
        &mut d,
        "ack_policy",
        existing.ack_policy,
        wanted.ack_policy,
        false,
    );
    diff(
        &mut d,
        "deliver_policy",
        existing.deliver_policy,
        wanted.deliver_policy,
        false,
    );
    diff(
        &mut d,
        "deliver_subject (pull vs push)",
        &existing.deliver_subject,
        &wanted.deliver_subject,
        false,
    );
    diff(
        &mut d,
        "filter_subject",
        &existing.filter_subject,
        &wanted.filter_subject,
        true,
    );
    // With a backoff the server takes its first step as the ack wait.
    let wanted_ack_wait = wanted.backoff.first().copied().unwrap_or(wanted.ack_wait);
    diff(&mut d, "ack_wait", existing.ack_wait, wanted_ack_wait, true);
    diff(
        &mut d,
        "max_deliver",
        existing.max_deliver.max(-1),
        if wanted.max_deliver <= 0 {
            -1
        } else {
            wanted.max_deliver
        },
        true,
    );
    diff(&mut d, "backoff", &existing.backoff, &wanted.backoff, true);
    // Zero or negative leaves it to the server's default.
    if wanted.max_ack_pending > 0 {
        diff(
            &mut d,
            "max_ack_pending",
            existing.max_ack_pending,
            wanted.max_ack_pending,
            true,
        );
    }
    d
}

/// Creates the stream, or checks and updates it.
async fn ensure_stream(
    js: &jetstream::Context,
    wanted: &stream::Config,
) -> Result<Change, ProvisionError> {
    let resource = format!("stream {}", wanted.name);
    let nats = |e: &dyn std::fmt::Display| ProvisionError::Nats {
        resource: resource.clone(),
        message: e.to_string(),
    };
    let existing = match js.get_stream(&wanted.name).await {
        Ok(mut s) => s.info().await.map_err(|e| nats(&e))?.config.clone(),
        Err(e) if stream_not_found(&e) => {
            js.create_stream(wanted.clone())
                .await
                .map_err(|e| nats(&e))?;
            return Ok(Change::Created);
        }
        Err(e) => return Err(nats(&e)),
    };
    let diffs = stream_diffs(&existing, wanted);
    apply(&resource, diffs, || async {
        js.update_stream(wanted.clone())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await
}

/// Creates the durable consumer, or checks and updates it.
async fn ensure_consumer(
    js: &jetstream::Context,
    stream_name: &str,
    wanted: consumer::Config,
) -> Result<Change, ProvisionError> {
    let name = wanted.durable_name.clone().unwrap_or_default();
    let resource = format!("consumer {stream_name}/{name}");
    let nats = |e: &dyn std::fmt::Display| ProvisionError::Nats {
        resource: resource.clone(),
        message: e.to_string(),
    };
    let stream = js.get_stream(stream_name).await.map_err(|e| nats(&e))?;
    let existing = match stream.consumer_info(&name).await {
        Ok(info) => info.config,
        Err(e)
            if matches!(
                e.kind(),
                jetstream::context::ConsumerInfoErrorKind::NotFound
            ) =>
        {
            stream
                .create_consumer(wanted.clone())
                .await
                .map_err(|e| nats(&e))?;
            return Ok(Change::Created);
        }
        Err(e) => return Err(nats(&e)),
    };
    let diffs = consumer_diffs(&existing, &wanted);
    apply(&resource, diffs, || async {
        // A create with the same durable name updates it (on every server version).
        stream
            .create_consumer(wanted.clone())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await
}

async fn apply<F, Fut>(
    resource: &str,
    diffs: Vec<Diff>,
    update: F,
) -> Result<Change, ProvisionError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    if let Some(d) = diffs.iter().find(|d| !d.mutable) {
        return Err(ProvisionError::Conflict {
            resource: resource.into(),
            field: d.field,
            existing: d.existing.clone(),
            wanted: d.wanted.clone(),
        });
    }
    if diffs.is_empty() {
        return Ok(Change::Unchanged);
    }
    let fields: Vec<&'static str> = diffs.iter().map(|d| d.field).collect();
    tracing::info!(%resource, ?fields, "updating JetStream resource to match the spec");
    update()
        .await
        .map_err(|message| ProvisionError::UpdateRefused {
            resource: resource.into(),
            fields: fields.clone(),
            message,
        })?;
    Ok(Change::Updated(fields))
}

/// Whether a stream lookup failed because the stream does not exist.
fn stream_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(err)
            if err.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}
