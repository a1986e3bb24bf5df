//! `osapi client`: runs jobs, reads job records and manages dead letters over NATS.

use std::time::Duration;

use clap::{Args, Subcommand};
use futures::TryStreamExt;
use jetwire::typed::CallOptions;
use jetwire::DeadLetters;
use osapi_jobs::service::SERVICE;
use serde_json::{json, Value};

use crate::output;

/// What `osapi client` can do.
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// System status (getSystemStatus).
    System {
        #[command(subcommand)]
        verb: GetOnly,
    },
    /// Disk usage (getDisk).
    Disk {
        #[command(subcommand)]
        verb: DiskVerb,
    },
    /// DNS configuration (getDns, setDns).
    Dns {
        #[command(subcommand)]
        verb: DnsVerb,
    },
    /// Host name (getHostname, setHostname).
    Hostname {
        #[command(subcommand)]
        verb: HostnameVerb,
    },
    /// Probe a host (ping).
    Ping {
        /// Host name or IP address.
        address: String,
        /// Probes to send (1 to 10).
        #[arg(long)]
        count: Option<u32>,
    },
    /// Job records in the responses bucket.
    Job {
        #[command(subcommand)]
        verb: JobVerb,
    },
    /// Jobs that used up their delivery attempts.
    Dlq {
        #[command(subcommand)]
        verb: DlqVerb,
    },
}

#[derive(Subcommand, Debug)]
pub enum GetOnly {
    /// Read it.
    Get,
}

