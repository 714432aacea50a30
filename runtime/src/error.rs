//! The errors of building, parsing and decoding with a binding.

use std::fmt;

/// Why a binding's routing-key pattern could not be built
/// ([`PulseBinding::try_routing_key`](crate::PulseBinding::try_routing_key)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoutingKeyError {
    /// A single-word field holds a value with a `.`, which would split it into
    /// several words and change the shape of the key.
    DotInWord {
        /// The binding's exchange.
        exchange: String,
        /// The field at fault.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// A field declared with a fixed word (`#[mwords(constant = "..")]`) holds
    /// another value.
    NotConstant {
        /// The binding's exchange.
        exchange: String,
        /// The field at fault.
        field: &'static str,
        /// The fixed word.
        expected: &'static str,
        /// The value it holds.
        value: String,
    },
    /// The pattern is longer than 255 bytes, AMQP's limit for a binding key.
    TooLong {
        /// The binding's exchange.
        exchange: String,
        /// The pattern's length in bytes.
        len: usize,
    },
    /// The pattern has more than two `#` words, which recent RabbitMQ refuses
    /// and older brokers match very slowly.
    TooManyHashes {
        /// The binding's exchange.
        exchange: String,
        /// How many `#` words the pattern has.
        count: usize,
    },
}

impl fmt::Display for RoutingKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DotInWord {
                exchange,
                field,
                value,
            } => write!(
                f,
                "field `{field}` of the binding for exchange `{exchange}` is a single routing-key word, \
                 but its value {value:?} contains `.`"
            ),
            Self::NotConstant {
                exchange,
                field,
                expected,
                value,
            } => write!(
                f,
                "field `{field}` of the binding for exchange `{exchange}` is always {expected:?}, \
                 but it holds {value:?}"
            ),
            Self::TooLong { exchange, len } => write!(
                f,
                "the routing-key pattern of the binding for exchange `{exchange}` is {len} bytes long; \
                 AMQP allows at most 255"
            ),
            Self::TooManyHashes { exchange, count } => write!(
                f,
                "the routing-key pattern of the binding for exchange `{exchange}` has {count} `#` words; \
                 RabbitMQ allows at most 2"
            ),
        }
    }
}

impl std::error::Error for RoutingKeyError {}

/// Why a routing key could not be turned into a binding's fields
/// ([`FromRoutingKey::from_routing_key`](crate::FromRoutingKey::from_routing_key)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FromRoutingKeyError {
    /// The key has a number of words the binding cannot take.
    WordCount {
        /// The binding's exchange.
        exchange: String,
        /// The routing key.
        routing_key: String,
        /// How many words the binding needs (at least this many when
        /// `at_least` is true, exactly this many otherwise).
        expected: usize,
        /// Whether the binding has a multi-word field and so takes more words.
        at_least: bool,
        /// How many words the key has.
        found: usize,
    },
    /// A word that the field's type cannot hold.
    InvalidWord {
        /// The binding's exchange.
        exchange: String,
        /// The field the word belongs to.
        field: &'static str,
        /// The word (for a multi-word field, its words joined with `.`).
        word: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A word other than the fixed value a field declares.
    NotConstant {
        /// The binding's exchange.
        exchange: String,
        /// The field with the fixed value.
        field: &'static str,
        /// The fixed word.
        expected: &'static str,
        /// The word the key has there.
        word: String,
    },
}

impl fmt::Display for FromRoutingKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WordCount {
                exchange,
                routing_key,
                expected,
                at_least,
                found,
            } => {
                let bound = if *at_least { "at least" } else { "exactly" };
                write!(
                    f,
                    "routing key {routing_key:?} has {found} word(s), but the binding for exchange \
                     `{exchange}` takes {bound} {expected}"
                )
            }
            Self::InvalidWord {
                exchange,
                field,
                word,
                reason,
            } => write!(
                f,
                "word {word:?} for field `{field}` of the binding for exchange `{exchange}`: {reason}"
            ),
            Self::NotConstant {
                exchange,
                field,
                expected,
                word,
            } => write!(
                f,
                "field `{field}` of the binding for exchange `{exchange}` is always {expected:?}, \
                 but the routing key has {word:?} there"
            ),
        }
    }
}

impl std::error::Error for FromRoutingKeyError {}

/// A message body that is not the binding's payload type
/// ([`PulseBinding::decode`](crate::PulseBinding::decode)).
#[derive(Debug)]
pub struct DecodeError {
    exchange: String,
    payload: &'static str,
    source: serde_json::Error,
}

impl DecodeError {
    /// An error for a body from `exchange` that does not decode as `payload`.
    pub fn new(
        exchange: impl Into<String>,
        payload: &'static str,
        source: serde_json::Error,
    ) -> Self {
        Self {
            exchange: exchange.into(),
            payload,
            source,
        }
    }

    /// The exchange the message came from.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// The name of the payload type the body should have been.
    pub fn payload_type(&self) -> &'static str {
        self.payload
    }

    /// The JSON error, with line and column.
    pub fn json_error(&self) -> &serde_json::Error {
        &self.source
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message from exchange `{}` is not a valid `{}`: {}",
            self.exchange, self.payload, self.source
        )
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A delivery that a [`Bindings`](crate::Bindings) list could not turn into a message.
#[derive(Debug)]
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
                "no binding for exchange `{exchange}` matches routing key {routing_key:?}"
            ),
            Self::RoutingKey(e) => e.fmt(f),
            Self::Decode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for DispatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NoBinding { .. } => None,
            Self::RoutingKey(e) => Some(e),
            Self::Decode(e) => Some(e),
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
