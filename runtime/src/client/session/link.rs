//! One session's channel as its messages see it: [`Link`], shared by the
//! session's pump, the consumer's supervisor and every [`Acker`](crate::client::Acker)
//! of a message that came on it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::client::consumer::stats::{ConsumerEvent, Monitor};
use crate::client::observe::names::{self, Operation};
use crate::client::session::acks::{Acks, FLUSH_DELAY};
use crate::client::transport::Channel;

/// A session's channel, whether it may still be used, and how many of its
/// messages are not settled yet.
#[derive(Debug)]
pub(crate) struct Link {
    /// The channel deliveries come on and are acknowledged on.
    pub(crate) channel: Channel,
    /// Cleared when the connection is lost or closed: a delivery tag is then
    /// meaningless, so its acker sends nothing.
    open: AtomicBool,
    /// Messages made from this channel's deliveries and neither acknowledged,
    /// rejected nor dropped yet.
    unsettled: AtomicU64,
    settled: Notify,
    pub(crate) monitor: Arc<Monitor>,
    /// The program's acknowledgements, sent coalesced by `flusher`.
    pub(crate) acks: Acks,
    /// How many waiting acknowledgements make a flush start at once.
    flush_at: usize,
    /// Something waits to be flushed.
    wake: Notify,
    /// Enough waits to flush without waiting for more.
    urgent: Notify,
    /// The flusher sends everything left, then stops.
    finishing: AtomicBool,
    /// How long the channel stays open after the last acknowledgement or
    /// rejection was sent, when it is closed: see [`shut`](Self::shut).
    grace: Duration,
    /// When the last acknowledgement or rejection was sent.
    last_sent: Mutex<Option<Instant>>,
}

/// How long a quorum queue's channel stays open after its last
/// acknowledgement before it is closed. RabbitMQ (3.10 at least) holds back
/// a channel's acknowledgements to a quorum queue while more than
/// `quorum_commands_soft_limit` (32) of its commands wait to be applied, and
/// forgets those it holds if the channel closes first: the broker delivers
/// those messages again. It sends them as soon as the queue catches up, in a
/// few milliseconds on a broker that keeps up.
pub(crate) const QUORUM_GRACE: Duration = Duration::from_millis(200);

/// The wrong variant `ack-on-newer-connection` of the simulation
/// (docs/testing.md): the newest link, on which an acknowledgement for a
/// closed one is wrongly sent.
#[cfg(pulse_wrong = "ack-on-newer-connection")]
pub(crate) static NEWEST: Mutex<Option<std::sync::Weak<Link>>> = Mutex::new(None);

