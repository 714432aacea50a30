//! A consumer's task: keeps one session consuming, reconnects after a loss,
//! replaces the connection on schedule (recycling), reads the backlog, and
//! shuts down in order.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tracing::{debug, error, info, warn};

use crate::client::consumer::reconnect::Reconnect;
use crate::client::consumer::stats::{ConsumerEvent, Monitor};
use crate::client::error::{ClientError, ConsumeError};
use crate::client::observe::names;
use crate::client::observe::stall::StallWatch;
use crate::client::session::link::{Link, QUORUM_GRACE};
use crate::client::session::pump::{Item, Pump, Stop};
use crate::client::session::{Session, Topology};
use crate::client::transport::{Connection, DepthReader, Transport};
use crate::dynamic::Bindings;
use crate::report::Chain;

/// What the [`Consumer`](crate::client::Consumer) asks of its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Consume.
    Run,
    /// Stop new deliveries: cancel the broker consumers; the stream ends
    /// after what was delivered.
    Cancel,
    /// Wait until every message handed out is settled, or the deadline,
    /// then close.
    Close(Instant),
}

/// How long a recycled connection stays open for its messages to be settled.
const DRAIN: Duration = Duration::from_secs(60);
/// The longest a broker call of the task may take before it is given up.
const CALL: Duration = Duration::from_secs(5);

/// How the backlog is watched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BacklogWatch {
    pub(crate) threshold: u32,
    pub(crate) interval: Duration,
    /// How long without a delivery, while the queue holds messages, is a stall.
    pub(crate) stall_after: Duration,
}

pub(crate) struct Supervisor<M> {
    pub(crate) transport: Transport,
    pub(crate) topology: Topology,
    pub(crate) bindings: Arc<Bindings<M>>,
    pub(crate) auto_ack: bool,
    pub(crate) reconnect: Reconnect,
    pub(crate) recycle: Option<Duration>,
    pub(crate) backlog: BacklogWatch,
    pub(crate) monitor: Arc<Monitor>,
    /// The stream's sender; dropped when cancelled, so that the stream ends
    /// once the pumps have stopped too.
    pub(crate) tx: Option<mpsc::Sender<Item<M>>>,
    pub(crate) control: watch::Receiver<Control>,
}

/// A session that is consuming (or was, and is being drained).
struct Live {
    connection: Arc<Connection>,
    link: Arc<Link>,
    tag: String,
    queue: String,
    pump: JoinHandle<Stop>,
    backlog: JoinHandle<()>,
    flusher: JoinHandle<()>,
    /// When a drained session is closed whatever is left unsettled.
    drain_until: Option<Instant>,
}

/// Why the task stopped waiting for a new connection.
enum Interrupt {
    Cancel,
    Close(Option<Instant>),
}

