//! Draining a pre-filled durable queue: the typed consumer beside bare lapin
//! at its best, in one run, paths taken in turns, on a live broker.
//!
//! ```text
//! scripts/rabbitmq.sh start
//! PULSE_TEST_URL=amqp://guest:guest@127.0.0.1:5672 \
//!   cargo bench -p pulse-binding --features client --bench consumer
//! ```
//!
//! Each round drains one queue per path, the paths in turns (the order rotates
//! from round to round, so that no path always goes first). Before its turn,
//! a path's durable queue gets `BENCH_MESSAGES` (50,000 unless set) persistent
//! hook-changed messages, published with confirms through a topic exchange,
//! then a pause of a second for the broker to settle (not timed); so every
//! path starts from the same state. The paths: bare lapin with
//! automatic acknowledgement (the broker's limit), with one cumulative
//! acknowledgement every so many messages, and with one
//! acknowledgement per message; the typed consumer (find the binding, parse
//! the routing key, decode the payload) with automatic acknowledgement, with
//! `ack()` spawned per message and with each `ack().await` in turn; and two
//! typed paths again on a multi-thread runtime with two workers, the others
//! running on a current-thread runtime. Every consumer has the same prefetch
//! (`BENCH_PREFETCH`, 1,000 unless set); bare lapin acknowledges cumulatively
//! every `BENCH_ACK_EVERY` (250 unless set) messages: the best of prefetch
//! 200, 500 and 1,000 with every 50, 100 and 250 in a sweep on the machine
//! this was written on (`BENCH_PATHS=1`), though under load the differences
//! were within the noise.
//!
//! A path's time runs from its first delivery to its last message handled
//! (acknowledged, for the paths that acknowledge), and its rate is the
//! messages after the first over that time. The prefetch keeps at most that
//! many messages unacknowledged, so a path cannot run ahead of its
//! acknowledgements. After each path its connection is closed and its queue
//! checked empty: every acknowledgement took effect. Over the same time the
//! bench reads the CPU time (user + system) of this process and, when the
//! broker runs on this machine, of the broker (`/proc/<pid>/stat`; the pid
//! from `BENCH_BROKER_PID`, or `rabbitmqctl eval 'os:getpid().'` for the node
//! `RABBITMQ_NODENAME`, `rabbit@localhost` unless set), per message, and
//! counts this process's allocations per message (a counting global allocator).
//!
//! It prints each round, then each path's median rate and CPU time per
//! message, and the ratios between paths, each the median of the rounds'
//! ratios. `BENCH_ROUNDS` sets the rounds (3 unless set); `BENCH_PATHS` (such
//! as `1,4`) runs only those paths, numbered from 0 in the order above, to
//! tune a setting or profile one path. Without a broker it says so and exits.
//! Built with `--features client,metrics`, it installs a Prometheus recorder
//! first, so the typed paths pay for their metrics.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use pulse_binding::Bindings;
use pulse_binding::client::{Consumer, PulseConfig, QueueSpec};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};
use tokio::runtime::Runtime;

const EXCHANGE: &str = "exchange/taskcluster-hooks/v1/hook-created";
const BODY: &[u8] = br#"{"hookGroupId": "project-releng", "hookId": "nightly-l10n-signing", "extra": {"reason": "updated by ci"}}"#;
/// The pause between filling a queue and draining it.
const SETTLE: Duration = Duration::from_secs(1);
/// Confirms awaited at a time while filling.
const CONFIRM_WINDOW: usize = 5_000;

/// The system allocator, counting allocations (all threads of the process).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's guarantees for `layout` hold for `System` too.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How a path acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ack {
    /// The broker counts a message acknowledged as it sends it (`no-ack`).
    Auto,
    /// Bare lapin: `basic.ack` with `multiple` every so many messages.
    Cumulative,
    /// One acknowledgement per message, spawned (not awaited in turn).
    Spawned,
    /// One acknowledgement per message, each awaited before the next message.
    Awaited,
}

/// One way of draining a queue.
#[derive(Debug, Clone, Copy)]
struct Path {
    name: &'static str,
    typed: bool,
    ack: Ack,
    /// On the multi-thread runtime (two workers) instead of the current-thread one.
    multi_thread: bool,
}

