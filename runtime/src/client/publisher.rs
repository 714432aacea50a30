//! [`Publisher`]: JSON messages to an exchange, persistent, confirmed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::{Channel, Confirmation, Connection};
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{Instrument, debug, warn};

use crate::client::connect::config::PulseConfig;
use crate::client::error::ClientError;
use crate::client::handler::retry::Stamp;
use crate::client::observe::context::TraceContext;
use crate::client::observe::metrics::Meter;
use crate::client::observe::names::error;
use crate::client::observe::spans;
use crate::client::transport::channel::{check_exchange, open_channel, short};
use crate::client::transport::{Transport, headers};
use crate::key::{KeyWord, parse_fields};
use crate::traits::PulseBinding;

/// Publishes messages for a binding whose words are all set, the way
/// Taskcluster services do: the JSON body, content type `application/json`,
/// persistent (delivery mode 2), and waits for the broker's confirm.
///
/// A publisher keeps one connection and opens a new one on the next publish
/// after it breaks; a publish that failed returns the error (publish it again:
/// it may have reached the queue already, consumers de-duplicate). It can be
/// shared (`&self` methods; put it in an `Arc`) and publishes concurrently.
///
/// ```no_run
/// use pulse_binding::client::{Publisher, PulseConfig};
/// use pulse_binding::hooks::{HookChangedMessage, HookCreated};
///
/// # async fn run() -> Result<(), pulse_binding::client::ClientError> {
/// let config = PulseConfig::from_url("amqp://guest:guest@127.0.0.1:5672")?;
/// let publisher = Publisher::connect(config).await?;
/// // The hooks service publishes with the routing key `_`.
/// let binding = HookCreated { reserved: Some("_".into()) };
/// let message = HookChangedMessage {
///     hook_group_id: "project-relman".into(),
///     hook_id: "nightly".into(),
///     ..Default::default()
/// };
/// publisher.publish(&binding, &message).await?;
/// // With a wildcard left in (`reserved` unset is `#`), it is an error.
/// assert!(publisher.publish(&HookCreated::default(), &message).await.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Publisher {
    transport: Transport,
    declare_exchanges: bool,
    confirm_timeout: Duration,
    link: Mutex<Option<Link>>,
    next_serial: AtomicU64,
    /// The serial of a connection to drop at the next publish (a publish on
    /// it failed), or `u64::MAX`.
    stale: AtomicU64,
    /// The node of the last connection opened.
    node: std::sync::Mutex<Option<String>>,
    /// `messaging.client.sent.messages` and the publish durations.
    meter: Meter,
}

/// One connection with a channel in confirm mode.
#[derive(Debug)]
struct Link {
    serial: u64,
    connection: Connection,
    channel: Channel,
    /// Exchanges declared on this connection.
    declared: HashSet<String>,
}

impl Publisher {
    /// Connects to the broker of `config`.
    pub async fn connect(config: PulseConfig) -> Result<Self, ClientError> {
        let publisher = Self::new(Transport::Broker(config.clone()));
        publisher.channel(&config, None).await?;
        Ok(publisher)
    }

    /// A publisher on `transport`, not connected yet.
    pub(crate) fn new(transport: Transport) -> Self {
        Self {
            transport,
            declare_exchanges: false,
            confirm_timeout: Duration::from_secs(30),
            link: Mutex::new(None),
            next_serial: AtomicU64::new(0),
            stale: AtomicU64::new(u64::MAX),
            node: std::sync::Mutex::new(None),
            meter: Meter::publisher(),
        }
    }

    /// A publisher on `transport`, connected if it is a broker.
    pub(crate) async fn open(transport: Transport) -> Result<Self, ClientError> {
        match transport {
            Transport::Broker(config) => Self::connect(config).await,
            #[cfg(feature = "testing")]
            fake @ Transport::InMemory(_) => Ok(Self::new(fake)),
        }
    }

