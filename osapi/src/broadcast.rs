//! `_all` jobs from JSON, for the gateway and the client CLI: the generated client's
//! `broadcast_json` validates the payload and sends one copy per live agent in the
//! registry; [`AgentResults`] is what every agent answered, and its JSON form.
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

use std::collections::BTreeMap;

use jetwire::typed::Broadcast;
use jetwire::{JobError, JobFailure};
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

impl From<Broadcast<Value, JobFailure>> for AgentResults {
    fn from(broadcast: Broadcast<Value, JobFailure>) -> Self {
        AgentResults {
            request_id: broadcast.request_id,
            agents: broadcast.results,
            missing: broadcast.missing,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use jetwire::FailureKind;

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
