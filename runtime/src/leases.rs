//! Partition leases: which worker serves which keyed partition.
//!
//! A partitioned consumer (`ConsumerSpec::partitions = Some(n)`) stands for `n` durables,
//! `<durable>-<i>`, each serving one job at a time (`max_ack_pending` 1), so the jobs of
//! one routing key run one after another in publish order. Each partition durable is
//! read by at most one worker at a time: the holder of its lease.
//!
//! ## The lease bucket
//!
//! KV bucket `LeasesSpec::bucket`; key = the partition durable's name; value =
//! [`Lease`] `{worker_id, acquired_at}`. Every write is conditional:
//!
//! - **claim** a free partition (no key, or deleted): create / CAS on the delete marker's
//!   revision;
//! - **take over** an expired lease: CAS on the revision last seen;
//! - **renew** every `ttl/3`: CAS on the holder's own last revision;
//! - **release**: delete with CAS on the holder's revision.
//!
//! So of several workers racing for one partition exactly one wins, and a holder whose
//! lease was taken over learns it at its next renewal (the CAS fails) and stops that
//! partition's loop at once.
//!
//! ## Expiry without clocks
//!
//! Each worker watches the bucket. A lease is *expired* when this worker's watcher saw
//! no new revision of it for `ttl`, measured on the local monotonic clock: no wall-clock
//! time is compared between machines, so clock skew cannot expire a live lease. A holder
//! that could not renew for `ttl` minus one check interval (e.g. cut off from the
//! server) stops the partition's loop on its own, before anyone may take it over.
//!
//! ## Balance
//!
//! Live workers = this worker, the holders of leases that are not expired, and the
//! registry's entries (`ServiceSpec::registry`) refreshed within the lease ttl (or three
//! heartbeats, if longer; at most the registry's ttl) — except workers found *gone*: a worker all of whose leases expired is gone, and stays
//! gone (also once its leases were taken over) until the registry shows a heartbeat of
//! it newer than the one seen then. So a crashed worker stops counting when its leases
//! expire, not only when its registry entry does. Fair share =
//! ceil(partitions / live workers). A worker
//!
//! - claims free or expired partitions while it holds fewer than its share (in an order
//!   that differs per worker, rendezvous-hashed, so workers rarely race for the same one);
//! - releases its extras when it holds more (a worker joined): stops the loop, waits for
//!   the job in flight to finish, then deletes the lease, which the newcomer sees at once.
//!
//! Workers' views may differ for a moment (a registry entry not seen yet); the shares
//! then over- or under-cover the partitions briefly and converge as the views do.
//! On graceful shutdown every lease is released the same way after its job finished, so
//! the other workers take the partitions over immediately.
//!
//! ## Failover bound
//!
//! When a holder dies without releasing, each of its leases is taken over between
//! `ttl/2` and `ttl + ttl/6` after the death (its last renewal was at most `ttl/2`
//! earlier; expiry is checked every `ttl/6`), plus one KV round trip. Measured with
//! `ttl` = 1 s: 1.0–1.2 s (`runtime/tests/partitions.rs`); with `ttl` = 2 s and real
//! processes killed with SIGKILL: 1.6–1.8 s (`examples/coordinate/worker/tests`).
//! The job that was in flight on the dead worker stays unacknowledged until the
//! consumer redelivers it (`ack_wait`, or the backoff step); with at most one job in
//! flight per partition, the partition resumes with that job, in order, after
//! `max(redelivery wait, ttl + ttl/6)`. A graceful stop hands over at once (the lease is
//! deleted after the job in flight).
//!
//! ## Knobs
//!
//! `LeasesSpec::ttl` (document: `x-jetwire.leases.ttl`), overridden per worker by
//! `WorkerBuilder::lease_ttl`. Renewal every `ttl/3`, checks every `ttl/6`, each lease
//! write bounded by `ttl/3`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::partition::{fnv1a32, partition_durables};
use crate::spec::{ConsumerSpec, RegistrySpec, ServiceSpec};
use crate::worker::{Binding, Loops, WorkerError};

/// The value of a lease in the lease bucket.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lease {
    /// The worker holding the partition.
    pub worker_id: String,
    /// When this worker acquired it (renewals keep it).
    pub acquired_at: chrono::DateTime<chrono::Utc>,
}

