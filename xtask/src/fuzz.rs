//! `cargo xtask fuzz`: coverage-guided fuzzing of the AsyncAPI loader (`fuzz/`, target
//! `load`) under cargo-fuzz on the stable toolchain. Installs cargo-fuzz if missing, seeds
//! the corpus from real documents and runs libFuzzer for a fixed time. Not part of CI.
//!
//! Corpus directories given to libFuzzer, all outside version control:
//! - `fuzz/corpus/load`: the live corpus, where libFuzzer keeps what it finds;
//! - `fuzz/seeds/load`: the repository's own specs, copied afresh on every run;
//! - `../shared/asyncapi/examples/{3.1,2.6}`: the official examples, read in place (never
//!   copied into the repository) when that directory exists.
//!
//! Crashes, timeouts and out-of-memory inputs land in `fuzz/artifacts/load/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The one fuzz target of `fuzz/Cargo.toml`.
const TARGET: &str = "load";

#[derive(clap::Args)]
pub struct Args {
    /// Total fuzzing time in seconds (libFuzzer `-max_total_time`).
    #[arg(long, default_value_t = 300)]
    time: u64,
    /// Seconds one input may take before libFuzzer reports it as a timeout.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// cargo-fuzz `--sanitizer`: `none` by default, since the loader is safe Rust and
    /// panics, stack overflows, timeouts and OOMs are caught without one.
    #[arg(long, default_value = "none")]
    sanitizer: String,
    /// Extra arguments passed to libFuzzer (after `--`), e.g. `-- -only_ascii=1`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    libfuzzer_args: Vec<String>,
}

pub fn run(root: &Path, args: Args) -> Result<()> {
    ensure_cargo_fuzz()?;
    let fuzz_dir = root.join("fuzz");
    let corpus = fuzz_dir.join("corpus").join(TARGET);
    fs::create_dir_all(&corpus).with_context(|| format!("cannot create {}", corpus.display()))?;
    let seeds = fuzz_dir.join("seeds").join(TARGET);
    let copied = seed_from_repo(root, &seeds)?;
    let shared = shared_examples(root);
    eprintln!(
        "fuzz: {copied} repository specs in {}, {} shared example directories",
        seeds.display(),
        shared.len()
    );

    let mut cargo = Command::new(cargo());
    cargo
        .args(["fuzz", "run", TARGET])
        .args(["--sanitizer", &args.sanitizer])
        .arg(&corpus)
        .arg(&seeds)
        .args(&shared)
        .arg("--")
        .arg(format!("-max_total_time={}", args.time))
        .arg(format!("-timeout={}", args.timeout))
        .arg(format!("-dict={}", fuzz_dir.join("load.dict").display()))
        .args(&args.libfuzzer_args)
        // cargo-fuzz passes nightly-only flags (`-Z...`); stable rustc accepts them with this.
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(root);
    let status = cargo.status().context("cannot run cargo fuzz")?;
    if !status.success() {
        bail!(
            "cargo fuzz exited with {status}: see the input it saved under {}",
            fuzz_dir.join("artifacts").join(TARGET).display()
        );
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Installs cargo-fuzz from crates.io unless `cargo fuzz` already works.
fn ensure_cargo_fuzz() -> Result<()> {
    let present = Command::new(cargo())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    eprintln!("fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = Command::new(cargo())
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .context("cannot run cargo install")?;
    if !status.success() {
        bail!("cargo install cargo-fuzz exited with {status}");
    }
    Ok(())
}

/// Copies the repository's specs (root contract, coordinate example, codegen fixtures) into
/// `seeds`, replacing what an earlier run left there. Returns how many files it copied.
fn seed_from_repo(root: &Path, seeds: &Path) -> Result<usize> {
    if seeds.exists() {
        fs::remove_dir_all(seeds).with_context(|| format!("cannot clear {}", seeds.display()))?;
    }
    fs::create_dir_all(seeds).with_context(|| format!("cannot create {}", seeds.display()))?;
    let mut files = vec![root.join("asyncapi.yaml")];
    collect_specs(&root.join("examples/coordinate"), false, &mut files)?;
    collect_specs(&root.join("codegen/tests/fixtures"), true, &mut files)?;
    for file in &files {
        // The relative path, flattened, keeps names unique and says where a seed came from.
        let relative = file.strip_prefix(root).unwrap_or(file);
        let name = relative.to_string_lossy().replace(['/', '\\'], "__");
        fs::copy(file, seeds.join(&name))
            .with_context(|| format!("cannot copy {} into {}", file.display(), seeds.display()))?;
    }
    Ok(files.len())
}

/// The YAML and JSON files in `dir` (and below it when `recursive`), in a stable order.
fn collect_specs(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if recursive {
                collect_specs(&path, true, out)?;
            }
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml" || ext == "json")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The official AsyncAPI examples next to the repository, when present; libFuzzer reads
/// corpus directories recursively and only writes to the first one, so they stay untouched.
fn shared_examples(root: &Path) -> Vec<PathBuf> {
    let base = root.join("../shared/asyncapi/examples");
    let dirs: Vec<PathBuf> = ["3.1", "2.6"]
        .iter()
        .map(|version| base.join(version))
        .filter(|dir| dir.is_dir())
        .collect();
    if dirs.is_empty() {
        eprintln!(
            "fuzz: {} not found; seeding from the repository's specs only",
            base.display()
        );
    }
    dirs
}
