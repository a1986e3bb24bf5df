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

/// The items every generated string enum has besides its definition: `ALL` and
/// `as_str`, `Display` and `FromStr` (the value as written in JSON), and an empty
/// [`Validate`](crate::Validate) impl (a value of the enum is valid by construction).
///
/// Generated code invokes it right after the enum, with every variant and its value in
/// schema order:
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// pub enum Mode {
///     Fast,
///     Safe,
/// }
///
/// jetwire::string_enum_impls!(Mode { Fast => "fast", Safe => "safe" });
///
/// assert_eq!(Mode::ALL, &[Mode::Fast, Mode::Safe]);
/// assert_eq!(Mode::Safe.to_string(), "safe");
/// assert_eq!("fast".parse::<Mode>(), Ok(Mode::Fast));
/// assert!("slow".parse::<Mode>().is_err());
/// ```
///
/// Spelled out in a macro so that a spec with thousands of enums does not repeat (and
/// codegen does not format) the same 30 lines for each; rustdoc of the generated crate
/// shows the expanded items and their docs.
#[macro_export]
macro_rules! string_enum_impls {
    ($name:ident { $($variant:ident => $value:literal),* $(,)? }) => {
        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The value as written in JSON.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)*
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::schema::ParseEnumError;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                match value {
                    $($value => ::std::result::Result::Ok(Self::$variant),)*
                    _ => ::std::result::Result::Err(
                        $crate::schema::ParseEnumError::new(::std::stringify!($name), value),
                    ),
                }
            }
        }

        impl $crate::Validate for $name {}
    };
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

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Speed {
        Fast,
        SafeMode,
        R2,
    }

    crate::string_enum_impls!(Speed {
        Fast => "fast",
        SafeMode => "safe-mode",
        R2 => "r2",
    });

    #[test]
    fn string_enum_impls_round_trip_in_schema_order() {
        assert_eq!(Speed::ALL, &[Speed::Fast, Speed::SafeMode, Speed::R2]);
        for v in Speed::ALL {
            assert_eq!(v.to_string(), v.as_str());
            assert_eq!(v.as_str().parse::<Speed>(), Ok(*v));
        }
        assert_eq!(Speed::SafeMode.to_string(), "safe-mode");
        assert_eq!(
            format!("[{:>6}]", Speed::R2),
            "[r2]",
            "Display writes the value as is"
        );
        assert_eq!(crate::Validate::validate(&Speed::Fast), Ok(()));
    }

    #[test]
    fn string_enum_impls_reject_other_strings() {
        for bad in ["SafeMode", "FAST", "", "fast "] {
            assert_eq!(
                bad.parse::<Speed>(),
                Err(ParseEnumError::new("Speed", bad)),
                "{bad:?}"
            );
        }
        let e = "slow".parse::<Speed>().unwrap_err();
        assert_eq!(e.to_string(), "`slow` is not a valid Speed");
    }

    #[test]
    fn enum_error_names_the_value() {
        let e = ParseEnumError::new("Color", "mauve");
        assert_eq!(e.to_string(), "`mauve` is not a valid Color");
    }
}
