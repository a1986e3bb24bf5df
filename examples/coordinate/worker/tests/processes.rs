//! The Coordinate Service with real `coordinate-worker` processes on a real nats-server:
//! three workers share the 8 partitions; concurrent clients move points of many systems;
//! every move is applied exactly once and in publish order per system, also when the
//! worker holding partitions is killed with SIGKILL in the middle of the load.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use coordinate::state::StateStore;
use coordinate_jobs::client::Client;
use coordinate_jobs::operations::MovePointError;
use coordinate_jobs::service::SERVICE;
use coordinate_jobs::types::{CreateSystem, GetPoint, InitialPoint, MovePoint, PointPosition};
use futures::StreamExt;
use jetwire::async_nats::{self, jetstream};
use jetwire::leases::Lease;
use jetwire::testing::NatsServer;
use jetwire::typed::JobHandle;

/// Bound of every wait in these tests: a bug fails, never hangs.
const BOUND: Duration = Duration::from_secs(60);
const LEASE_TTL: &str = "2s";
const PARTITIONS: usize = 8;
const POINTS: [&str; 3] = ["a", "b", "c"];

/// One `coordinate-worker` process; killed when dropped.
struct Worker {
    id: String,
    child: tokio::process::Child,
}

impl Worker {
    fn start(url: &str, id: &str) -> Worker {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_coordinate-worker"))
            .args([
                "--nats-url",
                url,
                "--worker-id",
                id,
                "--lease-ttl",
                LEASE_TTL,
            ])
            .args(["--grace", "10s"])
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,jetwire::leases=info".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("starting coordinate-worker");
        Worker {
            id: id.into(),
            child,
        }
    }

    /// SIGKILL: no lease released, the job in flight cut off.
    async fn kill9(mut self) {
        self.child.start_kill().expect("SIGKILL");
        tokio::time::timeout(BOUND, self.child.wait())
            .await
            .expect("killed worker did not exit")
            .expect("wait");
    }

    /// SIGTERM, and the process exits cleanly after finishing its jobs.
    async fn stop(mut self) {
        let pid = self.child.id().expect("running worker has a pid") as libc::pid_t;
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = tokio::time::timeout(BOUND, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("worker {} did not stop after SIGTERM", self.id))
            .expect("wait");
        assert!(status.success(), "worker {} exited with {status}", self.id);
    }
}

/// The lease holders, kept current by a watch of the lease bucket.
struct LeaseView {
    watch: jetstream::kv::Watch,
    holders: BTreeMap<String, String>,
}

impl LeaseView {
    async fn open(nats: &async_nats::Client) -> LeaseView {
        let bucket = SERVICE
            .leases
            .as_ref()
            .expect("the service has leases")
            .bucket;
        let kv = jetstream::new(nats.clone())
            .get_key_value(bucket)
            .await
            .unwrap();
        LeaseView {
            watch: kv.watch_with_history(">").await.unwrap(),
            holders: BTreeMap::new(),
        }
    }

    fn counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for holder in self.holders.values() {
            *out.entry(holder.clone()).or_default() += 1;
        }
        out
    }

    /// Waits until every partition is held and exactly `ids` hold them.
    async fn until_held_by(&mut self, ids: &[&str]) -> Duration {
        let start = Instant::now();
        let wanted: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
        let done = |c: &BTreeMap<String, usize>| {
            c.values().sum::<usize>() == PARTITIONS
                && c.keys().cloned().collect::<BTreeSet<_>>() == wanted
        };
        let waited = tokio::time::timeout(BOUND, async {
            while !done(&self.counts()) {
                let entry = self.watch.next().await.expect("lease watch ended").unwrap();
                match entry.operation {
                    jetstream::kv::Operation::Put => {
                        let lease: Lease = serde_json::from_slice(&entry.value).unwrap();
                        self.holders.insert(entry.key, lease.worker_id);
                    }
                    _ => {
                        self.holders.remove(&entry.key);
                    }
                }
            }
        })
        .await;
        if waited.is_err() {
            panic!(
                "partitions not held by {ids:?} in time: {:?}",
                self.counts()
            );
        }
        start.elapsed()
    }
}

