//! The consumer plan: which durable pull consumers the worker uses, and which subjects
//! the work-queue stream captures, derived from the `receive` operations' subjects and
//! job classes (see `super::extension` for the rules as users read them).

use super::yaml::FastMap;
use crate::error::{Error, Result};
use crate::ir::{
    ConsumerConfig, Diagnostic, JobClass, Location, OperationPolicyDefaults, Severity,
    SubjectTemplate, SubjectToken, PARTITION_PARAMETER,
};

/// One served operation, as the plan sees it.
pub struct Served<'a> {
    pub id: &'a str,
    pub class: JobClass,
    pub subject: &'a SubjectTemplate,
    pub location: &'a Location,
    /// The target parameter, when the operation is targeted (its subject has it).
    pub target: Option<&'a str>,
    /// The partition count, when the operation is partitioned.
    pub partitions: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum FilterToken {
    Literal(String),
    Star,
    Rest,
    /// A `{parameter}` token the runtime substitutes (target, partition): any one token.
    Param(String),
}

type Filter = Vec<FilterToken>;

fn render(filter: &Filter) -> String {
    filter
        .iter()
        .map(|t| match t {
            FilterToken::Literal(s) => s.clone(),
            FilterToken::Star => "*".into(),
            FilterToken::Rest => ">".into(),
            FilterToken::Param(p) => format!("{{{p}}}"),
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
            s => match s.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(p) => FilterToken::Param(p.to_string()),
                None => FilterToken::Literal(s.to_string()),
            },
        })
        .collect()
}

fn wildcard_of(subject: &SubjectTemplate) -> Filter {
    filter_keeping(subject, None)
}

/// The subject as a filter: parameters become `*`, except `keep`, kept as its token.
fn filter_keeping(subject: &SubjectTemplate, keep: Option<&str>) -> Filter {
    subject
        .tokens
        .iter()
        .map(|t| match t {
            SubjectToken::Literal(s) => FilterToken::Literal(s.clone()),
            SubjectToken::Parameter(p) if Some(p.as_str()) == keep => FilterToken::Param(p.clone()),
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
                (FilterToken::Star | FilterToken::Param(_), _) => true,
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
    // Rendered once per filter, not per comparison (same stable order).
    filters.sort_by_cached_key(render);
    filters.dedup();
    let covered = covered_by_another(&filters);
    filters
        .iter()
        .zip(covered)
        .filter(|(_, covered)| !covered)
        .map(|(f, _)| render(f))
        .collect()
}

/// For each filter, whether another one (at another index) covers it.
fn covered_by_another(filters: &[Filter]) -> Vec<bool> {
    let patterns: Option<Vec<Pattern<'_>>> = filters.iter().map(|f| pattern_of(f)).collect();
    match patterns {
        Some(patterns) => {
            let shapes = Shapes::of(&patterns);
            if shapes.is_small(patterns.len()) {
                return shapes.covered_by_another(&patterns);
            }
            covered_pairwise(&patterns)
        }
        None => (0..filters.len())
            .map(|i| {
                filters
                    .iter()
                    .enumerate()
                    .any(|(j, other)| j != i && covers(other, &filters[i]))
            })
            .collect(),
    }
}

/// [`covered_by_another`] comparing every pair.
fn covered_pairwise(patterns: &[Pattern<'_>]) -> Vec<bool> {
    (0..patterns.len())
        .map(|i| {
            patterns
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && pattern_covers(other, &patterns[i]))
        })
        .collect()
}

/// A filter of literals and `*` only (what a subject's wildcard is): the literal of
/// each token, `None` for `*`. The quadratic checks over all served subjects compare
/// these by shape instead of pair by pair.
type Pattern<'a> = Vec<Option<&'a str>>;

/// The filter as a [`Pattern`], when it has no `>` and no `{parameter}`.
fn pattern_of(filter: &Filter) -> Option<Pattern<'_>> {
    filter
        .iter()
        .map(|t| match t {
            FilterToken::Literal(s) => Some(Some(s.as_str())),
            FilterToken::Star => Some(None),
            FilterToken::Rest | FilterToken::Param(_) => None,
        })
        .collect()
}

/// A subject's wildcard as a [`Pattern`].
fn pattern(subject: &SubjectTemplate) -> Pattern<'_> {
    subject
        .tokens
        .iter()
        .map(|t| match t {
            SubjectToken::Literal(s) => Some(s.as_str()),
            SubjectToken::Parameter(_) => None,
        })
        .collect()
}

