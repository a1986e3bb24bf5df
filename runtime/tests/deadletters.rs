//! Retries and dead letters: backoff between attempts, max_deliver, the dead-lettered
//! record a waiting client sees, listing and replaying dead letters.

mod common;

use common::*;
use jetwire::testing::NatsServer;
use jetwire::{Client, DeadLetters, JobError, JobStatus};
use serde_json::json;

#[tokio::test]
async fn retries_follow_the_backoff_until_max_deliver_then_the_job_is_dead_lettered() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
        let dispatch = TestDispatch::default();
        let recorder = dispatch.recorder.clone();
        let worker = spawn_worker(nats.clone(), &SERVICE, dispatch, |b| b);

        let payload = json!({"action": "poison", "value": "p"});
        let handle = client
            .submit(request(work(), "h", payload.clone()))
            .await
            .unwrap();
        let err = handle.result(BOUND).await.unwrap_err();
        match err {
            JobError::DeadLettered {
                request_id,
                attempts,
            } => {
                assert_eq!(request_id, handle.request_id());
                assert_eq!(attempts, 3);
            }
            other => panic!("expected a dead-lettered job, got {other:?}"),
        }

        // max_deliver = 3 attempts, numbered 1..=3, each after at least its backoff step.
        let starts = recorder.starts(handle.request_id());
        assert_eq!(
            starts.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        for (i, pair) in starts.windows(2).enumerate() {
            let gap = pair[1].1 - pair[0].1;
            assert!(
                gap >= BACKOFF[i],
                "attempt {} came {gap:?} after the previous one; backoff is {:?}",
                i + 2,
                BACKOFF[i]
            );
        }

        // The dead letter keeps the original job; the work stream no longer has it.
        let dead = DeadLetters::new(nats.clone(), &SERVICE).await.unwrap();
        let letters = dead.list().await.unwrap();
        assert_eq!(letters.len(), 1);
        let letter = &letters[0];
        assert_eq!(letter.request_id, handle.request_id());
        assert_eq!(letter.subject, "tjobs.modify.work.h");
        assert_eq!(letter.attempts, 3);
        assert_eq!(letter.consumer, "tjobs_modify");
        let stored: serde_json::Value = serde_json::from_slice(&letter.payload).unwrap();
        assert_eq!(stored["value"], "p");
        assert_eq!(stored["request_id"], handle.request_id());
        let js = async_nats::jetstream::new(nats.clone());
        let mut jobs = js.get_stream("TJOBS").await.unwrap();
        assert_eq!(jobs.info().await.unwrap().state.messages, 0);
        let record = client.get(handle.request_id()).await.unwrap().unwrap();
        assert_eq!(record.status, JobStatus::DeadLettered);
        // The handled advisory is gone; the dead-letter stream holds just the letter.
        let mut dl = js.get_stream("TJOBS_DLQ").await.unwrap();
        assert_eq!(dl.info().await.unwrap().state.messages, 1);

        // An interrupted hand-over (the record lost) is repaired from the dead letter.
        client
            .records()
            .kv()
            .delete(handle.request_id())
            .await
            .unwrap();
        assert!(client.get(handle.request_id()).await.unwrap().is_none());
        assert_eq!(dead.reconcile().await.unwrap(), 1);
        let repaired = client.get(handle.request_id()).await.unwrap().unwrap();
        assert_eq!(repaired.status, JobStatus::DeadLettered);
        assert_eq!(repaired.attempt, 3);
        assert_eq!(dead.reconcile().await.unwrap(), 0, "nothing left to repair");

        // Replay once the cause is fixed: same request id, runs again, succeeds.
        recorder.heal();
        dead.replay(handle.request_id()).await.unwrap();
        let record = handle.wait(BOUND).await.unwrap();
        assert_eq!(record.status, JobStatus::Succeeded);
        assert_eq!(record.request_id, handle.request_id());
        assert!(dead.list().await.unwrap().is_empty());
        assert!(dead.get(handle.request_id()).await.unwrap().is_none());
        assert_eq!(dl.info().await.unwrap().state.messages, 0);
        worker.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn replaying_an_unknown_request_is_not_found() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let dead = DeadLetters::new(nats, &SERVICE).await.unwrap();
        let err = dead.replay("no-such-request").await.unwrap_err();
        assert!(
            matches!(err, jetwire::deadletter::DeadLetterError::NotFound(ref id) if id == "no-such-request"),
            "{err}"
        );
    })
    .await
}

#[tokio::test]
async fn the_dead_letter_component_also_runs_on_its_own() {
    bounded(async {
        let server = NatsServer::start().await;
        let nats = server.client().await;
        provision(&nats, &SERVICE).await;
        let client = Client::new(nats.clone(), &SERVICE).await.unwrap();
        // A worker without the component, and the component in its own task.
        let worker = spawn_worker(nats.clone(), &SERVICE, TestDispatch::default(), |b| {
            b.dead_letters(false)
        });
        let dead = DeadLetters::new(nats.clone(), &SERVICE).await.unwrap();
        let stop = jetwire::CancellationToken::new();
        let component = tokio::spawn({
            let (dead, stop) = (dead.clone(), stop.clone());
            async move { dead.run(stop).await }
        });
        let err = client
            .call(request(echo(), "h", json!({"action": "retry"})), BOUND)
            .await
            .unwrap_err();
        assert!(
            matches!(err, JobError::DeadLettered { attempts: 3, .. }),
            "{err:?}"
        );
        assert_eq!(dead.list().await.unwrap().len(), 1);
        stop.cancel();
        component.await.unwrap();
        worker.shutdown().await;
    })
    .await
}
