//! `cargo xtask bench runtime`: end-to-end jobs/s and latency (submit → worker runs a
//! trivial handler → response in KV → the client sees it) of the jetwire runtime, next to
//! two hand-written async-nats baselines measured in the same run on the same embedded
//! nats-server: (a) a client waiting on one shared KV watcher — the ceiling — and (b) a
//! client polling `kv.get` every 100 ms — the original design.
//!
//! The headline runtime numbers are for a query (the GET path). A modification is
//! measured beside it: it claims the job before running it, one more record write.
//! The runtime variants and baseline (a) run in interleaved rounds and each measure is
//! the median over the rounds, so a burst of load from elsewhere on a shared machine
//! does not decide a ratio.

mod baseline;
mod framework;
mod service;

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use jetwire::{EmbeddedOptions, EmbeddedServer, JobClass};
use serde_json::{json, Value};

use super::stats::{round, RunStats};
use baseline::Wait;
use service::CALL_BOUND;

/// Stated, not asserted: the runtime's throughput at least this share of baseline (a).
const TARGET_THROUGHPUT_RATIO: f64 = 0.70;
/// Stated, not asserted: the runtime's p50 latency at most this multiple of baseline (a).
const TARGET_LATENCY_RATIO: f64 = 1.5;
/// Stated, not asserted: the runtime's p50 latency at least this many times better than (b).
const TARGET_POLLING_SPEEDUP: f64 = 20.0;

#[derive(clap::Args, Default)]
pub struct Args {
    /// Jobs per measured run of the runtime and baseline (a), split over the clients
    /// [default: 2000].
    #[arg(long)]
    jobs: Option<usize>,
    /// Jobs per measured run of the polling baseline (b) [default: 100].
    #[arg(long)]
    polling_jobs: Option<usize>,
    /// Unmeasured jobs run first by every variant [default: 50].
    #[arg(long)]
    warmup: Option<usize>,
    /// Interleaved rounds of the runtime variants and baseline (a); the median of each
    /// measure is reported [default: 3].
    #[arg(long)]
    rounds: Option<usize>,
    /// Where to write the JSON report [default: target/bench/runtime.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl Args {
    pub fn settings(&self) -> Settings {
        Settings {
            jobs: self.jobs.unwrap_or(2000).max(1),
            polling_jobs: self.polling_jobs.unwrap_or(100).max(1),
            warmup: self.warmup.unwrap_or(50),
            rounds: self.rounds.unwrap_or(3).max(1),
            concurrency: vec![1, 4],
        }
    }
}

/// What one bench run does.
#[derive(Clone, Debug)]
pub struct Settings {
    pub jobs: usize,
    pub polling_jobs: usize,
    pub warmup: usize,
    pub rounds: usize,
    /// Concurrent clients of each measured run; the last one gives the headline numbers.
    pub concurrency: Vec<usize>,
}

/// One measured (or warm-up) run: `clients` tasks issuing `jobs` jobs between them.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub clients: usize,
    pub jobs: usize,
    /// Tells apart the request ids of a variant's warm-up and measured runs.
    pub tag: &'static str,
}

/// Runs `load`: every client task issues its share of the jobs back to back, each call
/// bounded by [`CALL_BOUND`]; returns the latency of every job and the throughput.
pub(super) async fn measure<F, Fut>(load: Load, call: F) -> Result<RunStats>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let clients = load.clients.max(1);
    let per_client = (load.jobs / clients).max(1);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let call = call.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                tokio::time::timeout(CALL_BOUND, call(client, i))
                    .await
                    .map_err(|_| anyhow!("a job took longer than {CALL_BOUND:?}"))??;
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        });
    }
    let mut latencies = Vec::with_capacity(per_client * clients);
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined.context("a client task")??);
    }
    Ok(RunStats::new(latencies, clients, started.elapsed()))
}

/// The variants at one concurrency.
struct Row {
    clients: usize,
    /// A query: the headline.
    runtime: RunStats,
    modify: RunStats,
    baseline: RunStats,
    polling: RunStats,
}

pub fn run(settings: &Settings) -> Result<Value> {
    if settings.concurrency.is_empty() {
        bail!("no concurrency levels to measure");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run_async(settings))
}

