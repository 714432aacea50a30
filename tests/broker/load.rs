//! 100,000 small messages through one consumer with a prefetch, every one counted.

use std::sync::Arc;
use std::time::Instant;

use pulse_binding::client::{Consumer, Publisher};
use pulse_binding::{Binding, Bindings};

use crate::support::{broker, cleanup, config, shared, unique, within};

const MESSAGES: u64 = 100_000;
const PUBLISHERS: u64 = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_messages_all_arrive_once_with_prefetch() {
    let url = broker!();
    let _guard = shared().await;
    let exchange: Arc<str> = unique("exchange/pulse-binding-tests/load").into();
    let mut consumer = Consumer::builder(
        config(&url),
        Bindings::new().with(
            Binding::new(&*exchange, "load.*"),
            |v: serde_json::Value| v.as_u64().expect("a number"),
        ),
    )
    .prefetch(200)
    .declare_exchanges(true)
    .start()
    .await
    .expect("start the consumer");
    let publisher = Arc::new(
        Publisher::connect(config(&url))
            .await
            .expect("publisher")
            .declare_exchanges(true),
    );

    let started = Instant::now();
    let mut publishing = tokio::task::JoinSet::new();
    for worker in 0..PUBLISHERS {
        let (publisher, exchange) = (publisher.clone(), exchange.clone());
        publishing.spawn(async move {
            for id in (worker..MESSAGES).step_by(PUBLISHERS as usize) {
                publisher
                    .publish_raw(&exchange, "load.n", id.to_string().as_bytes())
                    .await
                    .unwrap_or_else(|e| panic!("publish {id}: {e}"));
            }
        });
    }

    let mut seen = vec![false; MESSAGES as usize];
    let mut count = 0;
    within(240, "receiving 100,000 messages", async {
        while count < MESSAGES {
            let message = match consumer.recv().await {
                Some(Ok(message)) => message,
                Some(Err(e)) => panic!("after {count} messages: {e}"),
                None => panic!("the stream ended after {count} messages"),
            };
            let id = message.payload as usize;
            assert!(!seen[id], "{id} arrived twice");
            assert!(!message.redelivered);
            seen[id] = true;
            count += 1;
            message.ack().await.expect("ack");
        }
    })
    .await;
    while let Some(result) = publishing.join_next().await {
        result.expect("publisher task");
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{MESSAGES} messages published and consumed in {elapsed:.1?} ({:.0} msg/s)",
        MESSAGES as f64 / elapsed.as_secs_f64()
    );
    assert!(seen.iter().all(|s| *s));
    consumer.close().await;
    cleanup(&url, &[], &[&exchange]).await;
}
