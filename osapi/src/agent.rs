//! The agent: answers the jobs of `asyncapi.yaml` on this host.
//!
//! [`AgentHandler`] implements the generated [`Handler`] trait with the providers (through
//! [`crate::bridge`]); [`run`] provisions the service and serves jobs with a
//! [`jetwire::Worker`] (which also runs the dead-letter component) until shutdown.
//!
//! ## Targets
//!
//! The agent's worker id is its host id (`--host-id`, by default this machine's host
//! name): it is the agent's key in the registry (`OSAPI_AGENTS`) and the `{target}` that
//! names it. The runtime gives every agent the shared `_any` consumer of each job class
//! plus its own consumer for jobs addressed to its host id; a broadcast (`_all`) reaches
//! each live agent as a copy addressed to its host id. A job for another host never
//! reaches this agent, so the handler does not check the target.
//!
//! ## Retries
//!
//! Provider errors are the contract's typed errors and final. One condition is
//! transient instead: the agent's root directory (see below) is not there (an unmounted
//! volume, a removed state directory). A query then fails with a retry (the consumer's
//! backoff, up to its `max-deliver`, then the dead-letter stream, from where it can be
//! replayed once the root is back); a modification, never retried, fails at once.
//!
//! ## Modifications
//!
//! `setDns` and `setHostname` write below the agent's root directory (`--root`): files
//! land at `<root>/etc/resolv.conf` and `<root>/etc/hostname`. Only root `/` changes the
//! host itself (and the kernel's host name). Queries of these files read the same root;
//! another root starts as a copy of this host's host name and `resolv.conf` (see
//! [`seed_root`]), so it answers like the host until it is modified.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use jetwire::ServiceSpec;
use jetwire::{HandlerError, JobContext, TypedError};
use osapi_jobs::operations::*;
use osapi_jobs::types::*;
use osapi_jobs::worker::{Dispatcher, Handler};

use crate::bridge;
use crate::providers;

/// The providers of this host behind the generated handler trait.
#[derive(Clone, Debug)]
pub struct AgentHandler {
    host_id: Arc<str>,
    root: Arc<PathBuf>,
}

impl AgentHandler {
    /// A handler for the agent `host_id`, writing modifications below `root`.
    pub fn new(host_id: impl Into<String>, root: PathBuf) -> Self {
        AgentHandler {
            host_id: Arc::from(host_id.into()),
            root: Arc::new(root),
        }
    }

    /// The host id: the agent's worker id and target.
    pub fn host_id(&self) -> &str {
        &self.host_id
    }

    /// Runs a blocking provider call that does not read the root directory and turns its
    /// outcome into the reply.
    async fn serve<R, E, T, F>(&self, ctx: &JobContext, call: F) -> Result<R, HandlerError<E>>
    where
        R: serde::de::DeserializeOwned,
        E: TypedError,
        T: serde::Serialize + Send + 'static,
        F: FnOnce() -> Result<T, providers::ProviderError> + Send + 'static,
    {
        let result = bridge::run_blocking(call).await?;
        bridge::respond(&ctx.request_id, result)
    }

    /// Like [`Self::serve`] for a call working below the root directory: a missing root
    /// is a transient failure (retried when the operation is retryable).
    async fn serve_rooted<R, E, T, F>(
        &self,
        ctx: &JobContext,
        call: F,
    ) -> Result<R, HandlerError<E>>
    where
        R: serde::de::DeserializeOwned,
        E: TypedError,
        T: serde::Serialize + Send + 'static,
        F: FnOnce(&std::path::Path) -> Result<T, providers::ProviderError> + Send + 'static,
    {
        let root = Arc::clone(&self.root);
        let result = bridge::run_blocking(move || {
            root_unavailable(&root).map_or_else(|| Ok(call(&root)), Err)
        })
        .await?;
        match result {
            Ok(result) => bridge::respond(&ctx.request_id, result),
            Err(reason) => Err(HandlerError::retry(reason)),
        }
    }
}

impl Handler for AgentHandler {
    async fn get_system_status(
        &self,
        ctx: &JobContext,
        _: GetSystemStatusParams,
        _: SystemStatusQuery,
    ) -> Result<SystemStatus, HandlerError<GetSystemStatusError>> {
        self.serve(ctx, providers::system::system_status).await
    }

    async fn get_disk(
        &self,
        ctx: &JobContext,
        _: GetDiskParams,
        payload: DiskQuery,
    ) -> Result<DiskUsage, HandlerError<GetDiskError>> {
        let mount = payload.mount_point;
        self.serve(ctx, move || providers::disk::disk_usage(mount.as_deref()))
            .await
    }

