//! Provisioning is idempotent, updates what NATS can change, and names the field it
//! cannot change.

mod common;

use std::time::Duration;

use async_nats::jetstream;
use common::*;
use jetwire::provision::{Change, ProvisionError, ProvisionOptions};
use jetwire::spec::{ConsumerSpec, StorageSpec, StreamSpec};
use jetwire::testing::NatsServer;
use jetwire::ServiceSpec;

async fn run(
    js: &jetstream::Context,
    spec: &'static ServiceSpec,
) -> Result<jetwire::ProvisionReport, ProvisionError> {
    jetwire::provision(js, spec, &ProvisionOptions::default()).await
}

#[tokio::test]
async fn provisioning_twice_changes_nothing_the_second_time() {
    bounded(async {
        let server = NatsServer::start().await;
        let js = jetstream::new(server.client().await);
        let first = run(&js, &SERVICE).await.unwrap();
        assert!(
            first.resources.iter().all(|(_, c)| *c == Change::Created),
            "{first:?}"
        );
        assert_eq!(
            first.resources.len(),
            7,
            "stream, 2 consumers, responses kv, registry kv, dead-letter stream + consumer"
        );
        let second = run(&js, &SERVICE).await.unwrap();
        assert!(second.is_unchanged(), "{second:?}");
        assert!(
            second.to_string().contains("stream TJOBS: unchanged\n"),
            "{second}"
        );

        let stream = js.get_stream("TJOBS").await.unwrap();
        let config = &stream.cached_info().config;
        assert_eq!(
            config.retention,
            jetstream::stream::RetentionPolicy::WorkQueue
        );
        assert_eq!(config.discard, jetstream::stream::DiscardPolicy::New);
        assert_eq!(config.duplicate_window, Duration::from_secs(120));
        let consumer = stream.consumer_info("tjobs_modify").await.unwrap();
        assert_eq!(consumer.config.max_deliver, 3);
        assert_eq!(consumer.config.backoff, BACKOFF.to_vec());
        assert_eq!(consumer.config.filter_subject, "tjobs.modify.>");
        assert_eq!(
            consumer.config.ack_policy,
            jetstream::consumer::AckPolicy::Explicit
        );
        let dl = js.get_stream("TJOBS_DLQ").await.unwrap();
        assert!(dl
            .cached_info()
            .config
            .subjects
            .contains(&"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.TJOBS.*".to_string()));
    })
    .await
}

#[tokio::test]
async fn changeable_settings_are_updated_in_place() {
    const MORE_DELIVERIES: [ConsumerSpec; 2] = {
        let mut c = CONSUMERS;
        c[1].max_deliver = 5;
        c
    };
    static CHANGED: ServiceSpec = ServiceSpec {
        stream: StreamSpec {
            max_msgs: 1000,
            ..SERVICE_FIELDS.stream
        },
        consumers: &MORE_DELIVERIES,
        ..SERVICE_FIELDS
    };
    bounded(async {
        let server = NatsServer::start().await;
        let js = jetstream::new(server.client().await);
        run(&js, &SERVICE).await.unwrap();
        let report = run(&js, &CHANGED).await.unwrap();
        let change = |name: &str| {
            report
                .resources
                .iter()
                .find(|(r, _)| r == name)
                .map(|(_, c)| c.clone())
                .unwrap()
        };
        assert_eq!(change("stream TJOBS"), Change::Updated(vec!["max_msgs"]));
        assert_eq!(
            change("consumer TJOBS/tjobs_modify"),
            Change::Updated(vec!["max_deliver"])
        );
        assert_eq!(change("consumer TJOBS/tjobs_query"), Change::Unchanged);
        let stream = js.get_stream("TJOBS").await.unwrap();
        assert_eq!(stream.cached_info().config.max_messages, 1000);
        let consumer = stream.consumer_info("tjobs_modify").await.unwrap();
        assert_eq!(consumer.config.max_deliver, 5);
        assert!(run(&js, &CHANGED).await.unwrap().is_unchanged());
    })
    .await
}

#[tokio::test]
async fn a_setting_nats_cannot_change_is_reported_by_name() {
    static IN_MEMORY: ServiceSpec = ServiceSpec {
        stream: StreamSpec {
            storage: StorageSpec::Memory,
            ..SERVICE_FIELDS.stream
        },
        ..SERVICE_FIELDS
    };
    bounded(async {
        let server = NatsServer::start().await;
        let js = jetstream::new(server.client().await);
        run(&js, &SERVICE).await.unwrap();
        let err = run(&js, &IN_MEMORY).await.unwrap_err();
        match &err {
            ProvisionError::Conflict {
                resource, field, ..
            } => {
                assert_eq!(resource, "stream TJOBS");
                assert_eq!(*field, "storage");
            }
            other => panic!("expected a conflict, got {other}"),
        }
        assert!(err.to_string().contains("`storage`"), "{err}");
    })
    .await
}

