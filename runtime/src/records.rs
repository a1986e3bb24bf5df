//! The responses KV bucket as a store of [`ResponseRecord`]s, with the write rules every
//! writer (client, worker, dead-letter component) follows:
//!
//! - records are created with KV *create* (only if absent) or replaced with a CAS update
//!   on the revision that was read, so concurrent writers never lose each other's writes;
//! - a terminal record is never overwritten (except by an explicit replay);
//! - a worker *claims* a job before running it by storing its `Running` record
//!   conditionally ([`RecordStore::claim`]), so of two concurrent deliveries of one job
//!   only one runs it.

use async_nats::jetstream::{self, kv};
use bytes::Bytes;

use crate::record::{JobStatus, ResponseRecord};

/// Attempts of a read-modify-write before giving up on a contended key.
const CAS_ATTEMPTS: usize = 16;

/// Failure to read or write a record.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("responses bucket '{bucket}' not found ({message}); provision the service first")]
    MissingBucket { bucket: String, message: String },
    #[error("invalid request id '{0}': a request id is a KV key (letters, digits, '-', '_', '=', '/', '.'; not starting or ending with '.')")]
    InvalidKey(String),
    #[error("record of '{key}' does not decode: {message}")]
    Decode { key: String, message: String },
    #[error("responses bucket: {0}")]
    Nats(String),
}

/// What a conditional write did.
#[derive(Debug)]
pub enum Written {
    Written {
        revision: u64,
    },
    /// A terminal record was already there and was kept.
    KeptTerminal(Box<ResponseRecord>),
    /// A record was already there (for create-only writes) and was kept.
    KeptExisting(Box<ResponseRecord>),
}

/// What a claim ([`RecordStore::claim`]) found.
#[derive(Debug)]
pub enum Claim {
    /// The `Running` record is stored at `revision`: this delivery holds the job.
    Claimed { revision: u64 },
    /// The job has a terminal record.
    Finished(Box<ResponseRecord>),
    /// Another delivery's `Running` record is stored at `revision` (its worker may be
    /// alive or dead; the caller decides).
    Held {
        holder: Box<ResponseRecord>,
        revision: u64,
    },
}

/// Records in the responses bucket.
#[derive(Clone, Debug)]
pub struct RecordStore {
    kv: kv::Store,
    js: jetstream::Context,
}

