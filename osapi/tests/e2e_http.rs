//! End to end over HTTP: `osapi start` (embedded NATS, agent, gateway) driven with real
//! requests; every answer comes from this machine through NATS JetStream.

mod e2e_support;

use e2e_support::Osapi;
use serde_json::Value;

fn is_terminal(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "dead_lettered")
}

#[test]
fn http_gateway_end_to_end() {
    let osapi = Osapi::start();
    let this_host = osapi::providers::hostname::kernel_hostname();

    // Health and the contract of the surface.
    assert_eq!(osapi.get("/healthz").status, 200);
    assert_eq!(osapi.get("/readyz").status, 200);
    let doc = osapi.get("/api/v1/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/dns"]["put"].is_object());

    // Queries answer with this machine's data.
    let hostname = osapi.get("/api/v1/hostname");
    assert_eq!(hostname.status, 200, "{}", hostname.body);
    assert_eq!(hostname.json()["hostname"], this_host);

    let system = osapi.get("/api/v1/system");
    assert_eq!(system.status, 200, "{}", system.body);
    assert!(system.json()["memory"].is_object(), "{}", system.body);

    // Real replies match the schemas the OpenAPI document gives for them.
    for (path, reply) in [
        ("/api/v1/hostname", hostname.json()),
        ("/api/v1/system", system.json()),
    ] {
        let schema =
            &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        let validator = jsonschema::validator_for(
            &serde_json::json!({"$ref": schema["oneOf"][0]["$ref"], "components": doc["components"]}),
        )
        .unwrap_or_else(|e| panic!("{path}: the 200 schema does not compile: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(&reply)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{path}: {errors:?} in {reply}");
    }

    let disk = osapi.get("/api/v1/disk");
    assert_eq!(disk.status, 200, "{}", disk.body);
    let disk = disk.json();
    let mounts: Vec<&str> = disk["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter_map(|m| m["mount_point"].as_str())
        .collect();
    assert!(mounts.contains(&"/"), "no / among {mounts:?}");
    let root_only = osapi.get("/api/v1/disk?mount=/").json();
    assert_eq!(root_only["mounts"].as_array().unwrap().len(), 1);

    let ping = osapi.get("/api/v1/ping?address=127.0.0.1&count=1&timeout_seconds=5");
    assert_eq!(ping.status, 200, "{}", ping.body);
    assert_eq!(ping.json()["reachable"], true, "{}", ping.body);

    // Modifications, then the query shows them.
    let set = osapi.put(
        "/api/v1/dns",
        r#"{"nameservers": ["192.0.2.53", "198.51.100.7"], "search_domains": ["example.net"]}"#,
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let dns = osapi.get("/api/v1/dns").json();
    assert_eq!(
        dns["nameservers"],
        serde_json::json!(["192.0.2.53", "198.51.100.7"])
    );
    assert_eq!(dns["search_domains"], serde_json::json!(["example.net"]));

    let set = osapi.post("/api/v1/hostname", r#"{"hostname": "e2e-renamed"}"#);
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        osapi.get("/api/v1/hostname").json()["hostname"],
        "e2e-renamed"
    );

    // A job submitted without waiting is found later by its id; a ping of two probes
    // is still running when its event stream is opened.
    let pending = osapi.get("/api/v1/ping?address=127.0.0.1&count=2&wait=0");
    assert_eq!(pending.status, 202, "{}", pending.body);
    let location = pending
        .header("location")
        .expect("a Location header")
        .to_string();
    let id = pending.json()["request_id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/jobs/{id}"));
    // The event stream ends with the terminal record.
    let events = osapi.get(&format!("{location}/events"));
    assert_eq!(events.status, 200, "{}", events.body);
    let last: Value = events
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .next_back()
        .expect("at least one event");
    assert_eq!(last["status"], "succeeded", "{}", events.body);
    assert_eq!(last["request_id"], id.as_str());
    let record = osapi.get(&location);
    assert_eq!(record.status, 200);
    let record = record.json();
    assert!(is_terminal(record["status"].as_str().unwrap()));
    assert_eq!(record["request_id"], id.as_str());
    assert_eq!(record["operation"], "ping");
    assert_eq!(record["result"]["reachable"], true, "{record}");

    // Bad input: 400 naming the field, and nothing published.
    let before = osapi.jobs_last_sequence();
    let bad = osapi.put("/api/v1/dns", r#"{"nameservers": ["not-an-ip"]}"#);
    assert_eq!(bad.status, 400, "{}", bad.body);
    let paths: Vec<String> = bad.json()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        paths.iter().any(|p| p.starts_with("/nameservers")),
        "{paths:?}"
    );
    let bad_json = osapi.put("/api/v1/hostname", "{not json");
    assert_eq!(bad_json.status, 400, "{}", bad_json.body);
    let bad_target = osapi.get("/api/v1/system?target=no.dots");
    assert_eq!(bad_target.status, 400, "{}", bad_target.body);
    assert!(bad_target.body.contains("target"), "{}", bad_target.body);
    let bad_count = osapi.get("/api/v1/ping?address=127.0.0.1&count=many");
    assert_eq!(bad_count.status, 400);
    assert_eq!(bad_count.json()["violations"][0]["path"], "/count");
    assert_eq!(
        osapi.jobs_last_sequence(),
        before,
        "an invalid request was published"
    );

    // A typed error of the contract: 422 with its code.
    let no_mount = osapi.get("/api/v1/disk?mount=/no/such/mount");
    assert_eq!(no_mount.status, 422, "{}", no_mount.body);
    assert_eq!(
        no_mount.json()["error"]["code"],
        "MountNotFound",
        "{}",
        no_mount.body
    );

    // A job for a host with no live agent: 404 naming it, and nothing published.
    let before = osapi.jobs_last_sequence();
    let other = osapi.get("/api/v1/hostname?target=some-other-host");
    assert_eq!(other.status, 404, "{}", other.body);
    assert!(other.body.contains("some-other-host"), "{}", other.body);
    assert_eq!(osapi.jobs_last_sequence(), before);
    // This agent by its host id, and every agent.
    let mine = osapi.get(&format!("/api/v1/hostname?target={}", osapi.agent));
    assert_eq!(mine.status, 200, "{}", mine.body);
    let all = osapi.get("/api/v1/hostname?target=_all");
    assert_eq!(all.status, 200, "{}", all.body);
    let all = all.json();
    assert_eq!(all["agents"][&osapi.agent]["status"], "succeeded", "{all}");
    assert_eq!(
        all["agents"][&osapi.agent]["result"]["hostname"],
        "e2e-renamed"
    );
    assert_eq!(all["missing"], serde_json::json!([]));
    let agents = osapi.get("/api/v1/agents").json();
    assert_eq!(agents[0]["worker_id"], osapi.agent, "{agents}");
    assert_eq!(agents[0]["state"], "active", "{agents}");

    // Unknown job ids.
    let unknown = osapi.get("/api/v1/jobs/01a20000-0000-7000-8000-000000000000");
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}
