//! Broadcast (`_all`) jobs, typed: one copy of the job per live worker, one typed result
//! per worker that answered, and the workers that did not answer in time.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::client::{copy_id, BroadcastResults, Client, Request};
use crate::dispatch::TypedError;
use crate::error::JobError;
use crate::typed::{into_typed, typed_result};

/// The results of a broadcast (`_all`) job.
///
/// A broadcast reads the worker registry, publishes one copy of the job per live worker
/// (request id `<request_id>.<worker_id>`) and returns as soon as every one answered, or
/// at the timeout with the workers that did not answer in `missing`. A worker that
/// registers later gets no copy. The outer error of a generated `<op>_all` method is a
/// request that fails validation (nothing is published), no live worker, or a failure to
/// publish; each worker's own failure is in `results`.
#[derive(Debug)]
pub struct Broadcast<T, E> {
    /// The broadcast's request id; each worker's copy ran as `<request_id>.<worker_id>`.
    pub request_id: String,
    /// Per worker id, what that worker's copy of the job returned.
    pub results: BTreeMap<String, Result<T, JobError<E>>>,
    /// The workers that were sent a copy but did not answer in time (their copies go on;
    /// fetch them later by request id).
    pub missing: Vec<String>,
}

impl<T, E> Broadcast<T, E> {
    /// Whether every worker the job was sent to answered.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Sends one copy of the job to every live worker in the registry and collects their
/// results for up to `timeout`, returning as soon as all answered. `request.subject`
/// carries the target token `_all`. The outer error is a failure to publish (or no live
/// worker); per-worker failures are in [`Broadcast::results`].
pub async fn broadcast<T: DeserializeOwned, E: TypedError>(
    client: &Client,
    request: Request,
    timeout: Duration,
) -> Result<Broadcast<T, E>, JobError<E>> {
    let results = client
        .broadcast(request, timeout)
        .await
        .map_err(into_typed)?;
    Ok(typed(results))
}

/// The results of an earlier broadcast as they are now (no waiting); `None` when no
/// broadcast with this request id is known.
pub async fn broadcast_get<T: DeserializeOwned, E: TypedError>(
    client: &Client,
    request_id: &str,
) -> Result<Option<Broadcast<T, E>>, JobError<E>> {
    let results = client.broadcast_get(request_id).await.map_err(into_typed)?;
    Ok(results.map(typed))
}

fn typed<T: DeserializeOwned, E: TypedError>(untyped: BroadcastResults) -> Broadcast<T, E> {
    let request_id = untyped.request_id;
    let results = untyped
        .results
        .into_iter()
        .map(|(worker, result)| {
            let id = copy_id(&request_id, &worker);
            (worker, typed_result(&id, result))
        })
        .collect();
    Broadcast {
        request_id,
        results,
        missing: untyped.missing,
    }
}
