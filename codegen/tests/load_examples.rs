//! Every official example document (3.1 and 2.6, multi-file ones included) loads, and
//! lowers to the facts the document states.

use std::path::{Path, PathBuf};

use jetwire_codegen::ir::{Action, Severity, Spec};
use jetwire_codegen::load::load_spec;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/asyncapi/examples")
}

fn documents(version: &str) -> Vec<PathBuf> {
    let dir = examples().join(version);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    for service in std::fs::read_dir(dir.join("social-media")).unwrap() {
        let file = service.unwrap().path().join("asyncapi.yaml");
        if file.exists() {
            out.push(file);
        }
    }
    out.sort();
    out
}

fn load(relative: &str) -> Spec {
    let path = examples().join(relative);
    load_spec(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_loads() {
    for version in ["3.1", "2.6"] {
        let docs = documents(version);
        assert!(docs.len() > 15, "{version}: only {} documents", docs.len());
        for doc in docs {
            let spec = load_spec(&doc).unwrap_or_else(|e| panic!("{e}"));
            assert!(!spec.info.title.is_empty(), "{}", doc.display());
            assert_eq!(spec.source.sha256.len(), 64);
            for d in &spec.diagnostics {
                // Every diagnostic says where, down to the line.
                assert!(
                    d.location.line.is_some() && d.location.file.exists(),
                    "{:?} {}: {}",
                    d.severity,
                    d.location,
                    d.message
                );
            }
        }
    }
}

fn op<'a>(spec: &'a Spec, id: &str) -> &'a jetwire_codegen::ir::Operation {
    spec.operations
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("no operation `{id}`"))
}

fn warnings_about<'a>(spec: &'a Spec, needle: &str) -> Vec<&'a str> {
    spec.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.message.contains(needle))
        .map(|d| d.message.as_str())
        .collect()
}

#[test]
fn streetlights_kafka_3_1() {
    let spec = load("3.1/streetlights-kafka-asyncapi.yml");
    let ids: Vec<(&str, Action)> = spec
        .operations
        .iter()
        .map(|o| (o.id.as_str(), o.action))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("receiveLightMeasurement", Action::Receive),
            ("turnOn", Action::Send),
            ("turnOff", Action::Send),
            ("dimLight", Action::Send),
        ]
    );
    let measured = op(&spec, "receiveLightMeasurement");
    let channel = &spec.channels[measured.channel.0];
    assert_eq!(
        channel.address.as_deref(),
        Some("smartylighting.streetlights.1.0.event.{streetlightId}.lighting.measured")
    );
    // Dotted Kafka topics with whole-token parameters are NATS subjects too.
    assert_eq!(
        channel.subject.as_ref().unwrap().wildcard(),
        "smartylighting.streetlights.1.0.event.*.lighting.measured"
    );
    assert_eq!(channel.parameters[0].name, "streetlightId");
    // `turnOn` and `turnOff` use the same component message: one message.
    assert_eq!(spec.messages.len(), 3);
    assert_eq!(op(&spec, "turnOn").messages, op(&spec, "turnOff").messages);
    let turn = &spec.messages[op(&spec, "turnOn").messages[0].0];
    assert_eq!(turn.key, "turnOnOff");
    assert_eq!(turn.title.as_deref(), Some("Turn on/off"));
    // The `commonHeaders` message trait supplies the headers.
    let headers = spec
        .schemas
        .get(turn.headers.expect("headers from the trait"));
    assert!(headers.schema.properties.contains_key("my-app-header"));
    let payload = spec.schemas.get(turn.payload.unwrap());
    assert_eq!(payload.name.as_deref(), Some("turnOnOffPayload"));
    // The `kafka` operation trait's bindings are noted where the trait is.
    assert!(spec.diagnostics.iter().any(|d| d.severity == Severity::Note
        && d.message.contains("`kafka` bindings")
        && d.location
            .pointer
            .starts_with("/components/operationTraits/kafka")));
    assert!(warnings_about(&spec, "security schemes").len() == 1);
    // The one served operation makes the stream and the consumer.
    assert_eq!(
        spec.jetstream.stream.subjects,
        vec!["smartylighting.streetlights.1.0.event.*.lighting.measured"]
    );
    assert_eq!(spec.jetstream.consumers.len(), 1);
}

