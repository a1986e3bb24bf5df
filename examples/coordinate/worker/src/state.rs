//! The state of every coordinate system, in a KV bucket (key = system id), changed with
//! exactly-once effect.
//!
//! A command is applied by reading the system's state and revision, checking whether its
//! request id is already in the state's log of applied commands, and if not, writing the
//! changed state together with the request id with a compare-and-set on the revision
//! read. So:
//!
//! - a redelivered command (its worker crashed after the write but before the ack, or a
//!   second delivery raced the first) finds its request id and returns the stored result
//!   without changing anything;
//! - two writers never both succeed from the same revision; the loser reads again.
//!
//! Keyed partitions (all commands of one system run one at a time, in publish order)
//! make conflicts rare; the CAS makes them harmless.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;
use jetwire::async_nats;
use serde::{Deserialize, Serialize};

/// The KV bucket of the systems' state.
pub const STATE_BUCKET: &str = "COORD_STATE";

/// Read-modify-write rounds before giving up on a key that keeps changing.
const CAS_ATTEMPTS: usize = 32;

/// A point of a coordinate system.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// One command that changed a system, in the order applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub request_id: String,
    /// The command's name (the operation).
    pub command: String,
    /// The caller's per-system sequence number, when the command carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// What the command returned, given back unchanged to a redelivery.
    pub result: serde_json::Value,
}

/// Everything stored about one coordinate system.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemState {
    pub system_id: String,
    /// Points by id.
    pub points: BTreeMap<String, Position>,
    /// Moves applied so far.
    pub moves: u64,
    /// Every command applied, oldest first. (A long-lived service would keep only the
    /// last few: a redelivery can only be of the command in flight in its partition.)
    pub applied: Vec<Applied>,
}

impl SystemState {
    /// The stored result of a command already applied.
    pub fn applied(&self, request_id: &str) -> Option<&Applied> {
        self.applied
            .iter()
            .rev()
            .find(|a| a.request_id == request_id)
    }
}

/// What a command makes of a system's state.
#[derive(Debug)]
pub struct Change {
    /// The state after the command.
    pub state: SystemState,
    /// The command's reply.
    pub result: serde_json::Value,
    /// Its sequence number in the system, when it has one.
    pub sequence: Option<u64>,
}

/// What became of a command.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Applied now.
    Applied(serde_json::Value),
    /// Applied before (a redelivery); the stored result.
    AlreadyApplied(serde_json::Value),
}

impl Outcome {
    pub fn result(self) -> serde_json::Value {
        match self {
            Outcome::Applied(v) | Outcome::AlreadyApplied(v) => v,
        }
    }
}

/// Failure to apply a command.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError<E> {
    /// The command is not valid for the current state; nothing was written.
    #[error("{0}")]
    Rejected(E),
    #[error("state of system '{system_id}' does not decode: {message}")]
    Decode { system_id: String, message: String },
    /// The bucket could not be reached; the command may be retried.
    #[error("state bucket: {0}")]
    Store(String),
}

/// The systems' state bucket.
#[derive(Clone, Debug)]
pub struct StateStore {
    kv: kv::Store,
}

/// The stream behind the state bucket: one value per system, kept until deleted (the
/// runtime's KV stream settings; created directly, as creating a bucket through the
/// client library fails on nats-server 2.9).
pub fn state_stream_config(replicas: usize) -> stream::Config {
    jetwire::provision::kv_bucket_stream_config(
        STATE_BUCKET,
        1,
        Duration::ZERO,
        replicas.max(1),
        "coordinate systems' state".into(),
    )
}

/// The KV key of a system: its id when that is a plain name (letters, digits, `-`,
/// `_`), else `=` and the id's UTF-8 bytes in hex (`=` never starts a plain name, so
/// keys cannot collide).
pub fn state_key(system_id: &str) -> String {
    let plain = !system_id.is_empty()
        && system_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        system_id.to_string()
    } else {
        let hex: String = system_id.bytes().map(|b| format!("{b:02x}")).collect();
        format!("={hex}")
    }
}

