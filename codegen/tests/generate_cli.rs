//! The `jetwire-codegen` command line: `check` and `generate`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jetwire-codegen"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/generate")
        .join(format!("{name}.yaml"))
}

#[test]
fn check_accepts_a_valid_document_and_prints_its_warnings() {
    let out = bin()
        .args(["check", "--spec"])
        .arg(fixture("skipped"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // `warning: file:line:col (at #/ptr): message`
    let line = stderr
        .lines()
        .find(|l| l.contains("`receiveHook`"))
        .unwrap_or_else(|| panic!("no warning about receiveHook: {stderr}"));
    assert!(line.starts_with("warning: "), "{line}");
    assert!(line.contains("skipped.yaml:"), "{line}");
    assert!(line.contains("(at #/operations/receiveHook)"), "{line}");
}

#[test]
fn check_rejects_a_broken_document_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("broken.yaml");
    std::fs::write(
        &spec,
        "asyncapi: 3.1.0\ninfo:\n  title: T\n  version: '1'\noperations:\n  op:\n    action: receive\n    channel:\n      $ref: '#/channels/missing'\n",
    )
    .unwrap();
    let out = bin().args(["check", "--spec"]).arg(&spec).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(line.contains("broken.yaml:9:"), "{line}");
    assert!(line.contains("#/operations/op/channel"), "{line}");
}

#[test]
fn generate_writes_a_crate_and_check_mode_reports_stale_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("fleet");
    let generate = |extra: &[&str]| {
        bin()
            .arg("generate")
            .arg("--spec")
            .arg(fixture("jobs"))
            .arg("--out")
            .arg(&out_dir)
            .args(["--crate-name", "fleet-jobs", "--runtime-path", "../runtime"])
            .args(extra)
            .output()
            .unwrap()
    };
    let first = generate(&[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let cargo = std::fs::read_to_string(out_dir.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"fleet-jobs\""));
    assert!(cargo.contains("jetwire = { path = \"../runtime\" }"));
    assert!(out_dir.join("docs/index.html").exists());

    assert!(generate(&["--check"]).status.success());
    std::fs::write(out_dir.join("src/worker.rs"), "// edited\n").unwrap();
    let check = generate(&["--check"]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stale: ") && stderr.contains("worker.rs"),
        "{stderr}"
    );
}

/// `generate --standalone` writes a crate that `cargo check` accepts on its own, even
/// inside another workspace's directory tree (here: this workspace's `target/`).
#[test]
fn a_standalone_crate_checks_on_its_own() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out_dir = tmp.join("standalone-fleet");
    let _ = std::fs::remove_dir_all(&out_dir);
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime");
    let generate = bin()
        .arg("generate")
        .arg("--spec")
        .arg(fixture("jobs"))
        .arg("--out")
        .arg(&out_dir)
        .args([
            "--crate-name",
            "fleet-jobs",
            "--standalone",
            "--runtime-path",
        ])
        .arg(runtime.canonicalize().unwrap())
        .output()
        .unwrap();
    assert!(
        generate.status.success(),
        "{}",
        String::from_utf8_lossy(&generate.stderr)
    );
    // The workspace's lock file: the same dependency versions, no registry access.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"),
        out_dir.join("Cargo.lock"),
    )
    .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let check = Command::new(cargo)
        .args(["check", "--offline", "--quiet"])
        .current_dir(&out_dir)
        .env("CARGO_TARGET_DIR", tmp.join("standalone-target"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