/// [`overlaps`] for patterns: same length, and equal wherever both are literal.
fn patterns_overlap(a: &Pattern<'_>, b: &Pattern<'_>) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        })
}

/// [`covers`] for patterns: same length, and `inner` has `outer`'s literal wherever
/// `outer` has one.
fn pattern_covers(outer: &Pattern<'_>, inner: &Pattern<'_>) -> bool {
    outer.len() == inner.len()
        && outer.iter().zip(inner).all(|(o, i)| match (o, i) {
            (None, _) => true,
            (Some(o), Some(i)) => o == i,
            (Some(_), None) => false,
        })
}

/// Patterns grouped by shape (which of their tokens are literal), in order of first
/// appearance, each group's members in ascending order. Patterns of one shape can be
/// indexed by their literals, so a check against all others costs one lookup per
/// shape instead of one comparison per pattern.
struct Shapes {
    groups: Vec<(Vec<bool>, Vec<usize>)>,
}

type Literals<'a> = Vec<&'a str>;

impl Shapes {
    fn of(patterns: &[Pattern<'_>]) -> Self {
        let mut groups: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
        let mut index: FastMap<Vec<bool>, usize> = FastMap::default();
        for (i, p) in patterns.iter().enumerate() {
            let shape: Vec<bool> = p.iter().map(Option::is_some).collect();
            match index.get(&shape) {
                Some(&g) => groups[g].1.push(i),
                None => {
                    index.insert(shape.clone(), groups.len());
                    groups.push((shape, vec![i]));
                }
            }
        }
        Shapes { groups }
    }

    /// Few shapes for this many patterns: the shape pairs cost less than the pattern
    /// pairs (else the caller compares pairs).
    fn is_small(&self, patterns: usize) -> bool {
        let shapes = self.groups.len();
        shapes <= 8 || shapes.saturating_mul(shapes) <= patterns
    }

    /// The literals of `pattern` at the positions `keep` marks.
    fn literals<'a>(pattern: &Pattern<'a>, keep: &[bool]) -> Literals<'a> {
        pattern
            .iter()
            .zip(keep)
            .filter(|(_, keep)| **keep)
            .map(|(t, _)| t.unwrap_or_default())
            .collect()
    }

    /// For each pattern, the first pattern before it that overlaps it.
    fn first_earlier_overlap(&self, patterns: &[Pattern<'_>]) -> Vec<Option<usize>> {
        let mut found: Vec<Option<usize>> = vec![None; patterns.len()];
        for (earlier_shape, earlier) in &self.groups {
            for (later_shape, later) in &self.groups {
                if earlier_shape.len() != later_shape.len() {
                    continue;
                }
                // Two patterns of these shapes overlap when they agree where both are literal.
                let both: Vec<bool> = earlier_shape
                    .iter()
                    .zip(later_shape)
                    .map(|(a, b)| *a && *b)
                    .collect();
                let mut first: FastMap<Literals<'_>, usize> = FastMap::default();
                for &j in earlier {
                    first
                        .entry(Self::literals(&patterns[j], &both))
                        .or_insert(j);
                }
                for &i in later {
                    if let Some(&j) = first.get(&Self::literals(&patterns[i], &both)) {
                        if j < i && found[i].is_none_or(|k| j < k) {
                            found[i] = Some(j);
                        }
                    }
                }
            }
        }
        found
    }

    /// For each pattern, whether a pattern at another index covers it.
    fn covered_by_another(&self, patterns: &[Pattern<'_>]) -> Vec<bool> {
        let mut covered = vec![false; patterns.len()];
        for (outer_shape, outer) in &self.groups {
            // How many patterns of this shape have each combination of literals.
            let mut counts: FastMap<Literals<'_>, usize> = FastMap::default();
            for &j in outer {
                *counts
                    .entry(Self::literals(&patterns[j], outer_shape))
                    .or_default() += 1;
            }
            for (inner_shape, inner) in &self.groups {
                // An outer pattern covers an inner one when it is literal only where the
                // inner one is, with the same literals there.
                let within = outer_shape.len() == inner_shape.len()
                    && outer_shape.iter().zip(inner_shape).all(|(o, i)| !o || *i);
                if !within {
                    continue;
                }
                // Within one shape the pattern itself is among the matches.
                let needed = if outer_shape == inner_shape { 2 } else { 1 };
                for &i in inner {
                    let matches = counts
                        .get(&Self::literals(&patterns[i], outer_shape))
                        .copied()
                        .unwrap_or(0);
                    if matches >= needed {
                        covered[i] = true;
                    }
                }
            }
        }
        covered
    }
}

/// The stream subjects widened so that the server accepts every consumer filter:
/// nats-server 2.9 refuses a filter that is neither within one stream subject nor, as a
/// wildcard, wider than one (`jobs.query.*._any` against `jobs.query.dns.*` and
/// `jobs.query.disk.*`). A filter no subject covers is added (its `{parameter}` tokens as `*`) and
/// replaces the subjects it covers; the result stays sorted.
pub fn widen_subjects_for_filters(subjects: &[String], filters: &[&str]) -> Vec<String> {
    let mut kept: Vec<Filter> = subjects.iter().map(|s| parse_filter(s)).collect();
    for filter in filters {
        if server_accepts(&kept, &parse_filter(filter)) {
            continue;
        }
        let wanted = as_stream_subject(&parse_filter(filter));
        kept.retain(|s| !covers(&wanted, s));
        kept.push(wanted);
    }
    let mut out: Vec<String> = kept.iter().map(render).collect();
    out.sort();
    out.dedup();
    out
}

/// The consumer filters that no single stream subject covers (for explicitly listed
/// subjects, where widening would override the author).
pub fn filters_outside_subjects<'f>(subjects: &[String], filters: &[&'f str]) -> Vec<&'f str> {
    let subjects: Vec<Filter> = subjects.iter().map(|s| parse_filter(s)).collect();
    filters
        .iter()
        .copied()
        .filter(|f| !server_accepts(&subjects, &parse_filter(f)))
        .collect()
}

