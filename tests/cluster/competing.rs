//! Competing consumers: several consumers on one named queue share its
//! messages, each holding at most its prefetch unacknowledged.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pulse_binding::client::{Consumer, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};

use crate::support::{
    Published, cluster, config, consume, exclusive, fast_reconnect, publish_ids, unique, within,
};

const TOTAL: u64 = 6_000;
const PREFETCH: u16 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_on_one_queue_share_its_messages_each_within_its_prefetch() {
    let urls = cluster!();
    let _guard = exclusive().await;
    let exchange: Arc<str> = unique("exchange/pulse-binding-tests/cluster-compete").into();
    let queue = QueueSpec::named(unique("cluster-compete"));
    let start = || {
        Consumer::builder(
            config(&urls),
            Bindings::new().with(Binding::new(&*exchange, "cluster.#"), |v| v),
        )
        .queue(queue.clone())
        .prefetch(PREFETCH)
        .declare_exchanges(true)
        .reconnect(fast_reconnect())
        .start()
    };
    // Declare and bind the queue, then fill it while nobody consumes, so that
    // every consumer always has more waiting than its prefetch.
    start().await.expect("declare the queue").close().await;
    let publisher = Arc::new(
        Publisher::connect(config(&urls))
            .await
            .expect("publisher")
            .confirm_timeout(Duration::from_secs(10)),
    );
    let published = Arc::new(Published::default());
    within(
        120,
        "publishing",
        publish_ids(publisher, exchange.clone(), 0..TOTAL, 16, published.clone()),
    )
    .await;

    let (a, b, c) = tokio::join!(start(), start(), start());
    let consumers = [a, b, c].map(|c| c.expect("start a consumer"));
    let nodes: Vec<_> = consumers.iter().map(|c| c.node()).collect();
    // Each consumer stops when all have, between them, every message.
    let received = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for consumer in consumers {
        let received = received.clone();
        let mut mine = 0;
        tasks.push(tokio::spawn(consume(
            consumer,
            Some(usize::from(PREFETCH)),
            move |seen| {
                let new = seen.receipts.len() - mine;
                mine = seen.receipts.len();
                received.fetch_add(new, Ordering::SeqCst) + new >= TOTAL as usize
            },
        )));
    }

    let mut union = HashSet::new();
    let mut shares = Vec::new();
    for task in tasks {
        let (seen, consumer) = within(120, "consuming", task).await.expect("consumer task");
        for id in &seen.acked {
            assert!(union.insert(*id), "{id} was acknowledged twice");
        }
        shares.push(seen.acked.len());
        assert_eq!(consumer.reconnections(), 0);
        consumer.close().await;
    }
    eprintln!(
        "{} consumers on {nodes:?} acknowledged {shares:?} of {TOTAL}",
        shares.len()
    );
    assert_eq!(union, (0..TOTAL).collect(), "the union is every message");
    for share in &shares {
        assert!(
            *share as u64 * 5 >= TOTAL,
            "a consumer got {share} of {TOTAL}, under 20%: {shares:?}"
        );
    }
}
