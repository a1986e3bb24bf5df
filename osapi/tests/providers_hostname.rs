//! `getHostname` / `setHostname` under a temporary root (the kernel host name of this
//! machine is only read, never changed).

mod support;

use std::fs;

use osapi::providers::hostname::{
    get_hostname, hostname_path, kernel_hostname, set_hostname, HostnameSource, HostnameUpdate,
};

fn update(name: &str) -> HostnameUpdate {
    HostnameUpdate {
        hostname: name.into(),
    }
}

#[test]
fn set_then_get_reads_back() {
    let root = tempfile::tempdir().unwrap();
    let first = set_hostname(root.path(), &update("web-01")).expect("set");
    assert_eq!(first.hostname, "web-01");
    assert_eq!(first.previous_hostname, None);
    assert!(
        !first.kernel_updated,
        "a non-host root must not touch the kernel"
    );
    assert_eq!(first.path, hostname_path(root.path()).display().to_string());

    let second = set_hostname(root.path(), &update("db1.corp.example")).expect("set again");
    assert_eq!(second.previous_hostname.as_deref(), Some("web-01"));

    let read = get_hostname(root.path()).unwrap();
    assert_eq!(read.hostname, "db1.corp.example");
    assert_eq!(read.source, HostnameSource::File);
    assert_eq!(
        fs::read_to_string(hostname_path(root.path())).unwrap(),
        "db1.corp.example\n"
    );
}

#[test]
fn invalid_names_are_rejected_and_the_file_is_untouched() {
    let root = tempfile::tempdir().unwrap();
    set_hostname(root.path(), &update("keep-me")).unwrap();
    let too_long = vec!["a".repeat(63); 4].join(".");
    for bad in [
        "",
        "-web",
        "web_01",
        "a..b",
        "with space",
        &"x".repeat(64),
        &too_long,
    ] {
        let err = set_hostname(root.path(), &update(bad)).unwrap_err();
        assert_eq!(err.code(), "InvalidHostname", "{bad:?}: {err}");
        assert_eq!(
            fs::read_to_string(hostname_path(root.path())).unwrap(),
            "keep-me\n"
        );
    }
}

#[test]
fn a_root_without_a_name_is_an_error_but_the_host_root_falls_back() {
    let root = tempfile::tempdir().unwrap();
    let err = get_hostname(root.path()).unwrap_err();
    assert_eq!(err.code(), "IoFailure");
    assert!(err.to_string().contains("etc/hostname"), "{err}");

    let host = get_hostname(std::path::Path::new("/")).unwrap();
    match host.source {
        HostnameSource::File => {
            let text = fs::read_to_string("/etc/hostname").unwrap();
            assert!(text.contains(&host.hostname), "{text:?} vs {host:?}");
        }
        HostnameSource::Kernel => assert_eq!(host.hostname, kernel_hostname()),
    }
}

/// The host-root path (`root = /`): run in private UTS and mount namespaces, with a
/// tmpfs over `/etc`, so the kernel host name and `/etc/hostname` changed are the
/// namespace's own. `$ORIGINAL` is the kernel host name the namespace starts with.
mod host_root {
    use super::support::{in_namespaces, is_root, printed};

    const SETUP: &str = "ORIGINAL=$(cat /proc/sys/kernel/hostname) && mount -t tmpfs tmpfs /etc \
                         && echo old-name > /etc/hostname";
    const REPORT: &str = "echo \"kernel=$(cat /proc/sys/kernel/hostname) \
                          original=$ORIGINAL file=$(cat /etc/hostname)\"";

    fn run(steps: &str) -> std::process::Output {
        in_namespaces(
            &["--uts", "--mount"],
            &format!("{SETUP} && {steps}; {REPORT}"),
        )
    }

    #[test]
    fn sets_the_kernel_name_and_the_file() {
        if !is_root() {
            eprintln!("skipped: creating namespaces needs root");
            return;
        }
        let output = run("\"$OSAPI\" local set-hostname web-07 --root /");
        let text = printed(&output);
        assert!(text.contains("\"kernel_updated\": true"), "{text}");
        assert!(
            text.contains("\"previous_hostname\": \"old-name\""),
            "{text}"
        );
        assert!(text.contains("kernel=web-07 "), "{text}");
        assert!(text.contains("file=web-07"), "{text}");
    }

    #[test]
    fn without_cap_sys_admin_nothing_changes() {
        if !is_root() {
            eprintln!("skipped: creating namespaces needs root");
            return;
        }
        let output = run("setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin \
             \"$OSAPI\" local set-hostname web-07 --root /");
        let text = printed(&output);
        assert!(text.contains("(PermissionDenied)"), "{text}");
        assert!(text.contains("file=old-name"), "{text}");
        let report = String::from_utf8_lossy(&output.stdout);
        let kernel = report.split("kernel=").nth(1).unwrap().split(' ').next();
        let original = report.split("original=").nth(1).unwrap().split(' ').next();
        assert_eq!(kernel, original, "{text}");
    }

    #[test]
    fn a_failed_file_write_restores_the_kernel_name() {
        if !is_root() {
            eprintln!("skipped: creating namespaces needs root");
            return;
        }
        // A bind mount on /etc/hostname makes the rename over it fail (EBUSY) after the
        // kernel name was already set.
        let output = run(
            "echo old-name > /etc/bound && mount --bind /etc/bound /etc/hostname \
             && \"$OSAPI\" local set-hostname web-07 --root /",
        );
        let text = printed(&output);
        assert!(text.contains("(IoFailure)"), "{text}");
        assert!(text.contains("file=old-name"), "{text}");
        let report = String::from_utf8_lossy(&output.stdout);
        let kernel = report.split("kernel=").nth(1).unwrap().split(' ').next();
        let original = report.split("original=").nth(1).unwrap().split(' ').next();
        assert_eq!(kernel, original, "{text}");
        assert_ne!(kernel, Some("web-07"), "{text}");
    }
}
