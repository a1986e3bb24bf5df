//! Errors of the code generator. Every error about the input names where it is: the
//! file, the JSON pointer inside it, and the line/column when known.

use std::path::PathBuf;

use crate::ir::Location;

/// A problem that stops loading or generation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document (or a file it references) could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The document is not well-formed YAML/JSON.
    #[error("{location}: {message}")]
    Syntax { location: Location, message: String },
    /// The document is well-formed but not a valid (or not a supported) AsyncAPI document.
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
    /// A `$ref` that cannot be followed.
    #[error("{location}: cannot resolve $ref '{reference}': {reason}")]
    Ref {
        location: Location,
        reference: String,
        reason: String,
    },
    /// Writing generated files failed.
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Generated Rust did not parse (a bug in the generator: please report it).
    #[error("internal error: generated code for {what} does not parse: {message}")]
    Internal { what: String, message: String },
}

impl Error {
    pub fn invalid(location: Location, message: impl Into<String>) -> Self {
        Error::Invalid {
            location,
            message: message.into(),
        }
    }

    /// Where in the input the problem is, when it is about the input.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Syntax { location, .. }
            | Error::Invalid { location, .. }
            | Error::Ref { location, .. } => Some(location),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
