//! `cargo xtask bench codegen`: load + full generation (Rust crate and docs) of a
//! synthetic spec of 1,000 operations and 2,000 schemas, against merely parsing the same
//! YAML with serde_yaml (the in-run baseline). Each stage of the pipeline is also timed on
//! its own (load, the Rust code, docs), to show where the time goes. In a full generation
//! the docs render on a thread of their own beside the Rust code, and the `types` module
//! is shared by up to `available_parallelism` threads, so the stages add up to more than
//! the total on a multi-core machine.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use jetwire_codegen::Generator;
use serde_json::{json, Value};

use super::stats::{median_ms, round};
use super::synthetic_spec;

/// Stated, not asserted: the median load + generation time.
const TARGET_MS: f64 = 1000.0;

#[derive(clap::Args, Default)]
pub struct Args {
    /// Operations of the synthetic spec [default: 1000].
    #[arg(long)]
    operations: Option<usize>,
    /// Schemas of the synthetic spec [default: 2000].
    #[arg(long)]
    schemas: Option<usize>,
    /// Timed iterations (the median is reported) [default: 5].
    #[arg(long)]
    iterations: Option<usize>,
    /// Where to write the JSON report [default: target/bench/codegen.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl Args {
    pub fn settings(&self) -> Settings {
        Settings {
            operations: self.operations.unwrap_or(1000).max(1),
            schemas: self.schemas.unwrap_or(2000),
            iterations: self.iterations.unwrap_or(5).max(1),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub operations: usize,
    pub schemas: usize,
    pub iterations: usize,
}

pub fn run(settings: &Settings) -> Result<Value> {
    let dir = tempfile::Builder::new()
        .prefix("jetwire-bench-codegen-")
        .tempdir()
        .context("creating a temporary directory")?;
    let spec = dir.path().join("asyncapi.yaml");
    let text = synthetic_spec::document(settings.operations, settings.schemas);
    std::fs::write(&spec, &text).with_context(|| format!("writing {}", spec.display()))?;
    let generator = Generator::new(&spec)
        .crate_name("bench-jobs")
        .runtime_path("../runtime");

    let mut parse = Vec::with_capacity(settings.iterations);
    let mut generate = Vec::with_capacity(settings.iterations);
    let mut stages: [Vec<Duration>; STAGES.len()] = Default::default();
    let mut files = 0;
    for _ in 0..settings.iterations {
        let t = Instant::now();
        let source = std::fs::read_to_string(&spec)?;
        let value: serde_yaml::Value = serde_yaml::from_str(&source).context("parsing the YAML")?;
        parse.push(t.elapsed());
        drop(value);

        let t = Instant::now();
        let generated = generator
            .generate()
            .context("generating from the synthetic spec")?;
        generate.push(t.elapsed());
        files = generated.files.len();
        drop(generated);

        for (samples, took) in stages.iter_mut().zip(timed_stages(&spec)?) {
            samples.push(took);
        }
    }
    let generate_ms = median_ms(&generate);
    let parse_ms = median_ms(&parse);
    let stage_ms: Vec<f64> = stages.iter().map(|s| median_ms(s)).collect();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let ratio = if parse_ms > 0.0 {
        round(generate_ms / parse_ms)
    } else {
        0.0
    };
    let report = json!({
        "benchmark": "codegen",
        "operations": settings.operations,
        "schemas": settings.schemas.max(2 * settings.operations),
        "spec_bytes": text.len(),
        "iterations": settings.iterations,
        "generated_files": files,
        "generate_median_ms": round(generate_ms),
        "generate_min_ms": round(min_ms(&generate)),
        "parse_yaml_median_ms": round(parse_ms),
        "load_median_ms": round(stage_ms[0]),
        "stage_median_ms": STAGES
            .iter()
            .zip(&stage_ms)
            .map(|((key, _), ms)| (key.to_string(), json!(round(*ms))))
            .collect::<serde_json::Map<_, _>>(),
        "threads": threads,
        "generate_vs_parse_ratio": ratio,
        "target_ms": TARGET_MS,
        "target_met": generate_ms <= TARGET_MS,
    });
    println!(
        "synthetic spec: {} operations, {} schemas, {} KiB; {} iterations",
        report["operations"],
        report["schemas"],
        text.len() / 1024,
        settings.iterations
    );
    println!("{:<44} {:>10}", "step", "median ms");
    println!(
        "{:<44} {:>10.1}",
        "load + generate (jetwire-codegen)", generate_ms
    );
    for ((key, label), ms) in STAGES.iter().zip(&stage_ms) {
        let label = if *key == "rust" {
            format!("{label} ({threads} threads)")
        } else {
            label.to_string()
        };
        println!("{:<44} {:>10.1}", format!("  stage: {label}"), ms);
    }
    println!("{:<44} {:>10.1}", "parse YAML only (serde_yaml)", parse_ms);
    println!(
        "generation = {ratio:.1}x parsing; median {generate_ms:.0} ms vs target {TARGET_MS:.0} ms: {}",
        if generate_ms <= TARGET_MS { "met" } else { "NOT met" }
    );
    Ok(report)
}

/// The stages of [`Generator::generate`], timed one by one (report key, printed label).
const STAGES: [(&str, &str); 3] = [
    ("load", "load (YAML → IR)"),
    ("rust", "Rust: model, tokens, formatting"),
    ("docs", "docs (Markdown + HTML)"),
];

/// One run of the pipeline [`Generator::generate`] runs, each stage timed alone, in the
/// order of [`STAGES`] (in the real run the docs run beside the Rust code).
fn timed_stages(spec_path: &std::path::Path) -> Result<[Duration; STAGES.len()]> {
    use jetwire_codegen::rustgen::{crate_files, pipeline};
    let t = Instant::now();
    let spec = jetwire_codegen::load::load_spec(spec_path).context("loading the synthetic spec")?;
    let load = t.elapsed();
    let t = Instant::now();
    pipeline::generate_formatted(&spec, || ()).context("generating the Rust code")?;
    let rust = t.elapsed();
    let t = Instant::now();
    jetwire_codegen::docs::generate(&spec, &crate_files::header(&spec))
        .context("generating the docs")?;
    let docs = t.elapsed();
    Ok([load, rust, docs])
}

fn min_ms(samples: &[Duration]) -> f64 {
    samples
        .iter()
        .min()
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
