//! The bench service: one operation of the given class (a query unless asked for a
//! modification), one consumer, names derived from a prefix so
//! every variant and run gets fresh streams, consumers and buckets on the shared server.
//! The baselines create their streams, bucket and consumer from this same spec, so all
//! variants run on identical JetStream configurations.

use std::time::Duration;

use jetwire::spec::{
    ConsumerSpec, DeadLetterSpec, OperationSpec, RegistrySpec, ResponsesSpec, StorageSpec,
    StreamSpec,
};
use jetwire::{JobClass, ServiceSpec};

/// Jobs one worker runs at once (the runtime's consumer concurrency and the baselines'
/// in-flight limit alike).
pub const WORKER_CONCURRENCY: usize = 16;

/// How long one job may take before the bench gives up on it.
pub const CALL_BOUND: Duration = Duration::from_secs(30);

/// A `ServiceSpec` for `prefix` (lower case letters, digits, `_`). The runtime wants
/// `&'static` specs, as generated crates have them; the few a bench run makes are leaked.
pub fn service(prefix: &str, class: JobClass) -> &'static ServiceSpec {
    let upper = prefix.to_uppercase();
    let class_token = match class {
        JobClass::Query => "query",
        JobClass::Modify => "modify",
    };
    let subjects: &'static [&'static str] = leak_slice(vec![leak(format!("{prefix}.>"))]);
    let consumers = leak_slice(vec![ConsumerSpec {
        durable: leak(format!("{prefix}_{class_token}")),
        class,
        filter_subject: leak(format!("{prefix}.{class_token}.>")),
        ack_wait: Duration::from_secs(30),
        max_deliver: 5,
        backoff: &[],
        max_ack_pending: 1000,
        concurrency: WORKER_CONCURRENCY,
        partitions: None,
    }]);
    let operations = leak_slice(vec![OperationSpec {
        id: "echo",
        subject: leak(format!("{prefix}.{class_token}.echo.{{target}}")),
        parameters: &["target"],
        class,
        request_id_pointer: Some("/request_id"),
        timeout: CALL_BOUND,
        retryable: true,
        has_reply: true,
        partitioning: None,
    }]);
    Box::leak(Box::new(ServiceSpec {
        title: "Bench jobs",
        version: "1.0.0",
        spec_sha256: "bench",
        stream: StreamSpec {
            name: leak(upper.clone()),
            subjects,
            storage: StorageSpec::File,
            max_bytes: -1,
            max_msgs: -1,
            max_msg_size: -1,
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
        },
        responses: ResponsesSpec {
            bucket: leak(format!("{upper}_RESPONSES")),
            ttl: Duration::from_secs(3600),
            history: 1,
            replicas: 1,
        },
        dead_letter: DeadLetterSpec {
            stream: leak(format!("{upper}_DLQ")),
            replicas: 1,
        },
        consumers,
        operations,
        registry: RegistrySpec {
            bucket: leak(format!("{upper}_WORKERS")),
            heartbeat: Duration::from_secs(2),
            ttl: Duration::from_secs(10),
            replicas: 1,
        },
        targets: None,
        leases: None,
    }))
}

/// The concrete subject jobs are published on.
pub fn job_subject(service: &ServiceSpec) -> String {
    service.operations[0].subject.replace("{target}", "_any")
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_slice<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}
