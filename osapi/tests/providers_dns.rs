//! `getDns` / `setDns` on a resolv.conf under a temporary root.

mod support;

use std::fs;
use std::path::Path;

use osapi::providers::dns::{get_dns, resolv_conf_path, set_dns, DnsUpdate};

fn update(nameservers: &[&str], search: &[&str]) -> DnsUpdate {
    DnsUpdate {
        nameservers: nameservers.iter().map(|s| s.to_string()).collect(),
        search_domains: search.iter().map(|s| s.to_string()).collect(),
    }
}

fn root_with(resolv: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("etc")).unwrap();
    fs::write(resolv_conf_path(root.path()), resolv).unwrap();
    root
}

fn files_in_etc(root: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(root.join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const ORIGINAL: &str =
    "# managed by hand\nnameserver 192.0.2.53\nsearch old.example\noptions ndots:2 edns0\n";

#[test]
fn set_then_get_reads_back_and_keeps_options() {
    let root = root_with(ORIGINAL);
    let applied = set_dns(
        root.path(),
        &update(
            &["192.0.2.1", "2001:DB8::1"],
            &["corp.example", "lab.example"],
        ),
    )
    .expect("set dns");
    assert_eq!(applied.nameservers, ["192.0.2.1", "2001:db8::1"]);

    let read = get_dns(root.path()).unwrap();
    assert_eq!(read, applied);
    assert_eq!(read.search_domains, ["corp.example", "lab.example"]);
    assert_eq!(read.options, ["ndots:2", "edns0"]);
    assert_eq!(
        read.path,
        resolv_conf_path(root.path()).display().to_string()
    );
    let text = fs::read_to_string(resolv_conf_path(root.path())).unwrap();
    assert!(text.starts_with("# managed by hand\n"), "{text}");
    assert!(
        !text.contains("192.0.2.53") && !text.contains("old.example"),
        "{text}"
    );
    assert_eq!(files_in_etc(root.path()), ["resolv.conf"]);
}

#[test]
fn creates_the_file_under_an_empty_root() {
    let root = tempfile::tempdir().unwrap();
    let empty = get_dns(root.path()).unwrap();
    assert!(empty.nameservers.is_empty() && empty.search_domains.is_empty());

    set_dns(root.path(), &update(&["::1"], &[])).unwrap();
    let read = get_dns(root.path()).unwrap();
    assert_eq!(read.nameservers, ["::1"]);
    assert!(read.search_domains.is_empty());
}

#[test]
fn invalid_values_are_rejected_and_the_file_is_untouched() {
    let root = root_with(ORIGINAL);
    let cases = [
        (
            update(&["192.0.2.1", "999.0.0.1"], &[]),
            "InvalidAddress",
            "nameservers[1]",
        ),
        (
            update(&["dns.example"], &[]),
            "InvalidAddress",
            "nameservers[0]",
        ),
        (update(&[], &[]), "InvalidAddress", "between 1 and 3"),
        (
            update(&["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"], &[]),
            "InvalidAddress",
            "between 1 and 3",
        ),
        (
            update(&["192.0.2.1"], &["ok.example", "bad_domain"]),
            "InvalidHostname",
            "search_domains[1]",
        ),
        (
            update(&["192.0.2.1"], &["a.example"; 7]),
            "InvalidHostname",
            "at most 6",
        ),
    ];
    for (bad, code, mentions) in cases {
        let err = set_dns(root.path(), &bad).unwrap_err();
        assert_eq!(err.code(), code, "{bad:?}: {err}");
        assert!(err.to_string().contains(mentions), "{bad:?}: {err}");
        assert_eq!(
            fs::read_to_string(resolv_conf_path(root.path())).unwrap(),
            ORIGINAL
        );
    }
    assert_eq!(files_in_etc(root.path()), ["resolv.conf"]);
}

#[test]
fn a_symlinked_resolv_conf_is_not_replaced() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("etc")).unwrap();
    let managed = root.path().join("stub-resolv.conf");
    fs::write(&managed, ORIGINAL).unwrap();
    std::os::unix::fs::symlink(&managed, resolv_conf_path(root.path())).unwrap();

    let err = set_dns(root.path(), &update(&["192.0.2.1"], &[])).unwrap_err();
    assert_eq!(err.code(), "NotSupported", "{err}");
    assert!(fs::symlink_metadata(resolv_conf_path(root.path()))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(&managed).unwrap(), ORIGINAL);
    // Reading through the link still works.
    assert_eq!(get_dns(root.path()).unwrap().nameservers, ["192.0.2.53"]);
}

/// The host-root path (`root = /`), in a private mount namespace with a tmpfs over
/// `/etc`, so the resolv.conf changed is the namespace's own.
mod host_root {
    use super::support::{in_namespaces, is_root, printed};

    const SETUP: &str = "mount -t tmpfs tmpfs /etc \
                         && printf 'nameserver 192.0.2.9\\noptions edns0\\n' > /etc/resolv.conf";

    #[test]
    fn replaces_the_hosts_resolv_conf() {
        if !is_root() {
            eprintln!("skipped: creating namespaces needs root");
            return;
        }
        let output = in_namespaces(
            &["--mount"],
            &format!(
                "{SETUP} && \"$OSAPI\" local set-dns --root / --nameserver 192.0.2.1 \
                 --search corp.example && echo --- && cat /etc/resolv.conf"
            ),
        );
        let text = printed(&output);
        assert!(output.status.success(), "{text}");
        let file = text.split("---\n").nth(1).unwrap();
        assert!(
            file.starts_with("search corp.example\nnameserver 192.0.2.1\noptions edns0\n"),
            "{text}"
        );
    }

    #[test]
    fn an_unprivileged_agent_gets_permission_denied_and_nothing_changes() {
        if !is_root() {
            eprintln!("skipped: creating namespaces needs root");
            return;
        }
        let output = in_namespaces(
            &["--mount"],
            &format!(
                "{SETUP} && setpriv --reuid=65534 --regid=65534 --clear-groups \
                 \"$OSAPI\" local set-dns --root / --nameserver 192.0.2.1; \
                 echo --- && cat /etc/resolv.conf && ls -A /etc"
            ),
        );
        let text = printed(&output);
        assert!(text.contains("(PermissionDenied)"), "{text}");
        let after = text.split("---\n").nth(1).unwrap();
        assert!(
            after.starts_with("nameserver 192.0.2.9\noptions edns0\nresolv.conf\n"),
            "{text}"
        );
    }
}
