//! A three-node JetStream cluster under steady load while one node is killed with
//! SIGKILL: every job whose submit the stream acknowledged completes, none is lost.

mod common;

use std::time::{Duration, Instant};

use common::*;
use jetwire::spec::ConsumerSpec;
use jetwire::testing::Cluster;
use jetwire::{Client, JobHandle, JobStatus, ServiceSpec};
use serde_json::json;

/// Bound of the whole test: a cluster start, leader elections after the kill (seconds
/// each, more on a loaded machine) and a node restart.
const TEST_BOUND: Duration = Duration::from_secs(240);

/// Bound of one job's wait, from after the load stopped.
const JOB_BOUND: Duration = Duration::from_secs(90);

/// Jobs acknowledged before the kill, and after it, before the load stops.
const BEFORE_KILL: usize = 20;
const AFTER_KILL: usize = 20;

/// The test consumers with room for leader elections: a job whose deliveries fall into
/// an election must not use up its attempts and be dead-lettered.
const CONSUMERS: [ConsumerSpec; 2] = [
    ConsumerSpec {
        ack_wait: Duration::from_secs(2),
        max_deliver: 20,
        backoff: &[],
        ..common::CONSUMERS[0]
    },
    ConsumerSpec {
        ack_wait: Duration::from_secs(2),
        max_deliver: 20,
        backoff: &[],
        concurrency: 4,
        ..common::CONSUMERS[1]
    },
];

static CLUSTER_SERVICE: ServiceSpec = ServiceSpec {
    consumers: &CONSUMERS,
    ..SERVICE_FIELDS
};

fn echo() -> &'static jetwire::OperationSpec {
    CLUSTER_SERVICE.operation("echo").unwrap()
}

fn work() -> &'static jetwire::OperationSpec {
    CLUSTER_SERVICE.operation("work").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_job_completes_while_a_node_is_killed() {
    tokio::time::timeout(TEST_BOUND, run())
        .await
        .expect("the cluster test exceeded its time bound");
}

async fn run() {
    let mut cluster = Cluster::start(3).await;
    let nats = cluster.client().await;
    let js = async_nats::jetstream::new(nats.clone());
    let options = jetwire::ProvisionOptions { replicas: Some(3) };
    // New replicated streams may briefly lack a leader; provisioning is idempotent.
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(e) = jetwire::provision(&js, &CLUSTER_SERVICE, &options).await {
        assert!(Instant::now() < deadline, "provisioning kept failing: {e}");
        eprintln!("provisioning not through yet: {e}");
    }
    let dispatch = TestDispatch::default();
    let recorder = dispatch.recorder.clone();
    let workers = [
        spawn_worker(
            cluster.client().await,
            &CLUSTER_SERVICE,
            dispatch.clone(),
            |b| b.worker_id("w1"),
        ),
        spawn_worker(cluster.client().await, &CLUSTER_SERVICE, dispatch, |b| {
            b.worker_id("w2")
        }),
    ];
    // A short publish-ack timeout: a submit caught in an election is refused quickly
    // (and counted), not held up.
    let client = Client::with_ack_timeout(nats.clone(), &CLUSTER_SERVICE, Duration::from_secs(2))
        .await
        .unwrap();

    // Steady load: a query and a modification every 20 ms, each acknowledged submit
    // handed to the checker.
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<JobHandle>();
    let stop = jetwire::CancellationToken::new();
    let producing = tokio::spawn({
        let client = client.clone();
        let stop = stop.clone();
        async move {
            let mut refused = 0u64;
            let mut pace = tokio::time::interval(Duration::from_millis(20));
            let mut i = 0u64;
            while !stop.is_cancelled() {
                pace.tick().await;
                i += 1;
                let req = if i % 2 == 0 {
                    request(echo(), "h", json!({"action": "echo", "value": i}))
                } else {
                    request(work(), "h", json!({"action": "sleep", "ms": 5, "value": i}))
                };
                match client.submit(req).await {
                    Ok(h) => {
                        if acked_tx.send(h).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        refused += 1;
                        if refused <= 3 {
                            eprintln!("submit refused: {e}");
                        }
                    }
                }
            }
            refused
        }
    });
    let mut acked = Vec::new();
    while acked.len() < BEFORE_KILL {
        acked.push(acked_rx.recv().await.expect("the producer stopped"));
    }

    // Kill the node leading the jobs stream: the hardest case (a new leader must be
    // elected before anything is accepted again).
    let leader = js
        .get_stream(CLUSTER_SERVICE.stream.name)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .unwrap_or_default();
    let victim = (0..3).find(|&i| format!("n{i}") == leader).unwrap_or(0);
    eprintln!("killing node n{victim} (jobs stream leader: '{leader}')");
    let killed_at = acked.len();
    cluster.kill9(victim);

    while acked.len() < killed_at + AFTER_KILL {
        acked.push(acked_rx.recv().await.expect("the producer stopped"));
    }
    stop.cancel();
    let refused = producing.await.unwrap();
    while let Ok(h) = acked_rx.try_recv() {
        acked.push(h);
    }
    eprintln!(
        "{} submissions acknowledged ({killed_at} before the kill), {refused} refused",
        acked.len()
    );

    for h in &acked {
        let record = h
            .wait(JOB_BOUND)
            .await
            .unwrap_or_else(|e| panic!("acknowledged job {} was lost: {e}", h.request_id()));
        assert_eq!(record.status, JobStatus::Succeeded, "{record:?}");
        assert!(
            !recorder.starts(h.request_id()).is_empty(),
            "job {} completed without running",
            h.request_id()
        );
    }

    // The node comes back and the cluster keeps serving.
    cluster.restart(victim).await;
    let after = client
        .call(
            request(echo(), "h", json!({"action": "echo", "value": "back"})),
            JOB_BOUND,
        )
        .await
        .unwrap();
    assert_eq!(after["value"], "back");
    for w in workers {
        w.shutdown().await;
    }
}
