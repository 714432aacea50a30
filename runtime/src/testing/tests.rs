//! The fake broker's behaviour, through the client's own consumer and
//! publisher.

use std::time::Duration;

use super::{FakePulse, Outcome};
use crate::client::{
    AckError, ClientError, ConsumeError, Consumer, HandlerError, Message, Overflow, QueueSpec,
    Reconnect, RetryPolicy,
};
use crate::hooks::{HookChangedMessage, HookCreated, HookDeleted};
use crate::{Binding, Bindings};

type Hook = HookChangedMessage;

const HOOK_CREATED: &str = "exchange/taskcluster-hooks/v1/hook-created";

fn created() -> HookCreated {
    HookCreated {
        reserved: Some("_".into()),
    }
}

fn hook(id: &str) -> Hook {
    Hook {
        hook_id: id.into(),
        ..Default::default()
    }
}

fn hooks() -> Bindings<Hook> {
    Bindings::new().with(HookCreated::default(), |m: Hook| m)
}

fn as_hook(value: serde_json::Value) -> Hook {
    serde_json::from_value(value).expect("a hook's body")
}

async fn next(consumer: &mut Consumer<Hook>) -> Message<Hook> {
    let item = tokio::time::timeout(Duration::from_secs(5), consumer.recv())
        .await
        .expect("a delivery within 5 s")
        .expect("the stream goes on");
    item.expect("a message")
}

/// Waits (up to 5 s) until `check` holds: acknowledgements are flushed a
/// few milliseconds after they are made.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

async fn publish(pulse: &FakePulse, id: &str) {
    pulse
        .publisher()
        .publish(&created(), &hook(id))
        .await
        .unwrap();
}

#[tokio::test]
async fn cc_routes_reach_queues_bound_to_them_once_each() {
    let pulse = FakePulse::new();
    let bindings = Bindings::new()
        .with(HookCreated::default(), |m: Hook| m)
        .with(Binding::new(HOOK_CREATED, "route.index.#"), as_hook);
    let mut both = pulse.consumer(bindings).start().await.unwrap();
    let routes_only = Bindings::new().with(Binding::new(HOOK_CREATED, "route.other.*"), as_hook);
    let mut other = pulse.consumer(routes_only).start().await.unwrap();
    pulse
        .publisher()
        .publish_routed(&created(), &hook("a"), &["index.x", "index.y", "other.z"])
        .await
        .unwrap();
    let message = next(&mut both).await;
    assert_eq!(message.routes, ["index.x", "index.y", "other.z"]);
    message.ack().await.unwrap();
    next(&mut other).await.ack().await.unwrap();
    // Matched by the key and two CC keys, but delivered once.
    assert_eq!(pulse.queue_len(both.queue_name()), 0);
    assert!(
        tokio::time::timeout(Duration::from_millis(50), both.recv())
            .await
            .is_err()
    );
    // A key that matches no binding of the exchange reaches nothing.
    pulse
        .publisher()
        .publish_routed(&created(), &hook("b"), &["elsewhere"])
        .await
        .unwrap();
    assert_eq!(next(&mut both).await.payload.hook_id, "b");
    assert_eq!(pulse.queue_len(other.queue_name()), 0);
    assert_eq!(pulse.unacked(other.queue_name()), 0);
}

#[tokio::test]
async fn other_exchanges_and_keys_do_not_reach_the_queue() {
    let pulse = FakePulse::new();
    let bindings = Bindings::new().with(
        HookCreated {
            reserved: Some("x".into()),
        },
        |m: Hook| m,
    );
    let consumer = pulse.consumer(bindings).start().await.unwrap();
    let publisher = pulse.publisher();
    publisher
        .publish(&created(), &hook("wrong key"))
        .await
        .unwrap();
    let deleted = HookDeleted {
        reserved: Some("x".into()),
    };
    publisher
        .publish(&deleted, &hook("wrong exchange"))
        .await
        .unwrap();
    assert_eq!(pulse.queue_len(consumer.queue_name()), 0);
    assert_eq!(pulse.unacked(consumer.queue_name()), 0);
    assert_eq!(pulse.published().len(), 2);
    assert_eq!(
        pulse.published()[1].payload::<Hook>().unwrap().hook_id,
        "wrong exchange"
    );
}

