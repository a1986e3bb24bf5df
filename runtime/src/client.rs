//! The job client: submits requests to the jobs stream and gets their response records.
//!
//! `submit` publishes with JetStream (awaiting the stream's ack) under a request id that is
//! both the payload's request-id field and `Nats-Msg-Id`, so a retried submit of the same
//! request is deduplicated by the stream. `wait` is fed by one KV watcher per client (no
//! polling, no consumer per request); `get` reads a record from any process.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind};
use async_nats::HeaderMap;
use tracing::Instrument;

use crate::error::{record_outcome, JobError};
use crate::record::{JobFailure, JobStatus, ResponseRecord};
use crate::records::{is_valid_request_id, RecordStore, StoreError, Written};
use crate::registry::{Registry, RegistryError};
use crate::spec::{OperationSpec, ServiceSpec};
use crate::subject::match_subject;
use crate::targets;
use crate::validate::Violation;
use crate::watcher::{Waiter, Waiters};

/// Header carrying the request id, set on every job message. It wins over `Nats-Msg-Id`,
/// which a replay must change to get past the stream's deduplication.
pub const REQUEST_ID_HEADER: &str = "Jetwire-Request-Id";

/// One job to submit.
#[derive(Clone, Debug)]
pub struct Request {
    pub operation: &'static OperationSpec,
    /// The concrete subject (the operation's template with its parameters filled in).
    pub subject: String,
    /// Extra message headers.
    pub headers: Vec<(String, String)>,
    /// The JSON payload; the request id is inserted at the operation's pointer.
    pub payload: serde_json::Value,
    /// The request id to use (e.g. when retrying a submit); a new UUID v7 when `None`.
    pub request_id: Option<String>,
}

/// A submitted job.
#[derive(Clone, Debug)]
pub struct JobHandle {
    pub request_id: String,
    /// Stream sequence of the job message.
    pub sequence: u64,
    /// Whether the stream had already seen this request id (a repeated submit).
    pub duplicate: bool,
    client: Client,
}

impl JobHandle {
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Waits for the terminal record.
    pub async fn wait(&self, timeout: Duration) -> Result<ResponseRecord, JobError> {
        self.client.wait(&self.request_id, timeout).await
    }

    /// Waits and turns the record into the job's result.
    pub async fn result(&self, timeout: Duration) -> Result<serde_json::Value, JobError> {
        self.client.wait_result(&self.request_id, timeout).await
    }
}

/// The job client. Cheap to clone; clones share one connection and one watcher.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    js: jetstream::Context,
    service: &'static ServiceSpec,
    records: RecordStore,
    waiters: Waiters,
    /// Opened on first use: only targeted jobs need it.
    registry: tokio::sync::OnceCell<Registry>,
}

/// The results of a broadcast (`_all`) job, untyped (see [`crate::typed::broadcast`]).
#[derive(Debug)]
pub struct BroadcastResults {
    /// The broadcast's request id; worker `w` ran the copy `<request_id>.<w>`.
    pub request_id: String,
    /// Per worker id that answered, its copy's result.
    pub results: BTreeMap<String, Result<serde_json::Value, JobError>>,
    /// Workers sent a copy that did not answer (yet).
    pub missing: Vec<String>,
}

/// Timeout of the response watcher's JetStream requests (consumer re-creation).
const WATCHER_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Time allowed for the stream's publish ack.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

impl Client {
    /// A client for `service`. The responses bucket must exist (see
    /// [`crate::provision()`]); starts the client's response watcher.
    pub async fn new(
        nats: async_nats::Client,
        service: &'static ServiceSpec,
    ) -> Result<Client, JobError> {
        Self::with_ack_timeout(nats, service, DEFAULT_ACK_TIMEOUT).await
    }

