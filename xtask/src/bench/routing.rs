//! `cargo xtask bench routing`: how job throughput scales with the number of workers on
//! one embedded nats-server, for the two ways a job finds a worker:
//!
//! - `_any`: a targeted operation sent to target `_any`, served through the shared
//!   durable every worker pulls from;
//! - partitioned: a keyed operation (routing key in the payload, N partitions, one job in
//!   flight per partition), the partitions split among the workers by leases;
//!
//! with 1, 2 and 4 in-process workers (each with its own connection), as ratios against
//! the 1-worker run of the same path in the same run. The handler sleeps a few
//! milliseconds (a job that waits on I/O) so that the workers' capacity, not the server,
//! is what more workers add. Then the failover time of partitions: a worker of two is
//! stopped abruptly (its runtime dropped, no lease released), and the time from then until
//! the first job sent to one of its partitions completes on the other worker, and until
//! all of them did (a job the server had already handed to the dead worker's open pull
//! request returns only after the ack wait).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures::StreamExt;
use jetwire::dispatch::BoxFuture;
use jetwire::spec::{
    ConsumerSpec, DeadLetterSpec, LeasesSpec, OperationSpec, PartitionSpec, RegistrySpec,
    ResponsesSpec, RoutingKey, StorageSpec, StreamSpec, TargetsSpec,
};
use jetwire::{
    Client, Dispatch, EmbeddedOptions, EmbeddedServer, Job, JobClass, Outcome, ProvisionOptions,
    Request, ServiceSpec, Worker,
};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::runtime::{measure, Load};
use super::stats::{round, RunStats};

/// Bound of one job, and of waiting for the leases to settle.
const BOUND: Duration = Duration::from_secs(60);

/// Ack wait of the bench consumers. A job the server handed to the crashed worker (into
/// a pull request still open when it died) comes back only after it, so it bounds the
/// failover time of such a job.
const ACK_WAIT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Default)]
pub struct Args {
    /// Jobs per measured run [default: 2000].
    #[arg(long)]
    jobs: Option<usize>,
    /// Concurrent client tasks [default: 32].
    #[arg(long)]
    clients: Option<usize>,
    /// How long the handler works on a job, in ms [default: 5].
    #[arg(long)]
    job_ms: Option<u64>,
    /// Unmeasured jobs run first by every run [default: 50].
    #[arg(long)]
    warmup: Option<usize>,
    /// Where to write the JSON report [default: target/bench/routing.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl Args {
    pub fn settings(&self) -> Settings {
        Settings {
            jobs: self.jobs.unwrap_or(2000).max(1),
            clients: self.clients.unwrap_or(32).max(1),
            job_ms: self.job_ms.unwrap_or(5),
            warmup: self.warmup.unwrap_or(50),
            workers: vec![1, 2, 4],
            partitions: 8,
            worker_concurrency: 4,
            lease_ttl: Duration::from_secs(3),
        }
    }
}

/// What one bench run does.
#[derive(Clone, Debug)]
pub struct Settings {
    pub jobs: usize,
    pub clients: usize,
    pub job_ms: u64,
    pub warmup: usize,
    /// Worker counts measured; the first is the baseline of the ratios.
    pub workers: Vec<usize>,
    pub partitions: u32,
    /// Jobs one worker runs at once on the `_any` path.
    pub worker_concurrency: usize,
    /// Lease ttl of the partitioned service (bounds the failover time).
    pub lease_ttl: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Any,
    Partitioned,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Any => "any",
            Path::Partitioned => "partitioned",
        }
    }
}

/// Sleeps `ms` per job, then answers.
struct Work {
    ms: u64,
}

impl Dispatch for Work {
    fn dispatch(&self, _job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(self.ms)).await;
            Outcome::Succeeded(json!({ "ok": true }))
        })
    }
}

