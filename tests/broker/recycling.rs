//! Connection recycling under a steady stream: make before break, nothing
//! lost, nothing acknowledged delivered again, one connection at the end.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use pulse_binding::client::{Consumer, ConsumerEvent, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use crate::support::{
    broker, cleanup, config, connections_named, have_rabbitmqctl, shared, unique, within,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recycling_every_two_seconds_loses_nothing_and_leaves_one_connection() {
    let url = broker!();
    let _guard = shared().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let exchange = unique("exchange/pulse-binding-tests/recycle");
    let spec = QueueSpec::named(unique("recycle"));
    let queue = spec.full_name("guest").unwrap();
    let name = unique("recycling-test");
    let mut consumer = Consumer::builder(
        config(&url).with_connection_name(&name),
        Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v),
    )
    .queue(spec)
    .prefetch(20)
    .declare_exchanges(true)
    .recycle_interval(Duration::from_secs(2))
    .start()
    .await
    .expect("consumer");
    let mut events = consumer.events();

    // A steady stream for 20 s.
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    let mut publishing = {
        let exchange = exchange.clone();
        tokio::spawn(async move {
            let mut id = 0u64;
            let until = tokio::time::Instant::now() + Duration::from_secs(20);
            while tokio::time::Instant::now() < until {
                let body = serde_json::to_vec(&json!({ "id": id })).unwrap();
                publisher
                    .publish_raw(&exchange, "x", &body)
                    .await
                    .expect("publish");
                id += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            publisher.close().await;
            id
        })
    };

    let mut receipts: HashMap<u64, u32> = HashMap::new();
    let mut acked: HashSet<u64> = HashSet::new();
    let mut published = None;
    loop {
        if let Some(total) = published
            && acked.len() as u64 == total
        {
            break;
        }
        if published.is_none() && publishing.is_finished() {
            published = Some((&mut publishing).await.expect("publisher task"));
            continue;
        }
        let item = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await;
        let Ok(item) = item else { continue };
        let message = item.expect("the stream goes on").expect("a message");
        let id = message.payload["id"].as_u64().unwrap();
        *receipts.entry(id).or_default() += 1;
        assert!(
            !acked.contains(&id),
            "{id} was acknowledged, yet delivered again (redelivered: {})",
            message.redelivered
        );
        message
            .ack()
            .await
            .expect("ack on the connection it came on");
        acked.insert(id);
    }
    let total = published.expect("published");
    assert!(total > 500, "a steady stream: {total}");
    assert_eq!(acked, (0..total).collect::<HashSet<_>>());
    let stats = consumer.stats();
    assert!(stats.recycled >= 8, "{stats:?}");
    assert_eq!(stats.reconnections, 0, "{stats:?}");
    assert_eq!(stats.acked, total, "{stats:?}");
    let mut recycled = 0;
    while let Ok(event) = events.try_recv() {
        if event == ConsumerEvent::Recycled {
            recycled += 1;
        }
    }
    assert_eq!(recycled, stats.recycled);

    // Once the old connections are drained, one is left.
    let prefix = format!("{name} consumer");
    within(10, "the recycled connections to close", async {
        while connections_named(&prefix).await != 1 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    consumer.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}
