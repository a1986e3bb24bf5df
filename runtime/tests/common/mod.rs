//! Shared test fixtures: a small service spec (a query and a modify operation with short
//! ack waits and backoffs so redeliveries happen quickly) and a scriptable dispatcher that
//! reports what it runs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jetwire::dispatch::BoxFuture;
use jetwire::spec::{
    ConsumerSpec, DeadLetterSpec, OperationSpec, RegistrySpec, ResponsesSpec, StorageSpec,
    StreamSpec,
};
use jetwire::{Dispatch, FailureKind, Job, JobClass, JobFailure, Outcome, ServiceSpec, Violation};
use serde_json::{json, Value};
use tokio::sync::broadcast;

/// Upper bound of every await in the tests: a bug fails the test instead of hanging it.
pub const BOUND: Duration = Duration::from_secs(30);

pub const BACKOFF: &[Duration] = &[Duration::from_millis(200), Duration::from_millis(400)];

pub const OPERATIONS: [OperationSpec; 2] = [
    OperationSpec {
        id: "echo",
        subject: "tjobs.query.echo.{target}",
        parameters: &["target"],
        class: JobClass::Query,
        request_id_pointer: Some("/request_id"),
        timeout: Duration::from_secs(5),
        retryable: true,
        has_reply: true,
        partitioning: None,
    },
    OperationSpec {
        id: "work",
        subject: "tjobs.modify.work.{target}",
        parameters: &["target"],
        class: JobClass::Modify,
        request_id_pointer: Some("/request_id"),
        timeout: Duration::from_secs(5),
        retryable: true,
        has_reply: true,
        partitioning: None,
    },
];

pub const CONSUMERS: [ConsumerSpec; 2] = [
    ConsumerSpec {
        durable: "tjobs_query",
        class: JobClass::Query,
        filter_subject: "tjobs.query.>",
        ack_wait: Duration::from_millis(200),
        max_deliver: 3,
        backoff: BACKOFF,
        max_ack_pending: 100,
        concurrency: 4,
        partitions: None,
    },
    ConsumerSpec {
        durable: "tjobs_modify",
        class: JobClass::Modify,
        filter_subject: "tjobs.modify.>",
        ack_wait: Duration::from_millis(200),
        max_deliver: 3,
        backoff: BACKOFF,
        max_ack_pending: 100,
        concurrency: 1,
        partitions: None,
    },
];

/// The test service; other test specs vary it with `..SERVICE_FIELDS`.
pub const SERVICE_FIELDS: ServiceSpec = ServiceSpec {
    title: "Test jobs",
    version: "1.0.0",
    spec_sha256: "0000",
    stream: StreamSpec {
        name: "TJOBS",
        subjects: &["tjobs.>"],
        storage: StorageSpec::File,
        max_bytes: -1,
        max_msgs: -1,
        max_msg_size: -1,
        duplicate_window: Duration::from_secs(120),
        replicas: 1,
    },
    responses: ResponsesSpec {
        bucket: "tjobs_responses",
        ttl: Duration::from_secs(3600),
        history: 1,
        replicas: 1,
    },
    dead_letter: DeadLetterSpec {
        stream: "TJOBS_DLQ",
        replicas: 1,
    },
    consumers: &CONSUMERS,
    operations: &OPERATIONS,
    registry: RegistrySpec {
        bucket: "TJOBS_WORKERS",
        heartbeat: Duration::from_millis(200),
        ttl: Duration::from_secs(1),
        replicas: 1,
    },
    targets: None,
    leases: None,
};

pub static SERVICE: ServiceSpec = SERVICE_FIELDS;

pub fn echo() -> &'static OperationSpec {
    SERVICE.operation("echo").unwrap()
}

pub fn work() -> &'static OperationSpec {
    SERVICE.operation("work").unwrap()
}

/// A request for `op` on target `t` with this payload.
pub fn request(op: &'static OperationSpec, target: &str, payload: Value) -> jetwire::Request {
    jetwire::Request {
        operation: op,
        subject: op.subject.replace("{target}", target),
        headers: vec![],
        payload,
        request_id: None,
    }
}

