//! Project tasks: `cargo xtask <command>`.

// Code generation (`codegen`, `bench codegen`) allocates and frees many small syntax
// trees: mimalloc makes it about a third faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod ci;
mod codegen;
mod deps;
mod fuzz;
mod spec_diff;
mod start;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Project tasks of the jetwire workspace"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate `generated/` (crate osapi-jobs) from `asyncapi.yaml`.
    Codegen(codegen::Args),
    /// Everything CI runs: install nats-server if missing, then format check, generated-code
    /// freshness, clippy, and the whole test suite against a real nats-server.
    Ci,
    /// Benchmarks with in-run baselines (`runtime`, the default, or `codegen`); runs in
    /// release and writes a JSON report under `target/bench/`.
    Bench(bench::Args),
    /// Breaking-change report between two versions of the contract (Markdown or JSON);
    /// fails when something breaks without a major `info.version` bump.
    SpecDiff(spec_diff::Args),
    /// Fuzz the spec loader under cargo-fuzz (installed if missing) on stable Rust, seeded
    /// from the repository's specs and `../shared/asyncapi/examples`; not part of CI.
    Fuzz(fuzz::Args),
    /// Install nats-server if missing, then build and run `osapi start`.
    Start {
        /// Extra arguments passed to `osapi start`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// The workspace root (this crate lives in `<root>/xtask`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Codegen(args) => codegen::run(&root(), args),
        Command::Ci => ci::run(),
        Command::SpecDiff(args) => spec_diff::run(&root(), args),
        Command::Start { args } => start::run(&args),
        Command::Bench(args) => bench::run(&root(), args),
        Command::Fuzz(args) => fuzz::run(&root(), args),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole cause chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
