//! `cargo xtask start`: the newcomer's first command — make sure `nats-server` is
//! installed, then build and run `osapi start` (embedded NATS, an agent and the HTTP API).

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::deps;

pub fn run(extra_args: &[String]) -> Result<()> {
    let bin = deps::ensure_nats_server()?;
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--release", "--package", "osapi", "--", "start"])
        .args(extra_args)
        .env("NATS_SERVER_BIN", &bin)
        .current_dir(crate::root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("osapi start exited with {status}");
    }
    Ok(())
}
