//! Delivery of response records to waiting callers: ONE long-lived KV watcher per client
//! (all keys of the responses bucket, from new writes on) and a registry of pending
//! waiters keyed by request id.
//!
//! A waiter registers before it reads the record, so a record written before the wait began
//! is found by the read and one written after is seen by the watcher. When the watcher has
//! to be re-created (connection loss, server restart), it resumes after the last revision
//! it saw and re-reads the record of every pending waiter, so nothing written in between is
//! missed.
//!
//! The watch is an ephemeral push consumer on the bucket's subjects (no acks, in-memory,
//! flow-controlled) with a short idle heartbeat, checked for gaps in its delivery sequence:
//! a server restart loses the consumer, the missing heartbeats show it within a
//! second or two, and the watch is re-created. (The client library's KV watch only
//! notices after 10 s of silence and, when it saw nothing yet, replays the whole bucket.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{push, AckPolicy, DeliverPolicy, ReplayPolicy},
};
use async_nats::StatusCode;
use futures::StreamExt;
use tokio::sync::{oneshot, watch};

use crate::record::ResponseRecord;
use crate::records::{decode, RecordStore};

type Registry = Mutex<HashMap<String, watch::Sender<Option<ResponseRecord>>>>;

/// Pending waiters and the task that feeds them.
#[derive(Debug)]
pub(crate) struct Waiters {
    registry: Arc<Registry>,
    task: tokio::task::JoinHandle<()>,
}

/// One caller waiting for one request id; unregisters on drop.
pub(crate) struct Waiter {
    registry: Arc<Registry>,
    request_id: String,
    rx: watch::Receiver<Option<ResponseRecord>>,
}

impl Waiter {
    /// The next record seen for this id (the latest one when several arrived).
    pub(crate) async fn changed(&mut self) -> Option<ResponseRecord> {
        match self.rx.changed().await {
            Ok(()) => self.rx.borrow_and_update().clone(),
            // The watcher task is gone (client dropped): nothing more will arrive.
            Err(_) => std::future::pending().await,
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut map = self.registry.lock().expect("waiters lock");
        if let Some(tx) = map.get(&self.request_id) {
            // This waiter's receiver is still alive here: it is the last one when 1.
            if tx.receiver_count() <= 1 {
                map.remove(&self.request_id);
            }
        }
    }
}

impl Waiters {
    /// Starts the watcher and returns once it is watching.
    pub(crate) async fn start(records: RecordStore) -> Result<Waiters, String> {
        let registry: Arc<Registry> = Arc::default();
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(watch_loop(records, registry.clone(), ready_tx));
        match ready_rx.await {
            Ok(Ok(())) => Ok(Waiters { registry, task }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the response watcher stopped while starting".into()),
        }
    }

    pub(crate) fn register(&self, request_id: &str) -> Waiter {
        let mut map = self.registry.lock().expect("waiters lock");
        let rx = match map.get(request_id) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(None);
                map.insert(request_id.to_string(), tx);
                rx
            }
        };
        Waiter {
            registry: self.registry.clone(),
            request_id: request_id.to_string(),
            rx,
        }
    }
}

