//! The public consumer: [`Consumer`] (a queue bound with a list of bindings,
//! as a stream of typed messages that survives connection losses, and shuts
//! down in order), its builder, [`Message`](crate::client::Message), the
//! [`QueueSpec`](crate::client::QueueSpec), the reconnection policy, and the
//! stats and events it reports. It drives `session/` (the engine) and uses
//! `connect/` only through the config it is given.

pub(crate) mod builder;
pub(crate) mod message;
pub(crate) mod queue;
pub(crate) mod reconnect;
pub(crate) mod stats;

use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::debug;

use crate::client::connect::config::PulseConfig;
use crate::client::consumer::builder::ConsumerBuilder;
use crate::client::consumer::stats::{ConsumerEvent, ConsumerStats, Monitor};
use crate::client::handler::retry::RetryPolicy;
use crate::client::session::pump::Item;
use crate::client::session::supervisor::Control;
use crate::client::transport::Transport;
use crate::dynamic::Bindings;
use crate::report::Quoted;

/// A queue bound with a list of bindings, consumed as a [`Stream`] of
/// [`Message`](crate::client::Message)s, each acknowledged explicitly.
///
/// The consumer runs in a task of its own. When the connection breaks or the
/// broker restarts, it logs a warning (with [`tracing`]), reconnects with
/// backoff, declares and binds the queue again and goes on; the stream sees
/// nothing of it but, for a named queue, the messages that were not
/// acknowledged delivered again (marked [`redelivered`](crate::client::Message::redelivered)).
/// Messages that came on the lost connection and were not yet taken from the
/// stream are dropped for that reason. Only after
/// [`Reconnect::max_attempts`](crate::client::Reconnect::max_attempts) failures in a
/// row does the stream yield [`ConsumeError::GaveUp`](crate::client::ConsumeError::GaveUp) and end.
///
/// A delivery that no binding decodes (unknown exchange, routing key that does
/// not fit, body that is not the payload type) is rejected without requeue and
/// yielded as [`ConsumeError::Rejected`](crate::client::ConsumeError::Rejected); the stream goes on.
///
/// What it tells a program: [`stats`](Self::stats) (counters and the last
/// backlog reading) and [`events`](Self::events) (connected, disconnected,
/// blocked, backlog, recycled).
///
/// Stopping: [`shutdown`](Self::shutdown) waits for the messages handed out
/// to be settled and gives the rest back to the queue; a
/// [`ShutdownHandle`] ends the stream from elsewhere first. Dropping the
/// consumer closes its connection at once; the broker requeues what was not
/// acknowledged.
///
/// ```no_run
/// use std::time::Duration;
/// use pulse_binding::Bindings;
/// use pulse_binding::client::{Consumer, PulseConfig, QueueSpec};
/// use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// enum Event {
///     Created(HookChangedMessage),
///     Deleted(HookChangedMessage),
/// }
/// let bindings = Bindings::new()
///     .with(HookCreated::default(), Event::Created)
///     .with(HookDeleted::default(), Event::Deleted);
/// let config = PulseConfig::from_url("amqps://pulse.mozilla.org:5671")?; // PULSE_USERNAME, PULSE_PASSWORD
/// let mut consumer = Consumer::builder(config, bindings)
///     .queue(QueueSpec::named("hook-watcher").quorum(true).max_length(5_000))
///     .prefetch(16)
///     .start()
///     .await?;
/// let stop = consumer.shutdown_handle();
/// tokio::spawn(async move {
///     let _ = tokio::signal::ctrl_c().await;
///     stop.shutdown(); // the loop below ends after what was delivered
/// });
/// while let Some(item) = consumer.recv().await {
///     match item {
///         Ok(message) => {
///             match &message.payload {
///                 Event::Created(m) => println!("created {}/{}", m.hook_group_id, m.hook_id),
///                 Event::Deleted(m) => println!("deleted {}/{}", m.hook_group_id, m.hook_id),
///             }
///             message.ack().await?;
///         }
///         Err(e) => eprintln!("{e}"),
///     }
/// }
/// let report = consumer.shutdown(Duration::from_secs(10)).await;
/// eprintln!("acked {} while stopping; in all: {:?}", report.acked, report.stats);
/// # Ok(())
/// # }
/// ```
pub struct Consumer<M> {
    pub(crate) rx: mpsc::Receiver<Item<M>>,
    pub(crate) monitor: Arc<Monitor>,
    /// The receiver made at start, with every event since: for the first
    /// call of `events`.
    pub(crate) first_events: Mutex<Option<broadcast::Receiver<ConsumerEvent>>>,
    pub(crate) control: Arc<watch::Sender<Control>>,
    /// The prefetch, shared with the sessions to come.
    pub(crate) prefetch: Arc<std::sync::atomic::AtomicU16>,
    pub(crate) transport: Transport,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) skip_stale: bool,
    pub(crate) queue: String,
    pub(crate) task: JoinHandle<u64>,
}

