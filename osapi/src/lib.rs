//! OSAPI: an agent per Linux host that answers queries and applies modifications
//! described by `asyncapi.yaml`, served over jetwire job queues.
//!
//! [`providers`] does the work on the host; it knows nothing about the transport.
//! [`bridge`] turns the generated job types into provider inputs and provider results
//! into replies and typed errors. [`agent`] serves jobs with them, [`gateway`] is the HTTP
//! API (its module doc lists the routes), [`broadcast`] sends `_all` jobs from JSON,
//! [`agents`] drains and resumes agents, [`client_cli`] the `osapi client` commands and
//! [`serve`] the long-running commands (`osapi start`, `osapi agent start`, `osapi api
//! start`); [`config`] resolves settings, [`delivery`] the delivery policy overrides.

pub mod agent;
pub mod agents;
pub mod bridge;
pub mod broadcast;
pub mod client_cli;
pub mod config;
pub mod delivery;
pub mod gateway;
pub mod openapi;
pub mod output;
pub mod providers;
pub mod serve;
