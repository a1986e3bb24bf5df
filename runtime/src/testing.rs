//! Test harness: real, isolated `nats-server` processes for integration tests.
//!
//! Every [`NatsServer`] listens on its own free loopback port with its own temporary
//! JetStream store, so tests run in parallel without sharing state. Servers are stopped when
//! dropped. Enable with the `testing` feature:
//!
//! ```no_run
//! # async fn example() {
//! let server = jetwire::testing::NatsServer::start().await;
//! let nats = server.client().await;
//! # }
//! ```
//!
//! The binary is `NATS_SERVER_BIN`, else `nats-server` on `PATH` (Debian: `apt-get install
//! nats-server`).

use std::time::{Duration, Instant};

use crate::embedded::{ClusterOptions, EmbeddedError, EmbeddedOptions, EmbeddedServer};

/// How long a server or cluster may take to be usable.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Starts of a cluster on fresh ports before giving up (a port picked in advance can be
/// taken by another process before the node binds it).
const START_ATTEMPTS: u32 = 5;

/// One isolated JetStream-enabled server.
#[derive(Debug)]
pub struct NatsServer {
    server: EmbeddedServer,
}

impl NatsServer {
    /// Starts a server on a free port with a fresh store. Panics (with the server's log)
    /// when it cannot start: this is test setup.
    pub async fn start() -> NatsServer {
        match Self::try_start().await {
            Ok(s) => s,
            Err(e) => panic!("cannot start nats-server for the test: {e}"),
        }
    }

    /// Like [`NatsServer::start`], reporting failure as an error.
    pub async fn try_start() -> Result<NatsServer, EmbeddedError> {
        let server = EmbeddedServer::start(EmbeddedOptions::default()).await?;
        wait_jetstream_ready(&server.url()).await;
        Ok(NatsServer { server })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn store_dir(&self) -> &std::path::Path {
        self.server.store_dir()
    }

    /// A connected client that reconnects forever (so it survives `kill9` + `restart`).
    pub async fn client(&self) -> async_nats::Client {
        connect_test_client(&self.url()).await
    }

    /// Kills the server with SIGKILL (a crash); the store is kept.
    pub fn kill9(&mut self) {
        self.server.kill9();
    }

    /// Stops the server gracefully (SIGTERM).
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Starts the server again on the same port and store, and waits until JetStream
    /// answers.
    pub async fn restart(&mut self) {
        if let Err(e) = self.server.restart().await {
            panic!("cannot restart nats-server: {e}");
        }
        wait_jetstream_ready(&self.url()).await;
    }

    pub fn embedded(&self) -> &EmbeddedServer {
        &self.server
    }
}

/// A JetStream cluster of `n` servers on loopback, connected by routes, each with its own
/// store.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<EmbeddedServer>,
}

impl Cluster {
    /// Starts `n` nodes and waits until the JetStream meta leader is elected (the JS API
    /// answers on every node). Panics when the cluster does not come up.
    pub async fn start(n: usize) -> Cluster {
        assert!(n >= 1, "a cluster needs at least one node");
        // The ports are picked before the nodes start (they name each other in their
        // routes), so another process may take one in between: start again on fresh ports.
        let mut attempt = 1;
        let nodes = loop {
            match Self::start_nodes(n).await {
                Ok(nodes) => break nodes,
                Err(e) if attempt < START_ATTEMPTS => {
                    eprintln!(
                        "cluster start attempt {attempt} failed ({e}); retrying on fresh ports"
                    );
                    attempt += 1;
                }
                Err(e) => panic!("cannot start the nats-server cluster: {e}"),
            }
        };
        let cluster = Cluster { nodes };
        for url in cluster.urls() {
            wait_jetstream_ready(&url).await;
        }
        cluster.wait_placement_ready(n).await;
        cluster
    }

