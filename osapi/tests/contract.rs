//! The OSAPI contract (`asyncapi.yaml`): valid AsyncAPI 3.1.0 by the official JSON Schema
//! (draft-07), every message example valid against its payload schema, and the job API
//! conventions (subjects, request ids, replies, typed errors, `x-jetwire` policy) kept.

use serde_json::{json, Value};

const CONTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../asyncapi.yaml");
const ASYNCAPI_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/asyncapi/schemas/3.1.0-without-$id.json"
);

fn contract() -> Value {
    let text = std::fs::read_to_string(CONTRACT).unwrap_or_else(|e| panic!("{CONTRACT}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{CONTRACT}: {e}"))
}

fn draft7(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft7::options()
        .build(schema)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

/// Every error, one per line, with where in the instance it is.
fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at {}: {e}", e.instance_path))
        .collect()
}

/// A validator for a schema of the contract: the schema itself, with the contract's
/// `components` embedded so its local `#/components/...` references resolve.
fn payload_validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    draft7(&json!({ "allOf": [schema], "components": doc["components"] }))
}

/// Follows a local `$ref` (one level) to the object it names.
fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("local reference");
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("dangling reference {reference}"))
        }
        None => value,
    }
}

fn object(value: &Value) -> &serde_json::Map<String, Value> {
    value.as_object().expect("an object")
}

#[test]
fn the_contract_is_valid_asyncapi_3_1() {
    let schema_text = std::fs::read_to_string(ASYNCAPI_SCHEMA)
        .unwrap_or_else(|e| panic!("{ASYNCAPI_SCHEMA}: {e}"));
    let schema: Value = serde_json::from_str(&schema_text).unwrap();
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-07/schema",
        "the official AsyncAPI schema is expected to be draft-07"
    );
    let validator = draft7(&schema);

    let doc = contract();
    let problems = errors(&validator, &doc);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The check is not vacuous: a broken document fails it.
    let mut broken = doc.clone();
    broken["operations"]["ping"]["action"] = json!("answer");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn every_message_example_matches_its_payload_schema() {
    let doc = contract();
    let mut checked = 0;
    for (name, message) in object(&doc["components"]["messages"]) {
        let validator = payload_validator(&doc, &message["payload"]);
        let examples = message["examples"]
            .as_array()
            .unwrap_or_else(|| panic!("message {name} has no examples"));
        assert!(!examples.is_empty(), "message {name} has no examples");
        for example in examples {
            let problems = errors(&validator, &example["payload"]);
            assert!(
                problems.is_empty(),
                "example {} of {name}:\n{}",
                example["name"],
                problems.join("\n")
            );
            checked += 1;
        }
    }
    assert!(checked >= 23, "only {checked} examples checked");
}

