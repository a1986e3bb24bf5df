//! The typed layer generated code is written against: typed job handles and call options
//! over the untyped [`crate::client::Client`], and the conversions the generated client
//! and dispatcher share (payload encoding with validation, subject rendering and
//! parameter checks, decoding with validation, handler results to outcomes, typed events).
//!
//! Everything here is spec-agnostic: the generated crate supplies the types. Generated
//! code uses the items through this module (`::jetwire::typed::…`).

mod broadcast;
mod events;
mod handle;
mod json;
mod outcome;
mod params;
mod request;
#[cfg(test)]
mod tests;

pub use broadcast::{broadcast, broadcast_get, Broadcast};
pub use events::{publish_event, subscribe, subscribe_matching, Event, EventStream, ParseParams};
pub use handle::{call, decode_result, into_typed, submit, typed_result, CallOptions, JobHandle};
pub use json::{
    assign_request_id, broadcast_params, decode_headers, decode_request, json_payload, reply_json,
    untyped, untyped_broadcast, untyped_reply, untyped_submitted,
};
pub use outcome::{
    decode_params, decode_payload, handler_outcome, set_correlation_id, unknown_operation,
};
pub use params::{subject_violations, SubjectValues};
pub use request::{
    check_subject_parameter, encode_payload, header_pairs, missing_subject_parameter,
    parameter_path, render_subject, subject_values, RequestBuilder,
};
