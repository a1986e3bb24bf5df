//! `getSystemStatus`: host name, OS, kernel, uptime, load, memory, swap and CPU count.
//!
//! Sources: `uname(2)` (host name, kernel release, architecture), `/proc/uptime`,
//! `/proc/loadavg`, `/proc/meminfo`, `/etc/os-release` (else `/usr/lib/os-release`, else
//! the os-release defaults), `/sys/devices/system/cpu/online` (else the CPUs this process
//! may use). Every parser takes the file's text so it can be tested on fixed input.

use std::fs;
use std::io;
use std::path::Path;

use serde::Serialize;

use super::error::ProviderError;

/// Mirrors the contract's `SystemStatus` schema.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemStatus {
    pub hostname: String,
    pub os: OsInfo,
    pub kernel_release: String,
    pub architecture: String,
    pub uptime_seconds: f64,
    pub load_average: LoadAverage,
    pub memory: MemoryUsage,
    pub swap: SwapUsage,
    pub cpu_count: u32,
}

/// Mirrors `OsInfo`: the identifying fields of os-release(5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OsInfo {
    /// `ID`, e.g. `debian`.
    pub id: String,
    /// `NAME`, e.g. `Debian GNU/Linux`.
    pub name: String,
    /// `VERSION`, e.g. `12 (bookworm)`; absent on rolling releases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `VERSION_ID`, e.g. `12`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub pretty_name: String,
}

/// Mirrors `LoadAverage`: run-queue averages over 1, 5 and 15 minutes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

/// Mirrors `MemoryUsage`. `used_bytes` is `total_bytes - available_bytes`: memory that
/// cannot be handed to a new workload without swapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryUsage {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_bytes: u64,
}

/// Mirrors `SwapUsage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SwapUsage {
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub used_bytes: u64,
}

const UPTIME: &str = "/proc/uptime";
const LOADAVG: &str = "/proc/loadavg";
const MEMINFO: &str = "/proc/meminfo";
const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];
const CPU_ONLINE: &str = "/sys/devices/system/cpu/online";

/// Reads the status of this machine.
pub fn system_status() -> Result<SystemStatus, ProviderError> {
    let uname = rustix::system::uname();
    let text = |c: &std::ffi::CStr| c.to_string_lossy().into_owned();
    let (memory, swap) = parse_file(MEMINFO, parse_meminfo)?;
    Ok(SystemStatus {
        hostname: text(uname.nodename()),
        os: read_os_release()?,
        kernel_release: text(uname.release()),
        architecture: text(uname.machine()),
        uptime_seconds: parse_file(UPTIME, parse_uptime)?,
        load_average: parse_file(LOADAVG, parse_loadavg)?,
        memory,
        swap,
        cpu_count: cpu_count(),
    })
}

/// Reads `path` and parses it, naming the file in any error. A missing `/proc` file
/// means the host is not a Linux with procfs mounted.
fn parse_file<T>(path: &str, parse: fn(&str) -> Result<T, String>) -> Result<T, ProviderError> {
    let text = fs::read_to_string(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ProviderError::NotSupported {
            feature: path.into(),
            reason: "the file does not exist (is procfs mounted?)".into(),
        },
        _ => ProviderError::io(Path::new(path), &e),
    })?;
    parse(&text).map_err(|reason| ProviderError::IoFailure {
        path: path.into(),
        reason: format!("unexpected content: {reason}"),
    })
}

