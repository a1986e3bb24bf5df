//! Failures: a worker that dies mid-job, a server killed with SIGKILL while jobs are in
//! flight, and graceful worker shutdown.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use jetwire::dispatch::BoxFuture;
use jetwire::testing::NatsServer;
use jetwire::{Client, Dispatch, Job, JobStatus, Outcome};
use serde_json::json;

/// A worker in its own runtime, so it can be killed as a crash would: every task of it
/// (pull loops, running handlers, its NATS connection) vanishes at once.
struct CrashableWorker {
    runtime: tokio::runtime::Runtime,
}

impl CrashableWorker {
    fn start(url: String, dispatch: TestDispatch) -> CrashableWorker {
        Self::start_as(url, "doomed", dispatch)
    }

    fn start_as(url: String, id: &str, dispatch: impl Dispatch + Clone) -> CrashableWorker {
        let id = id.to_string();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.spawn(async move {
            let nats = jetwire::ConnectOptions::new(&url).connect().await.unwrap();
            jetwire::Worker::builder(nats, &SERVICE, dispatch)
                .worker_id(id)
                .shutdown(std::future::pending())
                .run()
                .await
        });
        CrashableWorker { runtime }
    }

    fn crash(self) {
        self.runtime.shutdown_background();
    }
}

#[tokio::test]
async fn a_job_of_a_crashed_worker_is_redelivered_and_completed_once() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
        let dispatch = TestDispatch::default();
        let recorder = dispatch.recorder.clone();
        let mut events = recorder.subscribe();

        let doomed = CrashableWorker::start(server.url(), dispatch.clone());
        let handle = client
            .submit(request(
                work(),
                "h",
                json!({"action": "sleep_first", "ms": 60_000}),
            ))
            .await
            .unwrap();
        wait_for(&mut events, started(handle.request_id())).await;
        doomed.crash();

        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let record = handle.wait(BOUND).await.unwrap();
        assert_eq!(record.status, JobStatus::Succeeded);
        assert_eq!(record.attempt, 2, "the second delivery completed it");
        assert_eq!(record.worker_id.as_deref(), Some("test-worker"));
        assert_eq!(recorder.starts(handle.request_id()).len(), 2);
        assert_eq!(recorder.finishes(handle.request_id()), 1, "completed once");
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn every_acked_job_completes_across_a_server_kill9_and_restart() {
    bounded(async {
        let mut server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
        let dispatch = TestDispatch::default();
        let mut events = dispatch.recorder.subscribe();
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);

        let mut handles = Vec::new();
        for i in 0..6 {
            let modify = request(
                work(),
                "h",
                json!({"action": "sleep", "ms": 150, "value": i}),
            );
            let query = request(
                echo(),
                "h",
                json!({"action": "sleep", "ms": 100, "value": i}),
            );
            handles.push(client.submit(modify).await.unwrap());
            handles.push(client.submit(query).await.unwrap());
        }
        // Waiters registered before the crash must be served after it.
        let waits: Vec<_> = handles
            .iter()
            .map(|h| {
                let h = h.clone();
                tokio::spawn(async move { h.wait(BOUND).await })
            })
            .collect();
        // A producer that keeps submitting through the crash: whatever the stream
        // acknowledged must run, whatever it refused the producer knows about.
        let producer = Client::with_ack_timeout(nats.clone(), &SERVICE, Duration::from_millis(500))
            .await
            .unwrap();
        let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
        let stop_producing = jetwire::CancellationToken::new();
        let producing = tokio::spawn({
            let stop = stop_producing.clone();
            async move {
                let mut refused = 0;
                while !stop.is_cancelled() {
                    let req = request(echo(), "h", json!({"action": "echo"}));
                    match producer.submit(req).await {
                        Ok(h) => acked_tx.send(h).unwrap(),
                        Err(_) => refused += 1,
                    }
                }
                refused
            }
        });
        let mut acked = vec![acked_rx.recv().await.unwrap()];

        wait_for(&mut events, |e| matches!(e, Event::Started { .. })).await;
        server.kill9();
        server.restart().await;
        // Keep producing until a few submissions went through after the restart.
        for _ in 0..3 {
            acked.push(acked_rx.recv().await.unwrap());
        }
        stop_producing.cancel();
        let refused = producing.await.unwrap();
        while let Ok(h) = acked_rx.try_recv() {
            acked.push(h);
        }
        eprintln!(
            "{} submissions acknowledged, {refused} refused during the crash",
            acked.len()
        );
        for h in &acked {
            let record = h.wait(BOUND).await.unwrap();
            assert_eq!(record.status, JobStatus::Succeeded, "{record:?}");
        }

        for (h, w) in handles.iter().zip(waits) {
            let record = w
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("job {} did not complete: {e}", h.request_id()));
            assert_eq!(record.status, JobStatus::Succeeded, "{record:?}");
        }
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn graceful_shutdown_lets_in_flight_jobs_finish_and_loses_nothing() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
        let dispatch = TestDispatch::default();
        let recorder = dispatch.recorder.clone();
        let mut events = recorder.subscribe();
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch.clone(), |b| {
            b.grace_period(Duration::from_secs(20))
        });
        let in_flight = client
            .submit(request(work(), "h", json!({"action": "sleep", "ms": 800})))
            .await
            .unwrap();
        wait_for(&mut events, started(in_flight.request_id())).await;
        worker.shutdown().await;
        // run() returned only after the in-flight job was recorded and acknowledged.
        let record = client.get(in_flight.request_id()).await.unwrap().unwrap();
        assert_eq!(record.status, JobStatus::Succeeded);
        assert_eq!(recorder.finishes(in_flight.request_id()), 1);

        // A job submitted while no worker runs waits in the stream for the next one.
        let later = client
            .submit(request(work(), "h", json!({"action": "echo"})))
            .await
            .unwrap();
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        assert_eq!(
            later.wait(BOUND).await.unwrap().status,
            JobStatus::Succeeded
        );
        worker.shutdown().await;
        assert_eq!(
            recorder.starts(in_flight.request_id()).len(),
            1,
            "not run again"
        );
    })
    .await
}