    /// Like [`Client::new`], with the time allowed for a publish ack (after which a submit
    /// fails with `ServerUnavailable`).
    pub async fn with_ack_timeout(
        nats: async_nats::Client,
        service: &'static ServiceSpec,
        ack_timeout: Duration,
    ) -> Result<Client, JobError> {
        let connection = nats.clone();
        let js = jetstream::ContextBuilder::new()
            .timeout(ack_timeout)
            .build(nats);
        let records = RecordStore::open(&js, service.responses.bucket)
            .await
            .map_err(|e| {
                if connection.connection_state() != async_nats::connection::State::Connected {
                    JobError::ServerUnavailable(e.to_string())
                } else {
                    store_error(e)
                }
            })?;
        // The watcher's own handle uses short requests: after a server restart its
        // consumer is re-created as soon as the server answers, not after a long timeout.
        let watch_js = jetstream::ContextBuilder::new()
            .timeout(WATCHER_REQUEST_TIMEOUT)
            .build(connection.clone());
        let watch_records = RecordStore::open(&watch_js, service.responses.bucket)
            .await
            .map_err(store_error)?;
        let waiters = Waiters::start(watch_records)
            .await
            .map_err(JobError::Nats)?;
        Ok(Client {
            inner: Arc::new(Inner {
                js,
                service,
                records,
                waiters,
                registry: tokio::sync::OnceCell::new(),
            }),
        })
    }

