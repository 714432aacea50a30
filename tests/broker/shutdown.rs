//! `Consumer::shutdown` in the middle of a stream: every message is either
//! acknowledged exactly once or back in the queue; none is lost.

use std::collections::HashSet;
use std::time::Duration;

use pulse_binding::client::{AckError, Consumer, Message, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use crate::support::{broker, cleanup, config, ready_count, shared, unique, within};

const TOTAL: u64 = 200;

fn id_of(message: &Message<Value>) -> u64 {
    message.payload["id"].as_u64().expect("an id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_mid_stream_acknowledges_or_requeues_every_message() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/shutdown");
    let spec = QueueSpec::named(unique("shutdown"));
    let queue = spec.full_name("guest").unwrap();
    let bindings = || Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v);
    let start = |spec: QueueSpec| {
        Consumer::builder(config(&url), bindings())
            .queue(spec)
            .prefetch(50)
            .declare_exchanges(true)
            .start()
    };
    // Declare the queue, then fill it while nobody consumes.
    start(spec.clone()).await.expect("declare").close().await;
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for id in 0..TOTAL {
        let body = serde_json::to_vec(&json!({ "id": id })).unwrap();
        publisher
            .publish_raw(&exchange, "x", &body)
            .await
            .expect("publish");
    }

    let mut consumer = start(spec.clone()).await.expect("consumer");
    let mut acked = HashSet::new();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut held = Vec::new();
    for n in 0..30 {
        let message = within(10, "a message", consumer.recv())
            .await
            .expect("the stream goes on")
            .expect("a message");
        let id = id_of(&message);
        match n {
            // Handled at once.
            0..10 => {
                message.ack().await.expect("ack");
                acked.insert(id);
            }
            // Handled elsewhere, finishing while the consumer shuts down.
            10..20 => {
                in_flight.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    message.ack().await.expect("ack while shutting down");
                    id
                });
            }
            // Never finished.
            _ => held.push(message),
        }
    }
    let report = within(20, "shutdown", consumer.shutdown(Duration::from_secs(2))).await;
    while let Some(id) = in_flight.join_next().await {
        acked.insert(id.expect("handler"));
    }

    assert_eq!(
        report.acked, 10,
        "the acknowledgements sent while waiting: {report:?}"
    );
    assert_eq!(report.rejected, 0, "{report:?}");
    assert_eq!(report.timed_out, 10, "the held messages: {report:?}");
    // Whatever was delivered and not acknowledged went back: the 10 held and
    // those prefetched but not taken.
    let stats = &report.stats;
    assert_eq!(stats.acked, 20, "{report:?}");
    assert_eq!(report.requeued, stats.delivered - stats.acked, "{report:?}");
    assert_eq!(
        stats.redelivered, 0,
        "nothing given back came to this consumer again"
    );
    for message in held {
        assert!(matches!(
            message.ack().await,
            Err(AckError::ConnectionLost { .. })
        ));
    }

    assert_eq!(
        u64::from(ready_count(&url, &queue).await),
        TOTAL - acked.len() as u64
    );
    // What is left is exactly what was not acknowledged.
    let mut rest = start(spec).await.expect("second consumer");
    let mut remaining = HashSet::new();
    while remaining.len() as u64 + (acked.len() as u64) < TOTAL {
        let message = within(10, "a remaining message", rest.recv())
            .await
            .expect("the stream goes on")
            .expect("a message");
        let id = id_of(&message);
        assert!(
            !acked.contains(&id),
            "{id} was acknowledged, yet came again"
        );
        assert!(remaining.insert(id), "{id} came twice");
        message.ack().await.expect("ack");
    }
    let all: HashSet<u64> = acked.union(&remaining).copied().collect();
    assert_eq!(all, (0..TOTAL).collect());
    let report = rest.shutdown(Duration::from_secs(2)).await;
    assert_eq!(report.requeued, 0, "{report:?}");
    publisher.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_handle_ends_the_stream_after_what_was_delivered() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/shutdown-handle");
    let spec = QueueSpec::named(unique("shutdown-handle"));
    let queue = spec.full_name("guest").unwrap();
    let bindings = Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v);
    let mut consumer = Consumer::builder(config(&url), bindings)
        .queue(spec)
        .prefetch(10)
        .declare_exchanges(true)
        .start()
        .await
        .expect("consumer");
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for id in 0..25 {
        let body = serde_json::to_vec(&json!({ "id": id })).unwrap();
        publisher
            .publish_raw(&exchange, "x", &body)
            .await
            .expect("publish");
    }
    let first = within(10, "a message", consumer.recv())
        .await
        .unwrap()
        .unwrap();
    first.ack().await.expect("ack");
    consumer.shutdown_handle().shutdown();
    let mut handled = 1;
    while let Some(item) = within(10, "the stream to end", consumer.recv()).await {
        item.expect("a message").ack().await.expect("ack");
        handled += 1;
    }
    // What came before the cancel was handled; the rest stayed queued.
    assert!(handled < 25, "{handled}");
    let report = consumer.shutdown(Duration::from_secs(2)).await;
    assert_eq!(report.requeued, 0, "{report:?}");
    assert_eq!(ready_count(&url, &queue).await, 25 - handled);
    publisher.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}
