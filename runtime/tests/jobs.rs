//! The job protocol end to end against a real nats-server: submit, run, record, wait.

mod common;

use std::time::Duration;

use async_nats::HeaderMap;
use common::*;
use jetwire::testing::NatsServer;
use jetwire::{Client, FailureKind, JobError, JobStatus};
use serde_json::json;

async fn setup() -> (NatsServer, async_nats::Client, Client, TestDispatch) {
    let server = NatsServer::start().await;
    let nats = server.client().await;
    provision(&nats, &SERVICE).await;
    let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
    (server, nats, client, TestDispatch::default())
}

#[tokio::test]
async fn round_trip_returns_the_handlers_reply() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let result = client
            .call(
                request(echo(), "host1", json!({"action": "echo", "value": 42})),
                BOUND,
            )
            .await
            .unwrap();
        assert_eq!(
            result,
            json!({"value": 42, "attempt": 1, "target": "host1"})
        );
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn the_request_id_travels_in_payload_header_and_record() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let mut req = request(echo(), "h", json!({"action": "echo"}));
        req.request_id = Some("my-id-1".into());
        let handle = client.submit(req).await.unwrap();
        assert_eq!(handle.request_id(), "my-id-1");
        // The stored message carries the id in the payload and as Nats-Msg-Id.
        let js = async_nats::jetstream::new(nats.clone());
        let stream = js.get_stream("TJOBS").await.unwrap();
        let msg = stream.get_raw_message(handle.sequence).await.unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
        assert_eq!(payload["request_id"], "my-id-1");
        assert_eq!(msg.headers.get("Nats-Msg-Id").unwrap().as_str(), "my-id-1");
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let record = handle.wait(BOUND).await.unwrap();
        assert_eq!(record.request_id, "my-id-1");
        assert_eq!(record.operation, "echo");
        assert_eq!(record.subject, "tjobs.query.echo.h");
        assert_eq!(record.status, JobStatus::Succeeded);
        assert_eq!(record.worker_id.as_deref(), Some("test-worker"));
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_duplicate_submit_runs_once_and_gets_the_same_response() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let recorder = dispatch.recorder.clone();
        let mut req = request(work(), "h", json!({"action": "echo", "value": "x"}));
        req.request_id = Some("dup-1".into());
        let first = client.submit(req.clone()).await.unwrap();
        let second = client.submit(req).await.unwrap();
        assert!(!first.duplicate);
        assert!(
            second.duplicate,
            "the stream must deduplicate the repeated id"
        );
        assert_eq!(first.sequence, second.sequence);
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let a = first.wait(BOUND).await.unwrap();
        let b = second.wait(BOUND).await.unwrap();
        assert_eq!(a, b);
        worker.shutdown().await;
        assert_eq!(recorder.starts("dup-1").len(), 1, "executed exactly once");
    })
    .await
}

