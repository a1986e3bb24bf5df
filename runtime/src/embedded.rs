//! A `nats-server` child process with JetStream, for development, tests and single-host
//! deployments that do not run their own server.
//!
//! Readiness is an event, not a guess: the server's log (stderr) is read line by line and
//! the server counts as started when it prints `Server is ready`; the client port is taken
//! from its `Listening for client connections on …` line, so `port: None` lets the server
//! pick a free port itself (no race with other processes).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

/// How to start an [`EmbeddedServer`].
#[derive(Clone, Debug, Default)]
pub struct EmbeddedOptions {
    /// JetStream store directory; a fresh temporary directory (removed on drop) when `None`.
    pub store_dir: Option<PathBuf>,
    /// Client port; the server picks a free one when `None`.
    pub port: Option<u16>,
    /// Server name (`-n`); required for JetStream clustering.
    pub server_name: Option<String>,
    /// Clustering: cluster name, this node's route port, and the route URLs of its peers.
    pub cluster: Option<ClusterOptions>,
    /// Extra command-line arguments passed as they are.
    pub extra_args: Vec<String>,
    /// How long to wait for `Server is ready` (default 20 s).
    pub ready_timeout: Option<Duration>,
}

/// Cluster membership of one node.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub name: String,
    /// Port this node listens on for routes.
    pub route_port: u16,
    /// `nats-route://127.0.0.1:<port>` of the other nodes.
    pub routes: Vec<String>,
}

/// Failure to start the server.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "nats-server binary not found ({0}); install it (`apt-get install nats-server`) \
         or set NATS_SERVER_BIN to its path"
    )]
    BinaryNotFound(String),
    #[error("cannot create the JetStream store directory: {0}")]
    StoreDir(std::io::Error),
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("nats-server ({binary}) exited before it was ready; last log lines:\n{log}")]
    Exited { binary: String, log: String },
    #[error("nats-server ({binary}) was not ready within {waited:?}; last log lines:\n{log}")]
    NotReady {
        binary: String,
        waited: Duration,
        log: String,
    },
}

/// The `nats-server` binary to run: `NATS_SERVER_BIN`, else `nats-server` on `PATH`.
pub fn server_binary() -> Result<PathBuf, EmbeddedError> {
    server_binary_from(std::env::var_os("NATS_SERVER_BIN"))
}

