//! `ping` against loopback only.

use std::net::TcpListener;

use osapi::providers::ping::{ping, PingMethodChoice, PingMethodUsed, PingQuery, PROBE_INTERVAL};

fn query(address: &str, count: u32, method: PingMethodChoice) -> PingQuery {
    PingQuery {
        count,
        timeout_seconds: 5,
        method,
        ..PingQuery::new(address)
    }
}

fn assert_all_answered(result: &osapi::providers::ping::PingResult, count: u32) {
    assert!(result.reachable, "{result:?}");
    assert_eq!(result.packets_sent, count, "{result:?}");
    assert_eq!(result.packets_received, count, "{result:?}");
    assert_eq!(result.packet_loss_percent, 0.0);
    let (min, avg, max) = (
        result.rtt_min_ms.unwrap(),
        result.rtt_avg_ms.unwrap(),
        result.rtt_max_ms.unwrap(),
    );
    assert!(min <= avg && avg <= max, "{result:?}");
}

#[test]
fn loopback_ipv4_is_reachable() {
    let result = ping(&query("127.0.0.1", 3, PingMethodChoice::Auto)).expect("ping");
    assert_all_answered(&result, 3);
    assert_eq!(result.resolved_address, "127.0.0.1");
}

#[test]
fn loopback_ipv6_is_reachable() {
    let result = ping(&query("::1", 2, PingMethodChoice::Auto)).expect("ping ::1");
    assert_all_answered(&result, 2);
}

#[test]
fn an_ipv4_mapped_address_is_probed_over_ipv4() {
    let result = ping(&query("::ffff:127.0.0.1", 1, PingMethodChoice::Auto)).expect("ping");
    assert_all_answered(&result, 1);
    assert_eq!(result.resolved_address, "127.0.0.1");
}

#[test]
fn a_host_name_is_resolved() {
    let result = ping(&query("localhost", 1, PingMethodChoice::Auto)).expect("ping localhost");
    assert_all_answered(&result, 1);
    let ip: std::net::IpAddr = result.resolved_address.parse().unwrap();
    assert!(ip.is_loopback(), "{result:?}");
    assert_eq!(result.address, "localhost");
}

#[test]
fn icmp_is_used_when_a_socket_for_it_can_be_opened() {
    match ping(&query("127.0.0.1", 1, PingMethodChoice::Icmp)) {
        Ok(result) => {
            assert_eq!(result.method, PingMethodUsed::Icmp);
            assert_all_answered(&result, 1);
        }
        // Neither ping_group_range nor CAP_NET_RAW allows ICMP here: that must be said.
        Err(e) => assert_eq!(e.code(), "PermissionDenied", "{e}"),
    }
}

#[test]
fn tcp_probes_count_accepted_and_refused_connections() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = PingQuery {
        tcp_port: listener.local_addr().unwrap().port(),
        ..query("127.0.0.1", 2, PingMethodChoice::Tcp)
    };
    let result = ping(&open).expect("tcp ping");
    assert_eq!(result.method, PingMethodUsed::Tcp);
    assert_all_answered(&result, 2);

    let closed_port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = PingQuery {
        tcp_port: closed_port,
        ..query("127.0.0.1", 1, PingMethodChoice::Tcp)
    };
    assert_all_answered(&ping(&refused).expect("tcp ping, refused"), 1);
}

#[test]
fn the_deadline_bounds_the_run() {
    let mut q = query("127.0.0.1", 10, PingMethodChoice::Auto);
    q.timeout_seconds = 1;
    let result = ping(&q).expect("ping");
    // 10 probes take 9 intervals (1.8 s); a 1 s deadline cuts the run short.
    let fit = (1_000 / PROBE_INTERVAL.as_millis() + 1) as u32;
    assert!(
        (1..=fit).contains(&result.packets_sent),
        "sent {} probes, at most {fit} fit in 1 s",
        result.packets_sent
    );
    // Only a probe sent just before the deadline may miss its answer.
    assert!(
        result.packets_received + 1 >= result.packets_sent && result.reachable,
        "{result:?}"
    );
}

#[test]
fn an_unresolvable_name_is_unknown_host() {
    let err = ping(&query("no-such-host.invalid", 1, PingMethodChoice::Auto)).unwrap_err();
    assert_eq!(err.code(), "UnknownHost", "{err}");
    assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
}

#[test]
fn a_malformed_address_is_invalid() {
    let err = ping(&query("not an address", 1, PingMethodChoice::Auto)).unwrap_err();
    assert_eq!(err.code(), "InvalidAddress", "{err}");
}