async fn run_async(settings: &Settings) -> Result<Value> {
    let server = EmbeddedServer::start(EmbeddedOptions::default())
        .await
        .context("starting the embedded nats-server")?;
    let worker_nats = async_nats::connect(server.url())
        .await
        .context("connecting the workers")?;
    let client_nats = async_nats::connect(server.url())
        .await
        .context("connecting the clients")?;
    let mut rows = Vec::new();
    for &clients in &settings.concurrency {
        let load = |jobs, tag| Load { clients, jobs, tag };
        let warm = Load {
            clients: 1,
            jobs: settings.warmup,
            tag: "w",
        };
        eprintln!("measuring {clients} client(s)...");
        let (mut runtime, mut modify, mut baseline) = (vec![], vec![], vec![]);
        for round in 0..settings.rounds {
            // Warm-up and measured run of one variant share its fresh streams and bucket.
            for (class, tag, runs) in [
                (JobClass::Query, "q", &mut runtime),
                (JobClass::Modify, "m", &mut modify),
            ] {
                let prefix = format!("bench_r{tag}{clients}_{round}");
                if warm.jobs > 0 {
                    framework::run(
                        &worker_nats,
                        &client_nats,
                        &format!("{prefix}w"),
                        class,
                        warm,
                    )
                    .await?;
                }
                runs.push(
                    framework::run(
                        &worker_nats,
                        &client_nats,
                        &prefix,
                        class,
                        load(settings.jobs, "m"),
                    )
                    .await?,
                );
            }
            baseline.push(
                baseline_with_warmup(
                    &worker_nats,
                    &client_nats,
                    &format!("bench_a{clients}_{round}"),
                    Wait::Watch,
                    warm,
                    load(settings.jobs, "m"),
                )
                .await?,
            );
        }
        let (runtime, modify, baseline) = (
            RunStats::median(&runtime),
            RunStats::median(&modify),
            RunStats::median(&baseline),
        );
        let polling = baseline_with_warmup(
            &worker_nats,
            &client_nats,
            &format!("bench_b{clients}"),
            Wait::Poll,
            Load {
                jobs: settings.warmup.min(5),
                ..warm
            },
            load(settings.polling_jobs, "m"),
        )
        .await?;
        rows.push(Row {
            clients,
            runtime,
            modify,
            baseline,
            polling,
        });
    }
    drop(server);
    let report = report(settings, &rows);
    print_table(&rows, &report);
    Ok(report)
}

/// A baseline's warm-up run (on its own names) and then its measured run.
async fn baseline_with_warmup(
    worker_nats: &async_nats::Client,
    client_nats: &async_nats::Client,
    prefix: &str,
    wait: Wait,
    warm: Load,
    load: Load,
) -> Result<RunStats> {
    // The request ids are built from the prefix inside the client tasks.
    let prefix: &'static str = Box::leak(prefix.to_string().into_boxed_str());
    let warm_prefix: &'static str = Box::leak(format!("{prefix}w").into_boxed_str());
    if warm.jobs > 0 {
        baseline::run(worker_nats, client_nats, warm_prefix, wait, warm).await?;
    }
    baseline::run(worker_nats, client_nats, prefix, wait, load).await
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        round(a / b)
    } else {
        0.0
    }
}

