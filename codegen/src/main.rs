//! `jetwire-codegen`: AsyncAPI document → typed Rust crate and docs.

// Generation allocates and frees many small syntax trees: mimalloc makes it about a
// third faster than the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jetwire_codegen::ir::{Diagnostic, Severity};
use jetwire_codegen::Generator;

#[derive(Parser)]
#[command(
    name = "jetwire-codegen",
    version,
    about = "Generate a typed Rust crate (job client, worker trait, service metadata) and \
             docs from an AsyncAPI 3.x/2.6 document for the jetwire protocol on NATS JetStream"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a standalone crate (Cargo.toml, src/, docs/) into a directory.
    ///
    /// Only files whose content changed are written; files an earlier run generated
    /// that are no longer produced are removed. Other files in the directory are kept.
    Generate {
        /// The AsyncAPI document (YAML or JSON).
        #[arg(long, value_name = "FILE")]
        spec: PathBuf,
        /// The crate directory to write.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The package name of the generated crate.
        #[arg(long, value_name = "NAME")]
        crate_name: String,
        /// Depend on the jetwire runtime by path (relative to the generated crate).
        #[arg(long, value_name = "PATH", conflicts_with = "runtime_version")]
        runtime_path: Option<String>,
        /// Depend on the jetwire runtime by version requirement (default: this tool's version).
        #[arg(long, value_name = "VERSION")]
        runtime_version: Option<String>,
        /// Do not generate docs/.
        #[arg(long)]
        no_docs: bool,
        /// Add an empty `[workspace]` table to Cargo.toml, so the crate builds on its own
        /// even inside another workspace's directory.
        #[arg(long)]
        standalone: bool,
        /// Write nothing; exit 1 listing the files that are not up to date.
        #[arg(long)]
        check: bool,
    },
    /// Load and validate a document, print its diagnostics; exit 1 if it cannot be used.
    Check {
        /// The AsyncAPI document (YAML or JSON).
        #[arg(long, value_name = "FILE")]
        spec: PathBuf,
    },
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        let level = match d.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
        };
        eprintln!("{level}: {}: {}", d.location, d.message);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { spec } => match jetwire_codegen::load::load_spec(&spec) {
            Ok(spec) => {
                // Generation may add its own diagnostics (skipped operations, schema
                // keywords without a Rust mapping): run it without writing anything.
                match Generator::new(&spec.source.path).generate_spec(&spec) {
                    Ok(generated) => {
                        print_diagnostics(&generated.diagnostics);
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        print_diagnostics(&spec.diagnostics);
                        eprintln!("error: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Generate {
            spec,
            out,
            crate_name,
            runtime_path,
            runtime_version,
            no_docs,
            standalone,
            check,
        } => {
            let mut generator = Generator::new(&spec)
                .crate_name(crate_name)
                .docs(!no_docs)
                .standalone(standalone);
            if let Some(path) = runtime_path {
                generator = generator.runtime_path(path);
            }
            if let Some(version) = runtime_version {
                generator = generator.runtime_version(version);
            }
            let generated = match generator.generate() {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            print_diagnostics(&generated.diagnostics);
            if check {
                let stale = generated.check_against(&out);
                if stale.is_empty() {
                    return ExitCode::SUCCESS;
                }
                for path in stale {
                    eprintln!("stale: {}", out.join(path).display());
                }
                eprintln!(
                    "error: {} is not up to date with {}; regenerate it",
                    out.display(),
                    spec.display()
                );
                return ExitCode::FAILURE;
            }
            match generated.write_to(&out) {
                Ok(summary) => {
                    for path in &summary.written {
                        eprintln!("wrote {}", out.join(path).display());
                    }
                    for path in &summary.removed {
                        eprintln!("removed {}", out.join(path).display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