/// The server's rule (2.9): a filter is valid when one stream subject holds all it
/// matches, or — a wildcard filter — when it holds all one stream subject matches. A
/// `{parameter}` token becomes a literal at run time (`_any`, a worker id, a partition
/// number), so such a filter must be held by one subject.
fn server_accepts(subjects: &[Filter], filter: &Filter) -> bool {
    let has_param = filter.iter().any(|t| matches!(t, FilterToken::Param(_)));
    let as_subject = as_stream_subject(filter);
    subjects.iter().any(|s| covers(s, &as_subject))
        || (!has_param && subjects.iter().any(|s| covers(filter, s)))
}

/// A filter's runtime-substituted `{parameter}` tokens as `*`.
fn as_stream_subject(filter: &Filter) -> Filter {
    filter
        .iter()
        .map(|t| match t {
            FilterToken::Param(_) => FilterToken::Star,
            other => other.clone(),
        })
        .collect()
}

/// Warns about `receive` operations whose subjects overlap: the worker routes a job to
/// its operation by subject, so such jobs could not be told apart.
pub fn warn_shared_subjects(served: &[Served<'_>], diagnostics: &mut Vec<Diagnostic>) {
    let patterns: Vec<Pattern<'_>> = served.iter().map(|s| pattern(s.subject)).collect();
    let shapes = Shapes::of(&patterns);
    let first_overlap = if shapes.is_small(patterns.len()) {
        shapes.first_earlier_overlap(&patterns)
    } else {
        (0..patterns.len())
            .map(|i| (0..i).find(|&j| patterns_overlap(&patterns[i], &patterns[j])))
            .collect()
    };
    for (later, earlier) in served.iter().zip(first_overlap) {
        let Some(earlier) = earlier.map(|j| &served[j]) else {
            continue;
        };
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

/// Plans the consumers for `served` (the `receive` operations that have a subject):
/// per class, one for the targeted and one for the untargeted operations, then one
/// partition consumer per group of partitioned operations. Fails when the operations
/// of one partition consumer disagree on the partition count.
pub fn plan_consumers(
    served: &[Served<'_>],
    defaults: &OperationPolicyDefaults,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<ConsumerConfig>> {
    let mut consumers = Vec::new();
    for class in [JobClass::Query, JobClass::Modify] {
        let plain = |s: &&Served<'_>| s.class == class && s.partitions.is_none();
        let targeted: Vec<&Served<'_>> = served
            .iter()
            .filter(plain)
            .filter(|s| s.target.is_some())
            .collect();
        let untargeted: Vec<&Served<'_>> = served
            .iter()
            .filter(plain)
            .filter(|s| s.target.is_none())
            .collect();
        let base = format!("jobs-{}", class.as_str());
        if let Some(target) = targeted.first().and_then(|s| s.target) {
            let group = Group {
                durable: base.clone(),
                class,
                members: &targeted,
                keep: Some(target),
                what: format!("targeted {}", class.as_str()),
            };
            group.plan(served, defaults, diagnostics, &mut consumers);
        }
        if !untargeted.is_empty() {
            let durable = if targeted.is_empty() {
                base
            } else {
                format!("{base}-untargeted")
            };
            let group = Group {
                durable,
                class,
                members: &untargeted,
                keep: None,
                what: class.as_str().to_string(),
            };
            group.plan(served, defaults, diagnostics, &mut consumers);
        }
    }
    plan_partitioned(served, defaults, &mut consumers)?;
    warn_overlaps(&consumers, served, diagnostics);
    Ok(consumers)
}

/// Operations that one consumer should pull, if one filter can separate them.
struct Group<'g, 'a> {
    durable: String,
    class: JobClass,
    members: &'g [&'g Served<'a>],
    /// A parameter the filter keeps as its `{token}` (the target).
    keep: Option<&'g str>,
    /// How the diagnostics call these operations.
    what: String,
}

impl Group<'_, '_> {
    fn plan(
        &self,
        served: &[Served<'_>],
        defaults: &OperationPolicyDefaults,
        diagnostics: &mut Vec<Diagnostic>,
        consumers: &mut Vec<ConsumerConfig>,
    ) {
        let others: Vec<&SubjectTemplate> = served
            .iter()
            .filter(|s| !self.members.iter().any(|m| std::ptr::eq(*m, *s)))
            .map(|s| s.subject)
            .collect();
        let separates = |f: &Filter| !others.iter().any(|o| may_match(f, o));
        let subjects: Vec<&SubjectTemplate> = self.members.iter().map(|s| s.subject).collect();
        let chosen = match self.keep {
            // A prefix filter (`jobs.query.>`) cannot hold the target token.
            Some(keep) => Some(positional_filter(&subjects, Some(keep)))
                .filter(|f| f.contains(&FilterToken::Param(keep.to_string())))
                .filter(separates),
            None => prefix_filter(self.class, &subjects, separates)
                .or_else(|| Some(positional_filter(&subjects, None)).filter(separates)),
        };
        match chosen {
            Some(filter) => consumers.push(consumer(
                self.durable.clone(),
                self.class,
                render(&filter),
                defaults,
            )),
            None => {
                diagnostics.push(Diagnostic {
                    severity: Severity::Note,
                    location: self.members[0].location.clone(),
                    message: format!(
                        "no single subject filter separates the {} operations from the others; \
                         planning one consumer per {} operation",
                        self.what, self.what
                    ),
                });
                for s in self.members {
                    let filter = render(&filter_keeping(s.subject, self.keep));
                    if consumers.iter().any(|c: &ConsumerConfig| {
                        c.filter_subject == filter && c.class == self.class
                    }) {
                        continue;
                    }
                    consumers.push(consumer(durable_name(s.id), self.class, filter, defaults));
                }
            }
        }
    }
}

/// One partition consumer per group of partitioned operations sharing the subject
/// tokens before `{partition}` (and whether the subject ends there): filter
/// `<prefix>.{partition}.>`, one job at a time per partition, so one key's jobs run in
/// publish order across the group's operations.
fn plan_partitioned(
    served: &[Served<'_>],
    defaults: &OperationPolicyDefaults,
    consumers: &mut Vec<ConsumerConfig>,
) -> Result<()> {
    struct Keyed<'s, 'a> {
        prefix: Filter,
        ends: bool,
        members: Vec<&'s Served<'a>>,
    }
    let mut groups: Vec<Keyed<'_, '_>> = Vec::new();
    for s in served {
        let Some(count) = s.partitions else {
            continue;
        };
        let Some(at) = s
            .subject
            .tokens
            .iter()
            .position(|t| matches!(t, SubjectToken::Parameter(p) if p == PARTITION_PARAMETER))
        else {
            // The loader refuses a partitioned operation without the token.
            continue;
        };
        let prefix: Filter = wildcard_of(s.subject)[..at].to_vec();
        let ends = at + 1 == s.subject.tokens.len();
        match groups
            .iter_mut()
            .find(|g| g.prefix == prefix && g.ends == ends)
        {
            Some(group) => {
                let first = group.members[0];
                if first.partitions != Some(count) {
                    return Err(Error::invalid(
                        s.location.clone(),
                        format!(
                            "operation `{}` has `partitions: {count}` but `{}` has `partitions: {}`; \
                             both are served by one partition consumer (their subjects `{}` and `{}` \
                             share the tokens before `{{{PARTITION_PARAMETER}}}`), so they must agree \
                             (or use another subject prefix)",
                            s.id,
                            first.id,
                            first.partitions.unwrap_or_default(),
                            s.subject.template(),
                            first.subject.template()
                        ),
                    ));
                }
                group.members.push(s);
            }
            None => groups.push(Keyed {
                prefix,
                ends,
                members: vec![s],
            }),
        }
    }
    let several = groups.len() > 1;
    for group in &groups {
        let mut filter = group.prefix.clone();
        filter.push(FilterToken::Param(PARTITION_PARAMETER.into()));
        if !group.ends {
            filter.push(FilterToken::Rest);
        }
        let class = if group.members.iter().any(|s| s.class == JobClass::Modify) {
            JobClass::Modify
        } else {
            JobClass::Query
        };
        let durable = if several {
            let prefix = render(&group.prefix).replace('.', "-");
            durable_name(&format!("jobs-partitioned-{prefix}"))
        } else {
            "jobs-partitioned".to_string()
        };
        let mut c = consumer(durable, class, render(&filter), defaults);
        c.max_ack_pending = 1;
        c.partitions = group.members[0].partitions;
        consumers.push(c);
    }
    Ok(())
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
fn positional_filter(subjects: &[&SubjectTemplate], keep: Option<&str>) -> Filter {
    let min_len = subjects.iter().map(|s| s.tokens.len()).min().unwrap_or(0);
    let same_len = subjects.iter().all(|s| s.tokens.len() == min_len);
    let fixed = if same_len {
        min_len
    } else {
        min_len.saturating_sub(1)
    };
    let mut filter: Filter = (0..fixed)
        .map(|i| {
            let first = &subjects[0].tokens[i];
            let same = subjects.iter().all(|s| &s.tokens[i] == first);
            match first {
                SubjectToken::Literal(literal) if same => FilterToken::Literal(literal.clone()),
                SubjectToken::Parameter(p) if same && Some(p.as_str()) == keep => {
                    FilterToken::Param(p.clone())
                }
                _ => FilterToken::Star,
            }
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
        partitions: None,
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
        let ops: Vec<(&str, JobClass, Option<u32>)> =
            subjects.iter().map(|(s, c)| (*s, *c, None)).collect();
        plan_with(&ops, None).expect("plan")
    }

    /// Plans `(subject, class, partitions)` operations, with `target` as the target
    /// parameter (an operation is targeted when its subject has it).
    fn plan_with(
        ops: &[(&str, JobClass, Option<u32>)],
        target: Option<&str>,
    ) -> Result<(Vec<ConsumerConfig>, Vec<Diagnostic>)> {
        let templates: Vec<SubjectTemplate> = ops
            .iter()
            .map(|(s, _, _)| parse_subject(s).unwrap())
            .collect();
        let location = Location {
            file: "x.yaml".into(),
            pointer: String::new(),
            line: None,
            column: None,
        };
        let ids: Vec<String> = (0..ops.len()).map(|i| format!("op.{i}")).collect();
        let served: Vec<Served<'_>> = ops
            .iter()
            .zip(&templates)
            .zip(&ids)
            .map(|(((_, class, partitions), subject), id)| Served {
                id,
                class: *class,
                subject,
                location: &location,
                target: target.filter(|t| {
                    subject
                        .tokens
                        .contains(&SubjectToken::Parameter(t.to_string()))
                }),
                partitions: *partitions,
            })
            .collect();
        let mut diagnostics = Vec::new();
        let consumers = plan_consumers(
            &served,
            &OperationPolicyDefaults::default(),
            &mut diagnostics,
        )?;
        Ok((consumers, diagnostics))
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
                target: None,
                partitions: None,
            })
            .collect();
        assert_eq!(stream_subjects(&served), vec!["a.*", "c.d"]);
    }

    #[test]
    fn targeted_consumers_keep_the_target_token() {
        let (c, d) = plan_with(
            &[
                ("jobs.query.dns.{target}", Query, None),
                ("jobs.query.disk.{target}", Query, None),
                ("jobs.modify.dns.{target}", Modify, None),
            ],
            Some("target"),
        )
        .unwrap();
        assert_eq!(
            filters(&c),
            vec![
                ("jobs-query".into(), "jobs.query.*.{target}".into()),
                ("jobs-modify".into(), "jobs.modify.dns.{target}".into())
            ]
        );
        assert!(d.is_empty(), "{d:?}");
        assert!(c.iter().all(|c| c.partitions.is_none()));
    }

    #[test]
    fn untargeted_operations_of_a_class_get_their_own_consumer() {
        let (c, d) = plan_with(
            &[
                ("jobs.query.dns.{target}", Query, None),
                ("jobs.query.fleet.summary", Query, None),
            ],
            Some("target"),
        )
        .unwrap();
        assert_eq!(
            filters(&c),
            vec![
                ("jobs-query".into(), "jobs.query.dns.{target}".into()),
                ("jobs-query-untargeted".into(), "jobs.query.fleet.>".into())
            ]
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn target_at_different_positions_plans_one_consumer_per_operation() {
        let (c, d) = plan_with(
            &[
                ("jobs.query.dns.{target}", Query, None),
                ("jobs.query.{target}.disk.usage", Query, None),
            ],
            Some("target"),
        )
        .unwrap();
        assert_eq!(
            filters(&c),
            vec![
                ("op-0".into(), "jobs.query.dns.{target}".into()),
                ("op-1".into(), "jobs.query.{target}.disk.usage".into())
            ]
        );
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("targeted query"), "{}", d[0].message);
    }

    #[test]
    fn partitioned_operations_share_one_partition_consumer_across_classes() {
        let (c, d) = plan_with(
            &[
                ("coord.{partition}.system.create", Modify, Some(8)),
                ("coord.{partition}.point.move", Modify, Some(8)),
                ("coord.{partition}.point.get", Query, Some(8)),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            filters(&c),
            vec![("jobs-partitioned".into(), "coord.{partition}.>".into())]
        );
        assert_eq!(c[0].partitions, Some(8));
        assert_eq!(c[0].class, Modify);
        assert_eq!(c[0].max_ack_pending, 1);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn class_consumers_stay_off_partition_subjects() {
        let (c, d) = plan_with(
            &[
                ("jobs.query.dns", Query, None),
                ("jobs.{partition}.ledger", Modify, Some(4)),
                ("jobs.modify.dns", Modify, None),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            filters(&c),
            vec![
                // `jobs.query.>` would also take partition 0's jobs if a partition
                // were named `query`: the parameter matches any token.
                ("jobs-query".into(), "jobs.query.dns".into()),
                ("jobs-modify".into(), "jobs.modify.dns".into()),
                ("jobs-partitioned".into(), "jobs.{partition}.>".into()),
            ]
        );
        // `jobs.{partition}.>` also matches `jobs.query.dns`: a work-queue stream
        // refuses that, and the plan says so.
        assert!(
            d.iter()
                .any(|d| d.severity == Severity::Warning && d.message.contains("jobs-partitioned")),
            "{d:?}"
        );
    }

    #[test]
    fn partition_groups_by_prefix() {
        let (c, _) = plan_with(
            &[
                ("a.{partition}.x", Modify, Some(2)),
                ("b.{partition}.y", Query, Some(3)),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            filters(&c),
            vec![
                ("jobs-partitioned-a".into(), "a.{partition}.>".into()),
                ("jobs-partitioned-b".into(), "b.{partition}.>".into()),
            ]
        );
        assert_eq!(c[0].partitions, Some(2));
        assert_eq!(c[1].partitions, Some(3));
        assert_eq!(c[1].class, Query);
    }

    #[test]
    fn one_partition_consumer_needs_one_partition_count() {
        let err = plan_with(
            &[
                ("coord.{partition}.a", Modify, Some(8)),
                ("coord.{partition}.b", Modify, Some(4)),
            ],
            None,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`op.1` has `partitions: 4`"), "{text}");
        assert!(text.contains("`op.0` has `partitions: 8`"), "{text}");
        assert!(text.contains("x.yaml"), "{text}");
    }

    #[test]
    fn stream_subjects_cover_partition_and_target_subjects() {
        let templates = [
            parse_subject("coord.{partition}.point.get").unwrap(),
            parse_subject("jobs.query.dns.{target}").unwrap(),
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
                target: None,
                partitions: None,
            })
            .collect();
        assert_eq!(
            stream_subjects(&served),
            vec!["coord.*.point.get", "jobs.query.dns.*"]
        );
    }

    #[test]
    fn subjects_widen_to_hold_every_consumer_filter() {
        let subjects = vec![
            "jobs.query.disk.*".to_string(),
            "jobs.query.dns.*".to_string(),
        ];
        assert_eq!(
            widen_subjects_for_filters(&subjects, &["jobs.query.*.{target}"]),
            vec!["jobs.query.*.*"]
        );
        // Filters already under one subject change nothing.
        assert_eq!(
            widen_subjects_for_filters(&subjects, &["jobs.query.dns.*"]),
            subjects
        );
        assert_eq!(
            filters_outside_subjects(&subjects, &["jobs.query.*.{target}", "jobs.query.dns.x"]),
            vec!["jobs.query.*.{target}"]
        );
    }

    /// The shape-indexed checks agree with comparing every pair, on subjects of
    /// several lengths and parameter positions, duplicates included.
    #[test]
    fn shape_index_agrees_with_pairwise_comparison() {
        let words = ["a", "b", "c", "{p}", "{q}"];
        let mut state = 0x2545_f491_u64;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((state >> 33) % n as u64) as usize
        };
        for _round in 0..50 {
            let subjects: Vec<SubjectTemplate> = (0..40)
                .map(|_| {
                    let len = 1 + next(3);
                    let tokens: Vec<&str> = (0..len).map(|_| words[next(words.len())]).collect();
                    parse_subject(&tokens.join(".")).unwrap()
                })
                .collect();
            let patterns: Vec<Pattern<'_>> = subjects.iter().map(pattern).collect();
            let shapes = Shapes::of(&patterns);
            let pairwise: Vec<Option<usize>> = (0..patterns.len())
                .map(|i| {
                    (0..i)
                        .find(|&j| overlaps(&wildcard_of(&subjects[i]), &wildcard_of(&subjects[j])))
                })
                .collect();
            assert_eq!(shapes.first_earlier_overlap(&patterns), pairwise);
            let filters: Vec<Filter> = subjects.iter().map(wildcard_of).collect();
            let covered: Vec<bool> = (0..filters.len())
                .map(|i| (0..filters.len()).any(|j| j != i && covers(&filters[j], &filters[i])))
                .collect();
            assert_eq!(shapes.covered_by_another(&patterns), covered);
            assert_eq!(covered_pairwise(&patterns), covered);
        }
    }
}