#[test]
fn streetlights_mqtt_and_websocket_addresses_are_not_subjects() {
    let spec = load("3.1/streetlights-mqtt-asyncapi.yml");
    assert_eq!(spec.operations.len(), 4);
    for o in &spec.operations {
        assert!(spec.channels[o.channel.0].subject.is_none(), "{}", o.id);
    }
    let skipped = warnings_about(&spec, "gets no client or worker code");
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(
        skipped[0].contains("must be a whole token"),
        "{}",
        skipped[0]
    );
    assert!(spec.jetstream.consumers.is_empty());
    assert!(spec.jetstream.stream.subjects.is_empty());

    let spec = load("2.6/websocket-gemini.yml");
    assert_eq!(
        warnings_about(&spec, "gets no client or worker code").len(),
        1
    );
    // Types are still generated from the messages.
    assert!(!spec.messages.is_empty());
    assert!(spec.messages.iter().all(|m| m.payload.is_some()));
}

#[test]
fn social_media_resolves_refs_across_files() {
    for version in ["3.1", "2.6"] {
        let spec = load(&format!("{version}/social-media/backend/asyncapi.yaml"));
        assert_eq!(spec.operations.len(), 4, "{version}");
        let receive: Vec<&str> = spec
            .operations
            .iter()
            .filter(|o| o.action == Action::Receive)
            .map(|o| spec.channels[o.channel.0].address.as_deref().unwrap())
            .collect();
        assert_eq!(
            receive,
            vec!["like/comment", "comment/{commentId}/changed"],
            "{version}"
        );
        // Messages come from ../common/messages.yaml, their payloads from
        // ../common/schemas.yaml; the schema is named by its title.
        let liked = spec
            .messages
            .iter()
            .find(|m| m.key == "commentLiked")
            .unwrap_or_else(|| {
                panic!(
                    "{version}: {:?}",
                    spec.messages.iter().map(|m| &m.key).collect::<Vec<_>>()
                )
            });
        assert!(
            liked
                .location
                .file
                .ends_with("social-media/common/messages.yaml"),
            "{}",
            liked.location
        );
        let payload = spec.schemas.get(liked.payload.unwrap());
        assert_eq!(payload.name.as_deref(), Some("commentLikedPayload"));
        assert!(payload
            .location
            .file
            .ends_with("social-media/common/schemas.yaml"));
        assert!(payload.location.line.is_some());
        // `commentId` (allOf [$ref '#/commentId', ...]) resolves inside schemas.yaml.
        let comment_id = spec.schemas.get(payload.schema.properties["commentId"]);
        let target = spec.schemas.get(comment_id.schema.all_of[0]);
        assert_eq!(target.location.pointer, "/commentId");
        assert!(target.location.file.ends_with("common/schemas.yaml"));
        // The hash covers the root and every file read.
        let root_only = jetwire_codegen::load::load_spec_from_str(
            &examples().join(format!("{version}/social-media/backend/other.yaml")),
            "asyncapi: 3.1.0\ninfo: {title: x, version: '1'}\n",
        )
        .unwrap();
        assert_ne!(root_only.source.sha256, spec.source.sha256);
    }
}