/// Provisions `SERVICE` (replicas 1).
pub async fn provision(nats: &async_nats::Client, service: &'static ServiceSpec) {
    let js = async_nats::jetstream::new(nats.clone());
    jetwire::provision(&js, service, &jetwire::ProvisionOptions::default())
        .await
        .expect("provisioning the test service");
}

/// What the dispatcher saw.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Started { request_id: String, attempt: u64 },
    Finished { request_id: String, attempt: u64 },
}

/// Runs jobs as their payload says:
/// `{"action": "echo" | "sleep" | "sleep_first" | "progress" | "fail" | "retry" | "poison" | "panic",
///   "ms": <sleep ms>, "value": <anything echoed back>}`.
/// `poison` asks for a retry until [`Recorder::heal`] is called.
#[derive(Clone, Default)]
pub struct TestDispatch {
    pub recorder: Recorder,
}

/// Attempts started per request id, with when.
type Starts = HashMap<String, Vec<(u64, Instant)>>;

#[derive(Clone)]
pub struct Recorder {
    events: broadcast::Sender<Event>,
    starts: Arc<Mutex<Starts>>,
    finishes: Arc<Mutex<HashMap<String, u64>>>,
    healed: Arc<AtomicBool>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            events: broadcast::channel(1024).0,
            starts: Arc::default(),
            finishes: Arc::default(),
            healed: Arc::default(),
        }
    }
}

impl Recorder {
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
    /// Attempts that started, with when.
    pub fn starts(&self, request_id: &str) -> Vec<(u64, Instant)> {
        self.starts
            .lock()
            .unwrap()
            .get(request_id)
            .cloned()
            .unwrap_or_default()
    }
    /// How many runs finished (the handler returned).
    pub fn finishes(&self, request_id: &str) -> u64 {
        self.finishes
            .lock()
            .unwrap()
            .get(request_id)
            .copied()
            .unwrap_or(0)
    }
    pub fn heal(&self) {
        self.healed.store(true, Ordering::SeqCst);
    }
}

/// Waits for an event matching `pred`.
pub async fn wait_for(rx: &mut broadcast::Receiver<Event>, pred: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(BOUND, async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event channel closed: {e}"),
            }
        }
    })
    .await
    .expect("timed out waiting for a dispatcher event")
}

pub fn started(id: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::Started { request_id, .. } if request_id == id)
}

pub fn finished(id: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::Finished { request_id, .. } if request_id == id)
}

impl Dispatch for TestDispatch {
    fn dispatch(&self, job: Job) -> BoxFuture<'_, Outcome> {
        let recorder = self.recorder.clone();
        Box::pin(async move {
            let id = job.request_id.clone();
            let attempt = job.context.attempt;
            let payload: Value = match serde_json::from_slice(&job.payload) {
                Ok(v) => v,
                Err(e) => {
                    return Outcome::invalid_request(
                        "payload is not JSON",
                        vec![Violation {
                            path: String::new(),
                            message: e.to_string(),
                        }],
                    )
                }
            };
            let Some(action) = payload
                .get("action")
                .and_then(Value::as_str)
                .map(String::from)
            else {
                return Outcome::invalid_request(
                    "payload does not validate",
                    vec![Violation {
                        path: "/action".into(),
                        message: "is required".into(),
                    }],
                );
            };
            recorder
                .starts
                .lock()
                .unwrap()
                .entry(id.clone())
                .or_default()
                .push((attempt, Instant::now()));
            let _ = recorder.events.send(Event::Started {
                request_id: id.clone(),
                attempt,
            });
            let ms = payload.get("ms").and_then(Value::as_u64).unwrap_or(0);
            let outcome = run_action(&action, ms, attempt, &payload, &recorder, &job).await;
            *recorder
                .finishes
                .lock()
                .unwrap()
                .entry(id.clone())
                .or_default() += 1;
            let _ = recorder.events.send(Event::Finished {
                request_id: id,
                attempt,
            });
            outcome
        })
    }
}

