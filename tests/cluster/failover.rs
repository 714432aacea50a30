//! A node dies (`kill -9`) in the middle of a stream of confirmed publishes to
//! a quorum queue: the consumer or publisher on it goes on from another node
//! within seconds, and every confirmed message arrives. The node coming back
//! changes nothing for the consumers.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pulse_binding::client::{Consumer, ConsumerEvent, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};
use serde_json::Value;

use crate::support::{
    Killed, Published, Seen, cluster, config, confirmed_at_least, consume, exclusive,
    fast_reconnect, number_of, others, publish_ids, unique, within,
};

const TOTAL: u64 = 5_000;
/// The node dies once this many are confirmed.
const KILL_AT: u64 = 2_000;
const WORKERS: u64 = 16;
/// The longest a consumer or publisher may take to go on from another node.
const RESUME: Duration = Duration::from_secs(10);

async fn consumer_on(urls: &[String], exchange: &str, queue: QueueSpec) -> Consumer<Value> {
    Consumer::builder(
        config(urls),
        Bindings::new().with(Binding::new(exchange, "cluster.#"), |v| v),
    )
    .queue(queue)
    .prefetch(50)
    .declare_exchanges(true)
    .reconnect(fast_reconnect())
    .start()
    .await
    .expect("start the consumer")
}

async fn publisher_on(urls: &[String]) -> Arc<Publisher> {
    Arc::new(
        Publisher::connect(config(urls))
            .await
            .expect("publisher")
            .confirm_timeout(Duration::from_secs(5)),
    )
}

