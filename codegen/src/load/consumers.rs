//! The consumer plan: which durable pull consumers the worker uses, and which subjects
//! the work-queue stream captures, derived from the `receive` operations' subjects and
//! job classes (see `super::extension` for the rules as users read them).

use crate::ir::{
    ConsumerConfig, Diagnostic, JobClass, Location, OperationPolicyDefaults, Severity,
    SubjectTemplate, SubjectToken,
};

/// One served operation, as the plan sees it.
pub struct Served<'a> {
    pub id: &'a str,
    pub class: JobClass,
    pub subject: &'a SubjectTemplate,
    pub location: &'a Location,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum FilterToken {
    Literal(String),
    Star,
    Rest,
}

type Filter = Vec<FilterToken>;

fn render(filter: &Filter) -> String {
    filter
        .iter()
        .map(|t| match t {
            FilterToken::Literal(s) => s.as_str(),
            FilterToken::Star => "*",
            FilterToken::Rest => ">",
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn parse_filter(filter: &str) -> Filter {
    filter
        .split('.')
        .map(|t| match t {
            "*" => FilterToken::Star,
            ">" => FilterToken::Rest,
            s => FilterToken::Literal(s.to_string()),
        })
        .collect()
}

fn wildcard_of(subject: &SubjectTemplate) -> Filter {
    subject
        .tokens
        .iter()
        .map(|t| match t {
            SubjectToken::Literal(s) => FilterToken::Literal(s.clone()),
            SubjectToken::Parameter(_) => FilterToken::Star,
        })
        .collect()
}

/// Whether some concrete subject of `subject` could match `filter` (a parameter may
/// take any value, so it matches any literal).
fn may_match(filter: &Filter, subject: &SubjectTemplate) -> bool {
    overlaps(filter, &wildcard_of(subject))
}

/// Whether some subject matches both filters.
fn overlaps(a: &[FilterToken], b: &[FilterToken]) -> bool {
    match (a.first(), b.first()) {
        (None, None) => true,
        (Some(FilterToken::Rest), Some(_)) | (Some(_), Some(FilterToken::Rest)) => true,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(x), Some(y)) => {
            let token_ok = match (x, y) {
                (FilterToken::Literal(p), FilterToken::Literal(q)) => p == q,
                _ => true,
            };
            token_ok && overlaps(&a[1..], &b[1..])
        }
    }
}

/// Whether every subject matching `inner` also matches `outer`.
fn covers(outer: &[FilterToken], inner: &[FilterToken]) -> bool {
    match (outer.first(), inner.first()) {
        (None, None) => true,
        (Some(FilterToken::Rest), Some(_)) => true,
        (Some(_), Some(FilterToken::Rest)) => false,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(x), Some(y)) => {
            let token_ok = match (x, y) {
                (FilterToken::Star, _) => true,
                (FilterToken::Literal(p), FilterToken::Literal(q)) => p == q,
                _ => false,
            };
            token_ok && covers(&outer[1..], &inner[1..])
        }
    }
}

/// The stream subjects: every served subject's wildcard, without the ones another
/// already covers, sorted.
pub fn stream_subjects(served: &[Served<'_>]) -> Vec<String> {
    let mut filters: Vec<Filter> = served.iter().map(|s| wildcard_of(s.subject)).collect();
    filters.sort_by_key(render);
    filters.dedup();
    let kept: Vec<String> = filters
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            !filters
                .iter()
                .enumerate()
                .any(|(j, other)| j != *i && covers(other, f))
        })
        .map(|(_, f)| render(f))
        .collect();
    kept
}

/// Warns about `receive` operations whose subjects overlap: the worker routes a job to
/// its operation by subject, so such jobs could not be told apart.
pub fn warn_shared_subjects(served: &[Served<'_>], diagnostics: &mut Vec<Diagnostic>) {
    for (i, later) in served.iter().enumerate() {
        let filter = wildcard_of(later.subject);
        if let Some(earlier) = served[..i].iter().find(|e| may_match(&filter, e.subject)) {
            diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                location: later.location.clone(),
                message: format!(
                    "operations `{}` and `{}` receive on overlapping subjects (`{}` and `{}`); \
                     the worker cannot tell their jobs apart",
                    earlier.id,
                    later.id,
                    earlier.subject.template(),
                    later.subject.template()
                ),
            });
        }
    }
}

