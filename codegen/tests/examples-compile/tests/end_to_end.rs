//! The generated client and dispatcher of the `jobs` fixture against a real nats-server:
//! typed replies, typed errors, requests rejected before publishing, payloads rejected
//! by the worker, detached submits, several request messages and typed events.

use std::time::Duration;

use jetwire::testing::NatsServer;
use jetwire::typed::CallOptions;
use jetwire::{FailureKind, HandlerError, JobContext, JobError};
use jetwire_examples_compile::fixture_jobs::{
    client::Client,
    operations::{
        GetStatusParams, GetStatusTarget, HostChangedParams, LookupParams, LookupPayload,
        RestartServiceParams, SetHostnameError, SetHostnameParams,
    },
    service::SERVICE,
    types::{
        HostChanged, HostChangedField, HostnameInvalid, HostnameSet, LookupByAddress, LookupByName,
        LookupResult, RestartService, SetHostname, SetHostnameHeaders, Status, StatusRequest,
    },
    worker::{Dispatcher, Events, Handler},
};

/// Upper bound of any single wait in these tests (they finish far sooner).
const BOUND: Duration = Duration::from_secs(20);

struct Fleet;

impl Handler for Fleet {
    async fn get_status(
        &self,
        ctx: &JobContext,
        params: GetStatusParams,
        payload: StatusRequest,
    ) -> Result<Status, HandlerError<std::convert::Infallible>> {
        assert_eq!(
            payload.request_id, ctx.request_id,
            "the runtime sets the id field"
        );
        // `db` answers with four load averages where the schema allows three.
        let load = match params.target {
            GetStatusTarget::Db => Some(vec![0.5; 4]),
            _ => payload.verbose.then(|| vec![0.5]),
        };
        Ok(Status {
            hostname: format!("{}:{}", params.target, payload.request_id),
            uptime_seconds: 7,
            load,
            disks: None,
        })
    }

    async fn set_hostname(
        &self,
        _ctx: &JobContext,
        params: SetHostnameParams,
        payload: SetHostname,
    ) -> Result<HostnameSet, HandlerError<SetHostnameError>> {
        match payload.hostname.as_str() {
            "localhost" => Err(HandlerError::Failed(SetHostnameError::HostnameInvalid(
                HostnameInvalid {
                    // The dispatcher replaces it with the job's request id.
                    request_id: "left to the dispatcher".into(),
                    reason: "reserved name".into(),
                },
            ))),
            "busy" => Err(SetHostnameError::HostBusy.into()),
            // setHostname is not retryable: a retry request becomes a final failure.
            "retry" => Err(HandlerError::retry("try again later")),
            _ => Ok(HostnameSet {
                previous: params.host,
                current: payload.hostname,
            }),
        }
    }

    async fn restart_service(
        &self,
        ctx: &JobContext,
        params: RestartServiceParams,
        _payload: RestartService,
    ) -> Result<(), HandlerError<std::convert::Infallible>> {
        // restartService is retryable: the first delivery of `flaky` asks for a retry.
        if params.service == "flaky" && ctx.attempt == 1 {
            return Err(HandlerError::retry("warming up"));
        }
        Ok(())
    }

    async fn lookup(
        &self,
        _ctx: &JobContext,
        _params: LookupParams,
        payload: LookupPayload,
    ) -> Result<LookupResult, HandlerError<std::convert::Infallible>> {
        Ok(match payload {
            LookupPayload::LookupByName(n) => LookupResult {
                name: n.name,
                addresses: vec!["10.0.0.1".into()],
            },
            LookupPayload::LookupByAddress(a) => LookupResult {
                name: "by-address".into(),
                addresses: vec![a.address],
            },
        })
    }
}

struct Running {
    _server: NatsServer,
    nats: jetwire::async_nats::Client,
    client: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    worker: tokio::task::JoinHandle<Result<(), jetwire::worker::WorkerError>>,
}

