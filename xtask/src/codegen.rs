//! `cargo xtask codegen`: regenerates `generated/` (crate `osapi-jobs`) from the root
//! `asyncapi.yaml`; `--check` only compares and fails naming the stale files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use jetwire_codegen::ir::Severity;
use jetwire_codegen::Generator;

/// Package name of the checked-in generated crate.
pub const CRATE_NAME: &str = "osapi-jobs";
/// The runtime, relative to `generated/`.
pub const RUNTIME_PATH: &str = "../runtime";

#[derive(clap::Args)]
pub struct Args {
    /// Compare instead of writing: exit non-zero naming every stale file.
    #[arg(long)]
    check: bool,
    /// The AsyncAPI document (default: `asyncapi.yaml` at the repository root).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// The crate directory (default: `generated/` at the repository root).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(root: &Path, args: Args) -> Result<()> {
    let spec = args.spec.unwrap_or_else(|| root.join("asyncapi.yaml"));
    let out = args.out.unwrap_or_else(|| root.join("generated"));
    // Paths relative to the repository root in the header and messages, whatever the cwd.
    let generated = Generator::new(&spec)
        .crate_name(CRATE_NAME)
        .runtime_path(RUNTIME_PATH)
        .generate()
        .with_context(|| format!("generating from {}", spec.display()))?;
    for d in &generated.diagnostics {
        let level = match d.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
        };
        eprintln!("{level}: {}: {}", d.location, d.message);
    }
    if args.check {
        let stale = generated.check_against(&out);
        if stale.is_empty() {
            eprintln!("{} is up to date", out.display());
            return Ok(());
        }
        for path in &stale {
            eprintln!("stale: {}", out.join(path).display());
        }
        bail!(
            "{} is not up to date with {}: run `cargo xtask codegen`",
            out.display(),
            spec.display()
        );
    }
    let summary = generated
        .write_to(&out)
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
    Ok(())
}
