//! Settings: flag > environment variable (`OSAPI_*`, read by clap) > config file > default.
//!
//! The config file is YAML (`.yaml`, `.yml`), TOML (`.toml`) or JSON (`.json`), chosen by
//! extension; it is `--config FILE`, else `$XDG_CONFIG_HOME/osapi/config.{yaml,toml}` (or
//! `~/.config/...`) when present. Its keys are the long flag names with `_`:
//!
//! ```yaml
//! nats_url: nats://127.0.0.1:4222
//! listen: 127.0.0.1:8080
//! host_id: web-1            # `agent_id` is read too
//! root: /
//! store_dir: /var/lib/osapi/nats
//! # Delivery policy overrides (see `osapi::delivery`); the contract's values otherwise.
//! max_deliver: 3
//! retry_backoff: 200ms,1s
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The values a config file may set.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub nats_url: Option<String>,
    pub listen: Option<String>,
    /// The agent's host id (`agent_id` is accepted as its former name).
    #[serde(alias = "agent_id")]
    pub host_id: Option<String>,
    pub root: Option<PathBuf>,
    pub store_dir: Option<PathBuf>,
    pub max_deliver: Option<i64>,
    pub retry_backoff: Option<String>,
}

/// Failure to read the config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl FileConfig {
    /// The file `explicit`, else the default file if it exists, else nothing.
    pub fn load(explicit: Option<&Path>) -> Result<FileConfig, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_config_file() {
                Some(p) => p,
                None => return Ok(FileConfig::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let parsed = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => serde_json::from_str(&text).map_err(|e| e.to_string()),
            Some("yaml" | "yml") => serde_yaml::from_str(&text).map_err(|e| e.to_string()),
            Some("toml") => toml::from_str(&text).map_err(|e| e.to_string()),
            other => Err(format!(
                "unsupported extension {other:?}; use .yaml, .yml, .toml or .json"
            )),
        };
        parsed.map_err(|message| ConfigError::Parse { path, message })
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home().map(|h| h.join(fallback)))
}

fn default_config_file() -> Option<PathBuf> {
    let dir = xdg("XDG_CONFIG_HOME", ".config")?.join("osapi");
    ["config.yaml", "config.yml", "config.toml", "config.json"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// `$XDG_STATE_HOME/osapi` (or `~/.local/state/osapi`, else `./.osapi`).
pub fn state_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", ".local/state")
        .map(|d| d.join("osapi"))
        .unwrap_or_else(|| PathBuf::from(".osapi"))
}

/// Where modifications land unless `--root` says otherwise.
pub fn default_root() -> PathBuf {
    state_dir().join("root")
}

/// Where the embedded NATS server keeps its store unless `--store-dir` says otherwise.
pub fn default_store_dir() -> PathBuf {
    state_dir().join("nats")
}

/// This machine's host name as a host id: its first label, with characters a target
/// cannot carry replaced by `-`.
pub fn default_host_id() -> String {
    let name = crate::providers::hostname::kernel_hostname();
    let label = name.split('.').next().unwrap_or_default();
    let id: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    if id.is_empty() || !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        format!("host{id}")
    } else {
        id
    }
}

pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, text: &str) -> Result<FileConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        FileConfig::load(Some(&path))
    }

    #[test]
    fn yaml_and_toml_files_set_the_same_keys() {
        let yaml = load("c.yaml", "nats_url: nats://a:1\nlisten: 0.0.0.0:80\n").unwrap();
        let toml = load(
            "c.toml",
            "nats_url = \"nats://a:1\"\nlisten = \"0.0.0.0:80\"\n",
        )
        .unwrap();
        for c in [yaml, toml] {
            assert_eq!(c.nats_url.as_deref(), Some("nats://a:1"));
            assert_eq!(c.listen.as_deref(), Some("0.0.0.0:80"));
        }
    }

    #[test]
    fn unknown_keys_and_extensions_are_named() {
        let err = load("c.toml", "nats = 1\n").unwrap_err().to_string();
        assert!(err.contains("c.toml") && err.contains("nats"), "{err}");
        let err = load("c.ini", "").unwrap_err().to_string();
        assert!(err.contains("unsupported extension"), "{err}");
    }
}
