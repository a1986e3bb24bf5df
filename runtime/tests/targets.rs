//! Target routing on a real server with three in-process workers: `_any` runs each job on
//! exactly one worker, a worker id only there, `_all` on every live worker (a broadcast);
//! the registry lists live workers; a drained worker takes no `_any` jobs.

mod common;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use jetwire::dispatch::BoxFuture;
use jetwire::spec::{ConsumerSpec, TargetsSpec};
use jetwire::testing::NatsServer;
use jetwire::{AgentState, Client, Dispatch, Job, JobError, Outcome, Registry, ServiceSpec};
use serde_json::{json, Value};

/// Queries go through a targeted consumer; modifications stay on a plain one.
const TARGETED_CONSUMERS: [ConsumerSpec; 2] = {
    let mut c = CONSUMERS;
    c[0].filter_subject = "tjobs.query.*.{target}";
    c
};

static TSERVICE: ServiceSpec = ServiceSpec {
    consumers: &TARGETED_CONSUMERS,
    targets: Some(TargetsSpec {
        parameter: "target",
    }),
    ..SERVICE_FIELDS
};

fn echo_op() -> &'static jetwire::OperationSpec {
    TSERVICE.operation("echo").unwrap()
}

/// Bounds one await.
async fn b<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("an await exceeded its bound")
}

/// Waits until `check` holds, re-checking every 20 ms, within the bound.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let done = tokio::time::timeout(BOUND, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(done.is_ok(), "timed out waiting until {what}");
}

/// A test dispatcher that can be made to stop answering (it then holds each job for 3 s).
#[derive(Clone, Default)]
struct Gated {
    inner: TestDispatch,
    stuck: Arc<AtomicBool>,
}

impl Dispatch for Gated {
    fn dispatch(&self, job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            if self.stuck.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            self.inner.dispatch(job).await
        })
    }
}

struct Agent {
    id: String,
    dispatch: Gated,
    worker: RunningWorker,
}

impl Agent {
    fn recorder(&self) -> &Recorder {
        &self.dispatch.inner.recorder
    }
    fn ran(&self, request_id: &str) -> bool {
        !self.recorder().starts(request_id).is_empty()
    }
}

async fn start_agent(server: &NatsServer, id: &str) -> Agent {
    let dispatch = Gated::default();
    let builder = jetwire::Worker::builder(server.client().await, &TSERVICE, dispatch.clone())
        .worker_id(id)
        .grace_period(Duration::from_secs(10));
    let mut worker = RunningWorker::spawn(builder);
    worker.serving().await;
    Agent {
        id: id.into(),
        dispatch,
        worker,
    }
}

struct Setup {
    server: NatsServer,
    client: Client,
    registry: Registry,
    agents: Vec<Agent>,
}

/// A provisioned server, a client and three workers `w1`..`w3`, all in the registry.
async fn setup() -> Setup {
    let server = NatsServer::start().await;
    let nats = server.client().await;
    provision(&nats, &TSERVICE).await;
    let client = b(Client::new(nats.clone(), &TSERVICE)).await.unwrap();
    let registry = b(Registry::open(&async_nats::jetstream::new(nats), &TSERVICE))
        .await
        .unwrap();
    let mut agents = Vec::new();
    for id in ["w1", "w2", "w3"] {
        agents.push(start_agent(&server, id).await);
    }
    // Each worker is serving, so each is in the registry.
    assert_eq!(listed(&registry).await, ["w1", "w2", "w3"]);
    Setup {
        server,
        client,
        registry,
        agents,
    }
}

async fn listed(registry: &Registry) -> Vec<String> {
    b(registry.list())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.worker_id)
        .collect()
}

/// Waits until the worker itself has written `state` (a heartbeat after the change),
/// which it does only after applying it.
async fn wait_applied(registry: &Registry, id: &str, state: AgentState) {
    let changed = b(registry.get(id)).await.unwrap().expect("worker is live");
    until(&format!("{id} applied {state}"), || async {
        let now = b(registry.get(id)).await.unwrap().expect("worker is live");
        now.state == state && now.heartbeat_at > changed.heartbeat_at
    })
    .await;
}

async fn call_echo(client: &Client, target: &str, payload: Value) -> (String, Value) {
    let id = uuid::Uuid::now_v7().to_string();
    let mut request = request(echo_op(), target, payload);
    request.request_id = Some(id.clone());
    let value = b(client.call(request, BOUND))
        .await
        .unwrap_or_else(|e| panic!("job {id} on {target}: {e}"));
    (id, value)
}