fn report(settings: &Settings, rows: &[Row]) -> Value {
    let head = rows.last().expect("at least one row");
    let throughput_ratio = ratio(head.runtime.jobs_per_s, head.baseline.jobs_per_s);
    let latency_ratio = ratio(head.runtime.p50_ms, head.baseline.p50_ms);
    let polling_speedup = ratio(head.polling.p50_ms, head.runtime.p50_ms);
    let per_concurrency: serde_json::Map<String, Value> = rows
        .iter()
        .map(|r| {
            (
                r.clients.to_string(),
                json!({
                    "runtime": r.runtime.to_json(),
                    "runtime_modify": r.modify.to_json(),
                    "modify_throughput_ratio": ratio(r.modify.jobs_per_s, r.baseline.jobs_per_s),
                    "modify_latency_ratio_vs_baseline": ratio(r.modify.p50_ms, r.baseline.p50_ms),
                    "baseline": r.baseline.to_json(),
                    "polling": r.polling.to_json(),
                    "throughput_ratio": ratio(r.runtime.jobs_per_s, r.baseline.jobs_per_s),
                    "latency_ratio_vs_baseline": ratio(r.runtime.p50_ms, r.baseline.p50_ms),
                    "latency_speedup_vs_polling": ratio(r.polling.p50_ms, r.runtime.p50_ms),
                }),
            )
        })
        .collect();
    json!({
        "benchmark": "runtime",
        "headline_clients": head.clients,
        "jobs": settings.jobs,
        "polling_jobs": settings.polling_jobs,
        "warmup": settings.warmup,
        "rounds": settings.rounds,
        "headline_operation": "query",
        "worker_concurrency": service::WORKER_CONCURRENCY,
        "poll_interval_ms": baseline::POLL_INTERVAL.as_millis() as u64,
        "runtime_jobs_per_s": round(head.runtime.jobs_per_s),
        "baseline_jobs_per_s": round(head.baseline.jobs_per_s),
        "polling_jobs_per_s": round(head.polling.jobs_per_s),
        "throughput_ratio": throughput_ratio,
        "runtime_p50_ms": round(head.runtime.p50_ms),
        "runtime_p99_ms": round(head.runtime.p99_ms),
        "baseline_p50_ms": round(head.baseline.p50_ms),
        "baseline_p99_ms": round(head.baseline.p99_ms),
        "polling_p50_ms": round(head.polling.p50_ms),
        "polling_p99_ms": round(head.polling.p99_ms),
        "latency_ratio_vs_baseline": latency_ratio,
        "latency_speedup_vs_polling": polling_speedup,
        "runtime_modify_jobs_per_s": round(head.modify.jobs_per_s),
        "runtime_modify_p50_ms": round(head.modify.p50_ms),
        "modify_throughput_ratio": ratio(head.modify.jobs_per_s, head.baseline.jobs_per_s),
        "modify_latency_ratio_vs_baseline": ratio(head.modify.p50_ms, head.baseline.p50_ms),
        "targets": {
            "throughput_ratio_min": TARGET_THROUGHPUT_RATIO,
            "throughput_met": throughput_ratio >= TARGET_THROUGHPUT_RATIO,
            "latency_ratio_vs_baseline_max": TARGET_LATENCY_RATIO,
            "latency_met": latency_ratio <= TARGET_LATENCY_RATIO,
            "latency_speedup_vs_polling_min": TARGET_POLLING_SPEEDUP,
            "polling_speedup_met": polling_speedup >= TARGET_POLLING_SPEEDUP,
        },
        "per_concurrency": per_concurrency,
    })
}

fn print_table(rows: &[Row], report: &Value) {
    println!(
        "{:<26} {:>7} {:>6} {:>10} {:>9} {:>9}",
        "variant", "clients", "jobs", "jobs/s", "p50 ms", "p99 ms"
    );
    for r in rows {
        for (name, s) in [
            ("jetwire runtime (query)", &r.runtime),
            ("jetwire runtime (modify)", &r.modify),
            ("(a) async-nats + watch", &r.baseline),
            ("(b) async-nats + poll", &r.polling),
        ] {
            println!(
                "{name:<26} {:>7} {:>6} {:>10.1} {:>9.2} {:>9.2}",
                s.clients, s.jobs, s.jobs_per_s, s.p50_ms, s.p99_ms
            );
        }
    }
    let met = |key: &str| {
        if report["targets"][key].as_bool() == Some(true) {
            "met"
        } else {
            "NOT met"
        }
    };
    println!(
        "with {} clients: throughput runtime/(a) = {:.2} (target >= {TARGET_THROUGHPUT_RATIO}: {})",
        report["headline_clients"],
        report["throughput_ratio"].as_f64().unwrap_or(0.0),
        met("throughput_met"),
    );
    println!(
        "with {} clients: p50 runtime/(a) = {:.2}x (target <= {TARGET_LATENCY_RATIO}x: {})",
        report["headline_clients"],
        report["latency_ratio_vs_baseline"].as_f64().unwrap_or(0.0),
        met("latency_met"),
    );
    println!(
        "with {} clients, a modification (claimed first): throughput {:.2} of (a), p50 {:.2}x (a)",
        report["headline_clients"],
        report["modify_throughput_ratio"].as_f64().unwrap_or(0.0),
        report["modify_latency_ratio_vs_baseline"]
            .as_f64()
            .unwrap_or(0.0),
    );
    println!(
        "with {} clients: p50 (b)/runtime = {:.1}x better (target >= {TARGET_POLLING_SPEEDUP}x: {})",
        report["headline_clients"],
        report["latency_speedup_vs_polling"].as_f64().unwrap_or(0.0),
        met("polling_speedup_met"),
    );
}
