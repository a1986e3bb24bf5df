//! The generated client's `broadcast_json` (what the gateway and `osapi client` send
//! `_all` jobs with) against a real `osapi start`: every live agent answers, an unknown
//! operation id is the same error as `call_json` gives, a target other than `_all` is a
//! violation, and neither error publishes anything.

mod e2e_support;

use std::future::Future;
use std::time::Duration;

use e2e_support::Osapi;
use jetwire::typed::CallOptions;
use jetwire::JobError;
use serde_json::json;

/// Runs `f` to completion, at most 60 s.
fn bounded<T>(runtime: &tokio::runtime::Runtime, f: impl Future<Output = T>) -> T {
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), f).await })
        .expect("timed out")
}

#[test]
fn broadcast_json_runs_on_every_agent_and_rejects_what_it_cannot_send() {
    let osapi = Osapi::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = bounded(&runtime, async {
        let nats = jetwire::async_nats::connect(&osapi.nats_url).await.unwrap();
        osapi_jobs::client::Client::new(nats).await.unwrap()
    });
    let options = || CallOptions::default().timeout(Duration::from_secs(30));

    // Through the generated function: the one agent answers with its typed reply as JSON.
    let results = bounded(
        &runtime,
        client.broadcast_json("getHostname", &[], json!({}), options()),
    )
    .unwrap();
    assert_eq!(results.missing, Vec::<String>::new());
    assert_eq!(
        results.results.keys().collect::<Vec<_>>(),
        [&osapi.agent],
        "{results:?}"
    );
    let reply = results.results[&osapi.agent].as_ref().unwrap();
    assert!(reply["hostname"].is_string(), "{reply}");

    // An unknown operation id: the error `call_json` gives, and nothing published.
    let before = osapi.jobs_last_sequence();
    let unknown = bounded(
        &runtime,
        client.broadcast_json("noSuchOperation", &[], json!({}), options()),
    )
    .unwrap_err();
    let single = bounded(
        &runtime,
        client.call_json("noSuchOperation", &[], json!({}), options()),
    )
    .unwrap_err();
    match (&unknown, &single) {
        (JobError::InvalidRequest(b), JobError::InvalidRequest(c)) => {
            assert_eq!(b, c);
            assert_eq!(
                b[0].message,
                "no job operation 'noSuchOperation' in this service"
            );
        }
        other => panic!("{other:?}"),
    }

    // A broadcast names no single agent.
    let one = bounded(
        &runtime,
        client.broadcast_json(
            "getHostname",
            &[("target", osapi.agent.clone())],
            json!({}),
            options(),
        ),
    )
    .unwrap_err();
    match &one {
        JobError::InvalidRequest(v) => assert_eq!(v[0].path, "{target}", "{v:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(osapi.jobs_last_sequence(), before, "nothing was published");
}