async fn last_sequence(server: &NatsServer) -> u64 {
    let js = async_nats::jetstream::new(server.client().await);
    let mut stream = b(js.get_stream("TJOBS")).await.unwrap();
    b(stream.info()).await.unwrap().state.last_sequence
}

async fn shutdown_all(agents: Vec<Agent>) {
    for a in agents {
        a.worker.shutdown().await;
    }
}

#[tokio::test]
async fn any_jobs_run_exactly_once_spread_over_workers() {
    bounded(async {
        let s = setup().await;
        let calls =
            (0..30).map(|_| call_echo(&s.client, "_any", json!({"action": "sleep", "ms": 30})));
        let done = futures::future::join_all(calls).await;
        let mut used = BTreeSet::new();
        for (id, _) in &done {
            let runs: Vec<&str> = s
                .agents
                .iter()
                .flat_map(|a| a.recorder().starts(id).into_iter().map(|_| a.id.as_str()))
                .collect();
            assert_eq!(runs.len(), 1, "job {id} ran {runs:?}");
            used.insert(runs[0].to_string());
        }
        assert!(used.len() > 1, "all 30 jobs ran on {used:?}");
        shutdown_all(s.agents).await;
    })
    .await
}

#[tokio::test]
async fn a_worker_id_target_runs_only_there_and_an_unknown_one_fails_fast() {
    bounded(async {
        let s = setup().await;
        for _ in 0..5 {
            let (id, value) = call_echo(&s.client, "w2", json!({"action": "echo"})).await;
            assert_eq!(value["target"], "w2");
            let record = b(s.client.get(&id)).await.unwrap().unwrap();
            assert_eq!(record.worker_id.as_deref(), Some("w2"));
            for a in &s.agents {
                assert_eq!(a.ran(&id), a.id == "w2", "{} and job {id}", a.id);
            }
        }

        let before = last_sequence(&s.server).await;
        let err = b(s
            .client
            .submit(request(echo_op(), "ghost", json!({"action": "echo"}))))
        .await
        .unwrap_err();
        match &err {
            JobError::NoSuchAgent { worker_id, .. } => assert_eq!(worker_id, "ghost"),
            other => panic!("expected NoSuchAgent, got {other:?}"),
        }
        assert!(err.to_string().contains("'ghost'"), "{err}");
        // `_all` is not a single job.
        let err = b(s
            .client
            .call(request(echo_op(), "_all", json!({"action": "echo"})), BOUND))
        .await
        .unwrap_err();
        assert!(matches!(err, JobError::BroadcastOnly { .. }), "{err:?}");
        assert!(err.to_string().contains("broadcast"), "{err}");
        assert_eq!(last_sequence(&s.server).await, before, "nothing published");
        shutdown_all(s.agents).await;
    })
    .await
}

#[tokio::test]
async fn a_broadcast_runs_once_on_every_live_worker() {
    bounded(async {
        let s = setup().await;
        let all = || request(echo_op(), "_all", json!({"action": "echo", "value": 7}));

        let got = b(jetwire::typed::broadcast::<Value, Infallible>(
            &s.client,
            all(),
            BOUND,
        ))
        .await
        .unwrap();
        assert!(got.is_complete(), "missing {:?}", got.missing);
        assert_eq!(
            got.results.keys().cloned().collect::<Vec<_>>(),
            ["w1", "w2", "w3"]
        );
        for (worker, result) in &got.results {
            let value = result.as_ref().unwrap_or_else(|e| panic!("{worker}: {e}"));
            assert_eq!(value["target"], worker.as_str());
            assert_eq!(value["value"], 7);
            let copy = format!("{}.{worker}", got.request_id);
            for a in &s.agents {
                let runs = a.recorder().starts(&copy).len();
                assert_eq!(runs, usize::from(&a.id == worker), "{} ran {copy}", a.id);
            }
        }
        // Sent again with its request id: the same copies, none run twice.
        let mut repeat = all();
        repeat.request_id = Some(got.request_id.clone());
        let repeated = b(s.client.broadcast(repeat, BOUND)).await.unwrap();
        assert_eq!(repeated.results.len(), 3);
        for (worker, result) in &repeated.results {
            assert_eq!(result.as_ref().unwrap()["target"], worker.as_str());
            let copy = format!("{}.{worker}", got.request_id);
            let runs: usize = s
                .agents
                .iter()
                .map(|a| a.recorder().starts(&copy).len())
                .sum();
            assert_eq!(runs, 1, "{copy} ran {runs} times");
        }
        // Found again later by its request id.
        let again = b(jetwire::typed::broadcast_get::<Value, Infallible>(
            &s.client,
            &got.request_id,
        ))
        .await
        .unwrap()
        .expect("the broadcast is known");
        assert_eq!(again.results.len(), 3);
        assert!(again.missing.is_empty());

        // w3 stops answering: reported missing at the timeout, the others answer.
        s.agents[2].dispatch.stuck.store(true, Ordering::SeqCst);
        let partial = b(jetwire::typed::broadcast::<Value, Infallible>(
            &s.client,
            all(),
            Duration::from_millis(1500),
        ))
        .await
        .unwrap();
        assert_eq!(partial.missing, ["w3"]);
        assert_eq!(
            partial.results.keys().cloned().collect::<Vec<_>>(),
            ["w1", "w2"]
        );
        assert!(partial.results.values().all(|r| r.is_ok()));
        s.agents[2].dispatch.stuck.store(false, Ordering::SeqCst);
        let late = b(s.client.broadcast_wait(&partial.request_id, BOUND))
            .await
            .unwrap()
            .expect("the broadcast is known");
        assert!(late.missing.is_empty(), "w3's copy finishes later");
        assert_eq!(late.results.len(), 3);

        // A worker that registers after a broadcast gets nothing of it.
        let w4 = start_agent(&s.server, "w4").await;
        assert_eq!(listed(&s.registry).await, ["w1", "w2", "w3", "w4"]);
        let (own, _) = call_echo(&s.client, "w4", json!({"action": "echo"})).await;
        assert!(w4.ran(&own), "w4 serves its own jobs");
        for earlier in [&got.request_id, &partial.request_id] {
            assert!(!w4.ran(&format!("{earlier}.w4")));
            assert!(b(s.client.get(&format!("{earlier}.w4")))
                .await
                .unwrap()
                .is_none());
        }
        w4.worker.shutdown().await;
        shutdown_all(s.agents).await;
    })
    .await
}

