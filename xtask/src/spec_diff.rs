//! `cargo xtask spec-diff`: the breaking-change report between two versions of the
//! contract, for pull requests. The rules live in `jetwire_codegen::diff`.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use jetwire_codegen::diff::{diff, Report};
use jetwire_codegen::load::load_spec;

#[derive(clap::Args)]
pub struct Args {
    /// The old contract file (give NEW too).
    #[arg(required_unless_present = "base", requires = "new")]
    old: Option<PathBuf>,
    /// The new contract file.
    #[arg(conflicts_with = "base")]
    new: Option<PathBuf>,
    /// Compare the working contract with the one at this git revision (e.g. `origin/main`).
    #[arg(long, value_name = "GIT_REV")]
    base: Option<String>,
    /// The contract, relative to the workspace root, for `--base`.
    #[arg(long, default_value = "asyncapi.yaml")]
    spec: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    /// Exit successfully even when something breaks without a major version bump.
    #[arg(long)]
    allow_breaking: bool,
    /// Print how long loading and diffing took (to stderr).
    #[arg(long)]
    timings: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Markdown,
    Json,
}

pub fn run(root: &Path, args: Args) -> Result<()> {
    let started = Instant::now();
    let (old, new) = match (&args.base, &args.old, &args.new) {
        (Some(rev), _, _) => {
            let checkout = tempfile::tempdir().context("creating a temporary directory")?;
            let old_path = export_at_revision(root, rev, &args.spec, checkout.path())?;
            let old = load_spec(&old_path)
                .with_context(|| format!("loading {} at {rev}", args.spec.display()))?;
            let new_path = root.join(&args.spec);
            let new =
                load_spec(&new_path).with_context(|| format!("loading {}", new_path.display()))?;
            (old, new)
        }
        (None, Some(old), Some(new)) => (
            load_spec(old).with_context(|| format!("loading {}", old.display()))?,
            load_spec(new).with_context(|| format!("loading {}", new.display()))?,
        ),
        _ => bail!("give OLD and NEW contract files, or --base GIT_REV"),
    };
    let loaded = started.elapsed();
    let report = diff(&old, &new);
    let diffed = started.elapsed() - loaded;

    match args.format {
        Format::Markdown => print!("{}", report.to_markdown()),
        Format::Json => println!("{}", report.to_json()),
    }
    if args.timings {
        eprintln!(
            "spec-diff: loading {loaded:.2?}, diffing {diffed:.2?}, total {:.2?}",
            started.elapsed()
        );
    }
    check_version(&report, args.allow_breaking)
}

/// Breaking changes need a major `info.version` bump (a minor bump while at `0.x`).
fn check_version(report: &Report, allow_breaking: bool) -> Result<()> {
    if !report.is_breaking() || allow_breaking {
        return Ok(());
    }
    let (old, new) = (&report.old_version, &report.new_version);
    let parse = |v: &str| semver::Version::parse(v.trim_start_matches('v'));
    match (parse(old), parse(new)) {
        (Ok(o), Ok(n)) if is_major_bump(&o, &n) => Ok(()),
        (Ok(_), Ok(_)) => bail!(
            "{}, but info.version went from {old} to {new} without a major bump; bump it or pass --allow-breaking",
            report.summary()
        ),
        (Err(e), _) | (_, Err(e)) => bail!(
            "{}, and info.version ({old} → {new}) is not semver ({e}), so no major bump can be confirmed; pass --allow-breaking",
            report.summary()
        ),
    }
}

fn is_major_bump(old: &semver::Version, new: &semver::Version) -> bool {
    if old.major == 0 && new.major == 0 {
        new.minor > old.minor
    } else {
        new.major > old.major
    }
}

/// Writes the contract at `rev`, and every file it references through a relative `$ref`,
/// under `into` (keeping their paths), and returns the root file's path there.
fn export_at_revision(root: &Path, rev: &str, spec: &Path, into: &Path) -> Result<PathBuf> {
    let mut queue = VecDeque::from([normalise(spec)]);
    let mut seen = BTreeSet::new();
    while let Some(file) = queue.pop_front() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let text = git_show(root, rev, &file)?;
        let target = into.join(&file);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&target, &text).with_context(|| format!("writing {}", target.display()))?;
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        for reference in external_refs(&text) {
            queue.push_back(normalise(&dir.join(reference)));
        }
    }
    Ok(into.join(normalise(spec)))
}