/// What a [`Consumer::shutdown`] did with the messages it had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Messages the program acknowledged while it waited.
    pub acked: u64,
    /// Messages rejected without requeue while it waited.
    pub rejected: u64,
    /// Messages that went back to the queue: delivered but not yet taken from
    /// the stream, rejected with requeue while it waited, or still unsettled
    /// at the timeout (the broker requeues those when the connection closes).
    pub requeued: u64,
    /// Of the requeued, those still unsettled at the timeout.
    pub timed_out: u64,
    /// The consumer's counters at the end.
    pub stats: ConsumerStats,
}

/// Begins a consumer's graceful shutdown from anywhere: see
/// [`Consumer::shutdown_handle`].
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    control: Weak<watch::Sender<Control>>,
    monitor: Weak<Monitor>,
}

impl ShutdownHandle {
    /// Stops new deliveries (the broker consumer is cancelled); the
    /// consumer's stream ends once it has yielded what was already
    /// delivered. Then call [`Consumer::shutdown`] to wait for those to be
    /// settled and close. Does nothing if the consumer is gone or already
    /// shutting down.
    pub fn shutdown(&self) {
        if let Some(control) = self.control.upgrade() {
            begin_shutdown(&control);
        }
    }

    /// The consumer's counters now ([`Consumer::stats`]), also while
    /// [handler mode](Consumer::run) has the consumer; `None` once it is gone.
    pub fn stats(&self) -> Option<ConsumerStats> {
        self.monitor.upgrade().map(|monitor| monitor.snapshot())
    }
}

impl<M: Send + 'static> Consumer<M> {
    /// A builder for a consumer of `bindings` on the broker of `config`.
    pub fn builder(config: PulseConfig, bindings: Bindings<M>) -> ConsumerBuilder<M> {
        ConsumerBuilder::new(Transport::Broker(config), bindings)
    }
}

impl<M> Consumer<M> {
    /// The next message or error; `None` once the consumer has given up or
    /// been shut down. The same as `StreamExt::next`, without needing a
    /// futures crate.
    pub async fn recv(&mut self) -> Option<Item<M>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The queue's full name at start (an anonymous queue gets a new name
    /// after each reconnection).
    pub fn queue_name(&self) -> &str {
        &self.queue
    }

    /// How many times the consumer has reconnected after a lost connection.
    pub fn reconnections(&self) -> u64 {
        self.stats().reconnections
    }

    /// Waits until the consumer has reconnected `count` times in all (at once
    /// if it has already). Returns `false` if the consumer has stopped first.
    pub async fn wait_reconnections(&self, count: u64) -> bool {
        let mut events = self.monitor.subscribe();
        loop {
            if self.reconnections() >= count {
                return true;
            }
            match events.recv().await {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return false,
            }
        }
    }

    /// The node the consumer is connected to, as `host:port` (one of
    /// [`PulseConfig::nodes`]); `None` while it is reconnecting or once it
    /// has stopped. After a reconnection or recycling it may be another node
    /// of the cluster.
    pub fn node(&self) -> Option<String> {
        self.monitor.node()
    }

    /// Whether the consumer currently has a connection.
    pub fn is_connected(&self) -> bool {
        self.monitor.is_connected()
    }

    /// The consumer's counters and last backlog reading.
    pub fn stats(&self) -> ConsumerStats {
        self.monitor.snapshot()
    }

