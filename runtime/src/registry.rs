//! The registry of live workers (agents): a KV bucket where every worker keeps one entry
//! under its id, refreshed every [`RegistrySpec::heartbeat`].
//!
//! - The bucket's stream has `max_age` = [`RegistrySpec::ttl`], so the server itself drops an
//!   entry that was not refreshed for `ttl`: an entry present in the bucket is live, by the
//!   server's clock alone (no clock skew between workers and readers).
//! - The value is JSON ([`AgentEntry`]); a graceful shutdown deletes it.
//! - Drain and resume are compare-and-set updates of the entry's `state`. The worker's
//!   heartbeat is a compare-and-set too: when it fails, the entry changed under it, the worker
//!   re-reads it and adopts the state it finds (and keeps it on later heartbeats).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::provision::{kv_bucket_stream_config, ProvisionOptions};
use crate::spec::{RegistrySpec, ServiceSpec};

/// Attempts of a compare-and-set state change before giving up on a contended entry.
const CAS_ATTEMPTS: usize = 16;

/// Whether a worker takes shared (`_any`) jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Serves every job it is bound to.
    Active,
    /// Takes no `_any` jobs (running ones finish); still serves jobs addressed to it and
    /// broadcasts.
    Draining,
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AgentState::Active => "active",
            AgentState::Draining => "draining",
        })
    }
}

/// One worker's registry entry (the JSON value under its id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentEntry {
    pub worker_id: String,
    pub hostname: String,
    pub pid: u32,
    /// The version of the service contract the worker serves.
    pub version: String,
    pub state: AgentState,
    pub started_at: DateTime<Utc>,
    /// The worker's clock at its last refresh (informational; liveness is the entry's
    /// presence, which the server bounds by the ttl).
    pub heartbeat_at: DateTime<Utc>,
    /// The partition durables the worker holds leases on.
    #[serde(default)]
    pub partitions: Vec<String>,
}

/// Failure to use the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry bucket '{bucket}' not found ({message}); provision the service first")]
    MissingBucket { bucket: String, message: String },
    #[error("invalid worker id '{0}': it is the registry key (letters, digits, '-', '_', '=', '/', '.'; not starting or ending with '.')")]
    InvalidId(String),
    #[error("no live worker '{worker_id}' in the registry (bucket '{bucket}')")]
    NotFound { worker_id: String, bucket: String },
    #[error("registry entry of '{key}' does not decode: {message}")]
    Decode { key: String, message: String },
    #[error("registry bucket '{bucket}': {message}")]
    Nats { bucket: String, message: String },
}

/// The stream behind the registry bucket (KV conventions, as for the responses bucket),
/// with `max_age` = the registry's ttl so entries not refreshed in time vanish.
pub fn registry_stream_config(service: &ServiceSpec, options: &ProvisionOptions) -> stream::Config {
    let r = &service.registry;
    kv_bucket_stream_config(
        r.bucket,
        1,
        r.ttl,
        options.replicas.unwrap_or(r.replicas).max(1),
        format!("jetwire worker registry of {}", service.title),
    )
}

/// The registry of a service's live workers. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Registry {
    kv: kv::Store,
    spec: &'static RegistrySpec,
}

fn is_valid_key(key: &str) -> bool {
    crate::records::is_valid_request_id(key)
}

impl Registry {
    /// The registry of `service` (its bucket must be provisioned).
    pub async fn open(
        js: &jetstream::Context,
        service: &'static ServiceSpec,
    ) -> Result<Registry, RegistryError> {
        let spec = &service.registry;
        let kv = js
            .get_key_value(spec.bucket)
            .await
            .map_err(|e| RegistryError::MissingBucket {
                bucket: spec.bucket.into(),
                message: e.to_string(),
            })?;
        Ok(Registry { kv, spec })
    }