    /// Starts `n` routed nodes on freshly picked ports; the ones started are stopped
    /// again (dropped) when another fails.
    async fn start_nodes(n: usize) -> Result<Vec<EmbeddedServer>, EmbeddedError> {
        let name = format!("jetwire-test-{}", uuid::Uuid::new_v4().simple());
        let client_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let route_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let starts = (0..n).map(|i| {
            let routes = route_ports
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| format!("nats-route://127.0.0.1:{p}"))
                .collect();
            EmbeddedServer::start(EmbeddedOptions {
                port: Some(client_ports[i]),
                server_name: Some(format!("n{i}")),
                cluster: Some(ClusterOptions {
                    name: name.clone(),
                    route_port: route_ports[i],
                    routes,
                }),
                ..Default::default()
            })
        });
        futures::future::join_all(starts)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
    }

    /// Waits until the meta leader knows every peer: a stream with `n` replicas can be
    /// placed (a probe stream is created and deleted).
    async fn wait_placement_ready(&self, n: usize) {
        let deadline = Instant::now() + READY_WITHIN;
        let client = connect_test_client(&self.urls().join(",")).await;
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(2))
            .build(client);
        let probe = async_nats::jetstream::stream::Config {
            name: "JETWIRE_PLACEMENT_PROBE".into(),
            subjects: vec!["jetwire.placement-probe".into()],
            storage: async_nats::jetstream::stream::StorageType::Memory,
            num_replicas: n,
            ..Default::default()
        };
        loop {
            match js.create_stream(probe.clone()).await {
                Ok(_) => {
                    let _ = js.delete_stream(&probe.name).await;
                    return;
                }
                Err(e) if Instant::now() >= deadline => {
                    panic!("the cluster cannot place {n} replicas within {READY_WITHIN:?}: {e}")
                }
                // Probe interval while the peers join the meta group.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Client URLs of all nodes, in node order.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url()).collect()
    }

    /// A client that knows every node and reconnects forever.
    pub async fn client(&self) -> async_nats::Client {
        connect_test_client(&self.urls().join(",")).await
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill9(&mut self, i: usize) {
        self.nodes[i].kill9();
    }

    /// Restarts node `i` on its port and store and waits until JetStream answers on it.
    pub async fn restart(&mut self, i: usize) {
        if let Err(e) = self.nodes[i].restart().await {
            panic!("cannot restart cluster node {i}: {e}");
        }
        let url = self.nodes[i].url();
        wait_jetstream_ready(&url).await;
    }

    pub fn node(&self, i: usize) -> &EmbeddedServer {
        &self.nodes[i]
    }
}

async fn connect_test_client(urls: &str) -> async_nats::Client {
    let addrs: Vec<async_nats::ServerAddr> = urls
        .split(',')
        .map(|u| u.parse().expect("harness URLs are valid"))
        .collect();
    async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| {
            Duration::from_millis((50 * 2u64.saturating_pow(attempt.min(5) as u32)).min(1_000))
        })
        .connection_timeout(Duration::from_secs(2))
        .connect(addrs)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to test server {urls}: {e}"))
}

/// Waits until the JetStream API of the server at `url` answers (for a cluster: a meta
/// leader exists). Probing is the only signal the server offers for this.
async fn wait_jetstream_ready(url: &str) {
    let deadline = Instant::now() + READY_WITHIN;
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    loop {
        // A raw request: the typed account info of the client library does not decode the
        // replies of every server version.
        let answer = tokio::time::timeout(
            Duration::from_millis(500),
            client.request("$JS.API.INFO", bytes::Bytes::new()),
        )
        .await;
        let problem = match answer {
            Ok(Ok(msg)) => match serde_json::from_slice::<serde_json::Value>(&msg.payload) {
                Ok(v) if v.get("error").is_none() => return,
                Ok(v) => v["error"].to_string(),
                Err(e) => e.to_string(),
            },
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 500ms".to_string(),
        };
        if Instant::now() >= deadline {
            panic!("JetStream at {url} not ready within {READY_WITHIN:?}: {problem}");
        }
        // Probe interval while the meta leader is being elected.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A free loopback TCP port (bound then released; cluster nodes need their ports before
/// they start, to name each other in their routes).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
