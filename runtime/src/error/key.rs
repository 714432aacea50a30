//! The routing key's errors: building a binding's pattern, and parsing a
//! key back into its fields.

use std::fmt;

use crate::report::{Quoted, capped_display};

/// Why a binding's routing-key pattern could not be built
/// ([`PulseBinding::try_routing_key`](crate::PulseBinding::try_routing_key)).
///
/// Its `Debug`, like its `Display`, quotes a field's value only up to 200
/// bytes (then says how long it was).
#[derive(Clone, PartialEq, Eq)]
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
                 but its value {} contains `.`",
                Quoted::str(value)
            ),
            Self::NotConstant {
                exchange,
                field,
                expected,
                value,
            } => write!(
                f,
                "field `{field}` of the binding for exchange `{exchange}` is always {expected:?}, \
                 but it holds {}",
                Quoted::str(value)
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

/// Like the derived `Debug`, with the value quoted up to a bound.
impl fmt::Debug for RoutingKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DotInWord {
                exchange,
                field,
                value,
            } => f
                .debug_struct("DotInWord")
                .field("exchange", exchange)
                .field("field", field)
                .field("value", &Quoted::str(value))
                .finish(),
            Self::NotConstant {
                exchange,
                field,
                expected,
                value,
            } => f
                .debug_struct("NotConstant")
                .field("exchange", exchange)
                .field("field", field)
                .field("expected", expected)
                .field("value", &Quoted::str(value))
                .finish(),
            Self::TooLong { exchange, len } => f
                .debug_struct("TooLong")
                .field("exchange", exchange)
                .field("len", len)
                .finish(),
            Self::TooManyHashes { exchange, count } => f
                .debug_struct("TooManyHashes")
                .field("exchange", exchange)
                .field("count", count)
                .finish(),
        }
    }
}

impl std::error::Error for RoutingKeyError {}

/// Why a routing key could not be turned into a binding's fields
/// ([`FromRoutingKey::from_routing_key`](crate::FromRoutingKey::from_routing_key)).
///
/// Its `Debug`, like its `Display`, quotes the routing key, a word and the
/// reason only up to 200 bytes each (then says how long they were).
#[derive(Clone, PartialEq, Eq)]
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
                    "routing key {} has {found} word(s), but the binding for exchange \
                     `{exchange}` takes {bound} {expected}",
                    Quoted::str(routing_key)
                )
            }
            Self::InvalidWord {
                exchange,
                field,
                word,
                reason,
            } => write!(
                f,
                "word {} for field `{field}` of the binding for exchange `{exchange}`: {}",
                Quoted::str(word),
                capped_display(reason)
            ),
            Self::NotConstant {
                exchange,
                field,
                expected,
                word,
            } => write!(
                f,
                "field `{field}` of the binding for exchange `{exchange}` is always {expected:?}, \
                 but the routing key has {} there",
                Quoted::str(word)
            ),
        }
    }
}

/// Like the derived `Debug`, with the key, word and reason quoted up to a
/// bound.
impl fmt::Debug for FromRoutingKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WordCount {
                exchange,
                routing_key,
                expected,
                at_least,
                found,
            } => f
                .debug_struct("WordCount")
                .field("exchange", exchange)
                .field("routing_key", &Quoted::str(routing_key))
                .field("expected", expected)
                .field("at_least", at_least)
                .field("found", found)
                .finish(),
            Self::InvalidWord {
                exchange,
                field,
                word,
                reason,
            } => f
                .debug_struct("InvalidWord")
                .field("exchange", exchange)
                .field("field", field)
                .field("word", &Quoted::str(word))
                .field("reason", &Quoted::str(reason))
                .finish(),
            Self::NotConstant {
                exchange,
                field,
                expected,
                word,
            } => f
                .debug_struct("NotConstant")
                .field("exchange", exchange)
                .field("field", field)
                .field("expected", expected)
                .field("word", &Quoted::str(word))
                .finish(),
        }
    }
}

impl std::error::Error for FromRoutingKeyError {}