/// The lease keys of a service: every partition durable of its partitioned consumers.
pub fn lease_keys(service: &ServiceSpec) -> Vec<String> {
    partitions(service).into_iter().map(|(k, _)| k).collect()
}

fn partitions(service: &ServiceSpec) -> Vec<(String, &ConsumerSpec)> {
    service
        .consumers
        .iter()
        .flat_map(|c| partition_durables(c).into_iter().map(move |(_, d)| (d, c)))
        .collect()
}

/// How often the manager checks renewals, expiries and balance: a sixth of the ttl.
fn check_interval(ttl: Duration) -> Duration {
    (ttl / 6).max(Duration::from_millis(10))
}

/// The running lease manager of one worker.
pub(crate) struct Leases {
    task: tokio::task::JoinHandle<()>,
    held: watch::Receiver<Vec<String>>,
}

impl Leases {
    /// Starts the lease manager when the service has partitioned consumers and a lease
    /// bucket. Fails when the bucket or a partition durable is missing (not provisioned).
    /// The manager stops claiming when `stop` is cancelled, releases every lease once
    /// its job finished, and ends; await it with [`Leases::finish`].
    pub(crate) async fn start(
        js: &jetstream::Context,
        service: &'static ServiceSpec,
        loops: Loops,
        worker_id: &str,
        ttl: Option<Duration>,
        stop: CancellationToken,
    ) -> Result<Option<Leases>, WorkerError> {
        let partitions = partitions(service);
        let Some(spec) = &service.leases else {
            if !partitions.is_empty() {
                return Err(WorkerError::Setup(
                    "the service has partitioned consumers but no lease bucket".into(),
                ));
            }
            return Ok(None);
        };
        if partitions.is_empty() {
            return Ok(None);
        }
        let kv = js.get_key_value(spec.bucket).await.map_err(|e| {
            WorkerError::Setup(format!(
                "lease bucket '{}': {e}; provision the service first",
                spec.bucket
            ))
        })?;
        for (durable, _) in &partitions {
            js.get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
                durable.as_str(),
                service.stream.name,
            )
            .await
            .map_err(|e| {
                WorkerError::Setup(format!(
                    "partition consumer '{durable}' of stream '{}': {e}; provision the service first",
                    service.stream.name
                ))
            })?;
        }
        let ttl = ttl.unwrap_or(spec.ttl).max(Duration::from_millis(60));
        let (held_tx, held) = watch::channel(Vec::new());
        let (drained_tx, drained_rx) = mpsc::unbounded_channel();
        let mut manager = Manager {
            kv,
            js: js.clone(),
            registry_bucket: service.registry.bucket,
            registry_quiet: registry_quiet(&service.registry, ttl),
            partitions,
            worker_id: worker_id.to_string(),
            ttl,
            loops,
            held: HashMap::new(),
            seen: HashMap::new(),
            workers: HashMap::new(),
            gone: HashMap::new(),
            drained_tx,
            held_tx,
        };
        manager.snapshot().await;
        let task = tokio::spawn(manager.run(stop, drained_rx));
        Ok(Some(Leases { task, held }))
    }

    /// The partition durables this worker holds, updated as they change.
    pub(crate) fn held(&self) -> watch::Receiver<Vec<String>> {
        self.held.clone()
    }

    /// Waits (at most `within`) for the manager to release its leases and end, after the
    /// worker's stop token was cancelled.
    pub(crate) async fn finish(self, within: Duration) {
        let mut task = self.task;
        if tokio::time::timeout(within, &mut task).await.is_err() {
            tracing::warn!(
                ?within,
                "partition leases not all released in time; they expire on their own"
            );
            task.abort();
        }
    }
}

/// Waits for `shutdown`; meanwhile hands every change of the held partitions to
/// `announce` (the registry entry's `partitions`).
pub(crate) async fn announce_until(
    leases: Option<&Leases>,
    shutdown: impl std::future::Future<Output = ()>,
    announce: impl Fn(Vec<String>),
) {
    let Some(leases) = leases else {
        return shutdown.await;
    };
    let mut held = leases.held();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            changed = held.changed() => match changed {
                Ok(()) => announce(held.borrow_and_update().clone()),
                // The manager ended (it only does after a stop): nothing more to announce.
                Err(_) => return shutdown.await,
            },
        }
    }
}

/// Why a conditional write of a lease failed.
enum WriteError {
    /// The revision did not match (or the key exists): someone else wrote.
    Conflict,
    /// Anything else, a timeout included; the outcome is unknown.
    Failed(String),
}

