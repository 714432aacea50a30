//! The broker drops every connection, or restarts, in the middle of a stream:
//! the consumer reconnects and goes on, every message published before, during
//! and after arrives (exactly once after de-duplicating redeliveries), and the
//! messages held unacknowledged across the break come again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pulse_binding::client::{AckError, Consumer, Message, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::support::{
    StartAppOnDrop, broker, cleanup, config, exclusive, fast_reconnect, have_rabbitmqctl,
    rabbitmqctl, unique, within,
};

const BEFORE: std::ops::Range<u64> = 0..200;
const DURING: std::ops::Range<u64> = 200..400;
const AFTER: std::ops::Range<u64> = 400..600;
const TOTAL: usize = 600;
/// The consumer stops to let the fault happen once it has this many messages,
/// some of them held without acknowledgement.
const PAUSE_AT: usize = 105;

enum Fault {
    CloseAllConnections,
    RestartApp,
}

/// Publishes each id until the broker confirms it, `workers` at a time;
/// records the ids that needed another try (they may arrive twice).
async fn publish_ids(
    publisher: Arc<Publisher>,
    exchange: Arc<str>,
    ids: std::ops::Range<u64>,
    retried: Arc<Mutex<HashSet<u64>>>,
) {
    const WORKERS: u64 = 8;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let (publisher, exchange, retried) = (publisher.clone(), exchange.clone(), retried.clone());
        let ids = ids.clone().filter(move |id| id % WORKERS == worker);
        tasks.spawn(async move {
            for id in ids {
                let body = serde_json::to_vec(&json!({ "id": id })).unwrap();
                let mut attempts = 0;
                while let Err(e) = publisher
                    .publish_raw(&exchange, &format!("fault.{id}"), &body)
                    .await
                {
                    attempts += 1;
                    retried.lock().unwrap().insert(id);
                    assert!(attempts < 600, "publishing {id} keeps failing: {e}");
                    // Pace the retries while the broker is away.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("publisher task");
    }
}

/// What the consumer saw.
#[derive(Default)]
struct Seen {
    /// Receipts per id.
    receipts: HashMap<u64, u32>,
    /// Ids received with `redelivered` set.
    redelivered: HashSet<u64>,
    /// Ids whose acknowledgement failed because the connection was lost.
    lost_acks: HashSet<u64>,
    /// Of those, the ones not received again yet.
    awaiting_redelivery: HashSet<u64>,
}

fn id_of(message: &Message<Value>) -> u64 {
    message.payload["id"].as_u64().expect("an id")
}

/// Consumes until every id has come and every message whose acknowledgement
/// was lost has come again. Acknowledges in batches of 10, so some messages
/// are always held; at `PAUSE_AT` it says so on `paused`, waits for the
/// consumer to reconnect, and only then acknowledges what it holds.
async fn consume(
    mut consumer: Consumer<Value>,
    paused: oneshot::Sender<()>,
) -> (Seen, Consumer<Value>) {
    let mut seen = Seen::default();
    let mut held: Vec<Message<Value>> = Vec::new();
    let mut paused = Some(paused);
    while seen.receipts.len() < TOTAL || !seen.awaiting_redelivery.is_empty() || !held.is_empty() {
        if seen.receipts.len() >= PAUSE_AT
            && !held.is_empty()
            && let Some(paused) = paused.take()
        {
            let before = consumer.reconnections();
            paused.send(()).expect("the test waits");
            assert!(
                consumer.wait_reconnections(before + 1).await,
                "the consumer stopped instead of reconnecting"
            );
            // Every held message came on the lost connection.
            for message in held.drain(..) {
                let id = id_of(&message);
                assert!(!message.acker.is_current());
                match message.ack().await {
                    Err(AckError::ConnectionLost { .. }) => {
                        seen.lost_acks.insert(id);
                        seen.awaiting_redelivery.insert(id);
                    }
                    other => panic!("ack of {id} across a reconnection: {other:?}"),
                }
            }
            continue;
        }
        if held.len() >= 10 || (!held.is_empty() && seen.receipts.len() == TOTAL) {
            for message in held.drain(..) {
                let id = id_of(&message);
                match message.ack().await {
                    Ok(()) => {}
                    Err(AckError::ConnectionLost { .. }) => {
                        seen.lost_acks.insert(id);
                        seen.awaiting_redelivery.insert(id);
                    }
                    Err(e) => panic!("ack of {id}: {e}"),
                }
            }
            continue;
        }
        let message = match consumer.recv().await {
            Some(Ok(message)) => message,
            Some(Err(e)) => panic!("the stream yielded an error: {e}"),
            None => panic!("the stream ended"),
        };
        let id = id_of(&message);
        *seen.receipts.entry(id).or_default() += 1;
        if message.redelivered {
            seen.redelivered.insert(id);
        }
        seen.awaiting_redelivery.remove(&id);
        held.push(message);
    }
    (seen, consumer)
}

async fn every_message_arrives_once_across(fault: Fault, label: &str) {
    let url = broker!();
    let _guard = exclusive().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let exchange: Arc<str> = unique(&format!("exchange/pulse-binding-tests/{label}")).into();
    let queue = QueueSpec::named(unique(label)).quorum(true);
    let queue_name = queue.full_name("guest").unwrap();
    let consumer = Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new(&*exchange, "fault.#"), |v| v),
    )
    .queue(queue)
    .prefetch(20)
    .declare_exchanges(true)
    .reconnect(fast_reconnect())
    .start()
    .await
    .expect("start the consumer");
    let publisher = Arc::new(
        Publisher::connect(config(&url))
            .await
            .expect("publisher")
            .confirm_timeout(Duration::from_secs(5)),
    );
    let retried = Arc::new(Mutex::new(HashSet::new()));

    within(
        60,
        "publishing before the fault",
        publish_ids(publisher.clone(), exchange.clone(), BEFORE, retried.clone()),
    )
    .await;
    let (paused_tx, paused_rx) = oneshot::channel();
    let consuming = tokio::spawn(consume(consumer, paused_tx));
    within(30, "the consumer reaching the pause", paused_rx)
        .await
        .expect("the consumer pauses");

    let during = tokio::spawn(publish_ids(
        publisher.clone(),
        exchange.clone(),
        DURING,
        retried.clone(),
    ));
    let mut restore = StartAppOnDrop(false);
    match fault {
        Fault::CloseAllConnections => {
            rabbitmqctl(&["close_all_connections", "pulse-binding fault test"])
                .await
                .expect("close all connections");
        }
        Fault::RestartApp => {
            restore.0 = true;
            rabbitmqctl(&["stop_app"]).await.expect("stop_app");
            rabbitmqctl(&["start_app"]).await.expect("start_app");
            restore.0 = false;
        }
    }
    within(90, "publishing during the fault", during)
        .await
        .expect("publisher task");
    within(
        60,
        "publishing after the fault",
        publish_ids(publisher.clone(), exchange.clone(), AFTER, retried.clone()),
    )
    .await;

    let (seen, consumer) = within(120, "receiving every message", consuming)
        .await
        .expect("the consumer task");
    let retried = retried.lock().unwrap().clone();

    let ids: HashSet<u64> = seen.receipts.keys().copied().collect();
    let expected: HashSet<u64> = BEFORE.chain(DURING).chain(AFTER).collect();
    assert_eq!(ids, expected, "every message, and only those, arrived");
    for (id, count) in &seen.receipts {
        if *count > 1 {
            assert!(
                seen.redelivered.contains(id) || retried.contains(id),
                "{id} arrived {count} times, neither redelivered nor published again"
            );
        }
    }
    assert!(
        !seen.lost_acks.is_empty(),
        "messages were held across the break"
    );
    for id in &seen.lost_acks {
        assert!(
            seen.receipts[id] >= 2 && seen.redelivered.contains(id),
            "{id}, unacknowledged when the connection broke, came again redelivered"
        );
    }
    assert!(consumer.reconnections() >= 1);
    assert!(consumer.is_connected());
    consumer.close().await;
    if let Ok(publisher) = Arc::try_unwrap(publisher) {
        publisher.close().await;
    }
    cleanup(&url, &[&queue_name], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_closing_every_connection_mid_stream_loses_nothing() {
    every_message_arrives_once_across(Fault::CloseAllConnections, "close-all").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_restarting_mid_stream_loses_nothing() {
    every_message_arrives_once_across(Fault::RestartApp, "restart").await;
}
