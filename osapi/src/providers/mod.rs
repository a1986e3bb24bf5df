//! The agent's Linux providers: one module per domain of the contract, each a plain
//! function over plain structs whose fields mirror the contract's schemas one to one
//! (less the transport's `request_id`), failing with a [`ProviderError`] whose variants
//! are the contract's typed errors.
//!
//! | operation          | function                 | reply struct      |
//! |--------------------|--------------------------|-------------------|
//! | `getSystemStatus`  | [`system::system_status`] | [`system::SystemStatus`] |
//! | `getDisk`          | [`disk::disk_usage`]      | [`disk::DiskUsage`] |
//! | `getDns`           | [`dns::get_dns`]          | [`dns::DnsConfig`] |
//! | `setDns`           | [`dns::set_dns`]          | [`dns::DnsConfig`] |
//! | `getHostname`      | [`hostname::get_hostname`] | [`hostname::HostnameInfo`] |
//! | `setHostname`      | [`hostname::set_hostname`] | [`hostname::HostnameChange`] |
//! | `ping`             | [`ping::ping`]            | [`ping::PingResult`] |
//!
//! All of them block (file system, sockets); async callers run them on a blocking thread.

mod atomic;
pub mod disk;
pub mod dns;
mod error;
pub mod hostname;
pub mod names;
pub mod ping;
pub mod system;

pub use atomic::write_atomically;
pub use error::ProviderError;
