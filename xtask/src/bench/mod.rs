//! `cargo xtask bench [runtime|codegen]`: benchmarks that measure an in-run baseline next
//! to the thing measured and print ratios (absolute numbers depend on the machine; ratios
//! taken in the same run much less).
//!
//! Benchmarks only mean something optimised, while `cargo xtask` builds in debug: a debug
//! build re-runs itself as `cargo run --release -p xtask -- bench --here <args>`, and the
//! release build (with `--here`) does the work.

mod codegen;
mod report;
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