    /// Declares each exchange (durable topic) before its first publish on a
    /// connection. For a broker of your own, such as in tests; on Pulse, an
    /// exchange belongs to its publisher, who declares it.
    pub fn declare_exchanges(mut self, declare: bool) -> Self {
        self.declare_exchanges = declare;
        self
    }

    /// The longest a [`publish`](Self::publish) may take, reconnecting (with
    /// fresh credentials from a [provider](PulseConfig::with_credentials_provider))
    /// and waiting for the broker's confirm included, before it counts as
    /// failed; 30 s by default. The connection it was sent on is then
    /// dropped in the background and the next publish opens a new one.
    pub fn confirm_timeout(mut self, timeout: Duration) -> Self {
        self.confirm_timeout = timeout;
        self
    }

    /// The node of the publisher's connection, as `host:port` (one of
    /// [`PulseConfig::nodes`]): the node the last connection went to. After a
    /// failed publish, the next one connects again, perhaps to another node.
    pub fn node(&self) -> Option<String> {
        self.node.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Publishes `payload` to the binding's exchange with its routing key.
    ///
    /// The routing key must be valid ([`PulseBinding::try_routing_key`]) and
    /// concrete: a `*` or `#` word left in (an unset field) is
    /// [`ClientError::Wildcard`], and nothing is sent.
    pub async fn publish<B>(&self, binding: &B, payload: &B::Payload) -> Result<(), ClientError>
    where
        B: PulseBinding + ?Sized,
        B::Payload: Serialize,
    {
        self.publish_routed(binding, payload, &[] as &[&str]).await
    }

    /// [`publish`](Self::publish) with Taskcluster custom routes: each route
    /// `r` is sent as the CC routing key `route.<r>`, so the message also
    /// reaches queues bound with `route.<r>` patterns.
    pub async fn publish_routed<B, R>(
        &self,
        binding: &B,
        payload: &B::Payload,
        routes: &[R],
    ) -> Result<(), ClientError>
    where
        B: PulseBinding + ?Sized,
        B::Payload: Serialize,
        R: AsRef<str>,
    {
        let exchange = binding.exchange_name();
        let routing_key = binding.try_routing_key()?;
        check_concrete(exchange, &routing_key, binding.key_words())?;
        let body = serde_json::to_vec(payload).map_err(ClientError::Encode)?;
        let cc: Vec<String> = routes
            .iter()
            .map(|r| format!("route.{}", r.as_ref()))
            .collect();
        self.send(exchange, &routing_key, &cc, &body).await
    }

    /// Publishes a body as it is, with the same properties and checks (a
    /// concrete routing key) as [`publish`](Self::publish): for forwarding
    /// messages, or for testing consumers with bodies that do not decode.
    pub async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
    ) -> Result<(), ClientError> {
        check_concrete(exchange, routing_key, None)?;
        self.send(exchange, routing_key, &[], body).await
    }

    async fn send(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[String],
        body: &[u8],
    ) -> Result<(), ClientError> {
        self.send_stamped(exchange, routing_key, cc, None, None, body)
            .await
    }

    /// Publishes with the CC keys (and the `stamp` of a retried or dead
    /// message) as the message's headers, persistent, and waits for the
    /// confirm. The default exchange (`""`) routes straight to the queue
    /// named by the routing key.
    ///
    /// A stamped message is published mandatory: one the broker routes to no
    /// queue (the queue is gone, or a classic queue's node is down) comes back
    /// as [`ClientError::Unroutable`] rather than being confirmed and dropped,
    /// so that the caller keeps the original.
    ///
    /// Each publish is a `send {exchange}` span and is recorded in the
    /// metrics; the message carries `trace` (a retried message's original
    /// context) or else the span's own context (feature `otel`).
    pub(crate) async fn send_stamped(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[String],
        stamp: Option<&Stamp>,
        trace: Option<&TraceContext>,
        body: &[u8],
    ) -> Result<(), ClientError> {
        let span = spans::send(exchange, routing_key, body.len());
        let carried = trace.cloned().or_else(|| TraceContext::of_span(&span));
        let started = Instant::now();
        let result = self
            .send_once(exchange, routing_key, cc, stamp, carried.as_ref(), body)
            .instrument(span.clone())
            .await;
        let failure = result.as_ref().err().map(error_type);
        if let Some(failure) = failure {
            spans::failed(&span, failure);
        }
        self.meter
            .sent(exchange, started.elapsed().as_secs_f64(), failure);
        result
    }

