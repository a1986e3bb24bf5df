//! Installing what the project needs outside Cargo: only `nats-server`, from Debian's
//! package (the documented install path). `NATS_SERVER_BIN` points at another binary.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Makes sure a `nats-server` binary is available; installs Debian's package when it is
/// missing and we may (root, or passwordless sudo). Returns the binary's path.
pub fn ensure_nats_server() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!(
                "NATS_SERVER_BIN={} does not name a file; unset it to use nats-server from PATH",
                bin.display()
            );
        }
        return Ok(bin);
    }
    if let Some(bin) = find_in_path("nats-server") {
        return Ok(bin);
    }
    eprintln!("==> nats-server not found: installing Debian's package 'nats-server'");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let prefix: &[&str] = if is_root { &[] } else { &["sudo", "-n"] };
    for args in [
        &["apt-get", "update", "-qq"][..],
        &["apt-get", "install", "-y", "-qq", "nats-server"][..],
    ] {
        let mut full: Vec<&str> = prefix.to_vec();
        full.extend_from_slice(args);
        let status = Command::new(full[0])
            .args(&full[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .with_context(|| format!("cannot run {}", full.join(" ")))?;
        if !status.success() {
            bail!(
                "'{}' failed; install nats-server yourself (apt-get install nats-server) \
                 or set NATS_SERVER_BIN to a nats-server binary",
                full.join(" ")
            );
        }
    }
    find_in_path("nats-server").context("nats-server was installed but is not on PATH")
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
