//! `getDns` / `setDns`: the resolver configuration in `<root>/etc/resolv.conf`.
//!
//! `root` is `/` to act on the host itself; any other directory (the agent's state
//! directory by default, a temporary directory in tests) holds a stand-in `etc/`.
//!
//! Reading follows resolv.conf(5): `nameserver <ip>` lines (in order), `search` and
//! `domain` lines (the last of them wins; `domain x` means `search x`), `options` lines,
//! and comment lines starting with `#` or `;`. Entries the resolver itself would ignore
//! (a nameserver that is not an IP address, a search domain that is not a valid name)
//! are left out of what is reported.
//!
//! Writing replaces the `nameserver`, `search` and `domain` lines and keeps every other
//! line (options, sortlist, comments) where it was. The new values are all checked before
//! anything is written, and the file is replaced atomically. A resolv.conf that is a
//! symbolic link belongs to a resolver manager (systemd-resolved, resolvconf) that would
//! overwrite our change, so it is refused with `NotSupported` instead.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::write_atomically;
use super::error::ProviderError;
use super::names::{check_hostname, hostname_problem, parse_ip};

/// Most name servers the resolver uses (glibc `MAXNS`); `setDns` accepts no more.
pub const MAX_NAMESERVERS: usize = 3;
/// Most search domains `setDns` accepts (the classic glibc `MAXDNSRCH`).
pub const MAX_SEARCH_DOMAINS: usize = 6;

/// Mirrors the contract's `DnsConfig` schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsConfig {
    /// The file the configuration was read from.
    pub path: String,
    pub nameservers: Vec<String>,
    pub search_domains: Vec<String>,
    /// The `options` entries (e.g. `ndots:2`, `edns0`), in file order.
    pub options: Vec<String>,
}

/// Mirrors the contract's `DnsUpdate` schema (without the transport's `request_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsUpdate {
    /// 1 to 3 IPv4 or IPv6 addresses, in order of preference.
    pub nameservers: Vec<String>,
    /// 0 to 6 domains appended to unqualified names, in order (absent = none).
    #[serde(default)]
    pub search_domains: Vec<String>,
}

/// What `resolv.conf` text says, before it is tied to a path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub search_domains: Vec<String>,
    pub options: Vec<String>,
}

/// `<root>/etc/resolv.conf`.
pub fn resolv_conf_path(root: &Path) -> PathBuf {
    root.join("etc/resolv.conf")
}

/// Reads the resolver configuration under `root`. A missing file is an empty
/// configuration (the resolver then falls back to its built-in defaults).
pub fn get_dns(root: &Path) -> Result<DnsConfig, ProviderError> {
    let path = resolv_conf_path(root);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ProviderError::from_io("read resolv.conf", &path, &e)),
    };
    let conf = parse_resolv_conf(&text);
    Ok(DnsConfig {
        path: path.display().to_string(),
        nameservers: conf.nameservers,
        search_domains: conf.search_domains,
        options: conf.options,
    })
}

/// Validates `update`, writes it into `<root>/etc/resolv.conf` keeping unrelated lines,
/// and returns the configuration read back from the file.
pub fn set_dns(root: &Path, update: &DnsUpdate) -> Result<DnsConfig, ProviderError> {
    let nameservers = validate_nameservers(&update.nameservers)?;
    validate_search_domains(&update.search_domains)?;

    let path = resolv_conf_path(root);
    if let Ok(meta) = fs::symlink_metadata(&path) {
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into());
            return Err(ProviderError::NotSupported {
                feature: "setDns".into(),
                reason: format!(
                    "{} is a symbolic link to {target}: it is managed by a resolver service",
                    path.display()
                ),
            });
        }
    }
    let existing = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ProviderError::from_io("read resolv.conf", &path, &e)),
    };
    let text = render_resolv_conf(&existing, &nameservers, &update.search_domains);
    write_atomically(&path, text.as_bytes(), 0o644)
        .map_err(|e| ProviderError::from_io("write resolv.conf", &path, &e))?;
    get_dns(root)
}

/// Checks the count and every address; returns the addresses in canonical form.
fn validate_nameservers(nameservers: &[String]) -> Result<Vec<String>, ProviderError> {
    if nameservers.is_empty() || nameservers.len() > MAX_NAMESERVERS {
        return Err(ProviderError::InvalidAddress {
            field: "nameservers".into(),
            value: nameservers.join(" "),
            reason: format!(
                "{} name servers given; between 1 and {MAX_NAMESERVERS} are allowed",
                nameservers.len()
            ),
        });
    }
    nameservers
        .iter()
        .enumerate()
        .map(|(i, ns)| parse_ip(&format!("nameservers[{i}]"), ns).map(|ip| ip.to_string()))
        .collect()
}

