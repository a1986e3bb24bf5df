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

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Query {
    name: String,
    request_id: String,
}

impl Validate for Query {
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        if self.name.is_empty() {
            out.push(Violation {
                path: crate::validate::child_path(path, "name"),
                message: "must not be empty".into(),
            });
        }
    }
}

#[derive(serde::Serialize)]
struct Trace {
    trace: String,
}

impl Validate for Trace {
    fn validate_at(&self, path: &str, out: &mut Vec<Violation>) {
        if self.trace.is_empty() {
            out.push(Violation {
                path: format!("{path}trace"),
                message: "must not be empty".into(),
            });
        }
    }
}

static KEYED: OperationSpec = OperationSpec {
    id: "keyed",
    subject: "jobs.{region}.{partition}.{target}",
    parameters: &["region", "partition", "target"],
    class: crate::spec::JobClass::Query,
    request_id_pointer: Some("/request_id"),
    timeout: Duration::from_secs(1),
    retryable: true,
    has_reply: true,
    partitioning: None,
};

#[test]
fn the_request_builder_fills_the_subject_and_puts_typed_headers_first() {
    let options = CallOptions::default().request_id("r1").header("x", "1");
    let payload = Query {
        name: "n".into(),
        request_id: String::new(),
    };
    let trace = Trace { trace: "t1".into() };
    let request = RequestBuilder::new(&KEYED, options)
        .listed("eu")
        .keyed()
        .param("target", "web1", Some("^[a-z0-9]+$"))
        .payload(&payload)
        .headers(&trace)
        .build::<NotFound>()
        .unwrap();
    assert_eq!(request.subject, "jobs.eu.{partition}.web1");
    assert_eq!(request.operation.id, "keyed");
    assert_eq!(
        request.headers,
        [("trace".into(), "t1".into()), ("x".into(), "1".into())]
    );
    assert_eq!(request.request_id.as_deref(), Some("r1"));
    assert_eq!(
        request.payload,
        serde_json::json!({ "name": "n", "request_id": "" })
    );
}

#[test]
fn the_request_builder_reports_every_violation_in_argument_order() {
    let payload = Query {
        name: String::new(),
        request_id: String::new(),
    };
    let trace = Trace {
        trace: String::new(),
    };
    let err = RequestBuilder::new(&KEYED, CallOptions::default())
        .param("region", "e.u", None)
        .keyed()
        .param("target", "Web_1", Some("^[a-z0-9]+$"))
        .payload(&payload)
        .headers(&trace)
        .build::<NotFound>()
        .unwrap_err();
    match err {
        JobError::InvalidRequest(v) => {
            let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
            assert_eq!(paths, ["{region}", "{target}", "/name", "headers:trace"]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn json_broadcasts_target_every_worker() {
    let given = [("region", "eu".to_string())];
    assert_eq!(
        broadcast_params(&given, "target").unwrap(),
        [("region", "eu".to_string()), ("target", "_all".to_string())]
    );
    let all = [("target", "_all".to_string())];
    assert_eq!(
        broadcast_params(&all, "target").unwrap(),
        [("target", "_all".to_string())]
    );
    let one = [("target", "web1".to_string())];
    match broadcast_params(&one, "target").unwrap_err() {
        JobError::InvalidRequest(v) => {
            assert_eq!(v[0].path, "{target}");
            assert!(v[0].message.contains("web1"), "{}", v[0].message);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn json_broadcast_results_carry_typed_errors_as_their_failure() {
    let typed: Broadcast<Host2, NotFound> = Broadcast {
        request_id: "r".into(),
        results: [
            ("a".to_string(), Ok(Host2 { name: "a".into() })),
            (
                "b".to_string(),
                Err(JobError::Failed {
                    request_id: "r.b".into(),
                    error: NotFound { name: "x".into() },
                }),
            ),
        ]
        .into(),
        missing: vec!["c".into()],
    };
    let json = untyped_broadcast(Ok(typed)).unwrap();
    assert_eq!(json.results["a"].as_ref().unwrap()["name"], "a");
    match &json.results["b"] {
        Err(JobError::Failed { request_id, error }) => {
            assert_eq!(request_id, "r.b");
            assert_eq!(error.code, "NotFound");
            assert_eq!(error.details, Some(serde_json::json!({ "name": "x" })));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(json.missing, ["c"]);
    let refused: Result<Broadcast<Host2, NotFound>, _> = Err(JobError::InvalidRequest(Vec::new()));
    assert!(matches!(
        untyped_broadcast(refused),
        Err(JobError::InvalidRequest(_))
    ));
}

#[derive(serde::Serialize)]
struct Host2 {
    name: String,
}

#[test]
fn subject_parameters_decode_or_become_an_invalid_request() {
    static OP: OperationSpec = OperationSpec {
        id: "op",
        subject: "jobs.x.{target}",
        parameters: &["target"],
        class: crate::spec::JobClass::Query,
        request_id_pointer: None,
        timeout: Duration::from_secs(1),
        retryable: false,
        has_reply: true,
        partitioning: None,
    };
    // What a generated `from_subject_values` does, for one free parameter.
    fn read(values: &[(&str, String)]) -> Result<String, Vec<Violation>> {
        let mut read = SubjectValues::new(values);
        let target = read.free("target", Some("^web-"));
        target.ok_or_else(|| read.into_violations())
    }
    let job = |parameters: Vec<(&'static str, String)>| crate::dispatch::Job {
        request_id: "r-1".into(),
        subject: "jobs.x.web-1".into(),
        operation: &OP,
        parameters,
        headers: Vec::new(),
        payload: bytes::Bytes::new(),
        context: crate::dispatch::JobContext::detached("r-1"),
    };
    let ok = decode_params(&job(vec![("target", "web-1".into())]), read);
    assert_eq!(ok.ok().as_deref(), Some("web-1"));
    let Err(outcome) = decode_params(&job(vec![("target", "db-1".into())]), read) else {
        panic!("db-1 does not match ^web-");
    };
    let v = violations(outcome);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "{target}");
    let Err(outcome) = decode_params(&job(Vec::new()), read) else {
        panic!("the parameter is missing");
    };
    assert_eq!(
        violations(outcome)[0].message,
        "is missing from the subject"
    );
}
