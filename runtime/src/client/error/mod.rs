//! What can go wrong when talking to a broker.
//!
//! No error here ever holds a password: URLs are kept redacted
//! (`amqp://user:***@host`), and lapin's errors, kept as sources, do not carry
//! credentials because the client never hands lapin a password in a URL.

use std::fmt;

use crate::error::RoutingKeyError;
use crate::report::{Quoted, capped_display};

mod ack;
mod consume;

pub use ack::AckError;
pub use consume::{ConsumeError, RejectedMessage};

pub(crate) type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Connecting, declaring, binding or publishing failed.
///
/// One enum serves the [`Publisher`](crate::client::Publisher), the
/// [`ConsumerBuilder`](crate::client::ConsumerBuilder) and
/// [`PulseConfig`](crate::client::PulseConfig) because most of what fails is shared:
/// settings ([`Config`](Self::Config), [`InvalidName`](Self::InvalidName)),
/// connecting ([`Connect`](Self::Connect)), the broker refusing an operation
/// ([`Broker`](Self::Broker), [`ExchangeNotFound`](Self::ExchangeNotFound)).
/// The rest belongs to one side:
///
/// | variant | returned by |
/// | --- | --- |
/// | [`Binding`](Self::Binding) | both (a binding's pattern, or the key to publish with) |
/// | [`Wildcard`](Self::Wildcard), [`Encode`](Self::Encode), [`Nacked`](Self::Nacked), [`Unroutable`](Self::Unroutable) | the publisher only |
/// | [`GaveUp`](Self::GaveUp) | the consumer only, inside [`ConsumeError::GaveUp`] |
///
/// Its `Display` says what failed at its own level; the cause (lapin's
/// error, serde_json's) is its [`source`](std::error::Error::source), so
/// `anyhow`'s `{:#}` or a `tracing` report shows each cause once.
#[non_exhaustive]
pub enum ClientError {
    /// The connection settings are unusable (a URL that does not parse or
    /// whose user info is ambiguous, a missing user name, a CA or client
    /// certificate that is not PEM).
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
    /// The [credentials provider](crate::client::PulseConfig::with_credentials_provider)
    /// failed, or gave no user name. Counts as a failed connection attempt.
    Credentials {
        /// The provider's error.
        source: Source,
    },
    /// A named queue exists on the broker with other arguments or of another
    /// type (classic or quorum) than the [`QueueSpec`](crate::client::QueueSpec) asks
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
    /// Transparent: the message and source are the pattern's error.
    Binding(RoutingKeyError),
    /// An exchange checked passively does not exist on the broker. Exchanges
    /// belong to their publishers; declare them yourself only on a local broker
    /// ([`ConsumerBuilder::declare_exchanges`](crate::client::ConsumerBuilder::declare_exchanges)).
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
    /// A message that must reach a queue (a retry or dead letter of handler
    /// mode, a dead letter sent back) was routed to none: the broker returned
    /// it. The queue does not exist, or its node is down.
    Unroutable {
        /// The exchange (`""`, the default exchange, for a queue by name).
        exchange: String,
        /// The routing key (the queue's name, through the default exchange).
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
    /// A name for the broker is unusable: a queue name, exchange name or
    /// routing key over AMQP's 255 bytes, or a queue name with control
    /// characters. Nothing was sent.
    InvalidName {
        /// What the name is for, such as `routing key`.
        what: &'static str,
        /// The name (shown cut after 200 bytes).
        name: String,
        /// What is wrong with it.
        reason: String,
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
            source: Box::new(LapinError(source)),
        }
    }

