//! Keyed partitions with leases, against a real nats-server: the jobs of one key run one at
//! a time in publish order; workers split the partitions, hand them over when one stops
//! or crashes, and rebalance when one joins.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use common::{bounded, BOUND};
use futures::StreamExt;
use jetwire::dispatch::BoxFuture;
use jetwire::leases::Lease;
use jetwire::partition::partition_of;
use jetwire::spec::{
    ConsumerSpec, DeadLetterSpec, LeasesSpec, OperationSpec, PartitionSpec, RegistrySpec,
    ResponsesSpec, RoutingKey, StorageSpec, StreamSpec,
};
use jetwire::testing::NatsServer;
use jetwire::{Client, Dispatch, Job, JobClass, JobError, Outcome, ServiceSpec};
use serde_json::{json, Value};

const PARTITIONS: u32 = 8;
const LEASE_TTL: Duration = Duration::from_millis(1000);

static OPERATIONS: [OperationSpec; 1] = [OperationSpec {
    id: "apply",
    subject: "pjobs.keyed.{partition}",
    parameters: &["partition"],
    class: JobClass::Modify,
    request_id_pointer: Some("/request_id"),
    timeout: Duration::from_secs(10),
    retryable: true,
    has_reply: true,
    partitioning: Some(PartitionSpec {
        key: RoutingKey::Payload("/key"),
        count: PARTITIONS,
        parameter: "partition",
    }),
}];

static CONSUMERS: [ConsumerSpec; 1] = [ConsumerSpec {
    durable: "pjobs_keyed",
    class: JobClass::Modify,
    filter_subject: "pjobs.keyed.{partition}",
    // Short, so a job in flight on a crashed worker comes back quickly.
    ack_wait: Duration::from_millis(1000),
    max_deliver: 20,
    backoff: &[],
    max_ack_pending: 1,
    concurrency: 1,
    partitions: Some(PARTITIONS),
}];

static SERVICE: ServiceSpec = ServiceSpec {
    title: "Partition test",
    version: "1.0.0",
    spec_sha256: "0000",
    stream: StreamSpec {
        name: "PJOBS",
        subjects: &["pjobs.>"],
        storage: StorageSpec::File,
        max_bytes: -1,
        max_msgs: -1,
        max_msg_size: -1,
        duplicate_window: Duration::from_secs(120),
        replicas: 1,
    },
    responses: ResponsesSpec {
        bucket: "pjobs_responses",
        ttl: Duration::from_secs(3600),
        history: 1,
        replicas: 1,
    },
    dead_letter: DeadLetterSpec {
        stream: "PJOBS_DLQ",
        replicas: 1,
    },
    consumers: &CONSUMERS,
    operations: &OPERATIONS,
    registry: RegistrySpec {
        bucket: "PJOBS_WORKERS",
        heartbeat: Duration::from_millis(200),
        // Longer than the lease ttl: a crashed worker stays in the registry after its
        // leases expired, which must not hold up the takeover.
        ttl: Duration::from_secs(5),
        replicas: 1,
    },
    targets: None,
    leases: Some(LeasesSpec {
        bucket: "PJOBS_LEASES",
        ttl: Duration::from_secs(30),
        replicas: 1,
    }),
};

/// One run of a job as the dispatcher saw it.
#[derive(Clone, Debug)]
struct Run {
    request_id: String,
    worker_id: String,
}

/// Records, per routing key, the jobs in the order they ran, and any overlap of two jobs
/// of one key.
#[derive(Clone)]
struct KeyedDispatch {
    runs: Arc<Mutex<HashMap<String, Vec<Run>>>>,
    running: Arc<Mutex<HashSet<String>>>,
    overlaps: Arc<Mutex<Vec<String>>>,
    wrong_partition: Arc<Mutex<Vec<String>>>,
    /// Workers that ran a job.
    workers: Arc<tokio::sync::watch::Sender<BTreeSet<String>>>,
}

impl Default for KeyedDispatch {
    fn default() -> Self {
        KeyedDispatch {
            runs: Arc::default(),
            running: Arc::default(),
            overlaps: Arc::default(),
            wrong_partition: Arc::default(),
            workers: Arc::new(tokio::sync::watch::channel(BTreeSet::new()).0),
        }
    }
}

