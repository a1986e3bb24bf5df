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
        query: LocalQuery,
    },
}

#[derive(Subcommand)]
enum LocalQuery {
    /// getSystemStatus
    System,
    /// getDisk
    Disk {
        /// Report only the file system mounted here.
        #[arg(long)]
        mount_point: Option<String>,
    },
    /// getDns
    Dns {
        /// Directory holding `etc/resolv.conf`.
        #[arg(long, default_value = "/")]
        root: PathBuf,
    },
    /// getHostname
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
    /// ping
    Ping {
        address: String,
        #[arg(long, default_value_t = 4)]
        count: u32,
        #[arg(long, default_value_t = 10)]
        timeout_seconds: u32,
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
        command: Command::Local { query },
    } = Cli::parse();
    match run(query) {
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

fn run(query: LocalQuery) -> Result<String, ProviderError> {
    fn json<T: serde::Serialize>(value: T) -> Result<String, ProviderError> {
        Ok(serde_json::to_string_pretty(&value).expect("provider structs serialize"))
    }
    match query {
        LocalQuery::System => json(providers::system::system_status()?),
        LocalQuery::Disk { mount_point } => {
            json(providers::disk::disk_usage(mount_point.as_deref())?)
        }
        LocalQuery::Dns { root } => json(providers::dns::get_dns(&root)?),
        LocalQuery::Hostname { root } => json(providers::hostname::get_hostname(&root)?),
        LocalQuery::SetDns {
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
        LocalQuery::SetHostname { hostname, root } => json(providers::hostname::set_hostname(
            &root,
            &providers::hostname::HostnameUpdate { hostname },
        )?),
        LocalQuery::Ping {
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