/// Runs one conditional write, bounded by `within` so that a slow server cannot hold up
/// the renewal (and self-fencing) of the other leases.
async fn write<T, E: std::fmt::Display>(
    within: Duration,
    op: impl std::future::Future<Output = Result<T, E>>,
    is_conflict: impl Fn(&E) -> bool,
) -> Result<T, WriteError> {
    match tokio::time::timeout(within, op).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if is_conflict(&e) => Err(WriteError::Conflict),
        Ok(Err(e)) => Err(WriteError::Failed(e.to_string())),
        Err(_) => Err(WriteError::Failed(format!("no answer within {within:?}"))),
    }
}

/// A lease this worker holds.
struct Held {
    revision: u64,
    acquired_at: chrono::DateTime<chrono::Utc>,
    /// When the last successful write was sent.
    written_at: Instant,
    /// When a renewal was last tried.
    tried_at: Instant,
    /// Stops this partition's loop.
    stop: CancellationToken,
    /// Held by the loop's running job (and briefly by the loop itself).
    permits: Arc<Semaphore>,
    /// Being given up: the loop is stopped; deleted once its job finished.
    releasing: bool,
    /// The loop's job finished; the delete is due.
    drained: bool,
}

/// What this worker last saw of a lease.
struct Seen {
    holder: Option<String>,
    revision: u64,
    at: Instant,
}

/// How long a worker's registry entry counts as live after its last new revision: the
/// registry's ttl, but no longer than the lease ttl (or three heartbeats, if longer). A
/// worker that has not refreshed its entry for that long has crashed or is cut off, and
/// could not renew a lease either. Without this bound a crashed worker whose leases were
/// all taken over by others before this worker saw them expire (so this worker never
/// found it gone) would count until its entry expired, holding this worker's share down.
fn registry_quiet(registry: &RegistrySpec, lease_ttl: Duration) -> Duration {
    registry.ttl.min(lease_ttl.max(registry.heartbeat * 3))
}

