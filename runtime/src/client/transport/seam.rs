//! The seam between the client's logic and the broker it talks to: what a
//! consumer and a publisher need of a connection, a channel and a stream of
//! deliveries, on lapin or (with the `testing` feature) on an in-memory
//! broker behind the traits of `in_memory` (the `testing` module's
//! `FakePulse`).
//!
//! Everything above this module (the pump's decoding and rejection, the
//! acknowledgement bookkeeping and flusher, the supervisor's reconnection,
//! recycling and shutdown, handler mode and its retries, the publisher's
//! checks) is the same code for both; only these few operations differ.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicRejectOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};

use super::headers::cc_keys;
#[cfg(feature = "testing")]
use super::in_memory::{InMemoryBroker, InMemoryError, InMemoryLink};
use crate::client::connect::config::PulseConfig;
use crate::client::error::LapinError;
use crate::client::handler::retry::Origin;
use crate::client::observe::context::TraceContext;
use crate::client::transport::channel::open_channel;

/// Where a consumer or publisher connects: a broker, or the fake.
// One per consumer or publisher, so its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Transport {
    Broker(PulseConfig),
    #[cfg(feature = "testing")]
    InMemory(Arc<dyn InMemoryBroker>),
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Broker(config) => config.fmt(f),
            #[cfg(feature = "testing")]
            Self::InMemory(_) => f.write_str("in-memory broker"),
        }
    }
}

/// A consumer's connection.
pub(crate) enum Connection {
    Broker(lapin::Connection),
    #[cfg(feature = "testing")]
    InMemory(Arc<dyn InMemoryLink>),
}

impl Connection {
    /// Closes it (the broker requeues what was not acknowledged on it).
    pub(crate) async fn close(&self, why: &'static str) {
        match self {
            Self::Broker(connection) => {
                let _ = connection.close(200, ShortString::from(why)).await;
            }
            #[cfg(feature = "testing")]
            Self::InMemory(link) => link.close(),
        }
    }

    fn is_connected(&self) -> bool {
        match self {
            Self::Broker(connection) => connection.status().connected(),
            #[cfg(feature = "testing")]
            Self::InMemory(link) => link.is_open(),
        }
    }
}

/// Reads a queue's depth on a connection, again and again.
pub(crate) struct DepthReader {
    connection: Arc<Connection>,
    /// The broker's side channel, kept between readings.
    side: Option<lapin::Channel>,
}

impl DepthReader {
    pub(crate) fn new(connection: Arc<Connection>) -> Self {
        Self {
            connection,
            side: None,
        }
    }

    /// The number of ready messages in `queue`; `None` once the connection
    /// is gone, `Some(Err)` when this reading failed.
    pub(crate) async fn read(&mut self, queue: &str) -> Option<Result<u32, String>> {
        if !self.connection.is_connected() {
            return None;
        }
        match &*self.connection {
            Connection::Broker(connection) => {
                let side = match self.side.take() {
                    Some(side) if side.status().connected() => side,
                    _ => open_channel(connection).await.ok()?,
                };
                let passive = QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                };
                let reading = side
                    .queue_declare(ShortString::from(queue), passive, FieldTable::default())
                    .await;
                match reading {
                    Ok(state) => {
                        self.side = Some(side);
                        Some(Ok(state.message_count()))
                    }
                    Err(e) => Some(Err(LapinError(e).to_string())),
                }
            }
            #[cfg(feature = "testing")]
            Connection::InMemory(link) => Some(Ok(link.depth(queue))),
        }
    }
}

/// The channel a session's deliveries come on and are settled on.
#[derive(Debug)]
pub(crate) enum Channel {
    Broker(lapin::Channel),
    #[cfg(feature = "testing")]
    InMemory(Arc<dyn InMemoryLink>),
}

impl Channel {
    /// Acknowledges `tag` (and every earlier unsettled tag with `multiple`).
    pub(crate) async fn ack(&self, tag: u64, multiple: bool) -> Result<(), TransportError> {
        match self {
            Self::Broker(channel) => channel
                .basic_ack(tag, BasicAckOptions { multiple })
                .await
                .map_err(TransportError::Broker),
            #[cfg(feature = "testing")]
            Self::InMemory(link) => link.ack(tag, multiple).map_err(TransportError::InMemory),
        }
    }

    /// Rejects `tag`, back to the queue with `requeue`.
    pub(crate) async fn reject(&self, tag: u64, requeue: bool) -> Result<(), TransportError> {
        match self {
            Self::Broker(channel) => channel
                .basic_reject(tag, BasicRejectOptions { requeue })
                .await
                .map_err(TransportError::Broker),
            #[cfg(feature = "testing")]
            Self::InMemory(link) => link.reject(tag, requeue).map_err(TransportError::InMemory),
        }
    }

    /// Stops the consumer `consumer_tag` (`basic.cancel`): its delivery
    /// stream ends.
    pub(crate) async fn cancel(&self, consumer_tag: &str) -> Result<(), TransportError> {
        match self {
            Self::Broker(channel) => channel
                .basic_cancel(
                    ShortString::from(consumer_tag),
                    BasicCancelOptions::default(),
                )
                .await
                .map_err(TransportError::Broker),
            #[cfg(feature = "testing")]
            Self::InMemory(link) => {
                link.cancel(consumer_tag);
                Ok(())
            }
        }
    }