impl Running {
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.worker.await.unwrap().unwrap();
    }

    /// Messages in the jobs stream (work-queue: published and not yet acknowledged).
    async fn jobs_in_stream(&self) -> u64 {
        let js = jetwire::async_nats::jetstream::new(self.nats.clone());
        let mut stream = js.get_stream(SERVICE.stream.name).await.unwrap();
        stream.info().await.unwrap().state.messages
    }
}

async fn start(with_worker: bool) -> Running {
    let server = NatsServer::start().await;
    let nats = server.client().await;
    let js = jetwire::async_nats::jetstream::new(nats.clone());
    jetwire::provision(&js, &SERVICE, &jetwire::ProvisionOptions::default())
        .await
        .unwrap();
    let client = Client::new(nats.clone()).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let worker = if with_worker {
        tokio::spawn(
            jetwire::Worker::builder(nats.clone(), &SERVICE, Dispatcher::new(Fleet))
                .worker_id("e2e")
                .shutdown(async move {
                    let _ = rx.await;
                })
                .run(),
        )
    } else {
        drop(rx);
        tokio::spawn(async { Ok(()) })
    };
    Running {
        _server: server,
        nats,
        client,
        stop: Some(tx),
        worker,
    }
}

fn headers() -> SetHostnameHeaders {
    SetHostnameHeaders {
        x_actor: "admin".into(),
    }
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND * 3, f)
        .await
        .expect("test exceeded its time bound")
}

