//! Queue limits (`x-max-length`, `x-overflow`, `x-expires`) and a queue that
//! exists with other settings.

use std::time::{Duration, Instant};

use pulse_binding::client::{ClientError, Consumer, Overflow, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use crate::support::{
    broker, cleanup, config, have_rabbitmqctl, rabbitmqctl, ready_count, shared, unique, within,
};

/// Declares `spec`'s queue bound to `exchange` (by starting and closing a
/// consumer), then publishes ids `0..n`; returns which publishes the broker
/// confirmed.
async fn fill(url: &str, exchange: &str, spec: QueueSpec, n: u64) -> Vec<bool> {
    declare(url, exchange, spec)
        .await
        .expect("declare")
        .close()
        .await;
    let publisher = Publisher::connect(config(url)).await.expect("publisher");
    let mut confirmed = Vec::new();
    for id in 0..n {
        let body = serde_json::to_vec(&json!({ "id": id })).unwrap();
        match publisher.publish_raw(exchange, "x", &body).await {
            Ok(()) => confirmed.push(true),
            Err(ClientError::Nacked { .. }) => confirmed.push(false),
            Err(e) => panic!("publish {id}: {e}"),
        }
    }
    publisher.close().await;
    confirmed
}

async fn declare(
    url: &str,
    exchange: &str,
    spec: QueueSpec,
) -> Result<Consumer<Value>, ClientError> {
    Consumer::builder(
        config(url),
        Bindings::new().with(Binding::new(exchange, "#"), |v: Value| v),
    )
    .queue(spec)
    .declare_exchanges(true)
    .start()
    .await
}

/// The ids in the queue, in order (taken and acknowledged).
async fn drain(url: &str, exchange: &str, spec: QueueSpec, n: usize) -> Vec<u64> {
    let mut consumer = declare(url, exchange, spec).await.expect("consumer");
    let mut ids = Vec::new();
    while ids.len() < n {
        let message = within(10, "a message", consumer.recv())
            .await
            .unwrap()
            .unwrap();
        ids.push(message.payload["id"].as_u64().unwrap());
        message.ack().await.unwrap();
    }
    consumer.close().await;
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_that_rejects_publishes_nacks_them_and_keeps_the_oldest() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/limit-reject");
    // A classic queue: a quorum queue applies the limit a message late.
    let spec = QueueSpec::named(unique("limit-reject"))
        .quorum(false)
        .max_length(5)
        .overflow(Overflow::RejectPublish);
    let queue = spec.full_name("guest").unwrap();
    let confirmed = fill(&url, &exchange, spec.clone(), 8).await;
    assert_eq!(
        confirmed,
        [true, true, true, true, true, false, false, false]
    );
    assert_eq!(ready_count(&url, &queue).await, 5);
    assert_eq!(drain(&url, &exchange, spec, 5).await, [0, 1, 2, 3, 4]);
    cleanup(&url, &[&queue], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_that_drops_its_head_keeps_the_newest() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/limit-drop");
    let spec = QueueSpec::named(unique("limit-drop"))
        .max_length(5)
        .overflow(Overflow::DropHead);
    let queue = spec.full_name("guest").unwrap();
    let confirmed = fill(&url, &exchange, spec.clone(), 8).await;
    assert!(confirmed.iter().all(|c| *c));
    assert_eq!(ready_count(&url, &queue).await, 5);
    assert_eq!(drain(&url, &exchange, spec, 5).await, [3, 4, 5, 6, 7]);
    cleanup(&url, &[&queue], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_queue_expires() {
    let url = broker!();
    let _guard = shared().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let exchange = unique("exchange/pulse-binding-tests/expires");
    let spec = QueueSpec::named(unique("expires")).expires(Duration::from_millis(1500));
    let queue = spec.full_name("guest").unwrap();
    let consumer = declare(&url, &exchange, spec).await.expect("declare");
    // In use: it stays.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(queue_exists(&queue).await);
    consumer.close().await;
    let gone = within(15, "the queue to expire", async {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if !queue_exists(&queue).await {
                return;
            }
        }
    });
    gone.await;
    cleanup(&url, &[], &[&exchange]).await;
}

/// Whether the broker lists the queue (`rabbitmqctl`, since a passive
/// declare would count as a use and keep it from expiring).
async fn queue_exists(queue: &str) -> bool {
    rabbitmqctl(&["-q", "list_queues", "name"])
        .await
        .expect("list queues")
        .lines()
        .any(|line| line.trim() == queue)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_declared_otherwise_is_a_mismatch_at_once() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/mismatch");
    let name = unique("mismatch");
    let classic = QueueSpec::named(&name).quorum(false);
    let queue = classic.full_name("guest").unwrap();
    declare(&url, &exchange, classic.clone())
        .await
        .expect("declare")
        .close()
        .await;

    for (spec, argument, hint) in [
        (
            QueueSpec::named(&name),
            "x-queue-type",
            "declared as classic; use .quorum(false) or delete it",
        ),
        (classic.clone().max_length(10), "x-max-length", ""),
    ] {
        let started = Instant::now();
        match declare(&url, &exchange, spec).await {
            Err(ClientError::QueueMismatch { queue: q, detail }) => {
                assert_eq!(q, queue);
                assert!(detail.contains(argument), "{detail}");
                assert!(detail.ends_with(hint), "{detail}");
            }
            other => panic!("expected a queue mismatch, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no reconnect loop"
        );
    }
    // The queue itself is untouched and usable as it is.
    declare(&url, &exchange, classic)
        .await
        .expect("as declared")
        .close()
        .await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}
