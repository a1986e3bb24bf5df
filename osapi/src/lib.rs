//! OSAPI: an agent per Linux host that answers queries and applies modifications
//! described by `asyncapi.yaml`, served over jetwire job queues.
//!
//! [`providers`] does the work on the host; it knows nothing about the transport.
//! [`bridge`] turns the generated job types into provider inputs and provider results
//! into replies and typed errors.

pub mod bridge;
pub mod providers;