    /// The registry's settings.
    pub fn spec(&self) -> &'static RegistrySpec {
        self.spec
    }

    fn nats(&self, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::Nats {
            bucket: self.spec.bucket.into(),
            message: e.to_string(),
        }
    }

    /// Every live worker, ordered by id.
    pub async fn list(&self) -> Result<Vec<AgentEntry>, RegistryError> {
        let keys: Vec<String> = self
            .kv
            .keys()
            .await
            .map_err(|e| self.nats(e))?
            .try_collect()
            .await
            .map_err(|e| self.nats(e))?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            // Gone between the listing and the read: not live any more.
            if let Some((entry, _)) = self.entry(&key).await? {
                out.push(entry);
            }
        }
        out.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
        Ok(out)
    }

    /// The live worker with this id, if any.
    pub async fn get(&self, worker_id: &str) -> Result<Option<AgentEntry>, RegistryError> {
        Ok(self.entry(worker_id).await?.map(|(e, _)| e))
    }

    /// The entry and its revision.
    pub(crate) async fn entry(
        &self,
        worker_id: &str,
    ) -> Result<Option<(AgentEntry, u64)>, RegistryError> {
        if !is_valid_key(worker_id) {
            return Err(RegistryError::InvalidId(worker_id.into()));
        }
        match self.kv.entry(worker_id).await.map_err(|e| self.nats(e))? {
            Some(e) if e.operation == kv::Operation::Put => {
                let entry =
                    serde_json::from_slice(&e.value).map_err(|err| RegistryError::Decode {
                        key: worker_id.into(),
                        message: err.to_string(),
                    })?;
                Ok(Some((entry, e.revision)))
            }
            _ => Ok(None),
        }
    }

    /// Drains a worker: it stops taking `_any` jobs (running ones finish) and keeps
    /// serving jobs addressed to it and broadcasts. Returns the updated entry.
    pub async fn drain(&self, worker_id: &str) -> Result<AgentEntry, RegistryError> {
        self.set_state(worker_id, AgentState::Draining).await
    }

    /// Undoes a drain: the worker takes `_any` jobs again. Returns the updated entry.
    pub async fn resume(&self, worker_id: &str) -> Result<AgentEntry, RegistryError> {
        self.set_state(worker_id, AgentState::Active).await
    }

    /// Sets the state with a compare-and-set on the revision read (a heartbeat in between
    /// makes it read again).
    async fn set_state(
        &self,
        worker_id: &str,
        state: AgentState,
    ) -> Result<AgentEntry, RegistryError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some((mut entry, revision)) = self.entry(worker_id).await? else {
                return Err(RegistryError::NotFound {
                    worker_id: worker_id.into(),
                    bucket: self.spec.bucket.into(),
                });
            };
            if entry.state == state {
                return Ok(entry);
            }
            entry.state = state;
            match self.kv.update(worker_id, encode(&entry), revision).await {
                Ok(_) => return Ok(entry),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => return Err(self.nats(e)),
            }
        }
        Err(self.nats(format!(
            "entry of '{worker_id}' kept changing; gave up after {CAS_ATTEMPTS} attempts"
        )))
    }
}

fn encode(entry: &AgentEntry) -> bytes::Bytes {
    bytes::Bytes::from(serde_json::to_vec(entry).expect("an entry always serializes"))
}

/// The machine's host name (`unknown` when it cannot be read).
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Called with the state operators set (drain / resume), before the worker's entry is
/// written with it: once a reader sees the worker's own write of a state, it is applied.
pub(crate) type OnState = Arc<dyn Fn(AgentState) + Send + Sync>;

