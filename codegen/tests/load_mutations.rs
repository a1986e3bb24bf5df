//! The loader never panics, whatever it is given: a few hundred deterministic
//! mutations (truncations, byte flips, dropped and repeated lines, spliced text) of
//! real documents must each load or fail with an error. (The `fuzz/` crate explores
//! the same property with coverage guidance.)

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use jetwire_codegen::load::load_spec_from_str;

fn seeds() -> Vec<PathBuf> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/asyncapi/examples");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/load");
    vec![
        shared.join("3.1/streetlights-kafka-asyncapi.yml"),
        shared.join("3.1/adeo-kafka-request-reply-asyncapi.yml"),
        shared.join("3.1/social-media/backend/asyncapi.yaml"),
        shared.join("2.6/streetlights-mqtt.yml"),
        shared.join("2.6/social-media/backend/asyncapi.yaml"),
        fixtures.join("dns-3.1.yaml"),
        fixtures.join("dns-2.6.yaml"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../asyncapi.yaml"),
    ]
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that tend to matter to YAML, JSON pointers and `$ref`s.
const INTERESTING: &[u8] = b":-[]{}'\"#&*!|>%@`/~.\n\t $0";

fn mutations(original: &[u8], rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    let lines: Vec<&[u8]> = original.split_inclusive(|b| *b == b'\n').collect();
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let mut bytes = original.to_vec();
        match i % 6 {
            0 => bytes.truncate(rng.below(original.len())),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(bytes.len());
                    bytes[at] = INTERESTING[rng.below(INTERESTING.len())];
                }
            }
            3 => {
                let drop = rng.below(lines.len());
                bytes = lines
                    .iter()
                    .enumerate()
                    .filter(|(n, _)| *n != drop)
                    .flat_map(|(_, l)| l.iter().copied())
                    .collect();
            }
            4 => {
                let repeat = rng.below(lines.len());
                let mut joined = Vec::new();
                for (n, line) in lines.iter().enumerate() {
                    joined.extend_from_slice(line);
                    if n == repeat {
                        joined.extend_from_slice(line);
                    }
                }
                bytes = joined;
            }
            _ => {
                // Move a slice of the document somewhere else (breaks indentation
                // and references in interesting ways).
                let from = rng.below(bytes.len());
                let len = rng.below(200).min(bytes.len() - from);
                let piece: Vec<u8> = bytes.drain(from..from + len).collect();
                let to = rng.below(bytes.len());
                bytes.splice(to..to, piece);
            }
        }
        out.push(bytes);
    }
    out
}

#[test]
fn mutated_documents_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut loaded = 0;
    let mut failed = 0;
    for seed in seeds() {
        let original = std::fs::read(&seed).unwrap_or_else(|e| panic!("{}: {e}", seed.display()));
        for (n, bytes) in mutations(&original, &mut rng, 50).into_iter().enumerate() {
            let text = String::from_utf8_lossy(&bytes);
            let outcome = catch_unwind(AssertUnwindSafe(|| load_spec_from_str(&seed, &text)));
            match outcome {
                Ok(Ok(_)) => loaded += 1,
                Ok(Err(e)) => {
                    // Errors about the input say where they are.
                    if let Some(location) = e.location() {
                        assert!(!location.file.as_os_str().is_empty(), "{e}");
                    }
                    failed += 1;
                }
                Err(_) => panic!(
                    "the loader panicked on mutation {n} of {}:\n{text}",
                    seed.display()
                ),
            }
        }
    }
    // Both outcomes occur, so the mutations are neither all harmless nor all fatal.
    assert!(loaded > 0 && failed > 0, "loaded {loaded}, failed {failed}");
    assert_eq!(loaded + failed, 400);
}

#[test]
fn hostile_shapes_are_errors_not_crashes() {
    let path = Path::new("hostile.yaml");
    // Deep nesting.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(load_spec_from_str(path, &deep).is_err());
    let deep_map = format!(
        "asyncapi: 3.1.0\ninfo: {{title: t, version: '1'}}\nx: {}",
        "{a: ".repeat(5_000)
    );
    assert!(load_spec_from_str(path, &deep_map).is_err());
    // Alias bombs.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        bomb.push_str(&format!(
            "b{i}: &b{i} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n",
            p = if i == 0 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            }
        ));
    }
    assert!(load_spec_from_str(path, &bomb).is_err());
    // A schema nested as deep as YAML allows.
    let mut schema = String::from("{type: string}");
    for _ in 0..60 {
        schema = format!("{{type: object, properties: {{a: {schema}}}}}");
    }
    let doc = format!(
        "asyncapi: 3.1.0\ninfo: {{title: t, version: '1'}}\nchannels:\n  c:\n    address: a.b\n    messages:\n      m:\n        payload: {schema}\n"
    );
    let spec = load_spec_from_str(path, &doc).unwrap_or_else(|e| panic!("{e}"));
    assert!(spec.schemas.nodes.len() > 60);
    // Self-referencing documents.
    let doc = "asyncapi: 3.1.0\ninfo: {title: t, version: '1'}\nchannels:\n  c:\n    $ref: '#/channels/c'\n";
    assert!(load_spec_from_str(path, doc).is_err());
    let doc = "asyncapi: 3.1.0\ninfo: {title: t, version: '1'}\nchannels:\n  c:\n    address: a\n    messages:\n      m: {$ref: '#/channels/c/messages/m/x'}\n";
    assert!(load_spec_from_str(path, doc).is_err());
}

#[test]
fn endless_chains_of_schemas_are_refused_not_a_stack_overflow() {
    let mut doc =
        String::from("asyncapi: 3.1.0\ninfo: {title: t, version: '1'}\ncomponents:\n  schemas:\n");
    let n = 30_000;
    for i in 0..n {
        doc.push_str(&format!(
            "    S{i}: {{type: object, properties: {{next: {{$ref: '#/components/schemas/S{}'}}}}}}\n",
            i + 1
        ));
    }
    doc.push_str(&format!("    S{n}: {{type: string}}\n"));
    let err = load_spec_from_str(Path::new("chain.yaml"), &doc).unwrap_err();
    assert!(err.to_string().contains("nest too deeply"), "{err}");
    assert!(err.location().unwrap().line.is_some());
}
