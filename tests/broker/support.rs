//! What the broker tests share: the broker's URL (or skipping), unique names,
//! `rabbitmqctl`, the lock that runs fault tests alone, raw lapin access, and
//! a log capture.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lapin::options::{ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use pulse_binding::client::{PulseConfig, Reconnect};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tracing_subscriber::filter::Targets;

/// The variable with the broker's URL, such as `amqp://guest:guest@127.0.0.1:5672`.
pub const URL_VAR: &str = "PULSE_TEST_URL";

/// Whether we run under CI, where skipping is failing.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The broker's URL, or `None` after saying why the test skips. Under CI a
/// missing broker fails the test.
pub fn broker_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if under_ci() => panic!(
            "CI is set but {URL_VAR} is not: the broker tests must run in CI \
             (scripts/rabbitmq.sh start, then {URL_VAR}=amqp://guest:guest@127.0.0.1:5672)"
        ),
        _ => {
            eprintln!(
                "skipped: no broker; run scripts/rabbitmq.sh start and set \
                 {URL_VAR}=amqp://guest:guest@127.0.0.1:5672 to run the broker tests"
            );
            None
        }
    }
}

/// `let url = broker!();` returns from the test (passing) when there is no broker.
macro_rules! broker {
    () => {
        match $crate::support::broker_url() {
            Some(url) => url,
            None => return,
        }
    };
}
pub(crate) use broker;

/// The client settings for the test broker.
pub fn config(url: &str) -> PulseConfig {
    PulseConfig::from_url(url)
        .expect("PULSE_TEST_URL is a valid AMQP URL")
        .with_connect_timeout(Duration::from_secs(5))
}

/// Fast reconnection for tests: 50 ms doubling up to 1 s, 120 attempts (about
/// two minutes, far more than a broker restart takes).
pub fn fast_reconnect() -> Reconnect {
    Reconnect::default()
        .initial_delay(Duration::from_millis(50))
        .max_delay(Duration::from_secs(1))
        .max_attempts(120)
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}-{:x}{:x}{n}",
        nanos % 0xffff_ffff_ffff,
        std::process::id()
    )
}

/// Awaits `future`, failing the test after `secs` seconds.
pub async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {secs}s: {what}"),
    }
}

/// Tests that stop the broker or drop every connection take it for writing;
/// the others for reading, so that they never run during a fault.
static FAULTS: RwLock<()> = RwLock::const_new(());

/// Held by a test that only uses the broker.
pub async fn shared() -> RwLockReadGuard<'static, ()> {
    FAULTS.read().await
}

/// Held by a test that injects faults: no other broker test runs meanwhile.
pub async fn exclusive() -> RwLockWriteGuard<'static, ()> {
    FAULTS.write().await
}