#[tokio::test]
async fn a_handler_error_is_a_failed_record_and_a_typed_failure() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let err = client
            .call(request(work(), "h", json!({"action": "fail"})), BOUND)
            .await
            .unwrap_err();
        match err {
            JobError::Failed { error, .. } => {
                assert_eq!(error.kind, FailureKind::Handler);
                assert_eq!(error.code, "Broken");
                assert_eq!(error.details, Some(json!({"why": "test"})));
            }
            other => panic!("expected a handler failure, got {other:?}"),
        }
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn invalid_payloads_from_a_raw_publisher_are_rejected_and_the_worker_keeps_serving() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);
        let js = async_nats::jetstream::new(nats.clone());
        for (id, body) in [
            ("raw-1", &b"{\"nope\": 1}"[..]),
            ("raw-2", &b"not json"[..]),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", id);
            js.publish_with_headers("tjobs.query.echo.h", headers, body.into())
                .await
                .unwrap()
                .await
                .unwrap();
            let record = client.wait(id, BOUND).await.unwrap();
            assert_eq!(record.status, JobStatus::Failed);
            let failure = record.error.unwrap();
            assert_eq!(failure.kind, FailureKind::InvalidRequest);
            assert!(!failure.violations.is_empty(), "violations say where");
        }
        // Still serving.
        let ok = client
            .call(request(echo(), "h", json!({"action": "echo"})), BOUND)
            .await;
        assert!(ok.is_ok(), "{ok:?}");
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn an_unknown_subject_is_a_failed_unknown_operation_record() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);
        let js = async_nats::jetstream::new(nats.clone());
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", "unknown-1");
        js.publish_with_headers("tjobs.query.nothing.here", headers, "{}".into())
            .await
            .unwrap()
            .await
            .unwrap();
        let err = client.wait_result("unknown-1", BOUND).await.unwrap_err();
        match err {
            JobError::Rejected { failure, .. } => {
                assert_eq!(failure.kind, FailureKind::UnknownOperation);
                assert_eq!(failure.code, "unknown_operation");
            }
            other => panic!("expected unknown_operation, got {other:?}"),
        }
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_panicking_handler_is_an_internal_failure_and_the_worker_keeps_serving() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let err = client
            .call(request(work(), "h", json!({"action": "panic"})), BOUND)
            .await
            .unwrap_err();
        match err {
            JobError::Rejected { failure, .. } => {
                assert_eq!(failure.kind, FailureKind::Internal);
                assert!(
                    failure.message.contains("handler exploded"),
                    "{}",
                    failure.message
                );
            }
            other => panic!("expected an internal failure, got {other:?}"),
        }
        let ok = client
            .call(request(work(), "h", json!({"action": "echo"})), BOUND)
            .await;
        assert!(ok.is_ok(), "{ok:?}");
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn queries_are_not_starved_by_slow_modifications() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let mut events = dispatch.recorder.subscribe();
        // One modify slot, taken by a slow job with another queued behind it.
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| {
            b.concurrency(jetwire::JobClass::Modify, 1)
        });
        let slow = client
            .submit(request(work(), "h", json!({"action": "sleep", "ms": 3000})))
            .await
            .unwrap();
        let queued = client
            .submit(request(work(), "h", json!({"action": "sleep", "ms": 3000})))
            .await
            .unwrap();
        wait_for(&mut events, started(slow.request_id())).await;
        let q = client
            .call(request(echo(), "h", json!({"action": "echo"})), BOUND)
            .await;
        assert!(q.is_ok(), "{q:?}");
        // The query finished while every modify slot was still busy.
        let slow_record = client.get(slow.request_id()).await.unwrap();
        assert!(
            slow_record.is_none_or(|r| !r.status.is_terminal()),
            "the slow modification must still be running"
        );
        assert!(client
            .get(queued.request_id())
            .await
            .unwrap()
            .is_none_or(|r| !r.status.is_terminal()));
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_long_job_gets_a_running_record_and_is_not_redelivered() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let recorder = dispatch.recorder.clone();
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        // 1.5 s against a 200 ms ack wait: only in-progress acks keep it from redelivery.
        let handle = client
            .submit(request(work(), "h", json!({"action": "sleep", "ms": 1500})))
            .await
            .unwrap();
        let record = handle.wait(BOUND).await.unwrap();
        assert_eq!(record.status, JobStatus::Succeeded);
        assert_eq!(record.attempt, 1);
        assert!(record.started_at.is_some());
        assert_eq!(
            recorder.starts(handle.request_id()).len(),
            1,
            "no redelivery"
        );
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn wait_finds_a_response_written_before_it_was_called() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);
        let handle = client
            .submit(request(echo(), "h", json!({"action": "echo", "value": 1})))
            .await
            .unwrap();
        let first = handle.wait(BOUND).await.unwrap();
        worker.shutdown().await;
        // A client created after the record was written: its watcher cannot have seen it.
        let late = Client::new(nats, &SERVICE).await.unwrap();
        let again = late
            .wait(handle.request_id(), Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(first, again);
    })
    .await
}