    /// Closes the channel (`channel.close`), waiting for the broker's answer,
    /// which comes only after the broker has handled every frame sent before
    /// it. The fake's channel is its connection, closed with it: nothing to do.
    pub(crate) async fn close(&self, why: &'static str) -> Result<(), TransportError> {
        match self {
            Self::Broker(channel) => channel
                .close(200, ShortString::from(why))
                .await
                .map_err(TransportError::Broker),
            #[cfg(feature = "testing")]
            Self::InMemory(_) => Ok(()),
        }
    }

    /// Whether the channel can still be used.
    pub(crate) fn is_connected(&self) -> bool {
        match self {
            Self::Broker(channel) => channel.status().connected(),
            #[cfg(feature = "testing")]
            Self::InMemory(link) => link.is_open(),
        }
    }
}

/// An acknowledgement, rejection or cancel the channel refused.
#[derive(Debug)]
pub(crate) enum TransportError {
    Broker(lapin::Error),
    #[cfg(feature = "testing")]
    InMemory(InMemoryError),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Broker(e) => e.fmt(f),
            #[cfg(feature = "testing")]
            Self::InMemory(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // What `LapinError` gives: the cause, unless lapin's text has it.
            Self::Broker(e) => {
                let cause = std::error::Error::source(e)?;
                if e.to_string().contains(&cause.to_string()) {
                    cause.source()
                } else {
                    Some(cause)
                }
            }
            #[cfg(feature = "testing")]
            Self::InMemory(e) => e.source(),
        }
    }
}

/// One delivery, as the pump reads it whatever the transport.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) tag: u64,
    pub(crate) exchange: String,
    pub(crate) routing_key: String,
    pub(crate) redelivered: bool,
    /// The CC routing keys it was published with.
    pub(crate) cc: Vec<String>,
    /// Where a retried message first came from.
    pub(crate) origin: Option<Origin>,
    /// The trace context it carries (feature `otel`).
    pub(crate) trace: Option<TraceContext>,
    pub(crate) body: Vec<u8>,
}

impl From<Delivery> for Incoming {
    fn from(delivery: Delivery) -> Self {
        let Delivery {
            delivery_tag,
            exchange,
            routing_key,
            redelivered,
            properties,
            data,
            ..
        } = delivery;
        Self {
            tag: delivery_tag,
            exchange: String::from(exchange),
            routing_key: String::from(routing_key),
            redelivered,
            cc: cc_keys(&properties),
            origin: Origin::of(&properties),
            trace: TraceContext::of(&properties),
            body: data,
        }
    }
}

/// What a session's delivery stream has next.
pub(crate) enum Next {
    Delivery(Incoming),
    /// The broker blocked the connection (it is short of memory or disk).
    Blocked(String),
    Unblocked,
    /// The connection or channel failed.
    Lost(String),
    /// The consumer was cancelled.
    Ended,
}

type Events = Pin<Box<dyn Stream<Item = lapin::Event> + Send>>;

/// A session's deliveries and connection notices.
pub(crate) enum Deliveries {
    Broker {
        consumer: lapin::Consumer,
        events: Events,
        events_open: bool,
    },
    #[cfg(feature = "testing")]
    InMemory(tokio::sync::mpsc::UnboundedReceiver<Result<Incoming, String>>),
}

impl Deliveries {
    /// A broker consumer's deliveries, with its connection's notices.
    pub(crate) fn broker(consumer: lapin::Consumer, connection: &lapin::Connection) -> Self {
        Self::Broker {
            consumer,
            events: Box::pin(connection.events_listener()),
            events_open: true,
        }
    }

    /// The next delivery or notice; deliveries first.
    pub(crate) async fn next(&mut self) -> Next {
        match self {
            Self::Broker {
                consumer,
                events,
                events_open,
            } => loop {
                tokio::select! {
                    biased;
                    next = std::future::poll_fn(|cx| Pin::new(&mut *consumer).poll_next(cx)) => {
                        return match next {
                            Some(Ok(delivery)) => Next::Delivery(delivery.into()),
                            Some(Err(e)) => Next::Lost(LapinError(e).to_string()),
                            None => Next::Ended,
                        };
                    }
                    event = std::future::poll_fn(|cx| events.as_mut().poll_next(cx)), if *events_open => {
                        match event {
                            Some(lapin::Event::ConnectionBlocked(reason)) => return Next::Blocked(reason),
                            Some(lapin::Event::ConnectionUnblocked) => return Next::Unblocked,
                            Some(_) => {}
                            None => *events_open = false,
                        }
                    }
                }
            },
            #[cfg(feature = "testing")]
            Self::InMemory(rx) => match rx.recv().await {
                Some(Ok(incoming)) => Next::Delivery(incoming),
                Some(Err(reason)) => Next::Lost(reason),
                None => Next::Ended,
            },
        }
    }
}
