//! Arbitrary bytes into the loader: it must return a spec or an error, never panic,
//! overflow its stack or hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The path only names the document in messages and anchors relative `$ref`s.
    let _ = jetwire_codegen::load::load_spec_from_str(Path::new("fuzz-input.yaml"), &text);
});