    pub fn service(&self) -> &'static ServiceSpec {
        self.inner.service
    }

    /// The record store (read access for tools).
    pub fn records(&self) -> &RecordStore {
        &self.inner.records
    }

    /// The registry of live workers (opened on first use).
    pub async fn registry(&self) -> Result<&Registry, JobError> {
        self.inner
            .registry
            .get_or_try_init(|| Registry::open(&self.inner.js, self.inner.service))
            .await
            .map_err(registry_error)
    }

    /// Publishes the job and waits for the stream's ack. A repeated submit with the same
    /// request id within the stream's duplicate window is acknowledged as a duplicate and
    /// not run again.
    ///
    /// A targeted job for one worker id is published only when that worker is live in the
    /// registry ([`JobError::NoSuchAgent`] otherwise); target `_all` needs
    /// [`Client::broadcast`] ([`JobError::BroadcastOnly`]).
    pub async fn submit(&self, request: Request) -> Result<JobHandle, JobError> {
        self.check_target(&request).await?;
        self.publish(request).await
    }

    /// Checks the target of a targeted job: `_any` passes, `_all` is refused, a worker id
    /// must be live.
    async fn check_target(&self, request: &Request) -> Result<(), JobError> {
        let service = self.inner.service;
        let Some((_, target)) = targets::target_of(service, request.operation, &request.subject)
        else {
            return Ok(());
        };
        match target.as_str() {
            targets::ANY => Ok(()),
            targets::ALL => Err(JobError::BroadcastOnly {
                operation: request.operation.id.into(),
            }),
            worker_id => match self.registry().await?.get(worker_id).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) | Err(RegistryError::InvalidId(_)) => Err(JobError::NoSuchAgent {
                    worker_id: worker_id.into(),
                    bucket: service.registry.bucket.into(),
                }),
                Err(e) => Err(registry_error(e)),
            },
        }
    }

    /// Publishes without a target check.
    async fn publish(&self, request: Request) -> Result<JobHandle, JobError> {
        let request_id = match &request.request_id {
            Some(id) => id.clone(),
            None => uuid::Uuid::now_v7().to_string(),
        };
        let span = tracing::info_span!(
            "jetwire.submit",
            request_id = %request_id,
            operation = request.operation.id,
            subject = %request.subject
        );
        self.submit_inner(request, request_id)
            .instrument(span)
            .await
    }

    async fn submit_inner(
        &self,
        request: Request,
        request_id: String,
    ) -> Result<JobHandle, JobError> {
        let op = request.operation;
        let mut violations = Vec::new();
        // Keyed partitions: the runtime fills `{partition}` from the routing key.
        let request = match crate::partition::fill_partition(op, &request.subject, &request.payload)
        {
            Ok(subject) => Request { subject, ..request },
            Err(v) => {
                violations.push(v);
                request
            }
        };
        if !is_valid_request_id(&request_id) {
            violations.push(Violation {
                path: op.request_id_pointer.unwrap_or("").into(),
                message: format!(
                    "request id '{request_id}' may only contain letters, digits, '-', '_', '=', '/' and inner '.'"
                ),
            });
        }
        if match_subject(op.subject, &request.subject).is_none() {
            violations.push(Violation {
                path: String::new(),
                message: format!(
                    "subject '{}' does not match the operation's subject '{}'",
                    request.subject, op.subject
                ),
            });
        }
        let mut payload = request.payload;
        if let Some(pointer) = op.request_id_pointer {
            if let Err(v) = set_at_pointer(&mut payload, pointer, &request_id) {
                violations.push(v);
            }
        }
        if !violations.is_empty() {
            return Err(JobError::InvalidRequest(violations));
        }
        let mut headers = HeaderMap::new();
        for (k, v) in &request.headers {
            headers.insert(k.as_str(), v.as_str());
        }
        headers.insert("Nats-Msg-Id", request_id.as_str());
        headers.insert(REQUEST_ID_HEADER, request_id.as_str());
        let body = serde_json::to_vec(&payload).map_err(|e| {
            JobError::InvalidRequest(vec![Violation {
                path: String::new(),
                message: format!("cannot be serialised as JSON: {e}"),
            }])
        })?;
        let ack = self
            .inner
            .js
            .publish_with_headers(request.subject.clone(), headers, body.into())
            .await
            .map_err(|e| publish_error(self.inner.service, e))?
            .await
            .map_err(|e| publish_error(self.inner.service, e))?;
        tracing::debug!(
            sequence = ack.sequence,
            duplicate = ack.duplicate,
            "job accepted"
        );
        Ok(JobHandle {
            request_id,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
            client: self.clone(),
        })
    }

    /// Submits without waiting, and records the job as `Accepted` so a later `get` can
    /// tell it is pending.
    pub async fn submit_detached(&self, request: Request) -> Result<JobHandle, JobError> {
        let operation = request.operation.id;
        // The subject the job is published on (keyed partitions filled in).
        let subject =
            crate::partition::fill_partition(request.operation, &request.subject, &request.payload)
                .unwrap_or_else(|_| request.subject.clone());
        let handle = self.submit(request).await?;
        self.record_accepted(&handle.request_id, operation, &subject)
            .await?;
        Ok(handle)
    }

    /// Submits and waits for the result.
    pub async fn call(
        &self,
        request: Request,
        timeout: Duration,
    ) -> Result<serde_json::Value, JobError> {
        let (_, result) = self.submit_and_wait(request, timeout).await?;
        result
    }

    /// Submits and waits; a failed submit is the outer error, the request id and the
    /// job's result (or why waiting for it failed) the value.
    pub(crate) async fn submit_and_wait(
        &self,
        request: Request,
        timeout: Duration,
    ) -> Result<(String, Result<serde_json::Value, JobError>), JobError> {
        let fresh = request.request_id.is_none();
        let request_id = request
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        // Registered before publishing, the waiter sees the worker's write through the
        // watcher (which consumes every write made after it started). A fresh id can have
        // no record yet, so the read is skipped; a caller-chosen or duplicate id may have
        // one written before this call (e.g. a retried submit), so it is read.
        let waiter =
            is_valid_request_id(&request_id).then(|| self.inner.waiters.register(&request_id));
        let handle = self
            .submit(Request {
                request_id: Some(request_id),
                ..request
            })
            .await?;
        let waited = match waiter {
            Some(waiter) => {
                let read_first = !fresh || handle.duplicate;
                let span = tracing::info_span!("jetwire.wait", request_id = %handle.request_id);
                self.wait_registered(&handle.request_id, waiter, read_first, timeout)
                    .instrument(span)
                    .await
            }
            None => self.wait(&handle.request_id, timeout).await,
        };
        let result = waited.and_then(|record| terminal_outcome(&record));
        Ok((handle.request_id, result))
    }

    /// Sends one copy of a broadcast job (target `_all` in `request.subject`) to every live
    /// worker in the registry and collects their results for up to `timeout`, returning as
    /// soon as all answered.
    ///
    /// Worker `w` gets the job on the subject with target `w` and request id
    /// `<request_id>.<w>` (payload field and headers). Before publishing, a manifest record
    /// is stored under `<request_id>` (status `accepted`, `result: {"workers": [..]}`), so
    /// [`Client::broadcast_get`] finds the copies later; a repeated broadcast with the same
    /// request id reuses the manifest's workers (the stream deduplicates the copies).
    /// Workers that register later get nothing of it. The outer error: nothing (or not
    /// every copy) could be published, or no worker is live.
    pub async fn broadcast(
        &self,
        request: Request,
        timeout: Duration,
    ) -> Result<BroadcastResults, JobError> {
        let span = tracing::info_span!(
            "jetwire.broadcast",
            operation = request.operation.id,
            subject = %request.subject
        );
        self.broadcast_inner(request, timeout)
            .instrument(span)
            .await
    }

    async fn broadcast_inner(
        &self,
        request: Request,
        timeout: Duration,
    ) -> Result<BroadcastResults, JobError> {
        let service = self.inner.service;
        let op = request.operation;
        let invalid = |path: String, message: String| {
            JobError::InvalidRequest(vec![Violation { path, message }])
        };
        let Some((index, target)) = targets::target_of(service, op, &request.subject) else {
            return Err(invalid(
                String::new(),
                format!(
                    "subject '{}' is not a targeted subject of '{}' (template '{}')",
                    request.subject, op.id, op.subject
                ),
            ));
        };
        if target != targets::ALL {
            let parameter = service.targets.as_ref().map_or("", |t| t.parameter);
            return Err(invalid(
                crate::typed::parameter_path(parameter),
                format!(
                    "a broadcast needs the target '{}' (is '{target}')",
                    targets::ALL
                ),
            ));
        }
        let fresh = request.request_id.is_none();
        let request_id = request
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        if !is_valid_request_id(&request_id) {
            return Err(store_error(StoreError::InvalidKey(request_id)));
        }
        let known = if fresh {
            None
        } else {
            self.manifest(&request_id).await?
        };
        let workers = match known {
            Some(workers) => workers,
            None => self.write_manifest(&request, &request_id).await?,
        };
        // Registered before publishing: every answer from now on reaches its waiter.
        let waiters: Vec<(String, String, Waiter)> = workers
            .iter()
            .map(|w| {
                let id = copy_id(&request_id, w);
                let waiter = self.inner.waiters.register(&id);
                (w.clone(), id, waiter)
            })
            .collect();
        let publishes = waiters.iter().map(|(w, id, _)| {
            let subject = targets::with_parameter(op, &request.subject, index, w);
            let copy = Request {
                subject: subject.unwrap_or_default(),
                request_id: Some(id.clone()),
                ..request.clone()
            };
            self.publish(copy)
        });
        let mut duplicate = false;
        for published in futures::future::join_all(publishes).await {
            duplicate |= published?.duplicate;
        }
        Ok(self
            .collect(&request_id, waiters, !fresh || duplicate, timeout)
            .await)
    }

    /// Stores the manifest of a new broadcast (the live workers) and returns its workers;
    /// an existing manifest (a concurrent repeat) wins.
    async fn write_manifest(
        &self,
        request: &Request,
        request_id: &str,
    ) -> Result<Vec<String>, JobError> {
        let service = self.inner.service;
        let workers: Vec<String> = self
            .registry()
            .await?
            .list()
            .await
            .map_err(registry_error)?
            .into_iter()
            .map(|e| e.worker_id)
            .filter(|w| targets::is_valid_worker_id(w))
            .collect();
        if workers.is_empty() {
            return Err(JobError::NoLiveWorkers {
                operation: request.operation.id.into(),
                bucket: service.registry.bucket.into(),
            });
        }
        let record = ResponseRecord {
            request_id: request_id.into(),
            operation: request.operation.id.into(),
            subject: request.subject.clone(),
            status: JobStatus::Accepted,
            attempt: 0,
            worker_id: None,
            result: Some(serde_json::json!({ "workers": workers })),
            error: None,
            accepted_at: Some(chrono::Utc::now()),
            started_at: None,
            finished_at: None,
        };
        match self
            .inner
            .records
            .create(&record)
            .await
            .map_err(store_error)?
        {
            Written::KeptExisting(existing) | Written::KeptTerminal(existing) => {
                Ok(manifest_workers(&existing).unwrap_or(workers))
            }
            Written::Written { .. } => Ok(workers),
        }
    }

    /// The workers a broadcast's manifest names, `None` when there is no manifest.
    async fn manifest(&self, request_id: &str) -> Result<Option<Vec<String>>, JobError> {
        Ok(self
            .get(request_id)
            .await?
            .as_ref()
            .and_then(manifest_workers))
    }

    /// Waits for the copies' records (a copy that does not answer in time is missing).
    async fn collect(
        &self,
        request_id: &str,
        waiters: Vec<(String, String, Waiter)>,
        read_first: bool,
        timeout: Duration,
    ) -> BroadcastResults {
        let waits = waiters.into_iter().map(|(worker, id, waiter)| async move {
            let waited = self.wait_registered(&id, waiter, read_first, timeout).await;
            (worker, waited)
        });
        let mut out = BroadcastResults {
            request_id: request_id.into(),
            results: BTreeMap::new(),
            missing: Vec::new(),
        };
        for (worker, waited) in futures::future::join_all(waits).await {
            match waited {
                Ok(record) => {
                    out.results.insert(worker, terminal_outcome(&record));
                }
                Err(JobError::TimedOut { .. }) => out.missing.push(worker),
                Err(e) => {
                    out.results.insert(worker, Err(e));
                }
            }
        }
        out
    }

    /// The results of an earlier broadcast as they are now (no waiting): the manifest's
    /// workers with a finished copy in `results`, the others in `missing`. `None` when no
    /// broadcast with this request id is known.
    pub async fn broadcast_get(
        &self,
        request_id: &str,
    ) -> Result<Option<BroadcastResults>, JobError> {
        let Some(workers) = self.manifest(request_id).await? else {
            return Ok(None);
        };
        let mut out = BroadcastResults {
            request_id: request_id.into(),
            results: BTreeMap::new(),
            missing: Vec::new(),
        };
        for worker in workers {
            let record = self.get(&copy_id(request_id, &worker)).await?;
            match record.as_ref().and_then(record_outcome) {
                Some(result) => {
                    out.results.insert(worker, result);
                }
                None => out.missing.push(worker),
            }
        }
        Ok(Some(out))
    }

    /// Waits up to `timeout` for the copies of an earlier broadcast still missing.
    /// `None` when no broadcast with this request id is known.
    pub async fn broadcast_wait(
        &self,
        request_id: &str,
        timeout: Duration,
    ) -> Result<Option<BroadcastResults>, JobError> {
        let Some(workers) = self.manifest(request_id).await? else {
            return Ok(None);
        };
        let waiters = workers
            .into_iter()
            .map(|w| {
                let id = copy_id(request_id, &w);
                let waiter = self.inner.waiters.register(&id);
                (w, id, waiter)
            })
            .collect();
        Ok(Some(self.collect(request_id, waiters, true, timeout).await))
    }

    /// The stored record of a request, if any.
    pub async fn get(&self, request_id: &str) -> Result<Option<ResponseRecord>, JobError> {
        self.inner
            .records
            .get(request_id)
            .await
            .map_err(store_error)
    }

    /// Waits until the request's record is terminal and returns it. On timeout the job is
    /// recorded as `Accepted` (unless a record exists) and `JobError::TimedOut` returned.
    pub async fn wait(
        &self,
        request_id: &str,
        timeout: Duration,
    ) -> Result<ResponseRecord, JobError> {
        let span = tracing::info_span!("jetwire.wait", request_id = %request_id);
        self.wait_inner(request_id, timeout).instrument(span).await
    }

    async fn wait_inner(
        &self,
        request_id: &str,
        timeout: Duration,
    ) -> Result<ResponseRecord, JobError> {
        if !is_valid_request_id(request_id) {
            return Err(store_error(StoreError::InvalidKey(request_id.into())));
        }
        // Register first: a record written from now on reaches the waiter.
        let waiter = self.inner.waiters.register(request_id);
        self.wait_registered(request_id, waiter, true, timeout)
            .await
    }

    /// Waits on an already registered waiter; with `read_first`, also reads the record
    /// once (for a record written before the waiter was registered).
    async fn wait_registered(
        &self,
        request_id: &str,
        mut waiter: Waiter,
        read_first: bool,
        timeout: Duration,
    ) -> Result<ResponseRecord, JobError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last_known: Option<ResponseRecord> = None;
        // The read runs alongside the watch: when the server is away, whichever answers
        // first after it is back wins.
        let read = self.inner.records.get(request_id);
        tokio::pin!(read);
        let mut read_done = !read_first;
        let deadline_sleep = tokio::time::sleep_until(deadline);
        tokio::pin!(deadline_sleep);
        loop {
            tokio::select! {
                r = &mut read, if !read_done => {
                    read_done = true;
                    match r {
                        Ok(Some(record)) if record.status.is_terminal() => return Ok(record),
                        Ok(other) => last_known = last_known.or(other),
                        // The watcher re-reads pending ids once the server is back.
                        Err(e) => tracing::debug!(error = %e, "initial read failed; waiting for the watcher"),
                    }
                }
                changed = waiter.changed() => match changed {
                    Some(record) if record.status.is_terminal() => return Ok(record),
                    Some(record) => last_known = Some(record),
                    None => {}
                },
                _ = &mut deadline_sleep => break,
            }
        }
        drop(waiter);
        if last_known.is_none() {
            // Leave a trace so a later lookup can tell pending from unknown.
            let record = ResponseRecord {
                request_id: request_id.into(),
                operation: String::new(),
                subject: String::new(),
                status: JobStatus::Accepted,
                attempt: 0,
                worker_id: None,
                result: None,
                error: None,
                accepted_at: Some(chrono::Utc::now()),
                started_at: None,
                finished_at: None,
            };
            if let Err(e) = self.inner.records.create(&record).await {
                tracing::debug!(error = %e, "could not record the timed-out job as accepted");
            }
        }
        Err(JobError::TimedOut {
            request_id: request_id.into(),
            waited: timeout,
        })
    }

    /// Waits and turns the terminal record into the job's result.
    pub async fn wait_result(
        &self,
        request_id: &str,
        timeout: Duration,
    ) -> Result<serde_json::Value, JobError> {
        let record = self.wait(request_id, timeout).await?;
        terminal_outcome(&record)
    }

    async fn record_accepted(
        &self,
        request_id: &str,
        operation: &str,
        subject: &str,
    ) -> Result<(), JobError> {
        let record = ResponseRecord {
            request_id: request_id.into(),
            operation: operation.into(),
            subject: subject.into(),
            status: JobStatus::Accepted,
            attempt: 0,
            worker_id: None,
            result: None,
            error: None,
            accepted_at: Some(chrono::Utc::now()),
            started_at: None,
            finished_at: None,
        };
        // Already there (a fast worker, or a repeated submit): keep it.
        self.inner
            .records
            .create(&record)
            .await
            .map(|_| ())
            .map_err(store_error)
    }
}

