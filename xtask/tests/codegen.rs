//! `cargo xtask codegen`: writes the crate, and `--check` fails naming stale files.

use std::path::Path;
use std::process::Command;

fn xtask(args: &[&str], spec: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--spec")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn codegen_writes_then_check_names_stale_files() {
    let spec =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../codegen/tests/fixtures/generate/jobs.yaml");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated");

    let check = xtask(&["codegen", "--check"], &spec, &out);
    assert!(
        !check.status.success(),
        "an empty directory is not up to date"
    );

    let write = xtask(&["codegen"], &spec, &out);
    assert!(
        write.status.success(),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );
    let cargo = std::fs::read_to_string(out.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"osapi-jobs\""), "{cargo}");
    assert!(
        cargo.contains("jetwire = { path = \"../runtime\" }"),
        "{cargo}"
    );

    let check = xtask(&["codegen", "--check"], &spec, &out);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    std::fs::write(out.join("src/service.rs"), "// edited\n").unwrap();
    let check = xtask(&["codegen", "--check"], &spec, &out);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success());
    assert!(
        stderr.contains("stale: ") && stderr.contains("service.rs"),
        "{stderr}"
    );
    assert!(stderr.contains("cargo xtask codegen"), "{stderr}");
}
