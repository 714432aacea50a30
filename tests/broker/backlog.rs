//! The backlog watch: the queue's depth read on a side channel, a warning and
//! an event over the threshold, the last reading in the stats.

use std::time::Duration;

use pulse_binding::client::{Consumer, ConsumerEvent, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};
use serde_json::Value;

use crate::support::{LogCapture, broker, cleanup, config, exclusive, next_event, unique, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_over_the_threshold_is_reported() {
    let url = broker!();
    // Exclusive for the log capture.
    let _guard = exclusive().await;
    let exchange = unique("exchange/pulse-binding-tests/backlog");
    let spec = QueueSpec::named(unique("backlog"));
    let queue = spec.full_name("guest").unwrap();
    let start = |threshold| {
        Consumer::builder(
            config(&url),
            Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v),
        )
        .queue(spec.clone())
        .prefetch(1)
        .declare_exchanges(true)
        .backlog_warning(threshold)
        .backlog_interval(Duration::from_millis(200))
        .start()
    };
    start(100).await.expect("declare").close().await;
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for _ in 0..30 {
        publisher
            .publish_raw(&exchange, "x", b"{}")
            .await
            .expect("publish");
    }

    // Under the threshold: a reading, no warning.
    let capture = LogCapture::get();
    capture.start();
    let quiet = start(100).await.expect("consumer");
    within(10, "a first reading", async {
        while quiet.stats().backlog.is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let backlog = quiet.stats().backlog.unwrap();
    assert!((29..=30).contains(&backlog), "{backlog}");
    quiet.close().await;
    assert!(!capture.stop().contains("backlog is over"));

    capture.start();
    let consumer = start(10).await.expect("consumer");
    let mut events = consumer.events();
    let messages = next_event(&mut events, 10, "a backlog event", |e| match e {
        ConsumerEvent::Backlog { messages } => Some(*messages),
        _ => None,
    })
    .await;
    // One message is out with the consumer (prefetch 1).
    assert!((29..=30).contains(&messages), "{messages}");
    assert_eq!(consumer.stats().backlog, Some(messages));
    let logs = capture.stop();
    assert!(
        logs.lines()
            .any(|l| l.starts_with("WARN") && l.contains("backlog is over")),
        "{logs}"
    );
    consumer.close().await;
    publisher.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}
