//! The baselines: the same protocol steps written directly on async-nats, no framework.
//! JetStream publish with `Nats-Msg-Id` to the work-queue stream; a pull-consumer worker
//! that `kv.put`s the result and acks; the client learns of the result either from one
//! shared KV watcher ([`Wait::Watch`], the ceiling on this machine) or by polling
//! `kv.get` every 100 ms ([`Wait::Poll`], the original design).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use async_nats::jetstream::{self, kv};
use async_nats::HeaderMap;
use futures::StreamExt;
use jetwire::provision::{job_consumer_config, jobs_stream_config, responses_stream_config};
use jetwire::ProvisionOptions;
use tokio::sync::oneshot;

use jetwire::JobClass;

use super::service::{job_subject, service, WORKER_CONCURRENCY};
use super::{measure, Load};
use crate::bench::stats::RunStats;

/// How the client learns that the response is there.
#[derive(Clone, Copy, Debug)]
pub enum Wait {
    Watch,
    Poll,
}

pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<()>>>>;

pub async fn run(
    worker_nats: &async_nats::Client,
    client_nats: &async_nats::Client,
    prefix: &'static str,
    wait: Wait,
    load: Load,
) -> Result<RunStats> {
    let service = service(prefix, JobClass::Query);
    let options = ProvisionOptions::default();
    let js = jetstream::new(worker_nats.clone());
    let stream = js
        .create_stream(jobs_stream_config(service, &options))
        .await
        .context("creating the jobs stream")?;
    // Created as a stream: on NATS 2.9 the client library's bucket creation fails.
    js.create_stream(responses_stream_config(service, &options))
        .await
        .context("creating the responses bucket")?;
    let durable = service.consumers[0].durable;
    stream
        .create_consumer(job_consumer_config(&service.consumers[0]))
        .await
        .context("creating the consumer")?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_consumer(durable)
        .await
        .map_err(|e| anyhow!("opening the consumer: {e}"))?;
    let worker_kv = js
        .get_key_value(service.responses.bucket)
        .await
        .context("opening the bucket (worker)")?;
    let worker = tokio::spawn(serve(consumer, worker_kv));

    let client_js = jetstream::new(client_nats.clone());
    let client_kv = client_js
        .get_key_value(service.responses.bucket)
        .await
        .context("opening the bucket (client)")?;
    let waiting: Waiting = Arc::default();
    let watcher = match wait {
        Wait::Watch => Some(tokio::spawn(dispatch_watch(
            client_kv.watch_all().await.context("watching the bucket")?,
            waiting.clone(),
        ))),
        Wait::Poll => None,
    };
    let subject = job_subject(service);
    let stats = measure(load, move |client, i| {
        let js = client_js.clone();
        let kv = client_kv.clone();
        let waiting = waiting.clone();
        let subject = subject.clone();
        async move {
            let id = format!("{prefix}-{client}-{i}-{}", load.tag);
            let response = match wait {
                Wait::Watch => {
                    // Registered before publishing: the watcher cannot miss the result.
                    let (tx, rx) = oneshot::channel();
                    waiting.lock().expect("waiting lock").insert(id.clone(), tx);
                    Some(rx)
                }
                Wait::Poll => None,
            };
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", id.as_str());
            let payload = serde_json::json!({ "request_id": id, "value": i });
            js.publish_with_headers(subject, headers, payload.to_string().into())
                .await?
                .await?;
            match response {
                Some(rx) => rx.await.map_err(|_| anyhow!("the watcher stopped"))?,
                None => poll(&kv, &id).await?,
            }
            Ok(())
        }
    })
    .await;
    worker.abort();
    if let Some(w) = watcher {
        w.abort();
    }
    stats
}

/// The worker: every delivery gets its result stored under its `Nats-Msg-Id`, then acked.
async fn serve(consumer: jetstream::consumer::PullConsumer, kv: kv::Store) -> Result<()> {
    let messages = consumer.messages().await?;
    messages
        .for_each_concurrent(WORKER_CONCURRENCY, |msg| {
            let kv = kv.clone();
            async move {
                let Ok(msg) = msg else { return };
                let Some(id) = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Msg-Id"))
                    .map(|v| v.as_str().to_string())
                else {
                    let _ = msg.ack().await;
                    return;
                };
                let record = serde_json::json!({
                    "request_id": id,
                    "status": "succeeded",
                    "result": { "ok": true, "bytes": msg.payload.len() },
                });
                if kv.put(&id, record.to_string().into()).await.is_ok() {
                    let _ = msg.ack().await;
                }
            }
        })
        .await;
    Ok(())
}

/// Hands every written key to the caller waiting for it.
async fn dispatch_watch(mut watch: kv::Watch, waiting: Waiting) {
    while let Some(Ok(entry)) = watch.next().await {
        if entry.operation != kv::Operation::Put {
            continue;
        }
        if let Some(tx) = waiting.lock().expect("waiting lock").remove(&entry.key) {
            let _ = tx.send(());
        }
    }
}

/// Looks every [`POLL_INTERVAL`], starting one interval after the submit (a first look
/// right after the publish ack would mostly race the worker, not measure polling).
async fn poll(kv: &kv::Store, id: &str) -> Result<()> {
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + POLL_INTERVAL, POLL_INTERVAL);
    loop {
        tick.tick().await;
        if kv.get(id).await?.is_some() {
            return Ok(());
        }
    }
}
