//! `osapi client`: runs jobs, reads job records and manages dead letters over NATS.

use std::time::Duration;

use clap::{Args, Subcommand};
use futures::TryStreamExt;
use jetwire::typed::CallOptions;
use jetwire::{AgentState, DeadLetters};
use osapi_jobs::service::SERVICE;
use serde_json::{json, Value};

use crate::broadcast::{outcome_json, AgentResults};
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
    /// The agents in the registry.
    Agent {
        #[command(subcommand)]
        verb: AgentVerb,
    },
}

#[derive(Subcommand, Debug)]
pub enum AgentVerb {
    /// The live agents: id, host name, state, last heartbeat, version.
    List,
    /// Stop an agent taking `_any` jobs (running ones finish); jobs addressed to it and
    /// `_all` jobs still run. Waits until the agent confirms.
    Drain { id: String },
    /// Let a drained agent take `_any` jobs again. Waits until the agent confirms.
    Resume { id: String },
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
    /// Which agents run the job: `_any` (one), `_all` (every live agent: one row per
    /// agent, and the agents that did not answer) or a host id.
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
            if target == jetwire::targets::ALL {
                let options = CallOptions::default().timeout(wait);
                let results = client
                    .broadcast_json(op, &[], payload, options)
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(Reply::Agents(results.into()));
            }
            client
                .call_json(
                    op,
                    &[("target", target)],
                    payload,
                    CallOptions::default().timeout(wait),
                )
                .await
                .map(Reply::One)
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
        ClientCommand::Agent { verb } => return agent_command(&client, options, verb).await,
    };
    Ok(match value {
        Reply::One(value) => render(options, &value),
        Reply::Agents(results) if options.json => render(options, &results.to_json()),
        Reply::Agents(results) => agents_table(&results),
    })
}

/// What a job command got back: one reply, or one outcome per agent (`--target _all`).
enum Reply {
    One(Value),
    Agents(AgentResults),
}

/// One row per agent (host, status, a one-line summary of its reply or error), then the
/// agents that did not answer.
fn agents_table(results: &AgentResults) -> String {
    let rows: Vec<Vec<String>> = results
        .agents
        .iter()
        .map(|(agent, result)| {
            let outcome = outcome_json(result);
            let summary = match result {
                Ok(reply) => summary(reply),
                Err(_) => match &outcome["error"] {
                    Value::String(message) => message.clone(),
                    failure => format!(
                        "{}: {}",
                        failure["code"].as_str().unwrap_or("error"),
                        failure["message"].as_str().unwrap_or_default()
                    ),
                },
            };
            vec![
                agent.clone(),
                outcome["status"].as_str().unwrap_or_default().to_string(),
                summary,
            ]
        })
        .collect();
    let mut out = if rows.is_empty() {
        "no agent answered".to_string()
    } else {
        output::table(&["agent", "status", "result"], &rows)
    };
    out.push_str(&format!(
        "\nmissing: {}",
        if results.missing.is_empty() {
            "none".to_string()
        } else {
            results.missing.join(", ")
        }
    ));
    out
}

/// A reply in one line: its top-level fields (not the request id) as `name=value`, lists
/// of objects as their length, nested objects left out; at most 100 characters.
fn summary(reply: &Value) -> String {
    let Value::Object(fields) = reply else {
        return reply.to_string();
    };
    let parts: Vec<String> = fields
        .iter()
        .filter(|(name, _)| name.as_str() != "request_id")
        .filter_map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Object(_) => return None,
                Value::Array(items) if items.iter().any(Value::is_object) => {
                    format!("{} items", items.len())
                }
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            Some(format!("{name}={text}"))
        })
        .collect();
    let line = parts.join(" ");
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line
    }
}

async fn agent_command(
    client: &osapi_jobs::client::Client,
    options: &ClientOptions,
    verb: AgentVerb,
) -> Result<String, String> {
    let registry = client
        .runtime()
        .registry()
        .await
        .map_err(|e| e.to_string())?;
    let (id, state) = match verb {
        AgentVerb::List => {
            let agents = registry.list().await.map_err(|e| e.to_string())?;
            if options.json {
                return Ok(render(options, &json!(agents)));
            }
            if agents.is_empty() {
                return Ok("no live agents".into());
            }
            let rows: Vec<Vec<String>> = agents
                .iter()
                .map(|a| {
                    vec![
                        a.worker_id.clone(),
                        a.hostname.clone(),
                        a.state.to_string(),
                        a.heartbeat_at
                            .to_rfc3339_opts(jetwire::__private::chrono::SecondsFormat::Secs, true),
                        a.version.clone(),
                    ]
                })
                .collect();
            return Ok(output::table(
                &["id", "hostname", "state", "last_heartbeat", "version"],
                &rows,
            ));
        }
        AgentVerb::Drain { id } => (id, AgentState::Draining),
        AgentVerb::Resume { id } => (id, AgentState::Active),
    };
    let entry = crate::agents::set_state(client, registry, &id, state, options.wait).await?;
    if options.json {
        return Ok(render(options, &json!(entry)));
    }
    Ok(match state {
        AgentState::Draining => format!(
            "{id} is draining: it takes no _any jobs (jobs addressed to it and _all jobs still run)"
        ),
        AgentState::Active => format!("{id} is active: it takes _any jobs again"),
    })
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
