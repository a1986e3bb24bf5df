//! Validation of host names, domain names and IP addresses, shared by the providers that
//! accept them. The rules match the contract's `Hostname` and `IpAddress` schemas; the
//! providers check them again because they are the last line before a system file.

use std::net::IpAddr;

use super::error::ProviderError;

/// Longest host name RFC 1123 allows (as text, without a trailing dot).
pub const MAX_HOSTNAME_LEN: usize = 253;
/// Longest label of a host name.
pub const MAX_LABEL_LEN: usize = 63;

/// Checks an RFC 1123 host name: dot-separated labels of ASCII letters, digits and
/// hyphens, each 1–63 characters, not starting or ending with a hyphen; 253 characters in
/// all. Returns why it is not one.
pub fn hostname_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > MAX_HOSTNAME_LEN {
        return Some(format!(
            "is {} characters long; at most {MAX_HOSTNAME_LEN} are allowed",
            name.len()
        ));
    }
    for (index, label) in name.split('.').enumerate() {
        let position = index + 1;
        if label.is_empty() {
            return Some(format!("label {position} is empty"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Some(format!(
                "label {position} ('{label}') is {} characters long; at most {MAX_LABEL_LEN} are allowed",
                label.len()
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!(
                "label {position} ('{label}') contains '{}'; only letters, digits and '-' are allowed",
                c.escape_default()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!(
                "label {position} ('{label}') starts or ends with '-'"
            ));
        }
    }
    None
}

/// [`hostname_problem`] as a typed error naming `field`.
pub fn check_hostname(field: &str, name: &str) -> Result<(), ProviderError> {
    match hostname_problem(name) {
        None => Ok(()),
        Some(reason) => Err(ProviderError::InvalidHostname {
            field: field.into(),
            value: name.into(),
            reason,
        }),
    }
}

/// Parses an IPv4 or IPv6 address (no zone index, no port) as a typed error naming `field`.
pub fn parse_ip(field: &str, value: &str) -> Result<IpAddr, ProviderError> {
    value
        .parse::<IpAddr>()
        .map_err(|_| ProviderError::InvalidAddress {
            field: field.into(),
            value: value.into(),
            reason: "not an IPv4 or IPv6 address".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc1123_names() {
        for ok in [
            "a",
            "web-01",
            "db1.example.com",
            "1host",
            "xn--bcher-kva.example",
            &format!("{}.com", "a".repeat(63)),
        ] {
            assert_eq!(hostname_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn rejects_bad_names_with_a_reason() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = vec!["abcdefghi"; 26].join(".");
        for (bad, why) in [
            ("", "empty"),
            ("-web", "starts or ends"),
            ("web-", "starts or ends"),
            ("a..b", "label 2 is empty"),
            ("trailing.", "label 2 is empty"),
            ("under_score", "contains '_'"),
            ("sp ace", "contains ' '"),
            (long_label.as_str(), "at most 63"),
            (long_name.as_str(), "at most 253"),
        ] {
            let problem = hostname_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(problem.contains(why), "{bad:?}: {problem}");
        }
    }

    #[test]
    fn parses_ip_addresses() {
        assert!(parse_ip("f", "192.0.2.1").unwrap().is_ipv4());
        assert!(parse_ip("f", "2001:db8::1").unwrap().is_ipv6());
        let err = parse_ip("nameservers[1]", "300.1.1.1").unwrap_err();
        assert_eq!(err.code(), "InvalidAddress");
        assert!(err.to_string().contains("nameservers[1]"), "{err}");
        assert!(parse_ip("f", "fe80::1%eth0").is_err());
    }
}