impl StateStore {
    /// Creates the bucket when missing and opens it.
    pub async fn provision(js: &jetstream::Context, replicas: usize) -> anyhow::Result<StateStore> {
        js.get_or_create_stream(state_stream_config(replicas))
            .await
            .map_err(|e| anyhow::anyhow!("state bucket {STATE_BUCKET}: {e}"))?;
        Self::open(js).await
    }

    /// Opens the (provisioned) bucket.
    pub async fn open(js: &jetstream::Context) -> anyhow::Result<StateStore> {
        let kv = js
            .get_key_value(STATE_BUCKET)
            .await
            .map_err(|e| anyhow::anyhow!("state bucket {STATE_BUCKET}: {e}; provision first"))?;
        Ok(StateStore { kv })
    }

    /// The state of a system and its revision (`None`: never written).
    pub async fn get<E>(
        &self,
        system_id: &str,
    ) -> Result<Option<(SystemState, u64)>, ApplyError<E>> {
        let entry = self
            .kv
            .entry(state_key(system_id))
            .await
            .map_err(|e| ApplyError::Store(e.to_string()))?;
        match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                let state = serde_json::from_slice(&e.value).map_err(|err| ApplyError::Decode {
                    system_id: system_id.into(),
                    message: err.to_string(),
                })?;
                Ok(Some((state, e.revision)))
            }
            _ => Ok(None),
        }
    }

    /// Applies a command to the system's state once per `request_id`: see the module
    /// documentation. `change` gets the current state (`None`: no such system) and
    /// returns the new state, the command's result and its sequence number in the
    /// system (if it has one). It may run several times (once per CAS round), so it must
    /// only compute from what it is given.
    pub async fn apply<E>(
        &self,
        system_id: &str,
        request_id: &str,
        command: &str,
        change: impl Fn(Option<&SystemState>) -> Result<Change, E>,
    ) -> Result<Outcome, ApplyError<E>> {
        let key = state_key(system_id);
        for attempt in 0..CAS_ATTEMPTS {
            let current = self.get(system_id).await?;
            if let Some(done) = current.as_ref().and_then(|(s, _)| s.applied(request_id)) {
                return Ok(Outcome::AlreadyApplied(done.result.clone()));
            }
            let Change {
                mut state,
                result,
                sequence,
            } = change(current.as_ref().map(|(s, _)| s)).map_err(ApplyError::Rejected)?;
            state.applied.push(Applied {
                request_id: request_id.into(),
                command: command.into(),
                sequence,
                result: result.clone(),
            });
            let value = Bytes::from(serde_json::to_vec(&state).unwrap_or_default());
            let written = match current.map(|(_, revision)| revision) {
                Some(revision) => self.kv.update(&key, value, revision).await.map_err(|e| {
                    (
                        e.kind() == kv::UpdateErrorKind::WrongLastRevision,
                        e.to_string(),
                    )
                }),
                None => self.kv.create(&key, value).await.map_err(|e| {
                    (
                        e.kind() == kv::CreateErrorKind::AlreadyExists,
                        e.to_string(),
                    )
                }),
            };
            match written {
                Ok(_) => return Ok(Outcome::Applied(result)),
                // Someone wrote in between: read again (it may have been this command),
                // after a short pause that differs per attempt and request.
                Err((true, _)) => {
                    let jitter = request_id.bytes().fold(attempt as u64, |h, b| {
                        h.wrapping_mul(31).wrapping_add(u64::from(b))
                    });
                    let pause = Duration::from_micros(200 * (attempt as u64 + 1) + jitter % 500);
                    tokio::time::sleep(pause).await;
                }
                Err((false, e)) => return Err(ApplyError::Store(e)),
            }
        }
        Err(ApplyError::Store(format!(
            "state of system '{system_id}' kept changing; gave up after {CAS_ATTEMPTS} attempts"
        )))
    }
}