#[test]
fn payload_schemas_enforce_their_constraints() {
    let doc = contract();
    let schema = |name: &str| doc["components"]["messages"][name]["payload"].clone();
    let request_id = "0193a4f2-6c1e-7b3a-9d2f-5e8c1a7b4d67";
    let rejected = [
        (
            "SetDnsRequest",
            json!({"request_id": request_id, "nameservers": []}),
        ),
        (
            "SetDnsRequest",
            json!({"request_id": request_id, "nameservers": ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]}),
        ),
        (
            "SetDnsRequest",
            json!({"request_id": request_id, "nameservers": ["dns.example"]}),
        ),
        (
            "SetDnsRequest",
            json!({"request_id": request_id, "nameservers": ["192.0.2.1"], "search_domains": vec!["a.example"; 7]}),
        ),
        ("SetDnsRequest", json!({"nameservers": ["192.0.2.1"]})),
        (
            "SetHostnameRequest",
            json!({"request_id": request_id, "hostname": "web_01"}),
        ),
        (
            "SetHostnameRequest",
            json!({"request_id": request_id, "hostname": "-web"}),
        ),
        (
            "SetHostnameRequest",
            json!({"request_id": request_id, "hostname": "a".repeat(64)}),
        ),
        (
            "SetHostnameRequest",
            json!({"request_id": "not-a-uuid", "hostname": "web-01"}),
        ),
        (
            "PingRequest",
            json!({"request_id": request_id, "address": "127.0.0.1", "count": 11}),
        ),
        (
            "PingRequest",
            json!({"request_id": request_id, "address": "127.0.0.1", "count": 0}),
        ),
        (
            "PingRequest",
            json!({"request_id": request_id, "address": "127.0.0.1", "method": "udp"}),
        ),
        (
            "PingRequest",
            json!({"request_id": request_id, "address": "127.0.0.1", "extra": 1}),
        ),
        (
            "GetDiskRequest",
            json!({"request_id": request_id, "mount_point": "var"}),
        ),
        (
            "InvalidAddress",
            json!({"request_id": request_id, "code": "PingFailed", "message": "m",
                   "details": {"field": "address", "value": "x", "reason": "r"}}),
        ),
    ];
    for (message, payload) in rejected {
        let validator = payload_validator(&doc, &schema(message));
        assert!(
            !validator.is_valid(&payload),
            "{message} accepted {payload}"
        );
    }
    let accepted = [
        (
            "SetHostnameRequest",
            json!({"request_id": request_id, "hostname": format!("{}.example", "a".repeat(63))}),
        ),
        (
            "PingRequest",
            json!({"request_id": request_id, "address": "::1", "count": 10, "timeout_seconds": 50}),
        ),
    ];
    for (message, payload) in accepted {
        let validator = payload_validator(&doc, &schema(message));
        let problems = errors(&validator, &payload);
        assert!(problems.is_empty(), "{message}: {}", problems.join("\n"));
    }
}