impl<M: Send + 'static> Supervisor<M> {
    /// Runs until closed or given up; returns how many handed-out messages
    /// were left unsettled when the connections closed (the broker puts those
    /// back in the queue).
    pub(crate) async fn run(mut self, first: Session) -> u64 {
        let mut current = Some(self.start(first));
        let mut draining: Vec<Live> = Vec::new();
        let mut recycle_at = self.recycle.map(|every| Instant::now() + every);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let deadline = loop {
            let Some(live) = current.as_mut() else {
                // Cancelled or gave up: wait for the order to close.
                match wait_control(&mut self.control, &[Control::Run, Control::Cancel]).await {
                    Interrupt::Close(deadline) => break deadline,
                    Interrupt::Cancel => continue,
                }
            };
            tokio::select! {
                biased;
                stop = &mut live.pump => {
                    let reason = match stop {
                        Ok(Stop::Closed) => break None,
                        Ok(Stop::Lost(reason)) => reason,
                        Ok(Stop::Ended) => "the broker cancelled the consumer".to_owned(),
                        Err(e) => format!("the consumer's task failed: {e}"),
                    };
                    let lost = current.take().expect("matched above");
                    self.monitor.set_connected(false);
                    self.monitor.set_node(None);
                    warn!(queue = %lost.queue, error = %reason, "lost the connection to the broker; reconnecting");
                    retire(lost, &reason);
                    self.monitor.emit(ConsumerEvent::Disconnected { reason });
                    match self.reopen().await {
                        Ok(session) => {
                            self.monitor.meter.set_node(Some(&session.node));
                            self.monitor.record(&self.monitor.reconnections, names::RECONNECTIONS, 1);
                            current = Some(self.start(session));
                        }
                        Err(Some(Interrupt::Close(deadline))) => break deadline,
                        Err(Some(Interrupt::Cancel)) => self.tx = None,
                        // Gave up: the stream has its last item.
                        Err(None) => self.tx = None,
                    }
                }
                () = sleep_until(recycle_at.unwrap_or_else(Instant::now)), if recycle_at.is_some() => {
                    let every = self.recycle.expect("set with recycle_at");
                    recycle_at = Some(Instant::now() + every);
                    self.recycle(live, &mut draining).await;
                }
                // A new prefetch (handler mode) applies to new consumers only.
                () = self.monitor.renew.notified() => self.recycle(live, &mut draining).await,
                _ = tick.tick(), if !draining.is_empty() => {
                    let now = Instant::now();
                    draining.retain_mut(|old| {
                        let done = old.pump.is_finished() && old.link.unsettled() == 0;
                        if done || old.drain_until.is_some_and(|t| now >= t) {
                            debug!(queue = %old.queue, unsettled = old.link.unsettled(), "closing a recycled connection");
                            old.backlog.abort();
                            old.link.finish();
                            let (link, connection) = (old.link.clone(), old.connection.clone());
                            let flusher = std::mem::replace(&mut old.flusher, tokio::spawn(async {}));
                            tokio::spawn(async move {
                                last_acks(&link, flusher, "the recycled connection was lost").await;
                                link.shut("recycled", CALL).await;
                                close(connection, "recycled").await;
                            });
                            false
                        } else {
                            true
                        }
                    });
                }
                interrupt = wait_control(&mut self.control, &[Control::Run]) => match interrupt {
                    Interrupt::Close(deadline) => break deadline,
                    Interrupt::Cancel => {
                        for live in current.iter().chain(&draining) {
                            cancel(live).await;
                        }
                        self.tx = None;
                        if let Some(live) = current.take() {
                            draining.push(live);
                        }
                    }
                },
            }
        };
        self.close_all(current.into_iter().chain(draining).collect(), deadline)
            .await
    }

    /// Replaces `live` by a new session, make before break; the old one
    /// drains into `draining`.
    async fn recycle(&self, live: &mut Live, draining: &mut Vec<Live>) {
        match self.topology.open(&self.transport).await {
            Ok(session) => {
                let new = self.start(session);
                let mut old = std::mem::replace(live, new);
                cancel(&old).await;
                old.drain_until = Some(Instant::now() + DRAIN);
                draining.push(old);
                Monitor::count(&self.monitor.recycled);
                self.monitor.emit(ConsumerEvent::Recycled);
                info!(queue = %live.queue, "recycled the connection");
            }
            Err(e) => {
                warn!(error = %Chain(&e), "could not open a connection to recycle to; keeping the current one")
            }
        }
    }

    /// Spawns a session's pump and backlog reader.
    fn start(&self, session: Session) -> Live {
        let Session {
            connection,
            channel,
            deliveries,
            consumer_tag: tag,
            queue,
            node,
            url,
        } = session;
        // The fake, too, can be told to forget a quorum queue's last
        // settlements at close (`FakePulse::forget_acks_at_close`).
        let grace = if self.topology.queue.is_quorum() {
            QUORUM_GRACE
        } else {
            Duration::ZERO
        };
        let link = Link::new(
            channel,
            self.monitor.clone(),
            self.topology.prefetch(),
            grace,
        );
        let flusher = tokio::spawn(link.clone().flusher());
        let connection = Arc::new(connection);
        let pump = Pump {
            bindings: self.bindings.clone(),
            auto_ack: self.auto_ack,
            retain: self.topology.retry.is_some(),
            tx: self
                .tx
                .clone()
                .expect("a session starts only while consuming"),
            link: link.clone(),
        };
        let pump = tokio::spawn(pump.run(deliveries));
        let backlog = tokio::spawn(watch_backlog(
            connection.clone(),
            queue.clone(),
            self.backlog,
            self.monitor.clone(),
        ));
        info!(queue = %queue, url = %url, node = %node, "consuming");
        self.monitor.set_node(Some(node.clone()));
        self.monitor.set_connected(true);
        self.monitor.emit(ConsumerEvent::Connected {
            url,
            queue: queue.clone(),
            node,
        });
        Live {
            connection,
            link,
            tag,
            queue,
            pump,
            backlog,
            flusher,
            drain_until: None,
        }
    }

    /// Connects again with backoff: the session, or why not (`None` when
    /// giving up, after sending the stream its last item).
    async fn reopen(&mut self) -> Result<Session, Option<Interrupt>> {
        let mut last = None;
        let attempts = self.reconnect.attempts();
        for attempt in 1..=attempts {
            let wake = Instant::now() + self.reconnect.delay(attempt);
            tokio::select! {
                biased;
                () = sleep_until(wake) => {}
                interrupt = wait_control(&mut self.control, &[Control::Run]) => return Err(Some(interrupt)),
            }
            let opened = tokio::select! {
                biased;
                opened = self.topology.open(&self.transport) => opened,
                interrupt = wait_control(&mut self.control, &[Control::Run]) => return Err(Some(interrupt)),
            };
            match opened {
                Ok(session) => {
                    info!(queue = %session.queue, attempt, "reconnected; queue declared and bound again");
                    return Ok(session);
                }
                Err(e) if is_final(&e) => {
                    error!(error = %Chain(&e), "cannot reconnect: the queue cannot be declared as asked");
                    last = Some(e);
                    break;
                }
                Err(e) => {
                    warn!(attempt, max_attempts = attempts, error = %Chain(&e), "reconnection failed");
                    last = Some(e);
                }
            }
        }
        let last = last
            .unwrap_or_else(|| ClientError::config("reconnection is disabled (max_attempts 0)"));
        let error = ClientError::GaveUp {
            attempts,
            last: Box::new(last),
        };
        error!(error = %Chain(&error), "consumer stopped");
        if let Some(tx) = &self.tx {
            let _ = tx.send(Err(ConsumeError::GaveUp(error))).await;
        }
        Err(None)
    }

    /// Waits (until `deadline`, if any) for the messages handed out to be
    /// settled, then closes every connection. Returns how many were not.
    async fn close_all(self, mut sessions: Vec<Live>, deadline: Option<Instant>) -> u64 {
        if let Some(deadline) = deadline {
            let settled = async {
                for live in &sessions {
                    live.link.all_settled().await;
                }
            };
            let _ = tokio::time::timeout_at(deadline, settled).await;
        }
        self.monitor.set_connected(false);
        self.monitor.set_node(None);
        let mut unsettled = 0;
        for live in sessions.iter_mut() {
            live.link.finish();
            let flusher = std::mem::replace(&mut live.flusher, tokio::spawn(async {}));
            #[cfg(not(pulse_wrong = "no-flush-at-shutdown"))]
            last_acks(&live.link, flusher, "the consumer closed").await;
            #[cfg(pulse_wrong = "no-flush-at-shutdown")]
            flusher.abort();
            live.link.shut("consumer stopped", CALL).await;
            live.backlog.abort();
            if self.topology.queue.is_named() {
                unsettled += live.link.unsettled();
            }
        }
        for live in sessions {
            close(live.connection, "consumer stopped").await;
            // A pump that ended the loop (`Stop::Closed`) was awaited already:
            // a JoinHandle must not be polled again after it completed.
            if !live.pump.is_finished() {
                let _ = tokio::time::timeout(CALL, live.pump).await;
            }
        }
        debug!(unsettled, "consumer closed");
        unsettled
    }
}

