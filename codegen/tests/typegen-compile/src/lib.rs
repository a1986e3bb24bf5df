//! The typegen snapshots (`codegen/tests/output/typegen/*.rs`), compiled as they are.
//! Each fixture's types live in a module of the fixture's name, as generated code lives
//! in a `types` module of a generated crate.

// Generated items must be documented like the rest of a generated crate.
#![deny(missing_docs)]

/// The types of fixture `allof.json`.
pub mod allof {
    include!("../../output/typegen/allof.rs");
}
/// A message example of the official AsyncAPI documents: the message, the payload as
/// JSON, and a function decoding and validating it as the message's payload type.
pub type PayloadExample = (&'static str, &'static str, fn(&str) -> Result<(), String>);

/// Decodes `json` as `T` and validates it.
pub fn check_payload<T>(json: &str) -> Result<(), String>
where
    T: serde::de::DeserializeOwned + jetwire::Validate,
{
    let value: T = serde_json::from_str(json).map_err(|e| format!("does not decode: {e}"))?;
    value
        .validate()
        .map_err(|v| format!("has violations: {v:?}"))
}

/// In each document's module: `payload_examples()`, its message examples.
macro_rules! payload_examples {
    ($($key:literal => $ty:ty: $json:literal;)*) => {
        /// The document's message examples.
        pub fn payload_examples() -> ::std::vec::Vec<crate::PayloadExample> {
            ::std::vec![$(($key, $json, crate::check_payload::<$ty>)),*]
        }
    };
}

/// `all_payload_examples()`: the message examples of every document.
macro_rules! payload_example_modules {
    ($($module:ident),*) => {
        /// The message examples of every document.
        pub fn all_payload_examples() -> ::std::vec::Vec<(&'static str, crate::PayloadExample)> {
            let mut all = ::std::vec::Vec::new();
            $(all.extend($module::payload_examples().into_iter().map(|e| (stringify!($module), e)));)*
            all
        }
    };
}

/// The official AsyncAPI examples, one module per document.
pub mod asyncapi_examples {
    include!("../../output/typegen/asyncapi_examples.rs");
}
/// The types of fixture `enums.json`.
pub mod enums {
    include!("../../output/typegen/enums.rs");
}
/// The types of fixture `names.json`.
pub mod names {
    include!("../../output/typegen/names.rs");
}
/// The types of fixture `objects.json`.
pub mod objects {
    include!("../../output/typegen/objects.rs");
}
/// The types of fixture `recursion.json`.
pub mod recursion {
    include!("../../output/typegen/recursion.rs");
}
/// The types of fixture `scalars.json`.
pub mod scalars {
    include!("../../output/typegen/scalars.rs");
}
/// The types of fixture `unions.json`.
pub mod unions {
    include!("../../output/typegen/unions.rs");
}
/// The types of fixture `unsupported.json`.
pub mod unsupported {
    include!("../../output/typegen/unsupported.rs");
}
/// The types of fixture `validation.json`.
pub mod validation {
    include!("../../output/typegen/validation.rs");
}
