//! The one error type of every provider. Each variant is one typed error message of the
//! contract (`components/messages/<Name>` in `asyncapi.yaml`, `x-jetwire-error: true`) and
//! carries exactly the fields of that message's `details` object, so the agent turns it
//! into the generated error type by copying fields.

use std::io;
use std::path::Path;

/// A provider failure, named after the contract's typed error it maps onto. It
/// serializes as that error's `details` object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum ProviderError {
    /// `InvalidAddress`: a value that must be an IP address (or a resolvable host name)
    /// is not one.
    #[error("invalid address in '{field}': '{value}': {reason}")]
    InvalidAddress {
        field: String,
        value: String,
        reason: String,
    },
    /// `InvalidHostname`: a host or domain name that breaks RFC 1123.
    #[error("invalid host name in '{field}': '{value}': {reason}")]
    InvalidHostname {
        field: String,
        value: String,
        reason: String,
    },
    /// `UnknownHost`: a host name that does not resolve to any address.
    #[error("cannot resolve '{address}': {reason}")]
    UnknownHost { address: String, reason: String },
    /// `PingFailed`: the probe could not be run at all (not: the host did not answer,
    /// which is a successful reply with `reachable: false`).
    #[error("cannot ping '{address}': {reason}")]
    PingFailed { address: String, reason: String },
    /// `PermissionDenied`: the agent lacks the privilege for the operation; nothing was
    /// changed.
    #[error("permission denied: {operation}{}", path_suffix(.path))]
    PermissionDenied {
        operation: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// `NotSupported`: the host does not offer what the operation needs.
    #[error("not supported: {feature}: {reason}")]
    NotSupported { feature: String, reason: String },
    /// `MountNotFound`: a disk query named a mount point that is not mounted.
    #[error("no file system is mounted at '{mount_point}'")]
    MountNotFound { mount_point: String },
    /// `IoFailure`: reading or writing a system file failed.
    #[error("I/O failure on '{path}': {reason}")]
    IoFailure { path: String, reason: String },
}

fn path_suffix(path: &Option<String>) -> String {
    path.as_deref()
        .map(|p| format!(" (on '{p}')"))
        .unwrap_or_default()
}

impl ProviderError {
    /// The contract's name of the typed error (the error message's key and the `code`
    /// constant of its payload).
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::InvalidAddress { .. } => "InvalidAddress",
            ProviderError::InvalidHostname { .. } => "InvalidHostname",
            ProviderError::UnknownHost { .. } => "UnknownHost",
            ProviderError::PingFailed { .. } => "PingFailed",
            ProviderError::PermissionDenied { .. } => "PermissionDenied",
            ProviderError::NotSupported { .. } => "NotSupported",
            ProviderError::MountNotFound { .. } => "MountNotFound",
            ProviderError::IoFailure { .. } => "IoFailure",
        }
    }

    /// Classifies an I/O error on `path` done for `operation`: lack of privilege becomes
    /// `PermissionDenied`, everything else `IoFailure`.
    pub fn from_io(operation: &str, path: &Path, err: &io::Error) -> Self {
        let path = path.display().to_string();
        match err.kind() {
            io::ErrorKind::PermissionDenied => ProviderError::PermissionDenied {
                operation: format!("{operation}: {err}"),
                path: Some(path),
            },
            _ => ProviderError::IoFailure {
                path,
                reason: err.to_string(),
            },
        }
    }

    pub(crate) fn io(path: &Path, err: &io::Error) -> Self {
        ProviderError::IoFailure {
            path: path.display().to_string(),
            reason: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified_by_kind() {
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let e = ProviderError::from_io("write resolv.conf", Path::new("/etc/x"), &denied);
        assert_eq!(e.code(), "PermissionDenied");
        assert!(e.to_string().contains("/etc/x"), "{e}");

        let missing = io::Error::from(io::ErrorKind::NotFound);
        let e = ProviderError::from_io("read", Path::new("/nope"), &missing);
        assert_eq!(e.code(), "IoFailure");
    }
}