/// Whether `key` is usable as a request id (a valid KV key).
pub fn is_valid_request_id(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('.')
        && !key.ends_with('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-/_=.".contains(&b))
}

impl RecordStore {
    /// The store of an existing (provisioned) bucket.
    pub async fn open(js: &jetstream::Context, bucket: &str) -> Result<RecordStore, StoreError> {
        let kv = js
            .get_key_value(bucket)
            .await
            .map_err(|e| StoreError::MissingBucket {
                bucket: bucket.into(),
                message: e.to_string(),
            })?;
        Ok(RecordStore { kv, js: js.clone() })
    }

    pub fn kv(&self) -> &kv::Store {
        &self.kv
    }

    /// The JetStream context the store was opened with.
    pub fn context(&self) -> &jetstream::Context {
        &self.js
    }

    fn check_key(key: &str) -> Result<(), StoreError> {
        if is_valid_request_id(key) {
            Ok(())
        } else {
            Err(StoreError::InvalidKey(key.into()))
        }
    }

    /// The current record and its revision.
    pub async fn get_with_revision(
        &self,
        request_id: &str,
    ) -> Result<Option<(ResponseRecord, u64)>, StoreError> {
        Self::check_key(request_id)?;
        let entry = self
            .kv
            .entry(request_id)
            .await
            .map_err(|e| StoreError::Nats(e.to_string()))?;
        match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                Ok(Some((decode(request_id, &e.value)?, e.revision)))
            }
            _ => Ok(None),
        }
    }

    /// The current record.
    pub async fn get(&self, request_id: &str) -> Result<Option<ResponseRecord>, StoreError> {
        Ok(self.get_with_revision(request_id).await?.map(|(r, _)| r))
    }

    /// Writes `record` only if there is none yet.
    pub async fn create(&self, record: &ResponseRecord) -> Result<Written, StoreError> {
        Self::check_key(&record.request_id)?;
        match self.kv.create(&record.request_id, encode(record)).await {
            Ok(revision) => Ok(Written::Written { revision }),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                match self.get(&record.request_id).await? {
                    Some(existing) => Ok(Written::KeptExisting(Box::new(existing))),
                    // Deleted in between: the caller may simply try again.
                    None => Err(StoreError::Nats("record vanished during create".into())),
                }
            }
            Err(e) => Err(StoreError::Nats(e.to_string())),
        }
    }

    /// Writes `record` unless a terminal record is stored: create when absent, else CAS
    /// update on the revision read.
    pub async fn write_unless_terminal(
        &self,
        record: &ResponseRecord,
    ) -> Result<Written, StoreError> {
        Self::check_key(&record.request_id)?;
        let value = encode(record);
        for _ in 0..CAS_ATTEMPTS {
            match self.get_with_revision(&record.request_id).await? {
                Some((existing, _)) if existing.status.is_terminal() => {
                    return Ok(Written::KeptTerminal(Box::new(existing)))
                }
                Some((existing, revision)) => {
                    // The time the job was accepted is kept, whoever writes after it.
                    let value = match (&record.accepted_at, existing.accepted_at) {
                        (None, Some(accepted_at)) => encode(&ResponseRecord {
                            accepted_at: Some(accepted_at),
                            ..record.clone()
                        }),
                        _ => value.clone(),
                    };
                    match self.kv.update(&record.request_id, value, revision).await {
                        Ok(revision) => return Ok(Written::Written { revision }),
                        Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                        Err(e) => return Err(StoreError::Nats(e.to_string())),
                    }
                }
                None => match self.kv.create(&record.request_id, value.clone()).await {
                    Ok(revision) => return Ok(Written::Written { revision }),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(StoreError::Nats(e.to_string())),
                },
            }
        }
        Err(StoreError::Nats(format!(
            "record of '{}' kept changing; gave up after {CAS_ATTEMPTS} attempts",
            record.request_id
        )))
    }

    /// Like [`write_unless_terminal`](Self::write_unless_terminal), but first writes
    /// against a state read earlier without reading again: `known` is `None` when there
    /// was no record, `Some(revision)` for a non-terminal record at that revision. The
    /// write is conditional (create-if-absent, or CAS on the revision), so if the record
    /// changed since, it fails and the read-then-write path decides.
    pub async fn write_unless_terminal_after(
        &self,
        record: &ResponseRecord,
        known: Option<u64>,
    ) -> Result<Written, StoreError> {
        Self::check_key(&record.request_id)?;
        let value = encode(record);
        let conflict = match known {
            Some(revision) => match self.kv.update(&record.request_id, value, revision).await {
                Ok(revision) => return Ok(Written::Written { revision }),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => e.to_string(),
                Err(e) => return Err(StoreError::Nats(e.to_string())),
            },
            None => match self.kv.create(&record.request_id, value).await {
                Ok(revision) => return Ok(Written::Written { revision }),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => e.to_string(),
                Err(e) => return Err(StoreError::Nats(e.to_string())),
            },
        };
        tracing::debug!(reason = %conflict, "record changed since it was read; re-reading");
        self.write_unless_terminal(record).await
    }

    /// Claims a job for the delivery described by `record` (a `Running` record): stores it
    /// if there is no record (create-if-absent) or an `Accepted` one (CAS on its revision,
    /// keeping its `accepted_at` in `record`). A terminal record or another delivery's
    /// `Running` record is reported, not replaced. A stored record equal to `record` is
    /// this very claim (a write whose answer was lost and that was retried).
    pub async fn claim(&self, record: &mut ResponseRecord) -> Result<Claim, StoreError> {
        Self::check_key(&record.request_id)?;
        let mut current = None;
        for _ in 0..CAS_ATTEMPTS {
            let written = match current.take() {
                None => match self.kv.create(&record.request_id, encode(record)).await {
                    Ok(revision) => return Ok(Claim::Claimed { revision }),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => None,
                    Err(e) => return Err(StoreError::Nats(e.to_string())),
                },
                Some(revision) => match self
                    .kv
                    .update(&record.request_id, encode(record), revision)
                    .await
                {
                    Ok(revision) => Some(revision),
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => None,
                    Err(e) => return Err(StoreError::Nats(e.to_string())),
                },
            };
            if let Some(revision) = written {
                return Ok(Claim::Claimed { revision });
            }
            match self.get_with_revision(&record.request_id).await? {
                // Deleted in between: create again.
                None => {}
                Some((existing, _)) if existing.status.is_terminal() => {
                    return Ok(Claim::Finished(Box::new(existing)))
                }
                Some((existing, revision)) if existing == *record => {
                    return Ok(Claim::Claimed { revision })
                }
                Some((existing, revision)) if existing.status == JobStatus::Running => {
                    return Ok(Claim::Held {
                        holder: Box::new(existing),
                        revision,
                    })
                }
                Some((existing, revision)) => {
                    record.accepted_at = existing.accepted_at;
                    current = Some(revision);
                }
            }
        }
        Err(StoreError::Nats(format!(
            "record of '{}' kept changing while claiming it; gave up after {CAS_ATTEMPTS} attempts",
            record.request_id
        )))
    }

    /// Replaces the record stored at `revision` with `record` (CAS): taking over a claim
    /// whose holder stopped renewing it, renewing or releasing one's own claim.
    /// `Ok(None)` when the record changed since `revision` (nothing was written).
    pub async fn replace_at(
        &self,
        record: &ResponseRecord,
        revision: u64,
    ) -> Result<Option<u64>, StoreError> {
        Self::check_key(&record.request_id)?;
        match self
            .kv
            .update(&record.request_id, encode(record), revision)
            .await
        {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(StoreError::Nats(e.to_string())),
        }
    }

    /// Overwrites unconditionally (replay resets a dead-lettered record).
    pub async fn put(&self, record: &ResponseRecord) -> Result<u64, StoreError> {
        Self::check_key(&record.request_id)?;
        self.kv
            .put(&record.request_id, encode(record))
            .await
            .map_err(|e| StoreError::Nats(e.to_string()))
    }
}

pub(crate) fn encode(record: &ResponseRecord) -> Bytes {
    Bytes::from(serde_json::to_vec(record).expect("a record always serializes"))
}

pub(crate) fn decode(key: &str, value: &[u8]) -> Result<ResponseRecord, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Decode {
        key: key.into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_must_be_kv_keys() {
        assert!(is_valid_request_id("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));
        assert!(is_valid_request_id("host/a.b_c=d"));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id(".x"));
        assert!(!is_valid_request_id("x."));
        assert!(!is_valid_request_id("a b"));
        assert!(!is_valid_request_id("a*b"));
    }
}
