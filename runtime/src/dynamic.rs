//! Bindings of different types in one list.

use std::any::Any;
use std::sync::Arc;

use crate::error::{DecodeError, DispatchError, RoutingKeyError};
use crate::key::KeyWord;
use crate::traits::{FromRoutingKey, PulseBinding};

/// The object-safe face of any [`PulseBinding`], so that bindings of different
/// types can share one list (Go's `[]pulse.Binding`). Every binding whose
/// payload is `Send + 'static` implements it.
///
/// Call the methods on the trait object (`dyn DynBinding`, with or without
/// `+ Send` and `+ Sync`): they have the names of [`PulseBinding`]'s, and the
/// trait's own methods have an `erased_` prefix so that a concrete binding
/// never has two methods of the same name in scope. Decoding gives a
/// `Box<dyn Any + Send>` to downcast to the binding's payload type;
/// [`Bindings`] does the downcasting for you.
///
/// ```
/// use pulse_binding::{Binding, DynBinding};
/// use pulse_binding::hooks::{HookChangedMessage, HookCreated};
///
/// let list: Vec<Box<dyn DynBinding>> = vec![
///     Box::new(HookCreated::default()),
///     Box::new(Binding::new("exchange/taskcluster-queue/v1/task-completed", "primary.#")),
/// ];
/// let binding = list
///     .iter()
///     .find(|b| b.exchange_name() == "exchange/taskcluster-hooks/v1/hook-created")
///     .unwrap();
/// let payload = binding.decode_any(br#"{"hookGroupId": "g", "hookId": "h"}"#).unwrap();
/// assert_eq!(payload.downcast::<HookChangedMessage>().unwrap().hook_id, "h");
/// ```
pub trait DynBinding {
    /// [`PulseBinding::exchange_name`].
    fn erased_exchange_name(&self) -> &str;
    /// [`PulseBinding::routing_key`].
    fn erased_routing_key(&self) -> String;
    /// [`PulseBinding::try_routing_key`].
    fn erased_try_routing_key(&self) -> Result<String, RoutingKeyError>;
    /// [`PulseBinding::matches`].
    fn erased_matches(&self, routing_key: &str) -> bool;
    /// [`PulseBinding::decode`], boxed.
    fn erased_decode(&self, body: &[u8]) -> Result<Box<dyn Any + Send>, DecodeError>;
    /// [`PulseBinding::key_words`].
    fn erased_key_words(&self) -> Option<&'static [KeyWord]>;
    /// The name of the payload type, for messages and logs.
    fn erased_payload_type_name(&self) -> &'static str;
}

impl<B> DynBinding for B
where
    B: PulseBinding,
    B::Payload: Send + 'static,
{
    fn erased_exchange_name(&self) -> &str {
        self.exchange_name()
    }
    fn erased_routing_key(&self) -> String {
        self.routing_key()
    }
    fn erased_try_routing_key(&self) -> Result<String, RoutingKeyError> {
        self.try_routing_key()
    }
    fn erased_matches(&self, routing_key: &str) -> bool {
        self.matches(routing_key)
    }
    fn erased_decode(&self, body: &[u8]) -> Result<Box<dyn Any + Send>, DecodeError> {
        Ok(Box::new(self.decode(body)?))
    }
    fn erased_key_words(&self) -> Option<&'static [KeyWord]> {
        self.key_words()
    }
    fn erased_payload_type_name(&self) -> &'static str {
        std::any::type_name::<B::Payload>()
    }
}

macro_rules! dyn_binding_methods {
    ($(impl<$lt:lifetime> $object:ty;)*) => {$(
        impl<$lt> $object {
            /// [`PulseBinding::exchange_name`].
            pub fn exchange_name(&self) -> &str {
                self.erased_exchange_name()
            }
            /// [`PulseBinding::routing_key`].
            pub fn routing_key(&self) -> String {
                self.erased_routing_key()
            }
            /// [`PulseBinding::try_routing_key`].
            pub fn try_routing_key(&self) -> Result<String, RoutingKeyError> {
                self.erased_try_routing_key()
            }
            /// [`PulseBinding::matches`].
            pub fn matches(&self, routing_key: &str) -> bool {
                self.erased_matches(routing_key)
            }
            /// [`PulseBinding::decode`], boxed: downcast it to the payload type.
            pub fn decode_any(&self, body: &[u8]) -> Result<Box<dyn Any + Send>, DecodeError> {
                self.erased_decode(body)
            }
            /// [`PulseBinding::key_words`].
            pub fn key_words(&self) -> Option<&'static [KeyWord]> {
                self.erased_key_words()
            }
            /// The name of the payload type, for messages and logs.
            pub fn payload_type_name(&self) -> &'static str {
                self.erased_payload_type_name()
            }
        }
    )*};
}
dyn_binding_methods! {
    impl<'a> dyn DynBinding + 'a;
    impl<'a> dyn DynBinding + Send + 'a;
    impl<'a> dyn DynBinding + Send + Sync + 'a;
}

type Decoder<M> = Box<dyn Fn(&str, &[u8]) -> Result<M, DispatchError> + Send + Sync>;

struct Entry<M> {
    /// Shared with `decode`, which decodes with the binding's own `decode`.
    binding: Arc<dyn DynBinding + Send + Sync>,
    decode: Decoder<M>,
}

