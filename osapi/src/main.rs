use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use osapi::client_cli::{ClientCommand, ClientOptions};
use osapi::config::{self, FileConfig};
use osapi::delivery::DeliveryPolicy;
use osapi::providers::ping::{PingMethodChoice, PingQuery};
use osapi::providers::{self, ProviderError};
use osapi::serve;

/// OSAPI host tools: an agent answering jobs on this host, an HTTP gateway, a client.
///
/// Settings come from flags, then `OSAPI_*` environment variables, then the config file
/// (`--config`, else `$XDG_CONFIG_HOME/osapi/config.{yaml,toml}` when present), then defaults.
#[derive(Parser)]
#[command(name = "osapi", version)]
struct Cli {
    /// Config file (YAML, TOML or JSON, by extension).
    #[arg(long, global = true, env = "OSAPI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Embedded NATS server, agent and HTTP API in one process.
    Start(StartArgs),
    /// The agent answering jobs on this host.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// The HTTP gateway.
    Api {
        #[command(subcommand)]
        command: ApiCommand,
    },
    /// Run jobs and inspect job records over NATS.
    Client {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        options: ClientOptions,
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Run one job on this host directly (no NATS) and print the reply as JSON.
    Local {
        #[command(subcommand)]
        job: LocalJob,
    },
}

#[derive(Args)]
struct NatsArgs {
    /// NATS server URL(s), comma-separated [default: nats://127.0.0.1:4222].
    #[arg(long, env = "OSAPI_NATS_URL")]
    nats_url: Option<String>,
}

#[derive(Args)]
struct AgentArgs {
    /// The agent's host id: its worker id in the registry and the `{target}` naming it;
    /// letters, digits, `_` and `-`, at most 63 [default: this machine's host name].
    #[arg(long = "host-id", visible_alias = "id", env = "OSAPI_HOST_ID")]
    host_id: Option<String>,
    /// Directory modifications write below (`/` changes this host) [default:
    /// $XDG_STATE_HOME/osapi/root].
    #[arg(long, env = "OSAPI_ROOT")]
    root: Option<PathBuf>,
    /// Deliveries of a job before it is dead-lettered [default: the contract's, 10].
    /// Applies to the shared consumers: give every agent of a deployment the same value.
    #[arg(long, env = "OSAPI_MAX_DELIVER")]
    max_deliver: Option<String>,
    /// Delays between deliveries, e.g. `200ms,1s` (the last repeats) [default: the
    /// contract's, 5s,10s,15s]. Shared like --max-deliver.
    #[arg(long, env = "OSAPI_RETRY_BACKOFF")]
    retry_backoff: Option<String>,
}

#[derive(Args)]
struct ListenArgs {
    /// HTTP listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "OSAPI_LISTEN")]
    listen: Option<String>,
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Serve jobs until SIGTERM or ctrl-c.
    Start {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        agent: AgentArgs,
    },
}

#[derive(Subcommand)]
enum ApiCommand {
    /// Serve HTTP until SIGTERM or ctrl-c.
    Start {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        listen: ListenArgs,
    },
}

#[derive(Args)]
struct StartArgs {
    /// Use this NATS server instead of starting an embedded one.
    #[arg(long, env = "OSAPI_NATS_URL")]
    nats_url: Option<String>,
    /// Store directory of the embedded NATS server [default: $XDG_STATE_HOME/osapi/nats].
    #[arg(long, env = "OSAPI_STORE_DIR")]
    store_dir: Option<PathBuf>,
    #[command(flatten)]
    listen: ListenArgs,
    #[command(flatten)]
    agent: AgentArgs,
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
    let cli = Cli::parse();
    let file = match FileConfig::load(cli.config.as_deref()) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    match cli.command {
        Command::Local { job } => match run(job) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("osapi: {} ({})", e, e.code());
                ExitCode::FAILURE
            }
        },
        Command::Client {
            nats,
            options,
            command,
        } => {
            let url = nats_url(nats.nats_url, &file);
            match runtime().block_on(osapi::client_cli::run(&url, &options, command)) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Agent {
            command: AgentCommand::Start { nats, agent },
        } => {
            init_tracing();
            let url = nats_url(nats.nats_url, &file);
            let (id, root, delivery) = match agent_settings(agent, &file) {
                Ok(settings) => settings,
                Err(e) => return fail(e),
            };
            finish(runtime().block_on(async {
                serve::agent(&url, id, root, &delivery, serve::shutdown_token()).await
            }))
        }
        Command::Api {
            command: ApiCommand::Start { nats, listen },
        } => {
            init_tracing();
            let url = nats_url(nats.nats_url, &file);
            let listen = listen_addr(listen, &file);
            finish(runtime().block_on(async {
                let listener = serve::bind(&listen).await?;
                println!(
                    "http: http://{}",
                    listener.local_addr().map_err(serve::ServeError::Http)?
                );
                serve::api(listener, url, serve::shutdown_token()).await
            }))
        }
        Command::Start(args) => {
            init_tracing();
            let (host_id, root, delivery) = match agent_settings(args.agent, &file) {
                Ok(settings) => settings,
                Err(e) => return fail(e),
            };
            let options = serve::StartOptions {
                nats_url: args.nats_url.or(file.nats_url.clone()),
                store_dir: args
                    .store_dir
                    .or(file.store_dir.clone())
                    .unwrap_or_else(config::default_store_dir),
                listen: listen_addr(args.listen, &file),
                host_id,
                root,
                delivery,
            };
            finish(
                runtime().block_on(async { serve::start(options, serve::shutdown_token()).await }),
            )
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("the tokio runtime starts")
}

/// Logs go to stderr (stdout carries the stable `name: value` lines); `RUST_LOG` filters.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn nats_url(flag: Option<String>, file: &FileConfig) -> String {
    flag.or(file.nats_url.clone())
        .unwrap_or_else(|| config::DEFAULT_NATS_URL.into())
}

fn listen_addr(args: ListenArgs, file: &FileConfig) -> String {
    args.listen
        .or(file.listen.clone())
        .unwrap_or_else(|| config::DEFAULT_LISTEN.into())
}

fn agent_settings(
    args: AgentArgs,
    file: &FileConfig,
) -> Result<(String, PathBuf, DeliveryPolicy), String> {
    let id = args
        .host_id
        .or(file.host_id.clone())
        .unwrap_or_else(config::default_host_id);
    if !jetwire::targets::is_valid_worker_id(&id) || id.starts_with('_') {
        return Err(format!(
            "host id '{id}' cannot be a target: letters, digits, '_' and '-', starting with a \
             letter or digit, at most 63 characters"
        ));
    }
    let root = args
        .root
        .or(file.root.clone())
        .unwrap_or_else(config::default_root);
    let max_deliver = args.max_deliver.or(file.max_deliver.map(|n| n.to_string()));
    let backoff = args.retry_backoff.or(file.retry_backoff.clone());
    let delivery = DeliveryPolicy::parse(max_deliver.as_deref(), backoff.as_deref())?;
    Ok((id, root, delivery))
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("osapi: {e}");
    ExitCode::FAILURE
}

fn finish(result: Result<(), serve::ServeError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
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