#[tokio::test]
async fn an_existing_stream_with_other_retention_is_a_conflict() {
    bounded(async {
        let server = NatsServer::start().await;
        let js = jetstream::new(server.client().await);
        js.create_stream(jetstream::stream::Config {
            name: "TJOBS".into(),
            subjects: vec!["tjobs.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        let err = run(&js, &SERVICE).await.unwrap_err();
        assert!(
            matches!(
                &err,
                ProvisionError::Conflict {
                    field: "retention",
                    ..
                }
            ),
            "{err}"
        );
    })
    .await
}

#[tokio::test]
async fn replicas_can_be_overridden_for_a_cluster() {
    bounded(async {
        let cluster = jetwire::testing::Cluster::start(3).await;
        let js = jetstream::new(cluster.client().await);
        let options = ProvisionOptions { replicas: Some(3) };
        // A new stream may briefly lack a leader; provisioning is idempotent, so repeat
        // until it went through (each attempt is bounded by the JetStream timeout).
        let report = loop {
            match jetwire::provision(&js, &SERVICE, &options).await {
                Ok(r) => break r,
                Err(e) => eprintln!("provisioning not through yet: {e}"),
            }
        };
        assert!(!report.resources.is_empty());
        let stream = js.get_stream("TJOBS").await.unwrap();
        assert_eq!(stream.cached_info().config.num_replicas, 3);
        let kv = js.get_stream("KV_tjobs_responses").await.unwrap();
        assert_eq!(kv.cached_info().config.num_replicas, 3);
        let again = loop {
            match jetwire::provision(&js, &SERVICE, &options).await {
                Ok(r) => break r,
                Err(e) => eprintln!("provisioning not through yet: {e}"),
            }
        };
        assert!(again.is_unchanged(), "{again:?}");
    })
    .await
}

#[tokio::test]
async fn a_backoff_that_differs_from_the_ack_wait_is_idempotent_too() {
    const LONG_ACK_WAIT: [ConsumerSpec; 2] = {
        let mut c = CONSUMERS;
        c[0].ack_wait = Duration::from_secs(30);
        c[1].ack_wait = Duration::from_secs(30);
        c
    };
    static SPEC: ServiceSpec = ServiceSpec {
        consumers: &LONG_ACK_WAIT,
        ..SERVICE_FIELDS
    };
    bounded(async {
        let server = NatsServer::start().await;
        let js = jetstream::new(server.client().await);
        run(&js, &SPEC).await.unwrap();
        let again = run(&js, &SPEC).await.unwrap();
        assert!(again.is_unchanged(), "{again}");
    })
    .await
}

#[tokio::test]
async fn a_partitioned_consumer_becomes_one_durable_per_partition_and_a_lease_bucket() {
    use jetwire::spec::LeasesSpec;
    const PARTITIONED: [ConsumerSpec; 1] = [ConsumerSpec {
        durable: "tjobs_keyed",
        filter_subject: "tjobs.keyed.{partition}",
        max_ack_pending: 100,
        partitions: Some(3),
        ..CONSUMERS[1]
    }];
    static SPEC: ServiceSpec = ServiceSpec {
        consumers: &PARTITIONED,
        leases: Some(LeasesSpec {
            bucket: "tjobs_leases",
            ttl: Duration::from_secs(10),
            replicas: 1,
        }),
        ..SERVICE_FIELDS
    };
    bounded(async {
        let server = NatsServer::start().await;
        let js = jetstream::new(server.client().await);
        let first = run(&js, &SPEC).await.unwrap();
        let names: Vec<&str> = first.resources.iter().map(|(r, _)| r.as_str()).collect();
        for expected in [
            "consumer TJOBS/tjobs_keyed-0",
            "consumer TJOBS/tjobs_keyed-1",
            "consumer TJOBS/tjobs_keyed-2",
            "kv bucket tjobs_leases",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        assert!(!names.contains(&"consumer TJOBS/tjobs_keyed"), "{names:?}");
        let stream = js.get_stream("TJOBS").await.unwrap();
        for i in 0..3 {
            let c = stream
                .consumer_info(format!("tjobs_keyed-{i}"))
                .await
                .unwrap();
            assert_eq!(c.config.filter_subject, format!("tjobs.keyed.{i}"));
            assert_eq!(
                c.config.max_ack_pending, 1,
                "one job in flight per partition"
            );
        }
        let leases = js.get_stream("KV_tjobs_leases").await.unwrap();
        assert_eq!(leases.cached_info().config.max_messages_per_subject, 1);
        js.get_key_value("tjobs_leases").await.unwrap();
        let again = run(&js, &SPEC).await.unwrap();
        assert!(again.is_unchanged(), "{again}");
    })
    .await
}

#[tokio::test]
async fn a_partitioned_filter_without_the_token_is_refused() {
    const NO_TOKEN: [ConsumerSpec; 1] = [ConsumerSpec {
        partitions: Some(2),
        ..CONSUMERS[1]
    }];
    static SPEC: ServiceSpec = ServiceSpec {
        consumers: &NO_TOKEN,
        ..SERVICE_FIELDS
    };
    bounded(async {
        let server = NatsServer::start().await;
        let js = jetstream::new(server.client().await);
        let err = run(&js, &SPEC).await.unwrap_err();
        assert!(
            matches!(&err, ProvisionError::InvalidSpec { resource, .. } if resource == "consumer tjobs_modify"),
            "{err}"
        );
        assert!(err.to_string().contains("{partition}"), "{err}");
    })
    .await
}
