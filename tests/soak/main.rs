//! A chaos soak of the client on the 3-node loopback cluster
//! (`scripts/soak.sh`, which starts the cluster and runs this): publishers at
//! a steady rate with confirms (publishing again what is not confirmed), a
//! consumer in handler mode (16 at once, a retry policy, some failures, a few
//! fatal ones, recycling its connection) and one in stream mode, while a
//! chaos loop injects a fault every 5 to 10 s: `kill -9` of a node and its
//! restart, `close_all_connections` on a node, `SIGSTOP` of a node for longer
//! than the heartbeat, and a password change the credentials provider
//! follows. At the end it prints a report and exits non-zero when any of
//! these fails:
//!
//! - no confirmed message is lost: each one is handled, or dead-lettered as
//!   the policy says, and received by the stream consumer;
//! - messages handled twice are at most the acknowledgements reported lost
//!   plus the deliveries marked redelivered;
//! - the process's RSS after warm-up (the first fifth of the run, at least a
//!   minute) grows less than 10 % (the median of the last third of the
//!   samples against that of the first third; judged on runs of 10 minutes
//!   or more, reported on shorter ones) and its open file descriptors stay
//!   flat.
//!
//! `SOAK_MINUTES` (default 10), `SOAK_RATE` (messages a second, default 100)
//! and `SOAK_SEED` (the fault schedule) change the run.

mod chaos;
mod record;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pulse_binding::client::{
    Consumer, ConsumerEvent, Credentials, HandlerError, Message, Publisher, PulseConfig, QueueSpec,
    Reconnect, RetryPolicy, dead_letters,
};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use record::{Record, missing, quantile, recoveries, sample};

const EXCHANGE: &str = "exchange/pulse-binding-soak/v1/events";
const PUBLISHERS: u64 = 4;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every tenth id fails its first attempt; every 97th fails for good.
fn fails(id: u64, attempt: u32) -> Option<HandlerError> {
    if id.is_multiple_of(97) {
        Some(HandlerError::fatal(format!("{id} is fatal")))
    } else if id.is_multiple_of(10) && attempt == 1 {
        Some(HandlerError::msg(format!("{id} fails once")))
    } else {
        None
    }
}

fn config(urls: &[String], password: Arc<Mutex<String>>) -> PulseConfig {
    PulseConfig::from_urls(urls)
        .expect("the cluster's URLs")
        .with_heartbeat(Duration::from_secs(4))
        .with_connect_timeout(Duration::from_secs(5))
        .with_credentials_provider(move || {
            let password = password.lock().unwrap().clone();
            async move { Ok::<_, std::io::Error>(Credentials::new(chaos::USER, password)) }
        })
}

