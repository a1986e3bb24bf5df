//! `getHostname` / `setHostname`: the static host name in `<root>/etc/hostname`, and,
//! when `root` is `/`, the kernel's host name.
//!
//! Reading: the first line of `<root>/etc/hostname` that is neither empty nor a `#`
//! comment (hostname(5)). When root is `/` and that file has no name, the kernel's host
//! name is reported instead, with `source: kernel`.
//!
//! Writing checks the name (RFC 1123, and the kernel's 64-byte limit when root is `/`)
//! and replaces `<root>/etc/hostname` atomically. Only when root is `/` is the kernel
//! host name set too, and first: without the privilege for it (CAP_SYS_ADMIN) the result
//! is `PermissionDenied` and nothing has changed; if writing the file then fails, the
//! kernel host name is set back, so the change is never half applied.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::write_atomically;
use super::error::ProviderError;
use super::names::check_hostname;

/// The kernel's limit on a host name (`HOST_NAME_MAX`).
pub const KERNEL_HOSTNAME_MAX: usize = 64;

/// Where a reported host name came from (the contract's `HostnameSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostnameSource {
    /// `<root>/etc/hostname`.
    File,
    /// The running kernel (`uname`), because the file names none.
    Kernel,
}

/// Mirrors the contract's `HostnameInfo` schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostnameInfo {
    pub hostname: String,
    pub source: HostnameSource,
}

/// Mirrors the contract's `HostnameUpdate` schema (without the transport's `request_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostnameUpdate {
    pub hostname: String,
}

/// Mirrors the contract's `HostnameChange` schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostnameChange {
    /// The host name now configured.
    pub hostname: String,
    /// The name the file held before, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_hostname: Option<String>,
    /// The file written.
    pub path: String,
    /// Whether the running kernel's host name was changed too (only when root is `/`).
    pub kernel_updated: bool,
}

/// `<root>/etc/hostname`.
pub fn hostname_path(root: &Path) -> PathBuf {
    root.join("etc/hostname")
}

/// Whether `root` is the host's own root directory.
pub fn is_host_root(root: &Path) -> bool {
    fs::canonicalize(root).is_ok_and(|p| p == Path::new("/"))
}

/// The running kernel's host name.
pub fn kernel_hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The host name configured under `root`.
pub fn get_hostname(root: &Path) -> Result<HostnameInfo, ProviderError> {
    let path = hostname_path(root);
    if let Some(hostname) = read_hostname_file(&path)? {
        return Ok(HostnameInfo {
            hostname,
            source: HostnameSource::File,
        });
    }
    if is_host_root(root) {
        return Ok(HostnameInfo {
            hostname: kernel_hostname(),
            source: HostnameSource::Kernel,
        });
    }
    Err(ProviderError::IoFailure {
        path: path.display().to_string(),
        reason: "no host name is configured (the file is missing or names none)".into(),
    })
}

/// Sets the host name under `root` (see the module documentation for the order of
/// steps and what happens on failure).
pub fn set_hostname(root: &Path, update: &HostnameUpdate) -> Result<HostnameChange, ProviderError> {
    let hostname = update.hostname.as_str();
    check_hostname("hostname", hostname)?;
    let host_root = is_host_root(root);
    if host_root && hostname.len() > KERNEL_HOSTNAME_MAX {
        return Err(ProviderError::InvalidHostname {
            field: "hostname".into(),
            value: hostname.into(),
            reason: format!(
                "is {} characters long; the kernel accepts at most {KERNEL_HOSTNAME_MAX}",
                hostname.len()
            ),
        });
    }
    let path = hostname_path(root);
    let previous_hostname = read_hostname_file(&path)?;

    let previous_kernel = host_root.then(kernel_hostname);
    if host_root {
        set_kernel_hostname(hostname)?;
    }
    if let Err(e) = write_atomically(&path, format!("{hostname}\n").as_bytes(), 0o644) {
        if let Some(previous) = &previous_kernel {
            // Undo the kernel change so the host is left as it was. If even this fails,
            // the error below still tells the caller the operation did not succeed.
            let _ = set_kernel_hostname(previous);
        }
        return Err(ProviderError::from_io("write hostname file", &path, &e));
    }
    Ok(HostnameChange {
        hostname: hostname.into(),
        previous_hostname,
        path: path.display().to_string(),
        kernel_updated: host_root,
    })
}

fn set_kernel_hostname(name: &str) -> Result<(), ProviderError> {
    rustix::system::sethostname(name.as_bytes()).map_err(|errno| {
        if errno == rustix::io::Errno::PERM {
            ProviderError::PermissionDenied {
                operation: "set the kernel host name (requires CAP_SYS_ADMIN)".into(),
                path: None,
            }
        } else {
            ProviderError::IoFailure {
                path: "sethostname(2)".into(),
                reason: io::Error::from(errno).to_string(),
            }
        }
    })
}

fn read_hostname_file(path: &Path) -> Result<Option<String>, ProviderError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(parse_hostname_file(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ProviderError::from_io("read hostname file", path, &e)),
    }
}

/// The name in hostname(5) text: the first line that is not empty or a `#` comment.
pub fn parse_hostname_file(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_file_skips_comments_and_blank_lines() {
        assert_eq!(
            parse_hostname_file("# set by installer\n\n  web-01  \nignored\n"),
            Some("web-01".into())
        );
        assert_eq!(parse_hostname_file("# nothing\n\n"), None);
    }

    #[test]
    fn only_the_real_root_is_the_host_root() {
        assert!(is_host_root(Path::new("/")));
        assert!(!is_host_root(&std::env::temp_dir()));
        assert!(!is_host_root(Path::new("/definitely/not/here")));
    }
}
