//! `coordinate-worker`: provisions the service and the state bucket, then serves jobs
//! until SIGTERM / ctrl-c (finishing the jobs in flight and releasing its partitions).

use std::time::Duration;

use coordinate_jobs::service::SERVICE;
use coordinate_jobs::worker::Dispatcher;
use jetwire::async_nats::{self, jetstream};

use crate::handler::Coordinates;
use crate::state::StateStore;

/// Settings of one worker process.
#[derive(Clone, Debug, clap::Parser)]
#[command(name = "coordinate-worker", about = "Serves the Coordinate Service")]
pub struct Options {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// This worker's id (registry entry, lease holder); default `<hostname>-<pid>`.
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Partition lease ttl, e.g. `10s` or `500ms` (default: the spec's).
    #[arg(long, value_parser = parse_duration)]
    pub lease_ttl: Option<Duration>,
    /// Replicas of the streams and buckets (3 on a cluster).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// How long jobs in flight may finish after SIGTERM.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub grace: Duration,
}

/// `<n>ms`, `<n>s` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = |_| format!("'{text}' is not a duration (e.g. 10s, 500ms)");
    if let Some(ms) = text.strip_suffix("ms") {
        return ms
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(bad);
    }
    let secs = text.strip_suffix('s').unwrap_or(text).trim();
    secs.parse::<f64>()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 10s, 500ms)"))
        .and_then(|s| Duration::try_from_secs_f64(s).map_err(|e| format!("'{text}': {e}")))
}

/// Provisioning attempts: several workers starting at once may race on creating a
/// resource; provisioning is idempotent, so the loser simply tries again.
const PROVISION_ATTEMPTS: usize = 5;

/// Connects, provisions and serves until the shutdown signal.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let nats = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connect(options.nats_url.as_str())
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", options.nats_url))?;
    let js = jetstream::new(nats.clone());
    let provision = jetwire::ProvisionOptions {
        replicas: Some(options.replicas),
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match jetwire::provision(&js, &SERVICE, &provision).await {
            Ok(report) => {
                tracing::info!(%report, "provisioned");
                break;
            }
            Err(e) if attempt < PROVISION_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "provisioning failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 * attempt as u64)).await;
            }
            Err(e) => return Err(anyhow::anyhow!("provisioning: {e}")),
        }
    }
    let store = StateStore::provision(&js, options.replicas).await?;
    let mut worker =
        jetwire::Worker::builder(nats, &SERVICE, Dispatcher::new(Coordinates::new(store)))
            .grace_period(options.grace);
    if let Some(id) = options.worker_id {
        worker = worker.worker_id(id);
    }
    if let Some(ttl) = options.lease_ttl {
        worker = worker.lease_ttl(ttl);
    }
    worker.run().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
