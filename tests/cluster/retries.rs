//! Handler mode's retries through a node's death: the node where a
//! handler-mode consumer's queues were declared is killed with `kill -9`
//! while the consumer, on another node, goes on handling messages, a tenth of
//! which fail their first attempt and are retried. Every confirmed message is
//! still handled: the retry hop loses nothing.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pulse_binding::client::{
    Consumer, HandlerError, Message, Publisher, QueueSpec, RetryPolicy, dead_letters,
};
use pulse_binding::{Binding, Bindings};
use serde_json::Value;

use crate::support::{
    Killed, Published, cluster, config, confirmed_at_least, exclusive, fast_reconnect, number_of,
    others, publish_ids, unique, within,
};

const TOTAL: u64 = 3_000;
/// The node dies once this many are confirmed.
const KILL_AT: u64 = 1_000;
const WORKERS: u64 = 16;

/// What the handlers saw: each id's attempts, and the ids handled `Ok`.
#[derive(Default)]
struct Handled {
    attempts: HashMap<u64, Vec<u32>>,
    ok: HashMap<u64, u32>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_lose_nothing_when_the_retry_queues_node_is_killed() {
    let urls = cluster!();
    let _guard = exclusive().await;
    let exchange: Arc<str> = unique("exchange/pulse-binding-tests/cluster-retries").into();
    let spec = QueueSpec::named(unique("cluster-retries"));
    let bindings = || Bindings::new().with(Binding::new(&*exchange, "cluster.#"), |v: Value| v);
    let builder = |urls: &[String]| {
        Consumer::builder(config(urls), bindings())
            .queue(spec.clone())
            .declare_exchanges(true)
            .reconnect(fast_reconnect())
            .retry(RetryPolicy::new(6).delay(Duration::from_millis(100), Duration::from_secs(1)))
    };
    // The queues are declared from node 1, so they live there (a classic
    // queue) or are led from there (a quorum queue); the consumer and the
    // publisher then work from the other nodes, and node 1 dies under them.
    let home = config(&urls).nodes()[0].clone();
    let first = builder(&urls[..1])
        .start()
        .await
        .expect("declare from node 1");
    assert_eq!(first.node().as_deref(), Some(home.as_str()));
    first.close().await;
    let consumer = builder(&others(&urls, &home))
        .start()
        .await
        .expect("start the consumer");
    let stop = consumer.shutdown_handle();
    let handled = Arc::new(Mutex::new(Handled::default()));
    let seen = handled.clone();
    // Every tenth id fails its first attempt, so retries run all along.
    let running = tokio::spawn(consumer.run(16, move |message: Message<Value>| {
        let id = message.payload["id"].as_u64().expect("an id");
        let attempt = message.attempt();
        let mut seen = seen.lock().unwrap();
        seen.attempts.entry(id).or_default().push(attempt);
        let result = if id % 10 == 0 && attempt == 1 {
            Err(HandlerError::msg("first attempts of every tenth id fail"))
        } else {
            *seen.ok.entry(id).or_default() += 1;
            Ok(())
        };
        async move { result }
    }));

    let publisher = Arc::new(
        Publisher::connect(config(&others(&urls, &home)))
            .await
            .expect("publisher")
            .confirm_timeout(Duration::from_secs(5)),
    );
    let published = Arc::new(Published::default());
    let publishing = tokio::spawn(publish_ids(
        publisher.clone(),
        exchange.clone(),
        0..TOTAL,
        WORKERS,
        published.clone(),
    ));
    within(
        60,
        "the first confirms",
        confirmed_at_least(&published, KILL_AT),
    )
    .await;
    let killed = Killed::kill(&number_of(&urls, &home)).await;
    within(120, "publishing", publishing)
        .await
        .expect("publisher task");
    // Retries go on while the node is down; then it comes back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    killed.restart().await;

    // A lost message never comes: give up waiting after two minutes.
    let all_ok = || handled.lock().unwrap().ok.len() as u64 == TOTAL;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !all_ok() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    {
        let handled = handled.lock().unwrap();
        let lost: Vec<u64> = (0..TOTAL)
            .filter(|id| !handled.ok.contains_key(id))
            .collect();
        assert!(
            lost.is_empty(),
            "{} confirmed message(s) never handled, such as {:?}",
            lost.len(),
            &lost[..lost.len().min(20)]
        );
    }
    stop.shutdown();
    within(60, "the handlers to stop", running)
        .await
        .expect("the consumer task")
        .expect("run");

    let handled = handled.lock().unwrap();
    let retried = handled
        .attempts
        .iter()
        .filter(|(_, attempts)| attempts.contains(&2))
        .count();
    let expected_retried = TOTAL.div_ceil(10) as usize;
    eprintln!(
        "retry queues' node killed: {} of {TOTAL} handled, {retried} retried ({expected_retried} failed a first attempt), \
         {} publishes retried",
        handled.ok.len(),
        published.failures.load(Ordering::Relaxed)
    );
    for id in (0..TOTAL).step_by(10) {
        let attempts = &handled.attempts[&id];
        assert!(
            attempts.contains(&1) && attempts.contains(&2),
            "{id} failed once, then came back as attempt 2: {attempts:?}"
        );
    }
    let letters = dead_letters::read(&config(&urls), &spec, 10)
        .await
        .expect("read the dead letters");
    assert!(letters.is_empty(), "nothing failed for good: {letters:?}");
    publisher_close(publisher).await;
}

async fn publisher_close(publisher: Arc<Publisher>) {
    if let Ok(publisher) = Arc::try_unwrap(publisher) {
        publisher.close().await;
    }
}
