//! The HTTP gateway: each route publishes one job through the generated client.
//!
//! | Route | Job |
//! |---|---|
//! | `GET /api/v1/system` | `getSystemStatus` |
//! | `GET /api/v1/disk[?mount=M]` | `getDisk` |
//! | `GET /api/v1/dns` | `getDns` |
//! | `GET /api/v1/hostname` | `getHostname` |
//! | `GET /api/v1/ping?address=A[&count=N][&timeout_seconds=S]` | `ping` |
//! | `PUT` or `POST /api/v1/dns` (body `{"nameservers": [...], "search_domains": [...]}`) | `setDns` |
//! | `PUT` or `POST /api/v1/hostname` (body `{"hostname": "..."}`) | `setHostname` |
//!
//! Every job route takes `?target=` (`_any` by default, `_all` or a host id) and
//! `?wait=` (`0`, `500ms`, `2s`; default 5 s, at most 30 s). Answers:
//!
//! - `200`: the job finished within the wait; the body is its reply. With
//!   `?target=_all` the job runs on every live agent and the answer is always `200`:
//!   `{"request_id", "agents": {"<host id>": {"status", "result" | "error"}}, "missing":
//!   [..]}`, `missing` naming the agents that did not answer within the wait (see
//!   [`crate::broadcast`]);
//! - `202`: still pending; `{request_id, status, location}` and a `Location` header
//!   naming `/api/v1/jobs/{id}`;
//! - `400`: invalid input (`{"error", "violations": [{"path", "message"}]}`, `path` being
//!   the JSON pointer of the field); nothing was published;
//! - `404`: the target names no live agent (`{"error"}`); nothing was published;
//! - `422`: the job failed with a typed error of the contract (`{"request_id", "error"}`);
//! - `500`: the job failed outside the contract (e.g. refused by the agent);
//! - `502`: the job was dead-lettered after its delivery attempts (`{"request_id",
//!   "error", "failure"}`, `failure` being the stored record's failure);
//! - `503`: NATS is unreachable, or (`_all`) no agent is live.
//!
//! `GET /api/v1/jobs/{id}` returns the stored record (`404` for an unknown id),
//! `GET /api/v1/jobs/{id}/events` streams its record as server-sent `status` events until
//! it is terminal, `GET /api/v1/agents` lists the live agents of the registry (host id,
//! host name, pid, version, state, start and last heartbeat), `GET /healthz` says the
//! process is up and `GET /readyz` whether NATS is
//! connected and the service provisioned. `GET /api/v1/openapi.json` is the OpenAPI 3.1
//! description of all of this.

// Helpers return the early `Response` of a route as their error, as axum handlers do;
// boxing it would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use jetwire::record::{FailureKind, JobStatus, ResponseRecord};
use jetwire::typed::CallOptions;
use jetwire::{JobError, Violation};
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use crate::broadcast::AgentResults;
use crate::openapi;

/// How long a job route waits for the result unless `?wait=` says otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// The longest `?wait=` honoured.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// What the routes share: the job client once NATS is reachable.
#[derive(Clone)]
pub struct Gateway {
    client: watch::Receiver<Option<osapi_jobs::client::Client>>,
}

impl Gateway {
    /// A gateway whose client appears in `client` once connected (routes answer `503`
    /// until then).
    pub fn new(client: watch::Receiver<Option<osapi_jobs::client::Client>>) -> Self {
        Gateway { client }
    }

    fn client(&self) -> Result<osapi_jobs::client::Client, Response> {
        let client = self.client.borrow().clone();
        match client {
            Some(c)
                if c.nats().connection_state()
                    == jetwire::async_nats::connection::State::Connected =>
            {
                Ok(c)
            }
            _ => Err(unavailable("not connected to NATS")),
        }
    }
}

/// The router of the whole HTTP surface.
pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .route("/api/v1/system", get(get_system))
        .route("/api/v1/disk", get(get_disk))
        .route("/api/v1/dns", get(get_dns).put(set_dns).post(set_dns))
        .route(
            "/api/v1/hostname",
            get(get_hostname).put(set_hostname).post(set_hostname),
        )
        .route("/api/v1/ping", get(ping))
        .route("/api/v1/jobs/{id}", get(get_job))
        .route("/api/v1/jobs/{id}/events", get(job_events))
        .route("/api/v1/agents", get(list_agents))
        .with_state(Arc::new(gateway))
}

type Params = Query<BTreeMap<String, String>>;
type AppState = State<Arc<Gateway>>;

async fn readyz(State(gw): AppState) -> Response {
    let client = match gw.client() {
        Ok(c) => c,
        Err(r) => return r,
    };
    let js = jetwire::async_nats::jetstream::new(client.nats().clone());
    match js
        .get_stream(osapi_jobs::service::SERVICE.stream.name)
        .await
    {
        Ok(_) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => unavailable(&format!("the OSAPI service is not provisioned: {e}")),
    }
}

