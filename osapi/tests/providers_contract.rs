//! The providers' structs mirror the contract: what they return on this machine, plus
//! the transport's `request_id`, validates against the reply message's payload schema,
//! and every provider error validates as its typed error message.

use std::path::Path;

use osapi::providers::{disk, dns, hostname, ping, system, ProviderError};
use serde_json::{json, Value};

const CONTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../asyncapi.yaml");
const REQUEST_ID: &str = "0193a4f2-6c1e-7b3a-9d2f-5e8c1a7b4d60";

fn contract() -> Value {
    let text = std::fs::read_to_string(CONTRACT).unwrap_or_else(|e| panic!("{CONTRACT}: {e}"));
    serde_yaml::from_str(&text).unwrap()
}

/// Checks `value` (with `request_id` added) against the payload of message `message`.
fn assert_valid(doc: &Value, message: &str, value: impl serde::Serialize) {
    let mut payload = serde_json::to_value(value).unwrap();
    payload["request_id"] = json!(REQUEST_ID);
    let schema = json!({
        "allOf": [doc["components"]["messages"][message]["payload"]],
        "components": doc["components"],
    });
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&payload)
        .map(|e| format!("at {}: {e}", e.instance_path))
        .collect();
    assert!(
        problems.is_empty(),
        "{message} rejects {payload:#}:\n{}",
        problems.join("\n")
    );
}

/// The typed error message payload a provider error becomes.
fn error_payload(err: &ProviderError) -> Value {
    json!({
        "code": err.code(),
        "message": err.to_string(),
        "details": err,
    })
}

#[test]
fn query_replies_match_their_schemas() {
    let doc = contract();
    assert_valid(
        &doc,
        "GetSystemStatusReply",
        system::system_status().unwrap(),
    );
    assert_valid(&doc, "GetDiskReply", disk::disk_usage(None).unwrap());
    assert_valid(&doc, "GetDnsReply", dns::get_dns(Path::new("/")).unwrap());
    assert_valid(
        &doc,
        "GetHostnameReply",
        hostname::get_hostname(Path::new("/")).unwrap(),
    );
    let answered = ping::ping(&ping::PingQuery {
        count: 2,
        ..ping::PingQuery::new("127.0.0.1")
    })
    .unwrap();
    assert_valid(&doc, "PingReply", answered);
}

#[test]
fn modification_replies_match_their_schemas() {
    let doc = contract();
    let root = tempfile::tempdir().unwrap();
    let update = dns::DnsUpdate {
        nameservers: vec!["192.0.2.53".into(), "2001:db8::53".into()],
        search_domains: vec!["corp.example".into()],
    };
    assert_valid(
        &doc,
        "SetDnsReply",
        dns::set_dns(root.path(), &update).unwrap(),
    );
    let rename = hostname::HostnameUpdate {
        hostname: "web-01".into(),
    };
    assert_valid(
        &doc,
        "SetHostnameReply",
        hostname::set_hostname(root.path(), &rename).unwrap(),
    );
}

#[test]
fn provider_errors_match_their_typed_errors() {
    let doc = contract();
    let root = tempfile::tempdir().unwrap();
    let errors = [
        dns::set_dns(
            root.path(),
            &dns::DnsUpdate {
                nameservers: vec!["999.0.0.1".into()],
                search_domains: vec![],
            },
        )
        .unwrap_err(),
        hostname::set_hostname(
            root.path(),
            &hostname::HostnameUpdate {
                hostname: "web_01".into(),
            },
        )
        .unwrap_err(),
        ping::ping(&ping::PingQuery::new("no-such-host.invalid")).unwrap_err(),
        disk::disk_usage(Some("/no/such/mount")).unwrap_err(),
        hostname::get_hostname(root.path()).unwrap_err(),
        ProviderError::PingFailed {
            address: "192.0.2.1".into(),
            reason: "Network is unreachable".into(),
        },
        ProviderError::PermissionDenied {
            operation: "set the kernel host name".into(),
            path: None,
        },
        ProviderError::from_io(
            "write resolv.conf",
            Path::new("/etc/resolv.conf"),
            &std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        ),
        ProviderError::NotSupported {
            feature: "setDns".into(),
            reason: "managed by a resolver service".into(),
        },
    ];
    let mut codes: Vec<&str> = errors.iter().map(ProviderError::code).collect();
    for err in &errors {
        assert_valid(&doc, err.code(), error_payload(err));
    }
    codes.sort();
    codes.dedup();
    let mut declared: Vec<&str> = doc["components"]["messages"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, m)| m["x-jetwire-error"] == json!(true))
        .map(|(name, _)| name.as_str())
        .collect();
    declared.sort();
    assert_eq!(codes, declared, "every typed error has a provider variant");
}
