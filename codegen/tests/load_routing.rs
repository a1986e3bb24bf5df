//! Routing in `x-jetwire`: the registry, targets, leases and keyed partitions — what the
//! loader puts into the IR, and the error (where and why) for every rule it enforces.

use std::path::Path;
use std::time::Duration;

use jetwire_codegen::ir::{JobClass, Partitioning, RoutingKey, Severity, Spec};
use jetwire_codegen::load::load_spec_from_str;
use jetwire_codegen::Error;

/// A 3.1 document: the root `x-jetwire` (YAML text indented by two spaces), then one
/// `receive` operation per `(id, address, operation x-jetwire)`. Every request payload
/// has the properties `system_id` (string) and `point` (object with `id`).
fn document(root_extension: &str, operations: &[(&str, &str, &str)]) -> String {
    let mut text = String::from("asyncapi: 3.1.0\ninfo: {title: T, version: '1'}\n");
    if !root_extension.is_empty() {
        text.push_str("x-jetwire:\n");
        text.push_str(root_extension);
    }
    text.push_str("channels:\n");
    for (id, address, _) in operations {
        text.push_str(&format!(
            "  {id}Channel:\n    address: '{address}'\n    messages:\n      {id}Request:\n        \
             payload:\n          type: object\n          properties:\n            system_id: {{type: string}}\n            \
             point:\n              type: object\n              properties:\n                id: {{type: string}}\n"
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

fn load_err(text: &str) -> Error {
    match load_spec_from_str(Path::new("inline.yaml"), text) {
        Ok(_) => panic!("the document loaded:\n{text}"),
        Err(e) => e,
    }
}

/// The error points at `pointer`, on the line holding `needle`, and says `why`.
#[track_caller]
fn assert_error(text: &str, pointer: &str, needle: &str, why: &str) {
    let err = load_err(text);
    let message = err.to_string();
    let location = err
        .location()
        .unwrap_or_else(|| panic!("no location: {message}"));
    assert_eq!(location.pointer, pointer, "{message}");
    let line = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the document")) as u32
        + 1;
    assert_eq!(location.line, Some(line), "{message}");
    assert!(message.contains(why), "`{why}` not in: {message}");
}

const KEYED: &str = "{class: modify, routing-key: '$message.payload#/system_id', partitions: 8}";

#[test]
fn defaults_registry_without_targets_or_leases() {
    let spec = load(&document(
        "  stream: {name: COORD_JOBS, replicas: 3}\n",
        &[("get", "coord.get", "")],
    ));
    let js = &spec.jetstream;
    assert_eq!(js.registry.bucket, "COORD_JOBS_WORKERS");
    assert_eq!(js.registry.heartbeat, Duration::from_secs(2));
    assert_eq!(js.registry.ttl, Duration::from_secs(10));
    assert_eq!(js.registry.replicas, 3);
    assert!(js.targets.is_none());
    assert!(js.leases.is_none());
}

#[test]
fn registry_targets_and_leases_are_read() {
    let spec = load(&document(
        "  stream: {name: S}
  registry: {bucket: AGENTS, heartbeat: 500ms, ttl: 3s, replicas: 2}
  targets: {parameter: target}
  leases: {bucket: MY_LEASES, ttl: 20s, replicas: 3}
",
        &[
            ("getDns", "jobs.query.dns.{target}", ""),
            ("move", "coord.{partition}.point.move", KEYED),
            (
                "get",
                "coord.{partition}.point.get",
                "{routing-key: '$message.payload#/point/id', partitions: 8}",
            ),
        ],
    ));
    let js = &spec.jetstream;
    assert_eq!(js.registry.bucket, "AGENTS");
    assert_eq!(js.registry.heartbeat, Duration::from_millis(500));
    assert_eq!(js.registry.ttl, Duration::from_secs(3));
    assert_eq!(js.registry.replicas, 2);
    assert_eq!(js.targets.as_ref().unwrap().parameter, "target");
    let leases = js
        .leases
        .as_ref()
        .expect("leases: an operation is partitioned");
    assert_eq!(
        (leases.bucket.as_str(), leases.ttl, leases.replicas),
        ("MY_LEASES", Duration::from_secs(20), 3)
    );
    let op = |id: &str| spec.operations.iter().find(|o| o.id == id).unwrap();
    assert_eq!(
        op("move").policy.partitioning,
        Some(Partitioning {
            key: RoutingKey::Payload("/system_id".into()),
            count: 8,
            parameter: "partition".into(),
        })
    );
    assert_eq!(
        op("get").policy.partitioning.as_ref().unwrap().key,
        RoutingKey::Payload("/point/id".into())
    );
    assert_eq!(op("getDns").policy.partitioning, None);
    let consumers: Vec<_> = js
        .consumers
        .iter()
        .map(|c| {
            (
                c.durable.as_str(),
                c.class,
                c.filter_subject.as_str(),
                c.partitions,
            )
        })
        .collect();
    assert_eq!(
        consumers,
        vec![
            (
                "jobs-query",
                JobClass::Query,
                "jobs.query.dns.{target}",
                None
            ),
            (
                "jobs-partitioned",
                JobClass::Modify,
                "coord.{partition}.>",
                Some(8)
            ),
        ]
    );
    // The partition consumers' filters (`coord.<i>.>`) must each fall under one stream
    // subject, so the per-operation subjects give way to `coord.*.>`.
    assert_eq!(js.stream.subjects, vec!["coord.*.>", "jobs.query.dns.*"]);
}

#[test]
fn leases_without_a_partitioned_operation_are_noted() {
    let spec = load(&document(
        "  leases: {ttl: 5s}\n",
        &[("get", "coord.get", "")],
    ));
    assert!(spec.jetstream.leases.is_none());
    assert!(spec
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Note && d.message.contains("leases has no effect")));
}

#[test]
fn a_parameter_routing_key_is_read() {
    let spec = load(&document(
        "",
        &[(
            "get",
            "coord.{partition}.{system}.get",
            "{routing-key: '{system}', partitions: 4}",
        )],
    ));
    assert_eq!(
        spec.operations[0].policy.partitioning.as_ref().unwrap().key,
        RoutingKey::Parameter("system".into())
    );
}

#[test]
fn registry_ttl_must_exceed_heartbeat() {
    let text = document(
        "  registry: {heartbeat: 5s, ttl: 5s}\n",
        &[("get", "coord.get", "")],
    );
    assert_error(
        &text,
        "/x-jetwire/registry/ttl",
        "registry:",
        "must be longer than `heartbeat`",
    );
}

#[test]
fn registry_keys_are_checked() {
    let text = document("  registry: {buckets: X}\n", &[("get", "coord.get", "")]);
    let err = load_err(&text).to_string();
    assert!(err.contains("buckets"), "{err}");
    let text = document("  registry: {bucket: 'A.B'}\n", &[("get", "coord.get", "")]);
    assert_error(
        &text,
        "/x-jetwire/registry/bucket",
        "registry:",
        "not a valid NATS name",
    );
}

#[test]
fn targets_need_an_operation_with_the_parameter() {
    let text = document(
        "  targets:\n    parameter: agent\n",
        &[("getDns", "jobs.query.dns.{target}", "")],
    );
    assert_error(
        &text,
        "/x-jetwire/targets/parameter",
        "parameter: agent",
        "no `receive` operation's channel address has the parameter `{agent}`",
    );
}

#[test]
fn the_target_parameter_cannot_be_the_partition() {
    let text = document(
        "  targets:\n    parameter: partition\n",
        &[("getDns", "jobs.query.dns.{partition}", "")],
    );
    assert_error(
        &text,
        "/x-jetwire/targets/parameter",
        "parameter: partition",
        "keyed-partition parameter",
    );
}

#[test]
fn a_partitioned_operation_needs_the_partition_parameter() {
    let text = document("", &[("move", "coord.point.move", KEYED)]);
    assert_error(
        &text,
        "/operations/move/x-jetwire/partitions",
        "x-jetwire: {class",
        "must hold a `{partition}` parameter token",
    );
}

#[test]
fn a_payload_routing_key_must_name_a_payload_field() {
    let text = document(
        "",
        &[(
            "move",
            "coord.{partition}.point.move",
            "{routing-key: '$message.payload#/point/x', partitions: 8}",
        )],
    );
    assert_error(
        &text,
        "/operations/move/x-jetwire/routing-key",
        "x-jetwire: {routing-key",
        "has no field at `/point/x`",
    );
    let text = document(
        "",
        &[(
            "move",
            "coord.{partition}.point.move",
            "{routing-key: '$message.payload#', partitions: 8}",
        )],
    );
    assert_error(
        &text,
        "/operations/move/x-jetwire/routing-key",
        "x-jetwire: {routing-key",
        "must point at a payload field",
    );
}

#[test]
fn a_parameter_routing_key_must_be_a_parameter_other_than_the_partition() {
    let text = document(
        "",
        &[(
            "move",
            "coord.{partition}.point.move",
            "{routing-key: '{system}', partitions: 8}",
        )],
    );
    assert_error(
        &text,
        "/operations/move/x-jetwire/routing-key",
        "x-jetwire: {routing-key",
        "names no parameter of channel `moveChannel` (its parameters: `partition`)",
    );
    let text = document(
        "",
        &[(
            "move",
            "coord.{partition}.point.move",
            "{routing-key: '{partition}', partitions: 8}",
        )],
    );
    assert_error(
        &text,
        "/operations/move/x-jetwire/routing-key",
        "x-jetwire: {routing-key",
        "computed from the key",
    );
}

#[test]
fn an_operation_is_not_both_partitioned_and_targeted() {
    let text = document(
        "  targets: {parameter: target}\n",
        &[("move", "coord.{partition}.{target}.move", KEYED)],
    );
    assert_error(
        &text,
        "/operations/move/x-jetwire/partitions",
        "x-jetwire: {class",
        "cannot be both partitioned and targeted",
    );
}

#[test]
fn one_partition_consumer_needs_one_count() {
    let text = document(
        "",
        &[
            ("create", "coord.{partition}.system.create", KEYED),
            (
                "move",
                "coord.{partition}.point.move",
                "{routing-key: '$message.payload#/system_id', partitions: 4}",
            ),
        ],
    );
    // The operation's location is its mapping, which starts on the line after its key.
    let err = load_err(&text);
    let message = err.to_string();
    let location = err.location().expect("a location");
    assert_eq!(location.pointer, "/operations/move", "{message}");
    let key_line = text.lines().position(|l| l == "  move:").unwrap() as u32 + 1;
    assert_eq!(location.line, Some(key_line + 1), "{message}");
    assert!(
        message.contains("`move` has `partitions: 4` but `create` has `partitions: 8`"),
        "{message}"
    );
}

#[test]
fn an_explicit_partition_consumer_needs_the_token() {
    let text = document(
        "  consumers:\n    - {durable: keyed, class: modify, filter-subject: 'coord.>', partitions: 8}\n",
        &[("create", "coord.{partition}.system.create", KEYED)],
    );
    assert_error(
        &text,
        "/x-jetwire/consumers/0/partitions",
        "durable: keyed",
        "must hold the `{partition}` token",
    );
}
