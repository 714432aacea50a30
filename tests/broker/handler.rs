//! Handler mode: bounded concurrency, delayed retries through the broker,
//! the dead-letter queue, panics, and the operator's dead-letter tools.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pulse_binding::client::{
    ClientError, Consumer, HandlerError, Message, Publisher, QueueSpec, RetryPolicy, dead_letters,
};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use crate::support::{
    StartAppOnDrop, broker, cleanup, config, exclusive, fast_reconnect, have_rabbitmqctl,
    rabbitmqctl, ready_count, shared, unique, within,
};

const MESSAGES: u64 = 1_000;

/// What the handler saw of one id: the attempts, and the routing it came with.
#[derive(Default)]
struct Seen {
    attempts: Vec<u32>,
    succeeded: u32,
    routing: HashSet<(String, String, Vec<String>)>,
}

fn id_of(message: &Message<Value>) -> u64 {
    message.payload["id"].as_u64().expect("an id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_then_dead_lettered_and_nothing_is_lost() {
    let url = broker!();
    let _guard = shared().await;
    retried_and_dead_lettered(&url, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_dead_letters_survive_a_broker_restart() {
    let url = broker!();
    let _guard = exclusive().await;
    if !have_rabbitmqctl().await {
        return;
    }
    retried_and_dead_lettered(&url, true).await;
}

/// 1,000 messages: a third fail twice then succeed, a third always fail, a
/// third succeed at once; 16 handlers at a time. With `restart`, the broker
/// application restarts once a third of the messages are settled: then a
/// redelivery may repeat an attempt, so ids are counted once.
async fn retried_and_dead_lettered(url: &str, restart: bool) {
    let url = url.to_owned();
    let exchange = unique("exchange/pulse-binding-tests/handler");
    let spec = QueueSpec::named(unique("handler"));
    let queue = spec.full_name("guest").unwrap();
    let dead = format!("{queue}/dead");
    let policy = RetryPolicy::new(5).delay(Duration::from_millis(50), Duration::from_millis(400));
    let consumer = Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new(&exchange, "task.#"), |v: Value| v),
    )
    .queue(spec.clone())
    .prefetch(32)
    .declare_exchanges(true)
    .reconnect(fast_reconnect())
    .retry(policy)
    .start()
    .await
    .expect("consumer");
    let stop = consumer.shutdown_handle();

    let seen: Arc<Mutex<HashMap<u64, Seen>>> = Arc::default();
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handler = {
        let (seen, running, most) = (seen.clone(), running.clone(), most.clone());
        move |message: Message<Value>| {
            let (seen, running, most) = (seen.clone(), running.clone(), most.clone());
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                running.fetch_sub(1, SeqCst);
                let id = id_of(&message);
                let attempt = message.attempt();
                let ok = {
                    let mut seen = seen.lock().unwrap();
                    let entry = seen.entry(id).or_default();
                    entry.attempts.push(attempt);
                    entry.routing.insert((
                        message.exchange.clone(),
                        message.routing_key.clone(),
                        message.routes.clone(),
                    ));
                    let ok = match id % 3 {
                        0 => attempt >= 3,
                        1 => false,
                        _ => true,
                    };
                    if ok {
                        entry.succeeded += 1;
                    }
                    ok
                };
                if ok {
                    Ok(())
                } else {
                    Err(std::io::Error::other(format!("store down for {id}")))
                }
            }
        }
    };
    let run = tokio::spawn(consumer.run(16, handler));

    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for id in 0..MESSAGES {
        let binding = Binding::new(&exchange, format!("task.{id}"));
        publisher
            .publish_routed(&binding, &json!({ "id": id }), &[format!("index.{id}")])
            .await
            .expect("publish");
    }
    let expected_dead = (0..MESSAGES).filter(|id| id % 3 == 1).count() as u32;
    if restart {
        within(60, "a third settled", async {
            while seen
                .lock()
                .unwrap()
                .values()
                .filter(|s| s.succeeded > 0)
                .count()
                < 300
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        let mut restore = StartAppOnDrop(true);
        rabbitmqctl(&["stop_app"]).await.expect("stop_app");
        rabbitmqctl(&["start_app"]).await.expect("start_app");
        restore.0 = false;
    }
    within(180, "every message settled", async {
        loop {
            let done = {
                let seen = seen.lock().unwrap();
                (0..MESSAGES)
                    .filter(|id| id % 3 != 1)
                    .all(|id| seen.get(&id).is_some_and(|s| s.succeeded > 0))
            };
            if done && dead_ids(&url, &spec).await.len() as u32 == expected_dead {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    stop.shutdown();
    within(60, "run to return", run)
        .await
        .expect("task")
        .expect("run");

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    for id in 0..MESSAGES {
        let s = &seen[&id];
        let (attempts, succeeded) = match id % 3 {
            0 => (vec![1, 2, 3], 1),
            1 => (vec![1, 2, 3, 4, 5], 0),
            _ => (vec![1], 1),
        };
        if restart {
            let unique: Vec<u32> = s
                .attempts
                .iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(unique, attempts, "id {id}");
            assert_eq!(s.succeeded.min(1), succeeded, "id {id}");
        } else {
            assert_eq!(s.attempts, attempts, "id {id}");
            assert_eq!(s.succeeded, succeeded, "id {id}");
        }
        let routing: Vec<_> = s.routing.iter().collect();
        assert_eq!(
            routing,
            [&(
                exchange.clone(),
                format!("task.{id}"),
                vec![format!("index.{id}")]
            )],
            "a retry is dispatched exactly like the original"
        );
    }
    let most = most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (2..=16).contains(&most),
        "at most 16 handlers at once: {most}"
    );

    let letters = dead_letters::read(&config(&url), &spec, 10_000)
        .await
        .expect("read");
    if !restart {
        assert_eq!(letters.len() as u32, expected_dead, "none dead twice");
    }
    let mut ids = HashSet::new();
    for letter in &letters {
        let body: Value = serde_json::from_slice(&letter.body).unwrap();
        let id = body["id"].as_u64().unwrap();
        assert_eq!(id % 3, 1);
        ids.insert(id);
        assert_eq!(letter.attempts, 5);
        assert_eq!(letter.error, format!("store down for {id}"));
        assert_eq!(letter.exchange, exchange);
        assert_eq!(letter.routing_key, format!("task.{id}"));
        assert_eq!(letter.cc, [format!("route.index.{id}")]);
    }
    assert_eq!(
        ids.len() as u32,
        expected_dead,
        "every always-failing message is dead"
    );
    assert_eq!(ready_count(&url, &queue).await, 0, "nothing left behind");
    // After a restart, a message whose move to the dead letters was
    // confirmed but whose acknowledgement was lost is dead twice (at least
    // once): the purge deletes what `read` listed.
    assert_eq!(
        dead_letters::purge(&config(&url), &spec)
            .await
            .expect("purge") as usize,
        letters.len()
    );
    let retry_queues: Vec<String> = [50, 100, 200, 400]
        .iter()
        .map(|ms| format!("{queue}/retry/{ms}ms"))
        .collect();
    let mut queues: Vec<&str> = retry_queues.iter().map(String::as_str).collect();
    queues.extend([queue.as_str(), dead.as_str()]);
    publisher.close().await;
    cleanup(&url, &queues, &[&exchange]).await;
}

/// The ids in the dead-letter queue, once each.
async fn dead_ids(url: &str, spec: &QueueSpec) -> HashSet<u64> {
    dead_letters::read(&config(url), spec, 10_000)
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|l| serde_json::from_slice::<Value>(&l.body).ok()?["id"].as_u64())
        .collect()
}

/// Starts a handler-mode consumer on a fresh named queue with `policy`.
async fn handler_consumer(
    url: &str,
    exchange: &str,
    policy: RetryPolicy,
) -> (Consumer<Value>, QueueSpec) {
    let spec = QueueSpec::named(unique("handler-small"));
    let consumer = Consumer::builder(
        config(url),
        Bindings::new().with(Binding::new(exchange, "#"), |v: Value| v),
    )
    .queue(spec.clone())
    .declare_exchanges(true)
    .retry(policy)
    .start()
    .await
    .expect("consumer");
    (consumer, spec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_comes_back_after_its_delay_and_not_before() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/delay");
    let delay = Duration::from_millis(1500);
    let (consumer, spec) =
        handler_consumer(&url, &exchange, RetryPolicy::new(2).delay(delay, delay)).await;
    let stop = consumer.shutdown_handle();
    let times: Arc<Mutex<Vec<(u32, Instant)>>> = Arc::default();
    let recorded = times.clone();
    let run = tokio::spawn(consumer.run(4, move |message: Message<Value>| {
        recorded
            .lock()
            .unwrap()
            .push((message.attempt(), Instant::now()));
        async move {
            if message.attempt() == 1 {
                Err(HandlerError::msg("not yet"))
            } else {
                Ok(())
            }
        }
    }));
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    publisher
        .publish_raw(&exchange, "x", b"{}")
        .await
        .expect("publish");
    within(20, "the second attempt", async {
        while times.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    stop.shutdown();
    within(30, "run to return", run).await.unwrap().unwrap();
    let times = times.lock().unwrap().clone();
    assert_eq!(times.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2]);
    let waited = times[1].1 - times[0].1;
    assert!(
        waited >= delay,
        "came back after {waited:?}, before its delay {delay:?}"
    );
    assert!(
        waited <= delay + Duration::from_secs(2),
        "came back after {waited:?}"
    );
    let queue = spec.full_name("guest").unwrap();
    publisher.close().await;
    cleanup(
        &url,
        &[
            &queue,
            &format!("{queue}/dead"),
            &format!("{queue}/retry/1500ms"),
        ],
        &[&exchange],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_failure_a_fatal_error_skips_the_retries_and_requeue_resets_attempts() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/fatal");
    let (consumer, spec) = handler_consumer(
        &url,
        &exchange,
        RetryPolicy::new(3).delay(Duration::from_millis(20), Duration::from_millis(20)),
    )
    .await;
    let stop = consumer.shutdown_handle();
    let attempts: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let recorded = attempts.clone();
    let run = tokio::spawn(consumer.run(4, move |message: Message<Value>| {
        let kind = message.payload["kind"].as_str().unwrap_or("").to_owned();
        recorded
            .lock()
            .unwrap()
            .push((kind.clone(), message.attempt()));
        async move {
            match kind.as_str() {
                "panic" => panic!("the handler broke"),
                "fatal" => Err(HandlerError::fatal("cannot ever work")),
                _ => Ok(()),
            }
        }
    }));
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for kind in ["panic", "fatal"] {
        let body = serde_json::to_vec(&json!({ "kind": kind })).unwrap();
        publisher
            .publish_raw(&exchange, kind, &body)
            .await
            .expect("publish");
    }
    let queue = spec.full_name("guest").unwrap();
    let dead = format!("{queue}/dead");
    within(20, "both dead", async {
        while ready_count(&url, &dead).await < 2 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let mut letters = dead_letters::read(&config(&url), &spec, 10)
        .await
        .expect("read");
    letters.sort_by(|a, b| a.routing_key.cmp(&b.routing_key));
    assert_eq!(letters[0].routing_key, "fatal");
    assert_eq!(
        (letters[0].attempts, letters[0].error.as_str()),
        (1, "cannot ever work")
    );
    assert_eq!(letters[1].routing_key, "panic");
    assert_eq!(
        letters[1].attempts, 3,
        "a panic is retried like any failure"
    );
    assert!(
        letters[1].error.contains("the handler broke"),
        "{}",
        letters[1].error
    );

    // Sent back, they start again at attempt 1, and the consumer went on.
    attempts.lock().unwrap().clear();
    assert_eq!(
        dead_letters::requeue(&config(&url), &spec)
            .await
            .expect("requeue"),
        2
    );
    within(20, "the requeued messages", async {
        while attempts
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, a)| *a == 1)
            .count()
            < 2
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    stop.shutdown();
    within(30, "run to return", run).await.unwrap().unwrap();
    publisher.close().await;
    cleanup(
        &url,
        &[&queue, &dead, &format!("{queue}/retry/20ms")],
        &[&exchange],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_queue_cannot_retry() {
    let url = broker!();
    let _guard = shared().await;
    let e = Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new("exchange/x", "#"), |v: Value| v),
    )
    .retry(RetryPolicy::new(3))
    .start()
    .await
    .unwrap_err();
    assert!(matches!(e, ClientError::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("named queue"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_raises_the_prefetch_to_its_concurrency() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/raise");
    let spec = QueueSpec::named(unique("raise"));
    let consumer = Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v),
    )
    .queue(spec.clone())
    .prefetch(2)
    .declare_exchanges(true)
    .start()
    .await
    .expect("consumer");
    let stop = consumer.shutdown_handle();
    // Each handler waits until 8 run at once: with the prefetch left at 2,
    // only 2 ever could.
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let run = tokio::spawn(consumer.run(8, move |_message: Message<Value>| {
        let (running, most) = (r.clone(), m.clone());
        async move {
            use std::sync::atomic::Ordering::SeqCst;
            most.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
            let until = Instant::now() + Duration::from_secs(5);
            while running.load(SeqCst) < 8 && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok::<(), std::io::Error>(())
        }
    }));
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    for _ in 0..8 {
        publisher
            .publish_raw(&exchange, "x", b"{}")
            .await
            .expect("publish");
    }
    within(20, "8 handlers at once", async {
        while most.load(std::sync::atomic::Ordering::SeqCst) < 8 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    stop.shutdown();
    within(30, "run to return", run).await.unwrap().unwrap();
    let queue = spec.full_name("guest").unwrap();
    publisher.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}

/// The dead-letter tools find the queue of the user a credentials provider
/// logs in as, when the URL names no user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_follow_the_user_of_a_credentials_provider() {
    let url = broker!();
    let _guard = shared().await;
    let parsed = url::Url::parse(&url).expect("PULSE_TEST_URL is a URL");
    let (user, password) = (
        parsed.username().to_owned(),
        parsed.password().unwrap_or_default().to_owned(),
    );
    let mut bare = parsed.clone();
    bare.set_username("").unwrap();
    bare.set_password(None).unwrap();
    let provided = pulse_binding::client::PulseConfig::from_url(bare.as_str())
        .expect("a URL without user info")
        .with_credentials_provider(move || {
            let (user, password) = (user.clone(), password.clone());
            async move {
                Ok::<_, std::io::Error>(pulse_binding::client::Credentials::new(user, password))
            }
        });
    let exchange = unique("exchange/pulse-binding-tests/provided");
    let spec = QueueSpec::named(unique("provided"));
    let consumer = Consumer::builder(
        provided.clone(),
        Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v),
    )
    .queue(spec.clone())
    .declare_exchanges(true)
    .retry(RetryPolicy::new(1))
    .start()
    .await
    .expect("consumer");
    let queue = consumer.queue_name().to_owned();
    let stop = consumer.shutdown_handle();
    let run = tokio::spawn(consumer.run(1, |_: Message<Value>| async {
        Err::<(), _>(HandlerError::fatal("for the dead letters"))
    }));
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    publisher
        .publish_raw(&exchange, "a", br#"{"id": 1}"#)
        .await
        .expect("publish");
    let letters = within(30, "the dead letter", async {
        loop {
            let letters = dead_letters::read(&provided, &spec, 10)
                .await
                .expect("read the dead letters of the provider's user");
            if !letters.is_empty() {
                return letters;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(letters[0].error, "for the dead letters");
    assert_eq!(
        dead_letters::purge(&provided, &spec).await.expect("purge"),
        1
    );
    stop.shutdown();
    within(30, "run to return", run)
        .await
        .expect("task")
        .expect("run");
    publisher.close().await;
    let dead = format!("{queue}/dead");
    cleanup(&url, &[&queue, &dead], &[&exchange]).await;
}
