//! What a consumer's stream yields that is not a message.

use std::fmt;

use super::ClientError;
use crate::error::DispatchError;
use crate::report::Quoted;

/// An item of a [`Consumer`](crate::client::Consumer) stream that is not a message.
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

/// Transparent: the message and source of the rejected message or the
/// [`ClientError::GaveUp`].
impl std::error::Error for ConsumeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rejected(m) => std::error::Error::source(m),
            Self::GaveUp(e) => std::error::Error::source(e),
        }
    }
}

/// A delivery that was rejected because it could not be decoded
/// ([`ConsumeError::Rejected`]), with everything needed to look into it.
/// Its `Debug` and `Display` quote at most 200 bytes of the body.
#[non_exhaustive]
pub struct RejectedMessage {
    /// The exchange it was published to.
    pub exchange: String,
    /// Its routing key.
    pub routing_key: String,
    /// Its CC routing keys, as sent (`route.` prefix kept).
    pub cc: Vec<String>,
    /// Its body, as received, whole (errors and logs quote at most 200
    /// bytes of it).
    pub body: Vec<u8>,
    /// Why it could not become a message.
    pub reason: DispatchError,
}

impl fmt::Display for RejectedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rejected a {}-byte message from `{}` with routing key {}",
            self.body.len(),
            self.exchange,
            Quoted::str(&self.routing_key),
        )
    }
}

impl fmt::Debug for RejectedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RejectedMessage")
            .field("exchange", &self.exchange)
            .field("routing_key", &self.routing_key)
            .field("cc", &self.cc)
            .field("body", &Quoted(&self.body))
            .field("reason", &self.reason)
            .finish()
    }
}

/// Its source is the [`reason`](Self::reason).
impl std::error::Error for RejectedMessage {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}
