//! Running `osapi` processes (`osapi start` with embedded NATS, agent and HTTP API in
//! temporary directories, or any other long-running command), `osapi client` runs, and a
//! minimal HTTP/1.1 client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running `osapi` process whose stdout printed `name: value` lines, then `ready`;
/// stopped (SIGTERM, then wait) on drop.
pub struct Spawned {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// The `name: value` lines printed before `ready`, in order.
    pub lines: Vec<(String, String)>,
}

impl Spawned {
    /// Starts `osapi <args>` with `env` and reads its stdout until `ready`. The config
    /// file lookup is pointed at `config_home`, so the developer's own file is not read.
    pub fn start(args: &[&str], env: &[(&str, &str)], config_home: &Path) -> Spawned {
        let mut command = Command::new(env!("CARGO_BIN_EXE_osapi"));
        command
            .args(args)
            .env_remove("OSAPI_NATS_URL")
            .env("XDG_CONFIG_HOME", config_home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("osapi starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            // Bounded: the process exits (EOF) on any start-up failure.
            let n = stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "osapi {args:?} exited before printing `ready`");
            let line = line.trim();
            if line == "ready" {
                break;
            }
            if let Some((name, value)) = line.split_once(": ") {
                lines.push((name.to_string(), value.to_string()));
            }
        }
        Spawned {
            child,
            _stdout: stdout,
            lines,
        }
    }

    /// The value of the `name: value` line.
    pub fn line(&self, name: &str) -> &str {
        self.lines
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no `{name}:` line in {:?}", self.lines))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // SIGTERM lets the process shut down (and stop an embedded nats-server).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// `osapi start --listen 127.0.0.1:0 --store-dir <tmp> --root <tmp>`, stopped on drop.
pub struct Osapi {
    pub process: Spawned,
    pub nats_url: String,
    /// `127.0.0.1:PORT`
    pub http: String,
    pub agent: String,
    pub dir: tempfile::TempDir,
}

impl Osapi {
    /// Starts the binary and reads its stdout until `ready`.
    pub fn start() -> Osapi {
        Osapi::start_with(&[])
    }

    /// Like [`Osapi::start`], with extra environment variables (e.g. `OSAPI_MAX_DELIVER`).
    pub fn start_with(env: &[(&str, &str)]) -> Osapi {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("nats");
        let root = dir.path().join("root");
        let process = Spawned::start(
            &[
                "start",
                "--listen",
                "127.0.0.1:0",
                "--store-dir",
                store.to_str().unwrap(),
                "--root",
                root.to_str().unwrap(),
            ],
            env,
            &dir.path().join("config"),
        );
        Osapi {
            nats_url: process.line("nats").to_string(),
            http: process
                .line("http")
                .strip_prefix("http://")
                .expect("an http:// URL")
                .to_string(),
            agent: process.line("agent").to_string(),
            process,
            dir,
        }
    }

    /// The agent's root directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn get(&self, path: &str) -> Response {
        request(&self.http, "GET", path, None)
    }

    pub fn put(&self, path: &str, body: &str) -> Response {
        request(&self.http, "PUT", path, Some(body))
    }

    pub fn post(&self, path: &str, body: &str) -> Response {
        request(&self.http, "POST", path, Some(body))
    }

    /// `osapi client --nats-url <url> <args>`.
    pub fn client(&self, args: &[&str]) -> Output {
        client(&self.nats_url, &self.dir.path().join("config"), args)
    }

    /// The jobs stream's last sequence number: it grows with every published job.
    pub fn jobs_last_sequence(&self) -> u64 {
        let url = self.nats_url.clone();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let nats = jetwire::async_nats::connect(url).await.unwrap();
                let js = jetwire::async_nats::jetstream::new(nats);
                let mut stream = js
                    .get_stream(osapi_jobs::service::SERVICE.stream.name)
                    .await
                    .unwrap();
                stream.info().await.unwrap().state.last_sequence
            })
    }
}

/// `osapi client --nats-url <nats_url> <args>`.
pub fn client(nats_url: &str, config_home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osapi"))
        .args(["client", "--nats-url", nats_url])
        .args(args)
        .env("XDG_CONFIG_HOME", config_home)
        .output()
        .unwrap()
}

/// The stdout of a successful command (the test fails with its stderr otherwise).
pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "osapi failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The stdout of a successful command, as JSON.
pub fn json(out: &Output) -> Value {
    let text = stdout(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection (`Connection: close`); the body is read to the end
/// (chunked bodies are decoded).
pub fn request(addr: &str, method: &str, path: &str, body: Option<&str>) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").expect("an HTTP response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        text = rest[size..].trim_start_matches("\r\n");
    }
    out
}