    async fn send_once(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[String],
        stamp: Option<&Stamp>,
        trace: Option<&TraceContext>,
        body: &[u8],
    ) -> Result<(), ClientError> {
        let exchange_short = short(exchange, "exchange name")?;
        let key_short = short(routing_key, "routing key")?;
        for key in cc {
            short(key, "CC routing key")?;
        }
        // Without the `testing` feature, a broker is the only transport.
        #[allow(clippy::infallible_destructuring_match)]
        let config = match &self.transport {
            Transport::Broker(config) => config,
            #[cfg(feature = "testing")]
            Transport::InMemory(fake) => {
                return fake.publish(exchange, routing_key, cc, stamp, trace, body);
            }
        };
        let properties = headers::properties(cc, stamp, trace);
        let used = std::sync::Mutex::new(None);
        let publish = async {
            let declare = (!exchange.is_empty()).then_some(exchange);
            let (serial, channel) = self.channel(config, declare).await?;
            *used.lock().unwrap_or_else(|e| e.into_inner()) = Some(serial);
            let confirmation = match channel
                .basic_publish(
                    exchange_short,
                    key_short,
                    BasicPublishOptions {
                        mandatory: stamp.is_some(),
                        ..BasicPublishOptions::default()
                    },
                    body,
                    properties,
                )
                .await
            {
                Ok(confirm) => confirm.await,
                Err(e) => Err(e),
            };
            Ok::<_, ClientError>(confirmation)
        };
        let target = || format!("a message to `{exchange}` with routing key {routing_key:?}");
        let result = match tokio::time::timeout(self.confirm_timeout, publish).await {
            Ok(Err(e)) => Err(e),
            Ok(Ok(Ok(Confirmation::Ack(None)))) => return Ok(()),
            // Returned (mandatory and routed nowhere), then confirmed.
            Ok(Ok(Ok(Confirmation::Ack(Some(_))))) => {
                return Err(ClientError::Unroutable {
                    exchange: exchange.to_owned(),
                    routing_key: routing_key.to_owned(),
                });
            }
            Ok(Ok(Ok(Confirmation::Nack(_)))) => {
                return Err(ClientError::Nacked {
                    exchange: exchange.to_owned(),
                    routing_key: routing_key.to_owned(),
                });
            }
            Ok(Ok(Ok(Confirmation::NotRequested))) => Err(ClientError::broker(
                "basic.publish",
                target(),
                lapin::Error::from(lapin::ErrorKind::FutureCompleted),
            )),
            Ok(Ok(Err(e))) if is_not_found(&e) => Err(ClientError::ExchangeNotFound {
                exchange: exchange.to_owned(),
            }),
            Ok(Ok(Err(e))) => Err(ClientError::broker("basic.publish", target(), e)),
            Err(_) => Err(ClientError::Broker {
                operation: "basic.publish",
                target: target(),
                source: format!("no confirm within {:?}", self.confirm_timeout).into(),
            }),
        };
        let used = *used.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(serial) = used {
            warn!(url = %config, "publish failed; the next publish reconnects");
            self.stale.store(serial, Ordering::SeqCst);
        }
        result
    }

