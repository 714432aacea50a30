//! The stalled-consumer alarm on RabbitMQ: it fires when a consumer stops
//! taking messages (its only handler hangs with the prefetch full) and the
//! queue holds more, and not for a consumer that keeps up or has nothing to
//! do.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pulse_binding::client::{Consumer, ConsumerEvent, Message, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};
use serde_json::Value;
use tokio::sync::{Semaphore, broadcast};

use super::{recorder, snapshot};
use crate::support::{broker, cleanup, config, next_event, shared, unique, within};

/// A consumer in handler mode whose handler waits for `gate` each time.
async fn start(url: &str, exchange: &str, spec: &QueueSpec) -> Consumer<Value> {
    Consumer::builder(
        config(url),
        Bindings::new().with(Binding::new(exchange, "#"), |v: Value| v),
    )
    .queue(spec.clone())
    .prefetch(1)
    .declare_exchanges(true)
    .backlog_interval(Duration::from_millis(200))
    .stall_after(Duration::from_secs(1))
    .start()
    .await
    .expect("consumer")
}

fn stalls(events: &mut broadcast::Receiver<ConsumerEvent>) -> usize {
    let mut stalls = 0;
    while let Ok(event) = events.try_recv() {
        stalls += usize::from(matches!(event, ConsumerEvent::Stalled { .. }));
    }
    stalls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_whose_handler_hangs_is_reported_stalled() {
    let url = broker!();
    let _guard = shared().await;
    let (_reading, snapshotter) = recorder().await;
    let exchange = unique("exchange/pulse-binding-tests/stall");
    let spec = QueueSpec::named(unique("stall"));
    let queue = spec.full_name("guest").unwrap();
    let began = SystemTime::now();
    let consumer = start(&url, &exchange, &spec).await;
    let mut events = consumer.events();
    let stop = consumer.shutdown_handle();
    let gate = Arc::new(Semaphore::new(0));
    let handler_gate = gate.clone();
    let run = tokio::spawn(consumer.run(1, move |_: Message<Value>| {
        let gate = handler_gate.clone();
        async move {
            // Hangs until the test opens the gate.
            gate.acquire().await.expect("open").forget();
            Ok::<(), std::io::Error>(())
        }
    }));
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for _ in 0..5 {
        publisher
            .publish_raw(&exchange, "k", b"{}")
            .await
            .expect("publish");
    }

    let (messages, since) = next_event(&mut events, 20, "a stall", |e| match e {
        ConsumerEvent::Stalled { messages, since } => Some((*messages, *since)),
        _ => None,
    })
    .await;
    // One message is with the hung handler; the others wait.
    assert_eq!(messages, 4);
    assert!(since >= began - Duration::from_secs(1), "{since:?}");
    let age = SystemTime::now()
        .duration_since(since)
        .expect("in the past");
    assert!(age >= Duration::from_secs(1), "{age:?}");
    let recorded = snapshot(snapshotter, |r| {
        r.name == "pulse.consumer.last_delivery_age"
            && r.label("messaging.consumer.group.name") == Some(queue.as_str())
    });
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(recorded[0].gauge() >= 1.0, "{recorded:?}");
    // Reported once per stall: more readings (every 200 ms), no new event.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stalls(&mut events), 0);

    gate.add_permits(100);
    within(20, "the rest handled", async {
        while stop.stats().is_none_or(|s| s.acked < 5) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    stop.shutdown();
    within(30, "the handler loop ends", run)
        .await
        .unwrap()
        .expect("ran");
    publisher.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_keeps_up_or_has_nothing_to_do_is_not_stalled() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/no-stall");
    let spec = QueueSpec::named(unique("no-stall"));
    let queue = spec.full_name("guest").unwrap();
    let consumer = start(&url, &exchange, &spec).await;
    let mut events = consumer.events();
    let stop = consumer.shutdown_handle();
    // A slow handler (50 ms a message) behind a steady stream: the queue
    // holds messages for the whole time, but deliveries keep coming.
    let run = tokio::spawn(consumer.run(1, |_: Message<Value>| async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<(), std::io::Error>(())
    }));
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for _ in 0..60 {
        publisher
            .publish_raw(&exchange, "k", b"{}")
            .await
            .expect("publish");
    }
    let mut deepest = 0;
    within(30, "all handled", async {
        while let Some(stats) = stop.stats().filter(|s| s.acked < 60) {
            deepest = deepest.max(stats.backlog.unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    // Readings saw messages waiting, for longer than stall_after.
    assert!(deepest > 10, "{deepest}");
    // Then idle with an empty queue for longer than stall_after.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert_eq!(stop.stats().and_then(|s| s.backlog), Some(0));
    assert_eq!(stalls(&mut events), 0);
    stop.shutdown();
    within(30, "the handler loop ends", run)
        .await
        .unwrap()
        .expect("ran");
    publisher.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}
