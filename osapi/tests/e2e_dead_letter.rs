//! Dead letters end to end through the real binary: `osapi start` with a short delivery
//! policy (`OSAPI_MAX_DELIVER=2`, `OSAPI_RETRY_BACKOFF=200ms`), and a real, transient
//! failure — the agent's root directory is removed, so every `getDns` attempt fails with
//! a retry until the deliveries are used up.

mod e2e_support;

use e2e_support::{json, stdout, Osapi};
use serde_json::Value;

fn dead_letter<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .find(|d| d["request_id"] == id)
}

#[test]
fn a_job_that_uses_up_its_deliveries_is_dead_lettered_and_can_be_replayed() {
    let osapi = Osapi::start_with(&[("OSAPI_MAX_DELIVER", "2"), ("OSAPI_RETRY_BACKOFF", "200ms")]);
    let root = osapi.root();
    std::fs::remove_dir_all(&root).unwrap();

    // The gateway answers 502 with the failure once the hand-off to the dead letters is
    // complete (well within the wait: two attempts 200 ms apart).
    let dead = osapi.get("/api/v1/dns?wait=20s");
    assert_eq!(dead.status, 502, "{}", dead.body);
    let body = dead.json();
    let id = body["request_id"].as_str().unwrap().to_string();
    assert_eq!(body["failure"]["kind"], "dead_lettered", "{body}");
    assert!(
        body["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("all 2 delivery attempts failed"),
        "{body}"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(&format!("osapi client dlq replay {id}")),
        "{body}"
    );
    let record = osapi.get(&format!("/api/v1/jobs/{id}")).json();
    assert_eq!(record["status"], "dead_lettered", "{record}");
    assert_eq!(record["attempt"], 2, "{record}");

    // The CLI lists it, as JSON and as a table.
    let list = json(&osapi.client(&["dlq", "list", "--json"]));
    let letter = dead_letter(&list, &id).unwrap_or_else(|| panic!("{id} not in {list}"));
    assert_eq!(letter["subject"], "jobs.query.dns._any");
    assert_eq!(letter["attempts"], 2);
    let table = stdout(&osapi.client(&["dlq", "list"]));
    assert!(
        table.starts_with("request_id") && table.contains(&id),
        "{table}"
    );

    // The root is back: the replayed job runs again, under the same id, and succeeds.
    std::fs::create_dir_all(&root).unwrap();
    let replayed = stdout(&osapi.client(&["dlq", "replay", &id]));
    assert!(
        replayed.starts_with(&format!("replayed {id} (stream sequence ")),
        "{replayed}"
    );
    let record = json(&osapi.client(&["job", "wait", &id, "--timeout", "10s", "--json"]));
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(
        record["result"]["path"],
        root.join("etc/resolv.conf").display().to_string()
    );
    let list = json(&osapi.client(&["dlq", "list", "--json"]));
    assert!(dead_letter(&list, &id).is_none(), "still listed: {list}");
    let again = osapi.client(&["dlq", "replay", &id]);
    assert!(!again.status.success(), "a second replay of {id} succeeded");

    // A replayed job that fails again is dead-lettered again.
    std::fs::remove_dir_all(&root).unwrap();
    let dead = osapi.get("/api/v1/hostname?wait=20s");
    assert_eq!(dead.status, 502, "{}", dead.body);
    let id = dead.json()["request_id"].as_str().unwrap().to_string();
    stdout(&osapi.client(&["dlq", "replay", &id]));
    let record = json(&osapi.client(&["job", "wait", &id, "--timeout", "20s", "--json"]));
    assert_eq!(record["status"], "dead_lettered", "{record}");
    let list = json(&osapi.client(&["dlq", "list", "--json"]));
    assert!(dead_letter(&list, &id).is_some(), "{id} not in {list}");

    // A modification is never retried: it fails at once, naming the missing root.
    let set = osapi.put("/api/v1/hostname", r#"{"hostname": "never-written"}"#);
    assert_eq!(set.status, 500, "{}", set.body);
    let set = set.json();
    let message = set["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&root.display().to_string()) && message.contains("not retryable"),
        "{set}"
    );
    let id = set["request_id"].as_str().unwrap();
    let list = json(&osapi.client(&["dlq", "list", "--json"]));
    assert!(dead_letter(&list, id).is_none(), "{list}");
}