/// Plans the consumers for `served` (the `receive` operations that have a subject).
pub fn plan_consumers(
    served: &[Served<'_>],
    defaults: &OperationPolicyDefaults,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ConsumerConfig> {
    let mut consumers = Vec::new();
    for class in [JobClass::Query, JobClass::Modify] {
        let mine: Vec<&Served<'_>> = served.iter().filter(|s| s.class == class).collect();
        if mine.is_empty() {
            continue;
        }
        let others: Vec<&SubjectTemplate> = served
            .iter()
            .filter(|s| s.class != class)
            .map(|s| s.subject)
            .collect();
        let separates = |f: &Filter| !others.iter().any(|o| may_match(f, o));
        let subjects: Vec<&SubjectTemplate> = mine.iter().map(|s| s.subject).collect();
        let chosen = prefix_filter(class, &subjects, separates)
            .or_else(|| Some(positional_filter(&subjects)).filter(separates));
        match chosen {
            Some(filter) => consumers.push(consumer(
                format!("jobs-{}", class.as_str()),
                class,
                render(&filter),
                defaults,
            )),
            None => {
                diagnostics.push(Diagnostic {
                    severity: Severity::Note,
                    location: mine[0].location.clone(),
                    message: format!(
                        "no single subject filter separates the {} operations from the others; \
                         planning one consumer per {} operation",
                        class.as_str(),
                        class.as_str()
                    ),
                });
                for s in &mine {
                    let filter = render(&wildcard_of(s.subject));
                    if consumers
                        .iter()
                        .any(|c: &ConsumerConfig| c.filter_subject == filter && c.class == class)
                    {
                        continue;
                    }
                    consumers.push(consumer(durable_name(s.id), class, filter, defaults));
                }
            }
        }
    }
    warn_overlaps(&consumers, served, diagnostics);
    consumers
}

/// `<prefix>.>` for a literal prefix every subject shares (each having at least one
/// token more) that no subject of the other class falls under: the conventional
/// `jobs.<class>` when it qualifies, else the shortest such prefix (short filters stay
/// stable as operations are added).
fn prefix_filter(
    class: JobClass,
    subjects: &[&SubjectTemplate],
    separates: impl Fn(&Filter) -> bool,
) -> Option<Filter> {
    let min_len = subjects.iter().map(|s| s.tokens.len()).min()?;
    let mut common = Vec::new();
    for i in 0..min_len.saturating_sub(1) {
        let SubjectToken::Literal(first) = &subjects[0].tokens[i] else {
            break;
        };
        if subjects
            .iter()
            .all(|s| s.tokens[i] == SubjectToken::Literal(first.clone()))
        {
            common.push(FilterToken::Literal(first.clone()));
        } else {
            break;
        }
    }
    let candidate = |len: usize| {
        let mut filter: Filter = common[..len].to_vec();
        filter.push(FilterToken::Rest);
        filter
    };
    let conventional = [
        FilterToken::Literal("jobs".into()),
        FilterToken::Literal(class.as_str().into()),
    ];
    if common.starts_with(&conventional) && separates(&candidate(2)) {
        return Some(candidate(2));
    }
    (1..=common.len()).map(candidate).find(|f| separates(f))
}

/// Literal tokens where every subject agrees, `*` elsewhere; `>` for the tail when the
/// subjects differ in length.
fn positional_filter(subjects: &[&SubjectTemplate]) -> Filter {
    let min_len = subjects.iter().map(|s| s.tokens.len()).min().unwrap_or(0);
    let same_len = subjects.iter().all(|s| s.tokens.len() == min_len);
    let fixed = if same_len {
        min_len
    } else {
        min_len.saturating_sub(1)
    };
    let mut filter: Filter = (0..fixed)
        .map(|i| match &subjects[0].tokens[i] {
            SubjectToken::Literal(first)
                if subjects
                    .iter()
                    .all(|s| s.tokens[i] == SubjectToken::Literal(first.clone())) =>
            {
                FilterToken::Literal(first.clone())
            }
            _ => FilterToken::Star,
        })
        .collect();
    if !same_len {
        filter.push(FilterToken::Rest);
    }
    filter
}

fn consumer(
    durable: String,
    class: JobClass,
    filter_subject: String,
    defaults: &OperationPolicyDefaults,
) -> ConsumerConfig {
    ConsumerConfig {
        durable,
        class,
        filter_subject,
        ack_wait: defaults.ack_wait,
        max_deliver: defaults.max_deliver,
        backoff: defaults.backoff.clone(),
        max_ack_pending: defaults.max_ack_pending,
        concurrency: match class {
            JobClass::Query => defaults.query_concurrency,
            JobClass::Modify => defaults.modify_concurrency,
        },
    }
}

/// A consumer durable name from an operation id: ASCII letters, digits, `-`, `_`.
pub fn durable_name(id: &str) -> String {
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "op".into()
    } else {
        name
    }
}

/// Work-queue streams refuse consumers whose filters overlap: say so up front.
fn warn_overlaps(
    consumers: &[ConsumerConfig],
    served: &[Served<'_>],
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (i, a) in consumers.iter().enumerate() {
        for b in &consumers[i + 1..] {
            let (fa, fb) = (
                parse_filter(&a.filter_subject),
                parse_filter(&b.filter_subject),
            );
            if overlaps(&fa, &fb) {
                let location = served
                    .iter()
                    .find(|s| may_match(&fb, s.subject))
                    .map(|s| s.location.clone())
                    .unwrap_or_default_location();
                diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    location,
                    message: format!(
                        "consumers `{}` ({}) and `{}` ({}) have overlapping subject filters; \
                         a JetStream work-queue stream refuses that, so the worker cannot \
                         serve both (give the operations distinct subjects)",
                        a.durable, a.filter_subject, b.durable, b.filter_subject
                    ),
                });
            }
        }
    }
}

