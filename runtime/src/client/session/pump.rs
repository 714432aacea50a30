//! One session's deliveries as messages: the task that reads a session's
//! deliveries (from any [transport](crate::client::transport)),
//! decodes each delivery with the bindings and hands it to the consumer's
//! stream, and reports the connection's blocked/unblocked notices.

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::warn;

use crate::client::consumer::message::{Acker, Message, Retained, routes};
use crate::client::consumer::stats::{ConsumerEvent, Monitor};
use crate::client::error::{ConsumeError, RejectedMessage};
use crate::client::observe::{names, spans};
use crate::client::session::link::Link;
use crate::client::transport::{Deliveries, Incoming, Next};
use crate::dynamic::{Bindings, Fields};
use crate::error::DispatchError;
use crate::report::{Chain, Quoted};

pub(crate) type Item<M> = Result<Message<M>, ConsumeError>;

/// Why a pump stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The consumer's stream was dropped.
    Closed,
    /// The broker consumer was cancelled (by us, or by the broker).
    Ended,
    /// The connection or channel failed.
    Lost(String),
}

/// What a pump needs besides its session.
pub(crate) struct Pump<M> {
    pub(crate) bindings: Arc<Bindings<M>>,
    pub(crate) auto_ack: bool,
    /// Keep each message's body and CC keys, for retries.
    pub(crate) retain: bool,
    pub(crate) tx: mpsc::Sender<Item<M>>,
    pub(crate) link: Arc<Link>,
}

impl<M: Send + 'static> Pump<M> {
    /// Forwards deliveries until the consumer ends, the connection fails or
    /// the stream is dropped.
    pub(crate) async fn run(self, mut deliveries: Deliveries) -> Stop {
        loop {
            let next = tokio::select! {
                biased;
                next = deliveries.next() => next,
                () = self.tx.closed() => return Stop::Closed,
            };
            let item = match next {
                Next::Delivery(incoming) => self.handle(incoming).await,
                Next::Lost(reason) => return Stop::Lost(reason),
                Next::Ended => return Stop::Ended,
                Next::Blocked(reason) => {
                    warn!(reason = %reason, "the broker blocked the connection");
                    self.link.monitor.emit(ConsumerEvent::Blocked { reason });
                    continue;
                }
                Next::Unblocked => {
                    self.link.monitor.emit(ConsumerEvent::Unblocked);
                    continue;
                }
            };
            if self.tx.send(item).await.is_err() {
                return Stop::Closed;
            }
        }
    }

    /// A delivery as a message, or rejected as an error.
    async fn handle(&self, incoming: Incoming) -> Item<M> {
        let Incoming {
            tag: delivery_tag,
            exchange,
            routing_key,
            redelivered,
            cc,
            origin,
            trace,
            body: data,
        } = incoming;
        let monitor = &self.link.monitor;
        Monitor::count(&monitor.delivered);
        monitor.delivery();
        if redelivered {
            Monitor::count(&monitor.redelivered);
        }
        // A retried message carries where it first came from.
        let (exchange, routing_key, cc, attempt) = match origin {
            Some(origin) => (
                origin.exchange,
                origin.routing_key,
                origin.cc,
                origin.attempt,
            ),
            None => (exchange, routing_key, cc, 1),
        };
        match self.decode(&exchange, &routing_key, &cc, &data) {
            Ok((payload, fields)) => {
                monitor.meter.consumed(&exchange, None);
                let span = spans::process(&exchange, &routing_key, delivery_tag, data.len());
                if let Some(trace) = &trace {
                    trace.adopt(&span);
                }
                Ok(Message {
                    routes: routes(&cc),
                    exchange,
                    routing_key,
                    fields,
                    redelivered,
                    payload,
                    acker: Acker::new(self.link.clone(), (!self.auto_ack).then_some(delivery_tag)),
                    attempt,
                    retained: self.retain.then_some(Retained {
                        body: data,
                        cc,
                        trace,
                    }),
                    span: std::panic::AssertUnwindSafe(span),
                })
            }
            Err(reason) => {
                monitor.record(&monitor.decode_failures, names::DECODE_FAILURES, 1);
                monitor
                    .meter
                    .consumed(&exchange, Some(names::error::DECODE));
                warn!(exchange = %exchange, routing_key = %Quoted::str(&routing_key), error = %Chain(&reason), "rejecting a message no binding can decode");
                if !self.auto_ack {
                    let started = tokio::time::Instant::now();
                    let rejected = self.link.channel.reject(delivery_tag, false).await;
                    let failure = rejected.is_err().then_some(names::error::CONNECTION_LOST);
                    let seconds = started.elapsed().as_secs_f64();
                    monitor
                        .meter
                        .settled(names::Operation::Nack, seconds, failure);
                    match rejected {
                        Ok(()) => {
                            self.link.acks.settled(delivery_tag);
                            Monitor::count(&monitor.rejected);
                        }
                        Err(e) => {
                            warn!(error = %e, "could not reject the message; it will come again")
                        }
                    }
                }
                Err(ConsumeError::Rejected(RejectedMessage {
                    exchange,
                    routing_key,
                    cc,
                    body: data,
                    reason,
                }))
            }
        }
    }

    fn decode(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[String],
        body: &[u8],
    ) -> Result<(M, Fields), DispatchError> {
        let route = self
            .bindings
            .route(exchange, routing_key, cc)
            .ok_or_else(|| DispatchError::NoBinding {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            })?;
        route.decode_with_fields(routing_key, body)
    }
}