/// Waits for a control order other than those in `ignore`.
async fn wait_control(control: &mut watch::Receiver<Control>, ignore: &[Control]) -> Interrupt {
    loop {
        let order = *control.borrow_and_update();
        match order {
            Control::Close(deadline) => return Interrupt::Close(Some(deadline)),
            order if !ignore.contains(&order) => return Interrupt::Cancel,
            _ => {}
        }
        if control.changed().await.is_err() {
            // The consumer was dropped: close now.
            return Interrupt::Close(None);
        }
    }
}

/// Whether reconnecting again cannot help.
fn is_final(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::QueueMismatch { .. } | ClientError::Config { .. }
    )
}

/// Stops the broker sending more to a session (`basic.cancel`).
async fn cancel(live: &Live) {
    let cancelling = live.link.channel.cancel(&live.tag);
    if let Ok(Err(e)) | Err(e) = tokio::time::timeout(CALL, cancelling)
        .await
        .map_err(|_| format!("no answer within {CALL:?}"))
        .map(|r| r.map_err(|e| e.to_string()))
    {
        debug!(queue = %live.queue, error = %e, "could not cancel the consumer");
    }
}

/// Forgets a lost session: its ackers send nothing any more.
fn retire(lost: Live, reason: &str) {
    lost.link.close();
    lost.link.abandon(reason);
    lost.backlog.abort();
    lost.flusher.abort();
    tokio::spawn(close(lost.connection, "connection lost"));
}