#[tokio::test]
async fn a_broadcast_without_live_workers_publishes_nothing() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &TSERVICE).await;
        let client = b(Client::new(nats, &TSERVICE)).await.unwrap();
        let err = b(client.broadcast(request(echo_op(), "_all", json!({"action": "echo"})), BOUND))
            .await
            .unwrap_err();
        assert!(matches!(err, JobError::NoLiveWorkers { .. }), "{err:?}");
        assert!(err.to_string().contains("no live worker"), "{err}");
        assert_eq!(last_sequence(&server).await, 0);
    })
    .await
}

#[tokio::test]
async fn the_registry_lists_live_workers_and_forgets_stopped_ones() {
    bounded(async {
        let mut s = setup().await;
        let entries = b(s.registry.list()).await.unwrap();
        for e in &entries {
            assert_eq!(e.state, AgentState::Active);
            assert_eq!(e.pid, std::process::id());
            assert_eq!(e.version, TSERVICE.version);
            assert!(!e.hostname.is_empty());
        }
        // The shared durable takes `_any`, each worker's own durable its id.
        let js = async_nats::jetstream::new(s.server.client().await);
        let stream = b(js.get_stream("TJOBS")).await.unwrap();
        let shared = b(stream.consumer_info("tjobs_query")).await.unwrap();
        assert_eq!(shared.config.filter_subject, "tjobs.query.*._any");
        let own = b(stream.consumer_info("tjobs_query-agent-w1"))
            .await
            .unwrap();
        assert_eq!(own.config.filter_subject, "tjobs.query.*.w1");
        assert_eq!(own.config.max_deliver, 3);
        assert_eq!(own.config.inactive_threshold, Duration::from_secs(3600));
        let w2 = s.agents.remove(1);
        w2.worker.shutdown().await;
        assert_eq!(listed(&s.registry).await, ["w1", "w3"]);
        let err = b(s
            .client
            .submit(request(echo_op(), "w2", json!({"action": "echo"}))))
        .await
        .unwrap_err();
        assert!(matches!(err, JobError::NoSuchAgent { .. }), "{err:?}");
        assert!(matches!(
            b(s.registry.drain("w2")).await,
            Err(jetwire::RegistryError::NotFound { .. })
        ));
        shutdown_all(s.agents).await;
    })
    .await
}

#[tokio::test]
async fn a_worker_id_that_is_no_target_token_is_refused() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &TSERVICE).await;
        let worker = jetwire::Worker::builder(nats, &TSERVICE, TestDispatch::default())
            .worker_id("web.example.com")
            .shutdown(std::future::pending());
        let err = b(worker.run()).await.unwrap_err();
        assert!(err.to_string().contains("web.example.com"), "{err}");
    })
    .await
}