#[derive(Subcommand, Debug)]
pub enum DiskVerb {
    /// Usage of every storage file system, or of one mount point.
    Get {
        /// Only the file system mounted here.
        #[arg(long)]
        mount: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DnsVerb {
    /// Name servers, search domains and options.
    Get,
    /// Replace name servers and search domains.
    Set {
        /// A name server address (1 to 3, in order of preference).
        #[arg(long = "nameserver", required = true, num_args = 1..)]
        nameservers: Vec<String>,
        /// A search domain (0 to 6, in order).
        #[arg(long = "search", num_args = 1..)]
        search_domains: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum HostnameVerb {
    /// The host name.
    Get,
    /// Set the host name.
    Set { name: String },
}

#[derive(Subcommand, Debug)]
pub enum JobVerb {
    /// The stored record of a job.
    Get { id: String },
    /// Request ids in the responses bucket, newest first.
    List {
        /// Show at most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Wait until a job is finished and print its record.
    Wait {
        id: String,
        /// How long to wait (e.g. 10s, 500ms).
        #[arg(long, default_value = "30s", value_parser = parse_wait)]
        timeout: Duration,
    },
}

#[derive(Subcommand, Debug)]
pub enum DlqVerb {
    /// The dead-lettered jobs.
    List,
    /// Submit a dead-lettered job again.
    Replay { id: String },
}

fn parse_wait(text: &str) -> Result<Duration, String> {
    crate::gateway::parse_duration(text)
        .ok_or_else(|| format!("'{text}' is not a duration such as 500ms, 10s or 1m"))
}

/// Options shared by every client command.
#[derive(Args, Debug, Clone)]
pub struct ClientOptions {
    /// Which agents run the job: `_any`, `_all` or a host id.
    #[arg(long, global = true, default_value = "_any")]
    pub target: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// How long a job may take before the command gives up waiting (the job goes on).
    #[arg(long = "wait", global = true, default_value = "30s", value_parser = parse_wait)]
    pub wait: Duration,
}

/// Runs one client command; the text to print, or a one-line error.
pub async fn run(
    nats_url: &str,
    options: &ClientOptions,
    command: ClientCommand,
) -> Result<String, String> {
    let nats = crate::serve::connect(nats_url)
        .await
        .map_err(|e| e.to_string())?;
    let client = osapi_jobs::client::Client::new(nats.clone())
        .await
        .map_err(|e| e.to_string())?;
    let job = |op: &'static str, payload: Value| {
        let client = client.clone();
        let target = options.target.clone();
        let wait = options.wait;
        async move {
            client
                .call_json(
                    op,
                    &[("target", target)],
                    payload,
                    CallOptions::default().timeout(wait),
                )
                .await
                .map_err(|e| e.to_string())
        }
    };
    let value = match command {
        ClientCommand::System { verb: GetOnly::Get } => job("getSystemStatus", json!({})).await?,
        ClientCommand::Disk {
            verb: DiskVerb::Get { mount },
        } => {
            let payload = match mount {
                Some(m) => json!({"mount_point": m}),
                None => json!({}),
            };
            job("getDisk", payload).await?
        }
        ClientCommand::Dns { verb: DnsVerb::Get } => job("getDns", json!({})).await?,
        ClientCommand::Dns {
            verb:
                DnsVerb::Set {
                    nameservers,
                    search_domains,
                },
        } => {
            job(
                "setDns",
                json!({"nameservers": nameservers, "search_domains": search_domains}),
            )
            .await?
        }
        ClientCommand::Hostname {
            verb: HostnameVerb::Get,
        } => job("getHostname", json!({})).await?,
        ClientCommand::Hostname {
            verb: HostnameVerb::Set { name },
        } => job("setHostname", json!({"hostname": name})).await?,
        ClientCommand::Ping { address, count } => {
            let mut payload = json!({"address": address});
            if let Some(n) = count {
                payload["count"] = json!(n);
            }
            job("ping", payload).await?
        }
        ClientCommand::Job { verb } => return job_command(&client, options, verb).await,
        ClientCommand::Dlq { verb } => return dlq_command(nats, options, verb).await,
    };
    Ok(render(options, &value))
}

fn render(options: &ClientOptions, value: &Value) -> String {
    if options.json {
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    } else {
        output::render(value)
    }
}

async fn job_command(
    client: &osapi_jobs::client::Client,
    options: &ClientOptions,
    verb: JobVerb,
) -> Result<String, String> {
    let runtime = client.runtime();
    match verb {
        JobVerb::Get { id } => match runtime.get(&id).await.map_err(|e| e.to_string())? {
            Some(record) => Ok(render(options, &json!(record))),
            None => Err(format!("no job with request id '{id}'")),
        },
        JobVerb::Wait { id, timeout } => {
            let record = runtime
                .wait(&id, timeout)
                .await
                .map_err(|e| e.to_string())?;
            Ok(render(options, &json!(record)))
        }
        JobVerb::List { limit } => {
            let mut keys: Vec<String> = runtime
                .records()
                .kv()
                .keys()
                .await
                .map_err(|e| format!("cannot list the responses bucket: {e}"))?
                .try_collect()
                .await
                .map_err(|e| format!("cannot list the responses bucket: {e}"))?;
            // Request ids are UUID v7: their text order is their creation order.
            keys.sort_unstable_by(|a, b| b.cmp(a));
            keys.truncate(limit);
            let mut records = Vec::new();
            for key in keys {
                if let Ok(Some(record)) = runtime.get(&key).await {
                    records.push(json!({
                        "request_id": record.request_id,
                        "operation": record.operation,
                        "status": record.status,
                        "subject": record.subject,
                        "finished_at": record.finished_at,
                    }));
                }
            }
            if options.json {
                Ok(render(options, &Value::Array(records)))
            } else if records.is_empty() {
                Ok("no jobs".into())
            } else {
                Ok(output::object_list(&records))
            }
        }
    }
}

async fn dlq_command(
    nats: jetwire::async_nats::Client,
    options: &ClientOptions,
    verb: DlqVerb,
) -> Result<String, String> {
    let dlq = DeadLetters::new(nats, &SERVICE)
        .await
        .map_err(|e| e.to_string())?;
    match verb {
        DlqVerb::List => {
            let letters = dlq.list().await.map_err(|e| e.to_string())?;
            let items: Vec<Value> = letters
                .iter()
                .map(|d| {
                    json!({
                        "request_id": d.request_id,
                        "subject": d.subject,
                        "attempts": d.attempts,
                        "dead_lettered_at": d.dead_lettered_at,
                    })
                })
                .collect();
            if options.json {
                Ok(render(options, &Value::Array(items)))
            } else if items.is_empty() {
                Ok("no dead-lettered jobs".into())
            } else {
                Ok(output::object_list(&items))
            }
        }
        DlqVerb::Replay { id } => {
            let sequence = dlq.replay(&id).await.map_err(|e| e.to_string())?;
            if options.json {
                Ok(render(
                    options,
                    &json!({"request_id": id, "sequence": sequence}),
                ))
            } else {
                Ok(format!("replayed {id} (stream sequence {sequence})"))
            }
        }
    }
}
