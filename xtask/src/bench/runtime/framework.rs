//! The measured variants: the jetwire runtime end to end — `Client::call` submits and
//! waits, a `Worker` with a trivial `Dispatch` runs the job and records the response — for
//! a query (answered with one record write) and a modification (claimed before it runs:
//! two record writes).

use anyhow::{Context, Result};
use jetwire::dispatch::BoxFuture;
use jetwire::{Client, Dispatch, Job, JobClass, Outcome, ProvisionOptions, Request, Worker};
use tokio::sync::oneshot;

use super::service::{job_subject, service, CALL_BOUND};
use super::{measure, Load};
use crate::bench::stats::RunStats;

/// Answers every job at once.
struct Echo;

impl Dispatch for Echo {
    fn dispatch(&self, job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            Outcome::Succeeded(serde_json::json!({ "ok": true, "bytes": job.payload.len() }))
        })
    }
}

pub async fn run(
    worker_nats: &async_nats::Client,
    client_nats: &async_nats::Client,
    prefix: &str,
    class: JobClass,
    load: Load,
) -> Result<RunStats> {
    let service = service(prefix, class);
    let js = async_nats::jetstream::new(worker_nats.clone());
    jetwire::provision(&js, service, &ProvisionOptions::default())
        .await
        .context("provisioning the bench service")?;
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(
        Worker::builder(worker_nats.clone(), service, Echo)
            .worker_id("bench")
            .grace_period(std::time::Duration::from_secs(1))
            .shutdown(async {
                let _ = stopped.await;
            })
            .run(),
    );
    let client = Client::new(client_nats.clone(), service)
        .await
        .context("starting the job client")?;
    let operation = &service.operations[0];
    let subject = job_subject(service);
    let stats = measure(load, move |_, i| {
        let client = client.clone();
        let subject = subject.clone();
        async move {
            let request = Request {
                operation,
                subject,
                headers: vec![],
                payload: serde_json::json!({ "value": i }),
                request_id: None,
            };
            client.call(request, CALL_BOUND).await?;
            Ok(())
        }
    })
    .await;
    let _ = stop.send(());
    worker
        .await
        .context("the worker task")?
        .context("the worker")?;
    stats
}
