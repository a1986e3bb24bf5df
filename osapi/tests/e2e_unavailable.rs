//! `osapi api start` with no NATS server behind it: up, not ready, job routes answer 503.

mod e2e_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn gateway_without_nats_is_up_but_not_ready() {
    // A port nothing listens on: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_osapi"))
        .args(["api", "start", "--listen", "127.0.0.1:0", "--nats-url"])
        .arg(format!("nats://127.0.0.1:{port}"))
        .env("XDG_CONFIG_HOME", config.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("http: http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let health = e2e_support::request(&addr, "GET", "/healthz", None);
    let ready = e2e_support::request(&addr, "GET", "/readyz", None);
    let job = e2e_support::request(&addr, "GET", "/api/v1/hostname", None);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(health.status, 200);
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(job.status, 503, "{}", job.body);
    assert!(job.body.contains("NATS"), "{}", job.body);
}