#[tokio::test]
async fn jobs_still_running_after_the_grace_period_go_back_to_the_stream() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
        let dispatch = TestDispatch::default();
        let recorder = dispatch.recorder.clone();
        let mut events = recorder.subscribe();
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch.clone(), |b| {
            b.grace_period(Duration::from_millis(200))
        });
        let long = client
            .submit(request(
                work(),
                "h",
                json!({"action": "sleep_first", "ms": 60_000}),
            ))
            .await
            .unwrap();
        wait_for(&mut events, started(long.request_id())).await;
        worker.shutdown().await;
        let record = client.get(long.request_id()).await.unwrap();
        assert!(
            record.is_none_or(|r| !r.status.is_terminal()),
            "not finished"
        );

        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let record = long.wait(BOUND).await.unwrap();
        assert_eq!(record.status, JobStatus::Succeeded);
        assert_eq!(record.attempt, 2);
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn jobs_complete_on_a_three_node_cluster_while_a_node_is_down() {
    bounded(async {
        let mut cluster = jetwire::testing::Cluster::start(3).await;
        let nats = cluster.client().await;
        let js = async_nats::jetstream::new(nats.clone());
        let options = jetwire::ProvisionOptions { replicas: Some(3) };
        // New replicated streams may briefly lack a leader; provisioning is idempotent.
        while let Err(e) = jetwire::provision(&js, &SERVICE, &options).await {
            eprintln!("provisioning not through yet: {e}");
        }
        let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
        let worker = spawn_worker(
            cluster.client().await,
            &SERVICE,
            TestDispatch::default(),
            |b| b,
        );

        let before = client
            .call(
                request(echo(), "h", json!({"action": "echo", "value": 1})),
                BOUND,
            )
            .await
            .unwrap();
        assert_eq!(before["value"], 1);

        cluster.kill9(2);
        let mut handles = Vec::new();
        for i in 0..4 {
            let mut req = request(work(), "h", json!({"action": "echo", "value": i}));
            req.request_id = Some(format!("cluster-{i}"));
            // A submit that fails during a leader election is retried with the same
            // request id: the stream runs it once either way.
            let handle = loop {
                match client.submit(req.clone()).await {
                    Ok(h) => break h,
                    Err(e) => {
                        eprintln!("submit not accepted yet: {e}");
                        // Retry backoff: the client gets no event for "stream leader elected".
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            };
            handles.push(handle);
        }
        for h in &handles {
            assert_eq!(h.wait(BOUND).await.unwrap().status, JobStatus::Succeeded);
        }
        cluster.restart(2).await;
        worker.shutdown().await;
    })
    .await
}

/// Runs jobs like [`TestDispatch`], except that the first job to start stalls its whole
/// worker for `stall` (it blocks the only thread of the worker's runtime, as an overloaded
/// machine or a long pause would): no in-progress acks, no claim renewal meanwhile.
#[derive(Clone)]
struct StallFirst {
    inner: TestDispatch,
    stalled: Arc<AtomicBool>,
    stall: Duration,
}

impl Dispatch for StallFirst {
    fn dispatch(&self, job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            if !self.stalled.swap(true, Ordering::SeqCst) {
                std::thread::sleep(self.stall);
            }
            self.inner.dispatch(job).await
        })
    }
}

