//! End to end with the client CLI: `osapi client --nats-url <url of osapi start> ...`.

mod e2e_support;

use e2e_support::Osapi;
use serde_json::Value;

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "osapi client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap()
}

#[test]
fn client_cli_end_to_end() {
    let osapi = Osapi::start();
    let this_host = osapi::providers::hostname::kernel_hostname();

    // Queries: a human table by default, JSON with --json.
    let table = stdout(&osapi.client(&["hostname", "get"]));
    let row = table
        .lines()
        .find(|l| l.starts_with("hostname "))
        .unwrap_or_else(|| panic!("no hostname row in:\n{table}"));
    assert_eq!(row.split_whitespace().nth(1), Some(this_host.as_str()));
    let reply = json(&osapi.client(&["--json", "hostname", "get"]));
    assert_eq!(reply["hostname"], this_host);
    let disk = stdout(&osapi.client(&["disk", "get", "--mount", "/"]));
    assert!(disk.contains("mount_point"), "{disk}");
    let ping = json(&osapi.client(&["ping", "127.0.0.1", "--count", "1", "--json"]));
    assert_eq!(ping["reachable"], true);

    // A modification, then the query shows it.
    let set = json(&osapi.client(&[
        "dns",
        "set",
        "--nameserver",
        "192.0.2.1",
        "--search",
        "cli.example",
        "--json",
    ]));
    assert_eq!(set["nameservers"], serde_json::json!(["192.0.2.1"]));
    let dns = json(&osapi.client(&["dns", "get", "--json"]));
    assert_eq!(dns["search_domains"], serde_json::json!(["cli.example"]));

    // Records: the last job is listed first and can be fetched by id.
    let list = json(&osapi.client(&["job", "list", "--limit", "2", "--json"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["operation"], "getDns");
    assert_eq!(list[1]["operation"], "setDns");
    let id = list[0]["request_id"].as_str().unwrap();
    let record = json(&osapi.client(&["job", "get", id, "--json"]));
    assert_eq!(record["status"], "succeeded");
    assert_eq!(
        record["result"]["search_domains"],
        serde_json::json!(["cli.example"])
    );
    let waited = json(&osapi.client(&["job", "wait", id, "--timeout", "5s", "--json"]));
    assert_eq!(waited["request_id"], id);
    let human_list = stdout(&osapi.client(&["job", "list"]));
    assert!(human_list.starts_with("request_id"), "{human_list}");

    // Nothing was dead-lettered.
    assert_eq!(
        json(&osapi.client(&["dlq", "list", "--json"])),
        serde_json::json!([])
    );
    assert_eq!(
        stdout(&osapi.client(&["dlq", "list"])).trim(),
        "no dead-lettered jobs"
    );

    // Errors: one line, non-zero exit, nothing published for invalid input.
    let before = osapi.jobs_last_sequence();
    let bad = osapi.client(&["hostname", "set", "not valid!"]);
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.starts_with("osapi: invalid request") && message.contains("/hostname"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert_eq!(osapi.jobs_last_sequence(), before);
    // Settings: the config file gives the server, the environment overrides it, a flag
    // overrides both.
    let config = osapi.dir.path().join("osapi.yaml");
    std::fs::write(&config, format!("nats_url: {}\n", osapi.nats_url)).unwrap();
    let run = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_osapi"));
        cmd.arg("--config").arg(&config).arg("client");
        if let Some(url) = flag {
            cmd.args(["--nats-url", url]);
        }
        cmd.args(["hostname", "get", "--json"]);
        match env {
            Some(url) => cmd.env("OSAPI_NATS_URL", url),
            None => cmd.env_remove("OSAPI_NATS_URL"),
        };
        cmd.output().unwrap()
    };
    let nowhere = "nats://127.0.0.1:1";
    assert!(
        run(None, None).status.success(),
        "the config file's server is used"
    );
    assert!(
        !run(Some(nowhere), None).status.success(),
        "the environment overrides the file"
    );
    assert!(
        run(Some(nowhere), Some(&osapi.nats_url)).status.success(),
        "a flag overrides the environment"
    );

    let unknown = osapi.client(&["job", "get", "01a20000-0000-7000-8000-000000000000"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no job with request id"));
}