impl Drop for Waiters {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn notify(registry: &Registry, record: ResponseRecord) {
    let map = registry.lock().expect("waiters lock");
    if let Some(tx) = map.get(&record.request_id) {
        // Never replace what a waiter has with an older, non-terminal state.
        tx.send_if_modified(|current| {
            let keep = matches!(current, Some(c) if c.status.is_terminal())
                && !record.status.is_terminal();
            if keep {
                false
            } else {
                *current = Some(record);
                true
            }
        });
    }
}

/// Idle heartbeat of the watcher's consumer; silence for three of them means the consumer
/// is gone (e.g. the server restarted) and is re-created.
const HEARTBEAT: Duration = Duration::from_millis(500);

/// Why a watch ended.
enum WatchEnd {
    /// Could not create the consumer.
    Create(String),
    /// The watch stopped delivering (silence, a gap, the subscription closed).
    Interrupted(String),
}

async fn watch_loop(
    records: RecordStore,
    registry: Arc<Registry>,
    ready: oneshot::Sender<Result<(), String>>,
) {
    let mut ready = Some(ready);
    let mut last_revision: Option<u64> = None;
    let mut failures: u32 = 0;
    loop {
        match watch(&records, &registry, &mut last_revision, &mut ready).await {
            WatchEnd::Create(e) => {
                if let Some(tx) = ready.take() {
                    let _ = tx.send(Err(format!("cannot watch the responses bucket: {e}")));
                    return;
                }
                failures += 1;
                tracing::debug!(error = %e, "response watcher: cannot re-create the watch; retrying");
            }
            WatchEnd::Interrupted(e) => {
                // It was running: try again right away, backing off only if that fails.
                failures = 0;
                tracing::debug!(error = %e, "response watcher interrupted; re-creating");
            }
        }
        tokio::time::sleep(retry_delay(failures)).await;
    }
}

/// One watch: an ephemeral, ordered push consumer on the bucket's subjects, starting
/// after the last revision seen (or with new writes). Returns when it must be re-created.
async fn watch(
    records: &RecordStore,
    registry: &Registry,
    last_revision: &mut Option<u64>,
    ready: &mut Option<oneshot::Sender<Result<(), String>>>,
) -> WatchEnd {
    let kv = records.kv();
    let js = records.context();
    let client = js.client();
    let inbox = client.new_inbox();
    let mut sub = match client.subscribe(inbox.clone()).await {
        Ok(s) => s,
        Err(e) => return WatchEnd::Create(e.to_string()),
    };
    let deliver_policy = match *last_revision {
        Some(rev) => DeliverPolicy::ByStartSequence {
            start_sequence: rev + 1,
        },
        None => DeliverPolicy::New,
    };
    let config = push::Config {
        deliver_subject: inbox,
        description: Some("jetwire response watcher".into()),
        filter_subject: format!("{}>", kv.prefix),
        deliver_policy,
        ack_policy: AckPolicy::None,
        replay_policy: ReplayPolicy::Instant,
        flow_control: true,
        idle_heartbeat: HEARTBEAT,
        memory_storage: true,
        num_replicas: 1,
        inactive_threshold: HEARTBEAT * 60,
        ..Default::default()
    };
    if let Err(e) = kv.stream.create_consumer(config).await {
        return WatchEnd::Create(e.to_string());
    }
    match ready.take() {
        Some(tx) => {
            let _ = tx.send(Ok(()));
        }
        // Re-created: read what pending waiters may have missed.
        None => refresh_pending(records, registry).await,
    }
    let mut expected_consumer_seq = 1;
    loop {
        let msg = match tokio::time::timeout(HEARTBEAT * 3, sub.next()).await {
            Ok(Some(m)) => m,
            Ok(None) => return WatchEnd::Interrupted("subscription closed".into()),
            Err(_) => return WatchEnd::Interrupted("no heartbeat from the server".into()),
        };
        if msg.status == Some(StatusCode::IDLE_HEARTBEAT) {
            // A flow-control request carries a reply subject; a stalled consumer names one.
            let stalled = msg
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Consumer-Stalled"))
                .map(|v| v.as_str().to_string());
            if let Some(reply) = msg.reply.clone().map(|r| r.to_string()).or(stalled) {
                let _ = client.publish(reply, bytes::Bytes::new()).await;
            }
            continue;
        }
        if msg.status.is_some() {
            continue;
        }
        let key = msg
            .subject
            .strip_prefix(kv.prefix.as_str())
            .unwrap_or_default()
            .to_string();
        let is_put = msg
            .headers
            .as_ref()
            .and_then(|h| h.get("KV-Operation"))
            .is_none();
        let message = jetstream::Message {
            message: msg,
            context: js.clone(),
        };
        let (stream_seq, consumer_seq) = match message.info() {
            Ok(info) => (info.stream_sequence, info.consumer_sequence),
            Err(e) => return WatchEnd::Interrupted(format!("message without metadata: {e}")),
        };
        if consumer_seq != expected_consumer_seq {
            return WatchEnd::Interrupted(format!(
                "gap in delivery (expected {expected_consumer_seq}, got {consumer_seq})"
            ));
        }
        expected_consumer_seq += 1;
        *last_revision = Some(stream_seq);
        if !is_put {
            continue;
        }
        match decode(&key, &message.payload) {
            Ok(record) => notify(registry, record),
            Err(e) => tracing::warn!(error = %e, "response watcher: skipping record"),
        }
    }
}

async fn refresh_pending(records: &RecordStore, registry: &Registry) {
    let ids: Vec<String> = registry
        .lock()
        .expect("waiters lock")
        .keys()
        .cloned()
        .collect();
    for id in ids {
        match records.get(&id).await {
            Ok(Some(record)) => notify(registry, record),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(request_id = %id, error = %e, "re-read after watcher restart failed")
            }
        }
    }
}

/// Backoff between re-creation attempts while the server is away.
fn retry_delay(failures: u32) -> Duration {
    Duration::from_millis((25u64 << failures.min(6)).min(1_000))
}
