//! Every pair under `tests/fixtures/diff/<case>/{old,new}.yaml` is diffed and the changes
//! must match `expected.json` exactly: same kinds, impacts and locations, none missing,
//! none extra.

use std::path::{Path, PathBuf};

use jetwire_codegen::diff::{diff, ChangeLocation, Impact};
use jetwire_codegen::load::load_spec;
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    changes: Vec<ExpectedChange>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ExpectedChange {
    kind: String,
    impact: Impact,
    location: ChangeLocationKey,
}

/// A comparable form of [`ChangeLocation`].
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct ChangeLocationKey {
    operation: Option<String>,
    channel: Option<String>,
    message: Option<String>,
    path: Option<String>,
}

impl From<&ChangeLocation> for ChangeLocationKey {
    fn from(l: &ChangeLocation) -> Self {
        ChangeLocationKey {
            operation: l.operation.clone(),
            channel: l.channel.clone(),
            message: l.message.clone(),
            path: l.path.clone(),
        }
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
}

#[test]
fn every_case_is_classified_exactly() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("the diff corpus exists")
        .map(|e| e.expect("readable corpus entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 40,
        "the corpus has only {} cases",
        cases.len()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let load = |file: &str| {
            load_spec(&case.join(file))
                .unwrap_or_else(|e| panic!("{name}/{file} does not load: {e}"))
        };
        let (old, new) = (load("old.yaml"), load("new.yaml"));
        let expected: Expected = serde_json::from_str(
            &std::fs::read_to_string(case.join("expected.json")).expect("expected.json"),
        )
        .unwrap_or_else(|e| panic!("{name}/expected.json: {e}"));

        let report = diff(&old, &new);
        let mut actual: Vec<ExpectedChange> = report
            .changes
            .iter()
            .map(|c| ExpectedChange {
                kind: c.kind.clone(),
                impact: c.impact,
                location: (&c.location).into(),
            })
            .collect();
        let mut wanted = expected.changes.clone();
        actual.sort();
        wanted.sort();
        if actual != wanted {
            let missing: Vec<_> = wanted.iter().filter(|w| !actual.contains(w)).collect();
            let extra: Vec<_> = actual.iter().filter(|a| !wanted.contains(a)).collect();
            failures.push(format!(
                "{name}:\n  missing {missing:#?}\n  extra {extra:#?}"
            ));
        }
        // Diffing a document with itself finds nothing, whatever it contains.
        let same = diff(&new, &new);
        if !same.changes.is_empty() {
            failures.push(format!(
                "{name}: new.yaml differs from itself: {:#?}",
                same.changes
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases misclassified:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every rule the corpus exercises is in the documented rule table.
#[test]
fn every_exercised_rule_is_documented() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/spec-diff.md"))
            .expect("docs/spec-diff.md");
    let mut undocumented = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let expected = entry.unwrap().path().join("expected.json");
        let Ok(text) = std::fs::read_to_string(&expected) else {
            continue;
        };
        let expected: Expected = serde_json::from_str(&text).unwrap();
        for change in expected.changes {
            if !page.contains(&format!("`{}`", change.kind)) {
                undocumented.insert(change.kind);
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "not in docs/spec-diff.md: {undocumented:?}"
    );
}
