//! The worker: pulls jobs from the service's durable consumers, runs each through a
//! [`Dispatch`], stores the response record, and acknowledges.
//!
//! - One pull loop per consumer, each with its own concurrency limit, so slow
//!   modifications never starve queries. A loop asks the server for exactly as many
//!   messages as it has free slots.
//! - Before running, a delivery claims the job by storing its `Running` record
//!   (create-if-absent, or CAS on the `Accepted` record read). Of concurrent deliveries
//!   of one job (a redelivery racing a slow or late-acking run) only the claim holder
//!   runs it; the others leave the message alone. The holder renews its claim every
//!   quarter of the claim lease; a claim of an older attempt left unrenewed for a whole
//!   lease (its worker died) is taken over by CAS. A retry releases the claim.
//! - Except a query's first delivery: queries only read, so running one twice is
//!   harmless, and it runs at once. It claims the job only if it is still running after
//!   [`DEFERRED_CLAIM_AFTER`] (so clients see it running and redeliveries wait on it).
//!   A quick query thus costs one record write instead of two; its result is still
//!   written create-if-absent or CAS, so of two racing runs one answer is kept.
//! - A delivery whose request already has a terminal record is acknowledged without
//!   running (the job ran before and its ack was lost); claiming is what finds that
//!   record, so a query's first delivery may run and then keeps the stored answer.
//! - Records are written with create-if-absent or CAS update, never over a terminal one.
//! - Success: record, then ack. Retryable failure: NAK with delay (the handler's, else the
//!   consumer's backoff for that attempt). Final failure: record, then TERM. Exhausted
//!   deliveries are dead-lettered by [`crate::deadletter`].
//! - Long jobs send in-progress acks every third of the ack wait and on
//!   [`JobContext::progress`].
//! - A handler panic becomes an internal failure; the worker keeps serving.
//! - Shutdown: stop fetching, let in-flight jobs finish within the grace period, NAK the
//!   rest.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use futures::{FutureExt, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::client::REQUEST_ID_HEADER;
use crate::deadletter::DeadLetters;
use crate::dispatch::{BoxFuture, Dispatch, Job, JobContext, Outcome};
use crate::record::{FailureKind, JobFailure, JobStatus, ResponseRecord};
use crate::records::{is_valid_request_id, Claim, RecordStore};
use crate::spec::{ConsumerSpec, JobClass, OperationSpec, ServiceSpec};
use crate::subject::route;

/// How long one pull request waits for messages before it is renewed.
const FETCH_EXPIRY: Duration = Duration::from_secs(1);

/// Failure to start the worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("worker setup: {0}")]
    Setup(String),
}

/// Entry point: `Worker::builder(..).run().await`.
pub struct Worker;

impl Worker {
    pub fn builder(
        nats: async_nats::Client,
        service: &'static ServiceSpec,
        dispatch: impl Dispatch,
    ) -> WorkerBuilder {
        WorkerBuilder {
            nats,
            service,
            dispatch: Arc::new(dispatch),
            worker_id: default_worker_id(),
            concurrency: HashMap::new(),
            shutdown: None,
            grace: Duration::from_secs(30),
            dead_letters: true,
            lease_ttl: None,
            on_serving: None,
        }
    }
}

/// Settings of a worker; finish with [`WorkerBuilder::run`].
pub struct WorkerBuilder {
    nats: async_nats::Client,
    service: &'static ServiceSpec,
    dispatch: Arc<dyn Dispatch>,
    worker_id: String,
    concurrency: HashMap<JobClass, usize>,
    shutdown: Option<BoxFuture<'static, ()>>,
    grace: Duration,
    dead_letters: bool,
    lease_ttl: Option<Duration>,
    on_serving: Option<Box<dyn FnOnce() + Send>>,
}