struct Manager {
    kv: kv::Store,
    js: jetstream::Context,
    registry_bucket: &'static str,
    /// How long a registry entry counts without a new revision: see [`registry_quiet`].
    registry_quiet: Duration,
    partitions: Vec<(String, &'static ConsumerSpec)>,
    worker_id: String,
    ttl: Duration,
    loops: Loops,
    held: HashMap<String, Held>,
    seen: HashMap<String, Seen>,
    /// Registry entries: worker id → (revision, when seen).
    workers: HashMap<String, (u64, Instant)>,
    /// Workers found gone (their leases expired) → their registry revision then.
    gone: HashMap<String, u64>,
    drained_tx: mpsc::UnboundedSender<String>,
    held_tx: watch::Sender<Vec<String>>,
}

/// The next entry of an optional watch; never resolves when there is none.
async fn next_entry(watch: &mut Option<kv::Watch>) -> Option<Result<kv::Entry, kv::WatcherError>> {
    match watch {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

impl Manager {
    async fn run(mut self, stop: CancellationToken, mut drained: mpsc::UnboundedReceiver<String>) {
        let mut leases: Option<kv::Watch> = None;
        let mut registry: Option<kv::Watch> = None;
        let mut registry_kv: Option<kv::Store> = None;
        let mut tick = tokio::time::interval(check_interval(self.ttl));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping = false;
        loop {
            if leases.is_none() {
                match self.kv.watch_with_history(">").await {
                    Ok(w) => leases = Some(w),
                    Err(e) => tracing::debug!(error = %e, "cannot watch the lease bucket yet"),
                }
            }
            if registry.is_none() {
                if registry_kv.is_none() {
                    // Absent until provisioned; the worker counts itself alone meanwhile.
                    registry_kv = self.js.get_key_value(self.registry_bucket).await.ok();
                }
                if let Some(r) = &registry_kv {
                    match r.watch_with_history(">").await {
                        Ok(w) => registry = Some(w),
                        Err(e) => tracing::debug!(error = %e, "cannot watch the registry yet"),
                    }
                }
            }
            tokio::select! {
                biased;
                _ = stop.cancelled(), if !stopping => {
                    stopping = true;
                    let keys: Vec<String> = self.held.keys().cloned().collect();
                    for key in keys {
                        self.begin_release(&key);
                    }
                }
                Some(key) = drained.recv() => {
                    if let Some(h) = self.held.get_mut(&key) {
                        h.drained = true;
                    }
                }
                entry = next_entry(&mut leases) => match entry {
                    Some(Ok(entry)) => self.saw_lease(&entry),
                    other => {
                        tracing::debug!(error = ?other.and_then(Result::err), "lease watch ended; re-creating it");
                        leases = None;
                    }
                },
                entry = next_entry(&mut registry) => match entry {
                    Some(Ok(entry)) => self.saw_worker(&entry),
                    other => {
                        tracing::debug!(error = ?other.and_then(Result::err), "registry watch ended; re-creating it");
                        registry = None;
                    }
                },
                _ = tick.tick() => {}
            }
            self.release_drained().await;
            self.renew_due().await;
            if !stopping {
                self.balance().await;
            }
            self.publish_held();
            if stopping && self.held.is_empty() {
                tracing::debug!("every partition lease released");
                return;
            }
        }
    }

    /// Reads every lease once, so the first decisions are informed.
    async fn snapshot(&mut self) {
        for (key, _) in self.partitions.clone() {
            match self.kv.entry(key.as_str()).await {
                Ok(Some(entry)) => self.saw_lease(&entry),
                Ok(None) => {}
                Err(e) => tracing::debug!(key, error = %e, "cannot read the lease"),
            }
        }
    }

    fn saw_lease(&mut self, entry: &kv::Entry) {
        let holder = match entry.operation {
            kv::Operation::Put => Some(
                serde_json::from_slice::<Lease>(&entry.value)
                    .map(|l| l.worker_id)
                    // Unreadable: held by someone unknown; it expires like any other.
                    .unwrap_or_else(|_| "?".into()),
            ),
            kv::Operation::Delete | kv::Operation::Purge => None,
        };
        let now = Instant::now();
        match self.seen.get_mut(&entry.key) {
            // The same revision again (a re-created watch): not a sign of life.
            Some(s) if s.revision >= entry.revision => {}
            Some(s) => {
                s.holder = holder;
                s.revision = entry.revision;
                s.at = now;
            }
            None => {
                self.seen.insert(
                    entry.key.clone(),
                    Seen {
                        holder,
                        revision: entry.revision,
                        at: now,
                    },
                );
            }
        }
    }

    fn saw_worker(&mut self, entry: &kv::Entry) {
        match entry.operation {
            kv::Operation::Put => {
                let now = Instant::now();
                let e = self.workers.entry(entry.key.clone()).or_insert((0, now));
                if e.0 != entry.revision {
                    *e = (entry.revision, now);
                }
            }
            kv::Operation::Delete | kv::Operation::Purge => {
                self.workers.remove(&entry.key);
            }
        }
    }

    /// The time allowed for one lease write.
    fn request_timeout(&self) -> Duration {
        (self.ttl / 3).max(Duration::from_millis(100))
    }

    fn expired(&self, seen: &Seen) -> bool {
        seen.at.elapsed() >= self.ttl
    }

    /// Workers counted for the fair share (see the module documentation).
    fn live_workers(&mut self) -> usize {
        let mut fresh: HashSet<String> = HashSet::new();
        let mut stale: HashSet<String> = HashSet::new();
        for seen in self.seen.values() {
            if let Some(holder) = &seen.holder {
                if self.expired(seen) {
                    stale.insert(holder.clone());
                } else {
                    fresh.insert(holder.clone());
                }
            }
        }
        // A worker whose leases all expired is gone, even while its registry entry
        // lives on (up to the registry's ttl), and stays gone after its leases were
        // taken over, until the registry shows a heartbeat newer than the one seen then.
        for id in stale.difference(&fresh) {
            if *id != self.worker_id {
                let revision = self.workers.get(id).map_or(0, |(r, _)| *r);
                self.gone.insert(id.clone(), revision);
            }
        }
        let workers = &self.workers;
        self.gone
            .retain(|id, revision| workers.get(id).is_some_and(|(r, _)| r == revision));
        let mut live: HashSet<&str> = self
            .workers
            .iter()
            .filter(|(id, (_, at))| {
                at.elapsed() < self.registry_quiet && !self.gone.contains_key(*id)
            })
            .map(|(id, _)| id.as_str())
            .collect();
        live.extend(fresh.iter().map(String::as_str));
        live.insert(&self.worker_id);
        live.len()
    }

    /// This worker's preference for a partition (lower = claimed first, released last).
    fn rank(&self, key: &str) -> u32 {
        fnv1a32(format!("{}/{key}", self.worker_id).as_bytes())
    }

    async fn balance(&mut self) {
        let share = self.partitions.len().div_ceil(self.live_workers());
        let mine = self.held.values().filter(|h| !h.releasing).count();
        if mine > share {
            let mut extras: Vec<String> = self
                .held
                .iter()
                .filter(|(_, h)| !h.releasing)
                .map(|(k, _)| k.clone())
                .collect();
            extras.sort_by_key(|k| std::cmp::Reverse(self.rank(k)));
            extras.truncate(mine - share);
            for key in extras {
                tracing::info!(partition = %key, share, "releasing a partition to rebalance");
                self.begin_release(&key);
            }
            return;
        }
        if mine == share {
            return;
        }
        let mut candidates: Vec<(String, &'static ConsumerSpec, Option<u64>)> = self
            .partitions
            .iter()
            .filter(|(key, _)| !self.held.contains_key(key))
            .filter_map(|(key, spec)| match self.seen.get(key) {
                None => Some((key.clone(), *spec, None)),
                Some(s) if s.holder.is_none() || self.expired(s) => {
                    Some((key.clone(), *spec, Some(s.revision)))
                }
                Some(_) => None,
            })
            .collect();
        candidates.sort_by_key(|(k, _, _)| self.rank(k));
        let mut mine = mine;
        for (key, spec, revision) in candidates {
            if mine >= share {
                break;
            }
            if self.claim(&key, spec, revision).await {
                mine += 1;
            }
        }
    }

    /// Claims a partition (create, or CAS on the revision seen) and starts its loop.
    async fn claim(&mut self, key: &str, spec: &'static ConsumerSpec, seen: Option<u64>) -> bool {
        let acquired_at = chrono::Utc::now();
        let value = self.value(acquired_at);
        let sent = Instant::now();
        let within = self.request_timeout();
        let written = match seen {
            Some(revision) => {
                write(within, self.kv.update(key, value, revision), |e| {
                    e.kind() == kv::UpdateErrorKind::WrongLastRevision
                })
                .await
            }
            None => {
                write(within, self.kv.create(key, value), |e| {
                    e.kind() == kv::CreateErrorKind::AlreadyExists
                })
                .await
            }
        };
        let revision = match written {
            Ok(revision) => revision,
            Err(WriteError::Conflict) => {
                tracing::debug!(
                    partition = key,
                    "another worker claimed the partition first"
                );
                // Learn who, rather than trying again before the watch tells.
                if let Ok(Some(entry)) = self.kv.entry(key).await {
                    self.saw_lease(&entry);
                }
                return false;
            }
            Err(WriteError::Failed(e)) => {
                tracing::debug!(partition = key, error = %e, "cannot claim the partition");
                return false;
            }
        };
        let previous = self.seen.get(key).and_then(|s| s.holder.clone());
        tracing::info!(
            partition = key,
            previous = previous.as_deref().unwrap_or(""),
            "partition lease acquired"
        );
        // Concurrency 1: the partition's jobs run one at a time, in order.
        let permits = Arc::new(Semaphore::new(1));
        let stop = self.loops.start_with_permits(
            Binding {
                durable: key.into(),
                spec,
            },
            permits.clone(),
        );
        self.held.insert(
            key.to_string(),
            Held {
                revision,
                acquired_at,
                written_at: sent,
                tried_at: sent,
                stop,
                permits,
                releasing: false,
                drained: false,
            },
        );
        true
    }

    fn value(&self, acquired_at: chrono::DateTime<chrono::Utc>) -> Bytes {
        let lease = Lease {
            worker_id: self.worker_id.clone(),
            acquired_at,
        };
        Bytes::from(serde_json::to_vec(&lease).unwrap_or_default())
    }

    /// Stops a partition's loop and, once its job in flight finished, has it deleted.
    fn begin_release(&mut self, key: &str) {
        let Some(h) = self.held.get_mut(key) else {
            return;
        };
        if h.releasing {
            return;
        }
        h.releasing = true;
        h.stop.cancel();
        let permits = h.permits.clone();
        let tx = self.drained_tx.clone();
        let key = key.to_string();
        tokio::spawn(async move {
            // The permit back: the loop ended and no job of it runs. (The semaphore is
            // never closed, so this only waits.)
            let _ = permits.acquire().await;
            let _ = tx.send(key);
        });
    }

    async fn release_drained(&mut self) {
        let due: Vec<(String, u64)> = self
            .held
            .iter()
            .filter(|(_, h)| h.drained)
            .map(|(k, h)| (k.clone(), h.revision))
            .collect();
        for (key, revision) in due {
            let delete = self.kv.delete_expect_revision(&key, Some(revision));
            let deleted = write(self.request_timeout(), delete, |e| {
                e.kind() == kv::UpdateErrorKind::WrongLastRevision
            });
            match deleted.await {
                Ok(()) => {
                    tracing::info!(partition = %key, "partition lease released");
                    self.held.remove(&key);
                }
                Err(WriteError::Conflict) => {
                    tracing::warn!(partition = %key, "partition lease was taken over before its release");
                    self.held.remove(&key);
                }
                // Tried again at the next check; renewals go on meanwhile.
                Err(WriteError::Failed(e)) => {
                    tracing::debug!(partition = %key, error = %e, "cannot release the partition lease yet")
                }
            }
        }
    }

    async fn renew_due(&mut self) {
        let every = self.ttl / 3;
        let check = check_interval(self.ttl);
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| h.tried_at.elapsed() >= every)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(h) = self.held.get(&key) else {
                continue;
            };
            let value = self.value(h.acquired_at);
            let revision = h.revision;
            let sent = Instant::now();
            let update = self.kv.update(&key, value, revision);
            let result = write(self.request_timeout(), update, |e| {
                e.kind() == kv::UpdateErrorKind::WrongLastRevision
            })
            .await;
            let Some(h) = self.held.get_mut(&key) else {
                continue;
            };
            h.tried_at = sent;
            match result {
                Ok(revision) => {
                    h.revision = revision;
                    h.written_at = sent;
                }
                Err(WriteError::Conflict) => {
                    tracing::warn!(partition = %key, "partition lease lost (taken over); stopping its loop");
                    h.stop.cancel();
                    self.held.remove(&key);
                }
                // Stop before anyone may take the partition over.
                Err(WriteError::Failed(e)) if h.written_at.elapsed() + check >= self.ttl => {
                    tracing::warn!(partition = %key, error = %e, "partition lease not renewed within its ttl; stopping its loop");
                    h.stop.cancel();
                    self.held.remove(&key);
                }
                Err(WriteError::Failed(e)) => {
                    tracing::debug!(partition = %key, error = %e, "cannot renew the partition lease; retrying")
                }
            }
        }
    }

    fn publish_held(&self) {
        let mut keys: Vec<String> = self.held.keys().cloned().collect();
        keys.sort();
        self.held_tx.send_if_modified(|current| {
            if *current == keys {
                false
            } else {
                *current = keys;
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_run_six_times_per_ttl() {
        assert_eq!(
            check_interval(Duration::from_secs(6)),
            Duration::from_secs(1)
        );
        assert_eq!(
            check_interval(Duration::from_millis(30)),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn a_registry_entry_counts_for_the_lease_ttl_or_three_heartbeats() {
        let registry = |heartbeat_ms, ttl_ms| RegistrySpec {
            bucket: "W",
            heartbeat: Duration::from_millis(heartbeat_ms),
            ttl: Duration::from_millis(ttl_ms),
            replicas: 1,
        };
        let lease_ttl = Duration::from_secs(1);
        // Heartbeats well inside the lease ttl: the lease ttl.
        assert_eq!(
            registry_quiet(&registry(200, 5_000), lease_ttl),
            Duration::from_secs(1)
        );
        // Slow heartbeats: three of them, so a live worker never drops out between two.
        assert_eq!(
            registry_quiet(&registry(2_000, 10_000), lease_ttl),
            Duration::from_secs(6)
        );
        // Never longer than the entry itself lives.
        assert_eq!(
            registry_quiet(&registry(2_000, 4_000), lease_ttl),
            Duration::from_secs(4)
        );
    }

    #[test]
    fn a_lease_is_json_with_the_holder() {
        let lease = Lease {
            worker_id: "w1".into(),
            acquired_at: chrono::DateTime::from_timestamp(0, 0).unwrap_or_default(),
        };
        let json = serde_json::to_value(&lease).unwrap();
        assert_eq!(json["worker_id"], "w1");
        assert_eq!(json["acquired_at"], "1970-01-01T00:00:00Z");
    }
}
