//! # jetwire-codegen
//!
//! AsyncAPI 3.0/3.1 (and 2.6) → a typed Rust crate for the jetwire job protocol, plus docs.
//! Stages, each its own module: `load` (documents → [`ir::Spec`]), `typegen` (schemas →
//! Rust types and `validate()`), `rustgen` (client, worker, service metadata, crate files),
//! `docs` (Markdown and HTML from `templates/`).

mod case;
pub mod diff;
pub mod docs;
pub mod error;
pub mod generate;
pub mod ir;
mod keywords;
pub mod load;
pub mod rustgen;
pub mod typegen;

pub use error::{Error, Result};
pub use generate::{generate_module, Generated, Generator};
