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
//!
//! ## Running it
//!
//! ```text
//! nats-server -js &
//! cargo run -p coordinate --bin coordinate-worker -- --nats-url nats://127.0.0.1:4222 --worker-id w1
//! cargo run -p coordinate --bin coordinate-worker -- --nats-url nats://127.0.0.1:4222 --worker-id w2
//! ```
//!
//! Each process provisions the service (idempotent) and the `COORD_STATE` bucket, then
//! takes its share of the 8 partitions; SIGTERM finishes the jobs in flight and hands
//! its partitions over at once, SIGKILL hands them over after the lease ttl
//! (`--lease-ttl`, default the document's 10 s).

pub mod handler;
pub mod serve;
pub mod state;
