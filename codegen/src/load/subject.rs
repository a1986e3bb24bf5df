//! Channel addresses as NATS subjects.

use crate::ir::{SubjectTemplate, SubjectToken};

/// Parses `address` into a subject template, or says why it is not a usable NATS
/// subject: tokens are separated by `.`, none may be empty, contain whitespace or be a
/// wildcard (`*`, `>`), a `{parameter}` must be a whole token, and subjects starting
/// with `$` are reserved for the server (`$JS.`, `$SYS.`, `$KV.`).
pub fn parse_subject(address: &str) -> Result<SubjectTemplate, String> {
    if address.is_empty() {
        return Err("the address is empty".into());
    }
    if address.starts_with('$') {
        return Err("subjects starting with `$` are reserved by the NATS server".into());
    }
    let mut tokens = Vec::new();
    for (index, token) in address.split('.').enumerate() {
        let n = index + 1;
        if token.is_empty() {
            return Err(format!(
                "token {n} is empty (`..`, or a leading/trailing `.`)"
            ));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("token {n} (`{token}`) contains whitespace"));
        }
        if token == "*" || token == ">" || token.contains('*') || token.contains('>') {
            return Err(format!(
                "token {n} (`{token}`) is or contains a wildcard; a channel must name concrete subjects"
            ));
        }
        if let Some(name) = token.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            if name.is_empty() || name.contains(['{', '}']) {
                return Err(format!(
                    "token {n} (`{token}`) is not a valid `{{parameter}}`"
                ));
            }
            tokens.push(SubjectToken::Parameter(name.to_string()));
        } else if token.contains(['{', '}']) {
            return Err(format!(
                "token {n} (`{token}`) mixes a `{{parameter}}` with other text; a parameter must be a whole token"
            ));
        } else {
            tokens.push(SubjectToken::Literal(token.to_string()));
        }
    }
    Ok(SubjectTemplate { tokens })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_subjects_become_templates() {
        let t = parse_subject("jobs.query.dns.{target}").unwrap();
        assert_eq!(t.template(), "jobs.query.dns.{target}");
        assert_eq!(t.wildcard(), "jobs.query.dns.*");
        assert_eq!(t.tokens[3], SubjectToken::Parameter("target".into()));
        assert!(parse_subject("comment/liked").is_ok());
    }

    #[test]
    fn invalid_subjects_say_why() {
        for (address, why) in [
            ("", "empty"),
            ("a..b", "empty"),
            ("a.b.", "empty"),
            ("a b", "whitespace"),
            ("a.*", "wildcard"),
            ("a.>", "wildcard"),
            ("a.x{p}", "whole token"),
            ("a.{}", "not a valid"),
            ("$JS.API", "reserved"),
            (
                "smartylighting/streetlights/1/0/event/{streetlightId}/lighting/measured",
                "whole token",
            ),
        ] {
            let err = parse_subject(address).unwrap_err();
            assert!(err.contains(why), "{address}: {err}");
        }
    }
}
