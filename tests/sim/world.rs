//! One seed's run: a publisher, a consumer (restarted when a fault says so)
//! and the faults, on `FakePulse`, on a current-thread runtime with paused
//! time; everything that happens goes into a trace.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pulse_binding::client::{
    ConsumeError, Consumer, ConsumerEvent, HandlerError, Message, Publisher, Reconnect,
};
use pulse_binding::testing::FakePulse;
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::scenario::{Act, Fault, Mode, Scenario, error_text};

const EXCHANGE: &str = "exchange/sim/v1/events";
/// How long a consumer's shutdown may wait for its messages.
const SHUTDOWN: Duration = Duration::from_secs(5);
/// How long the run waits, once publishing and faults are over, for every
/// message to be settled.
const SETTLE: Duration = Duration::from_secs(120);

/// What the program and the broker did, as the invariants need it.
#[derive(Debug, Default)]
pub struct Outcome {
    pub trace: Vec<String>,
    pub confirmed: BTreeSet<u64>,
    /// Per id: how often the program handled it `Ok` (stream: acknowledged,
    /// `ack()` returning `Ok`).
    pub ok: BTreeMap<u64, u32>,
    /// Deliveries of an id that came after it was handled `Ok` (each Ok
    /// counts once: a message requeued after it came back is not counted
    /// again).
    pub after_ok: u64,
    /// Ids handled `Ok` since their last delivery.
    pub ok_since_delivery: BTreeSet<u64>,
    /// Acknowledgements the consumers reported lost (`AcksLost`).
    pub lost_acks: u64,
    /// Per id, the attempts delivered (handler mode).
    pub attempts: BTreeMap<u64, Vec<u32>>,
    /// What was left: ready in the main queue, waiting in a retry queue,
    /// dead (id, attempts, error), dropped by a full drop-head queue.
    pub ready: Vec<u64>,
    pub waiting: Vec<u64>,
    pub dead: Vec<(u64, u32, String)>,
    pub dropped: BTreeSet<u64>,
    pub unacked: usize,
    /// Shutdowns whose report had messages still unsettled at the timeout.
    pub timed_out: u64,
    /// Whether every confirmed message was settled within [`SETTLE`].
    pub settled: bool,
}

/// The shared record, written by every task.
type Shared = Arc<Mutex<Outcome>>;

/// Prints each trace line as it happens (`SIM_SEED` replays).
pub static LIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn push(o: &mut Outcome, line: String) {
    if LIVE.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{line}");
    }
    o.trace.push(line);
}

fn note(shared: &Shared, line: String) {
    push(&mut shared.lock().unwrap(), line);
}

fn id_of(body: &[u8]) -> u64 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["id"].as_u64())
        .unwrap_or(u64::MAX)
}

/// Runs `scenario` to its end.
pub fn run(scenario: &Scenario) -> Outcome {
    pulse_binding::testing::seed(Some(scenario.seed));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let outcome = runtime.block_on(world(scenario.clone()));
    pulse_binding::testing::seed(None);
    outcome
}