/// A list of bindings of any types that turns each delivery into one message
/// type `M`, with the binding that matches the delivery's exchange and routing
/// key.
///
/// ```
/// use pulse_binding::Bindings;
/// use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted};
///
/// #[derive(Debug, PartialEq)]
/// enum Event {
///     Created(HookChangedMessage),
///     Deleted(HookChangedMessage),
/// }
///
/// let bindings = Bindings::new()
///     .with(HookCreated::default(), Event::Created)
///     .with(HookDeleted::default(), Event::Deleted);
/// let body = br#"{"hookGroupId": "g", "hookId": "h"}"#;
/// let event = bindings
///     .dispatch("exchange/taskcluster-hooks/v1/hook-deleted", "_", body)
///     .unwrap();
/// assert!(matches!(event, Event::Deleted(m) if m.hook_id == "h"));
/// assert!(bindings.dispatch("exchange/elsewhere", "_", body).is_err());
/// ```
pub struct Bindings<M> {
    entries: Vec<Entry<M>>,
}

impl<M> Default for Bindings<M> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<M> std::fmt::Debug for Bindings<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|e| (e.binding.exchange_name(), e.binding.routing_key())),
            )
            .finish()
    }
}

impl<M> Bindings<M> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `binding`, whose payloads become messages through `map`.
    pub fn push<B>(&mut self, binding: B, map: impl Fn(B::Payload) -> M + Send + Sync + 'static)
    where
        B: PulseBinding + Send + Sync + 'static,
        B::Payload: Send + 'static,
    {
        let binding = Arc::new(binding);
        self.entries.push(Entry {
            binding: binding.clone(),
            decode: Box::new(move |_, body| Ok(map(binding.decode(body)?))),
        });
    }

    /// Adds `binding`; `map` gets the routing key parsed into the binding's
    /// fields beside the payload.
    pub fn push_with_key<B>(
        &mut self,
        binding: B,
        map: impl Fn(B, B::Payload) -> M + Send + Sync + 'static,
    ) where
        B: PulseBinding + FromRoutingKey + Send + Sync + 'static,
        B::Payload: Send + 'static,
    {
        let binding = Arc::new(binding);
        self.entries.push(Entry {
            binding: binding.clone(),
            decode: Box::new(move |routing_key, body| {
                let fields = B::from_routing_key(routing_key)?;
                Ok(map(fields, binding.decode(body)?))
            }),
        });
    }

    /// [`push`](Self::push), by value.
    pub fn with<B>(
        mut self,
        binding: B,
        map: impl Fn(B::Payload) -> M + Send + Sync + 'static,
    ) -> Self
    where
        B: PulseBinding + Send + Sync + 'static,
        B::Payload: Send + 'static,
    {
        self.push(binding, map);
        self
    }

    /// [`push_with_key`](Self::push_with_key), by value.
    pub fn with_key<B>(
        mut self,
        binding: B,
        map: impl Fn(B, B::Payload) -> M + Send + Sync + 'static,
    ) -> Self
    where
        B: PulseBinding + FromRoutingKey + Send + Sync + 'static,
        B::Payload: Send + 'static,
    {
        self.push_with_key(binding, map);
        self
    }

    /// The bindings, in the order they were added.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &(dyn DynBinding + Send + Sync)> {
        self.entries.iter().map(|e| &*e.binding)
    }

    /// How many bindings the list has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The index of the first binding with this exchange whose pattern matches
    /// the routing key.
    pub fn find(&self, exchange: &str, routing_key: &str) -> Option<usize> {
        self.find_routed(exchange, routing_key, &[] as &[&str])
    }

    /// [`find`](Self::find) for a delivery that also carries CC routing keys
    /// (Taskcluster's `route.<custom route>` keys, as in the message's `CC`
    /// header): a binding matches if its pattern matches the routing key or any
    /// of them.
    pub fn find_routed<S: AsRef<str>>(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[S],
    ) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.binding.exchange_name() == exchange
                && (e.binding.matches(routing_key)
                    || cc.iter().any(|k| e.binding.matches(k.as_ref())))
        })
    }

    /// The first binding with this exchange whose pattern matches the routing
    /// key or one of the CC keys, ready to decode the delivery.
    pub fn route<S: AsRef<str>>(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[S],
    ) -> Option<Route<'_, M>> {
        let index = self.find_routed(exchange, routing_key, cc)?;
        Some(Route {
            index,
            entry: &self.entries[index],
        })
    }

    /// Turns a delivery into a message with the first binding that has its
    /// exchange and matches its routing key. RabbitMQ delivers a message once to
    /// a queue however many of its bindings match, so the first is enough.
    pub fn dispatch(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
    ) -> Result<M, DispatchError> {
        self.dispatch_routed(exchange, routing_key, &[] as &[&str], body)
    }

    /// [`dispatch`](Self::dispatch) for a delivery that also carries CC routing
    /// keys (see [`find_routed`](Self::find_routed)). Fields are always read from
    /// the delivery's own routing key.
    pub fn dispatch_routed<S: AsRef<str>>(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[S],
        body: &[u8],
    ) -> Result<M, DispatchError> {
        self.route(exchange, routing_key, cc)
            .ok_or_else(|| DispatchError::NoBinding {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            })?
            .decode(routing_key, body)
    }
}

/// A delivery's binding in a [`Bindings`] list, found by [`Bindings::route`].
pub struct Route<'b, M> {
    index: usize,
    entry: &'b Entry<M>,
}

impl<'b, M> Route<'b, M> {
    /// The binding's place in the list, in the order the bindings were added.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The binding.
    pub fn binding(&self) -> &'b (dyn DynBinding + Send + Sync) {
        &*self.entry.binding
    }

    /// The delivery as a message (its routing key is what `with_key` bindings
    /// read their fields from).
    pub fn decode(&self, routing_key: &str, body: &[u8]) -> Result<M, DispatchError> {
        (self.entry.decode)(routing_key, body)
    }
}

impl<M> std::fmt::Debug for Route<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("index", &self.index)
            .field("exchange", &self.binding().exchange_name())
            .field("routing_key", &self.binding().routing_key())
            .finish()
    }
}
