//! Testing consumers and handlers without a broker (feature `testing`):
//! [`FakePulse`], an in-memory Pulse that runs the client's own
//! [`Consumer`](crate::client::Consumer) and [`Publisher`], and
//! [`Message::fake`](crate::client::Message::fake) for a single handler call.
//!
//! ```toml
//! [dev-dependencies]
//! pulse-binding = { version = "0.1", features = ["testing"] }
//! ```
//!
//! A consumer made by [`FakePulse::consumer`] is the same
//! [`Consumer`](crate::client::Consumer) a program runs against RabbitMQ: the
//! same decoding into [`Message`](crate::client::Message)s, the same
//! [`ConsumeError::Rejected`](crate::client::ConsumeError::Rejected) for a
//! body that does not decode, the same reconnection after a
//! [`disconnect_all`](FakePulse::disconnect_all), the same handler mode and
//! retries. Only the transport underneath is in memory.
//!
//! ```
//! use pulse_binding::Bindings;
//! use pulse_binding::hooks::{HookChangedMessage, HookCreated};
//! use pulse_binding::testing::FakePulse;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pulse = FakePulse::new();
//! let bindings = Bindings::new().with(HookCreated::default(), |m: HookChangedMessage| m);
//! let mut consumer = pulse.consumer(bindings).start().await?;
//!
//! let message = HookChangedMessage { hook_id: "nightly".into(), ..Default::default() };
//! let binding = HookCreated { reserved: Some("_".into()) };
//! pulse.publisher().publish_routed(&binding, &message, &["index.a"]).await?;
//!
//! let received = consumer.recv().await.expect("a message")?;
//! assert_eq!(received.payload.hook_id, "nightly");
//! assert_eq!(received.routes, ["index.a"]);
//! assert_eq!(pulse.unacked(consumer.queue_name()), 1);
//! received.ack().await?;
//! # Ok(())
//! # }
//! ```
//!
//! What it does not do: connections, TLS, credentials, heartbeats, blocked
//! connections, recycling onto another node, quorum replication or
//! persistence across processes; [`dead_letters`](crate::client::dead_letters)
//! needs a broker (use [`FakePulse::dead_letters`] instead). Exchanges exist as soon as they are
//! used, and messages that reach no queue are dropped, as on RabbitMQ.

pub(crate) mod broker;
mod error;
pub(crate) mod link;
mod message;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::client::transport::Transport;
use crate::client::{ConsumerBuilder, Publisher};
use crate::dynamic::Bindings;

pub use message::{Outcome, Record};

/// Makes the client's random choices on this thread follow `seed`, so that
/// a test run on a current-thread runtime with paused time is the same run
/// every time (`None` goes back to the clock). The only such choice today is
/// which node of a cluster a connection tries first
/// ([`PulseConfig::from_urls`](crate::client::PulseConfig::from_urls));
/// reconnection delays and recycling intervals are fixed by their settings.
pub fn seed(seed: Option<u64>) {
    crate::client::connect::nodes::seed(seed);
}

/// An in-memory Pulse broker for tests: topic exchanges, queues bound with
/// [`topic_matches`](crate::topic_matches), CC routes, per-queue order,
/// prefetch, acknowledgements, rejections and requeues (marked
/// `redelivered`), [`QueueSpec`](crate::client::QueueSpec) length limits and
/// overflow, and handler mode's delayed retries.
///
/// Its user name is `fake`: a queue named `x` is `queue/fake/x`. Clones share
/// the same broker. Consumers and publishers need a tokio runtime, as on a
/// real broker.
///
/// ```
/// use std::time::Duration;
/// use pulse_binding::Bindings;
/// use pulse_binding::client::{QueueSpec, Reconnect};
/// use pulse_binding::hooks::{HookChangedMessage, HookCreated};
/// use pulse_binding::testing::FakePulse;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pulse = FakePulse::new();
/// let bindings = Bindings::new().with(HookCreated::default(), |m: HookChangedMessage| m);
/// let mut consumer = pulse
///     .consumer(bindings)
///     .queue(QueueSpec::named("hooks"))
///     .reconnect(Reconnect::default().initial_delay(Duration::from_millis(1)))
///     .start()
///     .await?;
/// let created = HookCreated { reserved: Some("_".into()) };
/// pulse.publisher().publish(&created, &HookChangedMessage::default()).await?;
/// assert_eq!(pulse.published()[0].routing_key, "_");
///
/// let first = consumer.recv().await.expect("a message")?;
/// pulse.disconnect_all();
/// assert!(first.ack().await.is_err(), "its connection is gone");
/// let again = consumer.recv().await.expect("a message")?;
/// assert!(again.redelivered);
/// again.ack().await?;
/// pulse.idle().await;
/// assert_eq!((pulse.queue_len("hooks"), pulse.unacked("hooks")), (0, 0));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FakePulse {
    broker: Arc<broker::Broker>,
}

impl Default for FakePulse {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FakePulse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePulse").finish_non_exhaustive()
    }
}

/// A message as it was published to a [`FakePulse`]: by a
/// [`Publisher`], or by handler mode moving a failed message to a retry or
/// dead-letter queue (through the default exchange, `""`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The exchange (`""` for the default exchange).
    pub exchange: String,
    /// The routing key (the queue's name on the default exchange).
    pub routing_key: String,
    /// The CC routing keys, as sent (`route.<route>` for Taskcluster routes).
    pub cc: Vec<String>,
    /// The body, as sent.
    pub body: Vec<u8>,
}