#[tokio::test]
async fn call_with_the_id_of_a_finished_job_returns_the_stored_result() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let recorder = dispatch.recorder.clone();
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);
        let mut req = request(echo(), "h", json!({"action": "echo", "value": 7}));
        req.request_id = Some("finished-1".into());
        let first = client.call(req.clone(), BOUND).await.unwrap();
        // A client created after the record was written: its watcher never sees that
        // write, and the repeated submit is a duplicate that the worker does not run.
        let late = Client::new(nats, &SERVICE).await.unwrap();
        let again = late.call(req, BOUND).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(recorder.starts("finished-1").len(), 1, "ran exactly once");
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn get_works_from_a_second_client_and_a_detached_job_is_pending_until_done() {
    bounded(async {
        let (server, nats, client, dispatch) = setup().await;
        let handle = client
            .submit_detached(request(
                echo(),
                "h",
                json!({"action": "echo", "value": "d"}),
            ))
            .await
            .unwrap();
        let other = Client::new(server.client().await, &SERVICE).await.unwrap();
        let pending = other.get(handle.request_id()).await.unwrap().unwrap();
        assert_eq!(pending.status, JobStatus::Accepted);
        assert_eq!(pending.operation, "echo");
        assert!(other.get("never-submitted").await.unwrap().is_none());
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let done = other.wait(handle.request_id(), BOUND).await.unwrap();
        assert_eq!(done.status, JobStatus::Succeeded);
        assert_eq!(other.get(handle.request_id()).await.unwrap().unwrap(), done);
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_timed_out_wait_leaves_an_accepted_record() {
    bounded(async {
        let (_server, _nats, client, _dispatch) = setup().await;
        // No worker runs.
        let handle = client
            .submit(request(echo(), "h", json!({"action": "echo"})))
            .await
            .unwrap();
        let err = handle.wait(Duration::from_millis(300)).await.unwrap_err();
        assert!(matches!(err, JobError::TimedOut { .. }), "{err:?}");
        assert_eq!(err.request_id(), Some(handle.request_id()));
        let record = client.get(handle.request_id()).await.unwrap().unwrap();
        assert_eq!(record.status, JobStatus::Accepted);
    })
    .await
}

#[tokio::test]
async fn bad_requests_are_refused_before_publishing() {
    bounded(async {
        let (_server, _nats, client, _dispatch) = setup().await;
        let mut req = request(echo(), "h", json!({"action": "echo"}));
        req.subject = "tjobs.query.other.h".into();
        let err = client.submit(req).await.unwrap_err();
        assert!(
            matches!(&err, JobError::InvalidRequest(v) if v[0].message.contains("does not match")),
            "{err}"
        );
        let mut req = request(echo(), "h", json!({"action": "echo"}));
        req.request_id = Some("has space".into());
        let err = client.submit(req).await.unwrap_err();
        assert!(
            matches!(&err, JobError::InvalidRequest(v) if v[0].path == "/request_id"),
            "{err}"
        );
        let err = client
            .submit(request(echo(), "h", json!([1, 2])))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not an object"), "{err}");
    })
    .await
}

#[tokio::test]
async fn a_full_stream_refuses_new_jobs_with_stream_full() {
    static FULL: jetwire::ServiceSpec = jetwire::ServiceSpec {
        stream: jetwire::spec::StreamSpec {
            name: "TJOBS",
            subjects: &["tjobs.>"],
            storage: jetwire::spec::StorageSpec::File,
            max_bytes: -1,
            max_msgs: 2,
            max_msg_size: -1,
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
        },
        ..SERVICE_FIELDS
    };
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &FULL).await;
        let client = Client::new(nats, &FULL).await.unwrap();
        for _ in 0..2 {
            client
                .submit(request(echo(), "h", json!({"action": "echo"})))
                .await
                .unwrap();
        }
        let err = client
            .submit(request(echo(), "h", json!({"action": "echo"})))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, JobError::StreamFull { stream, .. } if stream == "TJOBS"),
            "{err:?}"
        );
    })
    .await
}

#[tokio::test]
async fn a_down_server_is_server_unavailable() {
    bounded(async {
        let mut server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let client = Client::with_ack_timeout(nats, &SERVICE, Duration::from_millis(500))
            .await
            .unwrap();
        server.kill9();
        let err = client
            .submit(request(echo(), "h", json!({"action": "echo"})))
            .await
            .unwrap_err();
        assert!(matches!(err, JobError::ServerUnavailable(_)), "{err:?}");
        let err =
            Client::with_ack_timeout(server.client().await, &SERVICE, Duration::from_millis(500))
                .await
                .unwrap_err();
        assert!(matches!(err, JobError::ServerUnavailable(_)), "{err:?}");

        // Connecting to a server that is not there names the server and the reason.
        let url = server.url();
        let err = jetwire::ConnectOptions::new(&url)
            .connect()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&url), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
    })
    .await
}

