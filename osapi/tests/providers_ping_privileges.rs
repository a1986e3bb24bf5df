//! Which probe `ping` uses depends on the privileges of the agent. Each case runs the
//! `osapi local ping` command in a fresh network namespace (its own loopback and its own
//! `net.ipv4.ping_group_range`) without CAP_NET_RAW, so the host's settings are never
//! touched. Creating the namespace needs root (as the agent's hosts and CI run); run
//! unprivileged, these tests say so and check nothing.

mod support;

use std::process::Output;

use serde_json::Value;
use support::{in_namespaces, is_root, printed};

/// Runs `osapi local ping <args>` in a new network namespace whose ping group range is
/// `ping_group_range`, with CAP_NET_RAW dropped.
fn ping_without_net_raw(ping_group_range: &str, args: &str) -> Output {
    in_namespaces(
        &["--net"],
        &format!(
            "ip link set lo up && echo '{ping_group_range}' > /proc/sys/net/ipv4/ping_group_range \
             && exec setpriv --bounding-set=-net_raw --inh-caps=-net_raw \"$OSAPI\" local ping {args}"
        ),
    )
}

fn reply(output: &Output) -> Value {
    assert!(output.status.success(), "{}", printed(output));
    serde_json::from_slice(&output.stdout).expect("a JSON reply")
}

#[test]
fn an_unprivileged_icmp_socket_is_used_when_the_group_range_allows_it() {
    if !is_root() {
        eprintln!("skipped: creating a network namespace needs root");
        return;
    }
    let output = ping_without_net_raw("0 2147483647", "127.0.0.1 --count 2 --method icmp");
    let reply = reply(&output);
    assert_eq!(reply["method"], "icmp", "{reply}");
    assert_eq!(reply["packets_received"], 2, "{reply}");
}

#[test]
fn without_any_icmp_socket_auto_falls_back_to_tcp_and_icmp_is_refused() {
    if !is_root() {
        eprintln!("skipped: creating a network namespace needs root");
        return;
    }
    // "1 0" is the kernel default: no group may open ping sockets.
    let output = ping_without_net_raw("1 0", "127.0.0.1 --count 2 --method auto");
    let reply = reply(&output);
    assert_eq!(reply["method"], "tcp", "{reply}");
    // Nothing listens on port 80 there: the refusals are the answers.
    assert_eq!(reply["packets_received"], 2, "{reply}");

    let output = ping_without_net_raw("1 0", "127.0.0.1 --count 1 --method icmp");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("(PermissionDenied)"), "{stderr}");
    assert!(stderr.contains("ping_group_range"), "{stderr}");
}
