//! `getDisk`: usage of every mounted storage file system, from `/proc/self/mounts` and
//! `statvfs(3)` per mount point.
//!
//! Reported: every mount whose file system type is not one of [`PSEUDO_FILESYSTEMS`]
//! and whose size is not zero. Those are kernel interfaces (procfs, sysfs, cgroups,
//! debugfs, ...) with no storage behind them; a zero size catches the rest of that kind
//! (e.g. `ramfs`). Memory-backed storage that does have a size (`tmpfs`, `devtmpfs`) is
//! reported, as `df` does. When a mount point is mounted more than once, the last mount
//! (the one visible at that path) is reported once.
//!
//! Asked for one mount point, the mount there is reported whatever its type: the
//! exclusions above only keep the full listing to storage.

use std::fs;
use std::path::Path;

use serde::Serialize;

use super::error::ProviderError;

/// Mirrors the contract's `DiskUsage` schema.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiskUsage {
    pub mounts: Vec<MountUsage>,
}

/// Mirrors `MountUsage`. Sizes as `df` computes them: `used = total - free`; `available`
/// is what an unprivileged user may still write (free minus the root reserve);
/// `used_percent = used / (used + available) * 100`, two decimals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MountUsage {
    pub mount_point: String,
    pub device: String,
    pub filesystem_type: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
    pub available_bytes: u64,
    pub used_percent: f64,
}

/// One line of `/proc/self/mounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub device: String,
    pub mount_point: String,
    pub filesystem_type: String,
}

/// File system types that are kernel interfaces, not storage.
pub const PSEUDO_FILESYSTEMS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nfsd",
    "nsfs",
    "proc",
    "pstore",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "sysfs",
    "tracefs",
];

const MOUNTS: &str = "/proc/self/mounts";

/// Usage of every storage mount, or of the one mounted at `mount_point`.
pub fn disk_usage(mount_point: Option<&str>) -> Result<DiskUsage, ProviderError> {
    let text = fs::read_to_string(MOUNTS).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ProviderError::NotSupported {
            feature: MOUNTS.into(),
            reason: "the mount table is not available (is procfs mounted?)".into(),
        },
        _ => ProviderError::io(Path::new(MOUNTS), &e),
    })?;
    let entries = parse_mounts(&text).map_err(|reason| ProviderError::IoFailure {
        path: MOUNTS.into(),
        reason: format!("unexpected content: {reason}"),
    })?;
    let entries = visible_mounts(entries);

    if let Some(wanted) = mount_point {
        let wanted = normalize_mount_point(wanted);
        let entry = entries
            .into_iter()
            .find(|e| e.mount_point == wanted)
            .ok_or_else(|| ProviderError::MountNotFound {
                mount_point: wanted.clone(),
            })?;
        return Ok(DiskUsage {
            mounts: vec![usage_of(&entry)?],
        });
    }
    // A mount that cannot be inspected (e.g. a FUSE mount of another user, a stale NFS
    // handle) is left out of the full listing rather than failing it.
    let mounts = entries
        .iter()
        .filter(|e| !is_pseudo(e))
        .filter_map(|e| usage_of(e).ok())
        .filter(|u| u.total_bytes > 0)
        .collect();
    Ok(DiskUsage { mounts })
}

/// Keeps the last mount of each mount point (the one visible there), in table order.
pub fn visible_mounts(entries: Vec<MountEntry>) -> Vec<MountEntry> {
    let mut kept: Vec<MountEntry> = Vec::new();
    for entry in entries {
        kept.retain(|k| k.mount_point != entry.mount_point);
        kept.push(entry);
    }
    kept
}

/// Whether the mount is a kernel interface rather than storage.
pub fn is_pseudo(entry: &MountEntry) -> bool {
    PSEUDO_FILESYSTEMS.contains(&entry.filesystem_type.as_str())
}

fn normalize_mount_point(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.into()
    }
}

fn usage_of(entry: &MountEntry) -> Result<MountUsage, ProviderError> {
    let stat = rustix::fs::statvfs(entry.mount_point.as_str()).map_err(|errno| {
        let err = std::io::Error::from(errno);
        ProviderError::from_io("statvfs", Path::new(&entry.mount_point), &err)
    })?;
    let fragment = stat.f_frsize;
    let total = stat.f_blocks.saturating_mul(fragment);
    let free = stat.f_bfree.saturating_mul(fragment);
    let available = stat.f_bavail.saturating_mul(fragment);
    let used = total.saturating_sub(free);
    Ok(MountUsage {
        mount_point: entry.mount_point.clone(),
        device: entry.device.clone(),
        filesystem_type: entry.filesystem_type.clone(),
        total_bytes: total,
        used_bytes: used,
        free_bytes: free,
        available_bytes: available,
        used_percent: used_percent(used, available),
    })
}

/// `df`'s "Use%": the share of the space usable by ordinary users that is used.
pub fn used_percent(used: u64, available: u64) -> f64 {
    let usable = used as f64 + available as f64;
    if usable == 0.0 {
        return 0.0;
    }
    (used as f64 / usable * 10_000.0).round() / 100.0
}

/// Parses the fstab-format mount table (`device mount_point type options dump pass`),
/// decoding the octal escapes the kernel writes for space, tab, newline and backslash.
pub fn parse_mounts(text: &str) -> Result<Vec<MountEntry>, String> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            return Err(format!(
                "line {}: expected at least 3 fields, found {}: '{line}'",
                index + 1,
                fields.len()
            ));
        }
        entries.push(MountEntry {
            device: unescape(fields[0]),
            mount_point: unescape(fields[1]),
            filesystem_type: unescape(fields[2]),
        });
    }
    Ok(entries)
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal.and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS_TEXT: &str = "\
/dev/sda1 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev,size=1632840k,mode=755 0 0
/dev/sdb1 /mnt/my\\040disk xfs rw 0 0
/dev/sdc1 /data ext4 rw 0 0
/dev/sdd1 /data ext4 rw 0 0
";

    #[test]
    fn parses_and_unescapes_the_mount_table() {
        let entries = parse_mounts(MOUNTS_TEXT).unwrap();
        assert_eq!(entries.len(), 8);
        assert_eq!(
            entries[0],
            MountEntry {
                device: "/dev/sda1".into(),
                mount_point: "/".into(),
                filesystem_type: "ext4".into()
            }
        );
        assert_eq!(entries[5].mount_point, "/mnt/my disk");
        assert_eq!(unescape(r"a\134b\011c\0"), "a\\b\tc\\0");
    }

    #[test]
    fn skips_pseudo_filesystems_and_shadowed_mounts() {
        let visible = visible_mounts(parse_mounts(MOUNTS_TEXT).unwrap());
        assert_eq!(visible.len(), 7);
        assert_eq!(visible[6].device, "/dev/sdd1");
        let storage: Vec<_> = visible
            .iter()
            .filter(|e| !is_pseudo(e))
            .map(|e| e.mount_point.as_str())
            .collect();
        assert_eq!(storage, ["/", "/run", "/mnt/my disk", "/data"]);
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let err = parse_mounts("/dev/sda1 / ext4 rw 0 0\nbroken line\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }

    #[test]
    fn used_percent_follows_df() {
        assert_eq!(used_percent(0, 0), 0.0);
        assert_eq!(used_percent(25, 75), 25.0);
        assert_eq!(used_percent(1, 2), 33.33);
        assert_eq!(normalize_mount_point("/data/"), "/data");
        assert_eq!(normalize_mount_point("/"), "/");
    }
}
