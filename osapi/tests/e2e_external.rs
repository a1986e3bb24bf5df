//! The pieces as separate processes on an external server: a `nats-server` started by the
//! test harness, `osapi agent start --nats-url`, `osapi api start --nats-url` and `osapi
//! client --nats-url`; a query goes from the gateway and from the client to the agent.

mod e2e_support;

use e2e_support::{json, request, Spawned};

#[test]
fn agent_gateway_and_client_started_separately_share_an_external_server() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(jetwire::testing::NatsServer::start());
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let root = dir.path().join("root");

    // A host id that cannot be a target is refused before anything starts.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_osapi"))
        .args(["agent", "start", "--nats-url", &url, "--host-id", "web.1"])
        .env("XDG_CONFIG_HOME", &config)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("host id 'web.1' cannot be a target"),
        "{message}"
    );

    let agent = Spawned::start(
        &[
            "agent",
            "start",
            "--nats-url",
            &url,
            "--host-id",
            "ext-agent",
            "--root",
            root.to_str().unwrap(),
        ],
        &[],
        &config,
    );
    assert_eq!(agent.line("agent"), "ext-agent");
    // `ready` means provisioned: the gateway can publish at once.
    let api = Spawned::start(
        &[
            "api",
            "start",
            "--listen",
            "127.0.0.1:0",
            "--nats-url",
            &url,
        ],
        &[],
        &config,
    );
    let http = api
        .line("http")
        .strip_prefix("http://")
        .unwrap()
        .to_string();
    let ready = request(&http, "GET", "/readyz", None);
    assert_eq!(ready.status, 200, "{}", ready.body);

    // Over HTTP: the reply comes from the agent, which read its own root.
    let set = request(
        &http,
        "PUT",
        "/api/v1/hostname",
        Some(r#"{"hostname": "external-e2e"}"#),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let got = request(&http, "GET", "/api/v1/hostname", None);
    assert_eq!(got.status, 200, "{}", got.body);
    let got = got.json();
    assert_eq!(got["hostname"], "external-e2e");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/hostname"))
            .unwrap()
            .trim(),
        "external-e2e"
    );
    // The record names the agent that ran it (its host id), and the registry lists
    // that agent with this process id.
    let id = got["request_id"].as_str().unwrap();
    let record = request(&http, "GET", &format!("/api/v1/jobs/{id}"), None).json();
    assert_eq!(record["worker_id"], "ext-agent", "{record}");
    let agents = request(&http, "GET", "/api/v1/agents", None).json();
    assert_eq!(agents[0]["worker_id"], "ext-agent", "{agents}");
    assert_eq!(agents[0]["pid"], agent.pid(), "{agents}");

    // With the client CLI, on the same server.
    let reply = json(&e2e_support::client(
        &url,
        &config,
        &["hostname", "get", "--json"],
    ));
    assert_eq!(reply["hostname"], "external-e2e");
    let id = reply["request_id"].as_str().unwrap();
    let record = json(&e2e_support::client(
        &url,
        &config,
        &["job", "get", id, "--json"],
    ));
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["worker_id"], "ext-agent");

    // Processes stop before the server does.
    drop(api);
    drop(agent);
    drop(server);
}