    async fn get_dns(
        &self,
        ctx: &JobContext,
        _: GetDnsParams,
        _: DnsQuery,
    ) -> Result<DnsConfig, HandlerError<GetDnsError>> {
        self.serve_rooted(ctx, providers::dns::get_dns).await
    }

    async fn get_hostname(
        &self,
        ctx: &JobContext,
        _: GetHostnameParams,
        _: HostnameQuery,
    ) -> Result<HostnameInfo, HandlerError<GetHostnameError>> {
        self.serve_rooted(ctx, providers::hostname::get_hostname)
            .await
    }

    async fn ping(
        &self,
        ctx: &JobContext,
        _: PingParams,
        payload: osapi_jobs::types::PingQuery,
    ) -> Result<PingResult, HandlerError<PingError>> {
        let query: providers::ping::PingQuery = bridge::request(&payload)?;
        self.serve(ctx, move || providers::ping::ping(&query)).await
    }

    async fn set_dns(
        &self,
        ctx: &JobContext,
        _: SetDnsParams,
        payload: osapi_jobs::types::DnsUpdate,
    ) -> Result<DnsConfig, HandlerError<SetDnsError>> {
        let update: providers::dns::DnsUpdate = bridge::request(&payload)?;
        self.serve_rooted(ctx, move |root| providers::dns::set_dns(root, &update))
            .await
    }

    async fn set_hostname(
        &self,
        ctx: &JobContext,
        _: SetHostnameParams,
        payload: osapi_jobs::types::HostnameUpdate,
    ) -> Result<HostnameChange, HandlerError<SetHostnameError>> {
        let update: providers::hostname::HostnameUpdate = bridge::request(&payload)?;
        self.serve_rooted(ctx, move |root| {
            providers::hostname::set_hostname(root, &update)
        })
        .await
    }
}

/// Failure to start the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot provision the OSAPI service: {0}")]
    Provision(#[from] jetwire::ProvisionError),
    #[error("cannot create the agent root {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Worker(#[from] jetwire::worker::WorkerError),
}

/// Creates `root` and, unless it is `/`, gives it this host's `etc/hostname` and
/// `etc/resolv.conf` where it has none yet.
pub fn seed_root(root: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    if providers::hostname::is_host_root(root) {
        return Ok(());
    }
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc)?;
    let hostname = providers::hostname::hostname_path(root);
    if !hostname.exists() {
        std::fs::write(
            &hostname,
            format!("{}\n", providers::hostname::kernel_hostname()),
        )?;
    }
    let resolv = providers::dns::resolv_conf_path(root);
    if !resolv.exists() {
        match std::fs::read("/etc/resolv.conf") {
            Ok(text) => std::fs::write(&resolv, text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Why the root directory cannot be worked in, if it cannot: it must be an existing
/// directory.
fn root_unavailable(root: &std::path::Path) -> Option<String> {
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => None,
        Ok(_) => Some(format!(
            "the agent root {} is not a directory",
            root.display()
        )),
        Err(e) => Some(format!(
            "the agent root {} is not available: {e}",
            root.display()
        )),
    }
}

/// Gets the agent ready to serve: creates and seeds its root, provisions `service` (the
/// OSAPI service, possibly with another delivery policy: [`crate::delivery`]).
pub async fn prepare(
    nats: &jetwire::async_nats::Client,
    handler: &AgentHandler,
    service: &'static ServiceSpec,
) -> Result<(), AgentError> {
    seed_root(&handler.root).map_err(|source| AgentError::Root {
        path: (*handler.root).clone(),
        source,
    })?;
    let js = jetwire::async_nats::jetstream::new(nats.clone());
    jetwire::provision(&js, service, &Default::default()).await?;
    Ok(())
}

/// Serves jobs as `handler`'s host until `shutdown` resolves ([`prepare`] first);
/// calls `serving` once the agent is registered and pulling jobs.
pub async fn serve(
    nats: jetwire::async_nats::Client,
    handler: AgentHandler,
    service: &'static ServiceSpec,
    shutdown: impl Future<Output = ()> + Send + 'static,
    serving: impl FnOnce() + Send + 'static,
) -> Result<(), AgentError> {
    // The host id is the worker id: the registry key and the target naming this agent.
    let worker_id = handler.host_id.to_string();
    tracing::info!(host_id = handler.host_id(), root = %handler.root.display(), "agent serving");
    jetwire::Worker::builder(nats, service, Dispatcher::new(handler))
        .worker_id(worker_id)
        .shutdown(shutdown)
        .on_serving(serving)
        .run()
        .await?;
    Ok(())
}

/// [`prepare`], then [`serve`].
pub async fn run(
    nats: jetwire::async_nats::Client,
    handler: AgentHandler,
    service: &'static ServiceSpec,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AgentError> {
    prepare(&nats, &handler, service).await?;
    serve(nats, handler, service, shutdown, || {}).await
}