impl Dispatch for KeyedDispatch {
    fn dispatch(&self, job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let payload: Value = serde_json::from_slice(&job.payload).unwrap_or(Value::Null);
            let key = payload["key"].as_str().unwrap_or_default().to_string();
            let expected = partition_of(key.as_bytes(), PARTITIONS).to_string();
            if job.parameters != [("partition", expected)] {
                self.wrong_partition
                    .lock()
                    .unwrap()
                    .push(job.subject.clone());
            }
            if !self.running.lock().unwrap().insert(key.clone()) {
                self.overlaps.lock().unwrap().push(key.clone());
            }
            // Also when the run is cut short (its worker crashed).
            let _running = Running(self.running.clone(), key.clone());
            self.runs
                .lock()
                .unwrap()
                .entry(key.clone())
                .or_default()
                .push(Run {
                    request_id: job.request_id.clone(),
                    worker_id: job.context.worker_id.clone(),
                });
            self.workers
                .send_if_modified(|w| w.insert(job.context.worker_id.clone()));
            // Long enough for an overlap to show if two jobs of a key ever ran at once.
            let ms = payload["ms"].as_u64().unwrap_or(2);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Outcome::Succeeded(json!({ "key": key }))
        })
    }
}

/// Marks a key as running until dropped.
struct Running(Arc<Mutex<HashSet<String>>>, String);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = self.0.lock() {
            running.remove(&self.1);
        }
    }
}

impl KeyedDispatch {
    fn runs(&self) -> HashMap<String, Vec<Run>> {
        self.runs.lock().unwrap().clone()
    }
}

/// A worker on its own runtime and connection, so it can be stopped gracefully or killed
/// at once (its runtime dropped: tasks and connection gone, nothing released).
struct TestWorker {
    id: String,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), jetwire::worker::WorkerError>>>,
}

impl TestWorker {
    fn start(url: &str, id: &str, dispatch: KeyedDispatch) -> TestWorker {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the worker");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let url = url.to_string();
        let worker_id = id.to_string();
        let handle = runtime.spawn(async move {
            let nats = async_nats::connect(&url)
                .await
                .map_err(|e| jetwire::worker::WorkerError::Setup(e.to_string()))?;
            jetwire::Worker::builder(nats, &SERVICE, dispatch)
                .worker_id(worker_id)
                .lease_ttl(LEASE_TTL)
                .dead_letters(false)
                .grace_period(Duration::from_secs(10))
                .shutdown(async move {
                    let _ = rx.await;
                })
                .run()
                .await
        });
        TestWorker {
            id: id.into(),
            runtime: Some(runtime),
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// Graceful shutdown: the worker releases its leases after its jobs finished.
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(BOUND, handle)
                .await
                .expect("worker did not stop in time")
                .expect("worker task panicked")
                .expect("worker failed");
        }
    }

