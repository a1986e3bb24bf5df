//! The state bucket applies each request id once, also when deliveries race.

use std::time::Duration;

use coordinate::state::{
    state_key, ApplyError, Change, Outcome, Position, StateStore, SystemState,
};
use jetwire::async_nats::jetstream;
use jetwire::testing::NatsServer;
use serde_json::json;

const BOUND: Duration = Duration::from_secs(30);

async fn store() -> (NatsServer, StateStore) {
    let server = NatsServer::start().await;
    let js = jetstream::new(server.client().await);
    let store = StateStore::provision(&js, 1).await.unwrap();
    (server, store)
}

/// Moves point `p` by `dx` (creating the system and point on first use).
fn shift(dx: f64) -> impl Fn(Option<&SystemState>) -> Result<Change, String> {
    move |current| {
        let mut state = current.cloned().unwrap_or_default();
        let p = state
            .points
            .entry("p".into())
            .or_insert(Position { x: 0.0, y: 0.0 });
        p.x += dx;
        let x = p.x;
        state.moves += 1;
        Ok(Change {
            sequence: Some(state.moves),
            state,
            result: json!({ "x": x }),
        })
    }
}

#[tokio::test]
async fn a_repeated_request_id_is_applied_once() {
    tokio::time::timeout(BOUND, async {
        let (_server, store) = store().await;
        let first = store.apply("s1", "r1", "move", shift(1.0)).await.unwrap();
        assert_eq!(first, Outcome::Applied(json!({ "x": 1.0 })));
        let again = store.apply("s1", "r1", "move", shift(1.0)).await.unwrap();
        assert_eq!(again, Outcome::AlreadyApplied(json!({ "x": 1.0 })));
        let (state, _) = store.get::<String>("s1").await.unwrap().unwrap();
        assert_eq!(state.points["p"].x, 1.0);
        assert_eq!(state.applied.len(), 1);
        assert_eq!(state.applied[0].sequence, Some(1));
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn racing_writers_lose_nothing_and_apply_nothing_twice() {
    tokio::time::timeout(BOUND, async {
        let (_server, store) = store().await;
        // 6 writers, 20 commands each, every command sent by two writers at once.
        let writers = (0..6).map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    let id = format!("r{}-{i}", w / 2);
                    store.apply("s1", &id, "move", shift(1.0)).await.unwrap();
                }
            })
        });
        for w in futures::future::join_all(writers).await {
            w.unwrap();
        }
        let (state, _) = store.get::<String>("s1").await.unwrap().unwrap();
        assert_eq!(state.applied.len(), 60, "3 distinct writers × 20 commands");
        assert_eq!(state.points["p"].x, 60.0);
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_rejected_command_writes_nothing() {
    tokio::time::timeout(BOUND, async {
        let (_server, store) = store().await;
        let err = store
            .apply("s1", "r1", "move", |_| Err::<Change, _>("no such point"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApplyError::Rejected("no such point")),
            "{err}"
        );
        assert!(store.get::<String>("s1").await.unwrap().is_none());
        // Any system id works: ids that are not plain names are hex-encoded as keys.
        store
            .apply("a b.c*", "r2", "move", shift(2.0))
            .await
            .unwrap();
        let (state, _) = store.get::<String>("a b.c*").await.unwrap().unwrap();
        assert_eq!(state.points["p"].x, 2.0);
        assert_eq!(state_key("a b.c*"), "=6120622e632a");
        assert_eq!(state_key("plain-id_1"), "plain-id_1");
    })
    .await
    .unwrap()
}
