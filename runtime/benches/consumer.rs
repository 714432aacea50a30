//! The typed consumer (find the binding, parse the routing fields, decode the
//! payload, acknowledge) beside a bare lapin consumer (acknowledge only) of the
//! same messages, in the same run, on a live broker.
//!
//! ```text
//! scripts/rabbitmq.sh start
//! PULSE_TEST_URL=amqp://guest:guest@127.0.0.1:5672 \
//!   cargo bench -p pulse-binding --features client --bench consumer
//! ```
//!
//! Each iteration publishes a batch of hook-changed messages to the path's
//! queue (not timed), then times consuming and acknowledging all of them, one
//! acknowledgement awaited after another, with the same prefetch, both on a
//! current-thread tokio runtime and both acknowledging with
//! `Channel::basic_ack` (which `Message::ack` uses). Criterion reports each
//! path's throughput; then batches of the two paths taken in turns give both
//! rates and their ratio, printed last. Without a broker it says so and exits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use pulse_binding::Bindings;
use pulse_binding::client::{Consumer, PulseConfig, QueueSpec};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};
use tokio::runtime::Runtime;

/// Messages per timed batch.
const BATCH: u64 = 2_000;
const PREFETCH: u16 = 200;
/// Batches of each path, taken in turns, for the ratio.
const PAIRED_ROUNDS: usize = 15;
const BODY: &[u8] = br#"{"hookGroupId": "project-releng", "hookId": "nightly-l10n-signing", "extra": {"reason": "updated by ci"}}"#;

/// (nanoseconds, messages) per path, summed over the paired batches.
static BARE: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static TYPED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

struct Setup {
    exchange: String,
    bare_key: String,
    typed_key: String,
    publisher: Channel,
    _connection: Connection,
}

async fn setup(url: &str) -> Setup {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("connect");
    let publisher = connection.create_channel().await.expect("channel");
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    let exchange = "exchange/taskcluster-hooks/v1/hook-created".to_owned();
    publisher
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare the exchange");
    let run = std::process::id();
    Setup {
        exchange,
        bare_key: format!("bench-bare-{run}"),
        typed_key: format!("bench-typed-{run}"),
        publisher,
        _connection: connection,
    }
}

/// Publishes a batch with `key` and waits for every confirm.
async fn publish_batch(setup: &Setup, key: &str) {
    let mut confirms = Vec::with_capacity(BATCH as usize);
    for _ in 0..BATCH {
        confirms.push(
            setup
                .publisher
                .basic_publish(
                    setup.exchange.as_str().into(),
                    key.into(),
                    BasicPublishOptions::default(),
                    BODY,
                    BasicProperties::default()
                        .with_content_type("application/json".into())
                        .with_delivery_mode(2),
                )
                .await
                .expect("publish"),
        );
    }
    for confirm in confirms {
        confirm.await.expect("confirm");
    }
}

/// The bare lapin consumer: an exclusive queue bound with `key`.
async fn bare_consumer(url: &str, setup: &Setup) -> (lapin::Consumer, Channel, Connection) {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue");
    channel
        .queue_bind(
            queue.name().clone(),
            setup.exchange.as_str().into(),
            setup.bare_key.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await
        .expect("qos");
    let consumer = channel
        .basic_consume(
            queue.name().clone(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    (consumer, channel, connection)
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

/// Consumes and acknowledges one batch with the bare consumer; the time taken.
async fn bare_batch(consumer: &mut lapin::Consumer, channel: &Channel) -> Duration {
    let start = Instant::now();
    for _ in 0..BATCH {
        let delivery = next_delivery(consumer).await;
        // The typed consumer acknowledges on the channel too.
        channel
            .basic_ack(delivery.delivery_tag, BasicAckOptions::default())
            .await
            .expect("ack");
    }
    start.elapsed()
}

type Typed = Consumer<(HookCreated, HookChangedMessage)>;

/// Consumes, decodes and acknowledges one batch with the typed consumer.
async fn typed_batch(consumer: &mut Typed) -> Duration {
    let start = Instant::now();
    for _ in 0..BATCH {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("a message within 30 s")
            .expect("the consumer goes on")
            .expect("a decoded message");
        assert_eq!(message.payload.1.hook_id, "nightly-l10n-signing");
        message.ack().await.expect("ack");
    }
    start.elapsed()
}

fn record(totals: &[AtomicU64; 2], elapsed: Duration) {
    totals[0].fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    totals[1].fetch_add(BATCH, Ordering::Relaxed);
}

fn rate(totals: &[AtomicU64; 2]) -> f64 {
    let nanos = totals[0].load(Ordering::Relaxed) as f64;
    totals[1].load(Ordering::Relaxed) as f64 / (nanos / 1e9)
}

fn bench(c: &mut Criterion, runtime: &Runtime, url: &str) {
    let setup = runtime.block_on(setup(url));
    let (mut bare, bare_channel, _bare_connection) = runtime.block_on(bare_consumer(url, &setup));
    let config = PulseConfig::from_url(url).expect("a valid URL");
    let bindings = Bindings::new().with_key(
        HookCreated {
            reserved: Some(setup.typed_key.clone()),
        },
        |fields, message: HookChangedMessage| (fields, message),
    );
    let mut typed = runtime
        .block_on(
            Consumer::builder(config, bindings)
                .queue(QueueSpec::anonymous())
                .prefetch(PREFETCH)
                .declare_exchanges(true)
                .start(),
        )
        .expect("start the typed consumer");

    let mut group = c.benchmark_group("consume");
    group
        .throughput(Throughput::Elements(BATCH))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    group.bench_function("bare lapin (ack)", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    publish_batch(&setup, &setup.bare_key).await;
                    total += bare_batch(&mut bare, &bare_channel).await;
                }
                total
            })
        })
    });

    group.bench_function("typed (decode + ack)", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    publish_batch(&setup, &setup.typed_key).await;
                    total += typed_batch(&mut typed).await;
                }
                total
            })
        })
    });
    group.finish();

    // The ratio, from batches taken in turns, so that load from elsewhere on
    // the machine weighs on both paths alike.
    runtime.block_on(async {
        for _ in 0..PAIRED_ROUNDS {
            publish_batch(&setup, &setup.bare_key).await;
            record(&BARE, bare_batch(&mut bare, &bare_channel).await);
            publish_batch(&setup, &setup.typed_key).await;
            record(&TYPED, typed_batch(&mut typed).await);
        }
    });
}

fn main() {
    let url = std::env::var("PULSE_TEST_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let reachable = runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(5),
            Connection::connect(&url, ConnectionProperties::default()),
        )
        .await
        .is_ok_and(|c| c.is_ok())
    });
    if !reachable {
        eprintln!(
            "no broker at PULSE_TEST_URL (or amqp://guest:guest@127.0.0.1:5672): \
             run scripts/rabbitmq.sh start; skipping the consumer benchmark"
        );
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &runtime, &url);
    criterion.final_summary();

    let (bare, typed) = (rate(&BARE), rate(&TYPED));
    if bare.is_finite() && typed.is_finite() {
        println!(
            "paired batches ({PAIRED_ROUNDS} x {BATCH} messages each, in turns): \
             bare lapin {bare:.0} msg/s, typed {typed:.0} msg/s, typed/bare = {:.1}%",
            100.0 * typed / bare
        );
    }
}
