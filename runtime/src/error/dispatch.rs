//! A delivery that no binding of a list takes.

use std::fmt;

use crate::report::Quoted;

use super::{DecodeError, FromRoutingKeyError};

/// A delivery that a [`Bindings`](crate::Bindings) list could not turn into a message.
///
/// Its `Debug`, like its `Display`, quotes a routing key only up to 200 bytes.
#[non_exhaustive]
pub enum DispatchError {
    /// No binding in the list has this exchange and a pattern that matches the key.
    NoBinding {
        /// The delivery's exchange.
        exchange: String,
        /// The delivery's routing key.
        routing_key: String,
    },
    /// The binding was found, but the routing key does not fit its fields.
    RoutingKey(FromRoutingKeyError),
    /// The binding was found, but the body is not its payload type.
    Decode(DecodeError),
}

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoBinding {
                exchange,
                routing_key,
            } => write!(
                f,
                "no binding for exchange `{exchange}` matches routing key {}",
                Quoted::str(routing_key)
            ),
            Self::RoutingKey(e) => e.fmt(f),
            Self::Decode(e) => e.fmt(f),
        }
    }
}

/// Like the derived `Debug`, with the routing key quoted up to a bound.
impl fmt::Debug for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoBinding {
                exchange,
                routing_key,
            } => f
                .debug_struct("NoBinding")
                .field("exchange", exchange)
                .field("routing_key", &Quoted::str(routing_key))
                .finish(),
            Self::RoutingKey(e) => f.debug_tuple("RoutingKey").field(e).finish(),
            Self::Decode(e) => f.debug_tuple("Decode").field(e).finish(),
        }
    }
}

/// `RoutingKey` and `Decode` are transparent: their error's message and source.
impl std::error::Error for DispatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NoBinding { .. } => None,
            Self::RoutingKey(e) => std::error::Error::source(e),
            Self::Decode(e) => std::error::Error::source(e),
        }
    }
}

impl From<FromRoutingKeyError> for DispatchError {
    fn from(e: FromRoutingKeyError) -> Self {
        Self::RoutingKey(e)
    }
}

impl From<DecodeError> for DispatchError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}