#[tokio::test]
async fn a_redelivery_while_the_first_run_is_stalled_does_not_run_the_job_again() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
        let dispatch = StallFirst {
            inner: TestDispatch::default(),
            stalled: Arc::default(),
            // Far beyond the 200 ms backoff step after which the server redelivers, well
            // within the 2 s claim lease after which a silent holder counts as dead.
            stall: Duration::from_millis(1000),
        };
        let recorder = dispatch.inner.recorder.clone();
        // Two workers, each in a runtime of its own: whichever gets the job stalls, the
        // other gets the redelivery while the first run is still in progress.
        let a = CrashableWorker::start_as(server.url(), "a", dispatch.clone());
        let b = CrashableWorker::start_as(server.url(), "b", dispatch.clone());

        let handle = client
            .submit(request(work(), "h", json!({"action": "echo", "value": 7})))
            .await
            .unwrap();
        let record = handle.wait(BOUND).await.unwrap();
        assert_eq!(record.status, JobStatus::Succeeded, "{record:?}");
        assert_eq!(
            record.attempt, 1,
            "the first delivery completed it: {record:?}"
        );

        // The job was delivered again while the first run was stalled.
        let js = async_nats::jetstream::new(nats.clone());
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = js
            .get_consumer_from_stream("tjobs_modify", "TJOBS")
            .await
            .unwrap();
        let deliveries = consumer.info().await.unwrap().delivered.consumer_sequence;
        assert!(
            deliveries >= 2,
            "no redelivery happened ({deliveries} deliveries): the test proves nothing"
        );
        // Every delivery is over: the message is gone from the work queue.
        let stream = js.get_stream("TJOBS").await.unwrap();
        let left = tokio::time::timeout(BOUND, async {
            let mut stream = stream;
            loop {
                let n = stream.info().await.unwrap().state.messages;
                if n == 0 {
                    return n;
                }
                // Polled: the stream offers no event for "a message was removed".
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert_eq!(left.ok(), Some(0), "the job stayed in the stream");
        a.crash();
        b.crash();
        assert_eq!(
            recorder.starts(handle.request_id()).len(),
            1,
            "the handler ran once"
        );
        assert_eq!(recorder.finishes(handle.request_id()), 1);
    })
    .await
}
