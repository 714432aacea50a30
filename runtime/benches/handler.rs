//! Handler mode (`Consumer::run` with a handler that does nothing) beside the
//! stream API (`recv` then `ack`) on the same messages, in the same run, on a
//! live broker: what the handler machinery costs per message.
//!
//! ```text
//! scripts/rabbitmq.sh start
//! PULSE_TEST_URL=amqp://guest:guest@127.0.0.1:5672 \
//!   cargo bench -p pulse-binding --features client --bench handler
//! ```
//!
//! Each round fills a durable queue with `MESSAGES` persistent hook-changed
//! messages (not timed), then times draining it, taking the two paths in
//! turns; it prints each round's rates and the median ratio. Without a broker
//! it says so and exits.

use std::time::{Duration, Instant};

use pulse_binding::Bindings;
use pulse_binding::client::{Consumer, Publisher, PulseConfig, QueueSpec};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};

const MESSAGES: u64 = 20_000;
const ROUNDS: usize = 5;
const PREFETCH: u16 = 256;
const CONCURRENCY: usize = 64;

fn bindings() -> Bindings<HookChangedMessage> {
    Bindings::new().with(HookCreated::default(), |m: HookChangedMessage| m)
}

async fn consumer(config: &PulseConfig, queue: &QueueSpec) -> Consumer<HookChangedMessage> {
    Consumer::builder(config.clone(), bindings())
        .queue(queue.clone())
        .prefetch(PREFETCH)
        .declare_exchanges(true)
        .start()
        .await
        .expect("consumer")
}

async fn fill(config: &PulseConfig, queue: &QueueSpec) {
    consumer(config, queue).await.close().await;
    let publisher =
        std::sync::Arc::new(Publisher::connect(config.clone()).await.expect("publisher"));
    let binding = HookCreated {
        reserved: Some("_".into()),
    };
    let message = HookChangedMessage {
        hook_group_id: "project-releng".into(),
        hook_id: "nightly-l10n-signing".into(),
        ..Default::default()
    };
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..32 {
        let (publisher, binding, message) = (publisher.clone(), binding.clone(), message.clone());
        tasks.spawn(async move {
            for _ in (worker..MESSAGES).step_by(32) {
                publisher
                    .publish(&binding, &message)
                    .await
                    .expect("publish");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

async fn stream(config: &PulseConfig, queue: &QueueSpec) -> Duration {
    let mut consumer = consumer(config, queue).await;
    let started = Instant::now();
    for _ in 0..MESSAGES {
        let message = consumer.recv().await.expect("open").expect("a message");
        message.ack().await.expect("ack");
    }
    let elapsed = started.elapsed();
    consumer.shutdown(Duration::from_secs(10)).await;
    elapsed
}

async fn handler(config: &PulseConfig, queue: &QueueSpec) -> Duration {
    let consumer = consumer(config, queue).await;
    let stop = consumer.shutdown_handle();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let done = std::sync::Mutex::new(Some(done_tx));
    let started = Instant::now();
    let counter = count.clone();
    let run = tokio::spawn(consumer.run(CONCURRENCY, move |_message| {
        if counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 == MESSAGES
            && let Some(done) = done.lock().unwrap().take()
        {
            let _ = done.send(Instant::now());
        }
        async { Ok::<(), std::io::Error>(()) }
    }));
    let finished = done_rx.await.expect("every message handled");
    stop.shutdown();
    run.await.expect("run task").expect("run");
    finished - started
}

fn main() {
    let Some(url) = std::env::var("PULSE_TEST_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "no broker: set PULSE_TEST_URL (scripts/rabbitmq.sh start) to run this benchmark"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let config = PulseConfig::from_url(&url).expect("PULSE_TEST_URL");
        let name = format!("bench-handler-{}", std::process::id());
        let queue = QueueSpec::named(&name);
        let mut ratios = Vec::new();
        println!("round  stream msg/s  run msg/s  run/stream");
        for round in 1..=ROUNDS {
            let rate = |d: Duration| MESSAGES as f64 / d.as_secs_f64();
            fill(&config, &queue).await;
            let s = rate(stream(&config, &queue).await);
            fill(&config, &queue).await;
            let h = rate(handler(&config, &queue).await);
            ratios.push(h / s);
            println!("{round:>5}  {s:>12.0}  {h:>9.0}  {:>10.2}", h / s);
        }
        ratios.sort_by(f64::total_cmp);
        println!("median run/stream: {:.2}", ratios[ratios.len() / 2]);
        // Remove the queue.
        let (connection, _) = (
            lapin::Connection::connect(&url, Default::default())
                .await
                .expect("connect"),
            (),
        );
        let channel = connection.create_channel().await.expect("channel");
        let _ = channel
            .queue_delete(
                queue
                    .full_name(config.username())
                    .expect("name")
                    .as_str()
                    .into(),
                Default::default(),
            )
            .await;
    });
}
