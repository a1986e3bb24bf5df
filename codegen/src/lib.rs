//! # jetwire-codegen
//!
//! AsyncAPI 3.0/3.1 (and 2.6) → a typed Rust crate for the jetwire job protocol, plus docs.
//! Stages, each its own module: `load` (documents → [`ir::Spec`]), `typegen` (schemas →
//! Rust types and `validate()`), `rustgen` (client, worker, service metadata, crate files),
//! `docs` (Markdown and HTML from `templates/`).

pub mod error;
pub mod ir;

pub use error::{Error, Result};