/// Sends a finished link's last acknowledgements: lets its flusher end,
/// flushes what it left (it stops early on a closed channel), and reports
/// what could not be sent as lost (`because`), so that none vanishes
/// unreported. Bounded in time.
async fn last_acks(link: &Link, flusher: tokio::task::JoinHandle<()>, because: &str) {
    let _ = tokio::time::timeout(CALL, flusher).await;
    if link.is_open() {
        let _ = tokio::time::timeout(CALL, link.flush(true)).await;
    }
    link.abandon(because);
}

/// Closes a connection, if it is still open; bounded in time.
async fn close(connection: Arc<Connection>, why: &'static str) {
    let _ = tokio::time::timeout(CALL, connection.close(why)).await;
}

/// Reads the queue's depth every interval on a channel of its own, records
/// it, and warns when it is over the threshold. Ends with its connection.
async fn watch_backlog(
    connection: Arc<Connection>,
    queue: String,
    watch: BacklogWatch,
    monitor: Arc<Monitor>,
) {
    let mut reader = DepthReader::new(connection);
    let mut stall = StallWatch::new(watch.stall_after);
    loop {
        let Ok(reading) = tokio::time::timeout(CALL, reader.read(&queue)).await else {
            debug!(queue = %queue, "no answer reading the queue's depth");
            tokio::time::sleep(watch.interval).await;
            continue;
        };
        match reading {
            None => return,
            Some(Ok(messages)) => {
                monitor.set_backlog(messages);
                monitor.check_stall(&mut stall, messages, &queue);
                if messages > watch.threshold {
                    warn!(queue = %queue, messages, threshold = watch.threshold, "the queue's backlog is over the threshold");
                    monitor.emit(ConsumerEvent::Backlog { messages });
                }
            }
            Some(Err(e)) => debug!(queue = %queue, error = %e, "could not read the queue's depth"),
        }
        tokio::time::sleep(watch.interval).await;
    }
}