    pub(crate) fn connect(url: String, source: lapin::Error) -> Self {
        Self::Connect {
            url,
            source: Box::new(LapinError(source)),
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
            Self::Connect { url, .. } => write!(f, "cannot connect to {url}"),
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
                operation, target, ..
            } => write!(f, "{operation} of {target} failed"),
            Self::Wildcard {
                exchange,
                routing_key,
                unset,
            } => {
                write!(
                    f,
                    "cannot publish to `{}` with routing key {}: it has a wildcard word",
                    capped_display(exchange),
                    Quoted::str(routing_key)
                )?;
                if !unset.is_empty() {
                    write!(f, " (unset field(s): {})", unset.join(", "))?;
                }
                Ok(())
            }
            Self::Encode(_) => f.write_str("cannot serialize the payload to JSON"),
            Self::Nacked {
                exchange,
                routing_key,
            } => write!(
                f,
                "the broker refused (nacked) the message to `{exchange}` with routing key {}",
                Quoted::str(routing_key)
            ),
            Self::Unroutable {
                exchange,
                routing_key,
            } => write!(
                f,
                "the broker routed the message to `{exchange}` with routing key {} to no queue",
                Quoted::str(routing_key)
            ),
            Self::GaveUp { attempts, .. } => {
                write!(f, "gave up reconnecting after {attempts} attempt(s)")
            }
            Self::InvalidName { what, name, reason } => {
                write!(f, "{what} {} is invalid: {reason}", Quoted::str(name))
            }
        }
    }
}

/// As derived, except that a name or routing key is quoted only up to a
/// bound, as in `Display`: a name is user input, and may be huge.
impl fmt::Debug for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config { reason } => f.debug_struct("Config").field("reason", reason).finish(),
            Self::Connect { url, source } => f
                .debug_struct("Connect")
                .field("url", url)
                .field("source", source)
                .finish(),
            Self::Credentials { source } => f
                .debug_struct("Credentials")
                .field("source", source)
                .finish(),
            Self::QueueMismatch { queue, detail } => f
                .debug_struct("QueueMismatch")
                .field("queue", queue)
                .field("detail", detail)
                .finish(),
            Self::Binding(e) => f.debug_tuple("Binding").field(e).finish(),
            Self::ExchangeNotFound { exchange } => f
                .debug_struct("ExchangeNotFound")
                .field("exchange", exchange)
                .finish(),
            Self::Broker {
                operation,
                target,
                source,
            } => f
                .debug_struct("Broker")
                .field("operation", operation)
                .field("target", target)
                .field("source", source)
                .finish(),
            Self::Wildcard {
                exchange,
                routing_key,
                unset,
            } => f
                .debug_struct("Wildcard")
                .field("exchange", &Quoted::str(exchange))
                .field("routing_key", &Quoted::str(routing_key))
                .field("unset", unset)
                .finish(),
            Self::Encode(e) => f.debug_tuple("Encode").field(e).finish(),
            Self::Nacked {
                exchange,
                routing_key,
            } => f
                .debug_struct("Nacked")
                .field("exchange", exchange)
                .field("routing_key", &Quoted::str(routing_key))
                .finish(),
            Self::Unroutable {
                exchange,
                routing_key,
            } => f
                .debug_struct("Unroutable")
                .field("exchange", exchange)
                .field("routing_key", &Quoted::str(routing_key))
                .finish(),
            Self::GaveUp { attempts, last } => f
                .debug_struct("GaveUp")
                .field("attempts", attempts)
                .field("last", last)
                .finish(),
            Self::InvalidName { what, name, reason } => f
                .debug_struct("InvalidName")
                .field("what", what)
                .field("name", &Quoted::str(name))
                .field("reason", reason)
                .finish(),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect { source, .. }
            | Self::Broker { source, .. }
            | Self::Credentials { source } => Some(&**source),
            Self::Binding(e) => std::error::Error::source(e),
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

/// A lapin error as a source. lapin's messages already include their cause
/// (`IO error: connection refused`), so the chain goes on from that cause's
/// own cause, and no text shows twice.
#[derive(Debug)]
pub(crate) struct LapinError(pub(crate) lapin::Error);

