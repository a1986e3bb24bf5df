//! The report's outputs (Markdown summary and table, JSON) and the property that a
//! contract compared with itself has no changes.

use std::path::{Path, PathBuf};

use jetwire_codegen::diff::{diff, Impact, Report};
use jetwire_codegen::load::load_spec;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn case(name: &str) -> Report {
    let dir = manifest_dir().join("tests/fixtures/diff").join(name);
    let old = load_spec(&dir.join("old.yaml")).unwrap();
    let new = load_spec(&dir.join("new.yaml")).unwrap();
    diff(&old, &new)
}

#[test]
fn markdown_has_the_summary_line_and_one_row_per_change() {
    let report = case("request_multiple_changes");
    let md = report.to_markdown();
    assert!(
        md.contains("**1 breaking for producers, 1 for consumers, 0 compatible**"),
        "{md}"
    );
    assert!(md.contains("| Where | Change | Impact | Why |"), "{md}");
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| operation"))
        .collect();
    assert_eq!(rows.len(), 2, "{md}");
    assert!(rows.iter().any(|r| r.contains(
        "`payload#/properties/name` | max_length_changed | breaks producers | `maxLength` tightened: 64 → 32"
    )));
    assert!(rows
        .iter()
        .any(|r| r.contains("`payload#/properties/mode` | enum_value_added | breaks consumers")));
}

#[test]
fn markdown_says_so_when_nothing_changed() {
    let md = case("ref_equivalent").to_markdown();
    assert!(md.contains("**0 breaking for producers, 0 for consumers, 0 compatible**"));
    assert!(!md.contains("| Where |"), "{md}");
}

#[test]
fn breaking_for_both_counts_on_both_sides() {
    let report = case("operation_removed");
    assert_eq!(report.changes.len(), 1);
    assert_eq!(report.changes[0].impact, Impact::BreaksBoth);
    assert_eq!(
        report.summary(),
        "1 breaking for producers, 1 for consumers, 0 compatible"
    );
    assert!(report.is_breaking());
}

#[test]
fn json_round_trips_and_uses_snake_case_impacts() {
    let report = case("request_closed_optional_property_added");
    let json = report.to_json();
    assert!(json.contains("\"impact\": \"breaks_consumers\""), "{json}");
    assert!(
        json.contains("\"path\": \"payload#/properties/verbose\""),
        "{json}"
    );
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

/// Every example document that loads (including the recursive and multi-file ones) and
/// the project's own contract have no changes against themselves.
#[test]
fn every_loadable_contract_equals_itself() {
    let examples = manifest_dir().join("../../shared/asyncapi/examples");
    let mut files: Vec<PathBuf> = vec![manifest_dir().join("../asyncapi.yaml")];
    for version in ["3.1", "2.6"] {
        collect_documents(&examples.join(version), &mut files);
    }
    let mut compared = 0;
    for file in &files {
        let Ok(spec) = load_spec(file) else { continue };
        let report = diff(&spec, &spec);
        assert!(
            report.changes.is_empty(),
            "{}: {:#?}",
            file.display(),
            report.changes
        );
        compared += 1;
    }
    assert!(
        compared >= 10,
        "only {compared} of {} documents loaded",
        files.len()
    );
}

/// Top-level example files, and the `asyncapi.yaml` root of each multi-file example.
fn collect_documents(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(
                walk(&path)
                    .into_iter()
                    .filter(|p| p.file_name().is_some_and(|n| n == "asyncapi.yaml")),
            );
        } else {
            out.push(path);
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