fn validate_search_domains(domains: &[String]) -> Result<(), ProviderError> {
    if domains.len() > MAX_SEARCH_DOMAINS {
        return Err(ProviderError::InvalidHostname {
            field: "search_domains".into(),
            value: domains.join(" "),
            reason: format!(
                "{} search domains given; at most {MAX_SEARCH_DOMAINS} are allowed",
                domains.len()
            ),
        });
    }
    for (i, domain) in domains.iter().enumerate() {
        check_hostname(&format!("search_domains[{i}]"), domain)?;
    }
    Ok(())
}

fn is_comment(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('#') || line.starts_with(';')
}

fn keyword(line: &str) -> Option<(&str, std::str::SplitWhitespace<'_>)> {
    if is_comment(line) {
        return None;
    }
    let mut words = line.split_whitespace();
    words.next().map(|k| (k, words))
}

/// Parses resolv.conf text (see the module documentation for the rules).
pub fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut conf = ResolvConf::default();
    for line in text.lines() {
        let Some((key, mut words)) = keyword(line) else {
            continue;
        };
        match key {
            "nameserver" => {
                if let Some(ip) = words
                    .next()
                    .and_then(|w| w.parse::<std::net::IpAddr>().ok())
                {
                    conf.nameservers.push(ip.to_string());
                }
            }
            "search" | "domain" => {
                conf.search_domains = words
                    .filter(|d| hostname_problem(d).is_none())
                    .map(str::to_string)
                    .collect();
                if key == "domain" {
                    conf.search_domains.truncate(1);
                }
            }
            "options" => conf.options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    conf
}

/// The new file text: `existing` with its `nameserver`/`search`/`domain` lines replaced
/// by the given values (placed where the first of them was, or at the end).
pub fn render_resolv_conf(existing: &str, nameservers: &[String], search: &[String]) -> String {
    let mut block = String::new();
    if !search.is_empty() {
        block.push_str(&format!("search {}\n", search.join(" ")));
    }
    for ns in nameservers {
        block.push_str(&format!("nameserver {ns}\n"));
    }

    let mut out = String::new();
    let mut placed = false;
    for line in existing.lines() {
        let managed = matches!(keyword(line), Some(("nameserver" | "search" | "domain", _)));
        if managed {
            if !placed {
                out.push_str(&block);
                placed = true;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !placed {
        out.push_str(&block);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOLV: &str = "\
# Generated by hand
; old-style comment
nameserver 192.0.2.53
nameserver   2001:DB8::53
nameserver not-an-ip
domain corp.example
search corp.example lab.example bad_domain
options ndots:2 timeout:1
options edns0
sortlist 130.155.160.0/255.255.240.0
";

    #[test]
    fn parses_nameservers_search_and_options() {
        let conf = parse_resolv_conf(RESOLV);
        assert_eq!(conf.nameservers, ["192.0.2.53", "2001:db8::53"]);
        assert_eq!(conf.search_domains, ["corp.example", "lab.example"]);
        assert_eq!(conf.options, ["ndots:2", "timeout:1", "edns0"]);
    }

    #[test]
    fn the_last_of_domain_and_search_wins() {
        let conf = parse_resolv_conf("search a.example b.example\ndomain c.example\n");
        assert_eq!(conf.search_domains, ["c.example"]);
        let conf = parse_resolv_conf("# search x.example\n;nameserver 192.0.2.1\n");
        assert_eq!(conf, ResolvConf::default());
    }

    #[test]
    fn rendering_replaces_managed_lines_in_place() {
        let text = render_resolv_conf(
            RESOLV,
            &["192.0.2.1".into(), "192.0.2.2".into()],
            &["new.example".into()],
        );
        assert_eq!(
            text,
            "\
# Generated by hand
; old-style comment
search new.example
nameserver 192.0.2.1
nameserver 192.0.2.2
options ndots:2 timeout:1
options edns0
sortlist 130.155.160.0/255.255.240.0
"
        );
        assert_eq!(
            render_resolv_conf("options rotate\n", &["::1".into()], &[]),
            "options rotate\nnameserver ::1\n"
        );
    }
}
