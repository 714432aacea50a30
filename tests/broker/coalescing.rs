//! Coalesced acknowledgements never acknowledge a message the program did not
//! acknowledge: random acknowledge/reject/hold orders over 10,000 messages,
//! with every connection dropped in the middle, end with exactly the
//! acknowledged messages gone from the queue and every other one still there.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use pulse_binding::client::{Consumer, Message, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};

use crate::support::{
    broker, cleanup, config, exclusive, fast_reconnect, have_rabbitmqctl, rabbitmqctl, unique,
    within,
};

const MESSAGES: u64 = 10_000;
/// Deliveries handled before the consumer stops, the fault at half of them.
const HANDLED: u64 = 6_000;

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_acks_and_rejects_across_a_connection_loss_acknowledge_exactly_what_was_acked() {
    let url = broker!();
    let _guard = exclusive().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let exchange: Arc<str> = unique("exchange/pulse-binding-tests/coalesce").into();
    let spec = QueueSpec::named(unique("coalesce"));
    let queue = spec.full_name("guest").unwrap();
    let start = |spec: QueueSpec| {
        Consumer::builder(
            config(&url),
            Bindings::new().with(Binding::new(&*exchange, "#"), |v: serde_json::Value| {
                v.as_u64().expect("an id")
            }),
        )
        .queue(spec)
        .prefetch(100)
        .declare_exchanges(true)
        .reconnect(fast_reconnect())
        .start()
    };
    start(spec.clone()).await.expect("declare").close().await;
    let publisher = Arc::new(Publisher::connect(config(&url)).await.expect("publisher"));
    let mut publishing = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let (publisher, exchange) = (publisher.clone(), exchange.clone());
        publishing.spawn(async move {
            for id in (worker..MESSAGES).step_by(16) {
                publisher
                    .publish_raw(&exchange, "n", id.to_string().as_bytes())
                    .await
                    .unwrap_or_else(|e| panic!("publish {id}: {e}"));
            }
        });
    }
    within(120, "publishing", async {
        while let Some(done) = publishing.join_next().await {
            done.expect("publisher");
        }
    })
    .await;

    let mut consumer = start(spec.clone()).await.expect("consumer");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Acknowledged (as far as `ack` could tell) around the fault, and well
    // after it, once the lost connection's messages are long handled.
    let (mut acked_early, mut acked_late) = (HashSet::new(), HashSet::new());
    let mut held: Vec<Message<u64>> = Vec::new();
    let mut later: Vec<Message<u64>> = Vec::new();
    within(120, "handling the messages", async {
        for n in 0..HANDLED {
            if n == HANDLED / 2 {
                rabbitmqctl(&["close_all_connections", "coalescing test"])
                    .await
                    .expect("close all connections");
            }
            let message = consumer
                .recv()
                .await
                .expect("the stream goes on")
                .expect("a message");
            let late = n > HANDLED / 2 + 1_000;
            let acked = if late {
                &mut acked_late
            } else {
                &mut acked_early
            };
            match rng.next() % 10 {
                0..=4 => {
                    let id = message.payload;
                    if message.ack().await.is_ok() {
                        acked.insert(id);
                    }
                }
                5 => {
                    let _ = message.reject(true).await;
                }
                6 | 7 => later.push(message),
                _ => held.push(message),
            }
            // Acknowledge the waiting ones out of order, in a random order.
            if later.len() >= 8 {
                while !later.is_empty() {
                    let i = (rng.next() % later.len() as u64) as usize;
                    let message = later.swap_remove(i);
                    let id = message.payload;
                    let acked = if late {
                        &mut acked_late
                    } else {
                        &mut acked_early
                    };
                    if message.ack().await.is_ok() {
                        acked.insert(id);
                    }
                }
            }
            // Give held ones back now and then, so the prefetch never fills.
            if held.len() >= 40 {
                for message in held.drain(..) {
                    let _ = message.reject(true).await;
                }
            }
        }
    })
    .await;
    drop(held);
    drop(later);
    let report = consumer.shutdown(Duration::from_secs(5)).await;
    assert!(report.stats.reconnections >= 1, "{report:?}");

    // What is left in the queue.
    let mut rest = start(spec).await.expect("second consumer");
    let mut remaining = HashSet::new();
    let acked: HashSet<u64> = acked_early.union(&acked_late).copied().collect();
    within(120, "draining the queue", async {
        loop {
            let item = tokio::time::timeout(Duration::from_secs(2), rest.recv()).await;
            let Ok(item) = item else { break };
            let message = item.expect("the stream goes on").expect("a message");
            assert!(
                remaining.insert(message.payload),
                "{} twice",
                message.payload
            );
            message.ack().await.expect("ack");
        }
    })
    .await;
    rest.close().await;

    let all: HashSet<u64> = (0..MESSAGES).collect();
    let union: HashSet<u64> = acked.union(&remaining).copied().collect();
    assert_eq!(
        union, all,
        "every message not acknowledged is still in the queue"
    );
    let back: HashSet<u64> = acked.intersection(&remaining).copied().collect();
    assert!(
        back.is_disjoint(&acked_late),
        "an acknowledgement on the new connection was lost: {back:?} {report:?}"
    );
    // Acknowledged but back: those the loss took before they were flushed
    // (reported), and at most a flush's worth written as the connection died.
    assert!(
        (back.len() as u64) <= report.stats.lost_acks + 100,
        "{} back, {report:?}",
        back.len()
    );
    assert!(acked.len() as u64 > HANDLED / 3, "{}", acked.len());
    if let Ok(publisher) = Arc::try_unwrap(publisher) {
        publisher.close().await;
    }
    cleanup(&url, &[&queue], &[&exchange]).await;
}
