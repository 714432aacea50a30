//! Which queue a consumer reads: [`QueueSpec`], declared the Pulse way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lapin::Channel;
use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use crate::client::error::ClientError;

/// The queue a [`Consumer`](crate::client::Consumer) declares, binds and reads.
///
/// Pulse lets a user create only queues named `queue/<user>/...`, so the name
/// given here is the part after that prefix.
///
/// - [`named`](Self::named): `queue/<user>/<name>`, durable; it outlives the
///   consumer, keeps collecting messages while no one listens, and gives back
///   the messages not acknowledged when a connection broke. Delete it yourself
///   when done with it. It is a quorum queue by default, as Pulse and
///   Taskcluster's clients declare them: replicated over the nodes of a
///   cluster, it survives the loss of a minority of them. A classic queue
///   needs [`quorum(false)`](Self::quorum); the type must match how the queue
///   was first declared.
/// - [`anonymous`](Self::anonymous): `queue/<user>/anonymous-<random>`,
///   exclusive to the connection and deleted with it. It lives on the node
///   the consumer is connected to and does not survive that node: after a
///   reconnection (to that node or another) the consumer gets a fresh one,
///   and messages published meanwhile, or held in the old one, are lost.
///
/// Pulse deletes a queue that grows without bound (its guardian warns at
/// about 2,000 messages and deletes at 8,000). Cap it with
/// [`max_length`](Self::max_length) and choose what goes with
/// [`overflow`](Self::overflow); let an unused queue go by itself with
/// [`expires`](Self::expires). The broker keeps a queue's arguments from its
/// first declaration: declaring it again with others is
/// [`ClientError::QueueMismatch`].
///
/// ```
/// use std::time::Duration;
/// use pulse_binding::client::{Overflow, QueueSpec};
///
/// let q = QueueSpec::named("my-service/hooks") // a quorum queue
///     .max_length(5_000)
///     .overflow(Overflow::DropHead)
///     .expires(Duration::from_secs(24 * 3600));
/// assert_eq!(q.full_name("me").unwrap(), "queue/me/my-service/hooks");
/// assert!(QueueSpec::anonymous().full_name("me").unwrap().starts_with("queue/me/anonymous-"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    name: Option<String>,
    quorum: bool,
    max_length: Option<u32>,
    overflow: Option<Overflow>,
    expires: Option<Duration>,
}

/// What a queue at its [`max_length`](QueueSpec::max_length) does with one
/// more message (`x-overflow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// Drops the oldest messages (the broker's default): the queue keeps the
    /// newest.
    DropHead,
    /// Refuses new messages: a publisher waiting for confirms gets a negative
    /// one ([`ClientError::Nacked`]), the queue keeps the oldest.
    RejectPublish,
}

impl Overflow {
    fn as_str(self) -> &'static str {
        match self {
            Self::DropHead => "drop-head",
            Self::RejectPublish => "reject-publish",
        }
    }
}

impl QueueSpec {
    /// The durable quorum queue `queue/<user>/<name>`.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            quorum: true,
            ..Self::anonymous()
        }
    }

    /// An exclusive, auto-deleted queue with a random name.
    pub fn anonymous() -> Self {
        Self {
            name: None,
            quorum: false,
            max_length: None,
            overflow: None,
            expires: None,
        }
    }

    /// Whether a named queue is a quorum queue (`x-queue-type: quorum`), as
    /// Pulse runs them: `true` by default; `false` declares a classic queue
    /// (no `x-queue-type`), such as one a consumer made before quorum became
    /// the default. Ignored for an anonymous queue, which cannot be one.
    ///
    /// ```
    /// use pulse_binding::client::QueueSpec;
    ///
    /// assert!(QueueSpec::named("q").is_quorum());
    /// assert!(!QueueSpec::named("q").quorum(false).is_quorum());
    /// assert!(!QueueSpec::anonymous().quorum(true).is_quorum());
    /// ```
    pub fn quorum(mut self, quorum: bool) -> Self {
        self.quorum = quorum;
        self
    }

    /// Caps the queue at `messages` ready messages (`x-max-length`); what
    /// goes when it is full is the [`overflow`](Self::overflow) rule. No cap
    /// by default.
    pub fn max_length(mut self, messages: u32) -> Self {
        self.max_length = Some(messages);
        self
    }

    /// What a full queue does with one more message (`x-overflow`); the
    /// broker's default is [`Overflow::DropHead`].
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = Some(overflow);
        self
    }

    /// Deletes the queue once it has had no consumer (and no redeclaration)
    /// for `unused` (`x-expires`, in whole milliseconds, at least 1). Never by
    /// default.
    pub fn expires(mut self, unused: Duration) -> Self {
        self.expires = Some(unused);
        self
    }

    /// Whether the queue is declared as a quorum queue: a named queue
    /// unless [`quorum(false)`](Self::quorum).
    pub fn is_quorum(&self) -> bool {
        self.is_named() && self.quorum
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

    /// The length cap and what a full queue does (the broker's default
    /// rule, [`Overflow::DropHead`], when unset).
    #[cfg(feature = "testing")]
    pub(crate) fn limits(&self) -> (Option<u32>, Overflow) {
        (self.max_length, self.overflow.unwrap_or(Overflow::DropHead))
    }

    /// The `x-` arguments the queue is declared with.
    pub(crate) fn arguments(&self) -> FieldTable {
        let mut arguments = self.limit_arguments();
        let mut set = |key: &str, value| {
            arguments.insert(ShortString::from(key), value);
        };
        if self.is_quorum() {
            set(
                "x-queue-type",
                AMQPValue::LongString(LongString::from("quorum")),
            );
        }
        if let Some(overflow) = self.overflow {
            set(
                "x-overflow",
                AMQPValue::LongString(LongString::from(overflow.as_str())),
            );
        }
        arguments
    }

    /// The length cap and expiry as `x-` arguments.
    fn limit_arguments(&self) -> FieldTable {
        let mut arguments = self.expiry_arguments();
        if let Some(max) = self.max_length {
            arguments.insert(
                ShortString::from("x-max-length"),
                AMQPValue::LongLongInt(i64::from(max)),
            );
        }
        arguments
    }

    /// The expiry as an `x-` argument: what the queues of handler mode next
    /// to this one share with it (they have no length cap: a full retry
    /// queue and a full main queue would wait on each other for ever).
    pub(crate) fn expiry_arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        if let Some(expires) = self.expires {
            let ms = i64::try_from(expires.as_millis())
                .unwrap_or(i64::MAX)
                .max(1);
            arguments.insert(ShortString::from("x-expires"), AMQPValue::LongLongInt(ms));
        }
        arguments
    }

    /// Declares the queue on `channel` under `name`; returns the name the
    /// broker gives it, which is the one to bind and consume. One that exists
    /// with other arguments is [`ClientError::QueueMismatch`].
    pub(crate) async fn declare(
        &self,
        channel: &Channel,
        name: &str,
    ) -> Result<String, ClientError> {
        let arguments = self.arguments();
        let options = if self.is_named() {
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
            .map_err(|e| declare_error(name, e, |detail| self.with_hint(detail)))?;
        Ok(queue.name().as_str().to_owned())
    }
}

