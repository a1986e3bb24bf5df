//! Loading AsyncAPI documents into the IR.
//!
//! [`load_spec`] reads a YAML or JSON document (AsyncAPI 3.0/3.1, or 2.6 and, best
//! effort, 2.0–2.5), follows its `$ref`s into relative files, applies traits, interns
//! schemas and reads the `x-jetwire` extension (see [`extension`]), producing one
//! [`Spec`]. Errors and diagnostics name `file:line:col (at #/pointer)`.

mod channel;
mod consumers;
mod documents;
pub mod extension;
mod fields;
mod lower;
mod message;
mod pointer;
mod policy;
pub mod schema;
mod subject;
mod traits;
mod v2;
mod v3;
mod yaml;

use std::path::{Path, PathBuf};

use serde_json::Value;

use self::documents::Documents;
use self::fields::{kind, Fields};
use self::lower::Lowering;
use crate::error::{Error, Result};
use crate::ir::{Info, Severity, SourceInfo, Spec};

pub use self::subject::parse_subject;

/// Loads the AsyncAPI document at `path` (and every file it references).
pub fn load_spec(path: &Path) -> Result<Spec> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Syntax {
        location: crate::ir::Location {
            file: path.to_path_buf(),
            pointer: String::new(),
            line: None,
            column: None,
        },
        message: format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    load_on_loader_thread(path.to_path_buf(), text)
}

/// Stack for the loading thread. Schemas are read recursively (a sub-schema is read
/// while its parent's frame is live), and a document may nest them as deep as the YAML
/// depth limit allows; a dedicated stack makes that safe whatever thread calls us.
const LOADER_STACK_BYTES: usize = 256 << 20;

/// Loads a document given as text; `path` names it in messages and is the base for
/// relative `$ref`s.
pub fn load_spec_from_str(path: &Path, text: &str) -> Result<Spec> {
    load_on_loader_thread(path.to_path_buf(), text.to_string())
}

/// Runs the load on a thread of its own (see [`LOADER_STACK_BYTES`]).
fn load_on_loader_thread(path: PathBuf, text: String) -> Result<Spec> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    let worker = std::thread::Builder::new()
        .name("jetwire-load".into())
        .stack_size(LOADER_STACK_BYTES)
        .spawn(move || {
            let mut leftovers = None;
            let result = load_on_this_thread(&path, &text, &mut leftovers);
            // The caller goes on with the result while this thread frees the parsed
            // documents (a large tree: freeing it takes a good part of a load).
            let _ = sender.send(result);
            drop(leftovers);
        });
    match worker {
        Ok(handle) => match receiver.recv() {
            Ok(result) => result,
            // Nothing sent: the loader panicked; pass its panic on.
            Err(_) => match handle.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => Err(Error::Io {
                    path: PathBuf::from("<loader thread>"),
                    source: std::io::Error::other("the loader ended without a result"),
                }),
            },
        },
        Err(source) => Err(Error::Io {
            path: PathBuf::from("<loader thread>"),
            source,
        }),
    }
}

/// Loads the document; the files read are left in `leftovers` for the caller to free.
fn load_on_this_thread(
    path: &Path,
    text: &str,
    leftovers: &mut Option<(Documents, std::rc::Rc<Value>)>,
) -> Result<Spec> {
    documents::stack_depth::mark_base();
    let docs = Documents::new(path, text)?;
    let root = docs.root_shared();
    let version = version(&docs, &root)?;

    let extension =
        extension::root_extension(&docs, docs.root_at("/x-jetwire"), root.get("x-jetwire"))?;
    let info = info(&docs, &root)?;
    let mut lowering = Lowering::new(docs, extension);
    lowering.default_content_type = info.default_content_type.clone();

    match version.major {
        3 => lowering.lower_v3(&root)?,
        _ => {
            if version.minor < 6 {
                let at = lowering.docs.root_at("/asyncapi");
                lowering.diagnostic(
                    Severity::Note,
                    at,
                    format!(
                        "AsyncAPI {} is read as 2.6 (the shapes jetwire uses are the same)",
                        version.text
                    ),
                );
            }
            lowering.lower_v2(&root)?;
        }
    }
    lowering.plan_jetstream()?;

    let mut diagnostics = lowering.diagnostics;
    diagnostics.extend(lowering.interner.diagnostics);
    let source = SourceInfo {
        path: lowering.docs.root_path().to_path_buf(),
        asyncapi_version: version.text,
        sha256: lowering.docs.sha256(),
    };
    *leftovers = Some((lowering.docs, root));
    Ok(Spec {
        source,
        info,
        servers: lowering.servers,
        channels: lowering.channels,
        operations: lowering.operations,
        messages: lowering.messages,
        schemas: lowering.interner.arena,
        jetstream: lowering.extension.config,
        diagnostics,
    })
}

struct Version {
    text: String,
    major: u32,
    minor: u32,
}

/// The `asyncapi` field: 3.0.x, 3.1.x or 2.x (x ≤ 6).
fn version(docs: &Documents, root: &Value) -> Result<Version> {
    let at = docs.root_at("/asyncapi");
    let supported = "supported: 3.0.x, 3.1.x, 2.6.x (and 2.0–2.5 read as 2.6)";
    let text = match root {
        Value::Object(map) => match map.get("asyncapi") {
            Some(Value::String(text)) => text.clone(),
            Some(other) => {
                return Err(Error::invalid(
                    at,
                    format!("`asyncapi` must be a version string such as \"3.1.0\", found {}", kind(other)),
                ))
            }
            None => {
                return Err(Error::invalid(
                    at,
                    format!("not an AsyncAPI document: the `asyncapi` version field is missing ({supported})"),
                ))
            }
        },
        other => {
            return Err(Error::invalid(
                at,
                format!(
                    "not an AsyncAPI document: the root is {}, not a mapping with an `asyncapi` field",
                    kind(other)
                ),
            ))
        }
    };
    let mut parts = text.split('.');
    let number = |p: Option<&str>| p.and_then(|p| p.split(['-', '+']).next()?.parse::<u32>().ok());
    let (major, minor, patch) = (
        number(parts.next()),
        number(parts.next()),
        number(parts.next()),
    );
    match (major, minor, patch, parts.next()) {
        (Some(3), Some(0 | 1), Some(_), None) | (Some(2), Some(0..=6), Some(_), None) => {
            Ok(Version {
                major: major.unwrap_or_default(),
                minor: minor.unwrap_or_default(),
                text,
            })
        }
        _ => Err(Error::invalid(
            at,
            format!("unsupported AsyncAPI version `{text}` ({supported})"),
        )),
    }
}

fn info(docs: &Documents, root: &Value) -> Result<Info> {
    let at = docs.root_at("/info");
    let Some(info) = root.get("info") else {
        return Err(Error::invalid(
            at,
            "the document needs an `info` object (title and version)",
        ));
    };
    let f = Fields::new(docs, at, info, "info")?;
    let root_fields = Fields::new(docs, docs.root_at(""), root, "the document")?;
    Ok(Info {
        title: f.required_string("title")?,
        version: f.required_string("version")?,
        description: f.string("description")?,
        id: root_fields.string("id")?,
        default_content_type: root_fields.string("defaultContentType")?,
    })
}