    /// The channel to publish on, connecting if there is none or it broke, and
    /// declaring `exchange` first if asked to.
    async fn channel(
        &self,
        config: &PulseConfig,
        exchange: Option<&str>,
    ) -> Result<(u64, Channel), ClientError> {
        let mut link = self.link.lock().await;
        let stale = self.stale.load(Ordering::SeqCst);
        if link
            .as_ref()
            .is_some_and(|l| l.serial == stale || !l.channel.status().connected())
            && let Some(old) = link.take()
        {
            debug!(url = %config, "publisher connection broken; reconnecting");
            tokio::spawn(close(old));
        }
        if link.is_none() {
            let opened = config.connect_any("publisher").await?;
            let connection = opened.connection;
            self.meter.set_node(Some(&opened.node));
            *self.node.lock().unwrap_or_else(|e| e.into_inner()) = Some(opened.node);
            let channel = open_channel(&connection).await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(|e| ClientError::broker("confirm.select", "the publisher's channel", e))?;
            let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
            *link = Some(Link {
                serial,
                connection,
                channel,
                declared: HashSet::new(),
            });
        }
        let current = link.as_mut().expect("set above");
        if let Some(exchange) = exchange
            && self.declare_exchanges
            && !current.declared.contains(exchange)
        {
            check_exchange(&current.channel, exchange, true).await?;
            current.declared.insert(exchange.to_owned());
        }
        Ok((current.serial, current.channel.clone()))
    }

    /// Closes the connection.
    pub async fn close(self) {
        if let Some(link) = self.link.into_inner() {
            close(link).await;
        }
    }
}

async fn close(link: Link) {
    let closing = link
        .connection
        .close(200, ShortString::from("publisher closed"));
    let _ = tokio::time::timeout(Duration::from_secs(5), closing).await;
}

/// A failed publish's `error.type`.
fn error_type(e: &ClientError) -> &'static str {
    match e {
        ClientError::Nacked { .. } => error::NACKED,
        ClientError::Unroutable { .. } => error::UNROUTABLE,
        ClientError::ExchangeNotFound { .. } => error::NO_EXCHANGE,
        ClientError::Broker { source, .. }
            if source.to_string().starts_with("no confirm within") =>
        {
            error::TIMEOUT
        }
        ClientError::Broker { .. } | ClientError::Connect { .. } => error::BROKER,
        _ => error::OTHER,
    }
}

fn is_not_found(e: &lapin::Error) -> bool {
    matches!(e.kind(), lapin::ErrorKind::ProtocolError(amqp) if amqp.get_id() == 404)
}

/// A routing key to publish with must have no `*` or `#` word.
pub(crate) fn check_concrete(
    exchange: &str,
    routing_key: &str,
    words: Option<&'static [KeyWord]>,
) -> Result<(), ClientError> {
    if !routing_key.split('.').any(|w| w == "*" || w == "#") {
        return Ok(());
    }
    let unset = words
        .and_then(|words| parse_fields(exchange, words, routing_key).ok())
        .map(|fields| {
            fields
                .into_iter()
                .filter(|(_, word)| matches!(word, Some("*" | "#")))
                .map(|(name, _)| name)
                .collect()
        })
        .unwrap_or_default();
    Err(ClientError::Wildcard {
        exchange: exchange.to_owned(),
        routing_key: routing_key.to_owned(),
        unset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::WordKind;

    const WORDS: &[KeyWord] = &[
        KeyWord {
            name: "kind",
            kind: WordKind::Constant("primary"),
        },
        KeyWord {
            name: "task_id",
            kind: WordKind::Single,
        },
        KeyWord {
            name: "reserved",
            kind: WordKind::Multi,
        },
    ];

    #[test]
    fn a_concrete_key_passes() {
        assert!(check_concrete("x", "primary.abc._", Some(WORDS)).is_ok());
        assert!(check_concrete("x", "", None).is_ok());
        assert!(check_concrete("x", "a*.#b", None).is_ok());
    }

    #[test]
    fn a_wildcard_names_the_unset_fields() {
        let e = check_concrete("x", "primary.*.#", Some(WORDS)).unwrap_err();
        match &e {
            ClientError::Wildcard { unset, .. } => assert_eq!(unset, &["task_id", "reserved"]),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("task_id, reserved"), "{e}");
        assert!(check_concrete("x", "a.*", None).is_err());
    }
}