impl fmt::Display for LapinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LapinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let cause = std::error::Error::source(&self.0)?;
        if self.0.to_string().contains(&cause.to_string()) {
            cause.source()
        } else {
            Some(cause)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DispatchError;
    use crate::error::{DecodeError, FromRoutingKeyError};
    use crate::report::tests::{assert_no_repeats, levels};

    fn lapin_io() -> lapin::Error {
        std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused").into()
    }

    fn decode_error() -> DecodeError {
        let json = serde_json::from_str::<u64>("\"not a number\"").unwrap_err();
        DecodeError::new("exchange/x", "u64", json)
    }

    fn connect() -> ClientError {
        ClientError::connect("amqp://u:***@h:5672/%2F".into(), lapin_io())
    }

    fn rejected(reason: DispatchError, body: Vec<u8>) -> RejectedMessage {
        RejectedMessage {
            exchange: "exchange/x".into(),
            routing_key: "a.b".into(),
            cc: Vec::new(),
            body,
            reason,
        }
    }

    fn every_client_error() -> Vec<ClientError> {
        vec![
            ClientError::config("no user name"),
            connect(),
            ClientError::Binding(RoutingKeyError::TooLong {
                exchange: "exchange/x".into(),
                len: 300,
            }),
            ClientError::ExchangeNotFound {
                exchange: "exchange/x".into(),
            },
            ClientError::broker("queue.bind", "queue `q`", lapin_io()),
            ClientError::Wildcard {
                exchange: "exchange/x".into(),
                routing_key: "a.*".into(),
                unset: vec!["b"],
            },
            ClientError::Encode(serde_json::from_str::<u64>("x").unwrap_err()),
            ClientError::Nacked {
                exchange: "exchange/x".into(),
                routing_key: "a.b".into(),
            },
            ClientError::Unroutable {
                exchange: String::new(),
                routing_key: "queue/me/q/dead".into(),
            },
            ClientError::GaveUp {
                attempts: 3,
                last: Box::new(connect()),
            },
            ClientError::InvalidName {
                what: "routing key",
                name: "k".repeat(300),
                reason: "it is 300 bytes long; AMQP allows at most 255".into(),
            },
        ]
    }

    #[test]
    fn every_client_error_shows_each_cause_once() {
        for e in every_client_error() {
            assert_no_repeats(&e);
        }
        for e in [
            ConsumeError::GaveUp(ClientError::GaveUp {
                attempts: 3,
                last: Box::new(connect()),
            }),
            ConsumeError::Rejected(rejected(DispatchError::Decode(decode_error()), vec![b'x'])),
            ConsumeError::Rejected(rejected(
                DispatchError::NoBinding {
                    exchange: "exchange/x".into(),
                    routing_key: "a.b".into(),
                },
                Vec::new(),
            )),
            ConsumeError::Rejected(rejected(
                DispatchError::RoutingKey(FromRoutingKeyError::WordCount {
                    exchange: "exchange/x".into(),
                    routing_key: "a.b".into(),
                    expected: 3,
                    at_least: false,
                    found: 2,
                }),
                Vec::new(),
            )),
        ] {
            assert_no_repeats(&e);
        }
        for e in [
            AckError::ConnectionLost { source: None },
            AckError::ConnectionLost {
                source: Some(Box::new(LapinError(lapin_io()))),
            },
        ] {
            assert_no_repeats(&e);
        }
    }

    #[test]
    fn each_level_of_a_chain_says_its_own_part() {
        let gave_up = ClientError::GaveUp {
            attempts: 3,
            last: Box::new(connect()),
        };
        assert_eq!(
            levels(&gave_up),
            [
                "gave up reconnecting after 3 attempt(s)",
                "cannot connect to amqp://u:***@h:5672/%2F",
                "IO error: connection refused",
            ]
        );
        // Transparent wrappers: the same chain as what they wrap.
        let wrapped = ConsumeError::GaveUp(gave_up);
        assert_eq!(
            levels(&wrapped)[0],
            "gave up reconnecting after 3 attempt(s)"
        );
        assert_eq!(levels(&wrapped).len(), 3);
        let rejected = ConsumeError::Rejected(rejected(
            DispatchError::Decode(decode_error()),
            b"\"not a number\"".to_vec(),
        ));
        let levels = levels(&rejected);
        assert_eq!(levels.len(), 3, "{levels:#?}");
        assert!(
            levels[0].starts_with("rejected a 14-byte message"),
            "{levels:#?}"
        );
        assert_eq!(
            levels[1],
            "message from exchange `exchange/x` is not a valid `u64`"
        );
        assert!(levels[2].starts_with("invalid type: string"), "{levels:#?}");
    }

    #[test]
    fn a_huge_body_is_quoted_cut_and_kept_whole() {
        let body = format!("\"{}\"", "b".repeat(50_000_000));
        let json = serde_json::from_str::<u64>(&body).unwrap_err();
        let reason = DispatchError::Decode(DecodeError::new("exchange/x", "u64", json));
        let rejected = ConsumeError::Rejected(rejected(reason, body.clone().into_bytes()));
        let chain = crate::report::Chain(&rejected).to_string();
        assert!(chain.len() < 1_000, "{} bytes", chain.len());
        assert!(chain.contains("…(50000"), "{chain}");
        let debug = format!("{rejected:?}");
        assert!(debug.len() < 2_000, "{debug}");
        assert!(debug.contains("body: \"\\\"bbb"), "{debug}");
        assert!(debug.contains("…(50000002 bytes)"), "{debug}");
        let ConsumeError::Rejected(m) = rejected else {
            unreachable!()
        };
        assert_eq!(m.body.len(), body.len());
        let DispatchError::Decode(e) = &m.reason else {
            unreachable!()
        };
        assert!(e.json_error().to_string().len() > 50_000_000);
    }

    #[test]
    fn a_huge_name_or_key_is_cut_in_debug_as_in_display() {
        let huge = "k".repeat(10_000);
        for e in [
            ClientError::InvalidName {
                what: "queue name",
                name: huge.clone(),
                reason: "it is 10000 bytes long; AMQP allows at most 255".into(),
            },
            ClientError::Wildcard {
                exchange: huge.clone(),
                routing_key: format!("{huge}.*"),
                unset: vec!["task_id"],
            },
            ClientError::Nacked {
                exchange: "x".into(),
                routing_key: huge.clone(),
            },
            ClientError::Unroutable {
                exchange: String::new(),
                routing_key: huge.clone(),
            },
        ] {
            for shown in [format!("{e:?}"), e.to_string()] {
                assert!(
                    !shown.contains(&huge),
                    "{} bytes: {:.80}",
                    shown.len(),
                    shown
                );
                assert!(shown.len() < 1_000, "{} bytes", shown.len());
                assert!(shown.contains(&"k".repeat(100)), "{shown:.300}");
            }
        }
        let wildcard = ClientError::Wildcard {
            exchange: "x".into(),
            routing_key: "a.*".into(),
            unset: vec!["b"],
        };
        assert_eq!(
            format!("{wildcard:?}"),
            r#"Wildcard { exchange: "x", routing_key: "a.*", unset: ["b"] }"#
        );
    }

    #[test]
    fn a_long_routing_key_is_quoted_cut() {
        let key = "k".repeat(10_000);
        for e in [
            ClientError::Wildcard {
                exchange: "x".into(),
                routing_key: format!("{key}.*"),
                unset: Vec::new(),
            },
            ClientError::InvalidName {
                what: "routing key",
                name: key.clone(),
                reason: "it is 10000 bytes long; AMQP allows at most 255".into(),
            },
        ] {
            let shown = e.to_string();
            assert!(shown.len() < 500, "{shown}");
            assert!(
                shown.contains("(10002 bytes)") || shown.contains("(10000 bytes)"),
                "{shown}"
            );
        }
    }
}
