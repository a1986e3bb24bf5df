//! The Coordinate Service's job handlers: each command is one exactly-once change of its
//! system's state ([`crate::state`]).

use std::collections::BTreeMap;
use std::time::Duration;

use coordinate_jobs::operations::{
    CreateSystemError, CreateSystemParams, GetPointError, GetPointParams, MovePointError,
    MovePointParams,
};
use coordinate_jobs::types::{
    CreateSystem, GetPoint, MovePoint, PointError, PointPosition, SystemCreated, SystemError,
};
use coordinate_jobs::worker::Handler;
use jetwire::{HandlerError, JobContext};
use serde::de::DeserializeOwned;

use crate::state::{ApplyError, Change, Position, StateStore, SystemState};

/// How long a command keeps trying while the state bucket is unreachable. Retrying is
/// safe: the request id in the state makes a second write of the same command a no-op.
const STORE_RETRY_FOR: Duration = Duration::from_secs(30);

/// The handler: the state bucket is all it keeps.
#[derive(Clone, Debug)]
pub struct Coordinates {
    store: StateStore,
}

impl Coordinates {
    pub fn new(store: StateStore) -> Coordinates {
        Coordinates { store }
    }

    /// Applies a command, retrying while the store is unreachable.
    async fn apply<E>(
        &self,
        system_id: &str,
        request_id: &str,
        command: &str,
        change: impl Fn(Option<&SystemState>) -> Result<Change, E>,
    ) -> Result<serde_json::Value, HandlerError<E>> {
        let deadline = tokio::time::Instant::now() + STORE_RETRY_FOR;
        let mut pause = Duration::from_millis(50);
        loop {
            match self
                .store
                .apply(system_id, request_id, command, &change)
                .await
            {
                Ok(outcome) => return Ok(outcome.result()),
                Err(ApplyError::Rejected(e)) => return Err(HandlerError::Failed(e)),
                Err(ApplyError::Store(e)) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "state bucket unavailable; retrying");
                }
                Err(e) => return Err(HandlerError::internal(describe(e))),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// The current state of a system, retrying while the store is unreachable.
    async fn read<E>(&self, system_id: &str) -> Result<Option<SystemState>, HandlerError<E>> {
        let deadline = tokio::time::Instant::now() + STORE_RETRY_FOR;
        let mut pause = Duration::from_millis(50);
        loop {
            match self.store.get::<E>(system_id).await {
                Ok(state) => return Ok(state.map(|(s, _)| s)),
                Err(ApplyError::Store(e)) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "state bucket unavailable; retrying");
                }
                Err(e) => return Err(HandlerError::internal(describe(e))),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// A store failure, for the job's internal error.
fn describe<E>(e: ApplyError<E>) -> String {
    match e {
        ApplyError::Rejected(_) => "rejected".into(),
        ApplyError::Decode { system_id, message } => {
            format!("state of system '{system_id}' does not decode: {message}")
        }
        ApplyError::Store(message) => format!("state bucket: {message}"),
    }
}

fn system_error(request_id: &str, code: &str, message: String, system_id: &str) -> SystemError {
    SystemError {
        request_id: request_id.into(),
        code: code.into(),
        message,
        system_id: system_id.to_string().into(),
    }
}

fn point_not_found(request_id: &str, system_id: &str, point_id: &str) -> PointError {
    PointError {
        request_id: request_id.into(),
        code: "PointNotFound".into(),
        message: format!("system '{system_id}' has no point '{point_id}'"),
        system_id: system_id.to_string().into(),
        point_id: point_id.to_string().into(),
    }
}

fn decode<T: DeserializeOwned, E>(value: serde_json::Value) -> Result<T, HandlerError<E>> {
    serde_json::from_value(value)
        .map_err(|e| HandlerError::internal(format!("stored result does not decode: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

impl Handler for Coordinates {
    async fn create_system(
        &self,
        ctx: &JobContext,
        _params: CreateSystemParams,
        payload: CreateSystem,
    ) -> Result<SystemCreated, HandlerError<CreateSystemError>> {
        let system_id = payload.system_id.as_str();
        let request_id = ctx.request_id.as_str();
        let result = self
            .apply(system_id, request_id, "createSystem", |current| {
                if current.is_some() {
                    return Err(CreateSystemError::SystemExists(system_error(
                        request_id,
                        "SystemExists",
                        format!("system '{system_id}' exists already"),
                        system_id,
                    )));
                }
                let mut points = BTreeMap::new();
                for p in &payload.points {
                    let at = Position { x: p.x, y: p.y };
                    if points.insert(p.id.to_string(), at).is_some() {
                        return Err(CreateSystemError::InvalidSystem(system_error(
                            request_id,
                            "InvalidSystem",
                            format!("point '{}' is given twice", p.id),
                            system_id,
                        )));
                    }
                }
                let reply = SystemCreated {
                    request_id: request_id.into(),
                    system_id: payload.system_id.clone(),
                    points: points.len() as i64,
                };
                Ok(Change {
                    state: SystemState {
                        system_id: system_id.into(),
                        points,
                        moves: 0,
                        applied: Vec::new(),
                    },
                    result: to_json(&reply),
                    sequence: None,
                })
            })
            .await?;
        decode(result)
    }

    async fn move_point(
        &self,
        ctx: &JobContext,
        _params: MovePointParams,
        payload: MovePoint,
    ) -> Result<PointPosition, HandlerError<MovePointError>> {
        let system_id = payload.system_id.as_str();
        let point_id = payload.point_id.as_str();
        let request_id = ctx.request_id.as_str();
        let result = self
            .apply(system_id, request_id, "movePoint", |current| {
                let Some(current) = current else {
                    return Err(MovePointError::SystemNotFound(system_error(
                        request_id,
                        "SystemNotFound",
                        format!("no system '{system_id}'"),
                        system_id,
                    )));
                };
                let mut state = current.clone();
                let Some(point) = state.points.get_mut(point_id) else {
                    return Err(MovePointError::PointNotFound(point_not_found(
                        request_id, system_id, point_id,
                    )));
                };
                point.x += payload.dx;
                point.y += payload.dy;
                let at = *point;
                state.moves += 1;
                let reply = PointPosition {
                    request_id: request_id.into(),
                    system_id: payload.system_id.clone(),
                    point_id: payload.point_id.clone(),
                    x: at.x,
                    y: at.y,
                    moves: state.moves as i64,
                };
                Ok(Change {
                    sequence: Some(state.moves),
                    state,
                    result: to_json(&reply),
                })
            })
            .await?;
        decode(result)
    }

    async fn get_point(
        &self,
        ctx: &JobContext,
        _params: GetPointParams,
        payload: GetPoint,
    ) -> Result<PointPosition, HandlerError<GetPointError>> {
        let system_id = payload.system_id.as_str();
        let point_id = payload.point_id.as_str();
        let request_id = ctx.request_id.as_str();
        let Some(state) = self.read(system_id).await? else {
            return Err(HandlerError::Failed(GetPointError::SystemNotFound(
                system_error(
                    request_id,
                    "SystemNotFound",
                    format!("no system '{system_id}'"),
                    system_id,
                ),
            )));
        };
        let Some(at) = state.points.get(point_id) else {
            return Err(HandlerError::Failed(GetPointError::PointNotFound(
                point_not_found(request_id, system_id, point_id),
            )));
        };
        Ok(PointPosition {
            request_id: request_id.into(),
            system_id: payload.system_id.clone(),
            point_id: payload.point_id.clone(),
            x: at.x,
            y: at.y,
            moves: state.moves as i64,
        })
    }
}
