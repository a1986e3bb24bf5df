//! # Coordinate Service example worker
//!
//! Serves the Coordinate Service (`examples/coordinate/asyncapi.yaml`): commands that move
//! points of coordinate systems. Every command of one system carries the system id as its
//! routing key, so all of them land on one keyed partition and run one at a time, in
//! publish order, on whichever worker holds that partition's lease.
//!
//! The systems' state lives in a KV bucket ([`state`]); each command is applied with a
//! compare-and-set together with its request id, so a command delivered twice (its worker
//! was killed after applying it, before acknowledging) changes the state once.

pub mod handler;
pub mod serve;
pub mod state;
