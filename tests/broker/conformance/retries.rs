//! Handler mode's retries: a failing message waits in its retry queue, comes
//! back with its attempt number, and after the last attempt lands in the
//! dead-letter queue.

use std::time::Duration;

use pulse_binding::client::{HandlerError, Message, RetryPolicy};
use serde_json::Value;

use super::{Rig, conformance, json_bindings, publish};
use crate::support::within;

conformance!(handler_mode_retries_through_the_retry_queue_then_dead_letters);

async fn handler_mode_retries_through_the_retry_queue_then_dead_letters(rig: &Rig) {
    let exchange = rig.exchange();
    let queue = rig.unique("retried");
    let consumer = rig
        .consumer(&queue, json_bindings(&exchange, &["#"]))
        .retry(RetryPolicy::new(3).delay(Duration::from_millis(20), Duration::from_millis(40)))
        .start()
        .await
        .unwrap();
    let stop = consumer.shutdown_handle();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let running = tokio::spawn(consumer.run(4, move |message: Message<Value>| {
        let seen_tx = seen_tx.clone();
        async move {
            let id = message.payload["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let attempt = message.attempt();
            let _ = seen_tx.send((id.clone(), attempt, message.routes.clone()));
            match id.as_str() {
                "flaky" if attempt < 2 => Err(HandlerError::msg("not yet")),
                "broken" => Err(HandlerError::msg("never")),
                _ => Ok::<(), HandlerError>(()),
            }
        }
    }));
    let publisher = rig.publisher().await;
    publish(&publisher, &exchange, "k", "flaky", &["index.r"]).await;
    publish(&publisher, &exchange, "k", "broken", &[]).await;
    let mut attempts = Vec::new();
    while attempts.len() < 5 {
        let attempt = within(10, "an attempt", seen.recv()).await;
        attempts.push(attempt.expect("running"));
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
        ],
        "each attempt once, with its routes"
    );
    let dead = format!("{queue}/dead");
    assert_eq!(rig.ready(&dead, 1).await, 1, "the broken one is dead");
    stop.shutdown();
    within(30, "the handlers to stop", running)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rig.ready(&queue, 0).await, 0);
    assert_eq!(rig.unacked(&queue, 0).await, 0);
    publisher.close().await;
    let retry_queues = [20, 40].map(|ms| format!("{queue}/retry/{ms}ms"));
    rig.cleanup(
        &[&queue, &dead, &retry_queues[0], &retry_queues[1]],
        &[&exchange],
    )
    .await;
}