async fn get_system(gw: AppState, Query(q): Params) -> Response {
    query_job(gw, "getSystemStatus", q, &[]).await
}

async fn get_disk(gw: AppState, Query(q): Params) -> Response {
    query_job(gw, "getDisk", q, &[("mount", "mount_point", Kind::Text)]).await
}

async fn get_dns(gw: AppState, Query(q): Params) -> Response {
    query_job(gw, "getDns", q, &[]).await
}

async fn get_hostname(gw: AppState, Query(q): Params) -> Response {
    query_job(gw, "getHostname", q, &[]).await
}

async fn ping(gw: AppState, Query(q): Params) -> Response {
    let fields = [
        ("address", "address", Kind::Text),
        ("count", "count", Kind::Integer),
        ("timeout_seconds", "timeout_seconds", Kind::Integer),
        ("method", "method", Kind::Text),
        ("tcp_port", "tcp_port", Kind::Integer),
    ];
    query_job(gw, "ping", q, &fields).await
}

async fn set_dns(gw: AppState, Query(q): Params, body: Bytes) -> Response {
    modify_job(gw, "setDns", q, body).await
}

async fn set_hostname(gw: AppState, Query(q): Params, body: Bytes) -> Response {
    modify_job(gw, "setHostname", q, body).await
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
}

/// A query job: its payload fields come from the query string (`(query name, payload
/// field, kind)`).
async fn query_job(
    State(gw): AppState,
    operation: &str,
    mut query: BTreeMap<String, String>,
    fields: &[(&str, &str, Kind)],
) -> Response {
    let (target, wait) = match job_options(&mut query) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut payload = Map::new();
    let mut violations = Vec::new();
    for (name, value) in query {
        match fields.iter().find(|(n, _, _)| *n == name) {
            Some((_, field, Kind::Text)) => {
                payload.insert((*field).into(), Value::String(value));
            }
            Some((_, field, Kind::Integer)) => match value.parse::<i64>() {
                Ok(n) => {
                    payload.insert((*field).into(), Value::from(n));
                }
                Err(_) => violations.push(violation(
                    &format!("/{field}"),
                    format!("must be an integer (is '{value}')"),
                )),
            },
            None => violations.push(violation(
                &format!("?{name}"),
                "is not a parameter of this route".into(),
            )),
        }
    }
    if !violations.is_empty() {
        return invalid(violations);
    }
    run_job(&gw, operation, target, Value::Object(payload), wait).await
}

/// A modify job: its payload is the JSON body.
async fn modify_job(
    State(gw): AppState,
    operation: &str,
    mut query: BTreeMap<String, String>,
    body: Bytes,
) -> Response {
    let (target, wait) = match job_options(&mut query) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(name) = query.keys().next() {
        return invalid(vec![violation(
            &format!("?{name}"),
            "is not a parameter of this route".into(),
        )]);
    }
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => {
            return invalid(vec![violation(
                "",
                format!("the body must be a JSON object, not {other}"),
            )])
        }
        Err(e) => {
            return invalid(vec![violation(
                "",
                format!("the body is not valid JSON: {e}"),
            )])
        }
    };
    run_job(&gw, operation, target, payload, wait).await
}

/// Takes `target` and `wait` out of the query string.
fn job_options(query: &mut BTreeMap<String, String>) -> Result<(String, Duration), Response> {
    let target = query.remove("target").unwrap_or_else(|| "_any".into());
    let wait = match query.remove("wait") {
        None => DEFAULT_WAIT,
        Some(text) => match parse_duration(&text) {
            Some(d) => d.min(MAX_WAIT),
            None => {
                return Err(invalid(vec![violation(
                    "?wait",
                    format!("must be a duration such as 0, 500ms or 2s (is '{text}')"),
                )]))
            }
        },
    };
    Ok((target, wait))
}

/// `0`, `250ms`, `2s`, `1m` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

async fn run_job(
    gw: &Gateway,
    operation: &str,
    target: String,
    payload: Value,
    wait: Duration,
) -> Response {
    let client = match gw.client() {
        Ok(c) => c,
        Err(r) => return r,
    };
    if target == jetwire::targets::ALL {
        let options = CallOptions::default().timeout(wait);
        return match client
            .broadcast_json(operation, &[], payload, options)
            .await
        {
            Ok(results) => Json(AgentResults::from(results).to_json()).into_response(),
            Err(e) => job_error(e),
        };
    }
    let params = [("target", target)];
    // The generated client submits through the runtime's detached submit, which leaves
    // an `accepted` record (unless the worker was quicker): the job is found by id at once.
    let request_id = match client
        .submit_json(operation, &params, payload, Default::default())
        .await
    {
        Ok(id) => id,
        Err(e) => return job_error(e),
    };
    if wait.is_zero() {
        return pending(&request_id);
    }
    match client.runtime().wait(&request_id, wait).await {
        Ok(record) => record_response(&record),
        Err(JobError::TimedOut { .. }) => pending(&request_id),
        Err(e) => job_error(e),
    }
}

