//! The `x-jetwire` extension: defaults, overrides, the consumer plan, and 2.6 and 3.1
//! versions of one document lowering to the same facts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jetwire_codegen::ir::{Action, JobClass, Severity, Spec, StorageKind};
use jetwire_codegen::load::{load_spec, load_spec_from_str};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/load")
}

/// A 3.1 document with one `receive` operation per `(id, address, x-jetwire)` and the
/// root `x-jetwire` given as YAML text (indented by two spaces), if any.
fn document(root_extension: &str, operations: &[(&str, &str, &str)]) -> String {
    let mut text = String::from("asyncapi: 3.1.0\ninfo: {title: T, version: '1'}\n");
    if !root_extension.is_empty() {
        text.push_str("x-jetwire:\n");
        text.push_str(root_extension);
    }
    text.push_str("channels:\n");
    for (id, address, _) in operations {
        text.push_str(&format!(
            "  {id}Channel:\n    address: '{address}'\n    messages:\n      {id}Request:\n        correlationId: {{location: '$message.payload#/request_id'}}\n        payload: {{type: object}}\n"
        ));
        let parameters: Vec<&str> = address
            .split('.')
            .filter_map(|t| t.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        if !parameters.is_empty() {
            text.push_str("    parameters:\n");
            for p in parameters {
                text.push_str(&format!("      {p}: {{description: The {p}.}}\n"));
            }
        }
    }
    text.push_str("operations:\n");
    for (id, _, extension) in operations {
        text.push_str(&format!(
            "  {id}:\n    action: receive\n    channel: {{$ref: '#/channels/{id}Channel'}}\n"
        ));
        if !extension.is_empty() {
            text.push_str(&format!("    x-jetwire: {extension}\n"));
        }
    }
    text
}

fn load(text: &str) -> Spec {
    load_spec_from_str(Path::new("inline.yaml"), text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn filters(spec: &Spec) -> Vec<(String, JobClass, String)> {
    spec.jetstream
        .consumers
        .iter()
        .map(|c| (c.durable.clone(), c.class, c.filter_subject.clone()))
        .collect()
}

#[test]
fn defaults_fill_everything_in() {
    let spec = load(&document(
        "",
        &[
            ("getDns", "jobs.query.dns.{target}", ""),
            ("getDisk", "jobs.query.disk.{target}", ""),
            ("setDns", "jobs.modify.dns.{target}", ""),
        ],
    ));
    let js = &spec.jetstream;
    assert_eq!(js.stream.name, "JOBS");
    assert_eq!(
        js.stream.subjects,
        vec!["jobs.modify.dns.*", "jobs.query.disk.*", "jobs.query.dns.*"]
    );
    assert_eq!(js.stream.storage, StorageKind::File);
    assert_eq!(
        (
            js.stream.max_bytes,
            js.stream.max_msgs,
            js.stream.max_msg_size
        ),
        (-1, -1, -1)
    );
    assert_eq!(js.stream.duplicate_window, Duration::from_secs(120));
    assert_eq!(js.stream.replicas, 1);
    assert_eq!(js.responses.bucket, "JOBS_RESPONSES");
    assert_eq!(js.responses.ttl, Duration::from_secs(24 * 3600));
    assert_eq!(js.responses.history, 1);
    assert_eq!(js.dead_letter.stream, "JOBS_DLQ");
    assert_eq!(js.defaults, Default::default());

    let op = |id: &str| spec.operations.iter().find(|o| o.id == id).unwrap();
    assert_eq!(op("getDns").policy.class, JobClass::Query);
    assert_eq!(op("setDns").policy.class, JobClass::Modify);
    assert!(op("getDns").policy.retryable);
    assert!(!op("setDns").policy.retryable);
    assert_eq!(
        op("setDns").policy.request_id_pointer.as_deref(),
        Some("/request_id")
    );
    assert_eq!(op("getDns").policy.timeout, Duration::from_secs(30));
    assert_eq!(op("getDns").policy.partitions, None);

    assert_eq!(
        filters(&spec),
        vec![
            ("jobs-query".into(), JobClass::Query, "jobs.query.>".into()),
            (
                "jobs-modify".into(),
                JobClass::Modify,
                "jobs.modify.>".into()
            ),
        ]
    );
    let consumers = &js.consumers;
    assert_eq!(consumers[0].concurrency, 16);
    assert_eq!(consumers[1].concurrency, 4);
    assert_eq!(consumers[0].max_deliver, 10);
    assert_eq!(consumers[0].ack_wait, Duration::from_secs(30));
    assert_eq!(consumers[1].backoff, js.defaults.backoff);
    assert!(spec.diagnostics.is_empty(), "{:?}", spec.diagnostics);
}

#[test]
fn every_setting_can_be_overridden() {
    let root = "  stream:
    name: MY_JOBS
    subjects: [svc.>]
    storage: memory
    max-bytes: 1048576
    max-msgs: 1000
    max-msg-size: 65536
    duplicate-window: 5m
    replicas: 3
  responses: {bucket: MY_RESPONSES, ttl: 1h, history: 5, replicas: 3}
  dead-letter: {stream: MY_DLQ, replicas: 3}
  defaults:
    timeout: 500ms
    max-deliver: 4
    backoff: [1s, 1500]
    ack-wait: 1m30s
    max-ack-pending: 10
    query-concurrency: 2
    modify-concurrency: 1
";
    let spec = load(&document(
        root,
        &[
            ("read", "svc.read.{host}", "{class: modify, retryable: true, timeout: 2m, request-id: /id, routing-key: '{host}'}"),
            ("write", "svc.write.{host}", "{class: query}"),
            ("plain", "jobs.modify.x", ""),
        ],
    ));
    let js = &spec.jetstream;
    assert_eq!(js.stream.name, "MY_JOBS");
    assert_eq!(js.stream.subjects, vec!["svc.>"]);
    assert_eq!(js.stream.storage, StorageKind::Memory);
    assert_eq!(js.stream.max_bytes, 1_048_576);
    assert_eq!(js.stream.max_msgs, 1000);
    assert_eq!(js.stream.max_msg_size, 65_536);
    assert_eq!(js.stream.duplicate_window, Duration::from_secs(300));
    assert_eq!(js.stream.replicas, 3);
    assert_eq!(js.responses.bucket, "MY_RESPONSES");
    assert_eq!(js.responses.ttl, Duration::from_secs(3600));
    assert_eq!(js.responses.history, 5);
    assert_eq!(js.dead_letter.stream, "MY_DLQ");
    assert_eq!(js.dead_letter.replicas, 3);
    let d = &js.defaults;
    assert_eq!(d.timeout, Duration::from_millis(500));
    assert_eq!(d.max_deliver, 4);
    assert_eq!(
        d.backoff,
        vec![Duration::from_secs(1), Duration::from_millis(1500)]
    );
    assert_eq!(d.ack_wait, Duration::from_secs(90));
    assert_eq!(d.max_ack_pending, 10);
    assert_eq!((d.query_concurrency, d.modify_concurrency), (2, 1));

    let op = |id: &str| spec.operations.iter().find(|o| o.id == id).unwrap();
    let read = &op("read").policy;
    assert_eq!(read.class, JobClass::Modify);
    assert!(read.retryable);
    assert_eq!(read.timeout, Duration::from_secs(120));
    assert_eq!(read.request_id_pointer.as_deref(), Some("/id"));
    assert_eq!(read.routing_key.as_deref(), Some("{host}"));
    // A routing key without `partitions` partitions nothing (a note says so).
    assert_eq!(read.partitions, None);
    assert_eq!(read.partitioning, None);
    let write = &op("write").policy;
    assert_eq!(write.class, JobClass::Query);
    assert!(write.retryable);
    assert_eq!(write.timeout, Duration::from_millis(500));
    assert_eq!(op("plain").policy.class, JobClass::Modify);

    // Classes come from x-jetwire, not from the subjects: `read` is a modification, and
    // no single filter covers `svc.read.*` and `jobs.modify.x` but not `svc.write.*`.
    assert_eq!(
        filters(&spec),
        vec![
            ("jobs-query".into(), JobClass::Query, "svc.write.>".into()),
            ("read".into(), JobClass::Modify, "svc.read.*".into()),
            ("plain".into(), JobClass::Modify, "jobs.modify.x".into()),
        ]
    );
    let modify = &js.consumers[1];
    assert_eq!(modify.concurrency, 1);
    assert_eq!(modify.max_deliver, 4);
    assert_eq!(modify.ack_wait, Duration::from_secs(90));
}

#[test]
fn consumer_filters_separate_classes() {
    // A shared prefix does not separate; the narrowest positional filter does.
    let spec = load(&document(
        "",
        &[
            ("aRead", "svc.a.read", "{class: query}"),
            ("bRead", "svc.b.read", "{class: query}"),
            ("aWrite", "svc.a.write", "{class: modify}"),
            ("bWrite", "svc.b.write", "{class: modify}"),
        ],
    ));
    assert_eq!(
        filters(&spec),
        vec![
            ("jobs-query".into(), JobClass::Query, "svc.*.read".into()),
            ("jobs-modify".into(), JobClass::Modify, "svc.*.write".into()),
        ]
    );
    assert!(spec.diagnostics.is_empty(), "{:?}", spec.diagnostics);
}

#[test]
fn one_consumer_per_operation_when_no_filter_separates() {
    let spec = load(&document(
        "",
        &[
            ("getDns", "jobs.query.dns.{target}", ""),
            ("report", "svc.report", ""),
            ("setDns", "jobs.modify.dns.{target}", ""),
        ],
    ));
    assert_eq!(
        filters(&spec),
        vec![
            ("getDns".into(), JobClass::Query, "jobs.query.dns.*".into()),
            ("report".into(), JobClass::Query, "svc.report".into()),
            (
                "jobs-modify".into(),
                JobClass::Modify,
                "jobs.modify.>".into()
            ),
        ]
    );
    let notes: Vec<_> = spec
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", spec.diagnostics);
    assert!(
        notes[0]
            .message
            .contains("one consumer per query operation"),
        "{}",
        notes[0].message
    );
}

#[test]
fn explicit_consumers_replace_the_plan() {
    let root = "  defaults: {max-deliver: 3, backoff: [1s], query-concurrency: 7}
  consumers:
    - {durable: all-reads, class: query, filter-subject: 'jobs.query.>'}
    - {durable: all-writes, class: modify, filter-subject: 'jobs.modify.>', max-deliver: 1, backoff: [], concurrency: 2, ack-wait: 5s, max-ack-pending: 3}
";
    let spec = load(&document(
        root,
        &[("getDns", "jobs.query.dns.{target}", "")],
    ));
    let c = &spec.jetstream.consumers;
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].durable.as_str(), c[0].class),
        ("all-reads", JobClass::Query)
    );
    assert_eq!(c[0].max_deliver, 3);
    assert_eq!(c[0].backoff, vec![Duration::from_secs(1)]);
    assert_eq!(c[0].concurrency, 7);
    assert_eq!(c[1].filter_subject, "jobs.modify.>");
    assert_eq!(c[1].max_deliver, 1);
    assert!(c[1].backoff.is_empty());
    assert_eq!(c[1].concurrency, 2);
    assert_eq!(c[1].ack_wait, Duration::from_secs(5));
    assert_eq!(c[1].max_ack_pending, 3);
}

