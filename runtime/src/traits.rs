//! The two traits a binding implements.

use serde::de::DeserializeOwned;

use crate::error::{DecodeError, FromRoutingKeyError, RoutingKeyError};
use crate::key::{KeyWord, check_pattern};
use crate::topic::topic_matches;

/// A Pulse binding: an exchange, a routing-key pattern and the type of the
/// messages published there.
///
/// Derive it with `#[derive(PulseBinding)]` (see [the crate docs](crate#attributes)
/// for the attributes), build one at run time with [`Binding::new`](crate::Binding::new),
/// or use a prebuilt one such as [`hooks::HookCreated`](crate::hooks::HookCreated).
///
/// ```
/// use pulse_binding::prelude::*;
/// use pulse_binding::hooks::HookCreated;
///
/// let binding = HookCreated::default();
/// assert_eq!(binding.exchange_name(), "exchange/taskcluster-hooks/v1/hook-created");
/// assert_eq!(binding.routing_key(), "#");
/// assert!(binding.matches("_"));
/// let message = binding.decode(br#"{"hookGroupId": "g", "hookId": "h"}"#).unwrap();
/// assert_eq!(message.hook_id, "h");
/// ```
pub trait PulseBinding {
    /// The type a message body decodes into.
    type Payload: DeserializeOwned;

    /// The exchange, e.g. `exchange/taskcluster-queue/v1/task-completed`.
    fn exchange_name(&self) -> &str;

    /// The routing-key pattern to bind a queue with: every word in order, an
    /// unset word replaced by its wildcard (or fixed word). Nothing is
    /// checked; see [`try_routing_key`](Self::try_routing_key).
    fn routing_key(&self) -> String;

    /// The same pattern, checked: a single-word value with a `.`, a value other
    /// than a field's fixed word, a pattern over 255 bytes or one with more than
    /// two `#` words is an error naming what is wrong.
    fn try_routing_key(&self) -> Result<String, RoutingKeyError> {
        let key = self.routing_key();
        check_pattern(self.exchange_name(), &key)?;
        Ok(key)
    }

    /// Whether a message published with the concrete `routing_key` reaches a
    /// queue bound with this binding's pattern (see
    /// [`topic_matches`](crate::topic_matches)). Derived bindings allocate nothing.
    fn matches(&self, routing_key: &str) -> bool {
        topic_matches(&self.routing_key(), routing_key)
    }

    /// An empty payload to decode into, as Go's `NewPayloadObject`.
    fn new_payload_object(&self) -> Self::Payload
    where
        Self::Payload: Default,
    {
        Self::Payload::default()
    }

    /// A message body as the payload type. A malformed or wrong-shaped body is
    /// an error naming the exchange and the payload type.
    fn decode(&self, body: &[u8]) -> Result<Self::Payload, DecodeError> {
        serde_json::from_slice(body).map_err(|e| {
            DecodeError::new(
                self.exchange_name(),
                std::any::type_name::<Self::Payload>(),
                e,
            )
        })
    }

    /// The routing-key words with their field names, when the binding declares
    /// them (derived bindings do; [`Binding`](crate::Binding) does not).
    fn key_words(&self) -> Option<&'static [KeyWord]> {
        None
    }
}

/// A binding whose fields can be read from a concrete routing key, as delivered.
///
/// Derived for every `#[derive(PulseBinding)]` struct whose routing-key fields
/// are owned (`String`, integers, `Option` of these) and whose other fields
/// implement `Default`.
///
/// ```
/// use pulse_binding::prelude::*;
///
/// #[derive(PulseBinding, Debug, PartialEq)]
/// #[exchange = "exchange/taskcluster-queue/v1/task-completed"]
/// struct TaskCompleted {
///     #[mwords(constant = "primary")] routing_key_kind: Option<String>,
///     #[mwords("*")] task_id: Option<String>,
///     #[mwords("*")] run_id: Option<u32>,
///     #[mwords("#")] reserved: Option<String>,
/// }
///
/// let b = TaskCompleted::from_routing_key("primary.fJ8bZ2qd.0._").unwrap();
/// assert_eq!(b.task_id.as_deref(), Some("fJ8bZ2qd"));
/// assert_eq!(b.run_id, Some(0));
/// assert_eq!(b.reserved.as_deref(), Some("_"));
/// assert!(TaskCompleted::from_routing_key("route.index.a.b").is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be built from a routing key",
    note = "`FromRoutingKey` is derived when every `#[mwords]` field is owned (`String`, an integer, \
            or an `Option` of these; borrowed words are write-only) and every other field implements `Default`"
)]
pub trait FromRoutingKey: Sized {
    /// The binding with each word of `routing_key` in its field: single-word
    /// fields from the left, the multi-word field the rest joined with `.`,
    /// single-word fields after it from the right. A multi-word field that gets
    /// no word is unset; an empty word gives an unset `Option`. With two
    /// multi-word fields, the first takes every word it can and the second
    /// none. Fields without `#[mwords]` get their `Default`.
    ///
    /// A key with the wrong number of words, a word the field cannot hold, or a
    /// word other than a field's fixed word is an error; no input panics.
    fn from_routing_key(routing_key: &str) -> Result<Self, FromRoutingKeyError>;

    /// [`from_routing_key`](Self::from_routing_key) from the key already split
    /// into one slot per word of [`PulseBinding::key_words`], as the consumer
    /// splits it for [`Message::fields`](crate::client::Message), so that a
    /// delivery's key is split once. The derive implements it; by default it
    /// parses `routing_key` again. Not public API.
    #[doc(hidden)]
    fn __from_words(
        routing_key: &str,
        words: &[Option<&str>],
    ) -> Result<Self, FromRoutingKeyError> {
        let _ = words;
        Self::from_routing_key(routing_key)
    }
}
