//! What a consumer tells a program about itself: [`ConsumerStats`] and
//! [`ConsumerEvent`]s.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::SystemTime;

use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::client::observe::metrics::Meter;
use crate::client::observe::names;
use crate::client::observe::stall::StallWatch;
use tracing::warn;

/// A consumer's counters since it started ([`Consumer::stats`](crate::client::Consumer::stats)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerStats {
    /// Deliveries received from the broker, decodable or not.
    pub delivered: u64,
    /// Messages acknowledged (sent to the broker; acknowledgements are sent
    /// coalesced, a few milliseconds after [`ack`](crate::client::Message::ack)).
    pub acked: u64,
    /// Acknowledgements that could not be sent because the connection was
    /// lost first: the broker delivers those messages again. In handler mode
    /// this includes the acknowledgement of a message whose connection closed
    /// while its handler ran.
    pub lost_acks: u64,
    /// Messages rejected, by the program or because no binding decoded them.
    pub rejected: u64,
    /// Of the rejected, those put back in the queue (`requeue`), including
    /// the ones a shutdown gave back.
    pub requeued: u64,
    /// Deliveries the broker marked as delivered before.
    pub redelivered: u64,
    /// Deliveries that no binding could decode (rejected without requeue and
    /// yielded as [`ConsumeError::Rejected`](crate::client::ConsumeError::Rejected)).
    pub decode_failures: u64,
    /// Reconnections after a lost connection (recycling does not count).
    pub reconnections: u64,
    /// Connections replaced by [recycling](crate::client::ConsumerBuilder::recycle_interval).
    pub recycled: u64,
    /// In [handler mode](crate::client::Consumer::run), failed messages sent
    /// to a retry queue.
    pub retries: u64,
    /// In handler mode, failed messages sent to the dead-letter queue.
    pub dead_letters: u64,
    /// The queue's depth (ready messages) at the last backlog reading, if
    /// there has been one ([`backlog_warning`](crate::client::ConsumerBuilder::backlog_warning)).
    pub backlog: Option<u32>,
}

/// Something that happened to a consumer's connection or queue
/// ([`Consumer::events`](crate::client::Consumer::events)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsumerEvent {
    /// A connection is set up and consuming: at start, after a reconnection
    /// and after recycling.
    Connected {
        /// The URL of the node connected to, without the password.
        url: String,
        /// The queue's full name.
        queue: String,
        /// The node connected to, as `host:port`: one of
        /// [`PulseConfig::nodes`](crate::client::PulseConfig::nodes).
        node: String,
    },
    /// The connection was lost; the consumer reconnects.
    Disconnected {
        /// What broke it.
        reason: String,
    },
    /// The broker stopped reading from the connection (`connection.blocked`,
    /// such as on a memory or disk alarm).
    Blocked {
        /// The broker's reason.
        reason: String,
    },
    /// The broker reads from the connection again (`connection.unblocked`).
    Unblocked,
    /// The queue held more ready messages than the
    /// [backlog warning](crate::client::ConsumerBuilder::backlog_warning) threshold.
    Backlog {
        /// The queue's depth at the reading.
        messages: u32,
    },
    /// Acknowledgements could not be sent: the connection was lost after the
    /// program acknowledged and before they were flushed. The broker delivers
    /// those messages again (marked redelivered).
    AcksLost {
        /// How many messages' acknowledgements were lost.
        messages: u64,
        /// What broke the connection.
        reason: String,
    },
    /// The connection was replaced by a new one
    /// ([`recycle_interval`](crate::client::ConsumerBuilder::recycle_interval)).
    Recycled,
    /// The queue held messages and none was delivered for
    /// [`stall_after`](crate::client::ConsumerBuilder::stall_after): the
    /// consumer stopped taking messages (a handler hangs with the prefetch
    /// full, say). Sent once per stall, at a backlog reading; a delivery or
    /// an empty queue ends the stall.
    Stalled {
        /// The queue's depth at the reading.
        messages: u32,
        /// When the last delivery arrived (or the consumer started, if none
        /// has).
        since: SystemTime,
    },
}

/// How many events a slow [`Consumer::events`](crate::client::Consumer::events)
/// receiver may fall behind before it misses some.
const EVENTS: usize = 256;

