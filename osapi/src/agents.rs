//! Operator actions on agents through the registry (`OSAPI_AGENTS`): drain and resume,
//! confirmed by the agent itself.
//!
//! Setting the state is a compare-and-set on the agent's entry ([`jetwire::Registry`]).
//! The agent sees the change through its watch of the entry, applies it (a draining agent
//! stops its `_any` consumers; running jobs finish) and only then writes its entry with
//! the new state and a fresh heartbeat. That write is the confirmation waited for here, so
//! once [`set_state`] returns, `_any` jobs published afterwards are not pulled by a drained
//! agent any more.

use std::time::Duration;

use futures::StreamExt;
use jetwire::async_nats::jetstream::{self, kv};
use jetwire::{AgentEntry, AgentState, Registry};
use osapi_jobs::client::Client;
use osapi_jobs::service::SERVICE;

/// Sets agent `id`'s state and waits up to `wait` for the agent to confirm it; the entry
/// as the agent wrote it, or a one-line reason.
pub async fn set_state(
    client: &Client,
    registry: &Registry,
    id: &str,
    state: AgentState,
    wait: Duration,
) -> Result<AgentEntry, String> {
    let bucket = SERVICE.registry.bucket;
    let js = jetstream::new(client.nats().clone());
    let store = js
        .get_key_value(bucket)
        .await
        .map_err(|e| format!("registry bucket {bucket}: {e}"))?;
    // Watch before the change, so the agent's confirming write cannot slip past.
    let mut watch = store
        .watch(id)
        .await
        .map_err(|e| format!("cannot watch agent '{id}' in {bucket}: {e}"))?;
    let set = match state {
        AgentState::Draining => registry.drain(id).await,
        AgentState::Active => registry.resume(id).await,
    }
    .map_err(|e| e.to_string())?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = match tokio::time::timeout_at(deadline, watch.next()).await {
            Ok(next) => next,
            Err(_) => {
                return Err(format!(
                    "agent '{id}' is set to {state} but did not confirm it within {wait:?}; \
                     a live agent applies it at its next heartbeat"
                ))
            }
        };
        let entry = match next {
            Some(Ok(entry)) => entry,
            Some(Err(e)) => return Err(format!("watching agent '{id}' in {bucket}: {e}")),
            None => return Err(format!("the watch of agent '{id}' in {bucket} ended")),
        };
        if entry.operation != kv::Operation::Put {
            return Err(format!(
                "agent '{id}' left the registry before confirming {state}"
            ));
        }
        // The change itself, or a heartbeat from before the agent saw it: keep waiting.
        match serde_json::from_slice::<AgentEntry>(&entry.value) {
            Ok(seen) if seen.state == state && seen.heartbeat_at != set.heartbeat_at => {
                return Ok(seen)
            }
            _ => continue,
        }
    }
}