pub fn run(settings: &Settings) -> Result<Value> {
    if settings.workers.is_empty() {
        bail!("no worker counts to measure");
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
    let url = server.url();
    let mut rows: Vec<(Path, usize, RunStats)> = Vec::new();
    for path in [Path::Any, Path::Partitioned] {
        for &workers in &settings.workers {
            eprintln!("measuring {} with {workers} worker(s)...", path.name());
            let prefix = format!("bench_route_{}{workers}", path.name());
            let stats = throughput(&url, &prefix, path, workers, settings).await?;
            rows.push((path, workers, stats));
        }
    }
    eprintln!("measuring partition failover...");
    let failover = failover(&url, settings).await?;
    drop(server);
    let report = report(settings, &rows, &failover);
    print_table(&rows, &report);
    Ok(report)
}

/// One measured run of `path` with `workers` workers.
async fn throughput(
    url: &str,
    prefix: &str,
    path: Path,
    workers: usize,
    settings: &Settings,
) -> Result<RunStats> {
    let service = service(prefix, path, settings);
    let admin = async_nats::connect(url).await.context("connecting")?;
    let js = async_nats::jetstream::new(admin.clone());
    jetwire::provision(&js, service, &ProvisionOptions::default())
        .await
        .context("provisioning the bench service")?;
    let mut running = Vec::new();
    for i in 0..workers {
        running
            .push(InProcessWorker::start(url, service, &format!("w{i}"), settings.job_ms).await?);
    }
    if path == Path::Partitioned {
        leases_settled(&js, service, workers).await?;
    }
    let client = Client::new(admin.clone(), service)
        .await
        .context("starting the job client")?;
    let call = {
        let client = client.clone();
        move |c: usize, i: usize| {
            let client = client.clone();
            async move {
                client
                    .call(job(service, path, c, i), BOUND)
                    .await
                    .map_err(|e| anyhow!("job failed: {e}"))?;
                Ok(())
            }
        }
    };
    if settings.warmup > 0 {
        let warm = Load {
            clients: settings.clients.min(settings.warmup),
            jobs: settings.warmup,
            tag: "w",
        };
        measure(warm, call.clone()).await?;
    }
    let load = Load {
        clients: settings.clients,
        jobs: settings.jobs,
        tag: "m",
    };
    let stats = measure(load, call).await;
    for w in running {
        w.stop().await?;
    }
    stats
}

/// The request of client task `c`'s `i`-th job: to `_any`, or keyed (keys spread over
/// many more values than partitions).
fn job(service: &'static ServiceSpec, path: Path, c: usize, i: usize) -> Request {
    let op = &service.operations[0];
    match path {
        Path::Any => Request {
            operation: op,
            subject: op.subject.replace("{target}", "_any"),
            headers: vec![],
            payload: json!({ "value": i }),
            request_id: None,
        },
        Path::Partitioned => Request {
            operation: op,
            subject: op.subject.into(),
            headers: vec![],
            payload: json!({ "key": format!("key-{}", (c * 131 + i) % 256), "value": i }),
            request_id: None,
        },
    }
}

/// A worker with its own connection, in its own runtime on its own thread, so that it can
/// be stopped gracefully or dropped abruptly (a crash: nothing released).
struct InProcessWorker {
    runtime: tokio::runtime::Runtime,
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<Result<(), String>>,
}

impl InProcessWorker {
    async fn start(
        url: &str,
        service: &'static ServiceSpec,
        id: &str,
        job_ms: u64,
    ) -> Result<InProcessWorker> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting a worker runtime")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (finished, done) = oneshot::channel();
        let url = url.to_string();
        let id = id.to_string();
        runtime.spawn(async move {
            let result = async {
                let nats = async_nats::connect(url).await.map_err(|e| e.to_string())?;
                Worker::builder(nats, service, Work { ms: job_ms })
                    .worker_id(id)
                    .grace_period(Duration::from_secs(5))
                    .shutdown(async {
                        let _ = stopped.await;
                    })
                    .run()
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            let _ = finished.send(result);
        });
        Ok(InProcessWorker {
            runtime,
            stop,
            done,
        })
    }

    /// Graceful stop (leases released).
    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        let result = tokio::time::timeout(BOUND, self.done)
            .await
            .map_err(|_| anyhow!("a worker did not stop within {BOUND:?}"))?;
        self.runtime.shutdown_background();
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => bail!("a worker failed: {e}"),
            Err(_) => bail!("a worker task ended without a result"),
        }
    }

    /// Abrupt stop: every task of the worker vanishes, its leases stay until they expire.
    fn crash(self) {
        self.runtime.shutdown_background();
    }
}