const PATHS: &[Path] = &[
    Path {
        name: "bare lapin, auto-ack (the limit)",
        typed: false,
        ack: Ack::Auto,
        multi_thread: false,
    },
    Path {
        name: "bare lapin, cumulative basic.ack",
        typed: false,
        ack: Ack::Cumulative,
        multi_thread: false,
    },
    Path {
        name: "bare lapin, basic.ack per message, spawned",
        typed: false,
        ack: Ack::Spawned,
        multi_thread: false,
    },
    Path {
        name: "typed, auto_ack(true)",
        typed: true,
        ack: Ack::Auto,
        multi_thread: false,
    },
    Path {
        name: "typed, ack() spawned",
        typed: true,
        ack: Ack::Spawned,
        multi_thread: false,
    },
    Path {
        name: "typed, ack().await in turn",
        typed: true,
        ack: Ack::Awaited,
        multi_thread: false,
    },
    Path {
        name: "typed, auto_ack(true), multi-thread",
        typed: true,
        ack: Ack::Auto,
        multi_thread: true,
    },
    Path {
        name: "typed, ack() spawned, multi-thread",
        typed: true,
        ack: Ack::Spawned,
        multi_thread: true,
    },
];

/// The ratios printed: (numerator path, denominator path), indices in `PATHS`.
const RATIOS: &[(usize, usize)] = &[
    (4, 1),
    (3, 0),
    (5, 1),
    (1, 0),
    (2, 1),
    (4, 2),
    (6, 3),
    (7, 4),
];

struct Settings {
    url: String,
    user: String,
    messages: u64,
    rounds: usize,
    prefetch: u16,
    ack_every: u64,
    broker: Option<PathBuf>,
    /// Indices in `PATHS` of the paths to run.
    paths: Vec<usize>,
}

/// What one path measured in one round.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rate: f64,
    /// Microseconds of CPU per message: this process, and the broker.
    client_us: f64,
    broker_us: Option<f64>,
    /// Allocations per message in this process (every thread).
    allocations: f64,
}

/// The CPU time of a process so far (`utime + stime`), from `/proc/<pid>/stat`.
fn cpu_time(stat: &std::path::Path) -> Option<Duration> {
    let text = std::fs::read_to_string(stat).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let mut fields = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // Clock ticks; Linux reports them in hundredths of a second (USER_HZ).
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Reads the CPU time of this process and of the broker at the start and at
/// the end of a timed stretch.
struct CpuClock<'a> {
    broker: Option<&'a std::path::Path>,
    start: (Option<Duration>, Option<Duration>),
    allocations: u64,
}

impl<'a> CpuClock<'a> {
    fn start(broker: Option<&'a std::path::Path>) -> Self {
        let start = (
            cpu_time("/proc/self/stat".as_ref()),
            broker.and_then(cpu_time),
        );
        let allocations = ALLOCATIONS.load(Ordering::Relaxed);
        Self {
            broker,
            start,
            allocations,
        }
    }

    /// Microseconds per message since the start: this process, the broker.
    fn per_message(&self, messages: u64) -> (f64, Option<f64>) {
        let per = |before: Option<Duration>, after: Option<Duration>| {
            Some((after? - before?).as_secs_f64() * 1e6 / messages as f64)
        };
        let client = per(self.start.0, cpu_time("/proc/self/stat".as_ref()));
        let broker = per(self.start.1, self.broker.and_then(cpu_time));
        (client.unwrap_or(f64::NAN), broker)
    }
}

/// Times draining: started at the first message, ended after the last.
struct Stopwatch<'a> {
    started: Option<(Instant, CpuClock<'a>)>,
    broker: Option<&'a std::path::Path>,
}

impl<'a> Stopwatch<'a> {
    fn new(broker: Option<&'a std::path::Path>) -> Self {
        Self {
            started: None,
            broker,
        }
    }

    fn first(&mut self) {
        self.started = Some((Instant::now(), CpuClock::start(self.broker)));
    }

    fn stop(self, messages: u64) -> Sample {
        let (start, cpu) = self.started.expect("at least one message");
        let elapsed = start.elapsed();
        let (client_us, broker_us) = cpu.per_message(messages - 1);
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - cpu.allocations;
        Sample {
            rate: (messages - 1) as f64 / elapsed.as_secs_f64(),
            client_us,
            broker_us,
            allocations: allocations as f64 / (messages - 1) as f64,
        }
    }
}

async fn connect(url: &str) -> Connection {
    Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("connect")
}