#[test]
fn operations_are_the_agent_jobs_with_replies_and_typed_errors() {
    let doc = contract();
    let operations = object(&doc["operations"]);
    let expected = [
        ("getSystemStatus", "jobs.query.system.{target}"),
        ("getDisk", "jobs.query.disk.{target}"),
        ("getDns", "jobs.query.dns.{target}"),
        ("getHostname", "jobs.query.hostname.{target}"),
        ("ping", "jobs.query.ping.{target}"),
        ("setDns", "jobs.modify.dns.{target}"),
        ("setHostname", "jobs.modify.hostname.{target}"),
    ];
    let ids: Vec<&str> = operations.keys().map(String::as_str).collect();
    assert_eq!(ids, expected.map(|(id, _)| id));

    for (id, address) in expected {
        let op = &operations[id];
        assert_eq!(op["action"], "receive", "{id}");
        let channel = deref(&doc, &op["channel"]);
        assert_eq!(channel["address"], address, "{id}");
        assert_eq!(
            deref(&doc, &channel["parameters"]["target"]),
            &doc["components"]["parameters"]["target"],
            "{id}"
        );

        let requests = op["messages"].as_array().unwrap();
        assert_eq!(requests.len(), 1, "{id}");
        let request = deref(&doc, deref(&doc, &requests[0]));
        let payload = deref(&doc, &request["payload"]);
        assert!(
            payload["required"]
                .as_array()
                .unwrap()
                .contains(&json!("request_id")),
            "{id}: request_id is not required"
        );
        assert_eq!(
            payload["properties"]["request_id"]["$ref"],
            "#/components/schemas/RequestId"
        );

        let reply = &op["reply"];
        let reply_channel = deref(&doc, &reply["channel"]);
        let replies: Vec<&Value> = reply["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("{id} has no reply messages"))
            .iter()
            .map(|r| {
                let reference = r["$ref"].as_str().unwrap();
                let (channel_ref, key) = reference.split_once("/messages/").unwrap();
                assert_eq!(
                    doc.pointer(channel_ref.trim_start_matches('#')).unwrap(),
                    reply_channel,
                    "{id}: reply message {reference} is not from the reply channel"
                );
                assert!(reply_channel["messages"].get(key).is_some(), "{reference}");
                deref(&doc, deref(&doc, r))
            })
            .collect();
        let (errors, successes): (Vec<&Value>, Vec<&Value>) = replies
            .into_iter()
            .partition(|m| m["x-jetwire-error"] == json!(true));
        assert_eq!(successes.len(), 1, "{id}: one success reply expected");
        assert!(!errors.is_empty(), "{id}: no typed errors");

        let policy = &op["x-jetwire"];
        if address.starts_with("jobs.modify.") {
            assert_eq!(policy["class"], "modify", "{id}");
            assert_eq!(policy["retryable"], false, "{id}");
        } else {
            assert!(policy.get("class").is_none_or(|c| c == "query"), "{id}");
        }
    }
    assert_eq!(operations["ping"]["x-jetwire"]["timeout"], "60s");
}

#[test]
fn every_message_correlates_by_request_id_and_errors_are_typed() {
    let doc = contract();
    for (name, message) in object(&doc["components"]["messages"]) {
        assert_eq!(
            message["correlationId"],
            json!({"location": "$message.payload#/request_id"}),
            "{name}"
        );
        let payload = deref(&doc, &message["payload"]);
        assert!(
            payload["required"]
                .as_array()
                .unwrap()
                .contains(&json!("request_id")),
            "{name}: request_id is not required"
        );
        if message["x-jetwire-error"] == json!(true) {
            assert_eq!(
                payload["properties"]["code"]["const"],
                json!(name),
                "{name}"
            );
            for field in ["code", "message", "details"] {
                assert!(
                    payload["required"]
                        .as_array()
                        .unwrap()
                        .contains(&json!(field)),
                    "{name}: {field} is not required"
                );
            }
        }
    }
}

#[test]
fn every_schema_is_described() {
    let doc = contract();
    for (name, schema) in object(&doc["components"]["schemas"]) {
        assert!(
            schema["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "schema {name} has no description"
        );
        for (property, sub) in schema["properties"].as_object().into_iter().flatten() {
            let sub = deref(&doc, sub);
            assert!(
                sub.get("description").is_some() || sub.get("const").is_some(),
                "{name}.{property} has no description"
            );
        }
    }
}

#[test]
fn the_target_parameter_pattern_admits_only_one_token() {
    let doc = contract();
    let target = &doc["components"]["parameters"]["target"];
    assert!(target["description"].as_str().is_some());
    let pattern = draft7(&json!({"type": "string", "pattern": target["x-pattern"]}));
    let examples = target["examples"].as_array().unwrap();
    for ok in examples.iter().chain(&[json!("db-2_a"), json!("A")]) {
        assert!(pattern.is_valid(ok), "{ok} rejected");
    }
    for bad in ["", "a.b", "*", ">", "_other", "-web", &"a".repeat(64)] {
        assert!(!pattern.is_valid(&json!(bad)), "{bad:?} accepted");
    }
}

#[test]
fn jetstream_settings() {
    let doc = contract();
    assert_eq!(
        doc["x-jetwire"],
        json!({
            "stream": {
                "name": "OSAPI_JOBS",
                "subjects": ["jobs.query.*.*", "jobs.modify.*.*"],
                "duplicate-window": "2m",
            },
            "responses": {"bucket": "OSAPI_RESPONSES", "ttl": "24h"},
            "dead-letter": {"stream": "OSAPI_DLQ"},
            "targets": {"parameter": "target"},
            "registry": {"bucket": "OSAPI_AGENTS", "heartbeat": "2s", "ttl": "10s"},
            "defaults": {"timeout": "30s", "max-deliver": 10, "backoff": ["5s", "10s", "15s"]},
        })
    );
    assert_eq!(doc["info"]["version"], "1.0.0");
    assert!(doc["info"]["description"].as_str().is_some());
}