/// Who holds which partition lease, as the lease bucket says.
async fn lease_holders(
    js: &async_nats::jetstream::Context,
    service: &ServiceSpec,
) -> Result<BTreeMap<String, String>> {
    let bucket = service
        .leases
        .as_ref()
        .map(|l| l.bucket)
        .unwrap_or_default();
    let kv = js
        .get_key_value(bucket)
        .await
        .with_context(|| format!("lease bucket {bucket}"))?;
    let mut holders = BTreeMap::new();
    for key in jetwire::leases::lease_keys(service) {
        if let Some(value) = kv.get(&key).await.context("reading a lease")? {
            if let Ok(lease) = serde_json::from_slice::<jetwire::leases::Lease>(&value) {
                holders.insert(key, lease.worker_id);
            }
        }
    }
    Ok(holders)
}

/// Waits until every partition is held and the holders are `workers` distinct workers
/// with shares differing by at most one (the lease bucket's watch says when it changes).
async fn leases_settled(
    js: &async_nats::jetstream::Context,
    service: &'static ServiceSpec,
    workers: usize,
) -> Result<()> {
    let bucket = service
        .leases
        .as_ref()
        .map(|l| l.bucket)
        .unwrap_or_default();
    let kv = js.get_key_value(bucket).await.context("lease bucket")?;
    let mut watch = kv.watch_all().await.context("watching the leases")?;
    let total = jetwire::leases::lease_keys(service).len();
    let settled = async {
        loop {
            let holders = lease_holders(js, service).await?;
            let mut shares: BTreeMap<&str, usize> = BTreeMap::new();
            for h in holders.values() {
                *shares.entry(h).or_default() += 1;
            }
            let (min, max) = (
                shares.values().min().copied().unwrap_or(0),
                shares.values().max().copied().unwrap_or(0),
            );
            if holders.len() == total && shares.len() == workers && max - min <= 1 {
                return Ok::<_, anyhow::Error>(());
            }
            match watch.next().await {
                Some(Ok(_)) => {}
                Some(Err(e)) => bail!("lease watch: {e}"),
                None => bail!("lease watch ended"),
            }
        }
    };
    tokio::time::timeout(BOUND, settled)
        .await
        .map_err(|_| anyhow!("leases did not settle over {workers} worker(s) within {BOUND:?}"))?
}

/// Failover of a crashed worker's partitions.
struct Failover {
    partitions_moved: usize,
    first_ms: f64,
    all_ms: f64,
}

