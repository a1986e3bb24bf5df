//! Target routing: the subject parameter ([`crate::spec::TargetsSpec::parameter`]) that
//! picks which workers run a job — `_any` (exactly one worker), `_all` (every live worker,
//! a client fan-out) or one worker id.
//!
//! A *targeted consumer* is a [`ConsumerSpec`] whose filter holds the `{parameter}` token.
//! It stands for several durables on the jobs stream, with disjoint filters as a work-queue
//! stream requires:
//! - the shared durable named by the spec, token → `_any`, created by provisioning;
//! - one durable per worker, `<durable>-agent-<worker_id>`, token → the worker id, created
//!   (or updated) by the worker at start with the same settings and an inactive threshold,
//!   so the durables of workers gone for good disappear.
//!
//! The worker pulls from both; while it is drained it stops its `_any` loops only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use tokio_util::sync::CancellationToken;

use crate::provision::job_consumer_config;
use crate::registry::{AgentState, Presence, Registry};
use crate::spec::{ConsumerSpec, OperationSpec, ServiceSpec};
use crate::subject::{fill_token, match_subject, token_position};
use crate::worker::{Binding, Loops};

/// Target value: exactly one worker, through the shared durable.
pub const ANY: &str = "_any";
/// Target value: every live worker (a broadcast).
pub const ALL: &str = "_all";

/// How long a worker's own durable outlives the worker (no pull for this long and the
/// server deletes it).
pub const AGENT_CONSUMER_INACTIVE: Duration = Duration::from_secs(3600);

/// Whether `id` can be used as a target: `[A-Za-z0-9][A-Za-z0-9_-]{0,62}` (so `_any` and
/// `_all` never collide with a worker id).
pub fn is_valid_worker_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// The name of the target parameter, when the service routes by target.
fn parameter(service: &ServiceSpec) -> Option<&'static str> {
    service.targets.as_ref().map(|t| t.parameter)
}

/// Whether `consumer` is a targeted consumer of `service` (its filter holds the target token).
pub fn is_targeted_consumer(service: &ServiceSpec, consumer: &ConsumerSpec) -> bool {
    parameter(service).is_some_and(|p| token_position(consumer.filter_subject, p).is_some())
}

/// `consumer`'s filter with the target token replaced by `value` (unchanged when the
/// consumer is not targeted).
fn filter_for(service: &ServiceSpec, consumer: &ConsumerSpec, value: &str) -> String {
    parameter(service)
        .and_then(|p| fill_token(consumer.filter_subject, p, value))
        .unwrap_or_else(|| consumer.filter_subject.to_string())
}

/// Makes a provisioned durable the shared one: the target token (if its filter has one)
/// replaced by `_any`.
pub fn shared_durable_config(service: &ServiceSpec, config: &mut consumer::Config) {
    let shared = parameter(service).and_then(|p| fill_token(&config.filter_subject, p, ANY));
    if let Some(filter) = shared {
        config.filter_subject = filter;
    }
}

/// The name of a worker's own durable of a targeted consumer.
pub fn agent_durable(consumer: &ConsumerSpec, worker_id: &str) -> String {
    format!("{}-agent-{worker_id}", consumer.durable)
}

/// The configuration of a worker's own durable: the spec's settings, the target token
/// replaced by the worker id, and an inactive threshold.
pub fn agent_consumer_config(
    service: &ServiceSpec,
    consumer: &ConsumerSpec,
    worker_id: &str,
) -> consumer::Config {
    let name = agent_durable(consumer, worker_id);
    consumer::Config {
        durable_name: Some(name.clone()),
        name: Some(name),
        description: Some(
            format!("jetwire {:?} jobs of worker {worker_id}", consumer.class).to_lowercase(),
        ),
        filter_subject: filter_for(service, consumer, worker_id),
        inactive_threshold: AGENT_CONSUMER_INACTIVE,
        ..job_consumer_config(consumer)
    }
}

/// Creates or updates the worker's own durables (one per targeted consumer) and returns
/// their bindings. Errors name the durable.
pub(crate) async fn ensure_agent_consumers(
    js: &jetstream::Context,
    service: &'static ServiceSpec,
    worker_id: &str,
) -> Result<Vec<Binding>, String> {
    let mut out = Vec::new();
    let targeted = service
        .consumers
        .iter()
        .filter(|c| is_targeted_consumer(service, c));
    for c in targeted {
        let config = agent_consumer_config(service, c, worker_id);
        let name = agent_durable(c, worker_id);
        let stream = js
            .get_stream(service.stream.name)
            .await
            .map_err(|e| format!("stream '{}': {e}", service.stream.name))?;
        // A create with an existing durable's name updates it (and keeps its position).
        // A work-queue stream allows only deliver-all consumers: a worker of this id back
        // after its durable expired gets the jobs still left on the stream for it.
        stream
            .create_consumer(config)
            .await
            .map_err(|e| format!("consumer '{name}' of stream '{}': {e}", service.stream.name))?;
        out.push(Binding {
            durable: name.into(),
            spec: c,
        });
    }
    Ok(out)
}