async fn world(scenario: Scenario) -> Outcome {
    let start = Instant::now();
    let pulse = FakePulse::new();
    let shared: Shared = Arc::default();
    let restart = Arc::new(Notify::new());
    let finish = Arc::new(Notify::new());

    let driver = tokio::spawn(drive(
        scenario.clone(),
        pulse.clone(),
        shared.clone(),
        restart.clone(),
        finish.clone(),
    ));
    let publishing = tokio::spawn(publish(scenario.clone(), pulse.publisher(), shared.clone()));
    let faults = {
        let (scenario, pulse, shared, restart) = (
            scenario.clone(),
            pulse.clone(),
            shared.clone(),
            restart.clone(),
        );
        tokio::spawn(async move {
            for (when, fault) in &scenario.faults {
                tokio::time::sleep_until(start + *when).await;
                note(&shared, format!("{:?} fault {fault:?}", start.elapsed()));
                match *fault {
                    Fault::Disconnect => pulse.disconnect_all(),
                    Fault::Nack(n) => pulse.nack_publishes(n),
                    Fault::FailConnects(n) => pulse.fail_connects(n),
                    Fault::ForgetAcks(window) => pulse.forget_acks_at_close(Some(window)),
                    Fault::Restart(_) => restart.notify_one(),
                }
            }
        })
    };
    publishing.await.expect("the publisher");
    faults.await.expect("the faults");

    // Quiet: wait until every confirmed message is settled.
    let deadline = Instant::now() + SETTLE;
    let settled = loop {
        if all_settled(&pulse, &shared) {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    finish.notify_one();
    driver.await.expect("the consumer's driver");

    let mut outcome = std::mem::take(&mut *shared.lock().unwrap());
    outcome.settled = settled;
    outcome.ready = pulse
        .messages("sim")
        .iter()
        .map(|m| id_of(&m.body))
        .collect();
    if let Mode::Handler { policy, .. } = scenario.mode {
        let delays: BTreeSet<u128> = (1..policy.max_attempts())
            .map(|n| policy.delay_after(n).as_millis())
            .collect();
        for ms in delays {
            let waiting = pulse.messages(&format!("sim/retry/{ms}ms"));
            outcome
                .waiting
                .extend(waiting.iter().map(|m| id_of(&m.body)));
        }
    }
    outcome.dead = pulse
        .dead_letters("sim")
        .into_iter()
        .map(|l| (id_of(&l.body), l.attempts, l.error))
        .collect();
    outcome.dropped = pulse.dropped().iter().map(|m| id_of(&m.body)).collect();
    outcome.unacked = pulse.unacked("sim");
    let inventory = format!(
        "end: ready {:?} waiting {:?} dead {:?} dropped {:?} unacked {}",
        outcome.ready, outcome.waiting, outcome.dead, outcome.dropped, outcome.unacked
    );
    push(&mut outcome, inventory);
    outcome
}

/// Whether every confirmed message is handled, dead or dropped, and nothing
/// is held.
fn all_settled(pulse: &FakePulse, shared: &Shared) -> bool {
    let o = shared.lock().unwrap();
    let dead: BTreeSet<u64> = pulse
        .dead_letters("sim")
        .iter()
        .map(|l| id_of(&l.body))
        .collect();
    let dropped: BTreeSet<u64> = pulse.dropped().iter().map(|m| id_of(&m.body)).collect();
    pulse.unacked("sim") == 0
        && pulse.queue_len("sim") == 0
        && o.confirmed
            .iter()
            .all(|id| o.ok.contains_key(id) || dead.contains(id) || dropped.contains(id))
}

/// Publishes each message at its time until the broker confirms it.
async fn publish(scenario: Scenario, publisher: Publisher, shared: Shared) {
    let start = Instant::now();
    let binding = Binding::new(EXCHANGE, "event.k");
    for (id, at) in scenario.publish_at.iter().enumerate() {
        let id = id as u64;
        tokio::time::sleep_until(start + *at).await;
        for _ in 0..100 {
            match publisher.publish(&binding, &json!({ "id": id })).await {
                Ok(()) => {
                    note(&shared, format!("{:?} published {id}", start.elapsed()));
                    shared.lock().unwrap().confirmed.insert(id);
                    break;
                }
                Err(e) => {
                    note(
                        &shared,
                        format!("{:?} publish {id} failed: {e}", start.elapsed()),
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
}

/// Runs consumers one after another: a new one after each restart fault,
/// until told to finish.
async fn drive(
    scenario: Scenario,
    pulse: FakePulse,
    shared: Shared,
    restart: Arc<Notify>,
    finish: Arc<Notify>,
) {
    let mut generation = 0;
    loop {
        generation += 1;
        let consumer = loop {
            let mut builder = pulse
                .consumer(Bindings::new().with(Binding::new(EXCHANGE, "#"), |v: Value| v))
                .queue(scenario.queue.clone())
                .prefetch(scenario.prefetch)
                .reconnect(
                    Reconnect::default()
                        .initial_delay(Duration::from_millis(10))
                        .max_delay(Duration::from_millis(200))
                        .max_attempts(10_000),
                );
            if let Some(every) = scenario.recycle {
                builder = builder.recycle_interval(every);
            }
            if let Mode::Handler { policy, .. } = scenario.mode {
                builder = builder.retry(policy);
            }
            match builder.start().await {
                Ok(consumer) => break consumer,
                Err(e) => {
                    note(&shared, format!("consumer {generation} did not start: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        note(&shared, format!("consumer {generation} started"));
        let events = count_lost_acks(&consumer, shared.clone());
        let stop = consumer.shutdown_handle();
        let ended = match scenario.mode {
            Mode::Stream => {
                let consuming = stream(consumer, &scenario, shared.clone());
                tokio::pin!(consuming);
                tokio::select! {
                    biased;
                    report = &mut consuming => report,
                    () = restart.notified() => { stop.shutdown(); consuming.await }
                    () = finish.notified() => { stop.shutdown(); let r = consuming.await; events.await.ok(); note(&shared, "finished".into()); return finish_report(&shared, r) }
                }
            }
            Mode::Handler { concurrency, .. } => {
                let handler = handler(scenario.clone(), shared.clone());
                let running = tokio::spawn(consumer.run(concurrency, handler));
                let result = tokio::select! {
                    biased;
                    () = restart.notified() => { stop.shutdown(); running.await }
                    () = finish.notified() => { stop.shutdown(); let r = running.await; events.await.ok(); note(&shared, format!("finished: {:?}", r.as_ref().map(|r| r.is_ok()))); return }
                };
                note(
                    &shared,
                    format!("run ended: {:?}", result.as_ref().map(|r| r.is_ok())),
                );
                None
            }
        };
        events.await.ok();
        finish_report(&shared, ended);
        let pause = scenario
            .faults
            .iter()
            .filter_map(|(_, f)| match f {
                Fault::Restart(pause) => Some(*pause),
                _ => None,
            })
            .nth(generation - 1)
            .unwrap_or_default();
        tokio::time::sleep(pause).await;
    }
}

fn finish_report(shared: &Shared, report: Option<u64>) {
    if let Some(timed_out) = report {
        shared.lock().unwrap().timed_out += timed_out;
    }
}

/// Counts the acknowledgements the consumer reports lost, until it is gone.
fn count_lost_acks<M: Send + 'static>(
    consumer: &Consumer<M>,
    shared: Shared,
) -> tokio::task::JoinHandle<()> {
    let mut events = consumer.events();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ConsumerEvent::AcksLost { messages, .. }) => {
                    let mut o = shared.lock().unwrap();
                    o.lost_acks += messages;
                    push(&mut o, format!("lost {messages} ack(s)"));
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    panic!("the simulation missed {n} consumer events")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

/// Stream mode: acknowledges each message after its delay, or requeues it,
/// until the stream ends; then shuts down. Returns the shutdown's
/// timed-out count.
async fn stream(mut consumer: Consumer<Value>, scenario: &Scenario, shared: Shared) -> Option<u64> {
    let mut deliveries: BTreeMap<u64, u32> = BTreeMap::new();
    loop {
        match consumer.recv().await {
            None | Some(Err(ConsumeError::GaveUp(_))) => break,
            Some(Err(e)) => note(&shared, format!("stream error: {e}")),
            Some(Ok(message)) => {
                let id = message.payload["id"].as_u64().expect("an id");
                let count = deliveries.entry(id).or_default();
                *count += 1;
                let act = if *count > 10 {
                    Act::Ok {
                        delay: Duration::ZERO,
                    }
                } else {
                    scenario.act(id, *count)
                };
                delivered(&shared, id, None, message.redelivered);
                let shared = shared.clone();
                tokio::spawn(async move {
                    match act {
                        Act::Ok { delay } => {
                            tokio::time::sleep(delay).await;
                            let result = message.ack().await;
                            let mut o = shared.lock().unwrap();
                            push(&mut o, format!("ack {id}: {}", result.is_ok()));
                            if result.is_ok() {
                                *o.ok.entry(id).or_default() += 1;
                                o.ok_since_delivery.insert(id);
                            }
                        }
                        _ => {
                            let result = message.reject(true).await;
                            note(&shared, format!("requeue {id}: {}", result.is_ok()));
                        }
                    }
                });
            }
        }
    }
    let report = consumer.shutdown(SHUTDOWN).await;
    note(&shared, format!("shut down: {report:?}"));
    Some(report.timed_out)
}

/// Records a delivery.
fn delivered(shared: &Shared, id: u64, attempt: Option<u32>, redelivered: bool) {
    let mut o = shared.lock().unwrap();
    if o.ok_since_delivery.remove(&id) {
        o.after_ok += 1;
    }
    if let Some(attempt) = attempt {
        o.attempts.entry(id).or_default().push(attempt);
    }
    push(
        &mut o,
        format!("deliver {id} attempt {attempt:?} redelivered {redelivered}"),
    );
}

/// What a handler call returns.
type Handled =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), HandlerError>> + Send>>;

/// Handler mode's handler: does what the scenario says for the attempt.
fn handler(
    scenario: Scenario,
    shared: Shared,
) -> impl Fn(Message<Value>) -> Handled + Send + Sync + 'static {
    move |message: Message<Value>| {
        let id = message.payload["id"].as_u64().expect("an id");
        let attempt = message.attempt();
        delivered(&shared, id, Some(attempt), message.redelivered);
        let act = scenario.act(id, attempt);
        let shared = shared.clone();
        Box::pin(async move {
            match act {
                Act::Ok { delay } => {
                    tokio::time::sleep(delay).await;
                    let mut o = shared.lock().unwrap();
                    *o.ok.entry(id).or_default() += 1;
                    o.ok_since_delivery.insert(id);
                    push(&mut o, format!("handled {id} attempt {attempt}"));
                    Ok(())
                }
                Act::Fail => Err(HandlerError::msg(error_text(id, attempt, act))),
                Act::Fatal => Err(HandlerError::fatal(error_text(id, attempt, act))),
                Act::Panic => panic!("panic {id}/{attempt}"),
            }
        })
    }
}
