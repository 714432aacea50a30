//! What a consumer yields: [`Message`], and its [`Acker`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::client::consumer::stats::Monitor;
use crate::client::error::AckError;
use crate::client::observe::context::TraceContext;
use crate::client::observe::names::{self, Operation};
use crate::client::session::link::Link;
use crate::client::transport::TransportError;

/// A delivery, decoded: where it came from, the routing key's fields, and the
/// payload, with the means to acknowledge it.
///
/// Acknowledge every message once handled ([`ack`](Self::ack)), or reject it
/// ([`reject`](Self::reject)). A message neither acknowledged nor rejected
/// stays taken (and counts against the prefetch) until the connection closes,
/// when the broker delivers it again. To keep the payload and acknowledge
/// later, move the [`acker`](Self::acker) out:
///
/// ```
/// # use pulse_binding::client::Message;
/// # async fn handle(message: Message<String>) {
/// let Message { payload, acker, .. } = message;
/// println!("{payload}");
/// acker.ack().await.expect("the broker will deliver it again");
/// # }
/// ```
#[must_use = "a message holds its delivery until it is acknowledged or rejected"]
#[non_exhaustive]
pub struct Message<M> {
    /// The exchange it was published to.
    pub exchange: String,
    /// The routing key it was published with.
    pub routing_key: String,
    /// The routing key split into the binding's fields, `(field, word)` in
    /// declaration order (a multi-word field's words joined with `.`, `None`
    /// when it got none). Empty for a binding that does not name its fields,
    /// such as [`Binding`](crate::Binding).
    pub fields: Vec<(&'static str, Option<String>)>,
    /// The message's CC routing keys with Taskcluster's `route.` prefix
    /// removed: the task's custom routes, such as `index.gecko.v2.trunk`.
    pub routes: Vec<String>,
    /// Whether the broker delivered it before (to this consumer or another)
    /// without an acknowledgement: it may have been handled already.
    pub redelivered: bool,
    /// The decoded body, mapped by the binding's function.
    pub payload: M,
    /// Acknowledges or rejects the delivery.
    pub acker: Acker,
    /// Which attempt this delivery is: 1 for the first, more for a retry.
    pub(crate) attempt: u32,
    /// What handler mode needs to publish it again: its body and CC keys as
    /// received (kept only when the consumer retries).
    pub(crate) retained: Option<Retained>,
    /// Its `process {exchange}` span. (A span is a handle that unwinding
    /// cannot leave half-changed: asserted unwind-safe, so that `Message`
    /// stays `UnwindSafe` and `RefUnwindSafe` as it was before it had one.)
    pub(crate) span: std::panic::AssertUnwindSafe<tracing::Span>,
}

/// A delivery's body and CC keys, kept for a retry.
#[derive(Debug)]
pub(crate) struct Retained {
    pub(crate) body: Vec<u8>,
    pub(crate) cc: Vec<String>,
    /// The trace context it came with, which a retry or dead letter keeps.
    pub(crate) trace: Option<TraceContext>,
}

impl<M> Message<M> {
    /// The word of the routing-key field `name`, if the field exists and got one.
    ///
    /// ```
    /// # use pulse_binding::client::Message;
    /// # fn show(message: &Message<serde_json::Value>) {
    /// if let Some(task_id) = message.field("task_id") {
    ///     println!("task {task_id}");
    /// }
    /// # }
    /// ```
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, w)| w.as_deref())
    }

    /// Which attempt this delivery is: 1 for the first delivery, 2 and more
    /// for a delivery that a [retry policy](crate::client::RetryPolicy) brought back.
    /// A redelivery after a connection loss keeps its attempt number (see
    /// [`redelivered`](Self::redelivered)).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The message's `process {exchange}` span (on `tracing`; OpenTelemetry's
    /// RabbitMQ conventions name it and its fields): enter it, or
    /// [`instrument`](https://docs.rs/tracing/latest/tracing/trait.Instrument.html)
    /// the handling with it, so that what the program logs and traces while
    /// handling the message is part of it. In [handler mode](crate::client::Consumer::run)
    /// the handler already runs in it. With the `otel` feature and a
    /// `tracing-opentelemetry` layer, its parent is the publisher's `send`
    /// span, from the trace context the message carried. Its fields:
    /// `messaging.system`, `messaging.operation.name`,
    /// `messaging.destination.name` (the exchange),
    /// `messaging.rabbitmq.destination.routing_key`,
    /// `messaging.rabbitmq.message.delivery_tag`, `messaging.message.body.size`,
    /// and `error.type` once a handler failed; never the payload.
    ///
    /// ```
    /// # use pulse_binding::client::Message;
    /// # async fn handle(message: Message<String>) {
    /// let span = message.span();
    /// let _entered = span.enter();
    /// tracing::info!("handling"); // inside `process {exchange}`
    /// # }
    /// ```
    pub fn span(&self) -> tracing::Span {
        self.span.0.clone()
    }

    /// Tells the broker the message is handled; it is removed from the queue.
    pub async fn ack(self) -> Result<(), AckError> {
        self.acker.ack().await
    }

    /// Tells the broker the message was not handled: with `requeue`, it goes
    /// back to the queue to be delivered again; without, it is dropped (or
    /// dead-lettered).
    pub async fn reject(self, requeue: bool) -> Result<(), AckError> {
        self.acker.reject(requeue).await
    }
}

