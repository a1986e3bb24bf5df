//! The wire-protocol chapter of the generated docs documents every field of the
//! response record and every status and failure kind the runtime writes.

use jetwire::{FailureKind, JobFailure, JobStatus, ResponseRecord, Violation};
use serde_json::Value;

fn chapter() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../templates/protocol.md.j2"
    ))
    .unwrap()
}

fn keys(value: &Value) -> Vec<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn every_record_field_is_documented() {
    let now = chrono_now();
    let record = ResponseRecord {
        request_id: "r".into(),
        operation: "op".into(),
        subject: "jobs.x".into(),
        status: JobStatus::Failed,
        attempt: 1,
        worker_id: Some("w".into()),
        result: Some(Value::Null),
        error: Some(JobFailure {
            kind: FailureKind::Handler,
            code: "c".into(),
            message: "m".into(),
            retryable: false,
            details: Some(Value::Null),
            violations: vec![Violation {
                path: "/x".into(),
                message: "m".into(),
            }],
        }),
        accepted_at: Some(now),
        started_at: Some(now),
        finished_at: Some(now),
    };
    let json = serde_json::to_value(&record).unwrap();
    let chapter = chapter();
    for key in keys(&json).into_iter().chain(keys(&json["error"])) {
        assert!(
            chapter.contains(&format!("`{key}`")),
            "record field `{key}` is not documented"
        );
    }
}

#[test]
fn every_status_and_failure_kind_is_documented() {
    let chapter = chapter();
    for status in [
        JobStatus::Accepted,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::DeadLettered,
    ] {
        let name = serde_json::to_value(status).unwrap();
        let name = name.as_str().unwrap();
        assert!(
            chapter.contains(&format!("`{name}`")),
            "status `{name}` is not documented"
        );
    }
    for kind in [
        FailureKind::Handler,
        FailureKind::InvalidRequest,
        FailureKind::UnknownOperation,
        FailureKind::DeadLettered,
        FailureKind::Internal,
    ] {
        let name = serde_json::to_value(kind).unwrap();
        let name = name.as_str().unwrap();
        assert!(
            chapter.contains(&format!("`{name}`")),
            "failure kind `{name}` is not documented"
        );
    }
}

fn chrono_now() -> jetwire::__private::chrono::DateTime<jetwire::__private::chrono::Utc> {
    jetwire::__private::chrono::Utc::now()
}

/// A new status or failure kind stops this from compiling: add it to the lists above.
#[allow(dead_code)]
fn lists_above_are_exhaustive(status: JobStatus, kind: FailureKind) {
    match status {
        JobStatus::Accepted
        | JobStatus::Running
        | JobStatus::Succeeded
        | JobStatus::Failed
        | JobStatus::DeadLettered => {}
    }
    match kind {
        FailureKind::Handler
        | FailureKind::InvalidRequest
        | FailureKind::UnknownOperation
        | FailureKind::DeadLettered
        | FailureKind::Internal => {}
    }
}