impl WorkerBuilder {
    /// Name recorded in the records this worker writes (default `<hostname>-<pid>`).
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = id.into();
        self
    }

    /// Jobs of this class run at once per consumer (default: the spec's `concurrency`).
    pub fn concurrency(mut self, class: JobClass, n: usize) -> Self {
        self.concurrency.insert(class, n.max(1));
        self
    }

    /// The signal that starts a graceful shutdown (default: ctrl-c or SIGTERM).
    pub fn shutdown(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// How long in-flight jobs may run on after the shutdown signal (default 30 s).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Whether this worker also runs the dead-letter component (default: yes).
    pub fn dead_letters(mut self, enabled: bool) -> Self {
        self.dead_letters = enabled;
        self
    }

    /// How long a partition lease lives without renewal (default: the spec's
    /// `LeasesSpec::ttl`); see [`crate::leases`].
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = Some(ttl);
        self
    }

    /// Called once the worker serves: its consumers are pulled and its registry entry
    /// exists, so a broadcast or a job targeted at it finds it. A process that prints
    /// "ready" waits for this.
    pub fn on_serving(mut self, serving: impl FnOnce() + Send + 'static) -> Self {
        self.on_serving = Some(Box::new(serving));
        self
    }

    /// Serves jobs until the shutdown signal, then shuts down gracefully.
    pub async fn run(self) -> Result<(), WorkerError> {
        let js = jetstream::new(self.nats.clone());
        let records = RecordStore::open(&js, self.service.responses.bucket)
            .await
            .map_err(|e| WorkerError::Setup(e.to_string()))?;
        // Fail fast on a service that was never provisioned; later outages are retried.
        // (Partition durables are checked by the lease manager.)
        for consumer in self
            .service
            .consumers
            .iter()
            .filter(|c| c.partitions.is_none())
        {
            js.get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
                consumer.durable,
                self.service.stream.name,
            )
            .await
            .map_err(|e| {
                WorkerError::Setup(format!(
                    "consumer '{}' of stream '{}': {e}; provision the service first",
                    consumer.durable, self.service.stream.name
                ))
            })?;
        }
        let stop = CancellationToken::new();
        // Whatever way `run` returns (a setup error after loops started included), every
        // loop and the lease manager stop with it.
        let _stop_on_return = stop.clone().drop_guard();
        let shared = Arc::new(Shared {
            js: js.clone(),
            service: self.service,
            dispatch: self.dispatch,
            records,
            worker_id: self.worker_id,
            abandon: CancellationToken::new(),
        });
        let jobs = TaskTracker::new();
        let loops = Loops {
            shared: shared.clone(),
            jobs: jobs.clone(),
            tracker: TaskTracker::new(),
            stop: stop.clone(),
            concurrency: Arc::new(self.concurrency),
        };
        // Targeted consumers (shared `_any` and own durables) and the registry entry.
        let presence = crate::targets::join(&js, self.service, &shared.worker_id, &loops)
            .await
            .map_err(WorkerError::Setup)?;
        for consumer in self.service.consumers {
            if !crate::targets::is_targeted_consumer(self.service, consumer)
                && consumer.partitions.is_none()
            {
                loops.start(Binding::plain(consumer));
            }
        }
        // Partitioned consumers: loops on the partitions this worker holds a lease of.
        let leases = crate::leases::Leases::start(
            &js,
            self.service,
            loops.clone(),
            &shared.worker_id,
            self.lease_ttl,
            stop.clone(),
        )
        .await?;
        if self.dead_letters {
            let dl = DeadLetters::new(self.nats.clone(), self.service)
                .await
                .map_err(|e| WorkerError::Setup(e.to_string()))?;
            let stop = stop.clone();
            loops.tracker.spawn(async move { dl.run(stop).await });
        }
        tracing::info!(worker_id = %shared.worker_id, "worker serving");
        if let Some(serving) = self.on_serving {
            serving();
        }
        let shutdown = async {
            match self.shutdown {
                Some(signal) => signal.await,
                None => default_shutdown_signal().await,
            }
        };
        // Meanwhile the registry entry names the partitions held.
        crate::leases::announce_until(leases.as_ref(), shutdown, |p| presence.set_partitions(p))
            .await;
        tracing::info!("worker shutting down: no new jobs");
        // Out of the registry first, so clients stop addressing this worker.
        presence.leave().await;
        stop.cancel();
        // The loops hold no jobs (those are tracked below); one stuck in a request to an
        // unresponsive server is left behind and ends with the runtime.
        loops.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(1), loops.tracker.wait()).await;
        jobs.close();
        if tokio::time::timeout(self.grace, jobs.wait()).await.is_err() {
            tracing::warn!(grace = ?self.grace, "jobs still running after the grace period; returning them to the stream");
            shared.abandon.cancel();
            jobs.wait().await;
        }
        if let Some(leases) = leases {
            leases.finish(Duration::from_secs(5)).await;
        }
        tracing::info!("worker stopped");
        Ok(())
    }
}

struct Shared {
    js: jetstream::Context,
    service: &'static ServiceSpec,
    dispatch: Arc<dyn Dispatch>,
    records: RecordStore,
    worker_id: String,
    /// Set when the grace period is over: running jobs are NAKed.
    abandon: CancellationToken,
}

/// One durable consumer a pull loop reads: its name on the server and the spec it was
/// made from (a targeted or partitioned spec stands for several durables).
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    pub durable: Arc<str>,
    pub spec: &'static ConsumerSpec,
}