#[tokio::test]
async fn a_requeued_message_comes_back_first_marked_redelivered() {
    let pulse = FakePulse::new();
    let mut consumer = pulse.consumer(hooks()).prefetch(1).start().await.unwrap();
    for id in ["a", "b"] {
        publish(&pulse, id).await;
    }
    let first = next(&mut consumer).await;
    assert_eq!(
        (first.payload.hook_id.as_str(), first.redelivered),
        ("a", false)
    );
    assert_eq!(pulse.queue_len(consumer.queue_name()), 1, "prefetch 1");
    first.reject(true).await.unwrap();
    let again = next(&mut consumer).await;
    assert_eq!(
        (again.payload.hook_id.as_str(), again.redelivered),
        ("a", true)
    );
    again.ack().await.unwrap();
    let second = next(&mut consumer).await;
    assert_eq!(
        (second.payload.hook_id.as_str(), second.redelivered),
        ("b", false)
    );
}

#[tokio::test]
async fn prefetch_bounds_the_unacknowledged_and_acks_free_slots() {
    let pulse = FakePulse::new();
    let mut consumer = pulse.consumer(hooks()).prefetch(2).start().await.unwrap();
    for id in ["1", "2", "3", "4", "5"] {
        publish(&pulse, id).await;
    }
    let queue = consumer.queue_name().to_owned();
    assert_eq!((pulse.unacked(&queue), pulse.queue_len(&queue)), (2, 3));
    let first = next(&mut consumer).await;
    assert_eq!(first.payload.hook_id, "1");
    first.ack().await.unwrap();
    eventually("the ack frees a slot", || {
        (pulse.unacked(&queue), pulse.queue_len(&queue)) == (2, 2)
    })
    .await;
    next(&mut consumer).await.reject(false).await.unwrap();
    eventually("the reject frees a slot", || {
        (pulse.unacked(&queue), pulse.queue_len(&queue)) == (2, 1)
    })
    .await;
    let ids: Vec<String> = [next(&mut consumer).await, next(&mut consumer).await]
        .into_iter()
        .map(|m| m.payload.hook_id)
        .collect();
    assert_eq!(ids, ["3", "4"], "in publication order");
}

#[tokio::test]
async fn a_body_no_binding_decodes_is_rejected_and_dropped() {
    let pulse = FakePulse::new();
    let mut consumer = pulse.consumer(hooks()).start().await.unwrap();
    pulse
        .publisher()
        .publish_raw(HOOK_CREATED, "_", b"not json")
        .await
        .unwrap();
    match consumer.recv().await.expect("an item") {
        Err(ConsumeError::Rejected(rejected)) => assert_eq!(rejected.body, b"not json"),
        other => panic!("{other:?}"),
    }
    assert_eq!(pulse.unacked(consumer.queue_name()), 0);
    assert_eq!(pulse.queue_len(consumer.queue_name()), 0);
    assert_eq!(consumer.stats().rejected, 1);
}

#[tokio::test]
async fn a_disconnect_redelivers_what_was_held_and_the_consumer_reconnects() {
    let pulse = FakePulse::new();
    let mut consumer = pulse
        .consumer(hooks())
        .queue(QueueSpec::named("held"))
        .reconnect(Reconnect::default().initial_delay(Duration::from_millis(1)))
        .start()
        .await
        .unwrap();
    assert_eq!(consumer.queue_name(), "queue/fake/held");
    publish(&pulse, "a").await;
    let held = next(&mut consumer).await;
    assert_eq!(pulse.unacked("held"), 1);
    pulse.disconnect_all();
    assert!(!held.acker.is_current());
    assert!(matches!(
        held.ack().await,
        Err(AckError::ConnectionLost { .. })
    ));
    let again = next(&mut consumer).await;
    assert_eq!(
        (again.payload.hook_id.as_str(), again.redelivered),
        ("a", true)
    );
    assert_eq!(consumer.reconnections(), 1);
    again.ack().await.unwrap();
    eventually("acknowledged on the new connection", || {
        pulse.unacked("held") == 0
    })
    .await;
    // Still bound after the reconnection.
    publish(&pulse, "b").await;
    assert_eq!(next(&mut consumer).await.payload.hook_id, "b");
}

#[tokio::test]
async fn an_anonymous_queue_goes_with_its_connection() {
    let pulse = FakePulse::new();
    let consumer = pulse.consumer(hooks()).prefetch(1).start().await.unwrap();
    let first = consumer.queue_name().to_owned();
    for id in ["a", "b"] {
        publish(&pulse, id).await;
    }
    assert_eq!(pulse.queue_len(&first), 1);
    consumer.close().await;
    assert_eq!(pulse.queue_len(&first), 0);
    publish(&pulse, "c").await;
    assert_eq!(pulse.queue_len(&first), 0, "unbound with it");
}