/// A worker's presence in the registry: its entry, kept fresh by a background task that
/// also applies the state operators set (drain / resume).
pub(crate) struct Presence {
    registry: Registry,
    worker_id: String,
    partitions: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Presence {
    /// Writes the worker's entry and starts its heartbeat. A drain set on an entry that is
    /// still live under this id (e.g. before a quick restart) is kept.
    pub(crate) async fn register(
        registry: Registry,
        worker_id: &str,
        version: &str,
        on_state: OnState,
    ) -> Result<Presence, RegistryError> {
        let now = Utc::now();
        let previous = registry.entry(worker_id).await?;
        let state = match &previous {
            Some((prev, _)) => {
                if prev.pid != std::process::id() || prev.hostname != hostname() {
                    tracing::warn!(
                        worker_id,
                        previous_host = %prev.hostname,
                        previous_pid = prev.pid,
                        "a live registry entry with this worker id exists; taking it over (two workers with one id share their jobs)"
                    );
                }
                prev.state
            }
            None => AgentState::Active,
        };
        let entry = AgentEntry {
            worker_id: worker_id.into(),
            hostname: hostname(),
            pid: std::process::id(),
            version: version.into(),
            state,
            started_at: now,
            heartbeat_at: now,
            partitions: Vec::new(),
        };
        on_state(state);
        let revision = registry
            .kv
            .put(worker_id, encode(&entry))
            .await
            .map_err(|e| registry.nats(e))?;
        let partitions = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let task = tokio::spawn(heartbeat_loop(
            registry.clone(),
            entry,
            revision,
            on_state,
            partitions.clone(),
            stop.clone(),
        ));
        Ok(Presence {
            registry,
            worker_id: worker_id.into(),
            partitions,
            stop,
            task: Some(task),
        })
    }

    /// The partitions to announce from the next heartbeat on.
    pub(crate) fn set_partitions(&self, partitions: Vec<String>) {
        *self.partitions.lock().expect("partitions lock") = partitions;
    }

    /// Stops the heartbeat and deletes the entry (graceful shutdown).
    pub(crate) async fn leave(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        let delete = self.registry.kv.delete(&self.worker_id);
        match tokio::time::timeout(Duration::from_secs(2), delete).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not remove the registry entry; it expires after the ttl")
            }
            Err(_) => {
                tracing::warn!("removing the registry entry timed out; it expires after the ttl")
            }
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Refreshes the entry every heartbeat with a CAS on the last revision. A change by
/// someone else (a drain or resume) is seen at once through a watch of the entry, or at the
/// latest by the next heartbeat, whose CAS then fails: re-read, adopt its state, write again.
async fn heartbeat_loop(
    registry: Registry,
    mut entry: AgentEntry,
    mut revision: u64,
    on_state: OnState,
    partitions: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
) {
    let key = entry.worker_id.clone();
    let heartbeat = registry.spec.heartbeat;
    let mut watch = watch_entry(&registry, &key).await;
    let mut next_beat = tokio::time::Instant::now() + heartbeat;
    loop {
        let changed_elsewhere = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(next_beat) => false,
            seen = next_revision(&mut watch) => match seen {
                // The echo of this worker's own write, or a write it has already read
                // (revisions only grow).
                Some(r) if r <= revision => continue,
                Some(_) => true,
                None => {
                    watch = None;
                    continue;
                }
            },
        };
        next_beat = tokio::time::Instant::now() + heartbeat;
        if watch.is_none() {
            watch = watch_entry(&registry, &key).await;
        }
        if !changed_elsewhere {
            entry.heartbeat_at = Utc::now();
            entry.partitions = partitions.lock().expect("partitions lock").clone();
            match registry.kv.update(&key, encode(&entry), revision).await {
                Ok(r) => {
                    revision = r;
                    continue;
                }
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
                Err(e) => {
                    tracing::debug!(error = %e, "registry heartbeat failed; retrying");
                    continue;
                }
            }
        }
        match registry.entry(&key).await {
            Ok(Some((current, r))) => {
                if current.state != entry.state {
                    tracing::info!(worker_id = %key, state = %current.state, "registry state changed");
                    entry.state = current.state;
                    on_state(current.state);
                }
                revision = r;
            }
            // Expired (e.g. the server was away longer than the ttl) or deleted: write it
            // again with the state known here.
            Ok(None) => match registry.kv.create(&key, encode(&entry)).await {
                Ok(r) => revision = r,
                Err(e) => tracing::debug!(error = %e, "registry entry not re-created yet"),
            },
            Err(e) => tracing::debug!(error = %e, "registry entry not readable; retrying"),
        }
        // Write the refreshed entry (with the state applied) right away.
        next_beat = tokio::time::Instant::now();
    }
}

/// A watch of the worker's own entry (new writes only); `None` when it cannot be created
/// now (the heartbeat's CAS still notices changes; the watch is tried again later).
async fn watch_entry(registry: &Registry, key: &str) -> Option<kv::Watch> {
    match registry.kv.watch(key).await {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::debug!(error = %e, "cannot watch the registry entry; relying on heartbeats");
            None
        }
    }
}

/// The revision of the next write the watch sees; `None` when the watch ended or failed.
async fn next_revision(watch: &mut Option<kv::Watch>) -> Option<u64> {
    match watch {
        Some(w) => match w.next().await {
            Some(Ok(entry)) => Some(entry.revision),
            _ => None,
        },
        None => std::future::pending().await,
    }
}
