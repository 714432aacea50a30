//! Which queue a consumer reads: [`QueueSpec`], declared the Pulse way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lapin::Channel;
use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use super::error::ClientError;

/// The queue a [`Consumer`](super::Consumer) declares, binds and reads.
///
/// Pulse lets a user create only queues named `queue/<user>/...`, so the name
/// given here is the part after that prefix.
///
/// - [`named`](Self::named): `queue/<user>/<name>`, durable; it outlives the
///   consumer, keeps collecting messages while no one listens, and gives back
///   the messages not acknowledged when a connection broke. Delete it yourself
///   when done with it. Pulse runs quorum queues: choose that type with
///   [`quorum`](Self::quorum) (it must match how the queue was first declared).
/// - [`anonymous`](Self::anonymous): `queue/<user>/anonymous-<random>`,
///   exclusive to the connection and deleted with it. After a reconnection the
///   consumer gets a fresh one: messages published meanwhile are lost.
///
/// ```
/// use pulse_binding::client::QueueSpec;
///
/// let q = QueueSpec::named("my-service/hooks").quorum(true);
/// assert_eq!(q.full_name("me").unwrap(), "queue/me/my-service/hooks");
/// assert!(QueueSpec::anonymous().full_name("me").unwrap().starts_with("queue/me/anonymous-"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    name: Option<String>,
    quorum: bool,
}

impl QueueSpec {
    /// The durable queue `queue/<user>/<name>`.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            quorum: false,
        }
    }

    /// An exclusive, auto-deleted queue with a random name.
    pub fn anonymous() -> Self {
        Self {
            name: None,
            quorum: false,
        }
    }

    /// Declares a named queue as a quorum queue (`x-queue-type: quorum`), as
    /// Pulse does. Ignored for an anonymous queue, which cannot be one.
    pub fn quorum(mut self, quorum: bool) -> Self {
        self.quorum = quorum;
        self
    }

    /// Whether the queue outlives its consumer.
    pub fn is_named(&self) -> bool {
        self.name.is_some()
    }

    /// The queue's full name for `user`; each call makes a new random name
    /// for an anonymous queue. An empty name, a name with control characters
    /// (which RabbitMQ takes, but no one can type again), or a full name over
    /// AMQP's 255 bytes is [`ClientError::InvalidName`].
    ///
    /// ```
    /// use pulse_binding::client::{ClientError, QueueSpec};
    ///
    /// let e = QueueSpec::named("hooks\n").full_name("me").unwrap_err();
    /// assert!(matches!(e, ClientError::InvalidName { .. }), "{e}");
    /// ```
    pub fn full_name(&self, user: &str) -> Result<String, ClientError> {
        let invalid = |name: &str, reason: String| ClientError::InvalidName {
            what: "queue name",
            name: name.to_owned(),
            reason,
        };
        let full = match &self.name {
            Some(name) if name.is_empty() => {
                return Err(invalid(name, "a named queue needs a non-empty name".into()));
            }
            Some(name) => format!("queue/{user}/{name}"),
            None => format!("queue/{user}/anonymous-{}", random_suffix()),
        };
        if let Some(c) = full.chars().find(|c| c.is_control()) {
            return Err(invalid(
                &full,
                format!("it contains the control character {c:?}"),
            ));
        }
        if full.len() > 255 {
            return Err(invalid(
                &full,
                format!("it is {} bytes long; AMQP allows at most 255", full.len()),
            ));
        }
        Ok(full)
    }

    /// Declares the queue on `channel` under `name`; returns the name the
    /// broker gives it, which is the one to bind and consume.
    pub(crate) async fn declare(
        &self,
        channel: &Channel,
        name: &str,
    ) -> Result<String, ClientError> {
        let mut arguments = FieldTable::default();
        let options = if self.is_named() {
            if self.quorum {
                arguments.insert(
                    ShortString::from("x-queue-type"),
                    AMQPValue::LongString(LongString::from("quorum")),
                );
            }
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            }
        } else {
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            }
        };
        let queue = channel
            .queue_declare(ShortString::from(name), options, arguments)
            .await
            .map_err(|e| ClientError::broker("queue.declare", format!("queue `{name}`"), e))?;
        Ok(queue.name().as_str().to_owned())
    }
}

/// A name part no other consumer picks: time, process and a counter.
fn random_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:x}-{:x}-{n:x}", std::process::id())
}