/// Declares a durable queue bound with `key` and publishes `messages` to it,
/// waiting for every confirm.
async fn fill(publisher: &Channel, queue: &str, key: &str, messages: u64) {
    let declared = publisher
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare a queue");
    assert_eq!(declared.message_count(), 0, "queue {queue} is new");
    publisher
        .queue_bind(
            queue.into(),
            EXCHANGE.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2);
    let mut confirms = Vec::with_capacity(CONFIRM_WINDOW);
    for sent in 1..=messages {
        let confirm = publisher
            .basic_publish(
                EXCHANGE.into(),
                key.into(),
                BasicPublishOptions::default(),
                BODY,
                properties.clone(),
            )
            .await
            .expect("publish");
        confirms.push(confirm);
        if confirms.len() == CONFIRM_WINDOW || sent == messages {
            for confirm in confirms.drain(..) {
                assert!(confirm.await.expect("confirm").is_ack(), "broker nacked");
            }
        }
    }
    assert_eq!(
        depth(publisher, queue).await,
        messages,
        "queue {queue} filled"
    );
}

/// The messages ready in `queue`.
async fn depth(channel: &Channel, queue: &str) -> u64 {
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("passive declare");
    declared.message_count().into()
}

/// Checks that a drained queue holds nothing (every acknowledgement took
/// effect; its consumer's connection is closed) and deletes it.
async fn check_and_delete(channel: &Channel, queue: &str, path: &Path) {
    let left = depth(channel, queue).await;
    if left != 0 {
        eprintln!(
            "warning: {left} messages left in the queue of `{}`",
            path.name
        );
    }
    channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await
        .expect("delete the queue");
}

async fn next_delivery(consumer: &mut lapin::Consumer) -> lapin::message::Delivery {
    let next = std::future::poll_fn(|cx| {
        futures_core::Stream::poll_next(std::pin::Pin::new(&mut *consumer), cx)
    });
    tokio::time::timeout(Duration::from_secs(30), next)
        .await
        .expect("a delivery within 30 s")
        .expect("the consumer goes on")
        .expect("a delivery")
}

/// Drains `queue` with a bare lapin consumer.
async fn drain_bare(settings: &Settings, queue: &str, ack: Ack) -> Sample {
    let connection = connect(&settings.url).await;
    let channel = connection.create_channel().await.expect("channel");
    channel
        .basic_qos(settings.prefetch, BasicQosOptions::default())
        .await
        .expect("qos");
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: ack == Ack::Auto,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let mut watch = Stopwatch::new(settings.broker.as_deref());
    let mut last = None;
    for seen in 1..=settings.messages {
        let delivery = next_delivery(&mut consumer).await;
        if seen == 1 {
            watch.first();
        }
        let tag = delivery.delivery_tag;
        std::hint::black_box(delivery);
        match ack {
            Ack::Auto => {}
            Ack::Cumulative => {
                if seen % settings.ack_every == 0 || seen == settings.messages {
                    channel
                        .basic_ack(tag, BasicAckOptions { multiple: true })
                        .await
                        .expect("ack");
                }
            }
            Ack::Spawned => {
                let channel = channel.clone();
                last = Some(tokio::spawn(async move {
                    channel.basic_ack(tag, BasicAckOptions::default()).await
                }));
            }
            Ack::Awaited => channel
                .basic_ack(tag, BasicAckOptions::default())
                .await
                .expect("ack"),
        }
    }
    if let Some(last) = last {
        last.await.expect("the ack task").expect("ack");
    }
    let sample = watch.stop(settings.messages);
    connection.close(200, "done".into()).await.expect("close");
    sample
}

type Typed = Consumer<(HookCreated, HookChangedMessage)>;

/// Drains the queue `queue/<user>/<name>` with the typed consumer.
async fn drain_typed(settings: &Settings, name: &str, key: &str, ack: Ack) -> Sample {
    let config = PulseConfig::from_url(&settings.url).expect("a valid URL");
    let bindings = Bindings::new().with_key(
        HookCreated {
            reserved: Some(key.to_owned()),
        },
        |fields, message: HookChangedMessage| (fields, message),
    );
    let mut consumer: Typed = Consumer::builder(config, bindings)
        // The classic durable queue `fill` declared, as the bare paths drain.
        .queue(QueueSpec::named(name).quorum(false))
        .prefetch(settings.prefetch)
        .auto_ack(ack == Ack::Auto)
        .start()
        .await
        .expect("start the typed consumer");
    let mut watch = Stopwatch::new(settings.broker.as_deref());
    let mut last = None;
    for seen in 1..=settings.messages {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("a message within 30 s")
            .expect("the consumer goes on")
            .expect("a decoded message");
        if seen == 1 {
            watch.first();
        }
        assert_eq!(message.payload.1.hook_id, "nightly-l10n-signing");
        match ack {
            Ack::Auto => drop(message),
            Ack::Spawned => last = Some(tokio::spawn(message.ack())),
            Ack::Awaited => message.ack().await.expect("ack"),
            Ack::Cumulative => unreachable!("the typed consumer has no cumulative ack"),
        }
    }
    if let Some(last) = last {
        last.await.expect("the ack task").expect("ack");
    }
    let sample = watch.stop(settings.messages);
    assert_eq!(
        consumer.reconnections(),
        0,
        "the connection was lost mid-turn"
    );
    let report = consumer.shutdown(Duration::from_secs(10)).await;
    assert_eq!(report.stats.lost_acks, 0, "no acknowledgement lost");
    sample
}