impl Binding {
    /// The durable named by the spec itself.
    pub fn plain(spec: &'static ConsumerSpec) -> Binding {
        Binding {
            durable: spec.durable.into(),
            spec,
        }
    }
}

/// Starts pull loops while the worker runs: the fixed ones at start, and later ones (a
/// partition taken over) at any time. Each loop stops with the worker or with its own
/// token, whichever comes first; its running jobs finish either way.
#[derive(Clone)]
pub(crate) struct Loops {
    shared: Arc<Shared>,
    jobs: TaskTracker,
    tracker: TaskTracker,
    stop: CancellationToken,
    concurrency: Arc<HashMap<JobClass, usize>>,
}

impl Loops {
    /// Starts a loop on `binding` with the consumer class's concurrency; cancel the
    /// returned token to stop just this loop.
    pub fn start(&self, binding: Binding) -> CancellationToken {
        let n = self
            .concurrency
            .get(&binding.spec.class)
            .copied()
            .unwrap_or(binding.spec.concurrency)
            .max(1);
        self.start_with(binding, n)
    }

    /// Starts a loop running at most `concurrency` jobs at once.
    pub fn start_with(&self, binding: Binding, concurrency: usize) -> CancellationToken {
        self.start_with_permits(binding, Arc::new(Semaphore::new(concurrency.max(1))))
    }

    /// Starts a loop whose jobs each hold one of `permits` while they run: once every
    /// permit is back after the loop was stopped, none of its jobs is running.
    pub fn start_with_permits(
        &self,
        binding: Binding,
        permits: Arc<Semaphore>,
    ) -> CancellationToken {
        let stop = self.stop.child_token();
        self.tracker.spawn(pull_loop(
            self.shared.clone(),
            binding,
            permits,
            self.jobs.clone(),
            stop.clone(),
        ));
        stop
    }
}

/// `<hostname>-<pid>`, as a target token (the host name's first label, other characters
/// as `-`, at most 63 characters).
fn default_worker_id() -> String {
    let host = crate::registry::hostname();
    let label: String = host
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let label = label.trim_start_matches(['-', '_']);
    let pid = std::process::id().to_string();
    let keep = 62 - pid.len();
    let label = if label.is_empty() { "worker" } else { label };
    format!("{}-{pid}", &label[..label.len().min(keep)])
}

async fn default_shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

/// Backoff while the server or consumer is unavailable.
fn reconnect_delay(failures: u32) -> Duration {
    Duration::from_millis((50u64 << failures.min(5)).min(1_000))
}

/// What the open batches of one pull loop share with it.
#[derive(Default)]
struct PullState {
    /// Slots asked for by open pull requests and not delivered yet.
    open: AtomicUsize,
    /// A message came since the loop last looked.
    delivered: AtomicBool,
    /// A batch got no answer for three expiries: the consumer handle is renewed.
    silent: AtomicBool,
    /// Why a pull failed, if one did since the loop last looked.
    broken: std::sync::Mutex<Option<String>>,
    /// Woken on every change above.
    changed: tokio::sync::Notify,
}