#[tokio::test]
async fn a_call_returns_the_typed_reply_and_the_request_id_reaches_the_payload() {
    bounded(async {
        let fleet = start(true).await;
        let status = fleet
            .client
            .get_status_with(
                GetStatusTarget::Web,
                &StatusRequest {
                    request_id: "ignored".into(),
                    verbose: true,
                },
                CallOptions::default()
                    .request_id("req-status-1")
                    .timeout(BOUND),
            )
            .await
            .unwrap();
        assert_eq!(status.hostname, "web:req-status-1");
        assert_eq!(status.load, Some(vec![0.5]));

        let renamed = fleet
            .client
            .set_hostname(
                "web-1",
                &SetHostname {
                    hostname: "web-2".into(),
                },
                &headers(),
            )
            .await
            .unwrap();
        assert_eq!(
            renamed,
            HostnameSet {
                previous: "web-1".into(),
                current: "web-2".into()
            }
        );
        fleet.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_reply_outside_the_contract_is_not_delivered() {
    bounded(async {
        let fleet = start(true).await;
        let request = StatusRequest {
            request_id: String::new(),
            verbose: false,
        };
        let err = fleet
            .client
            .get_status(GetStatusTarget::Db, &request)
            .await
            .unwrap_err();
        match err {
            JobError::Rejected { failure, .. } => {
                assert_eq!(failure.kind, FailureKind::Internal);
                assert_eq!(failure.code, "invalid_reply");
                assert_eq!(failure.violations[0].path, "/load", "{failure:?}");
            }
            other => panic!("expected an invalid_reply failure, got {other:?}"),
        }
        fleet.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn typed_errors_come_back_typed() {
    bounded(async {
        let fleet = start(true).await;
        let err = fleet
            .client
            .set_hostname_with(
                "web-1",
                &SetHostname {
                    hostname: "localhost".into(),
                },
                &headers(),
                CallOptions::default().request_id("rename-1"),
            )
            .await
            .unwrap_err();
        match err {
            JobError::Failed {
                error: SetHostnameError::HostnameInvalid(invalid),
                ..
            } => {
                assert_eq!(invalid.reason, "reserved name");
                // The error message's correlation id field carries the request id.
                assert_eq!(invalid.request_id, "rename-1");
            }
            other => panic!("expected HostnameInvalid, got {other:?}"),
        }
        let err = fleet
            .client
            .set_hostname(
                "web-1",
                &SetHostname {
                    hostname: "busy".into(),
                },
                &headers(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                JobError::Failed {
                    error: SetHostnameError::HostBusy,
                    ..
                }
            ),
            "{err:?}"
        );
        fleet.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn invalid_requests_are_rejected_before_publishing() {
    bounded(async {
        // No worker: anything published would stay in the stream.
        let fleet = start(false).await;
        let err = fleet
            .client
            .set_hostname(
                "web.1",
                &SetHostname {
                    hostname: "Not Valid!".into(),
                },
                &headers(),
            )
            .await
            .unwrap_err();
        let JobError::InvalidRequest(violations) = err else {
            panic!("expected InvalidRequest, got {err:?}");
        };
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert!(paths.contains(&"{host}"), "{violations:?}");
        assert!(paths.contains(&"/hostname"), "{violations:?}");

        // The subject parameter pattern (`^[a-z0-9-]+$`) and the typed headers.
        let err = fleet
            .client
            .submit_set_hostname(
                "Web_1",
                &SetHostname {
                    hostname: "ok".into(),
                },
                &SetHostnameHeaders {
                    x_actor: String::new(),
                },
            )
            .await
            .unwrap_err();
        let JobError::InvalidRequest(violations) = err else {
            panic!("expected InvalidRequest, got {err:?}");
        };
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["{host}", "headers:/x-actor"], "{violations:?}");
        // A caller-chosen request id must fit the payload's request id field
        // (`^[a-z0-9-]+$`), whatever placeholder the payload holds.
        let err = fleet
            .client
            .submit_get_status_with(
                GetStatusTarget::Web,
                &StatusRequest {
                    request_id: "Not Checked".into(),
                    verbose: false,
                },
                CallOptions::default().request_id("Upper_Case"),
            )
            .await
            .unwrap_err();
        let JobError::InvalidRequest(violations) = err else {
            panic!("expected InvalidRequest, got {err:?}");
        };
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].path, "/request_id");
        assert!(
            violations[0].message.contains("Upper_Case"),
            "{violations:?}"
        );
        assert_eq!(fleet.jobs_in_stream().await, 0, "nothing was published");
        fleet.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn the_worker_rejects_a_payload_that_breaks_the_spec() {
    bounded(async {
        let fleet = start(true).await;
        // Published with the untyped runtime client, so nothing checks it on the way.
        let request = jetwire::Request {
            operation: &jetwire_examples_compile::fixture_jobs::service::OPERATION_SET_HOSTNAME,
            subject: "jobs.modify.hostname.web-1".into(),
            headers: vec![],
            payload: serde_json::json!({ "hostname": "" , "extra": 1 }),
            request_id: None,
        };
        let err = fleet
            .client
            .runtime()
            .call(request, BOUND)
            .await
            .unwrap_err();
        match err {
            JobError::Rejected { failure, .. } => {
                assert_eq!(failure.kind, FailureKind::InvalidRequest);
                assert!(failure.message.contains("extra"), "{failure:?}");
                assert_eq!(failure.violations[0].path, "/extra", "{failure:?}");
            }
            other => panic!("expected an invalid_request failure, got {other:?}"),
        }
        let request = jetwire::Request {
            operation: &jetwire_examples_compile::fixture_jobs::service::OPERATION_SET_HOSTNAME,
            subject: "jobs.modify.hostname.web-1".into(),
            headers: vec![],
            payload: serde_json::json!({ "hostname": "-bad-" }),
            request_id: None,
        };
        let err = fleet
            .client
            .runtime()
            .call(request, BOUND)
            .await
            .unwrap_err();
        match err {
            JobError::Rejected { failure, .. } => {
                assert_eq!(failure.kind, FailureKind::InvalidRequest);
                assert_eq!(failure.violations[0].path, "/hostname", "{failure:?}");
            }
            other => panic!("expected an invalid_request failure, got {other:?}"),
        }
        fleet.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn a_detached_submit_is_found_again_by_its_request_id() {
    bounded(async {
        let fleet = start(true).await;
        let handle = fleet
            .client
            .submit_restart_service_with(
                "web-1",
                "nginx",
                &RestartService {
                    graceful: Some(true),
                },
                CallOptions::default().request_id("restart-1"),
            )
            .await
            .unwrap();
        assert_eq!(handle.request_id(), "restart-1");
        handle.wait(BOUND).await.unwrap();
        // Another handle from the id alone reads the finished result.
        let again = fleet.client.restart_service_job("restart-1");
        assert_eq!(again.get().await.unwrap(), Some(()));
        assert_eq!(
            fleet
                .client
                .restart_service_job("never-submitted")
                .get()
                .await
                .unwrap(),
            None
        );
        fleet.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn several_request_messages_are_told_apart() {
    bounded(async {
        let fleet = start(true).await;
        let by_name = fleet
            .client
            .lookup(&LookupPayload::LookupByName(LookupByName {
                name: "web-1".into(),
            }))
            .await
            .unwrap();
        assert_eq!(by_name.name, "web-1");
        let by_address = fleet
            .client
            .lookup(&LookupPayload::LookupByAddress(LookupByAddress {
                address: "10.0.0.7".into(),
            }))
            .await
            .unwrap();
        assert_eq!(by_address.addresses, vec!["10.0.0.7".to_string()]);
        // `format: ipv4` is checked before publishing.
        let err = fleet
            .client
            .lookup(&LookupPayload::LookupByAddress(LookupByAddress {
                address: "not-an-address".into(),
            }))
            .await
            .unwrap_err();
        assert!(matches!(err, JobError::InvalidRequest(_)), "{err:?}");
        fleet.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn events_are_published_and_received_typed() {
    bounded(async {
        let fleet = start(false).await;
        let mut events = fleet.client.subscribe_host_changed().await.unwrap();
        // Only web-2's events.
        let mut web2 = fleet
            .client
            .subscribe_host_changed_matching(Some("web-2"))
            .await
            .unwrap();
        let err = fleet
            .client
            .subscribe_host_changed_matching(Some("a.b"))
            .await
            .unwrap_err();
        assert!(matches!(err, JobError::InvalidRequest(_)), "{err:?}");
        let publisher = Events::new(fleet.nats.clone());
        publisher
            .publish_host_changed(
                &HostChangedParams {
                    host: "web-1".into(),
                },
                &HostChanged {
                    field: HostChangedField::Hostname,
                    value: "web-2".into(),
                },
            )
            .await
            .unwrap();
        publisher
            .publish_host_changed(
                &HostChangedParams {
                    host: "web-2".into(),
                },
                &HostChanged {
                    field: HostChangedField::Dns,
                    value: "10.0.0.53".into(),
                },
            )
            .await
            .unwrap();
        // web-1's event never reaches the narrowed subscription: its first is web-2's.
        let narrowed = web2.next().await.unwrap().unwrap();
        assert_eq!(narrowed.params.host, "web-2");
        assert_eq!(narrowed.payload.value, "10.0.0.53");
        let event = events.next().await.unwrap().unwrap();
        assert_eq!(event.subject, "events.host.web-1.changed");
        assert_eq!(event.params.host, "web-1");
        assert_eq!(event.payload.value, "web-2");
        let second = events.next().await.unwrap().unwrap();
        assert_eq!(second.params.host, "web-2");

        // A message that breaks the spec arrives as its violations.
        fleet
            .nats
            .publish("events.host.web-1.changed", "{\"field\":\"other\"}".into())
            .await
            .unwrap();
        let bad = events.next().await.unwrap();
        assert!(bad.is_err(), "{bad:?}");

        // Subject parameters are checked before publishing.
        let err = publisher
            .publish_host_changed(
                &HostChangedParams { host: "a.b".into() },
                &HostChanged {
                    field: HostChangedField::Dns,
                    value: "x".into(),
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, JobError::InvalidRequest(ref v) if v[0].path == "{host}"),
            "{err:?}"
        );
        fleet.shutdown().await;
    })
    .await
}

/// Only what `docs/README.md` ("Wire protocol") tells a client in another language:
/// a raw NATS client submits a job and reads its record, no jetwire client involved.
#[tokio::test]
async fn the_documented_wire_protocol_is_enough_to_submit_and_read_a_job() {
    use jetwire::__private::bytes::Bytes;
    use jetwire::async_nats::{self, jetstream, HeaderMap};

    bounded(async {
        let fleet = start(true).await;
        let nats = fleet.nats.clone();
        let bucket = SERVICE.responses.bucket;
        // The worked submission of the operation's docs page (the checked-in snapshot of
        // the generated page): its subject, request id and payload, as written there.
        let page = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../output/generate/jobs/docs/operations/getStatus.md"
        ))
        .unwrap();
        fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
            let from = text.find(start).expect(start) + start.len();
            &text[from..from + text[from..].find(end).expect(end)]
        }
        let wire = &page[page.find("## On the wire").expect("a worked submission")..];
        let subject = between(wire, "to `", "`").to_string();
        let request_id = between(wire, "`Nats-Msg-Id: ", "`");
        let documented: serde_json::Value =
            serde_json::from_str(between(wire, "```json\n", "```")).unwrap();
        assert_eq!(subject, "jobs.query.status._any");

        // 1. Subscribe to the record's subject first.
        let mut updates = nats
            .subscribe(format!("$KV.{bucket}.{request_id}"))
            .await
            .unwrap();
        // 2. Publish through JetStream with the request id headers; the payload carries
        //    the id at the operation's pointer (`/request_id` for getStatus).
        let js = jetstream::new(nats.clone());
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", request_id);
        headers.insert("Jetwire-Request-Id", request_id);
        let payload = documented;
        assert_eq!(payload["request_id"], request_id);
        let ack = js
            .publish_with_headers(
                subject.clone(),
                headers.clone(),
                serde_json::to_vec(&payload).unwrap().into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(!ack.duplicate);
        assert_eq!(ack.stream, SERVICE.stream.name);
        // Publishing the same id again is acknowledged as a duplicate.
        let again = js
            .publish_with_headers(
                subject.clone(),
                headers,
                serde_json::to_vec(&payload).unwrap().into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(again.duplicate);

        // 3. Wait for a terminal record on the subscription.
        let record = loop {
            let msg = futures_next(&mut updates).await;
            let record: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
            if ["succeeded", "failed", "dead_lettered"]
                .contains(&record["status"].as_str().unwrap())
            {
                break record;
            }
        };
        assert_eq!(record["status"], "succeeded");
        assert_eq!(record["request_id"], request_id);
        assert_eq!(record["operation"], "getStatus");
        assert_eq!(record["subject"], subject.as_str());
        assert_eq!(
            record["result"]["hostname"],
            format!("_any:{request_id}").as_str()
        );

        // The record is also readable later with a direct get.
        let reply = nats
            .request(
                format!("$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.{request_id}"),
                Bytes::new(),
            )
            .await
            .unwrap();
        let stored: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        assert_eq!(stored, record);
        // An unknown id answers with status 404.
        let missing = nats
            .request(
                format!("$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.unknown-id"),
                Bytes::new(),
            )
            .await
            .unwrap();
        assert_eq!(
            missing.status,
            Some(async_nats::StatusCode::NOT_FOUND),
            "{missing:?}"
        );
        fleet.shutdown().await;
    })
    .await
}

async fn futures_next(sub: &mut jetwire::async_nats::Subscriber) -> jetwire::async_nats::Message {
    use futures::StreamExt;
    sub.next().await.expect("the subscription is open")
}

#[tokio::test]
async fn operations_run_by_id_from_json() {
    bounded(async {
        let fleet = start(true).await;
        let actor = CallOptions::default().header("x-actor", "gateway");
        let params = [("host", "web-1".to_string())];

        let reply = fleet
            .client
            .call_json(
                "setHostname",
                &params,
                serde_json::json!({ "hostname": "web-3" }),
                actor.clone(),
            )
            .await
            .unwrap();
        assert_eq!(
            reply,
            serde_json::json!({ "previous": "web-1", "current": "web-3" })
        );

        // Typed errors come back as their stored failure.
        let err = fleet
            .client
            .call_json(
                "setHostname",
                &params,
                serde_json::json!({ "hostname": "localhost" }),
                actor.clone(),
            )
            .await
            .unwrap_err();
        match err {
            JobError::Failed { error, .. } => {
                assert_eq!(error.code, "HostnameInvalid");
                assert_eq!(error.details.as_ref().unwrap()["reason"], "reserved name");
            }
            other => panic!("expected HostnameInvalid, got {other:?}"),
        }

        // Validation happens before publishing, with JSON pointers.
        let err = fleet
            .client
            .call_json(
                "setHostname",
                &params,
                serde_json::json!({ "hostname": 7 }),
                actor.clone(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, JobError::InvalidRequest(ref v) if v[0].path == "/hostname"),
            "{err:?}"
        );
        let err = fleet
            .client
            .call_json(
                "setHostname",
                &params,
                serde_json::json!({ "hostname": "ok" }),
                CallOptions::default(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, JobError::InvalidRequest(ref v) if v[0].path.starts_with("headers:")),
            "missing typed header: {err:?}"
        );
        let err = fleet
            .client
            .call_json(
                "noSuchOperation",
                &[],
                serde_json::Value::Null,
                CallOptions::default(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, JobError::InvalidRequest(_)), "{err:?}");

        let request_id = fleet
            .client
            .submit_json(
                "getStatus",
                &[("target", "web".to_string())],
                serde_json::json!({ "request_id": "", "verbose": false }),
                CallOptions::default().request_id("json-1"),
            )
            .await
            .unwrap();
        assert_eq!(request_id, "json-1");
        // The request id field may be left out: it is filled with the id.
        let reply = fleet
            .client
            .call_json(
                "getStatus",
                &[("target", "web".to_string())],
                serde_json::json!({ "verbose": true }),
                CallOptions::default(),
            )
            .await
            .unwrap();
        // The handler answers `<target>:<the request id it found in the payload>`.
        let hostname = reply["hostname"].as_str().unwrap();
        let id = hostname.strip_prefix("web:").unwrap();
        assert_eq!(id.len(), 36, "a UUID: {hostname}");
        let result = fleet
            .client
            .runtime()
            .wait_result(&request_id, BOUND)
            .await
            .unwrap();
        assert_eq!(result["hostname"], "web:json-1");
        fleet.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn retries_follow_the_operations_policy() {
    bounded(async {
        let fleet = start(true).await;
        // Retryable: redelivered after the consumer's backoff, then succeeds.
        fleet
            .client
            .restart_service_with(
                "web-1",
                "flaky",
                &RestartService { graceful: None },
                CallOptions::default().request_id("flaky-1").timeout(BOUND),
            )
            .await
            .unwrap();
        let record = fleet
            .client
            .runtime()
            .get("flaky-1")
            .await
            .unwrap()
            .unwrap();
        // The retry request was honoured: the second delivery succeeded. A delivery that
        // races it (a redelivery under load) finds its claim and does not run the job.
        assert_eq!(record.status, jetwire::JobStatus::Succeeded, "{record:?}");
        assert_eq!(record.attempt, 2, "{record:?}");

        // Not retryable: the retry request is a final failure.
        let err = fleet
            .client
            .set_hostname(
                "web-1",
                &SetHostname {
                    hostname: "retry".into(),
                },
                &headers(),
            )
            .await
            .unwrap_err();
        match err {
            JobError::Rejected { failure, .. } => {
                assert_eq!(failure.kind, FailureKind::Internal);
                assert!(failure.message.contains("not retryable"), "{failure:?}");
            }
            other => panic!("expected a final failure, got {other:?}"),
        }
        fleet.shutdown().await;
    })
    .await
}