/// [`server_binary`] with the value of `NATS_SERVER_BIN` given.
pub fn server_binary_from(
    env_override: Option<std::ffi::OsString>,
) -> Result<PathBuf, EmbeddedError> {
    if let Some(bin) = env_override {
        let path = PathBuf::from(&bin);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(EmbeddedError::BinaryNotFound(format!(
                "NATS_SERVER_BIN={} is not a file",
                path.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| EmbeddedError::BinaryNotFound("not on PATH".into()))
}

enum StoreDir {
    Given(PathBuf),
    Temp(tempfile::TempDir),
}

impl StoreDir {
    fn path(&self) -> &Path {
        match self {
            StoreDir::Given(p) => p,
            StoreDir::Temp(t) => t.path(),
        }
    }
}

/// A running `nats-server -js`. Stopped (SIGTERM, then wait) on [`EmbeddedServer::stop`]
/// or drop.
pub struct EmbeddedServer {
    binary: PathBuf,
    options: EmbeddedOptions,
    store: StoreDir,
    port: u16,
    child: Option<Child>,
    log: Arc<Mutex<LogTail>>,
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedServer")
            .field("url", &self.url())
            .field("store_dir", &self.store.path())
            .field("running", &self.child.is_some())
            .finish()
    }
}

/// The last lines the server logged, for error messages.
#[derive(Default)]
struct LogTail {
    lines: std::collections::VecDeque<String>,
}

impl LogTail {
    const KEEP: usize = 30;
    fn push(&mut self, line: String) {
        if self.lines.len() == Self::KEEP {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
    fn text(&self) -> String {
        self.lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl EmbeddedServer {
    /// Starts the server and waits until it logs that it is ready.
    pub async fn start(options: EmbeddedOptions) -> Result<EmbeddedServer, EmbeddedError> {
        let binary = server_binary()?;
        let store = match &options.store_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(EmbeddedError::StoreDir)?;
                StoreDir::Given(dir.clone())
            }
            None => StoreDir::Temp(
                tempfile::Builder::new()
                    .prefix("jetwire-nats-")
                    .tempdir()
                    .map_err(EmbeddedError::StoreDir)?,
            ),
        };
        let mut server = EmbeddedServer {
            binary,
            port: options.port.unwrap_or(0),
            options,
            store,
            child: None,
            log: Arc::default(),
        };
        server.spawn().await?;
        Ok(server)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    /// Whether the process is running (started and not stopped or killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Stops the server gracefully: SIGTERM, then waits for it to exit (SIGKILL after 10 s).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }

    /// Kills the server abruptly (SIGKILL), as a crash would; the store stays.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store directory (after `stop`/`kill9`;
    /// a running server is stopped first).
    pub async fn restart(&mut self) -> Result<(), EmbeddedError> {
        self.stop();
        self.spawn().await
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        let port = if self.port == 0 {
            "-1".to_string()
        } else {
            self.port.to_string()
        };
        cmd.args(["-js", "-a", "127.0.0.1", "-p", &port, "-sd"])
            .arg(self.store.path());
        if let Some(name) = &self.options.server_name {
            cmd.args(["-n", name]);
        }
        if let Some(cluster) = &self.options.cluster {
            cmd.args(["--cluster_name", &cluster.name])
                .arg("--cluster")
                .arg(format!("nats://127.0.0.1:{}", cluster.route_port));
            if !cluster.routes.is_empty() {
                cmd.arg("--routes").arg(cluster.routes.join(","));
            }
        }
        cmd.args(&self.options.extra_args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    async fn spawn(&mut self) -> Result<(), EmbeddedError> {
        let binary = self.binary.display().to_string();
        let mut child = self
            .command()
            .spawn()
            .map_err(|source| EmbeddedError::Spawn {
                binary: binary.clone(),
                source,
            })?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (ready_tx, ready_rx) = oneshot::channel::<Option<u16>>();
        let log = self.log.clone();
        log.lock().expect("log lock").lines.clear();
        // The reader thread lives as long as the process: it also drains the pipe so the
        // server never blocks on a full stderr.
        std::thread::spawn(move || read_log(stderr, log, ready_tx));
        let waited = self
            .options
            .ready_timeout
            .unwrap_or(Duration::from_secs(20));
        match tokio::time::timeout(waited, ready_rx).await {
            Ok(Ok(Some(port))) => {
                self.port = port;
                self.child = Some(child);
                tracing::debug!(url = %self.url(), "nats-server ready");
                Ok(())
            }
            Ok(Ok(None)) | Ok(Err(_)) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(EmbeddedError::Exited {
                    binary,
                    log: self.log.lock().expect("log lock").text(),
                })
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(EmbeddedError::NotReady {
                    binary,
                    waited,
                    log: self.log.lock().expect("log lock").text(),
                })
            }
        }
    }
}

/// Reads the server log; reports the client port once `Server is ready` was seen, or
/// `None` when the log ends first (the process exited).
fn read_log(
    stderr: std::process::ChildStderr,
    log: Arc<Mutex<LogTail>>,
    ready: oneshot::Sender<Option<u16>>,
) {
    let mut ready = Some(ready);
    let mut port = None;
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        tracing::trace!(target: "nats_server", "{line}");
        if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
            port = rest
                .trim()
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok());
        }
        if line.contains("Server is ready") {
            if let Some(tx) = ready.take() {
                let _ = tx.send(port);
            }
        }
        log.lock().expect("log lock").push(line);
    }
    if let Some(tx) = ready.take() {
        let _ = tx.send(None);
    }
}

fn terminate(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: signalling our own child process, which has not been reaped yet.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            // A blocking wait with a deadline: std has no timed wait on a child.
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.stop();
    }
}
