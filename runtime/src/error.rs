//! The errors of building, parsing and decoding with a binding.

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

/// A message body that is not the binding's payload type
/// ([`PulseBinding::decode`](crate::PulseBinding::decode)).
///
/// Its [`source`](std::error::Error::source) is the JSON error, its message
/// cut after 200 bytes: serde_json quotes a value of the wrong type whole, and
/// a body can be megabytes long. [`json_error`](Self::json_error) has it whole.
pub struct DecodeError {
    exchange: String,
    payload: &'static str,
    json: serde_json::Error,
    /// `json`'s message, capped: the error's source.
    cause: JsonError,
}

/// A JSON error's message, capped at 200 bytes of quoted input.
#[derive(Debug)]
struct JsonError(String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

impl DecodeError {
    /// An error for a body from `exchange` that does not decode as `payload`.
    pub fn new(
        exchange: impl Into<String>,
        payload: &'static str,
        source: serde_json::Error,
    ) -> Self {
        let mut message = capped_display(&source);
        let position = format!(" at line {} column {}", source.line(), source.column());
        if source.line() != 0 && !message.ends_with(&position) {
            message.push_str(&position);
        }
        Self {
            exchange: exchange.into(),
            payload,
            json: source,
            cause: JsonError(message),
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

    /// The JSON error, with line and column. Its message may quote the body
    /// whole.
    pub fn json_error(&self) -> &serde_json::Error {
        &self.json
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("exchange", &self.exchange)
            .field("payload", &self.payload)
            .field("json_error", &self.cause.0)
            .finish()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message from exchange `{}` is not a valid `{}`",
            self.exchange, self.payload
        )
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{assert_no_repeats, levels};

    fn decode_error(body: &str) -> DecodeError {
        let json = serde_json::from_str::<u64>(body).unwrap_err();
        DecodeError::new("exchange/x", "u64", json)
    }

    #[test]
    fn every_core_error_shows_each_cause_once() {
        let routing = [
            RoutingKeyError::DotInWord {
                exchange: "x".into(),
                field: "f",
                value: "a.b".into(),
            },
            RoutingKeyError::NotConstant {
                exchange: "x".into(),
                field: "f",
                expected: "primary",
                value: "other".into(),
            },
            RoutingKeyError::TooLong {
                exchange: "x".into(),
                len: 300,
            },
            RoutingKeyError::TooManyHashes {
                exchange: "x".into(),
                count: 3,
            },
        ];
        for e in &routing {
            assert_no_repeats(e);
        }
        let from_key = || {
            [
                FromRoutingKeyError::WordCount {
                    exchange: "x".into(),
                    routing_key: "a.b".into(),
                    expected: 3,
                    at_least: true,
                    found: 2,
                },
                FromRoutingKeyError::InvalidWord {
                    exchange: "x".into(),
                    field: "f",
                    word: "abc".into(),
                    reason: "invalid digit found in string".into(),
                },
                FromRoutingKeyError::NotConstant {
                    exchange: "x".into(),
                    field: "f",
                    expected: "primary",
                    word: "other".into(),
                },
            ]
        };
        for e in from_key() {
            assert_no_repeats(&e);
            assert_no_repeats(&DispatchError::RoutingKey(e));
        }
        assert_no_repeats(&decode_error("\"s\""));
        assert_no_repeats(&DispatchError::Decode(decode_error("\"s\"")));
        assert_no_repeats(&DispatchError::NoBinding {
            exchange: "x".into(),
            routing_key: "a.b".into(),
        });
    }

    #[test]
    fn a_decode_error_says_what_failed_and_its_source_says_why() {
        let e = DispatchError::Decode(decode_error("\"s\""));
        let levels = levels(&e);
        assert_eq!(
            levels,
            [
                "message from exchange `exchange/x` is not a valid `u64`",
                "invalid type: string \"s\", expected u64 at line 1 column 3",
            ]
        );
    }

    #[test]
    fn a_huge_body_is_quoted_cut_in_the_decode_error() {
        let body = format!("\"{}\"", "b".repeat(1_000_000));
        let e = decode_error(&body);
        let shown = format!("{} {e:?}", levels(&e).join(": "));
        assert!(shown.len() < 1_000, "{} bytes", shown.len());
        assert!(shown.contains("bytes)"), "{shown}");
        assert!(shown.contains("at line 1 column"), "{shown}");
        assert!(e.json_error().to_string().len() > 1_000_000);
    }

    #[test]
    fn long_keys_and_values_are_quoted_cut() {
        let long = "w".repeat(100_000);
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(RoutingKeyError::DotInWord {
                exchange: "x".into(),
                field: "f",
                value: format!("{long}.x"),
            }),
            Box::new(FromRoutingKeyError::WordCount {
                exchange: "x".into(),
                routing_key: long.clone(),
                expected: 3,
                at_least: false,
                found: 1,
            }),
            Box::new(FromRoutingKeyError::InvalidWord {
                exchange: "x".into(),
                field: "f",
                word: long.clone(),
                reason: format!("bad {long}"),
            }),
            Box::new(DispatchError::NoBinding {
                exchange: "x".into(),
                routing_key: long.clone(),
            }),
        ];
        for e in errors {
            let shown = e.to_string();
            assert!(
                shown.len() < 1_000,
                "{} bytes: {}",
                shown.len(),
                &shown[..300]
            );
        }
    }

    #[test]
    fn debug_quotes_a_huge_input_cut_and_measured() {
        let huge = "w".repeat(1_000_000);
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(RoutingKeyError::DotInWord {
                exchange: "x".into(),
                field: "f",
                value: huge.clone(),
            }),
            Box::new(RoutingKeyError::NotConstant {
                exchange: "x".into(),
                field: "f",
                expected: "primary",
                value: huge.clone(),
            }),
            Box::new(FromRoutingKeyError::WordCount {
                exchange: "x".into(),
                routing_key: huge.clone(),
                expected: 3,
                at_least: false,
                found: 1,
            }),
            Box::new(FromRoutingKeyError::InvalidWord {
                exchange: "x".into(),
                field: "f",
                word: huge.clone(),
                reason: "invalid digit found in string".into(),
            }),
            Box::new(FromRoutingKeyError::InvalidWord {
                exchange: "x".into(),
                field: "f",
                word: "w".into(),
                reason: huge.clone(),
            }),
            Box::new(FromRoutingKeyError::NotConstant {
                exchange: "x".into(),
                field: "f",
                expected: "primary",
                word: huge.clone(),
            }),
            Box::new(DispatchError::NoBinding {
                exchange: "x".into(),
                routing_key: huge.clone(),
            }),
            Box::new(DispatchError::RoutingKey(
                FromRoutingKeyError::NotConstant {
                    exchange: "x".into(),
                    field: "f",
                    expected: "primary",
                    word: huge.clone(),
                },
            )),
        ];
        for e in errors {
            let shown = format!("{e:?}");
            assert!(
                shown.len() < 1_000,
                "{} bytes: {}",
                shown.len(),
                &shown[..300]
            );
            assert!(shown.contains("…(1000000 bytes)"), "{shown}");
        }
    }

    #[test]
    fn debug_of_short_input_reads_as_the_derived_debug() {
        let e = RoutingKeyError::DotInWord {
            exchange: "x".into(),
            field: "f",
            value: "a.b".into(),
        };
        assert_eq!(
            format!("{e:?}"),
            r#"DotInWord { exchange: "x", field: "f", value: "a.b" }"#
        );
        let e = FromRoutingKeyError::WordCount {
            exchange: "x".into(),
            routing_key: "a.b".into(),
            expected: 3,
            at_least: true,
            found: 2,
        };
        assert_eq!(
            format!("{e:?}"),
            r#"WordCount { exchange: "x", routing_key: "a.b", expected: 3, at_least: true, found: 2 }"#
        );
        let e = DispatchError::RoutingKey(FromRoutingKeyError::NotConstant {
            exchange: "x".into(),
            field: "f",
            expected: "primary",
            word: "route".into(),
        });
        assert_eq!(
            format!("{e:?}"),
            r#"RoutingKey(NotConstant { exchange: "x", field: "f", expected: "primary", word: "route" })"#
        );
    }
}