#[tokio::test]
async fn max_length_drops_the_oldest_or_refuses_the_newest() {
    let pulse = FakePulse::new();
    let start = |name: &str, overflow| {
        pulse
            .consumer(hooks())
            .queue(QueueSpec::named(name).max_length(2).overflow(overflow))
            .start()
    };
    let drop_head = start("drop", Overflow::DropHead).await.unwrap();
    let reject = start("reject", Overflow::RejectPublish).await.unwrap();
    // Declared and bound; with no consumer, what comes stays ready.
    drop_head.close().await;
    reject.close().await;
    let publisher = pulse.publisher();
    for id in ["1", "2", "3"] {
        let result = publisher.publish(&created(), &hook(id)).await;
        if id == "3" {
            assert!(
                matches!(result, Err(ClientError::Nacked { .. })),
                "{result:?}"
            );
        } else {
            result.unwrap();
        }
    }
    assert_eq!(pulse.queue_len("drop"), 2);
    assert_eq!(pulse.queue_len("reject"), 2);
    let newest = |name: &str| {
        let pulse = pulse.clone();
        let name = name.to_owned();
        async move {
            let mut c = pulse
                .consumer(hooks())
                .queue(
                    QueueSpec::named(name)
                        .max_length(2)
                        .overflow(Overflow::DropHead),
                )
                .start()
                .await
                .unwrap();
            next(&mut c).await.payload.hook_id
        }
    };
    assert_eq!(newest("drop").await, "2", "drop-head keeps the newest");
    let mismatch = pulse
        .consumer(hooks())
        .queue(QueueSpec::named("reject").max_length(2))
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(mismatch, ClientError::QueueMismatch { .. }),
        "{mismatch}"
    );
    let shown = mismatch.to_string();
    let expected = "max length 2, overflow RejectPublish, not max length 2, overflow DropHead";
    assert!(shown.contains(expected), "{shown}");
}

#[tokio::test]
async fn handler_mode_retries_through_the_retry_queue_then_dead_letters() {
    let pulse = FakePulse::new();
    let consumer = pulse
        .consumer(hooks())
        .queue(QueueSpec::named("retried"))
        .retry(RetryPolicy::new(3).delay(Duration::from_millis(5), Duration::from_millis(20)))
        .start()
        .await
        .unwrap();
    let stop = consumer.shutdown_handle();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let running = tokio::spawn(consumer.run(4, move |message: Message<Hook>| {
        let seen_tx = seen_tx.clone();
        async move {
            let attempt = message.attempt();
            let _ = seen_tx.send((
                message.payload.hook_id.clone(),
                attempt,
                message.routes.clone(),
            ));
            match message.payload.hook_id.as_str() {
                "flaky" if attempt < 2 => Err(HandlerError::msg("not yet")),
                "broken" => Err(HandlerError::msg("never")),
                _ => Ok::<(), HandlerError>(()),
            }
        }
    }));
    let publisher = pulse.publisher();
    publisher
        .publish_routed(&created(), &hook("flaky"), &["index.r"])
        .await
        .unwrap();
    publisher
        .publish(&created(), &hook("broken"))
        .await
        .unwrap();
    let mut attempts = Vec::new();
    while attempts.len() < 5 {
        let seen = tokio::time::timeout(Duration::from_secs(5), seen.recv()).await;
        attempts.push(seen.expect("an attempt").expect("running"));
    }
    attempts.sort();
    let routes = vec!["index.r".to_owned()];
    assert_eq!(
        attempts,
        [
            ("broken".into(), 1, vec![]),
            ("broken".into(), 2, vec![]),
            ("broken".into(), 3, vec![]),
            ("flaky".into(), 1, routes.clone()),
            ("flaky".into(), 2, routes),
        ]
    );
    eventually("the broken one is dead", || {
        pulse.queue_len("retried/dead") == 1
    })
    .await;
    let moved: Vec<String> = pulse
        .published()
        .into_iter()
        .filter(|p| p.exchange.is_empty())
        .map(|p| p.routing_key)
        .collect();
    assert_eq!(moved.len(), 4, "three retries and a dead letter: {moved:?}");
    assert!(moved.contains(&"queue/fake/retried/retry/5ms".to_owned()));
    assert!(moved.contains(&"queue/fake/retried/retry/10ms".to_owned()));
    stop.shutdown();
    running.await.unwrap().unwrap();
    assert_eq!(pulse.unacked("retried"), 0);
}

