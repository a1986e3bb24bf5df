//! Typed job handles and call options over the untyped [`crate::client::Client`], and
//! the conversion of untyped results and errors into an operation's types.

use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{Client, Request};
use crate::dispatch::TypedError;
use crate::error::{record_outcome, JobError};
use crate::record::JobFailure;

/// Per-call options of a generated client method.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// How long a waiting call waits; the operation's timeout when `None`.
    pub timeout: Option<Duration>,
    /// The request id to use instead of a fresh one. Submitting the same id again
    /// within the stream's duplicate window is accepted but runs the job only once,
    /// which makes retrying a submit safe.
    pub request_id: Option<String>,
    /// Extra NATS headers (name, value), sent after the typed headers.
    pub headers: Vec<(String, String)>,
}

impl CallOptions {
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A submitted job whose result is a `T` or a typed error `E`.
pub struct JobHandle<T, E> {
    client: Client,
    request_id: String,
    duplicate: bool,
    _result: PhantomData<fn() -> (T, E)>,
}

impl<T, E> std::fmt::Debug for JobHandle<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle")
            .field("request_id", &self.request_id)
            .field("duplicate", &self.duplicate)
            .finish()
    }
}

impl<T, E> Clone for JobHandle<T, E> {
    fn clone(&self) -> Self {
        JobHandle {
            client: self.client.clone(),
            request_id: self.request_id.clone(),
            duplicate: self.duplicate,
            _result: PhantomData,
        }
    }
}

impl<T: DeserializeOwned, E: TypedError> JobHandle<T, E> {
    /// A handle for a job submitted earlier (by this or another client).
    pub fn from_request_id(client: Client, request_id: impl Into<String>) -> Self {
        JobHandle {
            client,
            request_id: request_id.into(),
            duplicate: false,
            _result: PhantomData,
        }
    }

    /// The request id: the job's key in the responses bucket and its `Nats-Msg-Id`.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Whether the stream had already accepted this request id (a repeated submit
    /// within the duplicate window): the job runs once.
    pub fn is_duplicate(&self) -> bool {
        self.duplicate
    }

    /// Waits up to `timeout` for the result. On `JobError::TimedOut` the job goes on and
    /// this (or a new) handle can wait again.
    pub async fn wait(&self, timeout: Duration) -> Result<T, JobError<E>> {
        let result = self.client.wait_result(&self.request_id, timeout).await;
        typed_result(&self.request_id, result)
    }

    /// The result if the job has finished, `Ok(None)` while it is pending (or unknown).
    pub async fn get(&self) -> Result<Option<T>, JobError<E>> {
        let record = self
            .client
            .get(&self.request_id)
            .await
            .map_err(into_typed)?;
        match record.as_ref().and_then(record_outcome) {
            None => Ok(None),
            Some(result) => typed_result(&self.request_id, result).map(Some),
        }
    }
}

/// Submits a job and waits for its result (what generated waiting methods call after
/// validating and building the request).
pub async fn call<T: DeserializeOwned, E: TypedError>(
    client: &Client,
    request: Request,
    timeout: Duration,
) -> Result<T, JobError<E>> {
    let (request_id, result) = client
        .submit_and_wait(request, timeout)
        .await
        .map_err(into_typed)?;
    typed_result(&request_id, result)
}

/// Submits a job without waiting (recorded as `accepted`, so a later lookup can tell
/// "pending" from "unknown") and returns its typed handle.
pub async fn submit<T: DeserializeOwned, E: TypedError>(
    client: &Client,
    request: Request,
) -> Result<JobHandle<T, E>, JobError<E>> {
    let handle = client.submit_detached(request).await.map_err(into_typed)?;
    Ok(JobHandle {
        client: client.clone(),
        request_id: handle.request_id,
        duplicate: handle.duplicate,
        _result: PhantomData,
    })
}

/// Converts an untyped job error into one with the operation's typed error. A handler
/// failure whose code is not one of `E`'s stays [`JobError::Rejected`].
pub fn into_typed<E: TypedError>(err: JobError<JobFailure>) -> JobError<E> {
    err.map_failed(|request_id, error| {
        let details = error.details.clone().unwrap_or(Value::Null);
        match E::from_failure(&error.code, &details) {
            Some(typed) => JobError::Failed {
                request_id,
                error: typed,
            },
            None => JobError::Rejected {
                request_id,
                failure: error,
            },
        }
    })
}

/// Decodes a reply payload into `T`.
pub fn decode_result<T: DeserializeOwned, E>(
    request_id: &str,
    value: Value,
) -> Result<T, JobError<E>> {
    serde_json::from_value(value).map_err(|e| JobError::Decode {
        request_id: request_id.into(),
        message: format!("the result does not match the reply type: {e}"),
    })
}

/// An untyped result (from `Client::call`/`wait_result`) as the operation's types.
pub fn typed_result<T: DeserializeOwned, E: TypedError>(
    request_id: &str,
    result: Result<Value, JobError>,
) -> Result<T, JobError<E>> {
    match result {
        Ok(value) => decode_result(request_id, value),
        Err(e) => Err(into_typed(e)),
    }
}
