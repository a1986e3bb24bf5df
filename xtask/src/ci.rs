//! `cargo xtask ci`: everything CI checks, in the order a failure is cheapest to see.
//! The same command is the README's "pass all tests" command, so a newcomer runs exactly
//! what CI runs.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::deps;

pub fn run() -> Result<()> {
    deps::ensure_nats_server()?;
    step("format", cargo(&["fmt", "--all", "--", "--check"]))?;
    step(
        "generated code is fresh",
        cargo(&["xtask", "codegen", "--check"]),
    )?;
    step(
        "clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    let tests = if has_nextest() {
        cargo(&[
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ])
    } else {
        cargo(&["test", "--workspace", "--locked", "--no-fail-fast"])
    };
    step("tests", tests)?;
    // Doc tests are not run by nextest.
    if has_nextest() {
        step(
            "doc tests",
            cargo(&["test", "--workspace", "--locked", "--doc"]),
        )?;
    }
    Ok(())
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args).current_dir(crate::root());
    cmd
}

fn has_nextest() -> bool {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn step(name: &str, mut cmd: Command) -> Result<()> {
    eprintln!("==> {name}: {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run step '{name}'"))?;
    if !status.success() {
        bail!("step '{name}' failed ({status})");
    }
    Ok(())
}