/// The facts both versions state, in a comparable form.
fn facts(spec: &Spec) -> Vec<String> {
    let mut out = Vec::new();
    for op in &spec.operations {
        let channel = &spec.channels[op.channel.0];
        let message_keys: Vec<&str> = op
            .messages
            .iter()
            .map(|m| spec.messages[m.0].key.as_str())
            .collect();
        out.push(format!(
            "op {} {:?} {} {:?} {:?} {:?} tags={:?} summary={:?}",
            op.id,
            op.action,
            channel
                .subject
                .as_ref()
                .map(|s| s.template())
                .unwrap_or_default(),
            message_keys,
            op.policy,
            channel
                .parameters
                .iter()
                .map(|p| (
                    &p.name,
                    &p.enum_values,
                    &p.default,
                    &p.examples,
                    &p.description
                ))
                .collect::<Vec<_>>(),
            op.tags,
            op.summary,
        ));
        for m in &op.messages {
            let message = &spec.messages[m.0];
            let payload = message.payload.map(|p| spec.schemas.get(p));
            out.push(format!(
                "message {} name={:?} summary={:?} content={:?} headers={} correlation={:?} payload_props={:?}",
                message.key,
                message.name,
                message.summary,
                message.content_type,
                message.headers.is_some(),
                message.correlation_id.as_ref().map(|c| &c.location),
                payload.map(|p| p.schema.properties.keys().cloned().collect::<Vec<_>>()),
            ));
        }
    }
    out.push(format!("{:?}", spec.jetstream));
    out
}