    /// A receiver of the consumer's [`ConsumerEvent`]s. The first call's
    /// receiver has every event since the consumer started (from its first
    /// `Connected` on); later calls' receivers have the events from then on.
    /// A receiver that falls more than 256 events behind misses the oldest
    /// (`RecvError::Lagged`); the consumer never waits for receivers.
    pub fn events(&self) -> broadcast::Receiver<ConsumerEvent> {
        let first = self.first_events.lock().map(|mut f| f.take());
        match first {
            Ok(Some(first)) => first,
            _ => self.monitor.subscribe(),
        }
    }

    /// A handle that begins this consumer's graceful shutdown from another
    /// task (a signal handler, a supervisor): see [`ShutdownHandle::shutdown`].
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            control: Arc::downgrade(&self.control),
            monitor: Arc::downgrade(&self.monitor),
        }
    }

    /// Shuts down in order: cancels the broker consumer (no new deliveries),
    /// gives the messages delivered but not yet taken from the stream back to
    /// the queue, waits up to `timeout` for every message handed out to be
    /// acknowledged or rejected, then closes the connection (the broker puts
    /// back what is still unsettled; a quorum queue's channel is closed 200 ms
    /// after its last acknowledgement at the earliest, see
    /// [`Acker::ack`](crate::client::Acker::ack)). Returns what happened to them.
    ///
    /// To handle the messages already delivered instead of giving them back,
    /// end the stream first with a [`ShutdownHandle`] and read it to its end.
    pub async fn shutdown(mut self, timeout: Duration) -> ShutdownReport {
        let deadline = Instant::now() + timeout;
        let before = self.stats();
        let acks_before = self.monitor.acks_made();
        begin_shutdown(&self.control);
        // What was delivered but not taken goes back to the queue, once the
        // stream has ended (the pumps stop after the broker's cancel-ok), so
        // that the broker cannot deliver it to this consumer again.
        let mut untaken = Vec::new();
        while let Ok(Some(item)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            if let Ok(message) = item {
                untaken.push(message);
            }
        }
        for message in untaken {
            if message.acker.is_current() {
                let _ = message.reject(true).await;
            }
        }
        self.control.send_replace(Control::Close(deadline));
        let grace = deadline + Duration::from_secs(10);
        let timed_out = match tokio::time::timeout_at(grace, &mut self.task).await {
            Ok(Ok(unsettled)) => unsettled,
            _ => 0,
        };
        let after = self.stats();
        let requeued = after.requeued - before.requeued;
        let report = ShutdownReport {
            acked: self.monitor.acks_made() - acks_before,
            rejected: (after.rejected - before.rejected) - requeued,
            requeued: requeued + timed_out,
            timed_out,
            stats: after,
        };
        debug!(?report, queue = %self.queue, "consumer shut down");
        report
    }

    /// Stops consuming and closes the connection at once; the broker requeues
    /// the messages not acknowledged. Dropping the consumer does the same
    /// without waiting.
    pub async fn close(self) {
        let Self {
            rx, control, task, ..
        } = self;
        drop(rx);
        drop(control);
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
}

/// Orders a running consumer's task to cancel its broker consumers; does
/// nothing once it is shutting down already.
fn begin_shutdown(control: &watch::Sender<Control>) {
    control.send_if_modified(|order| {
        let run = *order == Control::Run;
        if run {
            *order = Control::Cancel;
        }
        run
    });
}

impl<M> std::fmt::Debug for Consumer<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queue", &self.queue)
            .field("connected", &self.is_connected())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<M> Stream for Consumer<M> {
    type Item = Item<M>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            return match this.rx.poll_recv(cx) {
                // From a connection since lost: the broker delivers it again.
                Poll::Ready(Some(Ok(message)))
                    if this.skip_stale && !message.acker.is_current() =>
                {
                    debug!(
                        exchange = %message.exchange,
                        routing_key = %Quoted::str(&message.routing_key),
                        "dropped a message from a lost connection; the broker will deliver it again"
                    );
                    continue;
                }
                other => other,
            };
        }
    }
}
