//! A running `osapi start` (embedded NATS, agent, HTTP API) in temporary directories, and
//! a minimal HTTP/1.1 client for talking to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// `osapi start --listen 127.0.0.1:0 --store-dir <tmp> --root <tmp>`, stopped (SIGTERM, then
/// wait) on drop.
pub struct Osapi {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub nats_url: String,
    /// `127.0.0.1:PORT`
    pub http: String,
    pub agent: String,
    pub dir: tempfile::TempDir,
}

impl Osapi {
    /// Starts the binary and reads its stdout until `ready`.
    pub fn start() -> Osapi {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_osapi"))
            .args(["start", "--listen", "127.0.0.1:0", "--store-dir"])
            .arg(dir.path().join("nats"))
            .arg("--root")
            .arg(dir.path().join("root"))
            .env_remove("OSAPI_NATS_URL")
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("osapi starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (mut nats_url, mut http, mut agent) = (None, None, None);
        loop {
            let mut line = String::new();
            let n = stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "osapi start exited before printing `ready`");
            let line = line.trim();
            if line == "ready" {
                break;
            }
            if let Some(v) = line.strip_prefix("nats: ") {
                nats_url = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("http: http://") {
                http = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("agent: ") {
                agent = Some(v.to_string());
            }
        }
        Osapi {
            child,
            _stdout: stdout,
            nats_url: nats_url.expect("a `nats:` line"),
            http: http.expect("an `http:` line"),
            agent: agent.expect("an `agent:` line"),
            dir,
        }
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
        Command::new(env!("CARGO_BIN_EXE_osapi"))
            .args(["client", "--nats-url", &self.nats_url])
            .args(args)
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .output()
            .unwrap()
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

impl Drop for Osapi {
    fn drop(&mut self) {
        // SIGTERM lets the process stop its embedded nats-server.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
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