fn reconnect() -> Reconnect {
    Reconnect::default()
        .initial_delay(Duration::from_millis(100))
        .max_delay(Duration::from_secs(2))
        .max_attempts(100_000)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let minutes = env_f64("SOAK_MINUTES", 10.0);
    let rate = env_f64("SOAK_RATE", 100.0);
    let seed = env_f64("SOAK_SEED", 1.0) as u64;
    let urls: Vec<String> = std::env::var("PULSE_CLUSTER_URLS")
        .expect("PULSE_CLUSTER_URLS (scripts/soak.sh sets it)")
        .split(',')
        // The provider gives the credentials.
        .map(|u| u.trim().replace("guest:guest@", ""))
        .collect();
    let run = Duration::from_secs_f64(minutes * 60.0);
    let start = Instant::now();
    let until = start + run;

    let password = Arc::new(Mutex::new("soak-0".to_owned()));
    let _ = chaos::script(&["ctl", "1", "delete_user", chaos::USER]).await;
    chaos::script(&["ctl", "1", "add_user", chaos::USER, "soak-0"])
        .await
        .expect("add the soak user");
    chaos::script(&[
        "ctl",
        "1",
        "set_permissions",
        "-p",
        "/",
        chaos::USER,
        ".*",
        ".*",
        ".*",
    ])
    .await
    .expect("its permissions");

    let record = Arc::new(Mutex::new(Record::default()));
    let tag = format!("{:x}", std::process::id());
    let handler_queue = QueueSpec::named(format!("soak-handler-{tag}"));
    let stream_queue = QueueSpec::named(format!("soak-stream-{tag}"));
    let bindings = || Bindings::new().with(Binding::new(EXCHANGE, "#"), |v: Value| v);
    let cfg = config(&urls, password.clone());

    let publisher = Arc::new(
        Publisher::connect(cfg.clone())
            .await
            .expect("publisher")
            .declare_exchanges(true)
            .confirm_timeout(Duration::from_secs(10)),
    );
    publisher
        .publish_raw(EXCHANGE, "warm", b"{}")
        .await
        .expect("declare the exchange");

    let handler_consumer = Consumer::builder(cfg.clone(), bindings())
        .queue(handler_queue.clone())
        .reconnect(reconnect())
        .recycle_interval(Duration::from_secs(45))
        .retry(RetryPolicy::new(4).delay(Duration::from_millis(200), Duration::from_secs(2)))
        .start()
        .await
        .expect("the handler-mode consumer");
    let stop_handler = handler_consumer.shutdown_handle();
    count_lost(&handler_consumer, record.clone(), true);
    let seen = record.clone();
    let handling = tokio::spawn(handler_consumer.run(16, move |message: Message<Value>| {
        let seen = seen.clone();
        async move {
            let Some(id) = message.payload["id"].as_u64() else {
                return Ok(()); // the warm-up message
            };
            let attempt = message.attempt();
            let now = Instant::now();
            let mut r = seen.lock().unwrap();
            r.max_attempt.max(id, attempt.min(255) as u8);
            if attempt >= 2 {
                r.later_attempts.add(id);
            }
            r.handler_redelivered += u64::from(message.redelivered);
            if let Some(error) = fails(id, attempt) {
                return Err(error);
            }
            if r.handled.add(id) == 1
                && let Some(sent) = r.sent_ms(id)
            {
                let ms = (now - start).as_millis() as u64;
                let latency = ms.saturating_sub(u64::from(sent)).min(u64::from(u16::MAX));
                r.latencies.push(latency as u16);
            }
            r.handled_at(now);
            Ok(())
        }
    }));

    let mut stream_consumer = Consumer::builder(cfg.clone(), bindings())
        .queue(stream_queue.clone())
        .reconnect(reconnect())
        .start()
        .await
        .expect("the stream consumer");
    count_lost(&stream_consumer, record.clone(), false);
    let stream_stop = stream_consumer.shutdown_handle();
    let seen = record.clone();
    let streaming = tokio::spawn(async move {
        while let Some(item) = stream_consumer.recv().await {
            let Ok(message) = item else { continue };
            if let Some(id) = message.payload["id"].as_u64() {
                let mut r = seen.lock().unwrap();
                r.received.add(id);
                r.stream_redelivered += u64::from(message.redelivered);
            }
            let _ = message.ack().await;
        }
        stream_consumer.shutdown(Duration::from_secs(30)).await
    });

    // Publishers: ids `worker, worker + PUBLISHERS, ...` at rate / PUBLISHERS.
    let mut publishing = Vec::new();
    for worker in 0..PUBLISHERS {
        let (publisher, record) = (publisher.clone(), record.clone());
        let every = Duration::from_secs_f64(PUBLISHERS as f64 / rate);
        publishing.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut id = worker;
            while Instant::now() < until {
                tick.tick().await;
                let sent = start.elapsed().as_millis() as u32;
                let body = json!({ "id": id });
                loop {
                    match publisher
                        .publish(&Binding::new(EXCHANGE, "soak.event"), &body)
                        .await
                    {
                        Ok(()) => break,
                        Err(_) => {
                            {
                                let mut r = record.lock().unwrap();
                                r.publish_failures += 1;
                                r.resent.add(id);
                            }
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
                record.lock().unwrap().confirm(id, sent);
                id += PUBLISHERS;
            }
        }));
    }

    let sampler = {
        let record = record.clone();
        tokio::spawn(async move {
            loop {
                let (rss, fds) = sample();
                record
                    .lock()
                    .unwrap()
                    .samples
                    .push((start.elapsed().as_secs_f64(), rss, fds));
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    };

    let chaos = chaos::run(until, password.clone(), record.clone(), seed).await;
    for task in publishing {
        task.await.expect("a publisher");
    }
    // Every node up again (a failed fault may have left one down).
    if chaos::script(&["status"]).await.is_err() {
        let _ = chaos::script(&["start"]).await;
    }

    // Drain: wait (at most 5 minutes) for every confirmed message.
    let fatal: BTreeSet<u64> = record
        .lock()
        .unwrap()
        .confirmed()
        .filter(|id| id % 97 == 0)
        .collect();
    let drain_until = Instant::now() + Duration::from_secs(300);
    loop {
        let (handler_missing, stream_missing) =
            missing(&record.lock().unwrap(), |id| fatal.contains(&id));
        if (handler_missing.is_empty() && stream_missing.is_empty())
            || Instant::now() >= drain_until
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop_handler.shutdown();
    stream_stop.shutdown();
    let handler_result = handling.await.expect("the handler task");
    let stream_report = streaming.await.expect("the stream task");
    sampler.abort();
    let dead = dead_letters::read(&cfg, &handler_queue, 100_000)
        .await
        .unwrap_or_default();
    let dead_ids: BTreeSet<u64> = dead
        .iter()
        .filter_map(|l| serde_json::from_slice::<Value>(&l.body).ok()?["id"].as_u64())
        .collect();
    publisher_close(publisher).await;
    let elapsed = start.elapsed();

    let mut ok = report(
        &record.lock().unwrap(),
        &dead_ids,
        &fatal,
        elapsed,
        handler_result.is_ok(),
        stream_report.timed_out,
    );
    if let Err(e) = chaos {
        println!("FAIL: a fault could not be injected: {e}");
        ok = false;
    }
    for queue in [&handler_queue, &stream_queue] {
        if let Ok(name) = queue.full_name(chaos::USER) {
            for q in [name.clone(), format!("{name}/dead")] {
                let _ = chaos::script(&["ctl", "1", "delete_queue", &q]).await;
            }
        }
    }
    std::process::exit(if ok { 0 } else { 1 });
}

async fn publisher_close(publisher: Arc<Publisher>) {
    if let Ok(publisher) = Arc::try_unwrap(publisher) {
        publisher.close().await;
    }
}

/// Counts the acknowledgements `consumer` reports lost.
fn count_lost<M: Send + 'static>(
    consumer: &Consumer<M>,
    record: Arc<Mutex<Record>>,
    handler: bool,
) {
    let mut events = consumer.events();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ConsumerEvent::AcksLost { messages, .. }) => {
                    let mut r = record.lock().unwrap();
                    if handler {
                        r.lost_acks_handler += messages;
                    } else {
                        r.lost_acks_stream += messages;
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Prints the report; whether every check held.
fn report(
    r: &Record,
    dead: &BTreeSet<u64>,
    fatal: &BTreeSet<u64>,
    elapsed: Duration,
    handler_ok: bool,
    stream_timed_out: u64,
) -> bool {
    let mut ok = true;
    let mut fail = |what: String| {
        println!("FAIL: {what}");
        ok = false;
    };
    let (handler_missing, stream_missing) = missing(r, |id| dead.contains(&id));
    println!("soak report ({:.1} min)", elapsed.as_secs_f64() / 60.0);
    println!(
        "  confirmed {} ({} publish failures retried)",
        r.confirmed().count(),
        r.publish_failures
    );
    println!(
        "  handler mode: {} handled, {} dead ({} fatal expected), {} deliveries marked redelivered, {} acks reported lost",
        r.handled.iter().filter(|(_, n)| *n > 0).count(),
        dead.len(),
        fatal.len(),
        r.handler_redelivered,
        r.lost_acks_handler
    );
    println!(
        "  stream mode: {} received, {} deliveries marked redelivered, {} acks reported lost",
        r.received.iter().filter(|(_, n)| *n > 0).count(),
        r.stream_redelivered,
        r.lost_acks_stream
    );
    if !handler_missing.is_empty() {
        fail(format!(
            "{} confirmed message(s) neither handled nor dead: {:?}",
            handler_missing.len(),
            &handler_missing[..handler_missing.len().min(20)]
        ));
    }
    if !stream_missing.is_empty() {
        fail(format!(
            "{} confirmed message(s) never received by the stream consumer: {:?}",
            stream_missing.len(),
            &stream_missing[..stream_missing.len().min(20)]
        ));
    }
    let wrongly_dead: Vec<&u64> = dead
        .iter()
        .filter(|id| !fatal.contains(id) && **id % 97 != 0)
        .collect();
    if !wrongly_dead.is_empty() {
        fail(format!(
            "dead letters the policy did not call for: {wrongly_dead:?}"
        ));
    }
    // A message handled twice is explained by a redelivery the consumer
    // marked, an acknowledgement it reported lost, a publish sent again, or
    // the retry queue sending it back twice (at-least-once dead-lettering).
    let twice: u64 = r
        .handled
        .iter()
        .map(|(_, n)| u64::from(n.saturating_sub(1)))
        .sum();
    let resent: u64 = r
        .resent
        .iter()
        .filter(|(id, n)| *n > 0 && r.handled.get(*id) > 1)
        .map(|(id, n)| u64::from(n.min(r.handled.get(id) - 1)))
        .sum();
    let hop: u64 = r
        .later_attempts
        .iter()
        .map(|(_, n)| u64::from(n.saturating_sub(1)))
        .sum();
    let allowed = r.lost_acks_handler + r.handler_redelivered + resent + hop;
    println!(
        "  handled twice: {twice}; explained by up to {allowed}: {} acks reported lost, {} deliveries marked redelivered, {resent} publishes sent again, {hop} retries sent back twice",
        r.lost_acks_handler, r.handler_redelivered
    );
    if twice > allowed {
        fail(format!(
            "{twice} messages handled twice, more than {allowed}"
        ));
    }
    let over: Vec<u64> = r
        .max_attempt
        .iter()
        .filter(|(_, a)| *a > 4)
        .map(|(id, _)| id)
        .collect();
    if !over.is_empty() {
        fail(format!("attempts over the policy's 4: {over:?}"));
    }
    let mut latencies = r.latencies.clone();
    println!(
        "  throughput {:.1} handled/s; handler latency p50 {} ms, p99 {} ms",
        r.handled.iter().filter(|(_, n)| *n > 0).count() as f64 / elapsed.as_secs_f64(),
        quantile(&mut latencies, 0.5),
        quantile(&mut latencies, 0.99)
    );
    println!("  faults (kind: count, median and max recovery to the next handled message):");
    for (kind, (count, median, max)) in recoveries(&r.faults) {
        println!("    {kind}: {count}, {median:.1?}, {max:.1?}");
    }
    let unrecovered = r.faults.iter().filter(|f| f.recovered.is_none()).count();
    if unrecovered > 0 {
        fail(format!(
            "{unrecovered} fault(s) with no message handled after them"
        ));
    }
    let step = (r.samples.len() / 12).max(1);
    let shown: Vec<String> = r
        .samples
        .iter()
        .step_by(step)
        .map(|(t, rss, fds)| format!("{t:.0}s {rss}kB {fds}fd"))
        .collect();
    println!("  memory samples: {}", shown.join(", "));
    // RSS swings by a fifth as the allocator takes and gives back memory, so
    // compare medians: of the first third after warm-up (the first fifth of
    // the run, at least a minute) and of the last third.
    let warm_at = (elapsed.as_secs_f64() / 5.0).max(60.0);
    let after: Vec<&(f64, u64, u64)> = r.samples.iter().filter(|(t, _, _)| *t >= warm_at).collect();
    // A run under ten minutes is too short to tell a leak from the swings
    // (two 3-minute runs: +19 % and +27 % between thirds, one of them while a
    // benchmark loaded the machine): it reports memory without judging it.
    let judged = elapsed >= Duration::from_secs(600);
    if after.len() >= 6 {
        let third = after.len() / 3;
        let median = |window: &[&(f64, u64, u64)]| {
            let mut rss: Vec<u64> = window.iter().map(|(_, rss, _)| *rss).collect();
            rss.sort_unstable();
            rss[rss.len() / 2]
        };
        let (early, late) = (
            median(&after[..third]),
            median(&after[after.len() - third..]),
        );
        let growth = (late as f64 - early as f64) / early as f64 * 100.0;
        let fds0 = after[..third].iter().map(|(_, _, f)| *f).max().unwrap_or(0);
        let fds1 = after[after.len() - third..]
            .iter()
            .map(|(_, _, f)| *f)
            .max()
            .unwrap_or(0);
        println!(
            "  RSS median {early} kB after warm-up, {late} kB at the end ({growth:+.1} %); most open fds {fds0} -> {fds1}"
        );
        if !judged {
            println!("  (memory is judged on runs of 10 minutes or more)");
        } else if growth >= 10.0 {
            fail(format!("RSS grew {growth:.1} % after warm-up"));
        }
        if fds1 > fds0 + 8 {
            fail(format!("open file descriptors grew from {fds0} to {fds1}"));
        }
    } else {
        println!(
            "  too short a run to judge memory ({} samples after warm-up)",
            after.len()
        );
    }
    if !handler_ok {
        fail("the handler-mode consumer gave up".into());
    }
    if stream_timed_out > 0 {
        fail(format!(
            "{stream_timed_out} message(s) unsettled at the stream consumer's shutdown"
        ));
    }
    println!("{}", if ok { "soak: PASS" } else { "soak: FAIL" });
    ok
}
