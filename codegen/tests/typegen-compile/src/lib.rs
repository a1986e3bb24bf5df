//! The typegen snapshots (`codegen/tests/output/typegen/*.rs`), compiled as they are.
//! Each fixture's types live in a module of the fixture's name, as generated code lives
//! in a `types` module of a generated crate.

pub mod allof {
    include!("../../output/typegen/allof.rs");
}
/// The official AsyncAPI examples, one module per document.
pub mod asyncapi_examples {
    include!("../../output/typegen/asyncapi_examples.rs");
}
pub mod enums {
    include!("../../output/typegen/enums.rs");
}
pub mod names {
    include!("../../output/typegen/names.rs");
}
pub mod objects {
    include!("../../output/typegen/objects.rs");
}
pub mod recursion {
    include!("../../output/typegen/recursion.rs");
}
pub mod scalars {
    include!("../../output/typegen/scalars.rs");
}
pub mod unions {
    include!("../../output/typegen/unions.rs");
}
pub mod unsupported {
    include!("../../output/typegen/unsupported.rs");
}
pub mod validation {
    include!("../../output/typegen/validation.rs");
}
