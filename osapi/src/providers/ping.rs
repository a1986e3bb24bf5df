//! `ping`: is a host reachable, and how fast does it answer?
//!
//! How probes are sent (the reply's `method` says which was used):
//! - `icmp`: ICMP echo requests. First through an unprivileged ICMP datagram socket
//!   (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`, allowed when the process's group is
//!   in `net.ipv4.ping_group_range`), else through a raw ICMP socket (needs CAP_NET_RAW).
//! - `tcp`: when neither ICMP socket can be opened (and the request allows it), a TCP
//!   connection attempt to `tcp_port` stands in for each echo: an accepted *or refused*
//!   connection proves the host answered; no answer before the deadline is a lost probe.
//!
//! The system `ping` binary is not used: it is often absent, its output differs between
//! implementations, and the two socket kinds above cover the same privileges.
//!
//! Probes go out every [`PROBE_INTERVAL`] until `count` were sent; the whole run ends
//! when every probe was answered or `timeout_seconds` (counted from the start, name
//! resolution included) has passed, whichever is first. An unanswered probe is lost, not
//! an error: a host that answers nothing is a result with `reachable: false`. Errors are
//! for runs that could not happen: a malformed address (`InvalidAddress`), a name that
//! does not resolve (`UnknownHost`), no permitted way to probe (`PermissionDenied`), or a
//! send the kernel refuses, e.g. no route (`PingFailed`).
//!
//! This is blocking code; the agent runs it on a blocking thread.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};

use super::error::ProviderError;
use super::names::hostname_problem;

/// Time between two probes (the shortest interval `ping` allows unprivileged users).
pub const PROBE_INTERVAL: Duration = Duration::from_millis(200);
/// Bounds of `count` in the contract.
pub const MAX_COUNT: u32 = 10;
/// Bounds of `timeout_seconds` in the contract.
pub const MAX_TIMEOUT_SECONDS: u32 = 50;

/// Which probe the caller wants (the contract's `PingMethodChoice`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PingMethodChoice {
    /// ICMP when a socket for it can be opened, else TCP.
    #[default]
    Auto,
    /// ICMP only; `PermissionDenied` when no ICMP socket can be opened.
    Icmp,
    /// TCP connection attempts only.
    Tcp,
}

/// The probe that was used (the contract's `PingMethodUsed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PingMethodUsed {
    Icmp,
    Tcp,
}

/// Mirrors the contract's `PingQuery` schema (without the transport's `request_id`;
/// absent optional fields take the contract's defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingQuery {
    /// Host name or IP address.
    pub address: String,
    /// Probes to send, 1–10.
    #[serde(default = "defaults::count")]
    pub count: u32,
    /// Deadline for the whole run, 1–50 seconds.
    #[serde(default = "defaults::timeout_seconds")]
    pub timeout_seconds: u32,
    #[serde(default)]
    pub method: PingMethodChoice,
    /// Port for TCP probes.
    #[serde(default = "defaults::tcp_port")]
    pub tcp_port: u16,
}

/// The contract's defaults of `PingQuery`.
mod defaults {
    pub fn count() -> u32 {
        4
    }
    pub fn timeout_seconds() -> u32 {
        10
    }
    pub fn tcp_port() -> u16 {
        80
    }
}

impl PingQuery {
    /// A query with the contract's defaults: 4 probes, 10 s, `auto`, TCP port 80.
    pub fn new(address: impl Into<String>) -> Self {
        PingQuery {
            address: address.into(),
            count: defaults::count(),
            timeout_seconds: defaults::timeout_seconds(),
            method: PingMethodChoice::Auto,
            tcp_port: defaults::tcp_port(),
        }
    }
}

/// Mirrors the contract's `PingResult` schema.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PingResult {
    /// The address as requested.
    pub address: String,
    /// The IP address probed (the first one the name resolved to).
    pub resolved_address: String,
    pub method: PingMethodUsed,
    /// At least one probe was answered.
    pub reachable: bool,
    pub packets_sent: u32,
    pub packets_received: u32,
    /// Share of probes not answered, 0–100, two decimals.
    pub packet_loss_percent: f64,
    /// Round-trip times in milliseconds; absent when nothing was answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_min_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_avg_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_max_ms: Option<f64>,
}

