//! Unit tests of the typed layer.

use std::time::Duration;

use serde_json::Value;

use super::outcome::final_failure;
use super::request::render_template;
use super::*;
use crate::dispatch::{HandlerError, Outcome, TypedError};
use crate::error::JobError;
use crate::record::{FailureKind, JobFailure};
use crate::spec::OperationSpec;
use crate::validate::{Validate, Violation};

#[derive(Debug, PartialEq)]
struct NotFound {
    name: String,
}

impl TypedError for NotFound {
    fn code(&self) -> &'static str {
        "NotFound"
    }
    fn message(&self) -> String {
        format!("{} not found", self.name)
    }
    fn details(&self) -> Value {
        serde_json::json!({ "name": self.name })
    }
    fn from_failure(code: &str, details: &Value) -> Option<Self> {
        (code == "NotFound").then(|| NotFound {
            name: details["name"].as_str().unwrap_or_default().into(),
        })
    }
}

fn failure(code: &str) -> JobFailure {
    JobFailure {
        kind: FailureKind::Handler,
        code: code.into(),
        message: "m".into(),
        retryable: false,
        details: Some(serde_json::json!({ "name": "x" })),
        violations: vec![],
    }
}

#[test]
fn known_codes_become_typed_errors() {
    let e: JobError<NotFound> = into_typed(JobError::Failed {
        request_id: "r".into(),
        error: failure("NotFound"),
    });
    match e {
        JobError::Failed { error, .. } => assert_eq!(error, NotFound { name: "x".into() }),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unknown_codes_stay_rejected() {
    let e: JobError<NotFound> = into_typed(JobError::Failed {
        request_id: "r".into(),
        error: failure("Other"),
    });
    assert!(matches!(e, JobError::Rejected { ref failure, .. } if failure.code == "Other"));
}

#[test]
fn results_decode_or_report_where() {
    let ok: Result<u32, JobError<NotFound>> = typed_result("r", Ok(serde_json::json!(7)));
    assert_eq!(ok.unwrap(), 7);
    let bad: Result<u32, JobError<NotFound>> = typed_result("r", Ok(serde_json::json!("seven")));
    assert!(matches!(bad, Err(JobError::Decode { .. })));
}

#[test]
fn subjects_render_and_match() {
    assert_eq!(
        render_template("jobs.query.dns.{target}", &["host1"]),
        "jobs.query.dns.host1"
    );
    assert_eq!(
        subject_values("jobs.{a}.x.{b}", "jobs.1.x.2"),
        Some(vec![("a".into(), "1".into()), ("b".into(), "2".into())])
    );
    assert_eq!(subject_values("jobs.{a}.x", "jobs.1.y"), None);
}

#[test]
fn parameters_must_be_single_tokens_matching_their_pattern() {
    assert!(check_subject_parameter("t", "host-1", None).is_none());
    for bad in ["", "a.b", "*", ">", "a b"] {
        let v = check_subject_parameter("t", bad, None).expect("rejected");
        assert_eq!(v.path, "{t}");
    }
    assert!(check_subject_parameter("t", "web1", Some("^[a-z0-9]+$")).is_none());
    assert!(check_subject_parameter("t", "Web_1", Some("^[a-z0-9]+$")).is_some());
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Host {
    name: String,
    ports: Vec<u16>,
}

impl Validate for Host {
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        if self.name.is_empty() {
            out.push(Violation {
                path: crate::validate::child_path(path, "name"),
                message: "must not be empty".into(),
            });
        }
    }
}

fn violations(outcome: Outcome) -> Vec<Violation> {
    match outcome {
        Outcome::Failed { failure, .. } => {
            assert_eq!(failure.kind, FailureKind::InvalidRequest);
            failure.violations
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn decoding_errors_name_the_json_pointer() {
    let err = decode_payload::<Host>(br#"{"name": "a", "ports": [80, "x"]}"#).unwrap_err();
    assert_eq!(violations(err)[0].path, "/ports/1");
    let err = decode_payload::<Host>(br#"{"name": "a", "ports": []} x"#).unwrap_err();
    assert_eq!(violations(err)[0].path, "");
    let err = decode_payload::<Host>(br#"{"name": "", "ports": []}"#).unwrap_err();
    assert_eq!(violations(err)[0].path, "/name");
    assert!(decode_payload::<Host>(br#"{"name": "a", "ports": [1]}"#).is_ok());
}

#[test]
fn answers_carry_the_request_id_at_their_correlation_pointer() {
    let mut ok = Outcome::Succeeded(serde_json::json!({ "request_id": "x", "n": 1 }));
    set_correlation_id(&mut ok, &["/request_id", "/absent"], "r-1");
    assert_eq!(
        ok,
        Outcome::Succeeded(serde_json::json!({ "request_id": "r-1", "n": 1 }))
    );
    let mut internal = final_failure(FailureKind::Internal, "internal", "m".into());
    let before = internal.clone();
    set_correlation_id(&mut internal, &["/request_id"], "r-1");
    assert_eq!(
        internal, before,
        "only replies and typed errors are touched"
    );
}

#[test]
fn json_requests_get_their_request_id() {
    let op = OperationSpec {
        id: "op",
        subject: "jobs.x",
        parameters: &[],
        class: crate::spec::JobClass::Query,
        request_id_pointer: Some("/request_id"),
        timeout: Duration::from_secs(1),
        retryable: true,
        has_reply: false,
        partitioning: None,
    };
    let mut payload = serde_json::json!({ "name": "x" });
    let mut options = CallOptions::default();
    assign_request_id(&mut payload, &op, &mut options);
    let id = options.request_id.clone().expect("an id was chosen");
    assert_eq!(payload["request_id"], id.as_str());

    let mut payload = serde_json::json!({ "request_id": "stale" });
    let mut options = CallOptions::default().request_id("mine");
    assign_request_id(&mut payload, &op, &mut options);
    assert_eq!(payload["request_id"], "mine");
}

#[test]
fn retries_follow_the_operation_policy() {
    let mut op = OperationSpec {
        id: "op",
        subject: "jobs.x",
        parameters: &[],
        class: crate::spec::JobClass::Query,
        request_id_pointer: None,
        timeout: Duration::from_secs(1),
        retryable: true,
        has_reply: false,
        partitioning: None,
    };
    let retry: Result<(), HandlerError<NotFound>> = Err(HandlerError::retry("busy"));
    match handler_outcome(retry, &op) {
        Outcome::Failed { retry_after, .. } => assert_eq!(retry_after, Some(Duration::ZERO)),
        other => panic!("unexpected {other:?}"),
    }
    op.retryable = false;
    let retry: Result<(), HandlerError<NotFound>> = Err(HandlerError::retry("busy"));
    match handler_outcome(retry, &op) {
        Outcome::Failed {
            retry_after,
            failure,
        } => {
            assert_eq!(retry_after, None);
            assert_eq!(failure.kind, FailureKind::Internal);
        }
        other => panic!("unexpected {other:?}"),
    }
    let typed: Result<(), HandlerError<NotFound>> =
        Err(HandlerError::Failed(NotFound { name: "n".into() }));
    match handler_outcome(typed, &op) {
        Outcome::Failed { failure, .. } => {
            assert_eq!(failure.kind, FailureKind::Handler);
            assert_eq!(failure.code, "NotFound");
            assert_eq!(failure.details, Some(serde_json::json!({ "name": "n" })));
        }
        other => panic!("unexpected {other:?}"),
    }
}