fn read_os_release() -> Result<OsInfo, ProviderError> {
    for path in OS_RELEASE {
        match fs::read_to_string(path) {
            Ok(text) => return Ok(parse_os_release(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ProviderError::io(Path::new(path), &e)),
        }
    }
    // os-release(5): without the file, the defaults below apply.
    Ok(parse_os_release(""))
}

fn cpu_count() -> u32 {
    fs::read_to_string(CPU_ONLINE)
        .ok()
        .and_then(|text| parse_cpu_list(&text).ok())
        .filter(|n| *n > 0)
        .or_else(|| {
            std::thread::available_parallelism()
                .ok()
                .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        })
        .unwrap_or(1)
}

/// `/proc/uptime`: `"<uptime> <idle>"` in seconds.
pub fn parse_uptime(text: &str) -> Result<f64, String> {
    let first = text.split_whitespace().next().ok_or("the file is empty")?;
    parse_non_negative(first, "uptime")
}

/// `/proc/loadavg`: `"0.52 0.58 0.59 1/467 12345"`.
pub fn parse_loadavg(text: &str) -> Result<LoadAverage, String> {
    let mut fields = text.split_whitespace();
    let mut next = |name: &str| -> Result<f64, String> {
        let value = fields
            .next()
            .ok_or_else(|| format!("missing the {name}-minute average"))?;
        parse_non_negative(value, name)
    };
    Ok(LoadAverage {
        one: next("1")?,
        five: next("5")?,
        fifteen: next("15")?,
    })
}

fn parse_non_negative(value: &str, what: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{what}: '{value}' is not a non-negative number")),
    }
}

/// `/proc/meminfo`: `"MemTotal:       16314260 kB"` lines. `MemAvailable` exists since
/// Linux 3.14; before that it is estimated as free + buffers + page cache.
pub fn parse_meminfo(text: &str) -> Result<(MemoryUsage, SwapUsage), String> {
    let mut fields = std::collections::HashMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (key, rest) = line
            .split_once(':')
            .ok_or_else(|| format!("line {}: no ':' in '{line}'", index + 1))?;
        let mut parts = rest.split_whitespace();
        let number = parts
            .next()
            .ok_or_else(|| format!("line {}: '{key}' has no value", index + 1))?;
        let value: u64 = number.parse().map_err(|_| {
            format!(
                "line {}: '{key}' value '{number}' is not a number",
                index + 1
            )
        })?;
        let bytes = match parts.next() {
            None => value,
            Some("kB") => value.saturating_mul(1024),
            Some(unit) => return Err(format!("line {}: unknown unit '{unit}'", index + 1)),
        };
        fields.insert(key.trim(), bytes);
    }
    let get = |key: &str| {
        fields
            .get(key)
            .copied()
            .ok_or_else(|| format!("'{key}' is missing"))
    };
    let total = get("MemTotal")?;
    let available = match get("MemAvailable") {
        Ok(v) => v,
        Err(_) => get("MemFree")? + get("Buffers").unwrap_or(0) + get("Cached").unwrap_or(0),
    }
    .min(total);
    let swap_total = get("SwapTotal").unwrap_or(0);
    let swap_free = get("SwapFree").unwrap_or(0).min(swap_total);
    Ok((
        MemoryUsage {
            total_bytes: total,
            available_bytes: available,
            used_bytes: total - available,
        },
        SwapUsage {
            total_bytes: swap_total,
            free_bytes: swap_free,
            used_bytes: swap_total - swap_free,
        },
    ))
}

/// os-release(5): `KEY=value` lines, values optionally in single or double quotes (double
/// quotes allow `\"`, `\\`, `` \` `` and `\$` escapes), `#` comments. Missing keys get
/// the defaults the manual gives (`ID=linux`, `NAME=Linux`, `PRETTY_NAME=Linux`).
pub fn parse_os_release(text: &str) -> OsInfo {
    let mut values = std::collections::HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, raw)) = line.split_once('=') {
            values.insert(key.trim().to_string(), unquote(raw.trim()));
        }
    }
    let mut take = |key: &str| values.remove(key).filter(|v| !v.is_empty());
    OsInfo {
        id: take("ID").unwrap_or_else(|| "linux".into()),
        name: take("NAME").unwrap_or_else(|| "Linux".into()),
        version: take("VERSION"),
        version_id: take("VERSION_ID"),
        pretty_name: take("PRETTY_NAME").unwrap_or_else(|| "Linux".into()),
    }
}

