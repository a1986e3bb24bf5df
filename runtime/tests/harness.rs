//! The test harness itself: servers start isolated, survive kill -9 + restart with their
//! store, and a 3-node cluster elects a JetStream meta leader.

use std::time::Duration;

use futures::StreamExt;
use jetwire::testing::{Cluster, NatsServer};
use tokio::time::timeout;

const BOUND: Duration = Duration::from_secs(60);

#[tokio::test]
async fn server_keeps_jetstream_data_across_kill9_and_restart() {
    timeout(BOUND, async {
        let mut server = NatsServer::start().await;
        let port = server.port();
        let nats = server.client().await;
        let js = async_nats::jetstream::new(nats.clone());
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "S".into(),
            subjects: vec!["s.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        js.publish("s.1", "one".into())
            .await
            .unwrap()
            .await
            .unwrap();

        server.kill9();
        server.restart().await;
        assert_eq!(server.port(), port, "restart keeps the port");

        let mut stream = js.get_stream("S").await.unwrap();
        assert_eq!(stream.info().await.unwrap().state.messages, 1);
        let msg = stream.get_raw_message(1).await.unwrap();
        assert_eq!(&msg.payload[..], b"one");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn two_servers_are_isolated() {
    timeout(BOUND, async {
        let a = NatsServer::start().await;
        let b = NatsServer::start().await;
        assert_ne!(a.url(), b.url());
        assert_ne!(a.store_dir(), b.store_dir());
        let ca = a.client().await;
        let cb = b.client().await;
        let mut sub = cb.subscribe("x").await.unwrap();
        cb.flush().await.unwrap();
        ca.publish("x", "from a".into()).await.unwrap();
        ca.flush().await.unwrap();
        cb.publish("x", "from b".into()).await.unwrap();
        let got = sub.next().await.unwrap();
        assert_eq!(&got.payload[..], b"from b", "a's message must not reach b");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn missing_binary_is_reported_with_install_hint() {
    let err = jetwire::embedded::server_binary_from(Some("/nonexistent/nats-server".into()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("apt-get install nats-server"), "{err}");
    assert!(err.contains("NATS_SERVER_BIN"), "{err}");
}

#[tokio::test]
async fn cluster_of_three_replicates_and_survives_a_node_kill() {
    timeout(BOUND, async {
        let mut cluster = Cluster::start(3).await;
        assert_eq!(cluster.urls().len(), 3);
        let nats = cluster.client().await;
        let js = async_nats::jetstream::new(nats);
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "R".into(),
            subjects: vec!["r.>".into()],
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap();
        js.publish("r.1", "one".into())
            .await
            .unwrap()
            .await
            .unwrap();
        cluster.kill9(0);
        cluster.restart(0).await;
        // The stream may be electing a new leader: each request is bounded by the
        // JetStream timeout, the whole test by BOUND.
        let stream = loop {
            match js.get_stream("R").await {
                Ok(s) => break s,
                Err(e) => eprintln!("stream not answering yet: {e}"),
            }
        };
        assert_eq!(stream.cached_info().config.num_replicas, 3);
        let msg = loop {
            match stream.get_raw_message(1).await {
                Ok(m) => break m,
                Err(e) => eprintln!("stream not answering yet: {e}"),
            }
        };
        assert_eq!(&msg.payload[..], b"one");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn embedded_server_uses_the_given_store_and_port_and_stops_on_drop() {
    timeout(BOUND, async {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let port = jetwire::testing::free_port();
        let server = jetwire::EmbeddedServer::start(jetwire::EmbeddedOptions {
            store_dir: Some(store.clone()),
            port: Some(port),
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(server.url(), format!("nats://127.0.0.1:{port}"));
        assert!(
            store.join("jetstream").is_dir(),
            "JetStream keeps its data in the given dir"
        );
        let nats = async_nats::connect(server.url()).await.unwrap();
        nats.flush().await.unwrap();
        drop(server);
        // Stopped: the port no longer accepts connections.
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    })
    .await
    .expect("test timed out");
}