/// Inserts `value` at a JSON pointer, creating objects along the way.
fn set_at_pointer(
    payload: &mut serde_json::Value,
    pointer: &str,
    value: &str,
) -> Result<(), Violation> {
    let fail = |message: String| Violation {
        path: pointer.into(),
        message,
    };
    let tokens: Vec<String> = pointer
        .strip_prefix('/')
        .ok_or_else(|| fail("the request-id pointer must start with '/'".into()))?
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut current = payload;
    for (i, token) in tokens.iter().enumerate() {
        let obj = current.as_object_mut().ok_or_else(|| {
            fail(format!(
                "cannot set the request id: the value at '/{}' is not an object",
                tokens[..i].join("/")
            ))
        })?;
        if i + 1 == tokens.len() {
            obj.insert(token.clone(), serde_json::Value::String(value.into()));
            return Ok(());
        }
        current = obj
            .entry(token.clone())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    Ok(())
}

/// The request id of a broadcast's copy for one worker.
pub fn copy_id(request_id: &str, worker_id: &str) -> String {
    format!("{request_id}.{worker_id}")
}

/// The workers a manifest record names.
fn manifest_workers(record: &ResponseRecord) -> Option<Vec<String>> {
    if record.status != JobStatus::Accepted || record.worker_id.is_some() {
        return None;
    }
    let workers = record.result.as_ref()?.get("workers")?.as_array()?;
    workers
        .iter()
        .map(|w| w.as_str().map(str::to_string))
        .collect()
}

fn registry_error(e: RegistryError) -> JobError {
    JobError::Nats(e.to_string())
}

fn store_error(e: StoreError) -> JobError {
    match e {
        StoreError::InvalidKey(_) => JobError::InvalidRequest(vec![Violation {
            path: String::new(),
            message: e.to_string(),
        }]),
        other => JobError::Nats(other.to_string()),
    }
}

fn publish_error(service: &ServiceSpec, e: jetstream::context::PublishError) -> JobError {
    let text = e.to_string();
    match e.kind() {
        PublishErrorKind::StreamNotFound => JobError::ServerUnavailable(format!(
            "no JetStream stream answered ({text}); is the server up and the service provisioned?"
        )),
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => {
            JobError::ServerUnavailable(text)
        }
        _ if text.contains("maximum messages")
            || text.contains("maximum bytes")
            || text.contains("resource limits exceeded") =>
        {
            JobError::StreamFull {
                stream: service.stream.name.into(),
                message: text,
            }
        }
        _ => JobError::Nats(text),
    }
}

/// The result of a record `wait` returned. `wait` returns terminal records only; should
/// that invariant ever break, the caller gets an internal failure instead of a panic.
fn terminal_outcome(record: &ResponseRecord) -> Result<serde_json::Value, JobError> {
    record_outcome(record).unwrap_or_else(|| {
        Err(JobError::Rejected {
            request_id: record.request_id.clone(),
            failure: JobFailure::internal(format!(
                "the client's wait ended on a record that is not terminal (status {:?})",
                record.status
            )),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FailureKind;
    use serde_json::json;

    fn record(status: JobStatus) -> ResponseRecord {
        ResponseRecord {
            request_id: "r1".into(),
            operation: "op".into(),
            subject: "jobs.op".into(),
            status,
            attempt: 1,
            worker_id: None,
            result: Some(json!({"ok": true})),
            error: None,
            accepted_at: None,
            started_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn a_non_terminal_record_is_an_internal_failure_not_a_panic() {
        for status in [JobStatus::Accepted, JobStatus::Running] {
            match terminal_outcome(&record(status)) {
                Err(JobError::Rejected {
                    request_id,
                    failure,
                }) => {
                    assert_eq!(request_id, "r1");
                    assert_eq!(failure.kind, FailureKind::Internal);
                    assert_eq!(failure.code, "internal");
                    assert!(
                        failure.message.contains("not terminal"),
                        "{}",
                        failure.message
                    );
                }
                other => panic!("{status:?}: {other:?}"),
            }
        }
        assert_eq!(
            terminal_outcome(&record(JobStatus::Succeeded)).unwrap(),
            json!({"ok": true})
        );
    }

    #[test]
    fn request_id_is_inserted_at_the_pointer() {
        let mut v = json!({"a": 1});
        set_at_pointer(&mut v, "/request_id", "r1").unwrap();
        assert_eq!(v, json!({"a": 1, "request_id": "r1"}));
        let mut v = json!({});
        set_at_pointer(&mut v, "/meta/id", "r2").unwrap();
        assert_eq!(v, json!({"meta": {"id": "r2"}}));
    }

    #[test]
    fn a_non_object_payload_is_reported() {
        let mut v = json!([1]);
        let err = set_at_pointer(&mut v, "/request_id", "r").unwrap_err();
        assert_eq!(err.path, "/request_id");
        assert!(err.message.contains("not an object"), "{}", err.message);
    }
}