/// Runs `rabbitmqctl` against the local node, with the node name and epmd
/// address scripts/rabbitmq.sh uses unless the environment sets others.
pub async fn rabbitmqctl(args: &[&str]) -> Result<String, String> {
    let mut command = tokio::process::Command::new("rabbitmqctl");
    command.args(args).kill_on_drop(true);
    for (var, default) in [
        ("RABBITMQ_NODENAME", "rabbit@localhost"),
        ("ERL_EPMD_ADDRESS", "127.0.0.1"),
    ] {
        if std::env::var_os(var).is_none() {
            command.env(var, default);
        }
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .map_err(|_| format!("rabbitmqctl {args:?} took over 120s"))?
        .map_err(|e| format!("cannot run rabbitmqctl: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("rabbitmqctl {args:?} failed: {text}"))
    }
}

/// Whether `rabbitmqctl` can reach the node; if not, fault tests skip (and
/// fail under CI).
pub async fn have_rabbitmqctl() -> bool {
    match rabbitmqctl(&["status"]).await {
        Ok(_) => true,
        Err(e) if under_ci() => panic!("fault tests need rabbitmqctl under CI: {e}"),
        Err(e) => {
            eprintln!("skipped: fault tests need rabbitmqctl on the broker's host: {e}");
            false
        }
    }
}

/// A raw lapin connection to the test broker, for setting up and inspecting
/// it beside the client under test.
pub async fn raw_connection(url: &str) -> Connection {
    within(
        10,
        "raw connection",
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    .expect("connect to the test broker")
}

/// Closes a raw connection; a close the broker does not answer within 10 s
/// is given up on (the socket goes when the connection is dropped).
pub async fn close_raw(connection: &Connection) {
    let closing = connection.close(200, "bye".into());
    let _ = tokio::time::timeout(Duration::from_secs(10), closing).await;
}

/// How many messages are ready (not delivered) in `queue`, once the count
/// has settled.
pub async fn ready_count(url: &str, queue: &str) -> u32 {
    // A quorum queue applies acknowledgements and rejections through its
    // log, so its count can lag a moment behind them: read until two
    // readings 100 ms apart agree (at most about 3 s).
    let connection = raw_connection(url).await;
    let channel = connection.create_channel().await.expect("channel");
    let read = || async {
        channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("the queue exists")
            .message_count()
    };
    let mut count = read().await;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let again = read().await;
        if again == count {
            break;
        }
        count = again;
    }
    close_raw(&connection).await;
    count
}

/// Deletes test queues and exchanges; errors (already gone) are ignored, and
/// so is a broker that does not answer within 30 s.
pub async fn cleanup(url: &str, queues: &[&str], exchanges: &[&str]) {
    let _ = tokio::time::timeout(Duration::from_secs(30), delete(url, queues, exchanges)).await;
}

async fn delete(url: &str, queues: &[&str], exchanges: &[&str]) {
    let connection = raw_connection(url).await;
    for queue in queues {
        if let Ok(channel) = connection.create_channel().await {
            let _ = channel
                .queue_delete((*queue).into(), QueueDeleteOptions::default())
                .await;
        }
    }
    for exchange in exchanges {
        if let Ok(channel) = connection.create_channel().await {
            let _ = channel
                .exchange_delete((*exchange).into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    close_raw(&connection).await;
}

/// A global `tracing` subscriber that records every event and span field as
/// text while switched on, to check what reaches logs.
pub struct LogCapture {
    on: AtomicBool,
    /// What to record while on; everything when `None`.
    filter: Mutex<Option<Targets>>,
    text: Mutex<String>,
    next_span: AtomicU64,
}

impl LogCapture {
    /// The process's capture (installed on first use).
    pub fn get() -> &'static LogCapture {
        static CAPTURE: OnceLock<&'static LogCapture> = OnceLock::new();
        CAPTURE.get_or_init(|| {
            let capture: &'static LogCapture = Box::leak(Box::new(LogCapture {
                on: AtomicBool::new(false),
                filter: Mutex::new(None),
                text: Mutex::new(String::new()),
                next_span: AtomicU64::new(1),
            }));
            tracing::subscriber::set_global_default(Forward(capture))
                .expect("no other global subscriber in the broker tests");
            capture
        })
    }

    /// Records everything (at every level) until [`stop`](Self::stop).
    pub fn start(&self) {
        *self.filter.lock().unwrap() = None;
        self.text.lock().unwrap().clear();
        self.on.store(true, Ordering::SeqCst);
    }

    /// Records what `directives` (`tracing` filter directives, such as
    /// `trace,lapin::io_loop=debug`) let through, until [`stop`](Self::stop).
    pub fn start_filtered(&self, directives: &str) {
        let targets: Targets = directives.parse().expect("valid filter directives");
        *self.filter.lock().unwrap() = Some(targets);
        self.text.lock().unwrap().clear();
        self.on.store(true, Ordering::SeqCst);
    }

    /// Stops recording and returns what was recorded.
    pub fn stop(&self) -> String {
        self.on.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.text.lock().unwrap())
    }

    fn write(&self, level: &tracing::Level, target: &str, record: impl FnOnce(&mut Fields)) {
        let mut fields = Fields(String::new());
        record(&mut fields);
        let mut text = self.text.lock().unwrap();
        let _ = writeln!(text, "{level} {target}:{}", fields.0);
    }
}