fn git_show(root: &Path, rev: &str, file: &Path) -> Result<String> {
    let object = format!("{rev}:{}", file.to_string_lossy().replace('\\', "/"));
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["show", &object])
        .output()
        .context("running git")?;
    if !output.status.success() {
        bail!(
            "`git show {object}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).with_context(|| format!("{object} is not UTF-8"))
}

/// The relative files named by `$ref`s in a YAML or JSON text (`./common.yaml#/X` →
/// `./common.yaml`); local (`#/...`) and remote (`https://...`) references are skipped.
fn external_refs(text: &str) -> Vec<String> {
    let mut refs = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("$ref") {
        rest = &rest[at + 4..];
        let value = rest.trim_start_matches(['"', '\'']).trim_start();
        let Some(value) = value.strip_prefix(':') else {
            continue;
        };
        let value = value.trim_start().trim_start_matches(['"', '\'']);
        let end = value
            .find(|c: char| {
                matches!(c, '"' | '\'' | '#' | ',' | '}' | '\n' | '\r') || c.is_whitespace()
            })
            .unwrap_or(value.len());
        let file = &value[..end];
        if !file.is_empty() && !file.contains("://") {
            refs.push(file.to_string());
        }
    }
    refs
}

/// `a/./b/../c.yaml` → `a/c.yaml`, so each file is fetched once.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use jetwire_codegen::diff::{Change, ChangeLocation, Impact};

    use super::*;

    #[test]
    fn external_refs_skip_local_and_remote_references() {
        let yaml = "a:\n  $ref: './common/messages.yaml#/Get'\nb:\n  $ref: '#/components/x'\n\
                    c: {\"$ref\": \"schemas.json#/D\"}\nd:\n  $ref: https://example.com/s.yaml\n";
        assert_eq!(
            external_refs(yaml),
            vec![
                "./common/messages.yaml".to_string(),
                "schemas.json".to_string()
            ]
        );
    }

    /// `--base` exports the root file and the files it references at the revision, so a
    /// change inside a referenced file is found.
    #[test]
    fn base_revision_includes_referenced_files() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../codegen/tests/fixtures/load");
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        std::fs::create_dir(root.join("common")).unwrap();
        std::fs::copy(fixtures.join("dns-3.1.yaml"), root.join("asyncapi.yaml")).unwrap();
        for file in ["messages.yaml", "schemas.yaml", "traits.yaml"] {
            std::fs::copy(
                fixtures.join("common").join(file),
                root.join("common").join(file),
            )
            .unwrap();
        }
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .arg("-C")
                .arg(root)
                .args([
                    "-c",
                    "user.name=spec-diff",
                    "-c",
                    "user.email=spec-diff@localhost",
                ])
                .args(args)
                .output()
                .unwrap();
            assert!(
                status.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&status.stderr)
            );
        };
        git(&["init", "-q"]);
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "contract"]);

        let schemas = root.join("common/schemas.yaml");
        let edited = std::fs::read_to_string(&schemas).unwrap().replace(
            "      type: string\n      description: An IP address.",
            "      type: string\n      maxLength: 45\n      description: An IP address.",
        );
        std::fs::write(&schemas, edited).unwrap();

        let checkout = tempfile::tempdir().unwrap();
        let old_path =
            export_at_revision(root, "HEAD", Path::new("asyncapi.yaml"), checkout.path()).unwrap();
        assert!(checkout.path().join("common/messages.yaml").is_file());
        let old = load_spec(&old_path).unwrap();
        let new = load_spec(&root.join("asyncapi.yaml")).unwrap();
        let report = diff(&old, &new);
        let kinds: Vec<_> = report
            .changes
            .iter()
            .map(|c| (c.kind.as_str(), c.location.path.as_deref()))
            .collect();
        assert!(
            !kinds.is_empty(),
            "the edit in common/schemas.yaml was not seen"
        );
        assert!(
            kinds.iter().all(|(k, p)| *k == "max_length_changed"
                && p.is_some_and(|p| p.ends_with("/servers/items"))),
            "{kinds:?}"
        );
    }

    #[test]
    fn a_missing_revision_is_a_clear_error() {
        let repo = tempfile::tempdir().unwrap();
        let into = tempfile::tempdir().unwrap();
        let err = export_at_revision(
            repo.path(),
            "no-such-rev",
            Path::new("asyncapi.yaml"),
            into.path(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("git show no-such-rev:asyncapi.yaml"),
            "{err:#}"
        );
    }

    fn report(old: &str, new: &str, impact: Impact) -> Report {
        Report {
            old_version: old.to_string(),
            new_version: new.to_string(),
            changes: vec![Change {
                location: ChangeLocation::default(),
                kind: "operation_removed".to_string(),
                impact,
                reason: "removed".to_string(),
            }],
        }
    }

    #[test]
    fn breaking_changes_need_a_major_bump_or_allow_breaking() {
        let breaking = |old, new| report(old, new, Impact::BreaksBoth);
        let err = check_version(&breaking("1.0.0", "1.1.0"), false).unwrap_err();
        assert!(
            err.to_string()
                .contains("from 1.0.0 to 1.1.0 without a major bump"),
            "{err}"
        );
        assert!(check_version(&breaking("1.0.0", "2.0.0"), false).is_ok());
        assert!(check_version(&breaking("1.0.0", "1.1.0"), true).is_ok());
        assert!(check_version(&report("1.0.0", "1.0.0", Impact::Compatible), false).is_ok());
        let err = check_version(&breaking("1.0", "2.0"), false).unwrap_err();
        assert!(err.to_string().contains("is not semver"), "{err}");
    }

    #[test]
    fn major_bumps() {
        let v = |s| semver::Version::parse(s).unwrap();
        assert!(is_major_bump(&v("1.4.0"), &v("2.0.0")));
        assert!(!is_major_bump(&v("1.4.0"), &v("1.5.0")));
        assert!(is_major_bump(&v("0.3.1"), &v("0.4.0")));
        assert!(!is_major_bump(&v("0.3.1"), &v("0.3.2")));
    }
}
