//! Rust emission: IR → token streams per generated module → formatted files.
//!
//! - [`model`] resolves every operation once (names, types, parameters);
//! - [`types`] bridges to the type generator;
//! - [`service`], [`operations`], [`client`], [`worker`] emit one module each;
//! - [`format`] prints token streams with prettyplease, item by item;
//! - [`pipeline`] emits and formats the modules on the available threads;
//! - [`crate_files`] assembles them into a crate (`lib.rs` + module files + `Cargo.toml`)
//!   or into one self-contained module for build scripts.

pub mod client;
pub mod crate_files;
pub mod format;
pub mod model;
pub mod naming;
pub mod operations;
pub mod pipeline;
pub mod service;
pub mod types;
pub mod worker;

use proc_macro2::TokenStream;

use crate::ir::{Diagnostic, MessageId, Spec};
use crate::Result;

/// The generated modules of one spec (`T`: their token streams or their formatted text)
/// and what they hold.
pub struct Modules<T> {
    pub types: T,
    pub service: T,
    pub operations: T,
    pub client: T,
    pub worker: T,
    pub info: CodeInfo,
}

/// The modules as token streams ([`generate`]).
pub type RustCode = Modules<TokenStream>;

/// The modules formatted, each without header or module docs
/// ([`pipeline::generate_formatted`]).
pub type FormattedCode = Modules<String>;

impl<T> Modules<T> {
    /// Each module with its name, in a fixed order.
    pub fn named(&self) -> [(&'static str, &T); 5] {
        [
            ("types", &self.types),
            ("service", &self.service),
            ("operations", &self.operations),
            ("client", &self.client),
            ("worker", &self.worker),
        ]
    }
}

/// What the generated code holds, besides the code: for the crate docs, build scripts
/// and reports.
pub struct CodeInfo {
    /// Payload type of every message, written from the generated module root.
    pub message_types: Vec<MessageType>,
    /// Ids of the operations with client/worker code.
    pub job_operations: Vec<String>,
    pub event_operations: Vec<String>,
    /// Every operation with code, for the crate docs.
    pub summaries: Vec<OperationSummary>,
    pub diagnostics: Vec<Diagnostic>,
}

/// An operation with generated code: its id, subject and the base of its Rust method
/// names (see [`naming::method`]).
#[derive(Clone, Debug)]
pub struct OperationSummary {
    pub id: String,
    pub subject: String,
    pub method_base: String,
    /// A job (receive) or an event (send).
    pub is_job: bool,
}

/// A message and the Rust type of its payload.
#[derive(Clone, Debug)]
pub struct MessageType {
    pub message: MessageId,
    /// e.g. `types::StatusRequest`, relative to the generated module root.
    pub payload_type: String,
}

/// Every module as one token stream, on this thread ([`pipeline`] makes the same text
/// formatted, on several threads).
pub fn generate(spec: &Spec) -> Result<RustCode> {
    let mut types = types::Types::new(&spec.schemas);
    let model = model::build(spec, &mut types)?;
    Ok(RustCode {
        types: types.definitions(),
        service: service::emit(&model),
        operations: operations::emit(&model),
        client: client::emit(&model),
        worker: worker::emit(&model),
        info: code_info(model),
    })
}

fn code_info(model: model::Model) -> CodeInfo {
    CodeInfo {
        message_types: model
            .messages
            .iter()
            .map(|m| MessageType {
                message: m.id,
                payload_type: types::from_root(&m.payload_type).to_string(),
            })
            .collect(),
        job_operations: model.jobs.iter().map(|j| j.op.id.clone()).collect(),
        event_operations: model.events.iter().map(|j| j.op.id.clone()).collect(),
        summaries: model
            .jobs
            .iter()
            .map(|j| (j, true))
            .chain(model.events.iter().map(|e| (e, false)))
            .map(|(op, is_job)| OperationSummary {
                id: op.op.id.clone(),
                subject: op.subject.template(),
                method_base: op.method_base.clone(),
                is_job,
            })
            .collect(),
        diagnostics: model.diagnostics,
    }
}