#[test]
fn two_six_specifics() {
    // `publish` = receive, `subscribe` = send; ids are synthesised when missing.
    let spec = load("2.6/simple.yml");
    assert_eq!(spec.operations.len(), 1);
    assert_eq!(spec.operations[0].id, "subscribeUserSignedup");
    assert_eq!(spec.operations[0].action, Action::Send);
    assert_eq!(warnings_about(&spec, "has no `operationId`").len(), 1);
    assert_eq!(spec.messages[0].key, "UserSignedUp");

    // `oneOf` lists several messages; every component message is kept.
    let spec = load("2.6/oneof.yml");
    let test2 = spec
        .operations
        .iter()
        .find(|o| spec.channels[o.channel.0].key == "test2")
        .unwrap();
    assert_eq!(test2.messages.len(), 2);
    assert_eq!(
        spec.messages.len(),
        5,
        "{:?}",
        spec.messages.iter().map(|m| &m.key).collect::<Vec<_>>()
    );

    // Parameters take enum/default/examples/pattern from their schema.
    let spec = load("2.6/streetlights-kafka.yml");
    let measured = op(&spec, "receiveLightMeasurement");
    assert_eq!(measured.action, Action::Receive);
    let parameter = &spec.channels[measured.channel.0].parameters[0];
    assert_eq!(parameter.name, "streetlightId");
    assert!(parameter.description.is_some());
}

#[test]
fn replies_and_foreign_schema_formats() {
    let spec = load("3.1/adeo-kafka-request-reply-asyncapi.yml");
    let receive = op(&spec, "receiveACostingRequest");
    let reply = receive.reply.as_ref().expect("a reply");
    let reply_channel = &spec.channels[reply.channel.unwrap().0];
    assert_eq!(reply_channel.address, None);
    assert_eq!(
        reply.address_location.as_deref(),
        Some("$message.header#/REPLY_TOPIC")
    );
    assert_eq!(reply.messages.len(), 1);
    assert!(reply.errors.is_empty());
    // Avro payloads are "any" schemas, with a warning (and no network access).
    let avro = warnings_about(&spec, "application/vnd.apache.avro");
    assert_eq!(avro.len(), 2, "{avro:?}");
    let request = &spec.messages[receive.messages[0].0];
    let payload = spec.schemas.get(request.payload.unwrap());
    assert!(payload.schema.types.is_empty() && payload.schema.properties.is_empty());
    assert_eq!(
        request.correlation_id.as_ref().unwrap().header_name(),
        Some("REQUEST_ID")
    );
}

#[test]
fn the_project_contract_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asyncapi.yaml");
    let spec = load_spec(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        spec.diagnostics
            .iter()
            .all(|d| d.severity != Severity::Warning),
        "{:?}",
        spec.diagnostics
    );
    let classes: Vec<_> = spec
        .jetstream
        .consumers
        .iter()
        .map(|c| (c.durable.as_str(), c.filter_subject.as_str()))
        .collect();
    assert_eq!(
        classes,
        vec![
            ("jobs-query", "jobs.query.*.{target}"),
            ("jobs-modify", "jobs.modify.*.{target}")
        ]
    );
    assert_eq!(
        spec.jetstream
            .targets
            .as_ref()
            .map(|t| t.parameter.as_str()),
        Some("target")
    );
    assert_eq!(spec.jetstream.registry.bucket, "OSAPI_AGENTS");
    assert!(spec.jetstream.leases.is_none());
    for o in &spec.operations {
        assert_eq!(o.action, Action::Receive, "{}", o.id);
        assert!(spec.channels[o.channel.0].subject.is_some(), "{}", o.id);
        assert!(o.reply.is_some(), "{}", o.id);
    }
}

#[test]
fn older_2_x_versions_are_read_as_2_6_with_a_note() {
    let text = std::fs::read_to_string(examples().join("2.6/simple.yml"))
        .unwrap()
        .replace("asyncapi: '2.6.0'", "asyncapi: '2.4.0'");
    let spec = jetwire_codegen::load::load_spec_from_str(&examples().join("2.6/simple.yml"), &text)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.source.asyncapi_version, "2.4.0");
    assert!(spec.diagnostics.iter().any(|d| d.severity == Severity::Note
        && d.location.pointer == "/asyncapi"
        && d.message.contains("read as 2.6")));
    assert_eq!(spec.operations.len(), 1);
}