    /// A crash: every task of the worker ends at once, no lease is released.
    fn kill(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// The holders of the partition leases, kept current by a watch of the lease bucket.
struct LeaseView {
    watch: async_nats::jetstream::kv::Watch,
    holders: BTreeMap<String, String>,
}

impl LeaseView {
    async fn open(nats: &async_nats::Client) -> LeaseView {
        let kv = jetstream::new(nats.clone())
            .get_key_value("PJOBS_LEASES")
            .await
            .unwrap();
        LeaseView {
            watch: kv.watch_with_history(">").await.unwrap(),
            holders: BTreeMap::new(),
        }
    }

    /// Partitions held per worker.
    fn counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for holder in self.holders.values() {
            *out.entry(holder.clone()).or_default() += 1;
        }
        out
    }

    /// Waits until the holders satisfy `pred`; returns how long it took.
    async fn until(
        &mut self,
        what: &str,
        pred: impl Fn(&BTreeMap<String, usize>) -> bool,
    ) -> Duration {
        let start = Instant::now();
        let waited = tokio::time::timeout(BOUND, async {
            while !pred(&self.counts()) {
                let entry = self
                    .watch
                    .next()
                    .await
                    .expect("lease watch ended")
                    .expect("lease watch failed");
                match entry.operation {
                    jetstream::kv::Operation::Put => {
                        let lease: Lease = serde_json::from_slice(&entry.value).unwrap();
                        self.holders.insert(entry.key, lease.worker_id);
                    }
                    _ => {
                        self.holders.remove(&entry.key);
                    }
                }
            }
        })
        .await;
        if waited.is_err() {
            panic!(
                "timed out waiting until {what}; leases: {:?}",
                self.counts()
            );
        }
        start.elapsed()
    }
}

fn all_held_by(counts: &BTreeMap<String, usize>, ids: &[&str]) -> bool {
    counts.values().sum::<usize>() == PARTITIONS as usize
        && counts.len() == ids.len()
        && ids
            .iter()
            .all(|id| counts.get(*id).copied().unwrap_or(0) > 0)
}

async fn setup() -> (NatsServer, async_nats::Client, Client) {
    let server = NatsServer::start().await;
    let nats = server.client().await;
    let js = jetstream::new(nats.clone());
    jetwire::provision(&js, &SERVICE, &jetwire::ProvisionOptions::default())
        .await
        .expect("provisioning the partition test service");
    let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
    (server, nats, client)
}

fn request(key: &str, ms: u64) -> jetwire::Request {
    jetwire::Request {
        operation: &OPERATIONS[0],
        subject: "pjobs.keyed.{partition}".into(),
        headers: vec![],
        payload: json!({ "key": key, "ms": ms }),
        request_id: None,
    }
}

/// Several client tasks publishing jobs for shared keys at once; returns every job's
/// request id and stream sequence per key.
async fn load(
    client: &Client,
    tasks: usize,
    per_task: usize,
    keys: usize,
    ms: u64,
) -> HashMap<String, Vec<(u64, String)>> {
    let submitters = (0..tasks).map(|t| {
        let client = client.clone();
        tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..per_task {
                let key = format!("key-{}", (t * 7 + i * 3) % keys);
                let handle = client.submit(request(&key, ms)).await.expect("submit");
                out.push((key, handle.sequence, handle.request_id));
            }
            out
        })
    });
    let mut published: HashMap<String, Vec<(u64, String)>> = HashMap::new();
    for task in futures::future::join_all(submitters).await {
        for (key, sequence, id) in task.expect("client task") {
            published.entry(key).or_default().push((sequence, id));
        }
    }
    for jobs in published.values_mut() {
        jobs.sort();
    }
    published
}

async fn wait_all(client: &Client, published: &HashMap<String, Vec<(u64, String)>>) {
    for (_, id) in published.values().flatten() {
        client
            .wait_result(id, BOUND)
            .await
            .unwrap_or_else(|e| panic!("job {id}: {e}"));
    }
}

/// Every key's jobs ran in publish order; with `exactly_once`, each once, else a job may
/// run again right after itself (a crash in the middle of it).
fn assert_publish_order(
    dispatch: &KeyedDispatch,
    published: &HashMap<String, Vec<(u64, String)>>,
    exactly_once: bool,
) {
    let runs = dispatch.runs();
    for (key, jobs) in published {
        let expected: Vec<&str> = jobs.iter().map(|(_, id)| id.as_str()).collect();
        let mut seen: Vec<&str> = runs[key].iter().map(|r| r.request_id.as_str()).collect();
        if !exactly_once {
            seen.dedup();
        }
        assert_eq!(seen, expected, "order of key {key}");
    }
    assert!(
        dispatch.overlaps.lock().unwrap().is_empty(),
        "jobs of one key overlapped: {:?}",
        dispatch.overlaps.lock().unwrap()
    );
    assert!(
        dispatch.wrong_partition.lock().unwrap().is_empty(),
        "{:?}",
        dispatch.wrong_partition.lock().unwrap()
    );
}