impl QueueSpec {
    /// The broker's explanation of a mismatch, with what to do when the
    /// queue's type is what differs.
    fn with_hint(&self, detail: String) -> String {
        if !detail.contains("x-queue-type") {
            return detail;
        }
        let hint = if self.is_quorum() {
            "declared as classic; use .quorum(false) or delete it"
        } else {
            "declared as quorum; use .quorum(true) or delete it"
        };
        format!("{detail}; the queue was {hint}")
    }
}

/// A failed `queue.declare` of `name`: a mismatch (its detail passed through
/// `hint`) when the broker says the queue exists otherwise.
fn declare_error(name: &str, e: lapin::Error, hint: impl FnOnce(String) -> String) -> ClientError {
    match precondition_failed(&e) {
        Some(detail) => ClientError::QueueMismatch {
            queue: name.to_owned(),
            detail: hint(detail),
        },
        None => ClientError::broker("queue.declare", format!("queue `{name}`"), e),
    }
}

/// The broker's text for a `PRECONDITION_FAILED` (406) channel error.
pub(crate) fn precondition_failed(e: &lapin::Error) -> Option<String> {
    match e.kind() {
        lapin::ErrorKind::ProtocolError(amqp) if amqp.get_id() == 406 => {
            Some(amqp.get_message().as_str().to_owned())
        }
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn argument<'a>(table: &'a FieldTable, key: &str) -> Option<&'a AMQPValue> {
        table.inner().get(key)
    }

    #[test]
    fn limits_become_the_broker_arguments() {
        let spec = QueueSpec::named("q")
            .quorum(true)
            .max_length(2_000)
            .overflow(Overflow::RejectPublish)
            .expires(Duration::from_secs(90));
        let args = spec.arguments();
        assert_eq!(
            argument(&args, "x-queue-type"),
            Some(&AMQPValue::LongString("quorum".into()))
        );
        assert_eq!(
            argument(&args, "x-max-length"),
            Some(&AMQPValue::LongLongInt(2_000))
        );
        assert_eq!(
            argument(&args, "x-overflow"),
            Some(&AMQPValue::LongString("reject-publish".into()))
        );
        assert_eq!(
            argument(&args, "x-expires"),
            Some(&AMQPValue::LongLongInt(90_000))
        );
        let drop_head = QueueSpec::named("q")
            .overflow(Overflow::DropHead)
            .arguments();
        assert_eq!(
            argument(&drop_head, "x-overflow"),
            Some(&AMQPValue::LongString("drop-head".into()))
        );
    }

    #[test]
    fn a_named_queue_is_quorum_unless_asked_otherwise() {
        let quorum = QueueSpec::named("q").arguments();
        assert_eq!(
            argument(&quorum, "x-queue-type"),
            Some(&AMQPValue::LongString("quorum".into()))
        );
        assert!(
            QueueSpec::named("q")
                .quorum(false)
                .arguments()
                .inner()
                .is_empty()
        );
    }

    #[test]
    fn a_type_mismatch_says_what_to_do() {
        let detail =
            "inequivalent arg 'x-queue-type' for queue 'q': received 'quorum' but current is none";
        let quorum = QueueSpec::named("q").with_hint(detail.into());
        assert!(quorum.starts_with(detail), "{quorum}");
        assert!(quorum.ends_with("declared as classic; use .quorum(false) or delete it"));
        let classic = QueueSpec::named("q").quorum(false).with_hint(detail.into());
        assert!(classic.ends_with("declared as quorum; use .quorum(true) or delete it"));
        let other = "inequivalent arg 'x-max-length'";
        assert_eq!(QueueSpec::named("q").with_hint(other.into()), other);
    }

    #[test]
    fn no_limits_no_arguments() {
        assert!(
            QueueSpec::named("q")
                .quorum(false)
                .arguments()
                .inner()
                .is_empty()
        );
        assert!(
            QueueSpec::anonymous()
                .quorum(true)
                .arguments()
                .inner()
                .is_empty()
        );
    }

    #[test]
    fn expiry_is_at_least_one_millisecond() {
        let args = QueueSpec::named("q")
            .expires(Duration::from_micros(10))
            .arguments();
        assert_eq!(
            argument(&args, "x-expires"),
            Some(&AMQPValue::LongLongInt(1))
        );
    }
}
