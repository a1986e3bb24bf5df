use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use osapi::providers::ping::{PingMethodChoice, PingQuery};
use osapi::providers::{self, ProviderError};

/// OSAPI host tools.
#[derive(Parser)]
#[command(name = "osapi", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one job on this host directly (no NATS) and print the reply as JSON.
    Local {
        #[command(subcommand)]
        job: LocalJob,
    },
}

#[derive(Subcommand)]
enum LocalJob {
    /// getSystemStatus: host name, OS, kernel, uptime, load, memory, swap, CPUs.
    System,
    /// getDisk: usage of the mounted storage file systems.
    Disk {
        /// Report only the file system mounted here.
        #[arg(long)]
        mount_point: Option<String>,
    },
    /// getDns: name servers, search domains and options of `<root>/etc/resolv.conf`.
    Dns {
        /// Directory holding `etc/resolv.conf`.
        #[arg(long, default_value = "/")]
        root: PathBuf,
    },
    /// getHostname: the name in `<root>/etc/hostname` (else, for root `/`, the kernel's).
    Hostname {
        /// Directory holding `etc/hostname`.
        #[arg(long, default_value = "/")]
        root: PathBuf,
    },
    /// setDns: replace the name servers and search domains in `<root>/etc/resolv.conf`.
    SetDns {
        /// Directory holding `etc/resolv.conf` (`/` for this host).
        #[arg(long)]
        root: PathBuf,
        /// A name server address (1 to 3, in order of preference).
        #[arg(long = "nameserver", required = true)]
        nameservers: Vec<String>,
        /// A search domain (0 to 6, in order).
        #[arg(long = "search")]
        search_domains: Vec<String>,
    },
    /// setHostname: write `<root>/etc/hostname` (and, for root `/`, the kernel's name).
    SetHostname {
        hostname: String,
        /// Directory holding `etc/hostname` (`/` for this host).
        #[arg(long)]
        root: PathBuf,
    },
    /// ping: probe a host and report reachability, loss and round-trip times.
    Ping {
        /// Host name or IP address.
        address: String,
        /// Probes to send (1 to 10).
        #[arg(long, default_value_t = 4)]
        count: u32,
        /// Deadline for the whole run, in seconds (1 to 50).
        #[arg(long, default_value_t = 10)]
        timeout_seconds: u32,
        /// auto: ICMP when allowed, else TCP.
        #[arg(long, value_enum, default_value_t = Method::Auto)]
        method: Method,
        /// Port for TCP probes.
        #[arg(long, default_value_t = 80)]
        tcp_port: u16,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Method {
    Auto,
    Icmp,
    Tcp,
}

impl From<Method> for PingMethodChoice {
    fn from(m: Method) -> Self {
        match m {
            Method::Auto => PingMethodChoice::Auto,
            Method::Icmp => PingMethodChoice::Icmp,
            Method::Tcp => PingMethodChoice::Tcp,
        }
    }
}

fn main() -> ExitCode {
    let Cli {
        command: Command::Local { job },
    } = Cli::parse();
    match run(job) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("osapi: {} ({})", e, e.code());
            ExitCode::FAILURE
        }
    }
}

fn run(job: LocalJob) -> Result<String, ProviderError> {
    fn json<T: serde::Serialize>(value: T) -> Result<String, ProviderError> {
        Ok(serde_json::to_string_pretty(&value).expect("provider structs serialize"))
    }
    match job {
        LocalJob::System => json(providers::system::system_status()?),
        LocalJob::Disk { mount_point } => {
            json(providers::disk::disk_usage(mount_point.as_deref())?)
        }
        LocalJob::Dns { root } => json(providers::dns::get_dns(&root)?),
        LocalJob::Hostname { root } => json(providers::hostname::get_hostname(&root)?),
        LocalJob::SetDns {
            root,
            nameservers,
            search_domains,
        } => json(providers::dns::set_dns(
            &root,
            &providers::dns::DnsUpdate {
                nameservers,
                search_domains,
            },
        )?),
        LocalJob::SetHostname { hostname, root } => json(providers::hostname::set_hostname(
            &root,
            &providers::hostname::HostnameUpdate { hostname },
        )?),
        LocalJob::Ping {
            address,
            count,
            timeout_seconds,
            method,
            tcp_port,
        } => json(providers::ping::ping(&PingQuery {
            address,
            count,
            timeout_seconds,
            method: method.into(),
            tcp_port,
        })?),
    }
}