#[tokio::test]
async fn jobs_of_one_key_run_one_at_a_time_in_publish_order() {
    bounded(async {
        let (server, nats, client) = setup().await;
        let dispatch = KeyedDispatch::default();
        let mut view = LeaseView::open(&nats).await;
        let w1 = TestWorker::start(&server.url(), "w1", dispatch.clone());
        let w2 = TestWorker::start(&server.url(), "w2", dispatch.clone());
        view.until("both workers hold partitions", |c| {
            all_held_by(c, &["w1", "w2"])
        })
        .await;
        // The registry entries name the partitions each worker holds.
        let registry = jetstream::new(nats.clone())
            .get_key_value("PJOBS_WORKERS")
            .await
            .unwrap();
        let mut entries = registry.watch_with_history(">").await.unwrap();
        let mut announced: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut expected = jetwire::leases::lease_keys(&SERVICE);
        expected.sort();
        let covers = |announced: &BTreeMap<String, Vec<String>>| {
            let mut all: Vec<String> = announced.values().flatten().cloned().collect();
            all.sort();
            announced.len() == 2 && announced.values().all(|p| !p.is_empty()) && all == expected
        };
        tokio::time::timeout(BOUND, async {
            while !covers(&announced) {
                let entry = entries.next().await.unwrap().unwrap();
                let agent: jetwire::AgentEntry = serde_json::from_slice(&entry.value).unwrap();
                announced.insert(agent.worker_id, agent.partitions);
            }
        })
        .await
        .unwrap_or_else(|_| panic!("registry never named every partition: {announced:?}"));
        let published = load(&client, 6, 40, 24, 2).await;
        wait_all(&client, &published).await;
        assert_publish_order(&dispatch, &published, true);
        let workers: HashSet<String> = dispatch
            .runs()
            .values()
            .flatten()
            .map(|r| r.worker_id.clone())
            .collect();
        assert_eq!(workers.len(), 2, "both workers ran jobs: {workers:?}");
        w1.stop().await;
        w2.stop().await;
        // A graceful stop releases every lease.
        view.until("every lease is released", |c| c.is_empty())
            .await;
    })
    .await
}

#[tokio::test]
async fn a_joining_worker_gets_its_share_and_a_stopping_one_hands_over() {
    bounded(async {
        let (server, nats, client) = setup().await;
        let dispatch = KeyedDispatch::default();
        let mut view = LeaseView::open(&nats).await;
        let w1 = TestWorker::start(&server.url(), "w1", dispatch.clone());
        view.until("w1 holds every partition", |c| all_held_by(c, &["w1"]))
            .await;
        let w2 = TestWorker::start(&server.url(), "w2", dispatch.clone());
        let took = view
            .until("w1 and w2 hold half each", |c| {
                c.get("w1") == Some(&4) && c.get("w2") == Some(&4)
            })
            .await;
        eprintln!("rebalance after a join took {took:?}");
        // Under load, w2 stops gracefully: w1 takes everything and every job finishes,
        // in order, once.
        let loader = {
            let client = client.clone();
            tokio::spawn(async move { load(&client, 4, 30, 16, 5).await })
        };
        let w2_id = w2.id.clone();
        w2.stop().await;
        let took = view
            .until("w1 holds every partition again", |c| {
                all_held_by(c, &["w1"])
            })
            .await;
        eprintln!("hand-over after {w2_id} stopped took {took:?}");
        let published = loader.await.unwrap();
        wait_all(&client, &published).await;
        assert_publish_order(&dispatch, &published, true);
        w1.stop().await;
    })
    .await
}

#[tokio::test]
async fn a_crashed_workers_partitions_are_taken_over_after_the_ttl() {
    bounded(async {
        let (server, nats, client) = setup().await;
        let dispatch = KeyedDispatch::default();
        let mut view = LeaseView::open(&nats).await;
        let w1 = TestWorker::start(&server.url(), "w1", dispatch.clone());
        let w2 = TestWorker::start(&server.url(), "w2", dispatch.clone());
        let w3 = TestWorker::start(&server.url(), "w3", dispatch.clone());
        view.until("three workers hold partitions", |c| {
            all_held_by(c, &["w1", "w2", "w3"])
        })
        .await;
        let loader = {
            let client = client.clone();
            tokio::spawn(async move { load(&client, 4, 40, 16, 10).await })
        };
        // Crash w2 once it is running jobs.
        let mut workers = dispatch.workers.subscribe();
        tokio::time::timeout(BOUND, workers.wait_for(|w| w.contains("w2")))
            .await
            .expect("w2 never ran a job")
            .unwrap();
        w2.kill();
        // The survivors share w2's partitions (4 each), though w2 is still in the registry.
        let took = view
            .until("w1 and w3 took over every partition", |c| {
                all_held_by(c, &["w1", "w3"]) && c.values().all(|n| *n == 4)
            })
            .await;
        eprintln!("failover after a crash took {took:?} (lease ttl {LEASE_TTL:?})");
        // The bound: the ttl, one check interval (ttl/6), and some slack for the round trips.
        assert!(
            took <= LEASE_TTL + LEASE_TTL / 6 + Duration::from_millis(500),
            "{took:?}"
        );
        let published = loader.await.unwrap();
        wait_all(&client, &published).await;
        assert_publish_order(&dispatch, &published, false);
        w1.stop().await;
        w3.stop().await;
    })
    .await
}