impl<M: fmt::Debug> fmt::Debug for Message<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("exchange", &self.exchange)
            .field("routing_key", &self.routing_key)
            .field("fields", &self.fields)
            .field("routes", &self.routes)
            .field("redelivered", &self.redelivered)
            .field("attempt", &self.attempt)
            .field("payload", &self.payload)
            .finish_non_exhaustive()
    }
}

/// Acknowledges or rejects one delivery, once.
///
/// A delivery belongs to the channel it came on: its tag means nothing (or
/// another message) on any other channel. So an acker whose connection has been
/// lost never sends anything; it returns [`AckError::ConnectionLost`], and the
/// broker delivers the message again (with `redelivered` set), to be handled
/// then. An acknowledgement that was sent just before the connection broke may
/// also be lost on the way: consumers must tolerate the same message twice,
/// and can de-duplicate on something in the payload.
///
/// A connection replaced by [recycling](crate::client::ConsumerBuilder::recycle_interval)
/// stays open until its messages are settled, so their ackers keep working.
/// Dropping an acker without acknowledging or rejecting leaves the message
/// taken until its connection closes; the broker then delivers it again.
#[must_use = "a delivery stays taken until it is acknowledged or rejected"]
pub struct Acker {
    link: Arc<Link>,
    /// The delivery's tag on the link's channel; `None` when the consumer
    /// runs with automatic acknowledgement.
    tag: Option<u64>,
    /// Whether it was acknowledged, rejected or given up (drop).
    settled: bool,
}

impl Acker {
    /// An acker for a delivery taken from `link`'s channel.
    pub(crate) fn new(link: Arc<Link>, tag: Option<u64>) -> Self {
        link.taken();
        Self {
            link,
            tag,
            settled: false,
        }
    }

    /// The link of the channel the delivery came on.
    #[cfg(feature = "testing")]
    pub(crate) fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// An acker that does nothing: handler mode settles the message itself.
    pub(crate) fn detached(&self) -> Self {
        Self {
            link: self.link.clone(),
            tag: None,
            settled: true,
        }
    }

    /// Whether the connection the message came on is still usable: if not,
    /// acknowledging it fails and the broker delivers it again.
    pub fn is_current(&self) -> bool {
        self.link.is_open()
    }

    /// Acknowledges the delivery: the broker removes it from the queue.
    ///
    /// What it waits for: only for the acknowledgement to be recorded. The
    /// consumer sends acknowledgements coalesced, within a few milliseconds
    /// (sooner when a quarter of the prefetch is waiting), as one cumulative
    /// `basic.ack` for each run of settled messages, and at shutdown and
    /// recycling; acknowledging one message never acknowledges another. It
    /// fails with [`AckError::ConnectionLost`] if the connection is already
    /// gone. If the connection is lost after it returns and before the flush,
    /// the loss is reported as [`ConsumerEvent::AcksLost`](crate::client::ConsumerEvent::AcksLost)
    /// and counted in [`ConsumerStats::lost_acks`](crate::client::ConsumerStats::lost_acks),
    /// and the broker delivers the message again, marked redelivered.
    ///
    /// When the consumer closes, a quorum queue's channel stays open 200 ms
    /// after its last acknowledgement: RabbitMQ (3.10 at least) may hold a
    /// channel's acknowledgements to a quorum queue back while it catches
    /// up, and forgets them if the channel closes first. A broker slower than
    /// that still delivers those messages again: delivery is at least once.
    pub async fn ack(mut self) -> Result<(), AckError> {
        if let Some(tag) = self.live()? {
            self.link.ack(tag);
        }
        Ok(())
    }