impl Published {
    /// The body decoded from JSON as `T`.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl FakePulse {
    /// A broker with no exchange, queue or message yet.
    pub fn new() -> Self {
        Self {
            broker: broker::Broker::new(),
        }
    }

    /// A builder for a consumer of `bindings` on this broker: the same
    /// [`ConsumerBuilder`] as [`Consumer::builder`](crate::client::Consumer::builder),
    /// with its queue, prefetch, auto-ack, reconnection and retry settings.
    pub fn consumer<M: Send + 'static>(&self, bindings: Bindings<M>) -> ConsumerBuilder<M> {
        ConsumerBuilder::new(Transport::InMemory(self.broker.clone()), bindings)
    }

    /// A publisher on this broker: the same [`Publisher`] as
    /// [`Publisher::connect`] gives, with its checks (a concrete routing key,
    /// names at most 255 bytes). A publish to a full queue with
    /// [`Overflow::RejectPublish`](crate::client::Overflow::RejectPublish) is
    /// [`ClientError::Nacked`](crate::client::ClientError::Nacked).
    pub fn publisher(&self) -> Publisher {
        Publisher::new(Transport::InMemory(self.broker.clone()))
    }

    /// Drops every connection at once, as a broker restart would: consumers
    /// see a connection loss, what they held unacknowledged goes back to its
    /// queue marked redelivered, anonymous queues are deleted, and each
    /// consumer reconnects with its [`Reconnect`](crate::client::Reconnect)
    /// policy.
    pub fn disconnect_all(&self) {
        self.broker.disconnect_all();
    }

    /// How many messages wait in queue `name` (its full name, as
    /// [`Consumer::queue_name`](crate::client::Consumer::queue_name) gives, or
    /// the name given to [`QueueSpec::named`](crate::client::QueueSpec::named));
    /// 0 if there is no such queue.
    pub fn queue_len(&self, name: &str) -> usize {
        self.broker.queue_len(name)
    }

    /// How many messages of queue `name` are delivered and neither
    /// acknowledged nor rejected yet.
    pub fn unacked(&self, name: &str) -> usize {
        self.broker.unacked(name)
    }

    /// Waits until everything published so far has been handled: no queue
    /// that has a consumer holds a ready or unacknowledged message, and no
    /// retry queue holds one waiting for its delay. Messages in queues that
    /// no one consumes (such as the dead-letter queue) do not count. Never
    /// returns while a message is held unacknowledged; put a timeout around
    /// it (`tokio::time::timeout`) if the code under test may do that.
    pub async fn idle(&self) {
        while !self.broker.is_idle() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// Everything published so far, in order.
    pub fn published(&self) -> Vec<Published> {
        self.broker.published()
    }

    /// The messages ready in queue `name` (named as for
    /// [`queue_len`](Self::queue_len)), in the order they will be delivered.
    pub fn messages(&self, name: &str) -> Vec<Published> {
        self.broker.messages(name)
    }

    /// What handler mode dead-lettered next to queue `name` (named as for
    /// [`queue_len`](Self::queue_len)), oldest first: each message's origin,
    /// attempts and last error, as
    /// [`dead_letters::read`](crate::client::dead_letters::read) gives them
    /// on a broker.
    pub fn dead_letters(&self, name: &str) -> Vec<crate::client::dead_letters::DeadLetter> {
        self.broker.dead_letters(name)
    }

    /// The messages that full queues with
    /// [`Overflow::DropHead`](crate::client::Overflow::DropHead) dropped, in
    /// order.
    pub fn dropped(&self) -> Vec<Published> {
        self.broker.dropped()
    }

    /// Fault injection: the broker nacks the next `count` publishes
    /// (handler mode's moves to retry and dead-letter queues included)
    /// without taking them, as a broker short of resources would; each is
    /// [`ClientError::Nacked`](crate::client::ClientError::Nacked).
    pub fn nack_publishes(&self, count: u32) {
        self.broker.nack_publishes(count);
    }

    /// Fault injection: the next `count` connection attempts fail, as they
    /// do when a [credentials provider](crate::client::PulseConfig::with_credentials_provider)
    /// fails ([`ClientError::Credentials`](crate::client::ClientError::Credentials));
    /// consumers retry with their [`Reconnect`](crate::client::Reconnect)
    /// policy.
    pub fn fail_connects(&self, count: u32) {
        self.broker.fail_connects(count);
    }

    /// Fault injection: a connection's clean close forgets the
    /// acknowledgements and discards applied within `window` before it,
    /// whose messages go back to their queues marked redelivered (`None`,
    /// the default, forgets nothing). RabbitMQ 3.10's quorum queues can do
    /// this to the settlements of a channel that closes while the queue is
    /// busy; the consumer keeps a quorum queue's channel open a grace of
    /// 200 ms after its last acknowledgement against it, so a `window`
    /// within that grace loses nothing.
    pub fn forget_acks_at_close(&self, window: Option<std::time::Duration>) {
        self.broker.forget_acks_at_close(window);
    }
}
