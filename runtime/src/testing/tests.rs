//! The fake broker's own behaviour, through the client's own consumer and
//! publisher. What it shares with RabbitMQ (routing, CC routes, settling,
//! the prefetch, limits, disconnects, retries) is checked on both by the
//! conformance suite, `tests/broker/conformance/`.

use std::time::Duration;

use super::{FakePulse, Outcome};
use crate::Bindings;
use crate::client::{HandlerError, Message, Overflow, QueueSpec, RetryPolicy};
use crate::hooks::{HookChangedMessage, HookCreated};

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
