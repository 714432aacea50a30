//! A service on Pulse, the way one runs in production: handler mode with
//! retries and a dead-letter queue, metrics for Prometheus, JSON logs, and a
//! graceful shutdown on SIGTERM or SIGINT.
//!
//! ```sh
//! scripts/rabbitmq.sh start
//! PULSE_URL=amqp://guest:guest@127.0.0.1:5672 PULSE_DECLARE_EXCHANGES=1 \
//!   cargo run -p pulse-binding-examples --features client --example service
//! curl -s http://127.0.0.1:9464/metrics     # another terminal
//! ```
//!
//! Settings, from the environment: `PULSE_URL` (with `PULSE_USERNAME` and
//! `PULSE_PASSWORD` if the URL has no credentials), `SERVICE_QUEUE` (the
//! named queue, `queue/<user>/hook-archive` by default), `METRICS_ADDR`
//! (`127.0.0.1:9464`), `PULSE_DECLARE_EXCHANGES=1` on a broker of your own
//! (Pulse's exchanges belong to their services), and `RUST_LOG` (`info`).
//! The metrics' names and an alert rule: docs/observability.md.

use std::collections::HashSet;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use pulse_binding::Bindings;
use pulse_binding::client::{
    Consumer, DURATION_BUCKETS, HandlerError, Message, PulseConfig, QueueSpec, RetryPolicy,
};
use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// What the service does with a hook: a store that is sometimes down.
#[derive(Default)]
struct Archive {
    hooks: Mutex<HashSet<String>>,
}

impl Archive {
    /// Stores `hook`; a hook id starting with `flaky-` finds the store down
    /// at the first attempt (to show a retry).
    async fn store(&self, hook: &HookChangedMessage, attempt: u32) -> Result<(), HandlerError> {
        if hook.hook_id.is_empty() {
            return Err(HandlerError::fatal("a hook without an id")); // to the dead letters
        }
        if hook.hook_id.starts_with("flaky-") && attempt == 1 {
            return Err(HandlerError::msg("the archive is unavailable")); // retried later
        }
        let id = format!("{}/{}", hook.hook_group_id, hook.hook_id);
        self.hooks.lock().unwrap().insert(id);
        Ok(())
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // JSON logs on stdout. lapin's `trace` logs would show the login frame:
    // keep its frame targets at `debug` (see `PulseConfig`).
    let filter: Targets = format!(
        "{},lapin::io_loop=debug,lapin::frames=debug",
        env_or("RUST_LOG", "info")
    )
    .parse()?;
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(std::io::stdout);
    tracing_subscriber::registry()
        .with(json.with_filter(filter))
        .init();

    // Metrics: the Prometheus recorder first, so the consumer records to it.
    let addr: SocketAddr = env_or("METRICS_ADDR", "127.0.0.1:9464").parse()?;
    let mut prometheus = PrometheusBuilder::new().with_http_listener(addr);
    for name in [
        "messaging.process.duration",
        "messaging.client.operation.duration",
    ] {
        prometheus =
            prometheus.set_buckets_for_metric(Matcher::Full(name.into()), &DURATION_BUCKETS)?;
    }
    prometheus.install()?;
    info!(%addr, "serving metrics on /metrics");

    let url = env_or("PULSE_URL", "amqp://guest:guest@127.0.0.1:5672");
    let config = PulseConfig::from_url(&url)?;
    let bindings = Bindings::new()
        .with(HookCreated::default(), |m: HookChangedMessage| m)
        .with(HookDeleted::default(), |m: HookChangedMessage| m);
    let consumer = Consumer::builder(config, bindings)
        .queue(QueueSpec::named(env_or("SERVICE_QUEUE", "hook-archive")).max_length(5_000))
        .declare_exchanges(std::env::var("PULSE_DECLARE_EXCHANGES").is_ok_and(|v| v == "1"))
        .retry(RetryPolicy::new(5).delay(Duration::from_millis(200), Duration::from_secs(60)))
        .start()
        .await?;

    // SIGTERM (an orchestrator) or SIGINT (Ctrl-C): stop taking messages;
    // `run` returns once the running handlers are done and settled.
    let stop = consumer.shutdown_handle();
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::select! {
                _ = terminate.recv() => info!(signal = "SIGTERM", "shutting down"),
                _ = tokio::signal::ctrl_c() => info!(signal = "SIGINT", "shutting down"),
            }
            stop.shutdown();
        }
    });

    let archive = Arc::new(Archive::default());
    let handler = move |message: Message<HookChangedMessage>| {
        let archive = archive.clone();
        async move {
            // Inside the message's `process {exchange}` span.
            let attempt = message.attempt();
            archive.store(&message.payload, attempt).await?;
            info!(attempt, "archived a hook");
            Ok::<(), HandlerError>(())
        }
    };
    if let Err(e) = consumer.run(16, handler).await {
        warn!(error = %e, "the consumer gave up");
        return Err(e.into());
    }
    info!("stopped");
    Ok(())
}
