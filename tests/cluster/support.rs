//! What the cluster tests share: the nodes' URLs (or skipping), the script
//! that kills and restarts nodes, publishing ids until confirmed, and a
//! consumer loop that records what arrived.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pulse_binding::client::{AckError, Consumer, Message, Publisher, PulseConfig, Reconnect};
use serde_json::{Value, json};
use tokio::sync::{Mutex as AsyncMutex, MutexGuard};

/// The variable with the nodes' URLs, comma-separated, in the order of
/// `scripts/rabbitmq-cluster.sh`'s node numbers (as its `start` prints them).
pub const URLS_VAR: &str = "PULSE_CLUSTER_URLS";

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The nodes' URLs, or `None` after saying why the test skips. Under CI a
/// missing cluster fails the test.
pub fn cluster_urls() -> Option<Vec<String>> {
    match std::env::var(URLS_VAR) {
        Ok(urls) if !urls.trim().is_empty() => {
            Some(urls.split(',').map(|u| u.trim().to_owned()).collect())
        }
        _ if under_ci() => panic!(
            "CI is set but {URLS_VAR} is not: the cluster tests must run in CI \
             (scripts/rabbitmq-cluster.sh start prints {URLS_VAR}=...)"
        ),
        _ => {
            eprintln!(
                "skipped: no cluster; run scripts/rabbitmq-cluster.sh start and set the \
                 {URLS_VAR}=... it prints to run the cluster tests"
            );
            None
        }
    }
}

/// `let urls = cluster!();` returns from the test (passing) without a cluster.
macro_rules! cluster {
    () => {
        match $crate::support::cluster_urls() {
            Some(urls) => urls,
            None => return,
        }
    };
}
pub(crate) use cluster;

/// Client settings for `urls`: quick to give up on a dead node.
pub fn config(urls: &[String]) -> PulseConfig {
    PulseConfig::from_urls(urls)
        .expect("PULSE_CLUSTER_URLS are URLs of one cluster")
        .with_connect_timeout(Duration::from_secs(5))
}

/// The URLs of every node but `node` (`host:port`).
pub fn others(urls: &[String], node: &str) -> Vec<String> {
    let nodes = config(urls).nodes();
    urls.iter()
        .zip(nodes)
        .filter(|(_, n)| n != node)
        .map(|(url, _)| url.clone())
        .collect()
}

/// Fast reconnection: 50 ms doubling up to 1 s, for two minutes.
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
    format!("{prefix}-{:x}{n}", nanos % 0xffff_ffff_ffff)
}

/// Awaits `future`, failing the test after `secs` seconds.
pub async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {secs}s: {what}"),
    }
}

/// The cluster tests kill nodes: one at a time.
static CLUSTER: AsyncMutex<()> = AsyncMutex::const_new(());

/// Held for a whole test. Starts whatever node an earlier test left down.
pub async fn exclusive() -> MutexGuard<'static, ()> {
    let guard = CLUSTER.lock().await;
    if script(&["status"]).await.is_err() {
        script(&["start"])
            .await
            .expect("start the cluster's missing nodes");
    }
    guard
}

