//! `cargo xtask bench [runtime|codegen|routing]`: benchmarks that measure an in-run baseline next
//! to the thing measured and print ratios (absolute numbers depend on the machine; ratios
//! taken in the same run much less).
//!
//! Benchmarks only mean something optimised, while `cargo xtask` builds in debug: a debug
//! build re-runs itself as `cargo run --release -p xtask -- bench --here <args>`, and the
//! release build (with `--here`) does the work.

mod codegen;
mod report;
mod routing;
mod runtime;
mod spec_diff;
mod stats;
mod synthetic_spec;

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    target: Option<Target>,
    /// Run in this build as it is, without re-running in release.
    #[arg(long, global = true)]
    here: bool,
}

#[derive(Subcommand)]
enum Target {
    /// Jobs/s and latency of the runtime against a hand-written async-nats baseline and a
    /// polling client, on one embedded nats-server (the default).
    Runtime(runtime::Args),
    /// Load + full generation of a synthetic 1,000-operation spec, against merely parsing
    /// its YAML.
    Codegen(codegen::Args),
    /// Jobs/s with 1, 2 and 4 in-process workers on the `_any` path and on a partitioned
    /// operation (ratios to 1 worker), and the failover time of a crashed worker's
    /// partitions.
    Routing(routing::Args),
    /// `spec-diff` of `asyncapi.yaml` with itself (load both + diff), against only loading.
    SpecDiff(spec_diff::Args),
}

pub fn run(root: &Path, args: Args) -> Result<()> {
    if cfg!(debug_assertions) && !args.here {
        return rerun_in_release(root);
    }
    let target = args
        .target
        .unwrap_or_else(|| Target::Runtime(runtime::Args::default()));
    match target {
        Target::Runtime(a) => {
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| root.join("target/bench/runtime.json"));
            let report = runtime::run(&a.settings())?;
            report::write(&out, &report)
        }
        Target::Codegen(a) => {
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| root.join("target/bench/codegen.json"));
            let report = codegen::run(&a.settings())?;
            report::write(&out, &report)
        }
        Target::Routing(a) => {
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| root.join("target/bench/routing.json"));
            let report = routing::run(&a.settings())?;
            report::write(&out, &report)
        }
        Target::SpecDiff(a) => {
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| root.join("target/bench/spec-diff.json"));
            let report = spec_diff::run(root, &a)?;
            report::write(&out, &report)
        }
    }
}

/// Runs the same `bench` command line from a release build of xtask.
fn rerun_in_release(root: &Path) -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip_while(|a| a != "bench")
        .skip(1)
        .collect();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building the benchmarks in release (cargo run --release -p xtask -- bench --here)");
    // The caller's working directory stays, so a relative `--out` means the same.
    let status = Command::new(cargo)
        .arg("run")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args([
            "--release",
            "--quiet",
            "-p",
            "xtask",
            "--",
            "bench",
            "--here",
        ])
        .args(&args)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("the release benchmark run failed ({status})");
    }
    Ok(())
}

/// The bench code paths with tiny counts, so they keep compiling and working; the numbers
/// are only checked for being there and positive, never for speed.
#[cfg(test)]
mod tests {
    use super::*;

    fn positive(report: &serde_json::Value, pointer: &str) -> f64 {
        let v = report
            .pointer(pointer)
            .and_then(|v| v.as_f64())
            .unwrap_or_else(|| panic!("{pointer} missing from {report:#}"));
        assert!(v > 0.0, "{pointer} = {v} is not positive");
        v
    }

    #[test]
    fn the_runtime_bench_reports_every_variant() {
        let report = runtime::run(&runtime::Settings {
            jobs: 20,
            polling_jobs: 2,
            warmup: 2,
            rounds: 2,
            concurrency: vec![1, 4],
        })
        .unwrap();
        for key in [
            "runtime_jobs_per_s",
            "runtime_modify_jobs_per_s",
            "runtime_modify_p50_ms",
            "modify_throughput_ratio",
            "baseline_jobs_per_s",
            "throughput_ratio",
            "runtime_p50_ms",
            "runtime_p99_ms",
            "baseline_p50_ms",
            "polling_p50_ms",
            "latency_ratio_vs_baseline",
            "latency_speedup_vs_polling",
        ] {
            positive(&report, &format!("/{key}"));
        }
        for clients in ["1", "4"] {
            for variant in ["runtime", "runtime_modify", "baseline", "polling"] {
                let at = format!("/per_concurrency/{clients}/{variant}");
                positive(&report, &format!("{at}/jobs_per_s"));
                let p50 = positive(&report, &format!("{at}/p50_ms"));
                let p99 = positive(&report, &format!("{at}/p99_ms"));
                assert!(p99 >= p50, "{at}: p99 {p99} < p50 {p50}");
            }
        }
        // Polling waits at least one interval for every job.
        assert!(positive(&report, "/polling_p50_ms") >= 100.0);

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/runtime.json");
        report::write(&out, &report).unwrap();
        let read: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(read, report);
    }

    #[test]
    fn the_routing_bench_reports_every_path_and_the_failover() {
        let report = routing::run(&routing::Settings {
            jobs: 16,
            clients: 4,
            job_ms: 1,
            warmup: 2,
            workers: vec![1, 2],
            partitions: 4,
            worker_concurrency: 2,
            lease_ttl: std::time::Duration::from_secs(1),
        })
        .unwrap();
        for path in ["any", "partitioned"] {
            for workers in ["1", "2"] {
                let at = format!("/paths/{path}/{workers}");
                positive(&report, &format!("{at}/jobs_per_s"));
                positive(&report, &format!("{at}/ratio_to_first"));
            }
            assert_eq!(report["paths"][path]["1"]["ratio_to_first"], 1.0);
        }
        positive(&report, "/failover/partitions_moved");
        let first = positive(&report, "/failover/first_job_ms");
        assert!(positive(&report, "/failover/all_jobs_ms") >= first);
    }

    #[test]
    fn the_codegen_bench_generates_from_the_synthetic_spec() {
        let report = codegen::run(&codegen::Settings {
            operations: 10,
            schemas: 25,
            iterations: 2,
        })
        .unwrap();
        for key in [
            "generate_median_ms",
            "parse_yaml_median_ms",
            "generate_vs_parse_ratio",
            "generated_files",
        ] {
            positive(&report, &format!("/{key}"));
        }
        assert_eq!(report["operations"], 10);
        assert_eq!(report["schemas"], 25);
    }
}