/// Pulls from one durable consumer while `stop` is not cancelled, asking the server only
/// for as many messages as this worker has free slots (permits of `permits`), so jobs
/// are not hoarded away from other workers. The next request goes out when the open
/// ones are running low (at most a quarter of the slots left), not when they are used
/// up: jobs published meanwhile never wait for a request to be renewed, and there are
/// few requests (one per several jobs).
async fn pull_loop(
    shared: Arc<Shared>,
    binding: Binding,
    permits: Arc<Semaphore>,
    jobs: TaskTracker,
    stop: CancellationToken,
) {
    let stream_name = shared.service.stream.name;
    // Every permit is free when a loop starts: their number is the loop's concurrency.
    let low = permits.available_permits().max(1) / 4;
    let state = Arc::new(PullState::default());
    let readers = TaskTracker::new();
    let mut failures: u32 = 0;
    let mut pull: Option<PullConsumer> = None;
    let mut spare: Vec<OwnedSemaphorePermit> = Vec::new();
    loop {
        if state.delivered.swap(false, Ordering::AcqRel) {
            failures = 0;
        }
        if state.silent.swap(false, Ordering::AcqRel) {
            pull = None;
        }
        let broken = state.broken.lock().map(|mut b| b.take()).unwrap_or(None);
        if let Some(e) = broken {
            tracing::debug!(consumer = &*binding.durable, error = %e, "pull interrupted");
            pull = None;
            if back_off(&mut failures, &stop).await {
                break;
            }
            continue;
        }
        while let Ok(p) = permits.clone().try_acquire_owned() {
            spare.push(p);
        }
        if spare.is_empty() || state.open.load(Ordering::Acquire) > low {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = state.changed.notified() => {}
                p = permits.clone().acquire_owned(), if spare.is_empty() => {
                    spare.push(p.expect("the semaphore is never closed"));
                }
            }
            continue;
        }
        let c = match &pull {
            Some(c) => c.clone(),
            None => match shared
                .js
                .get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
                    &*binding.durable,
                    stream_name,
                )
                .await
            {
                Ok(c) => {
                    pull = Some(c.clone());
                    c
                }
                Err(e) => {
                    if failures == 0 {
                        tracing::warn!(consumer = &*binding.durable, error = %e, "cannot get consumer; retrying");
                    } else {
                        tracing::debug!(consumer = &*binding.durable, error = %e, "cannot get consumer; retrying");
                    }
                    spare.clear();
                    if back_off(&mut failures, &stop).await {
                        break;
                    }
                    continue;
                }
            },
        };
        let held = std::mem::take(&mut spare);
        let batch = c
            .batch()
            .max_messages(held.len())
            .expires(FETCH_EXPIRY)
            .messages()
            .await;
        match batch {
            Ok(batch) => {
                state.open.fetch_add(held.len(), Ordering::AcqRel);
                readers.spawn(read_batch(
                    batch,
                    held,
                    shared.clone(),
                    binding.spec,
                    jobs.clone(),
                    stop.clone(),
                    state.clone(),
                ));
            }
            Err(e) => {
                tracing::debug!(consumer = &*binding.durable, error = %e, "pull failed; retrying");
                pull = None;
                drop(held);
                if back_off(&mut failures, &stop).await {
                    break;
                }
            }
        }
    }
    // Readers stop with `stop` too; their jobs are tracked by `jobs`.
    readers.close();
    readers.wait().await;
}

/// Reads one open batch: every message starts a job holding one of `held`; the permits
/// left when the batch ends are freed for the next request.
async fn read_batch(
    mut batch: jetstream::consumer::pull::Batch,
    mut held: Vec<OwnedSemaphorePermit>,
    shared: Arc<Shared>,
    spec: &'static ConsumerSpec,
    jobs: TaskTracker,
    stop: CancellationToken,
    state: Arc<PullState>,
) {
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            // Bounded: a pull whose server went away must not hold its slots forever.
            m = tokio::time::timeout(FETCH_EXPIRY * 3, batch.next()) => m,
        };
        match next {
            Ok(Some(Ok(msg))) => {
                match held.pop() {
                    Some(permit) => {
                        jobs.spawn(run_job(shared.clone(), spec, msg, permit));
                        state.open.fetch_sub(1, Ordering::AcqRel);
                    }
                    // Never asked for more than the slots held; return it if it happens.
                    None => {
                        let _ = msg.ack_with(AckKind::Nak(None)).await;
                    }
                }
                state.delivered.store(true, Ordering::Release);
                state.changed.notify_one();
                if held.is_empty() {
                    break;
                }
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                if let Ok(mut broken) = state.broken.lock() {
                    *broken = Some(e.to_string());
                }
                break;
            }
            Err(_) => {
                state.silent.store(true, Ordering::Release);
                break;
            }
        }
    }
    state.open.fetch_sub(held.len(), Ordering::AcqRel);
    drop(held);
    state.changed.notify_one();
}

/// Counts one more failure in a row and waits the reconnect delay for that many, unless
/// stopped first; true when stopped.
async fn back_off(failures: &mut u32, stop: &CancellationToken) -> bool {
    *failures += 1;
    tokio::select! {
        _ = stop.cancelled() => true,
        _ = tokio::time::sleep(reconnect_delay(*failures)) => false,
    }
}

fn header(msg: &jetstream::Message, name: &str) -> Option<String> {
    msg.headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_string())
        .filter(|v| !v.is_empty())
}

/// The request id: the jetwire header, else `Nats-Msg-Id`, else the payload field.
fn request_id_of(msg: &jetstream::Message, op: Option<&OperationSpec>) -> Option<String> {
    header(msg, REQUEST_ID_HEADER)
        .or_else(|| header(msg, "Nats-Msg-Id"))
        .or_else(|| {
            let pointer = op?.request_id_pointer?;
            let payload: serde_json::Value = serde_json::from_slice(&msg.payload).ok()?;
            payload.pointer(pointer)?.as_str().map(str::to_string)
        })
}