/// A retry whose delay is up while the main queue is full (reject-publish)
/// stays in the retry queue until there is room, as RabbitMQ's at-least-once
/// dead-lettering keeps it; it is never dropped.
#[tokio::test(start_paused = true)]
async fn a_retry_waits_in_its_queue_while_the_main_queue_is_full() {
    let pulse = FakePulse::new();
    let consumer = pulse
        .consumer(hooks())
        .queue(
            QueueSpec::named("full")
                .max_length(1)
                .overflow(Overflow::RejectPublish),
        )
        .prefetch(1)
        .retry(RetryPolicy::new(2).delay(Duration::from_millis(50), Duration::from_millis(50)))
        .start()
        .await
        .unwrap();
    let stop = consumer.shutdown_handle();
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let held = gate.clone();
    let running = tokio::spawn(consumer.run(1, move |message: Message<Hook>| {
        let (seen_tx, held) = (seen_tx.clone(), held.clone());
        async move {
            let id = message.payload.hook_id.clone();
            let _ = seen_tx.send((id.clone(), message.attempt()));
            match (id.as_str(), message.attempt()) {
                ("a", 1) => Err(HandlerError::msg("not yet")),
                ("b", _) => {
                    held.notified().await;
                    Ok(())
                }
                _ => Ok::<(), HandlerError>(()),
            }
        }
    }));
    publish(&pulse, "a").await;
    assert_eq!(seen.recv().await, Some(("a".into(), 1)));
    // "b" holds the only handler; "c" fills the main queue.
    publish(&pulse, "b").await;
    assert_eq!(seen.recv().await, Some(("b".into(), 1)));
    publish(&pulse, "c").await;
    eventually("a is in its retry queue", || {
        pulse.queue_len("full/retry/50ms") == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pulse.queue_len("full"), 1, "c fills the main queue");
    assert_eq!(
        pulse.queue_len("full/retry/50ms"),
        1,
        "a waits, long past its delay, for room in the main queue"
    );
    gate.notify_one();
    assert_eq!(seen.recv().await, Some(("c".into(), 1)));
    assert_eq!(seen.recv().await, Some(("a".into(), 2)));
    stop.shutdown();
    running.await.unwrap().unwrap();
    assert_eq!(pulse.queue_len("full/retry/50ms"), 0);
    assert_eq!(pulse.queue_len("full/dead"), 0);
}

#[tokio::test]
async fn a_fake_message_records_its_ack_or_reject() {
    let binding = HookCreated {
        reserved: Some("a.b".into()),
    };
    let message = Message::fake(&binding, hook("x"));
    assert_eq!(message.exchange, HOOK_CREATED);
    assert_eq!(message.field("reserved"), Some("a.b"));
    let record = message.record();
    assert_eq!(record.outcome(), None);
    message.ack().await.unwrap();
    assert_eq!(record.outcome(), Some(Outcome::Acked));

    for requeue in [true, false] {
        let message = Message::fake(&HookCreated::default(), 1_u8);
        let record = message.record();
        message.reject(requeue).await.unwrap();
        assert_eq!(record.outcome(), Some(Outcome::Rejected { requeue }));
    }
}

#[tokio::test]
async fn consumers_of_one_named_queue_share_its_messages() {
    let pulse = FakePulse::new();
    let start = || {
        pulse
            .consumer(hooks())
            .queue(QueueSpec::named("shared"))
            .prefetch(1)
            .start()
    };
    let (mut first, mut second) = (start().await.unwrap(), start().await.unwrap());
    for id in ["1", "2", "3"] {
        publish(&pulse, id).await;
    }
    assert_eq!(next(&mut first).await.payload.hook_id, "1");
    assert_eq!(next(&mut second).await.payload.hook_id, "2");
    assert_eq!(pulse.queue_len("shared"), 1, "each holds its prefetch");
}

#[tokio::test]
async fn handler_mode_raises_the_prefetch_on_a_new_connection() {
    let pulse = FakePulse::new();
    let consumer = pulse
        .consumer(hooks())
        .queue(QueueSpec::named("raised"))
        .prefetch(1)
        .start()
        .await
        .unwrap();
    let stop = consumer.shutdown_handle();
    // Each handler waits for the other two: three must run at once.
    let all = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    let running = tokio::spawn(consumer.run(3, move |_: Message<Hook>| {
        let all = all.clone();
        async move {
            all.wait().await;
            Ok::<(), HandlerError>(())
        }
    }));
    for id in ["1", "2", "3"] {
        publish(&pulse, id).await;
    }
    eventually("three handled together", || {
        pulse.queue_len("raised") == 0 && pulse.unacked("raised") == 0
    })
    .await;
    stop.shutdown();
    running.await.unwrap().unwrap();
}
