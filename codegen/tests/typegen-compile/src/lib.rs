//! The typegen snapshots (`codegen/tests/output/typegen/*.rs`), compiled as they are.
//! Each fixture's types live in a module of the fixture's name, as generated code lives
//! in a `types` module of a generated crate.

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
        pub fn payload_examples() -> ::std::vec::Vec<crate::PayloadExample> {
            ::std::vec![$(($key, $json, crate::check_payload::<$ty>)),*]
        }
    };
}

/// `all_payload_examples()`: the message examples of every document.
macro_rules! payload_example_modules {
    ($($module:ident),*) => {
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
