//! Subject routing: which operation serves a concrete subject, and its parameter values.
//! A template token `{name}` matches exactly one subject token; other tokens match
//! themselves.

use crate::spec::{OperationSpec, ServiceSpec};

/// The values of `template`'s `{param}` tokens in `subject`, in order, or `None` when the
/// subject does not fit the template.
pub fn match_subject(template: &str, subject: &str) -> Option<Vec<String>> {
    let t: Vec<&str> = template.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    if t.len() != s.len() {
        return None;
    }
    let mut values = Vec::new();
    for (tt, st) in t.iter().zip(&s) {
        if st.is_empty() || st.contains(['*', '>', ' ']) {
            return None;
        }
        if tt.starts_with('{') && tt.ends_with('}') {
            values.push(st.to_string());
        } else if tt != st {
            return None;
        }
    }
    Some(values)
}

/// The operation serving `subject`, with its parameters named.
pub fn route(
    service: &'static ServiceSpec,
    subject: &str,
) -> Option<(&'static OperationSpec, Vec<(&'static str, String)>)> {
    service.operations.iter().find_map(|op| {
        let values = match_subject(op.subject, subject)?;
        let params = op.parameters.iter().copied().zip(values).collect();
        Some((op, params))
    })
}

/// Index of the `{name}` token in a subject template or consumer filter.
pub fn token_position(template: &str, name: &str) -> Option<usize> {
    template
        .split('.')
        .position(|t| t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) == Some(name))
}

/// `template` with every `{name}` token replaced by `value` (a consumer filter made
/// concrete for `_any`, a worker id or a partition number); `None` when it has no such
/// token.
pub fn fill_token(template: &str, name: &str, value: &str) -> Option<String> {
    token_position(template, name)?;
    let placeholder = format!("{{{name}}}");
    Some(
        template
            .split('.')
            .map(|t| if t == placeholder { value } else { t })
            .collect::<Vec<_>>()
            .join("."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_extracted_in_order() {
        assert_eq!(
            match_subject("jobs.query.dns.{target}", "jobs.query.dns.host1"),
            Some(vec!["host1".to_string()])
        );
        assert_eq!(
            match_subject("jobs.{a}.x.{b}", "jobs.1.x.2"),
            Some(vec!["1".to_string(), "2".to_string()])
        );
    }

    #[test]
    fn tokens_are_found_and_filled() {
        assert_eq!(token_position("jobs.query.*.{target}", "target"), Some(3));
        assert_eq!(token_position("jobs.query.*.{target}", "partition"), None);
        assert_eq!(
            fill_token("coord.{partition}.>", "partition", "3"),
            Some("coord.3.>".to_string())
        );
        assert_eq!(fill_token("jobs.query.>", "target", "_any"), None);
    }

    #[test]
    fn mismatches_are_rejected() {
        assert_eq!(
            match_subject("jobs.query.dns.{target}", "jobs.query.dns"),
            None
        );
        assert_eq!(
            match_subject("jobs.query.dns.{target}", "jobs.query.disk.h"),
            None
        );
        assert_eq!(
            match_subject("jobs.query.dns.{target}", "jobs.query.dns.*"),
            None
        );
        assert_eq!(
            match_subject("jobs.query.dns.{target}", "jobs.query.dns."),
            None
        );
    }
}
