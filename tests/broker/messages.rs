//! Messages the consumer cannot use, publishes that must be refused, and the
//! settings that must really apply.

use lapin::options::QueueBindOptions;
use lapin::types::FieldTable;
use pulse_binding::client::{ClientError, ConsumeError, Consumer, Publisher, QueueSpec};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};
use pulse_binding::{Binding, Bindings, DispatchError, PulseBinding, RoutingKeyError};

use crate::BuildFinishedBinding;
use crate::roundtrip::next_message;
use crate::support::{
    LogCapture, broker, cleanup, config, exclusive, raw_connection, ready_count, shared, unique,
    within,
};

fn hook(id: &str) -> HookChangedMessage {
    HookChangedMessage {
        hook_group_id: "g".into(),
        hook_id: id.into(),
        ..Default::default()
    }
}

/// The next item, which must be a rejected delivery.
async fn next_rejected<M>(consumer: &mut Consumer<M>) -> pulse_binding::client::RejectedMessage {
    match within(20, "the next item", consumer.recv()).await {
        Some(Err(ConsumeError::Rejected(rejected))) => rejected,
        Some(Ok(m)) => panic!(
            "expected a rejected delivery, got a message from {}",
            m.exchange
        ),
        Some(Err(e)) => panic!("expected a rejected delivery, got {e}"),
        None => panic!("the stream ended"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_do_not_decode_are_rejected_for_good_and_the_stream_goes_on() {
    let url = broker!();
    let _guard = shared().await;
    let key = unique("malformed");
    let queue = QueueSpec::named(unique("malformed"));
    let queue_name = queue.full_name("guest").unwrap();
    let binding = HookCreated {
        reserved: Some(key.clone()),
    };
    let exchange = binding.exchange_name().to_owned();
    let start = || {
        Consumer::builder(
            config(&url),
            Bindings::new().with(binding.clone(), |m: HookChangedMessage| m),
        )
        .queue(queue.clone())
        .declare_exchanges(true)
        .start()
    };
    let mut consumer = start().await.expect("start the consumer");
    assert_eq!(consumer.queue_name(), queue_name);
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");

    publisher
        .publish_raw(&exchange, &key, b"{not json")
        .await
        .unwrap();
    publisher
        .publish_raw(&exchange, &key, br#"{"hookGroupId": "g"}"#)
        .await
        .unwrap();
    publisher.publish(&binding, &hook("good")).await.unwrap();

    let first = next_rejected(&mut consumer).await;
    assert_eq!(first.exchange, exchange);
    assert_eq!(first.routing_key, key);
    assert_eq!(first.body, b"{not json");
    assert!(
        matches!(first.reason, DispatchError::Decode(_)),
        "{}",
        first.reason
    );
    let second = next_rejected(&mut consumer).await;
    assert_eq!(second.body, br#"{"hookGroupId": "g"}"#);
    // The message says what was rejected; its sources, why (once each).
    let mut why = Vec::new();
    let mut cause = std::error::Error::source(&second);
    while let Some(e) = cause {
        why.push(e.to_string());
        cause = e.source();
    }
    assert!(
        why.iter().any(|e| e.contains("hookId")),
        "{second}: {why:?}"
    );
    assert!(!second.to_string().contains("hookId"), "{second}");

    let good = next_message(&mut consumer).await;
    assert_eq!(good.payload.hook_id, "good");
    good.ack().await.unwrap();
    consumer.close().await;

    // Rejected without requeue: a new consumer of the queue gets only what
    // comes next.
    assert_eq!(ready_count(&url, &queue_name).await, 0);
    let mut consumer = start().await.expect("restart the consumer");
    publisher.publish(&binding, &hook("after")).await.unwrap();
    let after = next_message(&mut consumer).await;
    assert_eq!(after.payload.hook_id, "after");
    assert!(!after.redelivered);
    after.ack().await.unwrap();
    consumer.close().await;
    publisher.close().await;
    cleanup(&url, &[&queue_name], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_from_an_exchange_no_binding_knows_is_rejected_and_the_stream_goes_on() {
    let url = broker!();
    let _guard = shared().await;
    let known = unique("exchange/pulse-binding-tests/known");
    let unknown = unique("exchange/pulse-binding-tests/unknown");
    let queue = QueueSpec::named(unique("unknown-exchange"));
    let queue_name = queue.full_name("guest").unwrap();
    let mut consumer = Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new(known.as_str(), "#"), |v| v),
    )
    .queue(queue)
    .declare_exchanges(true)
    .start()
    .await
    .expect("start the consumer");
    let publisher = Publisher::connect(config(&url))
        .await
        .expect("publisher")
        .declare_exchanges(true);
    // Make the unknown exchange exist, then bind the queue to it behind the
    // consumer's back.
    publisher
        .publish_raw(&unknown, "nobody.listens", b"{}")
        .await
        .unwrap();
    let raw = raw_connection(&url).await;
    let channel = raw.create_channel().await.unwrap();
    channel
        .queue_bind(
            queue_name.as_str().into(),
            unknown.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind to the unknown exchange");

    publisher
        .publish_raw(&unknown, "a.b", br#"{"x": 1}"#)
        .await
        .unwrap();
    publisher
        .publish_raw(&known, "c.d", br#"{"y": 2}"#)
        .await
        .unwrap();

    let rejected = next_rejected(&mut consumer).await;
    assert_eq!(rejected.exchange, unknown);
    assert_eq!(rejected.routing_key, "a.b");
    assert_eq!(rejected.body, br#"{"x": 1}"#);
    assert!(
        matches!(&rejected.reason, DispatchError::NoBinding { exchange, .. } if *exchange == unknown)
    );
    let good = next_message(&mut consumer).await;
    assert_eq!(good.exchange, known);
    assert_eq!(good.payload["y"], 2);
    good.ack().await.unwrap();
    consumer.close().await;
    assert_eq!(
        ready_count(&url, &queue_name).await,
        0,
        "the rejected message is not requeued"
    );
    crate::support::close_raw(&raw).await;
    publisher.close().await;
    cleanup(&url, &[&queue_name], &[&known, &unknown]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_with_a_wildcard_left_in_is_refused_and_sends_nothing() {
    let url = broker!();
    let _guard = shared().await;
    let project = unique("wild");
    let catch_all = BuildFinishedBinding {
        project: Some(project.clone()),
        ..Default::default()
    };
    let mut consumer = Consumer::builder(config(&url), Bindings::new().with(catch_all, |p| p))
        .declare_exchanges(true)
        .start()
        .await
        .expect("start the consumer");
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");

    let unset_build = BuildFinishedBinding {
        project: Some(project.clone()),
        platform: Some("linux64".into()),
        rest: Some("_".into()),
        ..Default::default()
    };
    let payload = crate::BuildFinished {
        build_id: 1,
        status: "x".into(),
    };
    match publisher.publish(&unset_build, &payload).await {
        Err(ClientError::Wildcard {
            routing_key, unset, ..
        }) => {
            assert_eq!(routing_key, format!("primary.{project}.*.linux64._"));
            assert_eq!(unset, ["build_id"]);
        }
        other => panic!("expected a wildcard error, got {other:?}"),
    }
    let e = publisher
        .publish(&HookCreated::default(), &hook("x"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("reserved"), "{e}");
    let exchange = unset_build.exchange_name();
    let e = publisher
        .publish_raw(exchange, &format!("primary.{project}.1.linux64.#"), b"{}")
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Wildcard { .. }), "{e}");
    // A dot in a single-word field is refused too, before anything is sent.
    let dotted = BuildFinishedBinding {
        project: Some(format!("{project}.x")),
        build_id: Some(1),
        platform: Some("linux64".into()),
        rest: Some("_".into()),
        ..Default::default()
    };
    assert!(matches!(
        publisher.publish(&dotted, &payload).await,
        Err(ClientError::Binding(RoutingKeyError::DotInWord { .. }))
    ));

    // Nothing of that reached the queue: the next message is the good one.
    let good = BuildFinishedBinding {
        build_id: Some(2),
        ..unset_build
    };
    publisher.publish(&good, &payload).await.unwrap();
    let first = next_message(&mut consumer).await;
    assert_eq!(first.routing_key, format!("primary.{project}.2.linux64._"));
    first.ack().await.unwrap();
    consumer.close().await;
    publisher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_binding_is_an_error_before_anything_is_bound() {
    let url = broker!();
    let _guard = shared().await;
    let queue = QueueSpec::named(unique("never-declared"));
    let queue_name = queue.full_name("guest").unwrap();
    let bad = BuildFinishedBinding {
        platform: Some("linux.64".into()),
        ..Default::default()
    };
    let result = Consumer::builder(
        config(&url),
        Bindings::new()
            .with(HookCreated::default(), |_| ())
            .with(bad, |_| ()),
    )
    .queue(queue)
    .declare_exchanges(true)
    .start()
    .await;
    match result {
        Err(ClientError::Binding(RoutingKeyError::DotInWord { field, .. })) => {
            assert_eq!(field, "platform")
        }
        other => panic!("expected a binding error, got {other:?}"),
    }
    // The queue was not even declared.
    let raw = raw_connection(&url).await;
    let channel = raw.create_channel().await.unwrap();
    let passive = channel
        .queue_declare(
            queue_name.as_str().into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    assert!(passive.is_err(), "queue {queue_name} exists");
    crate::support::close_raw(&raw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanges_are_checked_not_declared_by_default() {
    let url = broker!();
    let _guard = shared().await;
    let missing = unique("exchange/pulse-binding-tests/missing");
    let result = Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new(missing.as_str(), "#"), |v| v),
    )
    .start()
    .await;
    match result {
        Err(ClientError::ExchangeNotFound { exchange }) => assert_eq!(exchange, missing),
        other => panic!("expected ExchangeNotFound, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_limits_the_messages_taken_before_acknowledgement() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/prefetch");
    let queue = QueueSpec::named(unique("prefetch"));
    let queue_name = queue.full_name("guest").unwrap();
    let mut consumer = Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new(exchange.as_str(), "#"), |v| v),
    )
    .queue(queue)
    .prefetch(3)
    .declare_exchanges(true)
    .start()
    .await
    .expect("start the consumer");
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for i in 0..10 {
        publisher
            .publish_raw(&exchange, "k", i.to_string().as_bytes())
            .await
            .unwrap();
    }
    // Take three without acknowledging: the broker must hold back the rest.
    let mut held = Vec::new();
    for i in 0..3 {
        let m = next_message(&mut consumer).await;
        assert_eq!(m.payload, i);
        held.push(m);
    }
    assert_eq!(ready_count(&url, &queue_name).await, 7);
    // One acknowledgement lets exactly one more through.
    held.remove(0).ack().await.unwrap();
    let m = next_message(&mut consumer).await;
    assert_eq!(m.payload, 3);
    held.push(m);
    assert_eq!(ready_count(&url, &queue_name).await, 6);
    for m in held {
        m.ack().await.unwrap();
    }
    consumer.close().await;
    publisher.close().await;
    cleanup(&url, &[&queue_name], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_in_no_error_and_no_log_line() {
    let url = broker!();
    // Exclusive: the log capture records every test's logs while on.
    let _guard = exclusive().await;
    let secret = "n0t-the-Passw0rd-7f3a";
    let capture = LogCapture::get();
    capture.start();
    let config = config(&url).with_credentials("guest", secret);
    let shown = format!("{config} {config:?} {}", config.url());
    let result = Consumer::builder(
        config.clone(),
        Bindings::new().with(HookCreated::default(), |m: HookChangedMessage| m),
    )
    .start()
    .await;
    let publisher = Publisher::connect(config).await;
    let logs = capture.stop();
    let consumer_error = result.expect_err("the login is refused");
    let publisher_error = publisher.expect_err("the login is refused");
    for text in [
        shown,
        consumer_error.to_string(),
        format!("{consumer_error:?}"),
        publisher_error.to_string(),
        format!("{publisher_error:?}"),
        logs.clone(),
    ] {
        assert!(!text.contains(secret), "the password shows in: {text}");
    }
    assert!(
        matches!(consumer_error, ClientError::Connect { .. }),
        "{consumer_error}"
    );
    assert!(
        consumer_error.to_string().contains("guest:***@"),
        "{consumer_error}"
    );
    assert!(!logs.is_empty(), "the capture recorded lapin's logs");
}
