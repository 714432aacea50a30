//! Bindings of different types in one list.

use std::any::Any;
use std::sync::Arc;

use crate::error::{DecodeError, DispatchError, RoutingKeyError};
use crate::key::{KeyWord, split_routing_key};
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

/// Makes a message of a delivery: its routing key, that key split into the
/// binding's words (empty for an entry that does not read them), its body.
type Decoder<M> =
    Box<dyn Fn(&str, &[Option<&str>], &[u8]) -> Result<M, DispatchError> + Send + Sync>;

struct Entry<M> {
    /// Shared with `decode`, which decodes with the binding's own `decode`.
    binding: Arc<dyn DynBinding + Send + Sync>,
    decode: Decoder<M>,
    /// Whether `decode` reads the routing key's words (`with_key`).
    keyed: bool,
}

/// A routing key's fields, as [`Route::decode_with_fields`] gives them.
pub type Fields = Vec<(&'static str, Option<String>)>;

/// Bindings with at most this many routing-key words split the key into a
/// buffer on the stack.
const STACK_WORDS: usize = 16;

/// The fields of a split key: one vector of exact length and a `String` per
/// word given.
fn owned_fields(words: &[KeyWord], slots: &[Option<&str>]) -> Fields {
    let mut fields = Vec::with_capacity(words.len());
    fields.extend(
        words
            .iter()
            .zip(slots)
            .map(|(word, slot)| (word.name, slot.map(str::to_owned))),
    );
    fields
}

/// Splits `routing_key` into `words` (one slot each) and hands the slots to
/// `then`; no allocation for up to [`STACK_WORDS`] words.
fn with_split<T>(
    exchange: &str,
    words: &[KeyWord],
    routing_key: &str,
    then: impl FnOnce(&[Option<&str>]) -> Result<T, DispatchError>,
) -> Result<T, DispatchError> {
    let mut stack = [None; STACK_WORDS];
    let mut heap = Vec::new();
    let slots = if words.len() <= STACK_WORDS {
        &mut stack[..words.len()]
    } else {
        heap.resize(words.len(), None);
        &mut heap[..]
    };
    split_routing_key(exchange, words, routing_key, slots)?;
    then(slots)
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
            decode: Box::new(move |_, _, body| Ok(map(binding.decode(body)?))),
            keyed: false,
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
            decode: Box::new(move |routing_key, words, body| {
                let fields = B::__from_words(routing_key, words)?;
                Ok(map(fields, binding.decode(body)?))
            }),
            keyed: true,
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
        let binding = self.binding();
        match binding.key_words() {
            Some(words) if self.entry.keyed => {
                with_split(binding.exchange_name(), words, routing_key, |slots| {
                    (self.entry.decode)(routing_key, slots, body)
                })
            }
            _ => (self.entry.decode)(routing_key, &[], body),
        }
    }

    /// The delivery as a message, and its routing key split into the
    /// binding's fields, `(field, word)` in the order of
    /// [`key_words`](crate::PulseBinding::key_words) (empty for a binding
    /// that does not name its words). The key is split once for both, even
    /// for a `with_key` binding.
    ///
    /// ```
    /// use pulse_binding::Bindings;
    /// use pulse_binding::hooks::HookCreated;
    ///
    /// let bindings = Bindings::new().with_key(HookCreated::default(), |b, m| (b, m.hook_id));
    /// let exchange = "exchange/taskcluster-hooks/v1/hook-created";
    /// let route = bindings.route(exchange, "_", &[] as &[&str]).unwrap();
    /// let ((binding, hook), fields) = route
    ///     .decode_with_fields("_", br#"{"hookGroupId": "g", "hookId": "h"}"#)
    ///     .unwrap();
    /// assert_eq!(hook, "h");
    /// assert_eq!(binding.reserved.as_deref(), Some("_"));
    /// assert_eq!(fields, vec![("reserved", Some("_".to_owned()))]);
    /// ```
    pub fn decode_with_fields(
        &self,
        routing_key: &str,
        body: &[u8],
    ) -> Result<(M, Fields), DispatchError> {
        let binding = self.binding();
        let Some(words) = binding.key_words() else {
            return Ok(((self.entry.decode)(routing_key, &[], body)?, Vec::new()));
        };
        with_split(binding.exchange_name(), words, routing_key, |slots| {
            let fields = owned_fields(words, slots);
            let message = if self.entry.keyed {
                (self.entry.decode)(routing_key, slots, body)?
            } else {
                (self.entry.decode)(routing_key, &[], body)?
            };
            Ok((message, fields))
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WordKind;

    fn split_fields(exchange: &str, words: &[KeyWord], key: &str) -> Result<Fields, DispatchError> {
        with_split(exchange, words, key, |slots| Ok(owned_fields(words, slots)))
    }

    /// `count` single words named after their place, then one multi-word field.
    fn words(count: usize) -> Vec<KeyWord> {
        const NAMES: [&str; 20] = [
            "w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "w11", "w12", "w13",
            "w14", "w15", "w16", "w17", "w18", "w19",
        ];
        let mut words: Vec<KeyWord> = NAMES[..count]
            .iter()
            .map(|&name| KeyWord {
                name,
                kind: WordKind::Single,
            })
            .collect();
        words.push(KeyWord {
            name: "rest",
            kind: WordKind::Multi,
        });
        words
    }

    #[test]
    fn fields_name_every_word_in_order_on_the_stack_and_beyond() {
        for count in [0, 3, STACK_WORDS - 1, STACK_WORDS, 19] {
            let words = words(count);
            let key: Vec<String> = (0..count).map(|i| format!("v{i}")).collect();
            let with_rest = format!("{}.r1.r2", key.join("."));
            let with_rest = with_rest.trim_start_matches('.');
            let fields = split_fields("x", &words, with_rest).unwrap();
            assert_eq!(fields.len(), words.len());
            for (i, (name, word)) in fields[..count].iter().enumerate() {
                assert_eq!(*name, words[i].name);
                assert_eq!(word.as_deref(), Some(key[i].as_str()));
            }
            assert_eq!(fields[count], ("rest", Some("r1.r2".to_owned())));
            if count > 0 {
                let fields = split_fields("x", &words, &key.join(".")).unwrap();
                assert_eq!(fields[count], ("rest", None), "{count} words, no rest");
            }
        }
    }

    /// A binding whose key has a fixed word, two single words (one a
    /// number) and a multi-word rest.
    #[derive(crate::PulseBinding, Default, Debug, PartialEq, Clone)]
    #[exchange = "exchange/pulse-binding/v1/keyed"]
    #[payload(serde_json::Value)]
    struct Keyed {
        #[mwords(constant = "primary")]
        kind: Option<String>,
        #[mwords("*")]
        task_id: Option<String>,
        #[mwords("*")]
        run_id: Option<u32>,
        #[mwords("#")]
        rest: Option<String>,
    }

    const KEYED: &str = "exchange/pulse-binding/v1/keyed";

    #[test]
    fn one_split_gives_a_with_key_binding_its_fields_and_the_message_its_words() {
        let bindings = Bindings::new().with_key(Keyed::default(), |b, v| (b, v));
        for key in [
            "primary.t1.3.a.b",
            "primary.t1.3",
            "primary..0._",
            "primary.x.7.#",
        ] {
            let route = bindings.route(KEYED, key, &[] as &[&str]).unwrap();
            let ((binding, body), fields) = route.decode_with_fields(key, b"[1]").unwrap();
            assert_eq!(binding, Keyed::from_routing_key(key).unwrap(), "{key}");
            assert_eq!(body, serde_json::json!([1]));
            let expected =
                crate::parse_fields(KEYED, Keyed::default().key_words().unwrap(), key).unwrap();
            let expected: Fields = expected
                .into_iter()
                .map(|(name, word)| (name, word.map(str::to_owned)))
                .collect();
            assert_eq!(fields, expected, "{key}");
            // `decode` alone reads the same fields.
            let (again, _) = route.decode(key, b"[1]").unwrap();
            assert_eq!(again, binding, "{key}");
        }
    }

    #[test]
    fn a_word_the_field_cannot_hold_is_an_error_from_either_decode() {
        let bindings = Bindings::new().with_key(Keyed::default(), |b, v| (b, v));
        let key = "primary.t1.notanumber.a";
        let route = bindings.route(KEYED, key, &[] as &[&str]).unwrap();
        let err = route.decode_with_fields(key, b"[1]").unwrap_err();
        assert!(matches!(err, DispatchError::RoutingKey(_)), "{err}");
        assert!(err.to_string().contains("notanumber"), "{err}");
        let err = route.decode(key, b"[1]").unwrap_err();
        assert!(matches!(err, DispatchError::RoutingKey(_)), "{err}");
    }

    #[test]
    fn a_binding_without_key_fields_gets_empty_fields_and_its_payload() {
        let bindings = Bindings::new()
            .with(crate::Binding::new("exchange/any", "#"), |v| v)
            .with(Keyed::default(), |v| v);
        let route = bindings
            .route("exchange/any", "a.b", &[] as &[&str])
            .unwrap();
        let (body, fields) = route.decode_with_fields("a.b", b"{}").unwrap();
        assert_eq!(body, serde_json::json!({}));
        assert!(fields.is_empty());
        // A binding that names its words but is not `with_key`: the fields
        // still come from the key.
        let route = bindings
            .route(KEYED, "primary.t.1", &[] as &[&str])
            .unwrap();
        let (_, fields) = route.decode_with_fields("primary.t.1", b"2").unwrap();
        assert_eq!(fields[1], ("task_id", Some("t".to_owned())));
        assert_eq!(fields[3], ("rest", None));
    }

    #[test]
    fn find_and_route_give_the_first_matching_binding_by_its_place() {
        let empty: Bindings<serde_json::Value> = Bindings::new();
        assert!(empty.is_empty());
        assert_eq!(empty.find(KEYED, "primary.t.1"), None);
        let bindings = Bindings::new()
            .with(crate::Binding::new("exchange/other", "#"), |v| v)
            .with(Keyed::default(), |v| v)
            .with(crate::Binding::new(KEYED, "#"), |v| v);
        assert!(!bindings.is_empty());
        assert_eq!(bindings.len(), 3);
        assert_eq!(bindings.find("exchange/other", "a"), Some(0));
        assert_eq!(bindings.find(KEYED, "primary.t.1"), Some(1));
        // Not Keyed's shape: the catch-all after it.
        assert_eq!(bindings.find(KEYED, "a"), Some(2));
        assert_eq!(bindings.find("exchange/none", "a"), None);
        let route = bindings.route(KEYED, "a", &["primary.t.1"]).unwrap();
        assert_eq!(route.index(), 1, "a CC key that matches counts");
        assert_eq!(
            bindings.route(KEYED, "a", &[] as &[&str]).unwrap().index(),
            2
        );
    }

    #[test]
    fn derived_from_words_falls_back_to_the_key_when_the_slots_do_not_fit() {
        let key = "primary.t1.3.a";
        assert_eq!(
            Keyed::__from_words(key, &[Some("x")]).unwrap(),
            Keyed::from_routing_key(key).unwrap()
        );
    }

    #[test]
    fn a_key_with_too_few_words_is_an_error_naming_the_exchange() {
        let words = words(STACK_WORDS + 2);
        let err = split_fields("exchange/x", &words, "a.b").unwrap_err();
        assert!(err.to_string().contains("exchange/x"), "{err}");
    }
}
