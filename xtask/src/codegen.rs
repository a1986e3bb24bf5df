//! `cargo xtask codegen`: regenerates every checked-in generated crate from its AsyncAPI
//! document — `generated/` (crate `osapi-jobs`) from the root `asyncapi.yaml`, and
//! `examples/coordinate/jobs/` (crate `coordinate-jobs`) from
//! `examples/coordinate/asyncapi.yaml`. `--check` only compares and fails naming the
//! stale files of every crate, so CI fails when any of them is out of date.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use jetwire_codegen::ir::Severity;
use jetwire_codegen::Generator;

/// Package name of the checked-in OSAPI crate.
pub const CRATE_NAME: &str = "osapi-jobs";
/// The runtime, relative to `generated/`.
pub const RUNTIME_PATH: &str = "../runtime";

/// One generated crate the repository keeps checked in.
struct Target {
    /// The AsyncAPI document, relative to the repository root.
    spec: &'static str,
    /// The crate directory, relative to the repository root.
    out: &'static str,
    crate_name: &'static str,
    /// The runtime crate, relative to `out`.
    runtime_path: &'static str,
}

/// Every spec the repository generates from, and where its crate goes.
const TARGETS: &[Target] = &[
    Target {
        spec: "asyncapi.yaml",
        out: "generated",
        crate_name: CRATE_NAME,
        runtime_path: RUNTIME_PATH,
    },
    Target {
        spec: "examples/coordinate/asyncapi.yaml",
        out: "examples/coordinate/jobs",
        crate_name: "coordinate-jobs",
        runtime_path: "../../../runtime",
    },
];

#[derive(clap::Args)]
pub struct Args {
    /// Compare instead of writing: exit non-zero naming every stale file.
    #[arg(long)]
    check: bool,
    /// Only this AsyncAPI document (default: every checked-in spec). Without `--out`, it
    /// must be one of the checked-in specs.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// The crate directory for `--spec` (crate `osapi-jobs` unless the spec is a known
    /// one).
    #[arg(long, value_name = "DIR", requires = "spec")]
    out: Option<PathBuf>,
}

pub fn run(root: &Path, args: Args) -> Result<()> {
    let jobs: Vec<(PathBuf, PathBuf, &str, &str)> = match (&args.spec, &args.out) {
        (None, _) => TARGETS
            .iter()
            .map(|t| {
                (
                    root.join(t.spec),
                    root.join(t.out),
                    t.crate_name,
                    t.runtime_path,
                )
            })
            .collect(),
        (Some(spec), out) => {
            let known = TARGETS.iter().find(|t| same_file(&root.join(t.spec), spec));
            match (known, out) {
                (Some(t), None) => {
                    vec![(spec.clone(), root.join(t.out), t.crate_name, t.runtime_path)]
                }
                (Some(t), Some(out)) => {
                    vec![(spec.clone(), out.clone(), t.crate_name, t.runtime_path)]
                }
                (None, Some(out)) => vec![(spec.clone(), out.clone(), CRATE_NAME, RUNTIME_PATH)],
                (None, None) => bail!(
                    "{} is not one of the checked-in specs ({}): give --out",
                    spec.display(),
                    TARGETS
                        .iter()
                        .map(|t| t.spec)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };
    let mut stale_crates = Vec::new();
    for (spec, out, crate_name, runtime_path) in &jobs {
        if !one(spec, out, crate_name, runtime_path, args.check)? {
            stale_crates.push(out.display().to_string());
        }
    }
    if !stale_crates.is_empty() {
        bail!(
            "not up to date with their specs: {} (run `cargo xtask codegen`)",
            stale_crates.join(", ")
        );
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Generates (or, with `check`, compares) one crate; `Ok(false)` when `check` finds
/// stale files.
fn one(spec: &Path, out: &Path, crate_name: &str, runtime_path: &str, check: bool) -> Result<bool> {
    let generated = Generator::new(spec)
        .crate_name(crate_name)
        .runtime_path(runtime_path)
        .generate()
        .with_context(|| format!("generating from {}", spec.display()))?;
    for d in &generated.diagnostics {
        let level = match d.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
        };
        eprintln!("{level}: {}: {}", d.location, d.message);
    }
    if check {
        let stale = generated.check_against(out);
        if stale.is_empty() {
            eprintln!("{} is up to date", out.display());
            return Ok(true);
        }
        for path in &stale {
            eprintln!("stale: {}", out.join(path).display());
        }
        eprintln!(
            "{} is not up to date with {}",
            out.display(),
            spec.display()
        );
        return Ok(false);
    }
    let summary = generated
        .write_to(out)
        .with_context(|| format!("writing {}", out.display()))?;
    for path in &summary.written {
        eprintln!("wrote {}", out.join(path).display());
    }
    for path in &summary.removed {
        eprintln!("removed {}", out.join(path).display());
    }
    if summary.written.is_empty() && summary.removed.is_empty() {
        eprintln!("{} is up to date", out.display());
    }
    Ok(true)
}
