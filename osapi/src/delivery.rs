//! Deployment overrides of the contract's delivery policy: how often a job is delivered
//! before it is dead-lettered (`max-deliver`) and the delays between attempts
//! (`backoff`), which `asyncapi.yaml` sets to 10 and 5 s, 10 s, 15 s.
//!
//! They exist so that dead-lettering can be exercised in seconds (tests, demos,
//! tuning); `--max-deliver` / `OSAPI_MAX_DELIVER` / `max_deliver` and `--retry-backoff` /
//! `OSAPI_RETRY_BACKOFF` / `retry_backoff` set them. They change the *shared* durable
//! consumers when the agent provisions them, so every agent of one deployment must use
//! the same values (an agent with other values provisions them back).

use std::time::Duration;

use jetwire::spec::{
    ConsumerSpec, DeadLetterSpec, LeasesSpec, RegistrySpec, ResponsesSpec, ServiceSpec, StreamSpec,
    TargetsSpec,
};
use osapi_jobs::service::SERVICE;

/// The overrides; `None` keeps the contract's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Deliveries of a job before it is dead-lettered (at least 1).
    pub max_deliver: Option<i64>,
    /// Delays before the 2nd, 3rd, … delivery (the last one repeats).
    pub backoff: Option<Vec<Duration>>,
}

impl DeliveryPolicy {
    /// Whether nothing is overridden.
    pub fn is_default(&self) -> bool {
        self.max_deliver.is_none() && self.backoff.is_none()
    }

    /// Reads `--max-deliver` and `--retry-backoff` values.
    pub fn parse(max_deliver: Option<&str>, backoff: Option<&str>) -> Result<Self, String> {
        let max_deliver = match max_deliver {
            None => None,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    return Err(format!(
                        "max_deliver must be a whole number of at least 1 (is '{text}')"
                    ))
                }
            },
        };
        let backoff = backoff.map(parse_backoff).transpose()?;
        Ok(DeliveryPolicy {
            max_deliver,
            backoff,
        })
    }

    /// The OSAPI service with this policy applied to every job consumer: [`SERVICE`]
    /// itself when nothing is overridden, else a copy built once per call and kept for
    /// the life of the process (an agent builds it once, at start).
    ///
    /// NATS wants fewer backoff steps than deliveries: steps beyond `max_deliver - 1`
    /// could never be used and are dropped.
    pub fn service(&self) -> &'static ServiceSpec {
        if self.is_default() {
            return &SERVICE;
        }
        let consumers: Vec<ConsumerSpec> = SERVICE
            .consumers
            .iter()
            .map(|c| {
                let max_deliver = self.max_deliver.unwrap_or(c.max_deliver);
                let mut backoff = self.backoff.clone().unwrap_or_else(|| c.backoff.to_vec());
                if max_deliver > 0 {
                    backoff.truncate((max_deliver - 1) as usize);
                }
                ConsumerSpec {
                    durable: c.durable,
                    class: c.class,
                    filter_subject: c.filter_subject,
                    ack_wait: c.ack_wait,
                    max_deliver,
                    backoff: Box::leak(backoff.into_boxed_slice()),
                    max_ack_pending: c.max_ack_pending,
                    concurrency: c.concurrency,
                    partitions: c.partitions,
                }
            })
            .collect();
        let s = &SERVICE;
        Box::leak(Box::new(ServiceSpec {
            title: s.title,
            version: s.version,
            spec_sha256: s.spec_sha256,
            stream: StreamSpec {
                name: s.stream.name,
                subjects: s.stream.subjects,
                storage: s.stream.storage,
                max_bytes: s.stream.max_bytes,
                max_msgs: s.stream.max_msgs,
                max_msg_size: s.stream.max_msg_size,
                duplicate_window: s.stream.duplicate_window,
                replicas: s.stream.replicas,
            },
            responses: ResponsesSpec {
                bucket: s.responses.bucket,
                ttl: s.responses.ttl,
                history: s.responses.history,
                replicas: s.responses.replicas,
            },
            dead_letter: DeadLetterSpec {
                stream: s.dead_letter.stream,
                replicas: s.dead_letter.replicas,
            },
            consumers: Box::leak(consumers.into_boxed_slice()),
            operations: s.operations,
            registry: RegistrySpec {
                bucket: s.registry.bucket,
                heartbeat: s.registry.heartbeat,
                ttl: s.registry.ttl,
                replicas: s.registry.replicas,
            },
            targets: s.targets.as_ref().map(|t| TargetsSpec {
                parameter: t.parameter,
            }),
            leases: s.leases.as_ref().map(|l| LeasesSpec {
                bucket: l.bucket,
                ttl: l.ttl,
                replicas: l.replicas,
            }),
        }))
    }
}

/// `200ms,1s,5s`: comma-separated durations (`ms`, `s`, `m` or plain seconds).
pub fn parse_backoff(text: &str) -> Result<Vec<Duration>, String> {
    let steps: Option<Vec<Duration>> = text
        .split(',')
        .map(|step| crate::gateway::parse_duration(step).filter(|d| !d.is_zero()))
        .collect();
    match steps {
        Some(steps) if !steps.is_empty() => Ok(steps),
        _ => Err(format!(
            "retry_backoff must be comma-separated non-zero durations such as 200ms,1s,5s \
             (is '{text}')"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_overridden_is_the_contract_itself() {
        let policy = DeliveryPolicy::default();
        assert!(std::ptr::eq(policy.service(), &SERVICE));
    }

    #[test]
    fn overrides_apply_to_every_job_consumer_and_nothing_else() {
        let policy = DeliveryPolicy::parse(Some("2"), Some("100ms,1s,2s")).unwrap();
        let service = policy.service();
        assert_eq!(service.consumers.len(), SERVICE.consumers.len());
        for (c, original) in service.consumers.iter().zip(SERVICE.consumers) {
            assert_eq!(c.max_deliver, 2);
            // One retry at most: the extra steps are dropped.
            assert_eq!(c.backoff, &[Duration::from_millis(100)]);
            assert_eq!(c.durable, original.durable);
            assert_eq!(c.filter_subject, original.filter_subject);
            assert_eq!(c.concurrency, original.concurrency);
        }
        assert_eq!(service.stream.name, SERVICE.stream.name);
        assert_eq!(service.responses.bucket, SERVICE.responses.bucket);
        assert_eq!(service.operations.len(), SERVICE.operations.len());
        assert_eq!(service.registry.bucket, SERVICE.registry.bucket);
        assert_eq!(service.targets.is_some(), SERVICE.targets.is_some());
    }

    #[test]
    fn bad_values_are_named() {
        let err = DeliveryPolicy::parse(Some("0"), None).unwrap_err();
        assert!(err.contains("max_deliver") && err.contains("'0'"), "{err}");
        let err = DeliveryPolicy::parse(None, Some("1s,soon")).unwrap_err();
        assert!(
            err.contains("retry_backoff") && err.contains("1s,soon"),
            "{err}"
        );
        assert_eq!(
            parse_backoff("250ms, 2s").unwrap(),
            [Duration::from_millis(250), Duration::from_secs(2)]
        );
    }
}
