//! `_all` jobs from JSON, for the gateway and the client CLI: the payload is validated
//! and sent with the generated client's typed broadcast (`<operation>_all_with`: one copy
//! per live agent in the registry), and the per-agent results come back as JSON.
//!
//! The JSON form ([`AgentResults::to_json`]):
//!
//! ```json
//! {"request_id": "…",
//!  "agents": {"web-1": {"status": "succeeded", "result": {…}},
//!             "web-2": {"status": "failed", "error": {"kind": "handler", "code": "…", …}}},
//!  "missing": ["web-3"]}
//! ```
//!
//! `missing` names the agents that were sent a copy but did not answer within the wait;
//! their copies go on and are found later as `<request_id>.<agent>`.

// `JobError` is the runtime's agreed inline error type of every job call.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::time::Duration;

use jetwire::typed::{
    assign_request_id, decode_request, reply_json, untyped, Broadcast, CallOptions,
};
use jetwire::{JobError, TypedError, Violation};
use osapi_jobs::client::Client;
use osapi_jobs::service::SERVICE;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// What every agent answered to one `_all` job.
#[derive(Debug)]
pub struct AgentResults {
    pub request_id: String,
    /// By agent (host id): its reply as JSON, or why its copy failed.
    pub agents: BTreeMap<String, Result<Value, JobError>>,
    /// Agents sent a copy that did not answer in time.
    pub missing: Vec<String>,
}

impl AgentResults {
    /// The JSON form described in the module documentation.
    pub fn to_json(&self) -> Value {
        let agents: Map<String, Value> = self
            .agents
            .iter()
            .map(|(agent, result)| (agent.clone(), outcome_json(result)))
            .collect();
        json!({"request_id": self.request_id, "agents": agents, "missing": self.missing})
    }
}

/// One agent's outcome: `{"status": "succeeded", "result": …}`, or a status other than
/// `succeeded` with the `error` (the stored failure when there is one).
pub fn outcome_json(result: &Result<Value, JobError>) -> Value {
    match result {
        Ok(reply) => json!({"status": "succeeded", "result": reply}),
        Err(JobError::Failed { error, .. }) => json!({"status": "failed", "error": error}),
        Err(JobError::Rejected { failure, .. }) => json!({"status": "failed", "error": failure}),
        Err(e @ JobError::DeadLettered { .. }) => {
            json!({"status": "dead_lettered", "error": e.to_string()})
        }
        Err(e) => json!({"status": "error", "error": e.to_string()}),
    }
}

/// Sends `operation` with `payload` (JSON, validated first: nothing is published when it
/// is invalid) to every live agent and collects their results for up to `wait`.
pub async fn broadcast_json(
    client: &Client,
    operation: &str,
    mut payload: Value,
    wait: Duration,
) -> Result<AgentResults, JobError> {
    let Some(spec) = SERVICE.operation(operation) else {
        return Err(JobError::InvalidRequest(vec![Violation {
            path: String::new(),
            message: format!("no job operation '{operation}' in this service"),
        }]));
    };
    let mut options = CallOptions::default().timeout(wait);
    assign_request_id(&mut payload, spec, &mut options);
    match operation {
        "getSystemStatus" => {
            let p = decode_request(payload)?;
            untyped_results(client.get_system_status_all_with(&p, options).await)
        }
        "getDisk" => {
            let p = decode_request(payload)?;
            untyped_results(client.get_disk_all_with(&p, options).await)
        }
        "getDns" => {
            let p = decode_request(payload)?;
            untyped_results(client.get_dns_all_with(&p, options).await)
        }
        "getHostname" => {
            let p = decode_request(payload)?;
            untyped_results(client.get_hostname_all_with(&p, options).await)
        }
        "ping" => {
            let p = decode_request(payload)?;
            untyped_results(client.ping_all_with(&p, options).await)
        }
        "setDns" => {
            let p = decode_request(payload)?;
            untyped_results(client.set_dns_all_with(&p, options).await)
        }
        "setHostname" => {
            let p = decode_request(payload)?;
            untyped_results(client.set_hostname_all_with(&p, options).await)
        }
        other => Err(JobError::InvalidRequest(vec![Violation {
            path: String::new(),
            message: format!("'{other}' cannot be broadcast"),
        }])),
    }
}

fn untyped_results<T: Serialize, E: TypedError>(
    broadcast: Result<Broadcast<T, E>, JobError<E>>,
) -> Result<AgentResults, JobError> {
    let broadcast = broadcast.map_err(untyped)?;
    Ok(AgentResults {
        request_id: broadcast.request_id,
        agents: broadcast
            .results
            .into_iter()
            .map(|(agent, result)| (agent, result.map(|r| reply_json(&r)).map_err(untyped)))
            .collect(),
        missing: broadcast.missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetwire::{FailureKind, JobFailure};

    #[test]
    fn every_agent_is_an_object_with_its_status() {
        let failure = JobFailure {
            kind: FailureKind::Handler,
            code: "IoFailure".into(),
            message: "cannot read".into(),
            retryable: false,
            details: None,
            violations: vec![],
        };
        let results = AgentResults {
            request_id: "r".into(),
            agents: BTreeMap::from([
                ("a".to_string(), Ok(json!({"hostname": "a"}))),
                (
                    "b".to_string(),
                    Err(JobError::Rejected {
                        request_id: "r.b".into(),
                        failure,
                    }),
                ),
            ]),
            missing: vec!["c".into()],
        };
        let v = results.to_json();
        assert_eq!(
            v["agents"]["a"],
            json!({"status": "succeeded", "result": {"hostname": "a"}})
        );
        assert_eq!(v["agents"]["b"]["status"], "failed");
        assert_eq!(v["agents"]["b"]["error"]["code"], "IoFailure");
        assert_eq!(v["missing"], json!(["c"]));
    }
}