/// A connection and channel in confirm mode for filling queues, with the
/// exchange declared; `None` if the broker cannot be reached.
async fn open_publisher(url: &str) -> Option<(Connection, Channel)> {
    let connection = tokio::time::timeout(
        Duration::from_secs(5),
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    .ok()?
    .ok()?;
    let channel = connection.create_channel().await.ok()?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .ok()?;
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .ok()?;
    Some((connection, channel))
}

/// Deletes `queue` if it is there, ignoring errors: after an interrupted turn.
async fn delete_quietly(url: &str, queue: &str) {
    if let Some((connection, channel)) = open_publisher(url).await {
        let _ = channel
            .queue_delete(queue.into(), QueueDeleteOptions::default())
            .await;
        let _ = connection.close(200, "done".into()).await;
    }
}

/// Runs `future` on the path's runtime. Never inlined, so that
/// `scripts/bench-metrics-instructions.sh` can count the instructions spent
/// inside it (callgrind's `--toggle-collect`): the drain, and nothing else.
#[inline(never)]
fn on<F: Future>(path: &Path, current: &Runtime, multi: &Runtime, future: F) -> F::Output {
    if path.multi_thread {
        multi.block_on(future)
    } else {
        current.block_on(future)
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a valid number")),
        Err(_) => default,
    }
}

/// The broker's `/proc/<pid>/stat`, if the broker runs on this machine and
/// its pid can be found.
fn broker_stat() -> Option<PathBuf> {
    let pid = match std::env::var("BENCH_BROKER_PID") {
        Ok(pid) => pid,
        Err(_) => {
            let node = std::env::var("RABBITMQ_NODENAME")
                .unwrap_or_else(|_| "rabbit@localhost".to_owned());
            let output = std::process::Command::new("rabbitmqctl")
                .args(["-n", &node, "eval", "os:getpid()."])
                .env("ERL_EPMD_ADDRESS", "127.0.0.1")
                .output()
                .ok()?;
            String::from_utf8_lossy(&output.stdout)
                .trim()
                .trim_matches('"')
                .to_owned()
        }
    };
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    cpu_time(&stat).map(|_| stat)
}

fn main() {
    // With the `metrics` feature, the typed paths record to a real recorder,
    // as a service would: Prometheus's, without its HTTP listener (nothing
    // scrapes it during the run). docs/benchmarks.md compares this build with
    // one without the feature, in paired rounds.
    #[cfg(feature = "metrics")]
    {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("the only recorder");
        println!("metrics: recorded to a Prometheus recorder");
    }
    let url = std::env::var("PULSE_TEST_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".to_owned());
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let publisher = current.block_on(open_publisher(&url));
    let Some(publisher) = publisher else {
        eprintln!(
            "no broker at PULSE_TEST_URL (or amqp://guest:guest@127.0.0.1:5672): \
             run scripts/rabbitmq.sh start; skipping the consumer benchmark"
        );
        return;
    };
    let user = url::Url::parse(&url)
        .ok()
        .map(|u| u.username().to_owned())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "guest".to_owned());
    let settings = Settings {
        user,
        messages: env_or("BENCH_MESSAGES", 50_000u64).max(2),
        rounds: env_or("BENCH_ROUNDS", 3usize).max(1),
        prefetch: env_or("BENCH_PREFETCH", 1_000u16),
        ack_every: env_or("BENCH_ACK_EVERY", 250u64).max(1),
        broker: broker_stat(),
        paths: match std::env::var("BENCH_PATHS") {
            Ok(list) => list
                .split(',')
                .map(|i| match i.trim().parse() {
                    Ok(i) if i < PATHS.len() => i,
                    _ => panic!(
                        "BENCH_PATHS: {i:?} is not a path number below {}",
                        PATHS.len()
                    ),
                })
                .collect(),
            Err(_) => (0..PATHS.len()).collect(),
        },
        url,
    };
    drop(publisher);
    println!(
        "{} messages per path and round, {} rounds, prefetch {}, cumulative ack every {}; \
         broker CPU {}",
        settings.messages,
        settings.rounds,
        settings.prefetch,
        settings.ack_every,
        match &settings.broker {
            Some(stat) => format!("from {}", stat.display()),
            None => "not available".to_owned(),
        }
    );

    let run = std::process::id();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); PATHS.len()];
    for round in 0..settings.rounds {
        println!("round {}:", round + 1);
        let count = settings.paths.len();
        for turn in 0..count {
            let i = settings.paths[(turn + round) % count];
            let path = &PATHS[i];
            // The broker is shared: another program may close every
            // connection mid-turn. Such a turn is run again on a fresh queue.
            let mut attempt = 0;
            let (sample, filled) = loop {
                attempt += 1;
                let key = format!("bench-{run}-{round}-{i}-{attempt}");
                let name = format!("bench-consumer-{run}-{round}-{i}-{attempt}");
                let queue = QueueSpec::named(name.as_str())
                    .full_name(&settings.user)
                    .expect("a valid queue name");
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let (connection, publisher) = current
                        .block_on(open_publisher(&settings.url))
                        .expect("a publisher");
                    let filling = Instant::now();
                    current.block_on(fill(&publisher, &queue, &key, settings.messages));
                    let filled = filling.elapsed();
                    // The same pause after every fill, for the broker to settle.
                    std::thread::sleep(SETTLE);
                    let sample = if path.typed {
                        on(
                            path,
                            &current,
                            &multi,
                            drain_typed(&settings, &name, &key, path.ack),
                        )
                    } else {
                        on(
                            path,
                            &current,
                            &multi,
                            drain_bare(&settings, &queue, path.ack),
                        )
                    };
                    current.block_on(async {
                        check_and_delete(&publisher, &queue, path).await;
                        let _ = connection.close(200, "done".into()).await;
                    });
                    (sample, filled)
                }));
                match result {
                    Ok(done) => break done,
                    Err(_) if attempt < 3 => {
                        eprintln!("  `{}` was interrupted; running it again", path.name);
                        current.block_on(delete_quietly(&settings.url, &queue));
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            };
            println!(
                "  {:<44} {:>8.0} msg/s  client {:>5.1} µs/msg {:>5.1} allocations/msg  broker {}  (filled in {:.1} s)",
                path.name,
                sample.rate,
                sample.client_us,
                sample.allocations,
                sample
                    .broker_us
                    .map_or("-".to_owned(), |us| format!("{us:5.1} µs/msg")),
                filled.as_secs_f64()
            );
            samples[i].push(sample);
        }
    }

    println!(
        "\nmedian of {} rounds ({} messages each):",
        settings.rounds, settings.messages
    );
    println!(
        "| path | msg/s (rounds) | median msg/s | client CPU µs/msg | allocations/msg | broker CPU µs/msg |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (path, samples) in PATHS.iter().zip(&samples) {
        if samples.is_empty() {
            continue;
        }
        let rounds: Vec<String> = samples
            .iter()
            .map(|s| format!("{:.1}k", s.rate / 1e3))
            .collect();
        let mut rates: Vec<f64> = samples.iter().map(|s| s.rate).collect();
        let mut client: Vec<f64> = samples.iter().map(|s| s.client_us).collect();
        let mut broker: Vec<f64> = samples.iter().filter_map(|s| s.broker_us).collect();
        let mut allocations: Vec<f64> = samples.iter().map(|s| s.allocations).collect();
        println!(
            "| {} | {} | {:.1}k | {:.1} | {:.1} | {} |",
            path.name,
            rounds.join(", "),
            median(&mut rates) / 1e3,
            median(&mut client),
            median(&mut allocations),
            if broker.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.1}", median(&mut broker))
            }
        );
    }
    println!("\n| ratio | rounds | median |");
    println!("| --- | --- | --- |");
    for &(a, b) in RATIOS {
        if samples[a].is_empty() || samples[b].is_empty() {
            continue;
        }
        let mut ratios: Vec<f64> = samples[a]
            .iter()
            .zip(&samples[b])
            .map(|(x, y)| x.rate / y.rate)
            .collect();
        let rounds: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "| {} / {} | {} | {:.2}x |",
            PATHS[a].name,
            PATHS[b].name,
            rounds.join(", "),
            median(&mut ratios)
        );
    }
}