/// Every id published arrived; ids that came more than once were redelivered
/// or published again. Returns how many deliveries were duplicates.
fn check_all_arrived(seen: &Seen, published: &Published, total: u64) -> u64 {
    let ids: HashSet<u64> = seen.receipts.keys().copied().collect();
    let missing: Vec<u64> = (0..total).filter(|id| !ids.contains(id)).collect();
    let retried = published.retried.lock().unwrap();
    let retried_missing = missing.iter().filter(|id| retried.contains(id)).count();
    assert!(
        missing.is_empty(),
        "{} confirmed but never delivered ({retried_missing} of them published more than once), such as {:?}",
        missing.len(),
        &missing[..missing.len().min(20)]
    );
    assert_eq!(ids.len() as u64, total, "only the ids published arrived");
    let mut duplicates = 0;
    for (id, count) in &seen.receipts {
        if *count > 1 {
            duplicates += u64::from(*count - 1);
            assert!(
                seen.redelivered_ids.contains(id) || retried.contains(id),
                "{id} arrived {count} times, neither redelivered nor published again"
            );
        }
    }
    duplicates
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumers_node_dying_mid_stream_loses_no_confirmed_message() {
    let urls = cluster!();
    let _guard = exclusive().await;
    let exchange: Arc<str> = unique("exchange/pulse-binding-tests/cluster-consumer").into();
    let queue = QueueSpec::named(unique("cluster-consumer"));
    let consumer = consumer_on(&urls, &exchange, queue.clone()).await;
    let node = consumer.node().expect("connected");
    let mut events = consumer.events();
    // The publisher stays away from the node that dies.
    let publisher = publisher_on(&others(&urls, &node)).await;
    let published = Arc::new(Published::default());
    let publishing = tokio::spawn(publish_ids(
        publisher.clone(),
        exchange.clone(),
        0..TOTAL,
        WORKERS,
        published.clone(),
    ));
    // Stops at the deadline too, so that what never came is named below.
    let deadline = Instant::now() + Duration::from_secs(180);
    let consuming = tokio::spawn(consume(consumer, None, move |seen| {
        seen.receipts.len() as u64 == TOTAL || Instant::now() > deadline
    }));

    within(
        60,
        "the first confirms",
        confirmed_at_least(&published, KILL_AT),
    )
    .await;
    // Past events (the first `Connected`) are not the reconnection.
    while events.try_recv().is_ok() {}
    let killed_at = Instant::now();
    let killed = Killed::kill(&number_of(&urls, &node)).await;
    let (again, url) = within(30, "the consumer to reconnect", async {
        loop {
            match events.recv().await {
                Ok(ConsumerEvent::Connected { node, url, .. }) => return (node, url),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("the consumer's events ended: {e}"),
            }
        }
    })
    .await;
    assert_ne!(again, node, "the consumer went to another node");
    assert!(url.contains(&again), "{url} is the URL of {again}");

    within(120, "publishing", publishing)
        .await
        .expect("publisher task");
    let (seen, consumer) = within(240, "receiving every message", consuming)
        .await
        .expect("the consumer task");
    let resumed = seen
        .first_after_reconnect
        .expect("messages after the reconnection")
        - killed_at;
    let duplicates = check_all_arrived(&seen, &published, TOTAL);
    eprintln!(
        "consumer's node killed: consuming again from {again} after {resumed:?}; {} deliveries marked redelivered, {duplicates} duplicates of {TOTAL}; \
         {} publishes retried",
        seen.redelivered,
        published.failures.load(Ordering::Relaxed)
    );
    assert!(resumed < RESUME, "consuming again after {resumed:?}");
    assert_eq!(consumer.node().as_deref(), Some(again.as_str()));
    assert!(consumer.reconnections() >= 1);
    consumer.close().await;
    killed.restart().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publishers_node_dying_mid_stream_loses_no_confirmed_message() {
    let urls = cluster!();
    let _guard = exclusive().await;
    let exchange: Arc<str> = unique("exchange/pulse-binding-tests/cluster-publisher").into();
    let queue = QueueSpec::named(unique("cluster-publisher"));
    let publisher = publisher_on(&urls).await;
    let node = publisher.node().expect("connected");
    // The consumer stays away from the node that dies.
    let consumer = consumer_on(&others(&urls, &node), &exchange, queue).await;
    let published = Arc::new(Published::default());
    let publishing = tokio::spawn(publish_ids(
        publisher.clone(),
        exchange.clone(),
        0..TOTAL,
        WORKERS,
        published.clone(),
    ));
    // Stops at the deadline too, so that what never came is named below.
    let deadline = Instant::now() + Duration::from_secs(180);
    let consuming = tokio::spawn(consume(consumer, None, move |seen| {
        seen.receipts.len() as u64 == TOTAL || Instant::now() > deadline
    }));

    within(
        60,
        "the first confirms",
        confirmed_at_least(&published, KILL_AT),
    )
    .await;
    *published.leaving.lock().unwrap() = Some(node.clone());
    let killed_at = Instant::now();
    let killed = Killed::kill(&number_of(&urls, &node)).await;
    within(120, "publishing", publishing)
        .await
        .expect("publisher task");
    let resumed = published
        .first_elsewhere
        .lock()
        .unwrap()
        .expect("a publish confirmed on another node")
        - killed_at;
    let now_on = publisher.node().expect("connected");
    assert_ne!(now_on, node, "the publisher went to another node");
    assert!(
        published.failures.load(Ordering::Relaxed) > 0,
        "publishes on the dead node failed and were retried"
    );

    let (seen, consumer) = within(240, "receiving every message", consuming)
        .await
        .expect("the consumer task");
    let duplicates = check_all_arrived(&seen, &published, TOTAL);
    eprintln!(
        "publisher's node killed: publishing again on {now_on} after {resumed:?}; {} publishes \
         retried, {duplicates} duplicates of {TOTAL}",
        published.failures.load(Ordering::Relaxed)
    );
    assert!(resumed < RESUME, "publishing again after {resumed:?}");
    assert_eq!(
        consumer.reconnections(),
        0,
        "the consumer was not disturbed"
    );
    consumer.close().await;
    killed.restart().await;
}

/// Reads both consumers, acknowledging each message, until `total` came.
async fn read_both(
    first: &mut Consumer<Value>,
    second: &mut Consumer<Value>,
    total: usize,
) -> [Seen; 2] {
    let mut seen = [Seen::default(), Seen::default()];
    while seen.iter().map(|s| s.receipts.len()).sum::<usize>() < total {
        for (consumer, seen) in [&mut *first, &mut *second].into_iter().zip(seen.iter_mut()) {
            let Ok(item) = tokio::time::timeout(Duration::from_millis(20), consumer.recv()).await
            else {
                continue;
            };
            let message = item.expect("the stream goes on").expect("a message");
            let id = message.payload["id"].as_u64().expect("an id");
            *seen.receipts.entry(id).or_default() += 1;
            seen.redelivered += u64::from(message.redelivered);
            message.ack().await.expect("ack on a steady connection");
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_rejoining_changes_nothing_for_the_consumers() {
    const HALF: u64 = 1_000;
    let urls = cluster!();
    let _guard = exclusive().await;
    let exchange: Arc<str> = unique("exchange/pulse-binding-tests/cluster-rejoin").into();
    let queue = QueueSpec::named(unique("cluster-rejoin"));
    // One consumer on the node that dies, one on another.
    let mut first = consumer_on(&urls, &exchange, queue.clone()).await;
    let doomed = first.node().expect("connected");
    let mut second = consumer_on(&others(&urls, &doomed), &exchange, queue).await;
    let killed = Killed::kill(&number_of(&urls, &doomed)).await;
    within(30, "the consumer to fail over", first.wait_reconnections(1)).await;
    let nodes = [first.node(), second.node()];
    assert!(
        nodes
            .iter()
            .all(|n| n.is_some() && n.as_deref() != Some(&*doomed))
    );
    let reconnections = [first.reconnections(), second.reconnections()];
    let mut events = [first.events(), second.events()];
    for receiver in &mut events {
        while receiver.try_recv().is_ok() {}
    }

    // Messages flow while the node comes back, and after.
    let publisher = publisher_on(&others(&urls, &doomed)).await;
    let published = Arc::new(Published::default());
    let publishing = tokio::spawn({
        let (publisher, exchange, published) =
            (publisher.clone(), exchange.clone(), published.clone());
        async move {
            publish_ids(
                publisher.clone(),
                exchange.clone(),
                0..HALF,
                2,
                published.clone(),
            )
            .await;
            killed.restart().await;
            publish_ids(publisher, exchange, HALF..2 * HALF, 2, published).await;
        }
    });
    let seen = within(
        180,
        "every message",
        read_both(&mut first, &mut second, 2 * HALF as usize),
    )
    .await;
    within(60, "publishing", publishing)
        .await
        .expect("publisher task");

    let mut union: HashSet<u64> = HashSet::new();
    for seen in &seen {
        for (id, count) in &seen.receipts {
            assert_eq!(*count, 1, "{id} came {count} times");
            assert!(union.insert(*id), "{id} came to both consumers");
        }
        assert_eq!(seen.redelivered, 0, "nothing was redelivered");
    }
    assert_eq!(union, (0..2 * HALF).collect());
    assert_eq!([first.node(), second.node()], nodes, "nobody moved");
    assert_eq!(
        [first.reconnections(), second.reconnections()],
        reconnections,
        "nobody reconnected"
    );
    for receiver in &mut events {
        while let Ok(event) = receiver.try_recv() {
            assert!(
                !matches!(
                    event,
                    ConsumerEvent::Disconnected { .. } | ConsumerEvent::Connected { .. }
                ),
                "{event:?}"
            );
        }
    }
    first.close().await;
    second.close().await;
}