    /// [`ack`](Self::ack) for handler mode, where no program sees the error:
    /// an acknowledgement refused because the connection is gone is counted
    /// and reported as lost, like one lost before its flush.
    pub(crate) async fn ack_or_report_lost(self) {
        let link = self.link.clone();
        if let Err(AckError::ConnectionLost { .. }) = self.ack().await {
            link.lost(
                1,
                "the connection the message came on closed before its handler finished",
            );
        }
    }

    /// Rejects the delivery, putting it back in the queue with `requeue`, or
    /// dropping (dead-lettering) it without. Sent at once, on its own.
    pub async fn reject(mut self, requeue: bool) -> Result<(), AckError> {
        let Some(tag) = self.live()? else {
            return Ok(());
        };
        let started = tokio::time::Instant::now();
        let result = self.link.channel.reject(tag, requeue).await;
        let failure = result.is_err().then_some(names::error::CONNECTION_LOST);
        let seconds = started.elapsed().as_secs_f64();
        self.link
            .monitor
            .meter
            .settled(Operation::Nack, seconds, failure);
        if result.is_ok() {
            self.link.sent();
            self.link.acks.settled(tag);
            if requeue {
                Monitor::count(&self.link.monitor.requeued);
            }
        }
        self.settle(result, &self.link.monitor.rejected)
    }

    /// The delivery's tag, if its channel is still usable; marks the acker
    /// settled either way.
    /// (The acknowledgement goes straight to the channel the delivery came on,
    /// which refuses it once closed: a tag is never sent on another channel.)
    fn live(&mut self) -> Result<Option<u64>, AckError> {
        self.release();
        #[cfg(pulse_wrong = "ack-on-newer-connection")]
        if !self.link.is_open() {
            let newest = crate::client::session::link::NEWEST
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .and_then(std::sync::Weak::upgrade);
            if let (Some(newest), Some(tag)) = (newest, self.tag) {
                newest.ack(tag);
                return Ok(None);
            }
        }
        if !self.link.is_open() {
            return Err(AckError::ConnectionLost { source: None });
        }
        Ok(self.tag)
    }

    /// Counts a sent acknowledgement or rejection, or reports that sending
    /// it failed: the channel is closed or closing.
    fn settle(
        &self,
        result: Result<(), TransportError>,
        counter: &AtomicU64,
    ) -> Result<(), AckError> {
        match result {
            Ok(()) => {
                Monitor::count(counter);
                Ok(())
            }
            Err(e) => Err(AckError::ConnectionLost {
                source: Some(Box::new(e)),
            }),
        }
    }

    /// Counts the message as settled on its link, once.
    fn release(&mut self) {
        if !std::mem::replace(&mut self.settled, true) {
            self.link.settle();
        }
    }
}

impl Drop for Acker {
    fn drop(&mut self) {
        self.release();
    }
}

impl fmt::Debug for Acker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acker")
            .field("auto_ack", &self.tag.is_none())
            .field("current", &self.is_current())
            .finish()
    }
}

/// CC keys as routes: Taskcluster's `route.` prefix removed where present.
pub(crate) fn routes(cc: &[String]) -> Vec<String> {
    cc.iter()
        .map(|key| key.strip_prefix("route.").unwrap_or(key).to_owned())
        .collect()
}

#[cfg(test)]
mod unwind_tests {
    use super::*;

    /// Fails to compile if a field takes away what 0.1's users could rely on:
    /// a message (and its acker) may cross `catch_unwind`.
    #[test]
    fn a_message_and_its_acker_stay_unwind_safe() {
        fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe + Send>() {}
        unwind_safe::<Message<serde_json::Value>>();
        unwind_safe::<Acker>();
    }
}
