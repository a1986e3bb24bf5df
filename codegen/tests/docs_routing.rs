//! The routing chapters of the generated docs: the partition hash's worked example is
//! the number the algorithm computes, and targets, registry and leases are documented
//! where the document uses them.

use std::path::{Path, PathBuf};

use jetwire_codegen::ir::partition_of;
use jetwire_codegen::Generator;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn docs(spec: &str) -> String {
    let generated = Generator::new(repo().join(spec))
        .crate_name("docs-test")
        .runtime_path("../runtime")
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
    generated
        .files
        .get(Path::new("docs/README.md"))
        .expect("docs/README.md")
        .clone()
}

/// FNV-1a 32-bit written out again from its definition, independently of the crate's.
fn fnv1a(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 2_166_136_261;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(16_777_619);
    }
    hash
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` not in the docs"))
        + start.len();
    let len = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no `{end}` after `{start}`"));
    &text[from..from + len]
}

#[test]
fn the_worked_partition_example_is_what_the_hash_computes() {
    let readme = docs("examples/coordinate/asyncapi.yaml");
    let line = readme
        .lines()
        .find(|l| l.starts_with("Worked example"))
        .expect("a worked example");
    let key = between(line, "the key `", "`");
    let hash: u32 = between(line, "hashes to ", " ")
        .parse()
        .expect("a decimal hash");
    let hex = between(line, "hashes to ", ";");
    let hex = between(hex, "(`", "`)");
    let count: u32 = between(line, " mod ", " ").parse().expect("a count");
    let partition: u32 = between(line, "= **", "**").parse().expect("a partition");
    let subject = between(line, "published to `", "`");

    assert_eq!(key, "triangle", "{line}");
    assert_eq!(hash, fnv1a(key.as_bytes()), "{line}");
    assert_eq!(hex, format!("0x{hash:08x}"), "{line}");
    assert_eq!(count, 8, "{line}");
    assert_eq!(partition, hash % count, "{line}");
    assert_eq!(partition, partition_of(key, count), "{line}");
    assert_eq!(
        subject,
        format!("coord.{partition}.system.create"),
        "{line}"
    );
    // The operation pages' worked submissions go to the same partition.
    assert!(
        readme.contains("jobs-partitioned-0` … `jobs-partitioned-7`"),
        "{readme}"
    );
    assert!(readme.contains("`COORD_LEASES`"), "{readme}");
}

#[test]
fn the_hash_matches_published_fnv1a_vectors() {
    // From the FNV reference test suite.
    for (text, expected) in [
        ("", 0x811c_9dc5),
        ("a", 0xe40c_292c),
        ("foobar", 0xbf9c_f968),
    ] {
        assert_eq!(
            jetwire_codegen::ir::fnv1a_32(text.as_bytes()),
            expected,
            "{text:?}"
        );
        assert_eq!(fnv1a(text.as_bytes()), expected, "{text:?}");
    }
    assert_eq!(partition_of("foobar", 1), 0);
    assert_eq!(partition_of("a", 16), 0xe40c_292c % 16);
}

#[test]
fn targets_and_the_registry_are_documented_for_osapi() {
    let readme = docs("asyncapi.yaml");
    assert!(readme.contains("### Targets"), "no targets section");
    assert!(
        readme.contains("`jobs-query-agent-<worker_id>`"),
        "no per-worker durables"
    );
    assert!(
        readme.contains("`<request_id>.<worker_id>`"),
        "no broadcast request ids"
    );
    assert!(readme.contains("**manifest**"), "no manifest");
    assert!(readme.contains("`OSAPI_AGENTS`"), "no registry bucket");
    assert!(
        readme.contains("\"heartbeat_at\""),
        "no registry entry JSON"
    );
    // No keyed operation: no partition chapter.
    assert!(!readme.contains("### Keyed partitions"));
}