fn unquote(raw: &str) -> String {
    let quoted = |q: char| raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q);
    if quoted('\'') {
        return raw[1..raw.len() - 1].to_string();
    }
    if !quoted('"') {
        return raw.to_string();
    }
    let mut out = String::new();
    let mut chars = raw[1..raw.len() - 1].chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('"' | '\\' | '`' | '$'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// A kernel CPU list such as `0-3,6,8-9` (as in `/sys/devices/system/cpu/online`): the
/// number of CPUs it names.
pub fn parse_cpu_list(text: &str) -> Result<u32, String> {
    let mut count = 0u32;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let number = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("'{s}' in '{part}' is not a CPU number"))
        };
        let span = match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo)?, number(hi)?);
                if hi < lo {
                    return Err(format!("range '{part}' is reversed"));
                }
                hi - lo + 1
            }
            None => {
                number(part)?;
                1
            }
        };
        count += span;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO_TEXT: &str = "\
MemTotal:       16314260 kB
MemFree:         1042384 kB
MemAvailable:    9876544 kB
Buffers:          482104 kB
Cached:          7744108 kB
SwapCached:            0 kB
SwapTotal:       2097148 kB
SwapFree:        2000000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
";

    #[test]
    fn meminfo_is_read_in_bytes() {
        let (mem, swap) = parse_meminfo(MEMINFO_TEXT).unwrap();
        assert_eq!(mem.total_bytes, 16314260 * 1024);
        assert_eq!(mem.available_bytes, 9876544 * 1024);
        assert_eq!(mem.used_bytes, (16314260 - 9876544) * 1024);
        assert_eq!(swap.total_bytes, 2097148 * 1024);
        assert_eq!(swap.free_bytes, 2000000 * 1024);
        assert_eq!(swap.used_bytes, 97148 * 1024);
    }

    #[test]
    fn meminfo_without_mem_available_estimates_it() {
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n";
        let (mem, swap) = parse_meminfo(old).unwrap();
        assert_eq!(mem.available_bytes, 400 * 1024);
        assert_eq!(swap.total_bytes, 0);
    }

    #[test]
    fn meminfo_errors_name_the_line() {
        let err = parse_meminfo("MemTotal: lots kB\n").unwrap_err();
        assert!(err.contains("line 1") && err.contains("lots"), "{err}");
        let err = parse_meminfo("MemFree: 1 kB\n").unwrap_err();
        assert!(err.contains("MemTotal"), "{err}");
    }

    #[test]
    fn loadavg_and_uptime() {
        let load = parse_loadavg("0.52 1.58 10.00 2/467 12345\n").unwrap();
        assert_eq!(
            load,
            LoadAverage {
                one: 0.52,
                five: 1.58,
                fifteen: 10.0
            }
        );
        assert!(parse_loadavg("0.52 x 1").unwrap_err().contains("'x'"));
        assert!(parse_loadavg("0.52").unwrap_err().contains("5-minute"));
        assert_eq!(parse_uptime("12345.67 23456.78\n").unwrap(), 12345.67);
        assert!(parse_uptime("").is_err());
        assert!(parse_uptime("-1 0").is_err());
    }

    #[test]
    fn os_release_quoting_and_defaults() {
        let text = r#"
# a comment
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME='Debian GNU/Linux'
VERSION_ID="12"
VERSION="12 (\"bookworm\")"
ID=debian
HOME_URL="https://www.debian.org/"
"#;
        let os = parse_os_release(text);
        assert_eq!(
            os,
            OsInfo {
                id: "debian".into(),
                name: "Debian GNU/Linux".into(),
                version: Some("12 (\"bookworm\")".into()),
                version_id: Some("12".into()),
                pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            }
        );
        let empty = parse_os_release("ID=\"\"\n");
        assert_eq!(empty.id, "linux");
        assert_eq!(empty.name, "Linux");
        assert_eq!(empty.version_id, None);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0\n").unwrap(), 1);
        assert_eq!(parse_cpu_list("0-3,6,8-9\n").unwrap(), 7);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("a-b").is_err());
    }
}