async fn failover(url: &str, settings: &Settings) -> Result<Failover> {
    let service = service("bench_route_failover", Path::Partitioned, settings);
    let admin = async_nats::connect(url).await.context("connecting")?;
    let js = async_nats::jetstream::new(admin.clone());
    jetwire::provision(&js, service, &ProvisionOptions::default())
        .await
        .context("provisioning the failover service")?;
    let survivor = InProcessWorker::start(url, service, "survivor", settings.job_ms).await?;
    let doomed = InProcessWorker::start(url, service, "doomed", settings.job_ms).await?;
    leases_settled(&js, service, 2).await?;
    let client = Client::new(admin.clone(), service)
        .await
        .context("starting the job client")?;
    // One job through every partition first: both workers are serving.
    for p in 0..settings.partitions {
        client
            .call(
                keyed(service, &key_of_partition(p, settings.partitions)),
                BOUND,
            )
            .await
            .map_err(|e| anyhow!("warm-up job: {e}"))?;
    }
    let lost: BTreeSet<u32> = lease_holders(&js, service)
        .await?
        .into_iter()
        .filter(|(_, holder)| holder == "doomed")
        .filter_map(|(key, _)| key.rsplit('-').next()?.parse().ok())
        .collect();
    if lost.is_empty() {
        bail!("the worker to be crashed holds no partition");
    }
    doomed.crash();
    let crashed = Instant::now();
    let waits = lost.iter().map(|&p| {
        let client = client.clone();
        let key = key_of_partition(p, settings.partitions);
        async move {
            client
                .call(keyed(service, &key), BOUND)
                .await
                .map_err(|e| anyhow!("job on partition {p} after the crash: {e}"))?;
            Ok::<_, anyhow::Error>(crashed.elapsed())
        }
    });
    let took = futures::future::try_join_all(waits).await?;
    survivor.stop().await?;
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    Ok(Failover {
        partitions_moved: lost.len(),
        first_ms: took.iter().map(ms).fold(f64::INFINITY, f64::min),
        all_ms: took.iter().map(ms).fold(0.0, f64::max),
    })
}

/// A routing key that falls into partition `p`.
fn key_of_partition(p: u32, partitions: u32) -> String {
    (0u64..)
        .map(|i| format!("key-{i}"))
        .find(|k| jetwire::partition::partition_of(k.as_bytes(), partitions) == p)
        .expect("some key hashes into every partition")
}

fn keyed(service: &'static ServiceSpec, key: &str) -> Request {
    let op = &service.operations[0];
    Request {
        operation: op,
        subject: op.subject.into(),
        headers: vec![],
        payload: json!({ "key": key }),
        request_id: None,
    }
}

/// The bench service of `path` for `prefix` (lower case letters, digits, `_`). The few
/// specs a run makes are leaked: the runtime wants `&'static` specs.
fn service(prefix: &str, path: Path, settings: &Settings) -> &'static ServiceSpec {
    let upper = prefix.to_uppercase();
    let (operation, consumer) = match path {
        Path::Any => (
            OperationSpec {
                id: "echo",
                subject: leak(format!("{prefix}.query.echo.{{target}}")),
                parameters: &["target"],
                class: JobClass::Query,
                request_id_pointer: Some("/request_id"),
                timeout: BOUND,
                retryable: true,
                has_reply: true,
                partitioning: None,
            },
            ConsumerSpec {
                durable: leak(format!("{prefix}_query")),
                class: JobClass::Query,
                filter_subject: leak(format!("{prefix}.query.*.{{target}}")),
                ack_wait: ACK_WAIT,
                max_deliver: 5,
                backoff: &[],
                max_ack_pending: 1000,
                concurrency: settings.worker_concurrency,
                partitions: None,
            },
        ),
        Path::Partitioned => (
            OperationSpec {
                id: "apply",
                subject: leak(format!("{prefix}.keyed.{{partition}}")),
                parameters: &["partition"],
                class: JobClass::Modify,
                request_id_pointer: Some("/request_id"),
                timeout: BOUND,
                retryable: true,
                has_reply: true,
                partitioning: Some(PartitionSpec {
                    key: RoutingKey::Payload("/key"),
                    count: settings.partitions,
                    parameter: "partition",
                }),
            },
            ConsumerSpec {
                durable: leak(format!("{prefix}_keyed")),
                class: JobClass::Modify,
                filter_subject: leak(format!("{prefix}.keyed.{{partition}}")),
                ack_wait: ACK_WAIT,
                max_deliver: 5,
                backoff: &[],
                max_ack_pending: 1,
                concurrency: 1,
                partitions: Some(settings.partitions),
            },
        ),
    };
    Box::leak(Box::new(ServiceSpec {
        title: "Routing bench",
        version: "1.0.0",
        spec_sha256: "bench",
        stream: StreamSpec {
            name: leak(upper.clone()),
            subjects: leak_slice(vec![leak(format!("{prefix}.>"))]),
            storage: StorageSpec::File,
            max_bytes: -1,
            max_msgs: -1,
            max_msg_size: -1,
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
        },
        responses: ResponsesSpec {
            bucket: leak(format!("{upper}_RESPONSES")),
            ttl: Duration::from_secs(3600),
            history: 1,
            replicas: 1,
        },
        dead_letter: DeadLetterSpec {
            stream: leak(format!("{upper}_DLQ")),
            replicas: 1,
        },
        consumers: leak_slice(vec![consumer]),
        operations: leak_slice(vec![operation]),
        registry: RegistrySpec {
            bucket: leak(format!("{upper}_WORKERS")),
            heartbeat: Duration::from_millis(500),
            ttl: Duration::from_secs(2),
            replicas: 1,
        },
        targets: (path == Path::Any).then_some(TargetsSpec {
            parameter: "target",
        }),
        leases: (path == Path::Partitioned).then(|| LeasesSpec {
            bucket: leak(format!("{upper}_LEASES")),
            ttl: settings.lease_ttl,
            replicas: 1,
        }),
    }))
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_slice<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        round(a / b)
    } else {
        0.0
    }
}