fn all_headers(msg: &jetstream::Message) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(h) = &msg.headers {
        for (name, values) in h.iter() {
            for v in values {
                out.push((name.to_string(), v.as_str().to_string()));
            }
        }
    }
    out
}

/// The delay before the next attempt: the handler's, else the consumer's backoff step for
/// this attempt (the last step repeats), else its ack wait.
fn retry_delay(consumer: &ConsumerSpec, attempt: u64, requested: Duration) -> Duration {
    if !requested.is_zero() {
        return requested;
    }
    let i = (attempt.max(1) - 1) as usize;
    consumer
        .backoff
        .get(i)
        .or(consumer.backoff.last())
        .copied()
        .unwrap_or(consumer.ack_wait)
}

/// The shortest time after which the server redelivers an unacknowledged delivery: the
/// ack wait or a backoff step, whichever is shorter.
fn shortest_wait(consumer: &ConsumerSpec) -> Duration {
    consumer
        .backoff
        .iter()
        .copied()
        .chain([consumer.ack_wait])
        .filter(|d| !d.is_zero())
        .min()
        .unwrap_or(Duration::from_secs(30))
}

/// How often a running job tells the server it is alive: a third of the shortest wait.
fn keepalive_interval(consumer: &ConsumerSpec) -> Duration {
    (shortest_wait(consumer) / 3).max(Duration::from_millis(10))
}

/// Keeps one delivery alive while it is being worked on: an in-progress ack every
/// `interval` and whenever the handler reports progress, sent while [`KeepAlive::during`]
/// drives the work (claiming, running, storing) — no task of its own.
struct KeepAlive<'m> {
    msg: &'m jetstream::Message,
    interval: Duration,
    /// When the next in-progress ack is due.
    due: tokio::time::Instant,
    /// When the last one was sent.
    last_sent: tokio::time::Instant,
    progress: tokio::sync::mpsc::UnboundedReceiver<()>,
    progress_open: bool,
}

impl<'m> KeepAlive<'m> {
    fn new(
        msg: &'m jetstream::Message,
        interval: Duration,
        progress: tokio::sync::mpsc::UnboundedReceiver<()>,
    ) -> KeepAlive<'m> {
        let now = tokio::time::Instant::now();
        KeepAlive {
            msg,
            interval,
            due: now + interval,
            last_sent: now,
            progress,
            progress_open: true,
        }
    }

    /// Runs `work` to its end, keeping the delivery alive meanwhile.
    async fn during<F: Future>(&mut self, work: F) -> F::Output {
        tokio::pin!(work);
        // Progress reports closer together than this are folded into one ack.
        let spacing = self.interval / 10;
        loop {
            tokio::select! {
                biased;
                out = &mut work => return out,
                _ = tokio::time::sleep_until(self.due) => {}
                p = self.progress.recv(), if self.progress_open => {
                    if p.is_none() {
                        self.progress_open = false;
                        continue;
                    }
                    if self.last_sent.elapsed() < spacing {
                        continue;
                    }
                }
            }
            let _ = self.msg.ack_with(AckKind::Progress).await;
            self.last_sent = tokio::time::Instant::now();
            self.due = self.last_sent + self.interval;
        }
    }
}

/// How long a worker keeps retrying a record read or write (keeping the delivery alive)
/// before it lets the job be redelivered: a store that is briefly away (a leader election,
/// a reconnect) must not use up the job's delivery attempts.
const STORE_RETRY_FOR: Duration = Duration::from_secs(60);

