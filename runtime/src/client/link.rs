//! One session's channel as its messages see it: [`Link`], shared by the
//! session's pump, the consumer's supervisor and every [`Acker`](super::Acker)
//! of a message that came on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{debug, warn};

use super::acks::{Acks, FLUSH_DELAY};
use super::stats::{ConsumerEvent, Monitor};
use super::transport::Channel;

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
}

impl Link {
    /// A link for `channel`, whose prefetch is `prefetch` (0: no limit).
    pub(crate) fn new(channel: Channel, monitor: Arc<Monitor>, prefetch: u16) -> Arc<Self> {
        let flush_at = match prefetch {
            0 => 64,
            n => usize::from(n / 4).max(1),
        };
        Arc::new(Self {
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
        })
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
        let flush = self.acks.take(all, tokio::time::Instant::now());
        if let Some((tag, messages)) = flush.multiple {
            match self.channel.ack(tag, true).await {
                Ok(()) => self.monitor.add(&self.monitor.acked, messages),
                Err(e) => self.lost(messages, &e.to_string()),
            }
        }
        for tag in flush.singles {
            match self.channel.ack(tag, false).await {
                Ok(()) => {
                    self.acks.settled(tag);
                    self.monitor.add(&self.monitor.acked, 1);
                }
                Err(e) => self.lost(1, &e.to_string()),
            }
        }
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

    fn lost(&self, messages: u64, reason: &str) {
        warn!(messages, error = %reason, "acknowledgements lost with the connection; the broker delivers those messages again");
        self.monitor.add(&self.monitor.lost_acks, messages);
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

    /// Closes the channel, once its last acknowledgements are sent, and then
    /// the link. The broker answers `channel.close` only after it has handled
    /// every frame sent before it, so those acknowledgements take effect
    /// before the connection goes. Closing the connection alone right after
    /// an acknowledgement can have the broker put that message back (seen
    /// with quorum queues on a loaded broker).
    pub(crate) async fn shut(&self, why: &'static str, within: Duration) {
        if self.is_open() {
            match tokio::time::timeout(within, self.channel.close(why)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!(error = %e, "could not close the channel"),
                Err(_) => debug!("no answer to closing the channel within {within:?}"),
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
