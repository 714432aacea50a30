//! What a consumer yields: [`Message`], and its [`Acker`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::types::AMQPValue;
use lapin::{BasicProperties, Channel};

use super::error::{AckError, LapinError};

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
            .field("payload", &self.payload)
            .finish_non_exhaustive()
    }
}

/// The connection a consumer is on, shared with the ackers of its messages.
#[derive(Debug, Default)]
pub(crate) struct Liveness {
    /// The generation (1, 2, ...) of the connection in use, or 0 while there
    /// is none.
    live: AtomicU64,
}

impl Liveness {
    pub(crate) fn set(&self, generation: u64) {
        self.live.store(generation, Ordering::SeqCst);
    }

    pub(crate) fn is(&self, generation: u64) -> bool {
        self.live.load(Ordering::SeqCst) == generation
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
#[must_use = "a delivery stays taken until it is acknowledged or rejected"]
pub struct Acker {
    /// The channel the delivery came on and its tag there; `None` when the
    /// consumer runs with automatic acknowledgement.
    delivery: Option<(Arc<Channel>, u64)>,
    generation: u64,
    liveness: Arc<Liveness>,
}

impl Acker {
    pub(crate) fn new(
        delivery: Option<(Arc<Channel>, u64)>,
        generation: u64,
        liveness: Arc<Liveness>,
    ) -> Self {
        Self {
            delivery,
            generation,
            liveness,
        }
    }

    /// Whether the connection the message came on is still the consumer's:
    /// if not, acknowledging it fails and the broker delivers it again.
    pub fn is_current(&self) -> bool {
        self.liveness.is(self.generation)
            && self
                .delivery
                .as_ref()
                .is_none_or(|(channel, _)| channel.status().connected())
    }

    /// Acknowledges the delivery: the broker removes it from the queue.
    pub async fn ack(self) -> Result<(), AckError> {
        let Some((channel, tag)) = self.live()? else {
            return Ok(());
        };
        settle(channel.basic_ack(*tag, BasicAckOptions::default()).await)
    }

    /// Rejects the delivery, putting it back in the queue with `requeue`, or
    /// dropping (dead-lettering) it without.
    pub async fn reject(self, requeue: bool) -> Result<(), AckError> {
        let Some((channel, tag)) = self.live()? else {
            return Ok(());
        };
        settle(
            channel
                .basic_reject(*tag, BasicRejectOptions { requeue })
                .await,
        )
    }

    /// The delivery's channel and tag, if that channel is still the consumer's.
    /// (The acknowledgement goes straight to the channel the delivery came on,
    /// which refuses it once closed: a tag is never sent on another channel.)
    fn live(&self) -> Result<Option<&(Arc<Channel>, u64)>, AckError> {
        if !self.liveness.is(self.generation) {
            return Err(AckError::ConnectionLost { source: None });
        }
        Ok(self.delivery.as_ref())
    }
}

/// Sending the acknowledgement failed: the channel is closed or closing.
fn settle(result: lapin::Result<()>) -> Result<(), AckError> {
    result.map_err(|e| AckError::ConnectionLost {
        source: Some(Box::new(LapinError(e))),
    })
}

impl fmt::Debug for Acker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acker")
            .field("generation", &self.generation)
            .field("auto_ack", &self.delivery.is_none())
            .field("current", &self.is_current())
            .finish()
    }
}

/// The CC routing keys of a delivery (the `CC` header), as sent.
pub(crate) fn cc_keys(properties: &BasicProperties) -> Vec<String> {
    let Some(headers) = properties.headers() else {
        return Vec::new();
    };
    match headers.inner().get("CC") {
        Some(AMQPValue::FieldArray(keys)) => keys
            .as_slice()
            .iter()
            .filter_map(|key| match key {
                AMQPValue::LongString(s) => {
                    Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
                }
                AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// CC keys as routes: Taskcluster's `route.` prefix removed where present.
pub(crate) fn routes(cc: &[String]) -> Vec<String> {
    cc.iter()
        .map(|key| key.strip_prefix("route.").unwrap_or(key).to_owned())
        .collect()
}