trait OrDefaultLocation {
    fn unwrap_or_default_location(self) -> Location;
}

impl OrDefaultLocation for Option<Location> {
    fn unwrap_or_default_location(self) -> Location {
        self.unwrap_or_else(|| Location {
            file: Default::default(),
            pointer: String::new(),
            line: None,
            column: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::subject::parse_subject;

    fn plan(subjects: &[(&str, JobClass)]) -> (Vec<ConsumerConfig>, Vec<Diagnostic>) {
        let templates: Vec<SubjectTemplate> = subjects
            .iter()
            .map(|(s, _)| parse_subject(s).unwrap())
            .collect();
        let location = Location {
            file: "x.yaml".into(),
            pointer: String::new(),
            line: None,
            column: None,
        };
        let ids: Vec<String> = (0..subjects.len()).map(|i| format!("op.{i}")).collect();
        let served: Vec<Served<'_>> = subjects
            .iter()
            .zip(&templates)
            .zip(&ids)
            .map(|(((_, class), subject), id)| Served {
                id,
                class: *class,
                subject,
                location: &location,
            })
            .collect();
        let mut diagnostics = Vec::new();
        let consumers = plan_consumers(
            &served,
            &OperationPolicyDefaults::default(),
            &mut diagnostics,
        );
        (consumers, diagnostics)
    }

    fn filters(consumers: &[ConsumerConfig]) -> Vec<(String, String)> {
        consumers
            .iter()
            .map(|c| (c.durable.clone(), c.filter_subject.clone()))
            .collect()
    }

    use JobClass::{Modify, Query};

    #[test]
    fn class_prefixes() {
        let (c, d) = plan(&[
            ("jobs.query.dns.{target}", Query),
            ("jobs.query.disk.{target}", Query),
            ("jobs.modify.dns.{target}", Modify),
        ]);
        assert_eq!(
            filters(&c),
            vec![
                ("jobs-query".into(), "jobs.query.>".into()),
                ("jobs-modify".into(), "jobs.modify.>".into())
            ]
        );
        assert!(d.is_empty());
        assert_eq!(c[0].concurrency, 16);
        assert_eq!(c[1].concurrency, 4);
    }

    #[test]
    fn positional_when_prefix_is_shared() {
        let (c, _) = plan(&[
            ("svc.a.read", Query),
            ("svc.b.read", Query),
            ("svc.a.write", Modify),
        ]);
        assert_eq!(
            filters(&c),
            vec![
                ("jobs-query".into(), "svc.*.read".into()),
                ("jobs-modify".into(), "svc.a.write".into())
            ]
        );
    }

    #[test]
    fn per_operation_when_nothing_separates() {
        let (c, d) = plan(&[
            ("svc.a.read", Query),
            ("svc.b.write", Query),
            ("svc.a.write", Modify),
            ("svc.b.read", Modify),
        ]);
        assert_eq!(
            filters(&c),
            vec![
                ("op-0".into(), "svc.a.read".into()),
                ("op-1".into(), "svc.b.write".into()),
                ("op-2".into(), "svc.a.write".into()),
                ("op-3".into(), "svc.b.read".into()),
            ]
        );
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.severity == Severity::Note));
    }

    #[test]
    fn stream_subjects_drop_covered_ones() {
        let templates = [
            parse_subject("a.{x}").unwrap(),
            parse_subject("a.b").unwrap(),
            parse_subject("c.d").unwrap(),
            parse_subject("c.d").unwrap(),
        ];
        let location = Location {
            file: "x".into(),
            pointer: String::new(),
            line: None,
            column: None,
        };
        let served: Vec<Served<'_>> = templates
            .iter()
            .map(|subject| Served {
                id: "x",
                class: Query,
                subject,
                location: &location,
            })
            .collect();
        assert_eq!(stream_subjects(&served), vec!["a.*", "c.d"]);
    }
}