#[test]
fn the_same_document_in_2_6_and_3_1_lowers_to_the_same_facts() {
    let v3 = load_spec(&fixtures().join("dns-3.1.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let v2 = load_spec(&fixtures().join("dns-2.6.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(facts(&v3), facts(&v2));
    assert_eq!(v3.info.title, v2.info.title);

    // Spot checks, so that equal facts are also the right ones.
    let set_dns = v3.operations.iter().find(|o| o.id == "setDns").unwrap();
    assert_eq!(set_dns.action, Action::Receive);
    assert_eq!(set_dns.policy.class, JobClass::Modify);
    assert!(set_dns.policy.retryable);
    assert_eq!(set_dns.policy.timeout, Duration::from_secs(60));
    // The trait supplies the correlation id, hence the request id pointer.
    assert_eq!(
        set_dns.policy.request_id_pointer.as_deref(),
        Some("/request_id")
    );
    let get_dns = v2.operations.iter().find(|o| o.id == "getDns").unwrap();
    assert_eq!(get_dns.tags, vec!["dns"]);
    assert_eq!(get_dns.policy.timeout, Duration::from_secs(10));
    assert_eq!(v2.jetstream.stream.name, "DNS_JOBS");
    assert_eq!(v2.jetstream.consumers[0].max_deliver, 5);
    let target = &v2.channels[get_dns.channel.0].parameters[0];
    assert_eq!(target.enum_values, vec!["_any", "_all"]);
    assert_eq!(target.default.as_deref(), Some("_any"));
}

#[test]
fn overlapping_receive_subjects_are_warned_about() {
    let spec = load(&document(
        "",
        &[
            ("getA", "jobs.query.a.{target}", ""),
            ("getAny", "jobs.query.{what}.x", ""),
            ("getB", "jobs.query.b.{target}", ""),
        ],
    ));
    let overlaps: Vec<&str> = spec
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.message.contains("overlapping subjects"))
        .map(|d| d.message.as_str())
        .collect();
    // `jobs.query.a.x` and `jobs.query.b.x` each match two operations; `getA` and
    // `getB` never share a subject.
    assert_eq!(overlaps.len(), 2, "{overlaps:?}");
    assert!(
        overlaps[0].contains("`getA` and `getAny`"),
        "{}",
        overlaps[0]
    );
    assert!(
        overlaps[1].contains("`getAny` and `getB`"),
        "{}",
        overlaps[1]
    );
}

#[test]
fn json_documents_load_like_yaml() {
    let yaml = load_spec(&fixtures().join("dns-3.1.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let json = load_spec(&fixtures().join("dns-3.1.json")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(facts(&yaml), facts(&json));
    // Positions are known in JSON too.
    let op = json.operations.iter().find(|o| o.id == "setDns").unwrap();
    assert!(op.location.line.is_some_and(|l| l > 1));
    assert_ne!(yaml.source.sha256, json.source.sha256);
}
