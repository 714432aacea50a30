//! One session's channel as its messages see it: [`Link`], shared by the
//! session's pump, the consumer's supervisor and every [`Acker`](super::Acker)
//! of a message that came on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lapin::Channel;
use tokio::sync::Notify;

use super::stats::Monitor;

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
}

impl Link {
    pub(crate) fn new(channel: Channel, monitor: Arc<Monitor>) -> Arc<Self> {
        Arc::new(Self {
            channel,
            open: AtomicBool::new(true),
            unsettled: AtomicU64::new(0),
            settled: Notify::new(),
            monitor,
        })
    }

    /// Whether acknowledgements may still be sent on the channel.
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst) && self.channel.status().connected()
    }

    /// No acknowledgement goes out on this channel any more.
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
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