#[tokio::test]
async fn a_message_without_headers_is_keyed_by_the_payload_request_id() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);
        let js = async_nats::jetstream::new(nats.clone());
        let body = json!({"action": "echo", "value": 5, "request_id": "from-payload"});
        js.publish("tjobs.query.echo.h", body.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
        let record = client.wait("from-payload", BOUND).await.unwrap();
        assert_eq!(record.status, JobStatus::Succeeded);
        assert_eq!(record.result.unwrap()["value"], 5);
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_job_reporting_progress_runs_once() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let recorder = dispatch.recorder.clone();
        let worker = spawn_worker(nats, &SERVICE, dispatch, |b| b);
        let handle = client
            .submit(request(
                work(),
                "h",
                json!({"action": "progress", "ms": 1000}),
            ))
            .await
            .unwrap();
        let record = handle.wait(BOUND).await.unwrap();
        assert_eq!(record.status, JobStatus::Succeeded);
        assert_eq!(recorder.starts(handle.request_id()).len(), 1);
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_worker_for_an_unprovisioned_service_fails_at_startup() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        let err = jetwire::Worker::builder(nats, &SERVICE, TestDispatch::default())
            .shutdown(std::future::pending())
            .run()
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("provision the service first"),
            "{err}"
        );
    })
    .await
}

/// The record stored for `request_id` when it is first seen with `status`, through a KV
/// watcher (no polling).
async fn record_with_status(
    nats: &async_nats::Client,
    request_id: &str,
    status: JobStatus,
) -> jetwire::ResponseRecord {
    let js = async_nats::jetstream::new(nats.clone());
    let kv = js.get_key_value(SERVICE.responses.bucket).await.unwrap();
    let mut watch = kv.watch_with_history(request_id).await.unwrap();
    tokio::time::timeout(BOUND, async {
        loop {
            let entry = futures::StreamExt::next(&mut watch)
                .await
                .expect("the watch ended")
                .unwrap();
            let record: jetwire::ResponseRecord = serde_json::from_slice(&entry.value).unwrap();
            if record.status == status {
                return record;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {status:?} record for {request_id}"))
}

#[tokio::test]
async fn a_modification_is_claimed_before_its_handler_runs() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let mut events = dispatch.recorder.subscribe();
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);
        let mut req = request(work(), "h", json!({"action": "sleep", "ms": 400}));
        req.request_id = Some("claimed-first".into());
        let handle = client.submit(req).await.unwrap();
        wait_for(&mut events, started("claimed-first")).await;
        // The claim is written before the handler starts: it is there already.
        let record = client.get("claimed-first").await.unwrap().unwrap();
        assert_eq!(record.status, JobStatus::Running, "{record:?}");
        assert_eq!(record.worker_id.as_deref(), Some("test-worker"));
        assert_eq!(
            handle.wait(BOUND).await.unwrap().status,
            JobStatus::Succeeded
        );
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_slow_query_shows_as_running_and_a_quick_one_is_answered_once() {
    bounded(async {
        let (_server, nats, client, dispatch) = setup().await;
        let recorder = dispatch.recorder.clone();
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);
        // A query still running after the deferred-claim delay gets its running record.
        let mut slow = request(echo(), "h", json!({"action": "sleep", "ms": 1500}));
        slow.request_id = Some("slow-query".into());
        let handle = client.submit(slow).await.unwrap();
        let running = record_with_status(&nats, "slow-query", JobStatus::Running).await;
        assert_eq!(running.worker_id.as_deref(), Some("test-worker"));
        assert!(running.started_at.is_some());
        // The handler is still running when that record is seen.
        assert_eq!(recorder.finishes("slow-query"), 0);
        let done = handle.wait(BOUND).await.unwrap();
        assert_eq!(done.status, JobStatus::Succeeded);
        assert_eq!(done.attempt, 1);
        assert_eq!(recorder.starts("slow-query").len(), 1);

        // A quick query: one run, one answer.
        let mut quick = request(echo(), "h", json!({"action": "echo", "value": 3}));
        quick.request_id = Some("quick-query".into());
        let handle = client.submit(quick).await.unwrap();
        let done = handle.wait(BOUND).await.unwrap();
        assert_eq!(done.status, JobStatus::Succeeded);
        assert_eq!(
            done.result,
            Some(json!({"value": 3, "attempt": 1, "target": "h"}))
        );
        assert_eq!(recorder.starts("quick-query").len(), 1);
        worker.shutdown().await;
    })
    .await
}