#[test]
fn synthesised_operation_ids_are_unique() {
    let text = "asyncapi: 2.6.0
info: {title: T, version: '1'}
channels:
  /a:
    publish: {message: {payload: {type: string}}}
  a:
    publish: {message: {payload: {type: string}}}
";
    let spec = jetwire_codegen::load::load_spec_from_str(Path::new("ids.yaml"), text)
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = spec.operations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, vec!["publishA", "publishA2"]);
    assert_eq!(spec.operations[1].messages.len(), 1);
    assert_eq!(spec.messages[1].key, "publishA2Message");
}

#[test]
fn everything_through_components() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/load/components-3.1.yaml");
    let spec = load_spec(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.source.asyncapi_version, "3.0.0");
    let ping = op(&spec, "ping");
    assert_eq!(ping.action, Action::Receive);
    // The operation trait sets the class.
    assert_eq!(ping.policy.class, jetwire_codegen::ir::JobClass::Modify);
    let channel = &spec.channels[ping.channel.0];
    assert_eq!(channel.key, "ping");
    assert_eq!(
        channel.subject.as_ref().unwrap().template(),
        "jobs.query.ping.{target}"
    );
    assert_eq!(channel.parameters[0].enum_values, vec!["_any", "_all"]);
    // `#/channels/ping/messages/PingRequest` walks through the channel's `$ref`.
    let request = &spec.messages[ping.messages[0].0];
    assert_eq!(request.key, "PingRequest");
    // The message trait lives in another file; its own `$ref`s resolve there.
    let headers = spec.schemas.get(request.headers.unwrap());
    assert!(headers.location.file.ends_with("common/traits.yaml"));
    assert!(headers.schema.properties.contains_key("traceparent"));
    assert_eq!(
        request
            .correlation_id
            .as_ref()
            .unwrap()
            .description
            .as_deref(),
        Some("The request id in the payload.")
    );
    assert_eq!(
        ping.policy.request_id_pointer.as_deref(),
        Some("/request_id")
    );
    // The reply comes from components: its channel, address and messages.
    let reply = ping.reply.as_ref().unwrap();
    assert_eq!(spec.channels[reply.channel.unwrap().0].key, "pingReply");
    assert_eq!(
        reply.address_location.as_deref(),
        Some("$message.header#/reply_to")
    );
    let keys = |ids: &[jetwire_codegen::ir::MessageId]| -> Vec<String> {
        ids.iter().map(|m| spec.messages[m.0].key.clone()).collect()
    };
    assert_eq!(keys(&reply.messages), vec!["PingReply"]);
    assert_eq!(keys(&reply.errors), vec!["Unreachable"]);
    // The channels: the root one (resolved to the component) and the reply channel.
    assert_eq!(spec.channels.len(), 2);
    assert!(spec.diagnostics.is_empty(), "{:?}", spec.diagnostics);
}

/// The keyed example: every operation partitioned by `system_id` into 8 partitions, all
/// served by one partition consumer so one system's jobs stay ordered across operations.
#[test]
fn the_coordinate_example_loads() {
    use jetwire_codegen::ir::{JobClass, RoutingKey};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/coordinate/asyncapi.yaml");
    let spec = load_spec(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        spec.diagnostics
            .iter()
            .all(|d| d.severity != Severity::Warning),
        "{:?}",
        spec.diagnostics
    );
    let js = &spec.jetstream;
    assert_eq!(js.stream.name, "COORD_JOBS");
    assert_eq!(js.responses.bucket, "COORD_RESPONSES");
    assert_eq!(js.dead_letter.stream, "COORD_DLQ");
    assert_eq!(
        js.leases.as_ref().map(|l| l.bucket.as_str()),
        Some("COORD_LEASES")
    );
    assert!(js.targets.is_none());
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
        vec![(
            "jobs-partitioned",
            JobClass::Modify,
            "coord.{partition}.>",
            Some(8)
        )]
    );
    let ids: Vec<&str> = spec.operations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["createSystem", "movePoint", "getPoint"]);
    for op in &spec.operations {
        let p = op.policy.partitioning.as_ref().expect("partitioned");
        assert_eq!(p.key, RoutingKey::Payload("/system_id".into()), "{}", op.id);
        assert_eq!(p.count, 8, "{}", op.id);
    }
}
