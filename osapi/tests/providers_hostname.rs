//! `getHostname` / `setHostname` under a temporary root (the kernel host name of this
//! machine is only read, never changed).

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
