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
