//! Named schemas in the generated docs: each is documented once (`docs/types.md` and a
//! section of `docs/index.html`), field tables link to it instead of repeating its
//! fields, every link has its target, and recursive schemas end at a link.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jetwire_codegen::Generator;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs/types.yaml")
}

fn generate(spec: &Path) -> BTreeMap<PathBuf, String> {
    Generator::new(spec)
        .crate_name("docs-types")
        .runtime_path("../runtime")
        .generate()
        .unwrap_or_else(|e| panic!("{}: {e}", spec.display()))
        .files
}

fn file<'a>(files: &'a BTreeMap<PathBuf, String>, path: &str) -> &'a str {
    files
        .get(Path::new(path))
        .unwrap_or_else(|| panic!("no {path}"))
}

/// The section of `types.md` under the heading `` ## `name` ``, up to the next one.
fn section<'a>(types: &'a str, name: &str) -> &'a str {
    let heading = format!("\n## `{name}`\n");
    let start = types
        .find(&heading)
        .unwrap_or_else(|| panic!("no section {name}:\n{types}"));
    let rest = &types[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// The anchors GitHub gives the headings of a Markdown page: lowercase, punctuation
/// other than `-` and `_` dropped, spaces as `-`, repeats numbered `-1`, `-2`, ...
fn github_anchors(markdown: &str) -> BTreeSet<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#').trim();
        let base: String = text
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .flat_map(char::to_lowercase)
            .collect();
        let n = counts.entry(base.clone()).or_insert(0);
        anchors.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    anchors
}

/// The targets of the links in `markdown` that start with `prefix`: `(prefix<target>)`.
fn link_targets<'a>(markdown: &'a str, prefix: &str) -> Vec<&'a str> {
    let pattern = format!("]({prefix}");
    markdown
        .split(pattern.as_str())
        .skip(1)
        .map(|rest| &rest[..rest.find(')').expect("a closed link")])
        .collect()
}

#[test]
fn a_named_schema_is_documented_once_with_its_fields() {
    let files = generate(&fixture());
    let types = file(&files, "docs/types.md");
    assert_eq!(types.matches("\n## `Address`\n").count(), 1, "{types}");
    let address = section(types, "Address");
    for needle in [
        "A postal address.",
        "Rust type `types::Address`",
        "`types.yaml#/components/schemas/Address`",
        "| `street` | string | yes | maxLength 200 |",
        "| `city` | string | yes |",
        "\"street\": \"1 Main Street\"",
    ] {
        assert!(
            address.contains(needle),
            "Address lacks {needle}:\n{address}"
        );
    }
    // Used by two operations, written out by neither.
    for page in [
        "docs/operations/savePerson.md",
        "docs/operations/saveCompany.md",
    ] {
        let text = file(&files, page);
        assert!(!text.contains("street"), "{page} repeats Address:\n{text}");
    }
    // Every named schema of the messages has a section, sorted by name; the
    // anonymous payload of getTree has none.
    let headings: Vec<&str> = types
        .lines()
        .filter_map(|l| l.strip_prefix("## `"))
        .map(|l| l.trim_end_matches('`'))
        .collect();
    assert_eq!(
        headings,
        ["Address", "Circle", "Company", "Node", "Person", "Point", "Shape"],
        "{types}"
    );
    let html = file(&files, "docs/index.html");
    assert_eq!(html.matches("id=\"type-address\"").count(), 1);
    assert!(html.contains("href=\"#types\""), "no navigation link");
}