struct Forward(&'static LogCapture);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for Forward {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // Ask `enabled` every time: recording is switched on and off.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        self.0.on.load(Ordering::Relaxed)
            && self
                .0
                .filter
                .lock()
                .unwrap()
                .as_ref()
                .is_none_or(|f| f.would_enable(meta.target(), meta.level()))
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let meta = span.metadata();
        self.0
            .write(meta.level(), meta.target(), |f| span.record(f));
        tracing::span::Id::from_u64(self.0.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.0
            .write(&tracing::Level::TRACE, "span", |f| values.record(f));
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        self.0
            .write(meta.level(), meta.target(), |f| event.record(f));
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// How many of the broker's connections have a client-given name
/// (`connection_name` property) starting with `prefix`.
pub async fn connections_named(prefix: &str) -> usize {
    let listing = rabbitmqctl(&["-q", "list_connections", "client_properties"])
        .await
        .expect("list connections");
    let needle = format!("{{\"connection_name\",\"{prefix}");
    listing
        .lines()
        .filter(|line| line.contains(&needle))
        .count()
}

/// Closes the broker's connections whose client-given name starts with
/// `prefix` (`rabbitmqctl close_connection`), and no other; returns how many.
/// The clients see a lost connection, as in a network fault, while every
/// other test's connections go on.
pub async fn close_connections_named(prefix: &str) -> usize {
    let listing = rabbitmqctl(&["-q", "list_connections", "pid", "client_properties"])
        .await
        .expect("list connections");
    let needle = format!("{{\"connection_name\",\"{prefix}");
    let pids: Vec<&str> = listing
        .lines()
        .filter(|line| line.contains(&needle))
        .filter_map(|line| line.split('\t').next())
        .collect();
    for pid in &pids {
        rabbitmqctl(&["close_connection", pid, "a test breaks this connection"])
            .await
            .expect("close the connection");
    }
    pids.len()
}

/// The operating-system process id of the broker's Erlang VM.
pub async fn broker_os_pid() -> String {
    let pid = rabbitmqctl(&["eval", "os:getpid()."])
        .await
        .expect("ask the broker its pid");
    pid.trim().trim_matches('"').to_owned()
}

/// Sends the broker's VM `SIGCONT` when dropped, so that a test that froze
/// it never leaves it frozen, whatever fails.
pub struct ThawOnDrop(pub String);

impl Drop for ThawOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0])
            .status();
    }
}

/// Waits for the first event that `pick` accepts, failing after `secs`.
pub async fn next_event<T>(
    events: &mut tokio::sync::broadcast::Receiver<pulse_binding::client::ConsumerEvent>,
    secs: u64,
    what: &str,
    mut pick: impl FnMut(&pulse_binding::client::ConsumerEvent) -> Option<T>,
) -> T {
    within(secs, what, async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("the consumer's events ended: {e}"),
            }
        }
    })
    .await
}

/// Puts the broker application back if a restart test fails half-way.
pub struct StartAppOnDrop(pub bool);

impl Drop for StartAppOnDrop {
    fn drop(&mut self) {
        if self.0 {
            let _ = std::process::Command::new("rabbitmqctl")
                .env(
                    "RABBITMQ_NODENAME",
                    std::env::var("RABBITMQ_NODENAME").unwrap_or("rabbit@localhost".into()),
                )
                .env(
                    "ERL_EPMD_ADDRESS",
                    std::env::var("ERL_EPMD_ADDRESS").unwrap_or("127.0.0.1".into()),
                )
                .arg("start_app")
                .status();
        }
    }
}