#[tokio::test]
async fn a_drained_worker_takes_no_shared_jobs_until_resumed() {
    bounded(async {
        let s = setup().await;
        // A long shared job; the worker that took it is drained while it runs.
        let long_id = uuid::Uuid::now_v7().to_string();
        let mut long = request(echo_op(), "_any", json!({"action": "sleep", "ms": 1500}));
        long.request_id = Some(long_id.clone());
        let long = b(s.client.submit(long)).await.unwrap();
        until("the long job started", || async {
            s.agents.iter().any(|a| a.ran(&long_id))
        })
        .await;
        let x = s.agents.iter().position(|a| a.ran(&long_id)).unwrap();
        let xid = s.agents[x].id.clone();
        let entry = b(s.registry.drain(&xid)).await.unwrap();
        assert_eq!(entry.state, AgentState::Draining);
        wait_applied(&s.registry, &xid, AgentState::Draining).await;

        let calls = (0..12).map(|_| call_echo(&s.client, "_any", json!({"action": "echo"})));
        for (id, _) in futures::future::join_all(calls).await {
            assert!(!s.agents[x].ran(&id), "drained {xid} ran shared job {id}");
        }
        // The job it was running finishes there, once.
        let record = b(long.wait(BOUND)).await.unwrap();
        assert_eq!(record.worker_id.as_deref(), Some(xid.as_str()));
        assert_eq!(s.agents[x].recorder().starts(&long_id).len(), 1);
        assert_eq!(
            s.agents.iter().filter(|a| a.ran(&long_id)).count(),
            1,
            "ran once"
        );
        // Jobs addressed to it still run there.
        let (own, value) = call_echo(&s.client, &xid, json!({"action": "echo"})).await;
        assert_eq!(value["target"], xid.as_str());
        assert!(s.agents[x].ran(&own));
        // A broadcast still reaches it.
        let all = b(s
            .client
            .broadcast(request(echo_op(), "_all", json!({"action": "echo"})), BOUND))
        .await
        .unwrap();
        assert!(all.missing.is_empty() && all.results.contains_key(&xid));

        // Resumed, and the others drained: shared jobs go to it again.
        b(s.registry.resume(&xid)).await.unwrap();
        wait_applied(&s.registry, &xid, AgentState::Active).await;
        for other in s.agents.iter().filter(|a| a.id != xid) {
            b(s.registry.drain(&other.id)).await.unwrap();
            wait_applied(&s.registry, &other.id, AgentState::Draining).await;
        }
        let calls = (0..6).map(|_| call_echo(&s.client, "_any", json!({"action": "echo"})));
        for (id, _) in futures::future::join_all(calls).await {
            assert!(s.agents[x].ran(&id), "resumed {xid} did not run {id}");
        }
        shutdown_all(s.agents).await;
    })
    .await
}

/// Heartbeats far apart: a drain or resume must be seen through the watch of the entry.
static SLOW_HEARTBEAT: ServiceSpec = ServiceSpec {
    consumers: &TARGETED_CONSUMERS,
    targets: Some(TargetsSpec {
        parameter: "target",
    }),
    registry: jetwire::spec::RegistrySpec {
        bucket: "TJOBS_WORKERS",
        heartbeat: Duration::from_secs(60),
        ttl: Duration::from_secs(120),
        replicas: 1,
    },
    ..SERVICE_FIELDS
};

#[tokio::test]
async fn a_drain_is_applied_at_once_not_at_the_next_heartbeat() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SLOW_HEARTBEAT).await;
        let js = async_nats::jetstream::new(nats.clone());
        let registry = b(Registry::open(&js, &SLOW_HEARTBEAT)).await.unwrap();
        let mut worker = spawn_worker(nats, &SLOW_HEARTBEAT, TestDispatch::default(), |w| {
            w.worker_id("solo")
        });
        worker.serving().await;
        assert_eq!(listed(&registry).await, ["solo"]);
        let writes = || async {
            let mut kv = b(js.get_stream("KV_TJOBS_WORKERS")).await.unwrap();
            b(kv.info()).await.unwrap().state.last_sequence
        };
        let started = std::time::Instant::now();
        b(registry.drain("solo")).await.unwrap();
        wait_applied(&registry, "solo", AgentState::Draining).await;
        b(registry.resume("solo")).await.unwrap();
        wait_applied(&registry, "solo", AgentState::Active).await;
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "applied only at a heartbeat"
        );
        // Each change costs one write by the worker, not a stream of them.
        let before = writes().await;
        b(registry.drain("solo")).await.unwrap();
        wait_applied(&registry, "solo", AgentState::Draining).await;
        assert_eq!(
            writes().await - before,
            2,
            "the drain and the worker's write"
        );
        worker.shutdown().await;
    })
    .await
}
