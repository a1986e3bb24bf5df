//! Runs `jetwire-codegen` in module mode over every example document, every fixture and
//! the project's `asyncapi.yaml`, and
//! writes, into `OUT_DIR`:
//! - `<module>.rs`: the generated code of one document;
//! - `specs.rs`: one `pub mod <module> { include!(...) }` per document;
//! - `checks.rs`: tests derived from each document — the service's operations are
//!   exactly its receive operations on NATS subjects, and every message example
//!   round-trips through its generated payload type.
//!
//! A document the generator rejects becomes a failing test naming the error, so the
//! other documents are still compiled and checked. Clippy is silenced on these modules:
//! they are third-party documents compiled for correctness; lint cleanliness of
//! generated code is held up by the checked-in `generated/` crate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jetwire_codegen::ir::{Action, Spec};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.join("../../..");
    let examples = repo.join("../shared/asyncapi/examples");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    let mut documents: Vec<(String, PathBuf)> = Vec::new();
    for (version, prefix) in [("3.1", "v31"), ("2.6", "v26")] {
        let dir = examples.join(version);
        for path in files(&dir, &["yml", "yaml"]) {
            documents.push((format!("{prefix}_{}", module_name(&path)), path));
        }
        let social = dir.join("social-media");
        for service in dirs(&social) {
            let root = service.join("asyncapi.yaml");
            if root.is_file() {
                documents.push((
                    format!("{prefix}_social_media_{}", module_name(&service)),
                    root,
                ));
            }
        }
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    // The project's own contract (also generated as the `generated/` crate).
    let contract = repo.join("asyncapi.yaml");
    if contract.is_file() {
        documents.push(("osapi".to_string(), contract));
    }
    let fixtures = repo.join("codegen/tests/fixtures/generate");
    for path in files(&fixtures, &["yaml"]) {
        documents.push((format!("fixture_{}", module_name(&path)), path));
    }
    println!("cargo:rerun-if-changed={}", fixtures.display());
    assert!(
        documents.len() > 30,
        "expected the shared AsyncAPI examples under {}",
        examples.display()
    );

    let mut specs = String::new();
    let mut checks = String::new();
    for (module, path) in &documents {
        println!("cargo:rerun-if-changed={}", path.display());
        let shown = path
            .strip_prefix(&repo)
            .unwrap_or(path)
            .display()
            .to_string();
        let generated = jetwire_codegen::load::load_spec(path).and_then(|spec| {
            let module = jetwire_codegen::generate::module_for_spec(&spec)?;
            Ok((spec, module))
        });
        match generated {
            Ok((spec, generated)) => {
                std::fs::write(out.join(format!("{module}.rs")), &generated.code).unwrap();
                writeln!(
                    specs,
                    "#[doc = {shown:?}]\n#[allow(clippy::all)]\npub mod {module} {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/{module}.rs\"));\n}}"
                )
                .unwrap();
                write_checks(&mut checks, module, &shown, &spec, &generated);
            }
            Err(e) => {
                writeln!(
                    checks,
                    "#[test]\nfn {module}_generates() {{\n    panic!(\"{{}}\", {:?});\n}}",
                    format!("{shown}: {e}")
                )
                .unwrap();
            }
        }
    }
    std::fs::write(out.join("specs.rs"), specs).unwrap();
    std::fs::write(out.join("checks.rs"), checks).unwrap();
}

fn write_checks(
    out: &mut String,
    module: &str,
    shown: &str,
    spec: &Spec,
    generated: &jetwire_codegen::generate::ModuleOutput,
) {
    // Expected from the loaded document, independently of the emitter.
    let jobs: Vec<&str> = spec
        .operations
        .iter()
        .filter(|op| op.action == Action::Receive)
        .filter(|op| spec.channels[op.channel.0].subject.is_some())
        .map(|op| op.id.as_str())
        .collect();
    writeln!(
        out,
        "#[test]\nfn {module}_serves_its_receive_operations_on_nats_subjects() {{\n    \
         let ids: Vec<&str> = jetwire_examples_compile::{module}::service::SERVICE\n        \
         .operations.iter().map(|op| op.id).collect();\n    \
         assert_eq!(ids, {jobs:?} as [&str; {}], {shown:?});\n}}",
        jobs.len()
    )
    .unwrap();

    let mut round_trips = String::new();
    for message in &generated.messages {
        if message.payload_type == "()" {
            continue;
        }
        for (i, example) in message.example_payloads.iter().enumerate() {
            let json = serde_json_string(example);
            writeln!(
                round_trips,
                "    check::<{ty}>({shown:?}, {name:?}, {i}, {json:?});",
                ty = message.payload_type,
                name = message.name,
            )
            .unwrap();
        }
    }
    if !round_trips.is_empty() {
        writeln!(
            out,
            "#[test]\nfn {module}_examples_round_trip() {{\n    \
             #[allow(unused_imports)]\n    use jetwire_examples_compile::{module}::types;\n{round_trips}}}"
        )
        .unwrap();
    }
}

fn serde_json_string(v: &serde_json::Value) -> String {
    v.to_string()
}

fn module_name(path: &Path) -> String {
    let stem = path.file_stem().unwrap().to_string_lossy();
    let stem = stem.strip_suffix("-asyncapi").unwrap_or(&stem);
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
        })
        .collect();
    out.sort();
    out
}

fn dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
