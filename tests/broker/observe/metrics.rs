//! Every metric of issue 17, recorded with its name, unit and attributes by
//! a consumer in handler mode and a publisher on RabbitMQ, and equal to
//! what `stats()` counts.

use std::time::Duration;

use ::metrics::Unit;
use metrics_util::MetricKind;
use pulse_binding::client::{
    Consumer, ConsumerStats, HandlerError, Message, Publisher, QueueSpec, RetryPolicy,
};
use pulse_binding::testing::FakePulse;
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use super::{Recorded, recorder, snapshot};
use crate::support::{broker, cleanup, config, shared, unique, within};

/// Sums a counter over its attribute sets, where `filter` holds.
fn total(recorded: &[Recorded], name: &str, filter: impl Fn(&Recorded) -> bool) -> u64 {
    recorded
        .iter()
        .filter(|r| r.name == name && filter(r))
        .map(Recorded::counter)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_carry_opentelemetry_names_and_equal_the_stats() {
    let url = broker!();
    let _guard = shared().await;
    let (_reading, snapshotter) = recorder().await;
    let exchange = unique("exchange/pulse-binding-tests/metrics");
    let spec = QueueSpec::named(unique("metrics"));
    let queue = spec.full_name("guest").unwrap();
    let (retry_queue, dead) = (format!("{queue}/retry/50ms"), format!("{queue}/dead"));
    let consumer = Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new(&exchange, "task.#"), |v: Value| v),
    )
    .queue(spec.clone())
    .declare_exchanges(true)
    .backlog_interval(Duration::from_millis(100))
    .retry(RetryPolicy::new(2).delay(Duration::from_millis(50), Duration::from_millis(50)))
    .start()
    .await
    .expect("consumer");
    let stop = consumer.shutdown_handle();
    // Ids 0 and 3 succeed; 1 and 4 fail once, then succeed; 2 and 5 fail for good.
    let run = tokio::spawn(consumer.run(4, |message: Message<Value>| async move {
        let id = message.payload["id"].as_u64().expect("an id");
        match (id % 3, message.attempt()) {
            (0, _) | (1, 2..) => Ok(()),
            (1, _) => Err(HandlerError::msg("the store is down")),
            _ => Err(HandlerError::fatal("no such task")),
        }
    }));
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for id in 0..6 {
        let key = format!("task.secret-routing-key-{id}");
        let body = serde_json::to_vec(&json!({ "id": id })).unwrap();
        publisher
            .publish_raw(&exchange, &key, &body)
            .await
            .expect("publish");
    }
    publisher
        .publish_raw(&exchange, "task.bad", b"not json")
        .await
        .expect("publish");

    // 6 + 2 retried deliveries + 1 that does not decode; 4 successes, 2
    // retries and 2 dead letters, each acknowledged.
    let settled = |s: &ConsumerStats| s.acked == 8 && s.dead_letters == 2 && s.delivered == 9;
    within(30, "every message settled", async {
        while !stop.stats().is_some_and(|s| settled(&s)) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let stats = stop.stats().expect("running");
    // A backlog reading after the last delivery.
    within(10, "a backlog reading of 0", async {
        while stop.stats().and_then(|s| s.backlog) != Some(0) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let mine = |r: &Recorded| {
        r.label("messaging.consumer.group.name") == Some(queue.as_str())
            || r.label("messaging.destination.name") == Some(exchange.as_str())
    };
    // The retries and dead letters go through the default exchange, whose
    // series every test's handler mode shares.
    let default_exchange = |r: &Recorded| {
        r.name == "messaging.client.sent.messages"
            && r.label("messaging.destination.name") == Some("")
            && r.label("error.type").is_none()
    };
    let everything = snapshot(snapshotter, |r| mine(r) || default_exchange(r));
    let moved: u64 = everything
        .iter()
        .filter(|r| default_exchange(r))
        .map(Recorded::counter)
        .sum();
    let recorded: Vec<Recorded> = everything.into_iter().filter(|r| mine(r)).collect();
    stop.shutdown();
    within(30, "the handler loop ends", run)
        .await
        .unwrap()
        .expect("ran");
    publisher.close().await;

    // The attributes every metric carries; never a routing key.
    let port = url.rsplit(':').next().unwrap();
    for r in &recorded {
        assert_eq!(r.label("messaging.system"), Some("rabbitmq"), "{r:?}");
        assert_eq!(r.label("server.address"), Some("127.0.0.1"), "{r:?}");
        assert_eq!(r.label("server.port"), Some(port), "{r:?}");
        assert!(
            !r.labels
                .iter()
                .any(|(_, v)| v.contains("secret-routing-key")),
            "{r:?}"
        );
        let unit = match r.name.as_str() {
            "messaging.process.duration"
            | "messaging.client.operation.duration"
            | "pulse.consumer.last_delivery_age" => Unit::Seconds,
            _ => Unit::Count,
        };
        assert_eq!(r.unit, Some(unit), "{r:?}");
    }
    let consumer_side =
        |r: &Recorded| r.label("messaging.consumer.group.name") == Some(queue.as_str());
    let named =
        |name: &str| -> Vec<&Recorded> { recorded.iter().filter(|r| r.name == name).collect() };

    // messaging.client.consumed.messages: every delivery, by exchange; the
    // one that did not decode with error.type.
    let consumed = named("messaging.client.consumed.messages");
    assert!(consumed.iter().all(|r| r.kind == MetricKind::Counter
        && consumer_side(r)
        && r.label("messaging.operation.name") == Some("receive")
        && r.label("messaging.destination.name") == Some(exchange.as_str())));
    assert_eq!(
        total(&recorded, "messaging.client.consumed.messages", |_| true),
        stats.delivered
    );
    let decode = |r: &Recorded| r.label("error.type") == Some("decode");
    assert_eq!(
        total(&recorded, "messaging.client.consumed.messages", decode),
        1
    );

    // The counters stats() has, equal to it.
    for (name, count) in [
        ("pulse.consumer.decode_failures", stats.decode_failures),
        ("pulse.handler.retries", stats.retries),
        ("pulse.handler.dead_letters", stats.dead_letters),
    ] {
        assert_eq!(total(&recorded, name, consumer_side), count, "{name}");
    }
    assert_eq!(
        (stats.decode_failures, stats.retries, stats.dead_letters),
        (1, 2, 2)
    );
    assert!(named("pulse.consumer.reconnections").is_empty());
    assert!(named("pulse.consumer.lost_acks").is_empty());

    // messaging.process.duration: each of the 8 handler calls, 4 failed.
    let process = named("messaging.process.duration");
    let calls: Vec<f64> = process.iter().flat_map(|r| r.samples()).collect();
    assert_eq!(calls.len(), 8, "{process:?}");
    assert!(calls.iter().all(|s| (0.0..5.0).contains(s)), "{calls:?}");
    let failed: usize = process
        .iter()
        .filter(|r| r.label("error.type") == Some("handler"))
        .map(|r| r.samples().len())
        .sum();
    assert_eq!(failed, 4);
    assert!(
        process
            .iter()
            .all(|r| r.label("messaging.operation.name") == Some("process")
                && r.label("messaging.destination.name") == Some(exchange.as_str()))
    );

    // messaging.client.operation.duration: the settle flushes (ack) and
    // the rejection of the bad body (nack); the publishes to the exchange.
    let operations = named("messaging.client.operation.duration");
    let op = |name: &str| -> usize {
        operations
            .iter()
            .filter(|r| r.label("messaging.operation.name") == Some(name))
            .map(|r| r.samples().len())
            .sum()
    };
    assert!(op("ack") >= 1, "{operations:?}");
    assert_eq!(op("nack"), 1, "{operations:?}");
    assert!(
        operations
            .iter()
            .filter(|r| r.label("messaging.operation.name") == Some("ack"))
            .all(|r| r.label("messaging.operation.type") == Some("settle") && consumer_side(r))
    );
    let sends: Vec<&&Recorded> = operations
        .iter()
        .filter(|r| r.label("messaging.operation.name") == Some("send"))
        .collect();
    assert_eq!(sends.iter().map(|r| r.samples().len()).sum::<usize>(), 7);

    // messaging.client.sent.messages: the 7 confirmed publishes, and the 2
    // retries and 2 dead letters (at least: other tests share "").
    let sent = |r: &Recorded| r.label("error.type").is_none();
    assert_eq!(total(&recorded, "messaging.client.sent.messages", sent), 7);
    assert!(moved >= 4, "{moved}");

    // pulse.consumer.backlog and last_delivery_age: gauges set at each reading.
    let backlog = named("pulse.consumer.backlog");
    assert_eq!(backlog.len(), 1, "{backlog:?}");
    assert_eq!(backlog[0].kind, MetricKind::Gauge);
    assert_eq!(backlog[0].gauge(), 0.0);
    let age = named("pulse.consumer.last_delivery_age");
    assert_eq!(age.len(), 1, "{age:?}");
    assert!((0.0..30.0).contains(&age[0].gauge()), "{age:?}");

    cleanup(&url, &[&queue, &retry_queue, &dead], &[&exchange]).await;
}

/// On the fake, whose connections drop on demand: reconnections, retries and
/// dead letters are counted as `stats()` counts them.
#[tokio::test]
async fn on_the_fake_reconnections_retries_and_dead_letters_equal_the_stats() {
    let (_reading, snapshotter) = recorder().await;
    let pulse = FakePulse::new();
    let exchange = unique("exchange/fake/metrics");
    let name = unique("fake-metrics");
    let consumer = pulse
        .consumer(Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v))
        .queue(QueueSpec::named(&name))
        .retry(RetryPolicy::new(2).delay(Duration::from_millis(1), Duration::from_millis(1)))
        .start()
        .await
        .expect("consumer");
    let queue = consumer.queue_name().to_owned();
    let stop = consumer.shutdown_handle();
    pulse.disconnect_all();
    let run = tokio::spawn(consumer.run(1, |_: Message<Value>| async {
        Err::<(), _>(HandlerError::msg("always"))
    }));
    pulse
        .publisher()
        .publish_raw(&exchange, "k", b"{}")
        .await
        .expect("publish");
    within(10, "a dead letter", async {
        while stop
            .stats()
            .is_none_or(|s| s.dead_letters < 1 || s.reconnections < 1)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let stats = stop.stats().unwrap();
    let recorded = snapshot(snapshotter, |r| {
        r.label("messaging.consumer.group.name") == Some(queue.as_str())
    });
    stop.shutdown();
    let _ = within(10, "the handler loop ends", run).await;
    let count = |name: &str| total(&recorded, name, |_| true);
    assert_eq!(count("pulse.consumer.reconnections"), stats.reconnections);
    assert_eq!(count("pulse.handler.retries"), stats.retries);
    assert_eq!(count("pulse.handler.dead_letters"), stats.dead_letters);
    assert_eq!((stats.retries, stats.dead_letters), (1, 1));
    // The fake has no node: no server attributes.
    assert!(recorded.iter().all(|r| r.label("server.address").is_none()));
}

/// A consumer bound to two exchanges counts each delivery under its own
/// exchange: the handles kept per exchange are never shared between them.
#[tokio::test]
async fn deliveries_are_counted_under_their_own_exchange() {
    let (_reading, snapshotter) = recorder().await;
    let pulse = FakePulse::new();
    let first = unique("exchange/fake/metrics-first");
    let second = unique("exchange/fake/metrics-second");
    let consumer = pulse
        .consumer(
            Bindings::new()
                .with(Binding::new(&first, "#"), |v: Value| v)
                .with(Binding::new(&second, "#"), |v: Value| v),
        )
        .queue(QueueSpec::named(unique("fake-metrics-two")))
        .start()
        .await
        .expect("consumer");
    let queue = consumer.queue_name().to_owned();
    let stop = consumer.shutdown_handle();
    let run =
        tokio::spawn(consumer.run(1, |_: Message<Value>| async { Ok::<(), HandlerError>(()) }));
    let publisher = pulse.publisher();
    for (exchange, n) in [(&first, 3), (&second, 2), (&first, 1)] {
        for _ in 0..n {
            publisher
                .publish_raw(exchange, "k", b"{}")
                .await
                .expect("publish");
        }
    }
    within(10, "six messages handled", async {
        while stop.stats().is_none_or(|s| s.acked < 6) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let recorded = snapshot(snapshotter, |r| {
        r.label("messaging.consumer.group.name") == Some(queue.as_str())
    });
    stop.shutdown();
    let _ = within(10, "the handler loop ends", run).await;
    let consumed = |exchange: &str| {
        total(&recorded, "messaging.client.consumed.messages", |r| {
            r.label("messaging.destination.name") == Some(exchange)
        })
    };
    assert_eq!((consumed(&first), consumed(&second)), (4, 2));
}

/// A handler that finishes after its connection closed cannot acknowledge:
/// the acknowledgement is lost, and `pulse.consumer.lost_acks` counts it as
/// `stats()` does.
#[tokio::test]
async fn an_acknowledgement_lost_with_its_connection_is_counted() {
    let (_reading, snapshotter) = recorder().await;
    let pulse = FakePulse::new();
    let exchange = unique("exchange/fake/metrics-lost");
    let consumer = pulse
        .consumer(Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v))
        .queue(QueueSpec::named(unique("fake-metrics-lost")))
        .start()
        .await
        .expect("consumer");
    let queue = consumer.queue_name().to_owned();
    let stop = consumer.shutdown_handle();
    let (started, mut handling) = tokio::sync::mpsc::unbounded_channel();
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let gate = release.clone();
    let run = tokio::spawn(consumer.run(1, move |_: Message<Value>| {
        let (started, gate) = (started.clone(), gate.clone());
        async move {
            let _ = started.send(());
            gate.notified().await;
            Ok::<(), HandlerError>(())
        }
    }));
    pulse
        .publisher()
        .publish_raw(&exchange, "k", b"{}")
        .await
        .expect("publish");
    within(10, "the handler starts", handling.recv()).await;
    pulse.disconnect_all();
    release.notify_one();
    within(10, "the acknowledgement reported lost", async {
        while stop.stats().is_none_or(|s| s.lost_acks < 1) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let stats = stop.stats().expect("running");
    let recorded = snapshot(snapshotter, |r| {
        r.label("messaging.consumer.group.name") == Some(queue.as_str())
    });
    stop.shutdown();
    let _ = within(10, "the handler loop ends", run).await;
    assert_eq!(stats.lost_acks, 1);
    assert_eq!(total(&recorded, "pulse.consumer.lost_acks", |_| true), 1);
}