impl Link {
    /// A link for `channel`, whose prefetch is `prefetch` (0: no limit),
    /// kept open `grace` after its last acknowledgement when it is shut.
    pub(crate) fn new(
        channel: Channel,
        monitor: Arc<Monitor>,
        prefetch: u16,
        grace: Duration,
    ) -> Arc<Self> {
        let flush_at = match prefetch {
            0 => 64,
            n => usize::from(n / 4).max(1),
        };
        let link = Arc::new(Self {
            channel,
            open: AtomicBool::new(true),
            unsettled: AtomicU64::new(0),
            settled: Notify::new(),
            monitor,
            acks: Acks::default(),
            flush_at,
            wake: Notify::new(),
            urgent: Notify::new(),
            finishing: AtomicBool::new(false),
            grace,
            last_sent: Mutex::new(None),
        });
        #[cfg(pulse_wrong = "ack-on-newer-connection")]
        {
            *NEWEST.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::downgrade(&link));
        }
        link
    }

    /// The program acknowledged `tag`: it goes to the broker with the next
    /// flush, within a few milliseconds.
    pub(crate) fn ack(&self, tag: u64) {
        Monitor::count(&self.monitor.acks_made);
        if self.acks.acked(tag) >= self.flush_at {
            self.urgent.notify_one();
        }
        self.wake.notify_one();
    }

    /// Sends the acknowledgements that can go now (all of them with `all`).
    pub(crate) async fn flush(&self, all: bool) {
        let started = Instant::now();
        let flush = self.acks.take(all, started);
        if flush.multiple.is_none() && flush.singles.is_empty() {
            return;
        }
        let mut failure = None;
        if let Some((tag, messages)) = flush.multiple {
            match self.channel.ack(tag, true).await {
                Ok(()) => {
                    self.sent();
                    self.monitor.add(&self.monitor.acked, messages);
                }
                Err(e) => {
                    failure = Some(names::error::CONNECTION_LOST);
                    self.lost(messages, &e.to_string());
                }
            }
        }
        for tag in flush.singles {
            match self.channel.ack(tag, false).await {
                Ok(()) => {
                    self.sent();
                    self.acks.settled(tag);
                    self.monitor.add(&self.monitor.acked, 1);
                }
                Err(e) => {
                    failure = Some(names::error::CONNECTION_LOST);
                    self.lost(1, &e.to_string());
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        self.monitor.meter.settled(Operation::Ack, seconds, failure);
    }

    /// An acknowledgement or rejection went to the broker just now.
    pub(crate) fn sent(&self) {
        *self.last_sent.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// How long to wait before closing the channel: what is left of the
    /// grace since the last acknowledgement or rejection sent.
    fn grace_left(&self) -> Duration {
        let last = *self.last_sent.lock().unwrap_or_else(|e| e.into_inner());
        last.map_or(Duration::ZERO, |at| {
            (at + self.grace).saturating_duration_since(Instant::now())
        })
    }

    /// Acknowledgements that can no longer be sent: the connection is gone.
    /// The broker delivers those messages again.
    pub(crate) fn abandon(&self, reason: &str) {
        let flush = self.acks.take(true, tokio::time::Instant::now());
        let messages = flush.multiple.map_or(0, |(_, n)| n) + flush.singles.len() as u64;
        if messages > 0 {
            self.lost(messages, reason);
        }
    }

    pub(crate) fn lost(&self, messages: u64, reason: &str) {
        warn!(messages, error = %reason, "acknowledgements lost with the connection; the broker delivers those messages again");
        self.monitor
            .record(&self.monitor.lost_acks, names::LOST_ACKS, messages);
        self.monitor.emit(ConsumerEvent::AcksLost {
            messages,
            reason: reason.to_owned(),
        });
    }

    /// Asks the flusher to send everything left and stop; await its task.
    pub(crate) fn finish(&self) {
        self.finishing.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        self.urgent.notify_one();
    }

    /// Sends acknowledgements as they come, a few milliseconds' worth at a
    /// time, until the link is closed or [finished](Self::finish).
    pub(crate) async fn flusher(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            tokio::select! {
                biased;
                () = tokio::time::sleep(FLUSH_DELAY) => {}
                () = self.urgent.notified() => {}
            }
            loop {
                if !self.is_open() {
                    return;
                }
                if self.finishing.load(Ordering::SeqCst) {
                    self.flush(true).await;
                    return;
                }
                self.flush(false).await;
                if !self.acks.has_pending() {
                    break;
                }
                // Past a gap: wait for it to close, or for them to be overdue.
                tokio::time::sleep(FLUSH_DELAY).await;
            }
        }
    }

    /// Whether acknowledgements may still be sent on the channel.
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst) && self.channel.is_connected()
    }

    /// No acknowledgement goes out on this channel any more.
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
    }

    /// Closes the channel, once its last acknowledgements are sent and the
    /// grace after them is over, and then the link. The broker answers
    /// `channel.close` only after it has handled every frame sent before it,
    /// so those acknowledgements reach the queue before the connection goes;
    /// the grace lets a quorum queue's channel pass on those it held back
    /// (see [`QUORUM_GRACE`]). All of it within `within`.
    pub(crate) async fn shut(&self, why: &'static str, within: Duration) {
        if self.is_open() {
            let closing = async {
                tokio::time::sleep(self.grace_left()).await;
                self.channel.close(why).await
            };
            match tokio::time::timeout(within, closing).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!(error = %e, "could not close the channel"),
                Err(_) => debug!("the channel was not closed within {within:?}"),
            }
        }
        self.close();
    }

    /// A message was made from a delivery of this channel.
    pub(crate) fn taken(&self) {
        self.unsettled.fetch_add(1, Ordering::SeqCst);
    }

    /// A message of this channel was acknowledged, rejected or dropped.
    pub(crate) fn settle(&self) {
        if self.unsettled.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.settled.notify_waiters();
        }
    }

    /// How many of its messages are not settled yet.
    pub(crate) fn unsettled(&self) -> u64 {
        self.unsettled.load(Ordering::SeqCst)
    }

    /// Waits until every message of this channel is settled.
    pub(crate) async fn all_settled(&self) {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.unsettled() == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::client::transport::in_memory::{InMemoryError, InMemoryLink};

    /// A channel that takes every acknowledgement, and closes.
    #[derive(Debug, Default)]
    struct Open(AtomicBool);

    impl InMemoryLink for Open {
        fn ack(&self, _: u64, _: bool) -> Result<(), InMemoryError> {
            Ok(())
        }
        fn reject(&self, _: u64, _: bool) -> Result<(), InMemoryError> {
            Ok(())
        }
        fn cancel(&self, _: &str) {}
        fn close(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
        fn is_open(&self) -> bool {
            !self.0.load(Ordering::SeqCst)
        }
        fn depth(&self, _: &str) -> u32 {
            0
        }
    }

    fn link(grace: Duration) -> Arc<Link> {
        let (monitor, _) = Monitor::new(None);
        let channel = Channel::InMemory(Arc::new(Open::default()));
        Link::new(channel, Arc::new(monitor), 0, grace)
    }

    #[tokio::test]
    async fn a_channel_stays_open_the_grace_after_its_last_acknowledgement() {
        let link = link(Duration::from_millis(100));
        link.sent();
        let start = Instant::now();
        link.shut("test", Duration::from_secs(10)).await;
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(!link.is_open());
    }

    #[tokio::test]
    async fn a_channel_that_sent_nothing_or_long_ago_closes_at_once() {
        let link = link(Duration::from_secs(10));
        let start = Instant::now();
        link.shut("test", Duration::from_secs(60)).await;
        assert!(start.elapsed() < Duration::from_secs(5), "nothing was sent");
        assert!(!link.is_open());

        let link = self::link(Duration::from_millis(20));
        link.sent();
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(link.grace_left(), Duration::ZERO, "the grace is over");
    }

    #[tokio::test]
    async fn the_grace_ends_with_the_time_given_to_shut() {
        let link = link(Duration::from_secs(10));
        link.sent();
        let start = Instant::now();
        link.shut("test", Duration::from_millis(50)).await;
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(!link.is_open());
    }
}