fn pending(request_id: &str) -> Response {
    let location = format!("/api/v1/jobs/{request_id}");
    let mut response = (
        StatusCode::ACCEPTED,
        Json(json!({"request_id": request_id, "status": "pending", "location": location})),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A terminal record as the route's answer.
fn record_response(record: &ResponseRecord) -> Response {
    let id = &record.request_id;
    match (record.status, &record.error) {
        (JobStatus::Succeeded, _) => {
            Json(record.result.clone().unwrap_or(Value::Null)).into_response()
        }
        (JobStatus::DeadLettered, failure) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({
                "request_id": id,
                "error": format!("the job was dead-lettered after {} delivery attempts; replay it with `osapi client dlq replay {id}`", record.attempt),
                "failure": failure,
            })),
        )
            .into_response(),
        (JobStatus::Failed, Some(failure)) => {
            let status = match failure.kind {
                FailureKind::Handler => StatusCode::UNPROCESSABLE_ENTITY,
                FailureKind::InvalidRequest => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, Json(json!({"request_id": id, "error": failure}))).into_response()
        }
        (JobStatus::Failed, None) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"request_id": id, "error": "the job failed without an error"})),
        )
            .into_response(),
        (JobStatus::Accepted | JobStatus::Running, _) => pending(id),
    }
}

fn job_error(e: JobError) -> Response {
    match e {
        JobError::InvalidRequest(violations) => invalid(violations),
        JobError::ServerUnavailable(m) | JobError::Nats(m) => unavailable(&m),
        JobError::StreamFull { .. } => unavailable(&e.to_string()),
        JobError::NoSuchAgent { .. } => {
            (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response()
        }
        JobError::NoLiveWorkers { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
        other => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": other.to_string()})),
        )
            .into_response(),
    }
}

fn violation(path: &str, message: String) -> Violation {
    Violation {
        path: path.into(),
        message,
    }
}

fn invalid(violations: Vec<Violation>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid request; nothing was published", "violations": violations})),
    )
        .into_response()
}

fn unavailable(message: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": format!("NATS unavailable: {message}")})),
    )
        .into_response()
}

fn not_found(id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": format!("no job with request id '{id}'")})),
    )
        .into_response()
}

async fn list_agents(State(gw): AppState) -> Response {
    let client = match gw.client() {
        Ok(c) => c,
        Err(r) => return r,
    };
    let registry = match client.runtime().registry().await {
        Ok(r) => r,
        Err(e) => return job_error(e),
    };
    match registry.list().await {
        Ok(agents) => Json(agents).into_response(),
        Err(e) => unavailable(&e.to_string()),
    }
}

async fn get_job(State(gw): AppState, Path(id): Path<String>) -> Response {
    let client = match gw.client() {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !jetwire::records::is_valid_request_id(&id) {
        return not_found(&id);
    }
    match client.runtime().get(&id).await {
        Ok(Some(record)) => Json(record).into_response(),
        Ok(None) => not_found(&id),
        Err(e) => job_error(e),
    }
}

async fn job_events(State(gw): AppState, Path(id): Path<String>) -> Response {
    let client = match gw.client() {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !jetwire::records::is_valid_request_id(&id) {
        return not_found(&id);
    }
    match client.runtime().get(&id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(&id),
        Err(e) => return job_error(e),
    }
    let watch = match client
        .runtime()
        .records()
        .kv()
        .watch_with_history(&id)
        .await
    {
        Ok(w) => w,
        Err(e) => return unavailable(&e.to_string()),
    };
    // One event per change of the job's state (status, attempt, worker): a running job's
    // claim is renewed by rewriting its record, which is not news to a follower. The
    // stream ends after a terminal record (without waiting for another update).
    let events = futures::stream::unfold(Some((watch, None)), |state| async move {
        let (mut watch, mut last) = state?;
        loop {
            let entry = watch.next().await?.ok()?;
            let Ok(record) = serde_json::from_slice::<ResponseRecord>(&entry.value) else {
                continue;
            };
            let seen = (record.status, record.attempt, record.worker_id.clone());
            if last.as_ref() == Some(&seen) {
                continue;
            }
            last = Some(seen);
            let next = (!record.status.is_terminal()).then_some((watch, last));
            let event = Event::default()
                .event("status")
                .json_data(&record)
                .unwrap_or_default();
            return Some((Ok::<_, Infallible>(event), next));
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2h"), None);
        assert_eq!(parse_duration("soon"), None);
    }
}
