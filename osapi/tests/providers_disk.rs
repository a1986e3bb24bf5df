//! `getDisk` against this machine's mount table.

use osapi::providers::disk::{disk_usage, PSEUDO_FILESYSTEMS};

#[test]
fn lists_the_root_file_system_and_no_pseudo_ones() {
    let usage = disk_usage(None).expect("disk usage");
    let root = usage
        .mounts
        .iter()
        .find(|m| m.mount_point == "/")
        .unwrap_or_else(|| panic!("no '/' in {:#?}", usage.mounts));
    assert!(root.total_bytes > 0);
    assert_eq!(root.used_bytes + root.free_bytes, root.total_bytes);
    assert!(root.available_bytes <= root.free_bytes);
    assert!((0.0..=100.0).contains(&root.used_percent));

    for mount in &usage.mounts {
        assert!(
            !PSEUDO_FILESYSTEMS.contains(&mount.filesystem_type.as_str()),
            "{mount:?}"
        );
        assert!(mount.total_bytes > 0, "{mount:?}");
    }
    let mut points: Vec<_> = usage.mounts.iter().map(|m| &m.mount_point).collect();
    let listed = points.len();
    points.sort();
    points.dedup();
    assert_eq!(points.len(), listed, "a mount point is listed twice");
}

#[test]
fn filters_by_mount_point() {
    let usage = disk_usage(Some("/")).expect("disk usage of /");
    assert_eq!(usage.mounts.len(), 1);
    assert_eq!(usage.mounts[0].mount_point, "/");
}

#[test]
fn a_pseudo_file_system_is_reported_when_asked_for() {
    let usage = disk_usage(Some("/proc")).expect("disk usage of /proc");
    assert_eq!(usage.mounts.len(), 1);
    assert_eq!(usage.mounts[0].filesystem_type, "proc");
}

#[test]
fn an_unmounted_path_is_mount_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-mount");
    let err = disk_usage(Some(path.to_str().unwrap())).unwrap_err();
    assert_eq!(err.code(), "MountNotFound");
    assert!(err.to_string().contains("not-a-mount"), "{err}");
}
