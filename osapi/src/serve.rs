//! The long-running commands: `osapi agent start`, `osapi api start` and `osapi start`
//! (embedded NATS + agent + HTTP API in one process).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use jetwire::{CancellationToken, ConnectOptions, EmbeddedOptions, EmbeddedServer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::agent::{self, AgentHandler};
use crate::delivery::DeliveryPolicy;
use crate::gateway::{self, Gateway};

/// Failure of a long-running command.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Connect(#[from] jetwire::ConnectError),
    #[error(transparent)]
    Agent(#[from] agent::AgentError),
    #[error("cannot start the embedded NATS server: {0}")]
    Embedded(#[from] jetwire::EmbeddedError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("job client: {0}")]
    Client(String),
    #[error("HTTP server: {0}")]
    Http(std::io::Error),
}

/// Cancelled on ctrl-c or SIGTERM.
pub fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}

/// Connects to NATS (the first attempt must succeed).
pub async fn connect(url: &str) -> Result<jetwire::async_nats::Client, ServeError> {
    Ok(ConnectOptions::new(url).name("osapi").connect().await?)
}

/// `osapi agent start`: prints `agent: ID`, then `ready` once the service is
/// provisioned and the agent is registered and pulling (jobs, broadcasts included, can
/// be submitted), then serves until `stop`.
pub async fn agent(
    nats_url: &str,
    host_id: String,
    root: PathBuf,
    delivery: &DeliveryPolicy,
    stop: CancellationToken,
) -> Result<(), ServeError> {
    let nats = connect(nats_url).await?;
    let service = delivery.service();
    let handler = AgentHandler::new(host_id, root);
    agent::prepare(&nats, &handler, service).await?;
    let host_id = handler.host_id().to_string();
    let agent_task = spawn_agent(nats, handler, service, stop).await?;
    print_lines(&[format!("agent: {host_id}"), "ready".into()]);
    join_agent(agent_task).await
}

/// Starts serving jobs as `handler` in a task and returns once the agent is registered
/// and pulling, so a job sent after `ready` (a broadcast included) finds it. An agent
/// that fails before that returns its error here.
async fn spawn_agent(
    nats: jetwire::async_nats::Client,
    handler: AgentHandler,
    service: &'static jetwire::ServiceSpec,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<Result<(), agent::AgentError>>, ServeError> {
    let (serving_tx, serving) = tokio::sync::oneshot::channel();
    let mut task = tokio::spawn(agent::serve(
        nats,
        handler,
        service,
        stop.cancelled_owned(),
        move || {
            let _ = serving_tx.send(());
        },
    ));
    tokio::select! {
        // Sent, or dropped because the task ended: either way the task tells which.
        _ = serving => Ok(task),
        ended = &mut task => {
            ended.unwrap_or_else(|e| panic!("agent task: {e}"))?;
            Ok(task)
        }
    }
}

/// Waits for the agent task and returns its outcome.
async fn join_agent(
    task: tokio::task::JoinHandle<Result<(), agent::AgentError>>,
) -> Result<(), ServeError> {
    task.await.unwrap_or_else(|e| panic!("agent task: {e}"))?;
    Ok(())
}

/// Prints stable `name: value` lines on stdout at once (logs go to stderr).
fn print_lines(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// Binds the HTTP listener.
pub async fn bind(addr: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen {
            addr: addr.into(),
            source,
        })
}

/// Serves the HTTP gateway on `listener`; connects to NATS in the background (routes
/// answer `503` until connected) and prints `ready` once connected.
pub async fn api(
    listener: TcpListener,
    nats_url: String,
    stop: CancellationToken,
) -> Result<(), ServeError> {
    let (tx, rx) = watch::channel(None);
    let connecting = stop.clone();
    tokio::spawn(async move {
        loop {
            let attempt = async {
                let nats = connect(&nats_url).await.map_err(|e| e.to_string())?;
                osapi_jobs::client::Client::new(nats)
                    .await
                    .map_err(|e| e.to_string())
            };
            match attempt.await {
                Ok(client) => {
                    let _ = tx.send(Some(client));
                    print_lines(&["ready".into()]);
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "NATS not reachable yet; retrying"),
            }
            tokio::select! {
                _ = connecting.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
    serve_http(listener, rx, stop).await
}

async fn serve_http(
    listener: TcpListener,
    client: watch::Receiver<Option<osapi_jobs::client::Client>>,
    stop: CancellationToken,
) -> Result<(), ServeError> {
    axum::serve(listener, gateway::router(Gateway::new(client)))
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
        .map_err(ServeError::Http)
}

/// Settings of `osapi start`.
pub struct StartOptions {
    /// An external server instead of the embedded one.
    pub nats_url: Option<String>,
    pub store_dir: PathBuf,
    pub listen: String,
    pub host_id: String,
    pub root: PathBuf,
    /// The agent's delivery policy overrides.
    pub delivery: DeliveryPolicy,
}

/// `osapi start`: prints `nats: URL`, `http: URL`, `agent: ID`, then `ready` once the
/// agent serves (as for [`agent`]).
pub async fn start(options: StartOptions, stop: CancellationToken) -> Result<(), ServeError> {
    let (_embedded, nats_url) = match options.nats_url {
        Some(url) => (None, url),
        None => {
            let server = EmbeddedServer::start(EmbeddedOptions {
                store_dir: Some(options.store_dir),
                ..Default::default()
            })
            .await?;
            let url = server.url();
            (Some(server), url)
        }
    };
    let nats = connect(&nats_url).await?;
    // Provision before anything is served, so `ready` means jobs can be submitted.
    let service = options.delivery.service();
    let handler = AgentHandler::new(options.host_id, options.root);
    agent::prepare(&nats, &handler, service).await?;
    let client = osapi_jobs::client::Client::new(nats.clone())
        .await
        .map_err(|e| ServeError::Client(e.to_string()))?;
    let (_keep, client) = watch::channel(Some(client));
    let listener = bind(&options.listen).await?;
    let http = listener.local_addr().map_err(ServeError::Http)?;
    let host_id = handler.host_id().to_string();
    let agent_task = spawn_agent(nats, handler, service, stop.clone()).await?;
    print_lines(&[
        format!("nats: {nats_url}"),
        format!("http: http://{http}"),
        format!("agent: {host_id}"),
        "ready".into(),
    ]);
    let api_result = serve_http(listener, client, stop.clone()).await;
    stop.cancel();
    let agent_result = join_agent(agent_task).await;
    api_result?;
    agent_result
}
