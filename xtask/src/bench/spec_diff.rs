//! `cargo xtask bench spec-diff`: the whole `spec-diff` of the workspace's `asyncapi.yaml`
//! against itself (loading both documents, then a diff that walks every operation,
//! message and schema because nothing differs), against merely loading the two documents
//! (the in-run baseline).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use jetwire_codegen::diff::diff;
use jetwire_codegen::load::load_spec;
use serde_json::{json, Value};

use super::stats::{median_ms, round};

/// Stated, not asserted: the median of load + load + diff.
const TARGET_MS: f64 = 1000.0;

#[derive(clap::Args, Default)]
pub struct Args {
    /// Timed iterations (the median is reported) [default: 20].
    #[arg(long)]
    iterations: Option<usize>,
    /// Where to write the JSON report [default: target/bench/spec-diff.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(root: &Path, args: &Args) -> Result<Value> {
    let spec = root.join("asyncapi.yaml");
    let iterations = args.iterations.unwrap_or(20).max(1);
    let mut load = Vec::with_capacity(iterations);
    let mut total = Vec::with_capacity(iterations);
    let mut changes = 0;
    for _ in 0..iterations {
        let t = Instant::now();
        let old = load_spec(&spec).with_context(|| format!("loading {}", spec.display()))?;
        let new = load_spec(&spec)?;
        load.push(t.elapsed());
        changes = diff(&old, &new).changes.len();
        total.push(t.elapsed());
    }
    let (load_ms, total_ms) = (median_ms(&load), median_ms(&total));
    let ratio = if load_ms > 0.0 {
        round(total_ms / load_ms)
    } else {
        0.0
    };
    println!("spec-diff of asyncapi.yaml with itself; {iterations} iterations");
    println!("{:<34} {:>12}", "step", "median ms");
    println!("{:<34} {:>12.2}", "load both + diff", total_ms);
    println!("{:<34} {:>12.2}", "load both only", load_ms);
    println!(
        "spec-diff = {ratio:.2}x loading; median {total_ms:.1} ms vs target {TARGET_MS:.0} ms: {}",
        if total_ms <= TARGET_MS {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(json!({
        "benchmark": "spec-diff",
        "iterations": iterations,
        "changes": changes,
        "spec_diff_median_ms": round(total_ms),
        "load_median_ms": round(load_ms),
        "spec_diff_vs_load_ratio": ratio,
        "target_ms": TARGET_MS,
        "target_met": total_ms <= TARGET_MS,
    }))
}