async fn setup() -> (NatsServer, async_nats::Client, Client, StateStore) {
    let server = NatsServer::start().await;
    let nats = server.client().await;
    let js = jetstream::new(nats.clone());
    jetwire::provision(&js, &SERVICE, &jetwire::ProvisionOptions::default())
        .await
        .unwrap();
    let store = StateStore::provision(&js, 1).await.unwrap();
    let client = Client::new(nats.clone()).await.unwrap();
    (server, nats, client, store)
}

async fn create_systems(client: &Client, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for s in 0..n {
        let id = format!("system-{s}");
        let created = client
            .create_system(&CreateSystem {
                request_id: String::new(),
                system_id: id.clone().into(),
                points: POINTS
                    .iter()
                    .map(|p| InitialPoint {
                        id: p.to_string().into(),
                        x: 0.0,
                        y: 0.0,
                    })
                    .collect(),
            })
            .await
            .unwrap_or_else(|e| panic!("create {id}: {e}"));
        assert_eq!(created.points, 3);
        ids.push(id);
    }
    ids
}

/// One submitted move: its system, its sequence number there, and its handle.
struct Submitted {
    system: String,
    sequence: u64,
    handle: JobHandle<PointPosition, MovePointError>,
}

/// Moves of `systems`, split over `tasks` concurrent clients; each client owns some
/// systems and submits one move to each per round, all published before any result is
/// awaited, then waits for the round's results before the next one (so the load lasts
/// as long as the slowest partition). `round_done[t]` counts client `t`'s finished
/// rounds.
async fn move_points(
    client: &Client,
    systems: &[String],
    tasks: usize,
    rounds: u64,
    round_done: tokio::sync::watch::Sender<Vec<u64>>,
) -> Vec<Submitted> {
    round_done.send_replace(vec![0; tasks]);
    let round_done = std::sync::Arc::new(round_done);
    let movers = (0..tasks).map(|t| {
        let client = client.clone();
        let mine: Vec<String> = systems.iter().skip(t).step_by(tasks).cloned().collect();
        let round_done = round_done.clone();
        tokio::spawn(async move {
            let mut out = Vec::new();
            for k in 1..=rounds {
                let mut this_round = Vec::new();
                for system in &mine {
                    let payload = MovePoint {
                        request_id: String::new(),
                        system_id: system.clone().into(),
                        point_id: POINTS[k as usize % 3].to_string().into(),
                        dx: 1.0,
                        dy: k as f64,
                    };
                    let handle = client
                        .submit_move_point(&payload)
                        .await
                        .unwrap_or_else(|e| panic!("submit a move of {system}: {e}"));
                    this_round.push(handle.clone());
                    out.push(Submitted {
                        system: system.clone(),
                        sequence: k,
                        handle,
                    });
                }
                for handle in this_round {
                    handle.wait(BOUND).await.expect("a move of the round");
                }
                round_done.send_modify(|r| r[t] = k);
            }
            out
        })
    });
    let mut all = Vec::new();
    for mover in futures::future::join_all(movers).await {
        all.extend(mover.expect("mover task"));
    }
    all
}