/// The counters and the event channel a consumer's parts share.
#[derive(Debug)]
pub(crate) struct Monitor {
    pub(crate) delivered: AtomicU64,
    pub(crate) acked: AtomicU64,
    /// Acknowledgements the program made (sent or not yet).
    pub(crate) acks_made: AtomicU64,
    pub(crate) lost_acks: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) requeued: AtomicU64,
    pub(crate) redelivered: AtomicU64,
    pub(crate) decode_failures: AtomicU64,
    pub(crate) reconnections: AtomicU64,
    pub(crate) recycled: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) dead_letters: AtomicU64,
    /// The metrics the counters are recorded to as well (feature `metrics`).
    pub(crate) meter: Meter,
    /// When the consumer started.
    started: Instant,
    /// The last delivery, in milliseconds after `started`.
    last_delivery: AtomicU64,
    /// The last backlog reading, or -1 before the first.
    backlog: AtomicI64,
    /// Whether a session is consuming.
    connected: AtomicBool,
    /// Asks for a new connection (make before break), as recycling does.
    pub(crate) renew: tokio::sync::Notify,
    /// The node of the session consuming, if any.
    node: Mutex<Option<String>>,
    events: broadcast::Sender<ConsumerEvent>,
}

impl Monitor {
    /// A monitor and the receiver of its first events; `group` is a named
    /// queue's full name (`messaging.consumer.group.name`).
    pub(crate) fn new(group: Option<&str>) -> (Self, broadcast::Receiver<ConsumerEvent>) {
        let (events, first) = broadcast::channel(EVENTS);
        let monitor = Self {
            delivered: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            acks_made: AtomicU64::new(0),
            lost_acks: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            requeued: AtomicU64::new(0),
            redelivered: AtomicU64::new(0),
            decode_failures: AtomicU64::new(0),
            reconnections: AtomicU64::new(0),
            recycled: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            dead_letters: AtomicU64::new(0),
            meter: Meter::consumer(group),
            started: Instant::now(),
            last_delivery: AtomicU64::new(0),
            backlog: AtomicI64::new(-1),
            connected: AtomicBool::new(false),
            renew: tokio::sync::Notify::new(),
            node: Mutex::new(None),
            events,
        };
        (monitor, first)
    }

    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn acks_made(&self) -> u64 {
        self.acks_made.load(Ordering::Relaxed)
    }

    pub(crate) fn set_backlog(&self, messages: u32) {
        self.backlog.store(i64::from(messages), Ordering::Relaxed);
        self.meter.gauge(names::BACKLOG, f64::from(messages));
    }

    /// Counts one of the counters that are metrics too (`names::RECONNECTIONS`,
    /// `LOST_ACKS`, `DECODE_FAILURES`, `RETRIES`, `DEAD_LETTERS`).
    pub(crate) fn record(&self, counter: &AtomicU64, metric: &'static str, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
        self.meter.count(metric, n);
    }

    /// Records a backlog reading's age of the last delivery, and reports a
    /// stall that begins with it.
    pub(crate) fn check_stall(&self, stall: &mut StallWatch, messages: u32, queue: &str) {
        let (last, now) = (self.last_delivery(), Instant::now());
        let age = now.saturating_duration_since(last);
        self.meter
            .gauge(names::LAST_DELIVERY_AGE, age.as_secs_f64());
        if let Some(stalled) = stall.reading(messages, last, now) {
            warn!(queue = %queue, messages, seconds = stalled.age.as_secs(), "the consumer has taken no message for a while although the queue holds some: stalled");
            let since = SystemTime::now()
                .checked_sub(stalled.age)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            self.emit(ConsumerEvent::Stalled { messages, since });
        }
    }

    /// A delivery arrived just now.
    pub(crate) fn delivery(&self) {
        let at = self.started.elapsed().as_millis();
        self.last_delivery
            .store(u64::try_from(at).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// When the last delivery arrived (the start if none has yet).
    pub(crate) fn last_delivery(&self) -> Instant {
        let ms = self.last_delivery.load(Ordering::Relaxed);
        self.started + std::time::Duration::from_millis(ms)
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::SeqCst);
    }

    pub(crate) fn set_node(&self, node: Option<String>) {
        // The metrics keep the last node's attributes while reconnecting.
        if let Some(node) = &node {
            self.meter.set_node(Some(node));
        }
        *self.node.lock().unwrap_or_else(|e| e.into_inner()) = node;
    }

    pub(crate) fn node(&self) -> Option<String> {
        self.node.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    pub(crate) fn emit(&self, event: ConsumerEvent) {
        // No receiver is fine: nobody listens.
        let _ = self.events.send(event);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ConsumerEvent> {
        self.events.subscribe()
    }

    pub(crate) fn snapshot(&self) -> ConsumerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ConsumerStats {
            delivered: get(&self.delivered),
            acked: get(&self.acked),
            lost_acks: get(&self.lost_acks),
            rejected: get(&self.rejected),
            requeued: get(&self.requeued),
            redelivered: get(&self.redelivered),
            decode_failures: get(&self.decode_failures),
            reconnections: get(&self.reconnections),
            recycled: get(&self.recycled),
            retries: get(&self.retries),
            dead_letters: get(&self.dead_letters),
            backlog: u32::try_from(self.backlog.load(Ordering::Relaxed)).ok(),
        }
    }
}