/// Runs the probes described by `query`.
pub fn ping(query: &PingQuery) -> Result<PingResult, ProviderError> {
    let start = Instant::now();
    check_bounds(query)?;
    let deadline = start + Duration::from_secs(u64::from(query.timeout_seconds));
    let target = resolve(&query.address, deadline)?;

    let (method, rtts, sent) = match query.method {
        PingMethodChoice::Tcp => tcp_probes(query, target, deadline),
        PingMethodChoice::Icmp | PingMethodChoice::Auto => match IcmpSocket::open(target) {
            Ok(socket) => socket.probes(query, target, deadline)?,
            Err(_) if query.method == PingMethodChoice::Auto => tcp_probes(query, target, deadline),
            Err(e) => {
                return Err(ProviderError::PermissionDenied {
                    operation: format!(
                        "open an ICMP socket ({e}; the group is outside \
                         net.ipv4.ping_group_range and CAP_NET_RAW is missing)"
                    ),
                    path: None,
                })
            }
        },
    };
    Ok(summarize(query, target, method, sent, &rtts))
}

fn check_bounds(query: &PingQuery) -> Result<(), ProviderError> {
    let failed = |reason: String| ProviderError::PingFailed {
        address: query.address.clone(),
        reason,
    };
    if !(1..=MAX_COUNT).contains(&query.count) {
        return Err(failed(format!(
            "count is {}; it must be between 1 and {MAX_COUNT}",
            query.count
        )));
    }
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&query.timeout_seconds) {
        return Err(failed(format!(
            "timeout_seconds is {}; it must be between 1 and {MAX_TIMEOUT_SECONDS}",
            query.timeout_seconds
        )));
    }
    if query.method == PingMethodChoice::Tcp && query.tcp_port == 0 {
        return Err(failed("tcp_port must not be 0".into()));
    }
    Ok(())
}

/// An IP address as is; a host name through the system resolver (getaddrinfo), bounded
/// by the deadline. The resolver cannot be interrupted, so it runs on its own thread
/// that is left to finish on its own when the deadline passes.
fn resolve(address: &str, deadline: Instant) -> Result<IpAddr, ProviderError> {
    if let Ok(ip) = address.parse::<IpAddr>() {
        // An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is probed over IPv4.
        return Ok(ip.to_canonical());
    }
    if let Some(reason) = hostname_problem(address) {
        return Err(ProviderError::InvalidAddress {
            field: "address".into(),
            value: address.into(),
            reason: format!("neither an IP address nor a valid host name: {reason}"),
        });
    }
    let unknown = |reason: String| ProviderError::UnknownHost {
        address: address.into(),
        reason,
    };
    let (tx, rx) = mpsc::channel();
    let name = address.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(
            (name.as_str(), 0)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>()),
        );
    });
    let wait = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(wait) {
        Ok(Ok(addrs)) => addrs
            .first()
            .map(|a| a.ip().to_canonical())
            .ok_or_else(|| unknown("the name has no addresses".into())),
        Ok(Err(e)) => Err(unknown(e.to_string())),
        Err(_) => Err(unknown(format!(
            "name resolution did not finish within {} s",
            wait.as_secs_f64().ceil()
        ))),
    }
}