#[tokio::test]
async fn a_job_without_its_routing_key_is_refused_before_publishing() {
    bounded(async {
        let (_server, nats, client) = setup().await;
        let mut req = request("k", 0);
        req.payload = json!({ "key": "" });
        match client.submit(req).await {
            Err(JobError::InvalidRequest(v)) => {
                assert_eq!(v.len(), 1, "{v:?}");
                assert_eq!(v[0].path, "/key");
            }
            other => panic!("expected an invalid request, got {other:?}"),
        }
        let mut stream = jetstream::new(nats).get_stream("PJOBS").await.unwrap();
        assert_eq!(stream.info().await.unwrap().state.messages, 0);
        // A keyed job lands on its partition's subject.
        let handle = client.submit(request("a", 0)).await.unwrap();
        let msg = stream.get_raw_message(handle.sequence).await.unwrap();
        assert_eq!(
            msg.subject.as_str(),
            format!("pjobs.keyed.{}", 0xe40c_292c_u32 % PARTITIONS)
        );
    })
    .await
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_stops_that_partition_until_it_expires() {
    bounded(async {
        let (server, nats, client) = setup().await;
        let dispatch = KeyedDispatch::default();
        let mut view = LeaseView::open(&nats).await;
        let w1 = TestWorker::start(&server.url(), "w1", dispatch.clone());
        view.until("w1 holds every partition", |c| all_held_by(c, &["w1"]))
            .await;
        // Another holder overwrites the lease of key "a"'s partition (and never renews).
        let partition = partition_of(b"a", PARTITIONS);
        let kv = jetstream::new(nats.clone())
            .get_key_value("PJOBS_LEASES")
            .await
            .unwrap();
        let intruder = Lease {
            worker_id: "intruder".into(),
            acquired_at: chrono::Utc::now(),
        };
        let taken_at = Instant::now();
        kv.put(
            format!("pjobs_keyed-{partition}"),
            serde_json::to_vec(&intruder).unwrap().into(),
        )
        .await
        .unwrap();
        // w1's next renewal fails: it stops that partition's loop (its registry entry no
        // longer names it). (Meanwhile the intruder counts as a live worker, so w1 also
        // gives up half of the rest; it takes everything back once the intruder's lease
        // expired.)
        let key = format!("pjobs_keyed-{partition}");
        let registry = jetstream::new(nats.clone())
            .get_key_value("PJOBS_WORKERS")
            .await
            .unwrap();
        let mut entries = registry.watch_with_history("w1").await.unwrap();
        tokio::time::timeout(BOUND, async {
            loop {
                let entry = entries.next().await.unwrap().unwrap();
                let agent: jetwire::AgentEntry = serde_json::from_slice(&entry.value).unwrap();
                if !agent.partitions.is_empty() && !agent.partitions.contains(&key) {
                    break;
                }
            }
        })
        .await
        .expect("w1 never gave up the taken partition");
        // A job of that partition waits until the intruder's lease expired and w1 took
        // the partition back.
        let handle = client.submit(request("a", 0)).await.unwrap();
        handle.result(BOUND).await.unwrap();
        let waited = taken_at.elapsed();
        assert!(
            waited >= LEASE_TTL,
            "the job ran {waited:?} after the lease was taken, before it expired"
        );
        view.until("w1 holds every partition again", |c| {
            all_held_by(c, &["w1"])
        })
        .await;
        w1.stop().await;
    })
    .await
}