fn retry() -> Outcome {
    Outcome::Failed {
        failure: JobFailure {
            kind: FailureKind::Internal,
            code: "transient".into(),
            message: "try again".into(),
            retryable: true,
            details: None,
            violations: vec![],
        },
        // Zero: use the consumer's backoff.
        retry_after: Some(Duration::ZERO),
    }
}

async fn run_action(
    action: &str,
    ms: u64,
    attempt: u64,
    payload: &Value,
    recorder: &Recorder,
    job: &Job,
) -> Outcome {
    let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
    let reply = || json!({ "value": payload.get("value").cloned().unwrap_or(Value::Null), "attempt": attempt, "target": job.parameters[0].1 });
    match action {
        "echo" => Outcome::Succeeded(reply()),
        "sleep" => {
            sleep(ms).await;
            Outcome::Succeeded(reply())
        }
        "sleep_first" => {
            if attempt == 1 {
                sleep(ms).await;
            }
            Outcome::Succeeded(reply())
        }
        "progress" => {
            // Reports progress far more often than the keep-alive needs.
            for _ in 0..ms / 5 {
                job.context.progress();
                sleep(5).await;
            }
            Outcome::Succeeded(reply())
        }
        "fail" => Outcome::Failed {
            failure: JobFailure {
                kind: FailureKind::Handler,
                code: "Broken".into(),
                message: "it is broken".into(),
                retryable: false,
                details: Some(json!({ "why": "test" })),
                violations: vec![],
            },
            retry_after: None,
        },
        "retry" => retry(),
        "poison" => {
            if recorder.healed.load(Ordering::SeqCst) {
                Outcome::Succeeded(reply())
            } else {
                retry()
            }
        }
        "panic" => panic!("handler exploded"),
        other => Outcome::invalid_request(
            "payload does not validate",
            vec![Violation {
                path: "/action".into(),
                message: format!("unknown action '{other}'"),
            }],
        ),
    }
}

/// Runs a worker in the background until the returned trigger fires (graceful shutdown).
pub struct RunningWorker {
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub handle: tokio::task::JoinHandle<Result<(), jetwire::worker::WorkerError>>,
    /// Fires when the worker serves ([`jetwire::WorkerBuilder::on_serving`]).
    serving: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl RunningWorker {
    /// Runs `builder` in the background; the worker stops when `stop` fires.
    pub fn spawn(builder: jetwire::WorkerBuilder) -> RunningWorker {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (serving_tx, serving) = tokio::sync::oneshot::channel::<()>();
        let builder = builder
            .shutdown(async move {
                let _ = stopped.await;
            })
            .on_serving(move || {
                let _ = serving_tx.send(());
            });
        RunningWorker {
            stop: Some(stop),
            handle: tokio::spawn(builder.run()),
            serving: Some(serving),
        }
    }

    /// Waits until the worker serves: registered and pulling. A worker that ends
    /// first (a setup error) fails the test with its result.
    pub async fn serving(&mut self) {
        let Some(serving) = self.serving.take() else {
            return;
        };
        let sent = tokio::time::timeout(BOUND, serving)
            .await
            .expect("the worker did not start serving in time");
        if sent.is_err() {
            let ended = tokio::time::timeout(BOUND, &mut self.handle).await;
            panic!("the worker ended before serving: {ended:?}");
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(BOUND, self.handle)
            .await
            .expect("worker did not stop in time")
            .expect("worker task panicked")
            .expect("worker failed");
    }
}

pub fn spawn_worker(
    nats: async_nats::Client,
    service: &'static ServiceSpec,
    dispatch: TestDispatch,
    configure: impl FnOnce(jetwire::WorkerBuilder) -> jetwire::WorkerBuilder,
) -> RunningWorker {
    let builder = jetwire::Worker::builder(nats, service, dispatch).worker_id("test-worker");
    RunningWorker::spawn(configure(builder))
}

/// Runs `f` with the test bound.
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND * 3, f)
        .await
        .expect("test exceeded its time bound")
}
