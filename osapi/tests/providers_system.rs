//! `getSystemStatus` against this machine.

use osapi::providers::system::system_status;

fn proc_text(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn reports_this_machine() {
    let status = system_status().expect("system status");

    assert_eq!(status.hostname, proc_text("/proc/sys/kernel/hostname"));
    assert_eq!(
        status.kernel_release,
        proc_text("/proc/sys/kernel/osrelease")
    );
    assert_eq!(status.architecture, std::env::consts::ARCH);
    assert!(!status.os.name.is_empty() && !status.os.id.is_empty());

    assert!(status.memory.total_bytes > 0);
    assert!(status.memory.available_bytes <= status.memory.total_bytes);
    assert_eq!(
        status.memory.used_bytes + status.memory.available_bytes,
        status.memory.total_bytes
    );
    assert_eq!(
        status.swap.used_bytes + status.swap.free_bytes,
        status.swap.total_bytes
    );

    assert!(status.uptime_seconds > 0.0);
    assert!(status.load_average.one >= 0.0 && status.load_average.fifteen >= 0.0);
    let usable = std::thread::available_parallelism().unwrap().get() as u32;
    assert!(
        status.cpu_count >= usable,
        "{} CPUs online but {usable} usable",
        status.cpu_count
    );
}