fn summarize(
    query: &PingQuery,
    target: IpAddr,
    method: PingMethodUsed,
    sent: u32,
    rtts: &[Duration],
) -> PingResult {
    let received = rtts.len() as u32;
    let ms = |d: Duration| (d.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let lost = f64::from(sent - received) / f64::from(sent.max(1)) * 100.0;
    let avg = (!rtts.is_empty()).then(|| rtts.iter().sum::<Duration>() / received);
    PingResult {
        address: query.address.clone(),
        resolved_address: target.to_string(),
        method,
        reachable: received > 0,
        packets_sent: sent,
        packets_received: received,
        packet_loss_percent: (lost * 100.0).round() / 100.0,
        rtt_min_ms: rtts.iter().min().copied().map(ms),
        rtt_avg_ms: avg.map(ms),
        rtt_max_ms: rtts.iter().max().copied().map(ms),
    }
}

/// One TCP connection attempt per probe; accepted or refused both count as an answer.
fn tcp_probes(
    query: &PingQuery,
    target: IpAddr,
    deadline: Instant,
) -> (PingMethodUsed, Vec<Duration>, u32) {
    let addr = SocketAddr::new(target, query.tcp_port);
    let mut rtts = Vec::new();
    let mut sent = 0;
    while sent < query.count {
        let now = Instant::now();
        let Some(remaining) = deadline
            .checked_duration_since(now)
            .filter(|d| !d.is_zero())
        else {
            break;
        };
        sent += 1;
        match TcpStream::connect_timeout(&addr, remaining) {
            Ok(_) => rtts.push(now.elapsed()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => rtts.push(now.elapsed()),
            Err(_) => {}
        }
        if sent < query.count {
            let next = now + PROBE_INTERVAL;
            std::thread::sleep(next.min(deadline).saturating_duration_since(Instant::now()));
        }
    }
    (PingMethodUsed::Tcp, rtts, sent)
}

/// An ICMP echo socket of either kind.
struct IcmpSocket {
    socket: UdpSocket,
    /// Raw sockets see every ICMP packet (IPv4 ones with the IP header in front); a
    /// datagram socket sees only replies to itself, with the identifier set by the kernel.
    raw: bool,
    identifier: u16,
    /// Random bytes carried in every echo, to recognise our own replies.
    token: [u8; 8],
}

impl IcmpSocket {
    fn open(target: IpAddr) -> io::Result<Self> {
        let (domain, protocol) = match target {
            IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
            IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
        };
        let (socket, raw) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
            Ok(s) => (s, false),
            Err(dgram_err) => match Socket::new(domain, Type::RAW, Some(protocol)) {
                Ok(s) => (s, true),
                Err(_) => return Err(dgram_err),
            },
        };
        let random = RandomState::new().build_hasher().finish().to_be_bytes();
        Ok(IcmpSocket {
            // std's datagram calls (send_to/recv_from with a timeout) work on any
            // datagram-style socket, ICMP included.
            socket: UdpSocket::from(socket),
            raw,
            identifier: u16::from_be_bytes([random[0], random[1]]) ^ std::process::id() as u16,
            token: random,
        })
    }

    fn probes(
        &self,
        query: &PingQuery,
        target: IpAddr,
        deadline: Instant,
    ) -> Result<(PingMethodUsed, Vec<Duration>, u32), ProviderError> {
        let destination = SocketAddr::new(target, 0);
        let mut outstanding: HashMap<u16, Instant> = HashMap::new();
        let mut rtts = Vec::new();
        let mut sent: u32 = 0;
        let mut next_send = Instant::now();
        let mut buffer = [0u8; 1500];
        loop {
            let now = Instant::now();
            if now >= deadline || (sent == query.count && outstanding.is_empty()) {
                break;
            }
            if sent < query.count && now >= next_send {
                sent += 1;
                let sequence = sent as u16;
                let packet = echo_request(target.is_ipv4(), self.identifier, sequence, &self.token);
                self.socket.send_to(&packet, destination).map_err(|e| {
                    ProviderError::PingFailed {
                        address: query.address.clone(),
                        reason: format!("sending an ICMP echo request failed: {e}"),
                    }
                })?;
                outstanding.insert(sequence, Instant::now());
                next_send = now + PROBE_INTERVAL;
            }
            let wake = if sent < query.count {
                next_send.min(deadline)
            } else {
                deadline
            };
            let wait = wake.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                continue;
            }
            self.socket
                .set_read_timeout(Some(wait))
                .map_err(|e| ProviderError::PingFailed {
                    address: query.address.clone(),
                    reason: format!("cannot wait for replies: {e}"),
                })?;
            match self.socket.recv_from(&mut buffer) {
                Ok((len, from)) if from.ip() == target => {
                    let icmp = if self.raw && target.is_ipv4() {
                        strip_ipv4_header(&buffer[..len])
                    } else {
                        Some(&buffer[..len])
                    };
                    let reply = icmp.and_then(|p| parse_echo_reply(target.is_ipv4(), p));
                    if let Some(reply) = reply.filter(|r| self.is_ours(r)) {
                        if let Some(sent_at) = outstanding.remove(&reply.sequence) {
                            rtts.push(sent_at.elapsed());
                        }
                    }
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(ProviderError::PingFailed {
                        address: query.address.clone(),
                        reason: format!("receiving ICMP replies failed: {e}"),
                    })
                }
            }
        }
        Ok((PingMethodUsed::Icmp, rtts, sent))
    }

    fn is_ours(&self, reply: &EchoReply<'_>) -> bool {
        // A datagram socket's identifier is chosen by the kernel, which already filters.
        (!self.raw || reply.identifier == self.identifier) && reply.payload.starts_with(&self.token)
    }
}

const ICMPV4_ECHO_REQUEST: u8 = 8;
const ICMPV4_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;

