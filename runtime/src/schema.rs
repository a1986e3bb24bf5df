//! Support for the payload types generated from JSON Schemas: the string format checks
//! their `validate()` runs, and the error of parsing a string enum.
//!
//! The format checks are deliberately small: they accept what the formats' RFCs
//! describe in the common cases (ASCII hostnames, dotted-quad IPv4, `std::net` IPv6,
//! `scheme:rest` URIs, `local@domain` emails) without pulling in a validation crate.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A string that is not one of a string enum's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {type_name}")]
pub struct ParseEnumError {
    /// The enum's type name.
    pub type_name: &'static str,
    /// The rejected string.
    pub value: String,
}

impl ParseEnumError {
    pub fn new(type_name: &'static str, value: &str) -> Self {
        ParseEnumError {
            type_name,
            value: value.to_string(),
        }
    }
}

/// RFC 1123 hostname: dot-separated labels of 1–63 letters, digits and hyphens, not
/// starting or ending with a hyphen; at most 253 characters; one trailing dot allowed.
pub fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Dotted-quad IPv4 address (no leading zeros, as `std::net` parses it).
pub fn is_ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

/// IPv6 address in any of RFC 4291's text forms (without a zone id).
pub fn is_ipv6(s: &str) -> bool {
    s.parse::<Ipv6Addr>().is_ok()
}

/// `local-part@domain`: a non-empty local part of printable characters without spaces,
/// and a hostname or a bracketed IP literal as the domain.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '@');
    let domain_ok = match domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        Some(literal) => literal
            .strip_prefix("IPv6:")
            .map_or_else(|| is_ipv4(literal), is_ipv6),
        None => domain.contains('.') && is_hostname(domain),
    };
    local_ok && domain_ok
}

/// Absolute URI (RFC 3986): a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`),
/// a colon, and a rest without spaces or control characters.
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let rest_ok = rest.chars().all(|c| {
        !c.is_control()
            && !c.is_whitespace()
            && !matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
    });
    let authority_ok = match rest.strip_prefix("//") {
        Some(after) => {
            let authority = after.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            !host.is_empty() || scheme.eq_ignore_ascii_case("file")
        }
        None => true,
    };
    scheme_ok && rest_ok && authority_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        for ok in [
            "localhost",
            "a.example.com",
            "xn--bcher-kva.de",
            "host-1.",
            "a",
        ] {
            assert!(is_hostname(ok), "{ok}");
        }
        let long_label = "a".repeat(64);
        for bad in [
            "",
            "-a.com",
            "a-.com",
            "a..b",
            "a b",
            "ä.de",
            long_label.as_str(),
        ] {
            assert!(!is_hostname(bad), "{bad}");
        }
    }

    #[test]
    fn ip_addresses() {
        assert!(is_ipv4("192.168.0.1"));
        assert!(!is_ipv4("256.1.1.1"));
        assert!(!is_ipv4("::1"));
        assert!(is_ipv6("::1"));
        assert!(is_ipv6("2001:db8::8a2e:370:7334"));
        assert!(!is_ipv6("192.168.0.1"));
        assert!(!is_ipv6("2001:db8:::1"));
    }

    #[test]
    fn emails() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.example.org",
            "x@[192.168.0.1]",
            "x@[IPv6:::1]",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@localhost",
            "a@-x.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn uris() {
        for ok in [
            "https://example.com/a?b=c#d",
            "mailto:a@example.com",
            "urn:isbn:0451450523",
            "file:///etc/hosts",
            "nats://user@127.0.0.1:4222",
        ] {
            assert!(is_uri(ok), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "/relative/path",
            "1http://x",
            "http://",
            "http://exa mple.com",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }

    #[test]
    fn enum_error_names_the_value() {
        let e = ParseEnumError::new("Color", "mauve");
        assert_eq!(e.to_string(), "`mauve` is not a valid Color");
    }
}