#[test]
fn field_tables_link_to_the_type_sections_and_every_anchor_exists() {
    let files = generate(&fixture());
    let person = file(&files, "docs/operations/savePerson.md");
    for needle in [
        "Payload type: [`Person`](../types.md#person).",
        "| `home` | [Address](../types.md#address): object | yes |",
        // `allOf: [$ref]` with a description of its own: the referenced type.
        "| `work` | [Address](../types.md#address) | no |",
        "| `shape` | [Shape](../types.md#shape): [Circle](../types.md#circle) \\| object | no |",
        // A schema with a title is named: linked.
        "| `location` | [Point](../types.md#point): object | no |",
        // Anonymous inline objects are still written out.
        "| `meta` | object | no |",
        "| `meta.source` | string | no |",
    ] {
        assert!(
            person.contains(needle),
            "savePerson lacks {needle}:\n{person}"
        );
    }
    assert!(!person.contains("`location.x`"), "{person}");
    let company = file(&files, "docs/operations/saveCompany.md");
    assert!(
        company.contains("| `branches` | array of [Address](../types.md#address) | no |"),
        "{company}"
    );
    let types = file(&files, "docs/types.md");
    // An anonymous variant is written out in its type's section.
    assert!(
        section(types, "Shape").contains("| `(oneOf[1]).side` | number | yes |"),
        "{types}"
    );

    // Markdown: every link to a type from an operation page, the README or the types
    // page itself lands on a heading of types.md.
    let anchors = github_anchors(types);
    let mut checked = 0;
    for (path, text) in &files {
        let path = path.to_string_lossy();
        let prefix = match &*path {
            "docs/types.md" => "#",
            "docs/README.md" => "types.md#",
            p if p.starts_with("docs/operations/") => "../types.md#",
            _ => continue,
        };
        for target in link_targets(text, prefix) {
            assert!(anchors.contains(target), "{path}: no heading for #{target}");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links");

    // HTML: every in-page link has its target.
    let html = file(&files, "docs/index.html");
    assert!(
        html.contains("href=\"#type-address\""),
        "no link to Address"
    );
    for link in html.split("href=\"#").skip(1) {
        let target = &link[..link.find('"').expect("a closed attribute")];
        assert!(
            html.contains(&format!("id=\"{target}\"")),
            "link to #{target} has no target"
        );
    }
    assert!(!html.contains("@type#"), "an unresolved type link");
}

#[test]
fn a_recursive_schema_renders_once_with_links_to_itself() {
    let files = generate(&fixture());
    let types = file(&files, "docs/types.md");
    let node = section(types, "Node");
    assert!(
        node.contains("| `children` | array of [Node](#node) | no |"),
        "{node}"
    );
    assert!(
        node.contains("| `parent` | [Node](#node): object | no |"),
        "{node}"
    );
    assert_eq!(
        node.matches("\n| `").count(),
        3,
        "one row per property:\n{node}"
    );
    let tree = file(&files, "docs/operations/getTree.md");
    assert!(
        tree.contains("| `root` | [Node](../types.md#node): object | no |"),
        "{tree}"
    );
    assert!(
        tree.contains("Payload type: [`Node`](../types.md#node)."),
        "{tree}"
    );
    assert!(!tree.contains("root.children"), "{tree}");
}

/// The Rust name each section gives is a type of the generated `types` module.
#[test]
fn the_documented_rust_names_are_the_generated_types() {
    let mut named = 0;
    for spec in [
        fixture(),
        repo().join("asyncapi.yaml"),
        repo().join("examples/coordinate/asyncapi.yaml"),
        repo().join("codegen/tests/fixtures/generate/jobs.yaml"),
        repo().join("codegen/tests/fixtures/generate/names.yaml"),
    ] {
        let files = generate(&spec);
        // A document without named schemas has no types page.
        let Some(types) = files.get(Path::new("docs/types.md")) else {
            continue;
        };
        let code: String = file(&files, "src/types.rs")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for line in types.lines() {
            let Some(name) = line.strip_prefix("## `") else {
                continue;
            };
            let name = name.trim_end_matches('`');
            let defined = ["struct", "enum", "type"].iter().any(|kind| {
                code.match_indices(&format!("pub{kind}{name}"))
                    .any(|(at, found)| {
                        !code[at + found.len()..]
                            .starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    })
            });
            assert!(
                defined,
                "{}: no type {name} in src/types.rs",
                spec.display()
            );
            named += 1;
        }
    }
    assert!(named > 30, "only {named} types documented");
}
