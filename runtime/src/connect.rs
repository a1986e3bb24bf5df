//! Connecting to NATS: one place that turns deployment settings (servers, credentials, TLS)
//! into an `async_nats::Client` that reconnects forever once it has connected.

use std::path::PathBuf;
use std::time::Duration;

/// How to reach and authenticate to the NATS servers.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// One or more server URLs (`nats://host:4222`, `tls://host:4222`).
    pub urls: Vec<String>,
    /// Connection name shown by the server (`nats server report connections`).
    pub name: Option<String>,
    pub auth: Auth,
    pub tls: TlsOptions,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// Upper bound of the exponential reconnect backoff.
    pub max_reconnect_delay: Duration,
}

/// How the client authenticates.
#[derive(Clone, Debug, Default)]
pub enum Auth {
    #[default]
    None,
    UserPassword {
        user: String,
        password: String,
    },
    Token(String),
    /// A `.creds` file (JWT + nkey seed).
    CredentialsFile(PathBuf),
    /// An nkey seed (`SU…`).
    NkeySeed(String),
}

/// TLS settings; all optional.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// PEM file with the CA certificates that sign the server certificate.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM), for servers that verify clients.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Refuse to connect without TLS.
    pub require: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            urls: vec!["nats://127.0.0.1:4222".into()],
            name: None,
            auth: Auth::None,
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(5),
            max_reconnect_delay: Duration::from_secs(5),
        }
    }
}

/// Failure to connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid connection settings: {0}")]
    Invalid(String),
    #[error("cannot read NATS credentials file {path}: {source}")]
    Credentials {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to NATS at {servers}: {reason}")]
    Connect { servers: String, reason: String },
}

impl ConnectOptions {
    /// Options for these servers (comma-separated URLs are split), no auth, no TLS.
    pub fn new(urls: impl AsRef<str>) -> Self {
        ConnectOptions {
            urls: urls
                .as_ref()
                .split(',')
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect(),
            ..Default::default()
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Connects. The first connection must succeed (its failure is reported with the
    /// servers tried and why); afterwards the client reconnects forever with exponential
    /// backoff capped at `max_reconnect_delay`.
    pub async fn connect(&self) -> Result<async_nats::Client, ConnectError> {
        if self.urls.is_empty() {
            return Err(ConnectError::Invalid("no server URL given".into()));
        }
        let addrs = self
            .urls
            .iter()
            .map(|u| {
                u.parse::<async_nats::ServerAddr>()
                    .map_err(|e| ConnectError::Invalid(format!("server URL '{u}': {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut opts = match &self.auth {
            Auth::None => async_nats::ConnectOptions::new(),
            Auth::UserPassword { user, password } => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            Auth::Token(token) => async_nats::ConnectOptions::with_token(token.clone()),
            Auth::NkeySeed(seed) => async_nats::ConnectOptions::with_nkey(seed.clone()),
            Auth::CredentialsFile(path) => async_nats::ConnectOptions::new()
                .credentials_file(path)
                .await
                .map_err(|source| ConnectError::Credentials {
                    path: path.clone(),
                    source,
                })?,
        };
        if let Some(ca) = &self.tls.ca_file {
            opts = opts.add_root_certificates(ca.clone());
        }
        match (&self.tls.client_cert, &self.tls.client_key) {
            (Some(cert), Some(key)) => {
                opts = opts.add_client_certificate(cert.clone(), key.clone());
            }
            (None, None) => {}
            _ => {
                return Err(ConnectError::Invalid(
                    "a TLS client certificate needs both the certificate and the key file".into(),
                ))
            }
        }
        if self.tls.require {
            opts = opts.require_tls(true);
        }
        if let Some(name) = &self.name {
            opts = opts.name(name);
        }
        let cap = self.max_reconnect_delay;
        opts = opts
            .connection_timeout(self.connect_timeout)
            .max_reconnects(None)
            .reconnect_delay_callback(move |attempt| reconnect_delay(attempt, cap));
        opts.connect(addrs)
            .await
            .map_err(|e| ConnectError::Connect {
                servers: self.urls.join(", "),
                reason: describe_connect_error(&e),
            })
    }
}

/// Exponential backoff from 100 ms, capped.
fn reconnect_delay(attempt: usize, cap: Duration) -> Duration {
    let exp = attempt.min(10) as u32;
    Duration::from_millis(100u64.saturating_mul(1 << exp)).min(cap)
}

/// The innermost cause reads best ("Connection refused (os error 111)").
fn describe_connect_error(e: &async_nats::ConnectError) -> String {
    let mut reason = e.kind().to_string();
    let mut source = std::error::Error::source(e);
    let mut innermost = None;
    while let Some(s) = source {
        innermost = Some(s.to_string());
        source = s.source();
    }
    if let Some(inner) = innermost {
        reason = format!("{reason}: {inner}");
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let cap = Duration::from_secs(5);
        assert_eq!(reconnect_delay(0, cap), Duration::from_millis(100));
        assert_eq!(reconnect_delay(3, cap), Duration::from_millis(800));
        assert_eq!(reconnect_delay(50, cap), cap);
    }

    #[test]
    fn urls_are_split() {
        let o = ConnectOptions::new("nats://a:1, nats://b:2");
        assert_eq!(o.urls, vec!["nats://a:1", "nats://b:2"]);
    }
}
