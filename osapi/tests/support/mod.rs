//! Running `osapi local ...` inside fresh Linux namespaces, so tests can exercise what
//! the agent does to the host itself (kernel host name, ICMP privileges) without touching
//! this machine: the namespaces get their own host name, mounts and network stack.

use std::process::{Command, Output};

/// Whether this process runs as root (needed to create the namespaces).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// Runs the shell `script` under `unshare <namespaces>`; `$OSAPI` names the binary.
pub fn in_namespaces(namespaces: &[&str], script: &str) -> Output {
    Command::new("unshare")
        .args(namespaces)
        .args(["sh", "-c", script])
        .env("OSAPI", env!("CARGO_BIN_EXE_osapi"))
        .output()
        .expect("unshare (util-linux) runs")
}

/// Everything the command printed, for assertion messages.
pub fn printed(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