fn script_path() -> String {
    format!(
        "{}/../scripts/rabbitmq-cluster.sh",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs `scripts/rabbitmq-cluster.sh` with `args`.
pub async fn script(args: &[&str]) -> Result<String, String> {
    let output = tokio::process::Command::new(script_path())
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", script_path()))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("rabbitmq-cluster.sh {args:?} failed: {text}"))
    }
}

/// The script's number (1, 2, 3) of `node` (`host:port`).
pub fn number_of(urls: &[String], node: &str) -> String {
    let position = config(urls)
        .nodes()
        .iter()
        .position(|n| n == node)
        .unwrap_or_else(|| panic!("{node} is not one of {urls:?}"));
    (position + 1).to_string()
}

/// Kills node `number` with `kill -9`; restarts it when dropped, so that a
/// failing test leaves the cluster whole for the next.
pub struct Killed(Option<String>);

impl Killed {
    pub async fn kill(number: &str) -> Self {
        script(&["kill", number]).await.expect("kill the node");
        Self(Some(number.to_owned()))
    }

    /// Restarts the node and waits for it to be back in the cluster.
    pub async fn restart(mut self) {
        let number = self.0.take().expect("killed");
        script(&["restart", &number])
            .await
            .expect("restart the node");
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(number) = self.0.take() {
            let _ = std::process::Command::new(script_path())
                .args(["restart", &number])
                .status();
        }
    }
}

/// What the publishers did: how many ids are confirmed, which needed
/// another try (they may be in the queue twice), and when the first confirm
/// came from a connection to another node than a given one.
#[derive(Default)]
pub struct Published {
    pub confirmed: AtomicU64,
    pub retried: Mutex<HashSet<u64>>,
    /// Failed publishes (each retried).
    pub failures: AtomicU64,
    /// The node to watch the publisher leave.
    pub leaving: Mutex<Option<String>>,
    /// When the first publish on a connection to another node than
    /// `leaving` was confirmed.
    pub first_elsewhere: Mutex<Option<Instant>>,
}
/// Publishes each of `ids` until the broker confirms it, `workers` at a time.
pub async fn publish_ids(
    publisher: Arc<Publisher>,
    exchange: Arc<str>,
    ids: std::ops::Range<u64>,
    workers: u64,
    published: Arc<Published>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..workers {
        let (publisher, exchange, published) =
            (publisher.clone(), exchange.clone(), published.clone());
        let ids = ids.clone().filter(move |id| id % workers == worker);
        tasks.spawn(async move {
            for id in ids {
                let body = serde_json::to_vec(&json!({ "id": id })).unwrap();
                let mut attempts = 0;
                loop {
                    match publisher
                        .publish_raw(&exchange, &format!("cluster.{id}"), &body)
                        .await
                    {
                        Ok(()) => {
                            let leaving = published.leaving.lock().unwrap().clone();
                            let mut first = published.first_elsewhere.lock().unwrap();
                            if first.is_none() && leaving.is_some() && publisher.node() != leaving {
                                *first = Some(Instant::now());
                            }
                            break;
                        }
                        Err(e) => {
                            attempts += 1;
                            published.failures.fetch_add(1, Ordering::Relaxed);
                            published.retried.lock().unwrap().insert(id);
                            assert!(attempts < 300, "publishing {id} keeps failing: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
                published.confirmed.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("publisher task");
    }
}

/// Waits until `published` has at least `count` confirms.
pub async fn confirmed_at_least(published: &Published, count: u64) {
    while published.confirmed.load(Ordering::Relaxed) < count {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What a consumer saw.
#[derive(Default, Debug)]
pub struct Seen {
    /// Receipts per id.
    pub receipts: HashMap<u64, u32>,
    /// Ids acknowledged (the broker confirmed nothing, but the ack was sent
    /// on the connection the message came on).
    pub acked: Vec<u64>,
    /// Deliveries marked redelivered.
    pub redelivered: u64,
    /// The ids of those.
    pub redelivered_ids: HashSet<u64>,
    /// When the first message came after the consumer's first reconnection.
    pub first_after_reconnect: Option<Instant>,
}

/// Consumes and acknowledges each message until `done` says so. With `hold`
/// set, keeps up to that many unacknowledged, checks that no more come while
/// it holds them (the prefetch), then acknowledges them together.
pub async fn consume(
    mut consumer: Consumer<Value>,
    hold: Option<usize>,
    mut done: impl FnMut(&Seen) -> bool,
) -> (Seen, Consumer<Value>) {
    let mut seen = Seen::default();
    let mut held = Vec::new();
    while !done(&seen) {
        let next = if hold.is_some_and(|n| held.len() >= n) {
            // The prefetch is full: nothing more may come until we ack.
            match tokio::time::timeout(Duration::from_millis(30), consumer.recv()).await {
                Ok(Some(Ok(extra))) => panic!(
                    "a message beyond the prefetch of {} came: {:?}",
                    held.len(),
                    extra.payload
                ),
                Ok(other) => panic!("the stream ended or failed: {other:?}"),
                Err(_) => None,
            }
        } else {
            match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
                Ok(Some(Ok(message))) => Some(message),
                Ok(Some(Err(e))) => panic!("the stream yielded an error: {e}"),
                Ok(None) => panic!("the stream ended"),
                Err(_) => None,
            }
        };
        if let Some(message) = next {
            let id = message.payload["id"].as_u64().expect("an id");
            *seen.receipts.entry(id).or_default() += 1;
            if message.redelivered {
                seen.redelivered += 1;
                seen.redelivered_ids.insert(id);
            }
            if consumer.reconnections() > 0 && seen.first_after_reconnect.is_none() {
                seen.first_after_reconnect = Some(Instant::now());
            }
            held.push(message);
            if hold.is_some() {
                // Acknowledged once the prefetch is full and checked, or idle.
                continue;
            }
        }
        ack_all(&mut held, &mut seen).await;
    }
    ack_all(&mut held, &mut seen).await;
    (seen, consumer)
}

async fn ack_all(held: &mut Vec<Message<Value>>, seen: &mut Seen) {
    for message in held.drain(..) {
        let id = message.payload["id"].as_u64().expect("an id");
        match message.ack().await {
            Ok(()) => seen.acked.push(id),
            // Sent again by the broker.
            Err(AckError::ConnectionLost { .. }) => {}
            Err(e) => panic!("ack of {id}: {e}"),
        }
    }
}