/// Every submitted move was applied once, in publish order, with its sequence number.
async fn assert_applied_once_in_order(
    client: &Client,
    store: &StateStore,
    systems: &[String],
    submitted: &[Submitted],
    rounds: u64,
) {
    for s in submitted {
        let reply = s
            .handle
            .wait(BOUND)
            .await
            .unwrap_or_else(|e| panic!("move {} of {}: {e}", s.sequence, s.system));
        assert_eq!(
            reply.moves as u64, s.sequence,
            "reply of move {} of {}",
            s.sequence, s.system
        );
    }
    for system in systems {
        let (state, _) = store.get::<String>(system).await.unwrap().unwrap();
        assert_eq!(state.moves, rounds, "moves of {system}");
        let applied: Vec<&str> = state
            .applied
            .iter()
            .filter(|a| a.command == "movePoint")
            .map(|a| a.request_id.as_str())
            .collect();
        let published: Vec<&str> = submitted
            .iter()
            .filter(|s| &s.system == system)
            .map(|s| s.handle.request_id())
            .collect();
        assert_eq!(applied, published, "applied log of {system}");
        let sequences: Vec<u64> = state.applied.iter().filter_map(|a| a.sequence).collect();
        assert_eq!(sequences, (1..=rounds).collect::<Vec<_>>(), "{system}");
        // Point k%3 moved once per round k: x counts its moves, y sums their rounds.
        for (i, p) in POINTS.iter().enumerate() {
            let ks: Vec<u64> = (1..=rounds).filter(|k| *k as usize % 3 == i).collect();
            let at = state.points[*p];
            assert_eq!(at.x, ks.len() as f64, "{system}/{p}");
            assert_eq!(at.y, ks.iter().sum::<u64>() as f64, "{system}/{p}");
            // A read queued behind the moves sees them all.
            let read = client
                .get_point(&GetPoint {
                    request_id: String::new(),
                    system_id: system.clone().into(),
                    point_id: p.to_string().into(),
                })
                .await
                .unwrap();
            assert_eq!((read.x, read.y, read.moves as u64), (at.x, at.y, rounds));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_apply_every_move_once_in_publish_order() {
    tokio::time::timeout(BOUND * 3, async {
        let (server, nats, client, store) = setup().await;
        let mut view = LeaseView::open(&nats).await;
        let workers: Vec<Worker> = ["w1", "w2", "w3"]
            .iter()
            .map(|id| Worker::start(&server.url(), id))
            .collect();
        view.until_held_by(&["w1", "w2", "w3"]).await;
        let systems = create_systems(&client, 24).await;
        let (rounds_tx, _) = tokio::sync::watch::channel(Vec::new());
        let submitted = move_points(&client, &systems, 6, 15, rounds_tx).await;
        assert_applied_once_in_order(&client, &store, &systems, &submitted, 15).await;
        for w in workers {
            w.stop().await;
        }
    })
    .await
    .expect("test exceeded its bound")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_worker_loses_no_move_and_applies_none_twice() {
    tokio::time::timeout(BOUND * 3, async {
        let (server, nats, client, store) = setup().await;
        let mut view = LeaseView::open(&nats).await;
        let mut workers: Vec<Worker> = ["w1", "w2", "w3"]
            .iter()
            .map(|id| Worker::start(&server.url(), id))
            .collect();
        view.until_held_by(&["w1", "w2", "w3"]).await;
        let systems = create_systems(&client, 24).await;
        let rounds = 40;
        let (rounds_tx, mut rounds_rx) = tokio::sync::watch::channel(Vec::new());
        let load = {
            let client = client.clone();
            let systems = systems.clone();
            tokio::spawn(async move { move_points(&client, &systems, 6, rounds, rounds_tx).await })
        };
        // In the middle of the load, SIGKILL the worker holding the most partitions.
        let least = |r: &Vec<u64>| r.iter().copied().min().unwrap_or(0);
        tokio::time::timeout(BOUND, rounds_rx.wait_for(|r| !r.is_empty() && least(r) >= 5))
            .await
            .expect("the load never got going")
            .unwrap();
        let counts = view.counts();
        let victim = counts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(id, _)| id.clone())
            .unwrap();
        let index = workers.iter().position(|w| w.id == victim).unwrap();
        let killed = workers.remove(index);
        let held = counts[&victim];
        killed.kill9().await;
        let survivors: Vec<&str> = workers.iter().map(|w| w.id.as_str()).collect();
        let took = view.until_held_by(&survivors).await;
        eprintln!(
            "{victim} (holding {held} partitions) killed with SIGKILL; its partitions taken over after {took:?} (lease ttl {LEASE_TTL})"
        );
        assert!(
            least(&rounds_rx.borrow()) < rounds,
            "the load was over before the takeover: nothing was tested"
        );
        let submitted = load.await.expect("load task");
        assert_applied_once_in_order(&client, &store, &systems, &submitted, rounds).await;
        for w in workers {
            w.stop().await;
        }
    })
    .await
    .expect("test exceeded its bound")
}