/// Runs a record operation until it succeeds; `None` when it kept failing or the worker
/// is abandoning its jobs.
async fn with_store_retry<T, F, Fut>(shared: &Shared, what: &str, mut op: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, crate::records::StoreError>>,
{
    let deadline = tokio::time::Instant::now() + STORE_RETRY_FOR;
    let mut delay = Duration::from_millis(25);
    loop {
        match op().await {
            Ok(v) => return Some(v),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                tracing::warn!(error = %e, "cannot {what}; leaving the job to be redelivered");
                return None;
            }
            Err(e) => tracing::debug!(error = %e, "cannot {what} yet; retrying"),
        }
        tokio::select! {
            _ = shared.abandon.cancelled() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

async fn run_job(
    shared: Arc<Shared>,
    consumer: &'static ConsumerSpec,
    msg: jetstream::Message,
    _permit: OwnedSemaphorePermit,
) {
    let (attempt, sequence) = match msg.info() {
        Ok(info) => (info.delivered.max(1) as u64, info.stream_sequence),
        Err(_) => (1, 0),
    };
    let subject = msg.subject.to_string();
    let routed = route(shared.service, &subject);
    let request_id = request_id_of(&msg, routed.as_ref().map(|(op, _)| *op));
    let span = tracing::info_span!(
        "jetwire.job",
        request_id = request_id.as_deref().unwrap_or(""),
        subject = %subject,
        attempt,
        worker_id = %shared.worker_id,
    );
    async move {
        let Some(request_id) = request_id.filter(|id| is_valid_request_id(id)) else {
            tracing::error!(sequence, "job message without a usable request id; terminating it");
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        };
        let (progress_tx, progress_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut keepalive = KeepAlive::new(&msg, keepalive_interval(consumer), progress_rx);
        let mut record = ResponseRecord {
            request_id: request_id.clone(),
            operation: String::new(),
            subject: subject.clone(),
            status: JobStatus::Running,
            attempt,
            worker_id: Some(shared.worker_id.clone()),
            result: None,
            error: None,
            accepted_at: None,
            started_at: Some(chrono::Utc::now()),
            finished_at: None,
        };
        let Some((op, parameters)) = routed else {
            let failure = JobFailure::new(
                FailureKind::UnknownOperation,
                "unknown_operation",
                format!("no operation serves subject '{subject}'"),
            );
            finish_failed(&shared, &mut keepalive, record, failure).await;
            return;
        };
        record.operation = op.id.into();
        let lease = claim_lease(consumer);
        // Modifications, and every redelivery, claim the job before running it: of
        // concurrent deliveries only the claim holder runs the handler. A query's first
        // delivery runs at once and claims only if it is still running after
        // `DEFERRED_CLAIM_AFTER` (see the module docs).
        let deferred = op.class == JobClass::Query && attempt == 1;
        // The revision of our claim while we hold it.
        let mut held: Option<u64> = None;
        if !deferred {
            let claimed = keepalive.during(claim_job(&shared, &msg, &mut record, lease)).await;
            let Some(revision) = claimed else {
                return;
            };
            held = Some(revision);
        }
        // Whether a record may have been written for this request since the delivery
        // began (our claim, or one we found): false only while a deferred claim is unmade.
        let mut touched = !deferred;
        let job = Job {
            request_id: request_id.clone(),
            subject: subject.clone(),
            operation: op,
            parameters,
            headers: all_headers(&msg),
            payload: msg.payload.clone(),
            context: JobContext {
                request_id: request_id.clone(),
                attempt,
                worker_id: shared.worker_id.clone(),
                progress: Some(progress_tx),
            },
        };
        // The handler runs in this task (no task of its own to schedule and wake); a
        // panic in it is caught here.
        let dispatch = shared.dispatch.clone();
        let run = std::panic::AssertUnwindSafe(dispatch.dispatch(job)).catch_unwind();
        tokio::pin!(run);
        let every = lease / 4;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let deferred_claim = tokio::time::sleep(DEFERRED_CLAIM_AFTER);
        tokio::pin!(deferred_claim);
        let ran = keepalive
            .during(async {
                loop {
                    tokio::select! {
                        finished = &mut run => break Run::Finished(finished),
                        _ = &mut deferred_claim, if !touched => {
                            touched = true;
                            // Best effort: it shows the job as running and makes
                            // redeliveries wait; the final write decides either way.
                            match shared.records.claim(&mut record).await {
                                Ok(Claim::Claimed { revision }) => held = Some(revision),
                                Ok(Claim::Finished(_)) => break Run::AnsweredElsewhere,
                                Ok(Claim::Held { .. }) => tracing::debug!("another delivery holds the query; finishing this run"),
                                Err(e) => tracing::debug!(error = %e, "could not record the query as running"),
                            }
                        }
                        _ = renew.tick(), if held.is_some() => {
                            // Renewing shows deliveries that wait on the claim that we are alive.
                            let Some(revision) = held else { continue };
                            match shared.records.replace_at(&record, revision).await {
                                Ok(Some(r)) => held = Some(r),
                                Ok(None) => {
                                    held = None;
                                    tracing::warn!("the claim was taken over by another delivery (it was not renewed in time); finishing this run");
                                }
                                Err(e) => tracing::debug!(error = %e, "could not renew the claim"),
                            }
                        }
                        _ = shared.abandon.cancelled() => break Run::Abandoned,
                    }
                }
            })
            .await;
        let finished = match ran {
            Run::Finished(finished) => finished,
            Run::AnsweredElsewhere => {
                // Another delivery answered meanwhile: this run is moot.
                tracing::debug!("already answered by another delivery; acknowledging");
                ack(&msg).await;
                return;
            }
            Run::Abandoned => {
                tracing::info!("shutdown grace period over; returning the job to the stream");
                release_claim(&shared, &record, held).await;
                let _ = msg.ack_with(AckKind::Nak(None)).await;
                return;
            }
        };
        // The stored state as last seen, so the final write can skip reading it again:
        // our claim's revision, or no record at all while a deferred claim is unmade.
        let known: Option<Option<u64>> = match held {
            Some(revision) => Some(Some(revision)),
            None if !touched => Some(None),
            None => None,
        };
        let outcome = match finished {
            Ok(outcome) => outcome,
            Err(panic) => Outcome::Failed {
                failure: JobFailure::internal(format!(
                    "the handler panicked: {}",
                    panic_message(panic)
                )),
                retry_after: None,
            },
        };
        match outcome {
            Outcome::Succeeded(result) => {
                record.status = JobStatus::Succeeded;
                record.result = (op.has_reply || !result.is_null()).then_some(result);
                record.finished_at = Some(chrono::Utc::now());
                let stored = keepalive
                    .during(with_store_retry(&shared, "store the result", || async {
                        match known {
                            Some(state) => shared.records.write_unless_terminal_after(&record, state).await,
                            None => shared.records.write_unless_terminal(&record).await,
                        }
                    }))
                    .await;
                if stored.is_some() {
                    ack(&msg).await;
                    tracing::info!("job succeeded");
                }
            }
            Outcome::Failed {
                failure,
                retry_after: Some(after),
            } if op.retryable => {
                let delay = retry_delay(consumer, attempt, after);
                tracing::info!(?delay, reason = %failure.message, "job will be retried");
                // Released first, so the retry finds the job free rather than waiting
                // out this delivery's claim.
                release_claim(&shared, &record, held).await;
                let _ = msg.ack_with(AckKind::Nak(Some(delay))).await;
            }
            Outcome::Failed { failure, .. } => {
                finish_failed(&shared, &mut keepalive, record, failure).await;
            }
        }
    }
    .instrument(span)
    .await
}

/// How the handler's run ended.
enum Run {
    /// It returned (or panicked: the payload).
    Finished(std::thread::Result<Outcome>),
    /// A deferred claim found the job already answered by another delivery.
    AnsweredElsewhere,
    /// The shutdown grace period ran out first.
    Abandoned,
}

/// The least time a claim goes unrenewed before another delivery takes it over. Short
/// enough that a crashed worker's job soon runs again, long enough that a live holder
/// slowed down by a loaded machine or a leader election is not mistaken for a dead one.
const CLAIM_LEASE_MIN: Duration = Duration::from_secs(2);

/// How long a query's first delivery runs before it writes its `Running` record (its
/// claim). Most queries answer sooner and cost one record write instead of two.
const DEFERRED_CLAIM_AFTER: Duration = Duration::from_millis(100);

/// How long a claim may go unrenewed before it counts as abandoned: the consumer's
/// shortest redelivery wait, at least [`CLAIM_LEASE_MIN`]. Holders renew every quarter.
fn claim_lease(consumer: &ConsumerSpec) -> Duration {
    shortest_wait(consumer).max(CLAIM_LEASE_MIN)
}

/// Claims the job for this delivery (its `Running` record); the revision of the claim
/// when this delivery is to run the job. `None` when it must not run, with the delivery
/// already dealt with:
/// - the job is finished: acknowledged (its earlier ack was lost);
/// - a delivery of a newer or equal attempt holds it, or the holder renewed its claim
///   while we watched (it is alive): left alone, neither acked nor NAKed — the holder's
///   in-progress acks keep the message, its ack removes it, and if it dies the server
///   redelivers once the ack wait passes;
/// - the store stayed unreachable: left for redelivery.
///
/// A claim of an older attempt that is not renewed for a whole `lease` belongs to a
/// worker that died (or was cut off): it is taken over with a CAS on the revision seen,
/// so of several waiting deliveries one wins.
async fn claim_job(
    shared: &Shared,
    msg: &jetstream::Message,
    record: &mut ResponseRecord,
    lease: Duration,
) -> Option<u64> {
    // The holder's claim revision as first seen, and when.
    let mut seen: Option<(u64, tokio::time::Instant)> = None;
    loop {
        let claimed = with_store_retry(shared, "claim the job", || {
            let mut candidate = record.clone();
            async move {
                let claim = shared.records.claim(&mut candidate).await?;
                Ok((claim, candidate.accepted_at))
            }
        })
        .await;
        let (claim, accepted_at) = claimed?;
        record.accepted_at = accepted_at;
        let (holder, held_at) = match claim {
            Claim::Claimed { revision } => return Some(revision),
            Claim::Finished(existing) => {
                tracing::debug!(status = ?existing.status, "already finished; acknowledging without running");
                ack(msg).await;
                return None;
            }
            Claim::Held { holder, revision } => (holder, revision),
        };
        if holder.attempt >= record.attempt {
            tracing::info!(
                holder_attempt = holder.attempt,
                holder = holder.worker_id.as_deref().unwrap_or(""),
                "a delivery of a newer attempt holds the job; leaving it to that one"
            );
            return None;
        }
        match seen {
            None => seen = Some((held_at, tokio::time::Instant::now())),
            Some((revision, _)) if revision != held_at => {
                tracing::info!(
                    holder_attempt = holder.attempt,
                    holder = holder.worker_id.as_deref().unwrap_or(""),
                    "the holder of the job renewed its claim (it is alive); leaving the job to it"
                );
                return None;
            }
            Some((_, since)) if since.elapsed() >= lease => {
                let taken = with_store_retry(shared, "take over the claim", || {
                    shared.records.replace_at(record, held_at)
                })
                .await?;
                if let Some(revision) = taken {
                    tracing::warn!(
                        holder_attempt = holder.attempt,
                        holder = holder.worker_id.as_deref().unwrap_or(""),
                        ?lease,
                        "took over a claim that was not renewed within its lease"
                    );
                    return Some(revision);
                }
                // Changed meanwhile: the next round sees by whom.
                continue;
            }
            Some(_) => {}
        }
        tokio::select! {
            _ = shared.abandon.cancelled() => return None,
            _ = tokio::time::sleep(lease / 4) => {}
        }
    }
}

/// Gives the claim up (the job goes back to the stream for a retry): the record becomes
/// `Accepted` again, so the next delivery claims it at once instead of waiting out the
/// lease. Best effort: when it fails, the next delivery takes over after the lease.
async fn release_claim(shared: &Shared, record: &ResponseRecord, held: Option<u64>) {
    let Some(revision) = held else {
        return;
    };
    let released = ResponseRecord {
        status: JobStatus::Accepted,
        worker_id: None,
        started_at: None,
        ..record.clone()
    };
    match shared.records.replace_at(&released, revision).await {
        Ok(Some(_)) => {}
        Ok(None) => tracing::debug!("claim changed before it was released"),
        Err(e) => tracing::debug!(error = %e, "could not release the claim"),
    }
}

async fn finish_failed(
    shared: &Shared,
    keepalive: &mut KeepAlive<'_>,
    mut record: ResponseRecord,
    mut failure: JobFailure,
) {
    // A final failure: whatever the handler said, this delivery will not be retried.
    failure.retryable = failure.retryable && failure.kind == FailureKind::Handler;
    tracing::info!(code = %failure.code, reason = %failure.message, "job failed");
    record.status = JobStatus::Failed;
    record.error = Some(failure);
    record.finished_at = Some(chrono::Utc::now());
    let stored = keepalive
        .during(with_store_retry(shared, "store the failure", || {
            shared.records.write_unless_terminal(&record)
        }))
        .await;
    if stored.is_some() {
        let _ = keepalive.msg.ack_with(AckKind::Term).await;
    }
}

/// Acknowledges a delivery whose terminal record is stored, without waiting for the
/// server's confirmation: a lost ack only causes a redelivery, which finds the terminal
/// record and is acknowledged without running the job again.
async fn ack(msg: &jetstream::Message) {
    if let Err(e) = msg.ack().await {
        tracing::debug!(error = %e, "ack not sent; a redelivery will find the record");
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static CONSUMER: ConsumerSpec = ConsumerSpec {
        durable: "c",
        class: JobClass::Modify,
        filter_subject: "jobs.modify.>",
        ack_wait: Duration::from_secs(30),
        max_deliver: 4,
        backoff: &[Duration::from_secs(1), Duration::from_secs(5)],
        max_ack_pending: 10,
        concurrency: 1,
        partitions: None,
    };

    #[test]
    fn retry_uses_handler_delay_else_backoff_step() {
        assert_eq!(
            retry_delay(&CONSUMER, 1, Duration::from_millis(7)),
            Duration::from_millis(7)
        );
        assert_eq!(
            retry_delay(&CONSUMER, 1, Duration::ZERO),
            Duration::from_secs(1)
        );
        assert_eq!(
            retry_delay(&CONSUMER, 2, Duration::ZERO),
            Duration::from_secs(5)
        );
        assert_eq!(
            retry_delay(&CONSUMER, 9, Duration::ZERO),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn keepalive_is_a_third_of_the_shortest_wait() {
        assert_eq!(keepalive_interval(&CONSUMER), Duration::from_secs(1) / 3);
    }
}
