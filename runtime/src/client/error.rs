//! What can go wrong when talking to a broker.
//!
//! No error here ever holds a password: URLs are kept redacted
//! (`amqp://user:***@host`), and lapin's errors, kept as sources, do not carry
//! credentials because the client never hands lapin a password in a URL.

use std::fmt;

use crate::error::{DispatchError, RoutingKeyError};

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Connecting, declaring, binding or publishing failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection settings are unusable (a URL that does not parse, a
    /// missing user name, a queue name that is too long).
    Config {
        /// What is wrong, with the URL redacted.
        reason: String,
    },
    /// The broker could not be reached, refused the login, or the connection
    /// broke while setting up.
    Connect {
        /// The broker's URL, without its password.
        url: String,
        /// lapin's error.
        source: Source,
    },
    /// The [credentials provider](super::PulseConfig::with_credentials_provider)
    /// failed, or gave no user name. Counts as a failed connection attempt.
    Credentials {
        /// The provider's error.
        source: Source,
    },
    /// A named queue exists on the broker with other arguments or of another
    /// type (classic or quorum) than the [`QueueSpec`](super::QueueSpec) asks
    /// for: the broker refused to declare it (`PRECONDITION_FAILED`). Delete
    /// the queue, or ask for what it has. Not retried.
    QueueMismatch {
        /// The queue's full name.
        queue: String,
        /// The broker's explanation; when the type differs, with what to do
        /// (such as `the queue was declared as classic; use .quorum(false) or
        /// delete it`).
        detail: String,
    },
    /// A binding's routing-key pattern is invalid; nothing was bound.
    Binding(RoutingKeyError),
    /// An exchange checked passively does not exist on the broker. Exchanges
    /// belong to their publishers; declare them yourself only on a local broker
    /// ([`ConsumerBuilder::declare_exchanges`](super::ConsumerBuilder::declare_exchanges)).
    ExchangeNotFound {
        /// The exchange.
        exchange: String,
    },
    /// The broker refused or failed an operation (declare, bind, consume, publish).
    Broker {
        /// The AMQP operation, such as `queue.bind`.
        operation: &'static str,
        /// What it was about: a queue, an exchange, a routing key.
        target: String,
        /// lapin's error.
        source: Source,
    },
    /// A message to publish still has a wildcard word: every field of the
    /// binding must be set.
    Wildcard {
        /// The exchange.
        exchange: String,
        /// The routing key, with its `*` or `#` word(s).
        routing_key: String,
        /// The fields left unset, when the binding names its fields.
        unset: Vec<&'static str>,
    },
    /// The payload could not be serialized to JSON.
    Encode(serde_json::Error),
    /// The broker answered a publish with a negative confirm: it did not take
    /// responsibility for the message.
    Nacked {
        /// The exchange.
        exchange: String,
        /// The routing key.
        routing_key: String,
    },
    /// The connection was lost and could not be set up again within the
    /// reconnection limit.
    GaveUp {
        /// How many reconnection attempts were made.
        attempts: u32,
        /// The last attempt's error.
        last: Box<ClientError>,
    },
}