/// An ICMP echo request. The IPv4 checksum is computed here; for ICMPv6 the kernel
/// fills it in (it covers a pseudo-header only the kernel knows).
pub fn echo_request(ipv4: bool, identifier: u16, sequence: u16, payload: &[u8]) -> Vec<u8> {
    let kind = if ipv4 {
        ICMPV4_ECHO_REQUEST
    } else {
        ICMPV6_ECHO_REQUEST
    };
    let mut packet = vec![kind, 0, 0, 0];
    packet.extend_from_slice(&identifier.to_be_bytes());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(payload);
    if ipv4 {
        let sum = internet_checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// RFC 1071 one's-complement checksum.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The fields of an echo reply we match on.
#[derive(Debug, PartialEq, Eq)]
pub struct EchoReply<'a> {
    pub identifier: u16,
    pub sequence: u16,
    pub payload: &'a [u8],
}

/// Parses an ICMP message; `None` unless it is an echo reply.
pub fn parse_echo_reply(ipv4: bool, packet: &[u8]) -> Option<EchoReply<'_>> {
    let reply_type = if ipv4 {
        ICMPV4_ECHO_REPLY
    } else {
        ICMPV6_ECHO_REPLY
    };
    if packet.len() < 8 || packet[0] != reply_type || packet[1] != 0 {
        return None;
    }
    Some(EchoReply {
        identifier: u16::from_be_bytes([packet[4], packet[5]]),
        sequence: u16::from_be_bytes([packet[6], packet[7]]),
        payload: &packet[8..],
    })
}

/// The payload of an IPv4 packet (what a raw IPv4 socket delivers).
pub fn strip_ipv4_header(packet: &[u8]) -> Option<&[u8]> {
    let header_len = usize::from(packet.first()? & 0x0f) * 4;
    (packet.first()? >> 4 == 4 && header_len >= 20)
        .then(|| packet.get(header_len..))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_has_a_valid_checksum() {
        let packet = echo_request(true, 0x1234, 1, b"hello");
        assert_eq!(&packet[..2], &[8, 0]);
        assert_eq!(&packet[4..8], &[0x12, 0x34, 0, 1]);
        // A correct checksum makes the checksum of the whole packet zero.
        assert_eq!(internet_checksum(&packet), 0);
        let v6 = echo_request(false, 7, 2, b"x");
        assert_eq!(&v6[..4], &[128, 0, 0, 0]);
    }

    #[test]
    fn parses_echo_replies_behind_an_ipv4_header() {
        // A loopback reply as a raw socket delivers it (20-byte IPv4 header first).
        let mut packet = vec![
            0x45, 0, 0, 33, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        let mut icmp = echo_request(true, 0xbeef, 3, b"token");
        icmp[0] = ICMPV4_ECHO_REPLY;
        packet.extend_from_slice(&icmp);
        let reply = parse_echo_reply(true, strip_ipv4_header(&packet).unwrap()).unwrap();
        assert_eq!(
            reply,
            EchoReply {
                identifier: 0xbeef,
                sequence: 3,
                payload: b"token"
            }
        );
        // Our own request, also seen by a raw socket on loopback, is not a reply.
        assert_eq!(parse_echo_reply(true, &echo_request(true, 1, 1, b"")), None);
        assert_eq!(strip_ipv4_header(&[0x60, 0, 0]), None);
    }

    #[test]
    fn summary_statistics() {
        let query = PingQuery::new("192.0.2.1");
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let rtts = [Duration::from_micros(1500), Duration::from_micros(500)];
        let result = summarize(&query, ip, PingMethodUsed::Icmp, 4, &rtts);
        assert!(result.reachable);
        assert_eq!(result.packet_loss_percent, 50.0);
        assert_eq!(result.rtt_min_ms, Some(0.5));
        assert_eq!(result.rtt_avg_ms, Some(1.0));
        assert_eq!(result.rtt_max_ms, Some(1.5));
        let none = summarize(&query, ip, PingMethodUsed::Tcp, 3, &[]);
        assert!(!none.reachable);
        assert_eq!(none.packet_loss_percent, 100.0);
        assert_eq!(none.rtt_avg_ms, None);
    }

    #[test]
    fn out_of_range_queries_are_refused() {
        let mut query = PingQuery::new("127.0.0.1");
        query.count = 11;
        assert_eq!(ping(&query).unwrap_err().code(), "PingFailed");
        let mut query = PingQuery::new("127.0.0.1");
        query.timeout_seconds = 0;
        assert_eq!(ping(&query).unwrap_err().code(), "PingFailed");
        let err = ping(&PingQuery::new("bad_name!")).unwrap_err();
        assert_eq!(err.code(), "InvalidAddress");
    }
}
