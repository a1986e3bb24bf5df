//! Targets end to end through the real binary: two agents with different host ids
//! (`osapi agent start --host-id alpha|beta`, each with its own root) on one harness
//! `nats-server`, driven with `osapi client`: a job for one host runs on that host, `_all`
//! on both, `agent list` shows both, and a drained agent gets no `_any` jobs.

mod e2e_support;

use std::path::Path;
use std::time::Duration;

use e2e_support::{json, stdout, Spawned};
use futures::StreamExt;
use serde_json::Value;

/// Waits (bounded) until the registry holds an entry for each of `ids`.
async fn registered(nats_url: &str, ids: &[&str]) {
    let nats = jetwire::async_nats::connect(nats_url).await.unwrap();
    let js = jetwire::async_nats::jetstream::new(nats);
    let kv = js
        .get_key_value(osapi_jobs::service::SERVICE.registry.bucket)
        .await
        .unwrap();
    let mut watch = kv.watch_with_history(">").await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while !ids.iter().all(|id| seen.contains(*id)) {
            let entry = watch.next().await.expect("the watch ended").unwrap();
            seen.insert(entry.key);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {seen:?} of {ids:?} registered"));
}

fn agent(url: &str, id: &str, dir: &Path) -> Spawned {
    let root = dir.join(id);
    Spawned::start(
        &[
            "agent",
            "start",
            "--nats-url",
            url,
            "--host-id",
            id,
            "--root",
            root.to_str().unwrap(),
        ],
        // A delivery left with an agent that stops pulling (a drain) comes back after
        // the ack wait, which a backoff shortens to its first step.
        &[("OSAPI_RETRY_BACKOFF", "1s")],
        &dir.join("config"),
    )
}

#[test]
fn jobs_reach_the_agents_their_target_names() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(jetwire::testing::NatsServer::start());
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let alpha = agent(&url, "alpha", dir.path());
    let beta = agent(&url, "beta", dir.path());
    runtime.block_on(registered(&url, &["alpha", "beta"]));
    let client = |args: &[&str]| e2e_support::client(&url, &config, args);
    let kernel_name = osapi::providers::hostname::kernel_hostname();

    // Both agents are listed, as JSON and as a table.
    let agents = json(&client(&["agent", "list", "--json"]));
    let ids: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["worker_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alpha", "beta"], "{agents}");
    assert_eq!(agents[0]["pid"], alpha.pid());
    assert_eq!(agents[1]["pid"], beta.pid());
    assert!(agents
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["state"] == "active"));
    let table = stdout(&client(&["agent", "list"]));
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["id", "hostname", "state", "last_heartbeat", "version"]
    );
    assert!(lines.next().unwrap().starts_with("alpha "), "{table}");
    assert!(lines.next().unwrap().starts_with("beta "), "{table}");

    // A job for one host runs on that host only: alpha renames itself, beta does not.
    let set = json(&client(&[
        "--target",
        "alpha",
        "hostname",
        "set",
        "alpha-host",
        "--json",
    ]));
    assert_eq!(set["hostname"], "alpha-host", "{set}");
    let on_alpha = json(&client(&["--target", "alpha", "hostname", "get", "--json"]));
    assert_eq!(on_alpha["hostname"], "alpha-host");
    let on_beta = json(&client(&["--target", "beta", "hostname", "get", "--json"]));
    assert_eq!(on_beta["hostname"], kernel_name.as_str());
    for (reply, host) in [(&on_alpha, "alpha"), (&on_beta, "beta")] {
        let id = reply["request_id"].as_str().unwrap();
        let record = json(&client(&["job", "get", id, "--json"]));
        assert_eq!(record["worker_id"], host, "{record}");
        assert_eq!(
            record["subject"],
            format!("jobs.query.hostname.{host}"),
            "{record}"
        );
    }

    // `_all`: one outcome per agent, nobody missing; a table row per agent.
    let all = json(&client(&["--target", "_all", "hostname", "get", "--json"]));
    assert_eq!(all["agents"]["alpha"]["status"], "succeeded", "{all}");
    assert_eq!(all["agents"]["alpha"]["result"]["hostname"], "alpha-host");
    assert_eq!(
        all["agents"]["beta"]["result"]["hostname"],
        kernel_name.as_str()
    );
    assert_eq!(all["missing"], serde_json::json!([]));
    let table = stdout(&client(&["--target", "_all", "hostname", "get"]));
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["agent", "status", "result"]
    );
    assert!(
        rows[1].starts_with("alpha") && rows[1].contains("succeeded"),
        "{table}"
    );
    assert!(rows[1].contains("hostname=alpha-host"), "{table}");
    assert!(rows[2].starts_with("beta"), "{table}");
    assert_eq!(rows[3], "missing: none", "{table}");

    // A host with no live agent fails at once, naming it.
    let nobody = client(&["--target", "gamma", "hostname", "get"]);
    assert!(!nobody.status.success());
    let message = String::from_utf8_lossy(&nobody.stderr);
    assert!(
        message.contains("'gamma'") && message.contains("nothing was published"),
        "{message}"
    );

    // Drained, alpha takes no `_any` job: they all run on beta. Jobs for alpha still run.
    let drained = stdout(&client(&["agent", "drain", "alpha"]));
    assert!(drained.starts_with("alpha is draining"), "{drained}");
    let agents = json(&client(&["agent", "list", "--json"]));
    assert_eq!(agents[0]["state"], "draining", "{agents}");
    assert_eq!(agents[1]["state"], "active", "{agents}");
    for _ in 0..6 {
        let reply = json(&client(&["hostname", "get", "--json"]));
        assert_eq!(
            reply["hostname"],
            kernel_name.as_str(),
            "ran on alpha: {reply}"
        );
        let id = reply["request_id"].as_str().unwrap();
        let record = json(&client(&["job", "get", id, "--json"]));
        assert_eq!(record["worker_id"], "beta", "{record}");
    }
    let on_alpha = json(&client(&["--target", "alpha", "hostname", "get", "--json"]));
    assert_eq!(on_alpha["hostname"], "alpha-host");

    // Resumed, alpha is active again.
    let resumed = stdout(&client(&["agent", "resume", "alpha", "--json"]));
    let resumed: Value = serde_json::from_str(&resumed).unwrap();
    assert_eq!(resumed["state"], "active", "{resumed}");
    let unknown = client(&["agent", "drain", "gamma"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("gamma"));

    drop(alpha);
    drop(beta);
    drop(server);
}