/// The pull loops of the shared (`_any`) durables: running while the worker is active,
/// stopped (running jobs finish) while it is drained.
pub(crate) struct AnyLoops {
    loops: Loops,
    bindings: Vec<Binding>,
    running: Mutex<Option<Vec<CancellationToken>>>,
}

impl AnyLoops {
    pub(crate) fn new(loops: Loops, bindings: Vec<Binding>) -> Arc<AnyLoops> {
        Arc::new(AnyLoops {
            loops,
            bindings,
            running: Mutex::new(None),
        })
    }

    /// Starts or stops the loops to match `state`.
    pub(crate) fn apply(&self, state: AgentState) {
        let mut running = self.running.lock().expect("any-loops lock");
        match (state, running.is_some()) {
            (AgentState::Active, false) => {
                *running = Some(
                    self.bindings
                        .iter()
                        .map(|b| self.loops.start(b.clone()))
                        .collect(),
                );
                tracing::info!("taking shared (_any) jobs");
            }
            (AgentState::Draining, true) => {
                for token in running.take().into_iter().flatten() {
                    token.cancel();
                }
                tracing::info!("drained: no more shared (_any) jobs; running ones finish");
            }
            _ => {}
        }
    }
}

/// What a worker does at start for targets and the registry: checks its id, creates its own
/// durables and starts their loops, registers, and starts the `_any` loops (unless the
/// registry says it is drained). Plain consumers are left to the caller.
pub(crate) async fn join(
    js: &jetstream::Context,
    service: &'static ServiceSpec,
    worker_id: &str,
    loops: &Loops,
) -> Result<Presence, String> {
    if service.targets.is_some() && !is_valid_worker_id(worker_id) {
        return Err(format!(
            "worker id '{worker_id}' cannot be used as a target: it must match \
             [A-Za-z0-9][A-Za-z0-9_-]{{0,62}} (set one with WorkerBuilder::worker_id)"
        ));
    }
    let registry = Registry::open(js, service)
        .await
        .map_err(|e| e.to_string())?;
    let own = ensure_agent_consumers(js, service, worker_id).await?;
    let shared = service
        .consumers
        .iter()
        .filter(|c| is_targeted_consumer(service, c))
        .map(Binding::plain)
        .collect();
    let any = AnyLoops::new(loops.clone(), shared);
    let presence = Presence::register(
        registry,
        worker_id,
        service.version,
        Arc::new(move |state| any.apply(state)),
    )
    .await
    .map_err(|e| e.to_string())?;
    for binding in own {
        loops.start(binding);
    }
    Ok(presence)
}

/// Where the target sits in `subject` (an instance of `operation`'s template): the index
/// among the template's tokens and its value. `None` when the operation is not targeted or
/// the subject does not fit.
pub fn target_of(
    service: &ServiceSpec,
    operation: &OperationSpec,
    subject: &str,
) -> Option<(usize, String)> {
    let parameter = service.targets.as_ref()?.parameter;
    let index = operation.parameters.iter().position(|p| *p == parameter)?;
    let values = match_subject(operation.subject, subject)?;
    let value = values.get(index)?.clone();
    Some((index, value))
}

/// `subject` (an instance of `operation`'s template) with its parameter number `index`
/// set to `value`.
pub(crate) fn with_parameter(
    operation: &OperationSpec,
    subject: &str,
    index: usize,
    value: &str,
) -> Option<String> {
    let mut values = match_subject(operation.subject, subject)?;
    *values.get_mut(index)? = value.to_string();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    Some(crate::typed::render_subject(operation, &refs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ids_are_target_tokens() {
        assert!(is_valid_worker_id("web-1"));
        assert!(is_valid_worker_id("A_b-9"));
        assert!(is_valid_worker_id(&"a".repeat(63)));
        assert!(!is_valid_worker_id(&"a".repeat(64)));
        assert!(!is_valid_worker_id("_any"));
        assert!(!is_valid_worker_id("-x"));
        assert!(!is_valid_worker_id("web.example.com"));
        assert!(!is_valid_worker_id(""));
    }
}