impl ClientError {
    pub(crate) fn broker(
        operation: &'static str,
        target: impl Into<String>,
        source: lapin::Error,
    ) -> Self {
        Self::Broker {
            operation,
            target: target.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Self::Config {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config { reason } => write!(f, "invalid Pulse connection settings: {reason}"),
            Self::Connect { url, source } => write!(f, "cannot connect to {url}: {source}"),
            Self::Credentials { .. } => f.write_str("the credentials provider failed"),
            Self::QueueMismatch { queue, detail } => write!(
                f,
                "queue `{queue}` exists with other settings than asked for ({detail}); \
                 delete it or declare it as it is"
            ),
            Self::Binding(e) => e.fmt(f),
            Self::ExchangeNotFound { exchange } => write!(
                f,
                "exchange `{exchange}` does not exist on the broker (exchanges are declared by \
                 their publishers; declare it yourself only on a local broker)"
            ),
            Self::Broker {
                operation,
                target,
                source,
            } => write!(f, "{operation} of {target} failed: {source}"),
            Self::Wildcard {
                exchange,
                routing_key,
                unset,
            } => {
                write!(
                    f,
                    "cannot publish to `{exchange}` with routing key {routing_key:?}: it has a wildcard word"
                )?;
                if !unset.is_empty() {
                    write!(f, " (unset field(s): {})", unset.join(", "))?;
                }
                Ok(())
            }
            Self::Encode(e) => write!(f, "cannot serialize the payload to JSON: {e}"),
            Self::Nacked {
                exchange,
                routing_key,
            } => write!(
                f,
                "the broker refused (nacked) the message to `{exchange}` with routing key {routing_key:?}"
            ),
            Self::GaveUp { attempts, last } => {
                write!(
                    f,
                    "gave up reconnecting after {attempts} attempt(s): {last}"
                )
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect { source, .. }
            | Self::Broker { source, .. }
            | Self::Credentials { source } => Some(&**source),
            Self::Binding(e) => Some(e),
            Self::Encode(e) => Some(e),
            Self::GaveUp { last, .. } => Some(&**last),
            _ => None,
        }
    }
}

impl From<RoutingKeyError> for ClientError {
    fn from(e: RoutingKeyError) -> Self {
        Self::Binding(e)
    }
}

/// An item of a [`Consumer`](super::Consumer) stream that is not a message.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConsumeError {
    /// A delivery that no binding could turn into a message: its exchange is
    /// not one the bindings know, its routing key does not fit the binding's
    /// fields, or its body is not the payload type. It has been rejected
    /// without requeueing (so it is dropped, or dead-lettered if the queue has
    /// a dead-letter exchange), and the stream goes on.
    Rejected(RejectedMessage),
    /// The connection was lost and could not be set up again within the
    /// limit. This is the stream's last item.
    GaveUp(ClientError),
}

impl fmt::Display for ConsumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(m) => m.fmt(f),
            Self::GaveUp(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConsumeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rejected(m) => Some(&m.reason),
            Self::GaveUp(e) => Some(e),
        }
    }
}

/// A delivery that was rejected because it could not be decoded
/// ([`ConsumeError::Rejected`]), with everything needed to look into it.
#[derive(Debug)]
#[non_exhaustive]
pub struct RejectedMessage {
    /// The exchange it was published to.
    pub exchange: String,
    /// Its routing key.
    pub routing_key: String,
    /// Its CC routing keys, as sent (`route.` prefix kept).
    pub cc: Vec<String>,
    /// Its body, as received.
    pub body: Vec<u8>,
    /// Why it could not become a message.
    pub reason: DispatchError,
}

impl fmt::Display for RejectedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rejected a {}-byte message from `{}` with routing key {:?}: {}",
            self.body.len(),
            self.exchange,
            self.routing_key,
            self.reason
        )
    }
}

/// Acknowledging or rejecting a message did not reach the broker.
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// The connection (or channel) the message came on is gone, whether the
    /// consumer has reconnected since or not. The broker puts the message back
    /// in a named queue and delivers it again, marked redelivered: treat it
    /// then. Delivery tags are per channel, so the client never sends this
    /// acknowledgement on the new channel, where the same tag means another
    /// message.
    ConnectionLost {
        /// lapin's error, when the acknowledgement failed on the wire rather
        /// than being refused up front.
        source: Option<Source>,
    },
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionLost { source: None } => f.write_str(
                "the connection the message came on is gone; the broker will deliver it again",
            ),
            Self::ConnectionLost { source: Some(e) } => write!(
                f,
                "the connection the message came on failed ({e}); the broker will deliver it again"
            ),
        }
    }
}

impl std::error::Error for AckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::ConnectionLost { source } => source.as_deref().map(|e| e as _),
        }
    }
}
