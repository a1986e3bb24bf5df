//! The generated crate of every fixture in `tests/fixtures/generate/`, compared with its
//! checked-in snapshot under `tests/output/generate/<fixture>/`
//! (`EXPECTORATE=overwrite cargo nextest run -p jetwire-codegen` updates them).
//!
//! Snapshotted: the client, worker, operations and service modules, `lib.rs`,
//! `Cargo.toml` and the Markdown docs (the types module has its own snapshots; the
//! HTML page is the Markdown rendered). The `examples-compile` crate compiles the same
//! fixtures.

use std::path::{Path, PathBuf};

use jetwire_codegen::Generator;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/generate")
        .join(format!("{name}.yaml"))
}

fn snapshot(name: &str) {
    let generated = Generator::new(fixture(name))
        .crate_name(format!("{name}-jobs"))
        .runtime_path("../runtime")
        .generate()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut checked = 0;
    for (path, content) in &generated.files {
        let rel = path.to_string_lossy().replace('\\', "/");
        let snapshotted = matches!(
            rel.as_str(),
            "Cargo.toml"
                | "src/lib.rs"
                | "src/service.rs"
                | "src/operations.rs"
                | "src/client.rs"
                | "src/worker.rs"
        ) || (rel.starts_with("docs/") && rel.ends_with(".md"));
        if snapshotted {
            let snapshot = format!("tests/output/generate/{name}/{rel}");
            // expectorate writes new snapshots but does not create their directories.
            if let Some(parent) = Path::new(&snapshot).parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            expectorate::assert_contents(&snapshot, content);
            checked += 1;
        }
    }
    assert!(checked >= 7, "{name}: only {checked} files snapshotted");
}

/// Enum and free subject parameters (with a pattern), typed headers, replies with typed
/// errors, an operation without a reply, several request messages, a send operation.
#[test]
fn jobs() {
    snapshot("jobs");
}

/// Operations whose address is not a NATS subject (an HTTP-style path, no address) get
/// types and docs but no client or worker code.
#[test]
fn skipped() {
    snapshot("skipped");
}

/// Operation, parameter, enum value and message names that are keywords, clash with
/// generated names or are not identifiers; Markdown-breaking characters in texts.
#[test]
fn names() {
    snapshot("names");
}

/// A document without operations still yields a crate that compiles.
#[test]
fn empty() {
    snapshot("empty");
}

#[test]
fn skipped_operations_are_reported() {
    let generated = Generator::new(fixture("skipped")).generate().unwrap();
    let messages: Vec<&str> = generated
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    for op in ["receiveHook", "sendAnything"] {
        assert!(
            messages
                .iter()
                .any(|m| m.contains(&format!("`{op}`")) && m.contains("no client or worker code")),
            "no diagnostic about {op}: {messages:#?}"
        );
    }
    let worker = &generated.files[Path::new("src/worker.rs")];
    assert!(worker.contains("fn ping("));
    assert!(!worker.contains("receive_hook"));
}

#[test]
fn parameter_problems_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("params.yaml");
    std::fs::write(
        &spec,
        r#"asyncapi: 3.1.0
info: { title: Params, version: '1' }
channels:
  c:
    address: jobs.query.c.{target}.{host}
    parameters:
      target:
        enum: [ok, not.ok]
      host:
        x-pattern: '(['
operations:
  op:
    action: receive
    channel: { $ref: '#/channels/c' }
"#,
    )
    .unwrap();
    let generated = Generator::new(&spec).generate().unwrap();
    let messages: Vec<&str> = generated
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("'not.ok' is not a NATS subject token")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("pattern '([' is not a valid regular expression")),
        "{messages:#?}"
    );
}