fn report(settings: &Settings, rows: &[(Path, usize, RunStats)], failover: &Failover) -> Value {
    let mut paths = serde_json::Map::new();
    for path in [Path::Any, Path::Partitioned] {
        let of_path: Vec<&(Path, usize, RunStats)> =
            rows.iter().filter(|(p, _, _)| *p == path).collect();
        let base = of_path.first().map_or(0.0, |(_, _, s)| s.jobs_per_s);
        let runs: serde_json::Map<String, Value> = of_path
            .iter()
            .map(|(_, workers, s)| {
                let mut v = s.to_json();
                v["workers"] = json!(workers);
                v["ratio_to_first"] = json!(ratio(s.jobs_per_s, base));
                (workers.to_string(), v)
            })
            .collect();
        paths.insert(path.name().into(), Value::Object(runs));
    }
    json!({
        "benchmark": "routing",
        "jobs": settings.jobs,
        "clients": settings.clients,
        "job_ms": settings.job_ms,
        "warmup": settings.warmup,
        "worker_concurrency_any": settings.worker_concurrency,
        "partitions": settings.partitions,
        "baseline_workers": settings.workers[0],
        "paths": paths,
        "failover": {
            "lease_ttl_ms": settings.lease_ttl.as_millis() as u64,
            "ack_wait_ms": ACK_WAIT.as_millis() as u64,
            "partitions_moved": failover.partitions_moved,
            "first_job_ms": round(failover.first_ms),
            "all_jobs_ms": round(failover.all_ms),
        },
    })
}

fn print_table(rows: &[(Path, usize, RunStats)], report: &Value) {
    println!(
        "{:<12} {:>7} {:>6} {:>10} {:>9} {:>9} {:>11}",
        "path", "workers", "jobs", "jobs/s", "p50 ms", "p99 ms", "vs first"
    );
    for (path, workers, s) in rows {
        let r = report["paths"][path.name()][workers.to_string()]["ratio_to_first"]
            .as_f64()
            .unwrap_or(0.0);
        println!(
            "{:<12} {workers:>7} {:>6} {:>10.1} {:>9.2} {:>9.2} {r:>10.2}x",
            path.name(),
            s.jobs,
            s.jobs_per_s,
            s.p50_ms,
            s.p99_ms
        );
    }
    let f = &report["failover"];
    println!(
        "failover of {} partition(s) of a crashed worker (lease ttl {} ms, ack wait {} ms): first job done after {:.0} ms, all after {:.0} ms",
        f["partitions_moved"],
        f["lease_ttl_ms"],
        f["ack_wait_ms"],
        f["first_job_ms"].as_f64().unwrap_or(0.0),
        f["all_jobs_ms"].as_f64().unwrap_or(0.0),
    );
}
