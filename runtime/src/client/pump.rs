//! One session's deliveries as messages: the task that reads a session's
//! deliveries (from any [transport](super::transport)),
//! decodes each delivery with the bindings and hands it to the consumer's
//! stream, and reports the connection's blocked/unblocked notices.

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::warn;

use super::error::{ConsumeError, RejectedMessage};
use super::link::Link;
use super::message::{Acker, Message, Retained, routes};
use super::stats::{ConsumerEvent, Monitor};
use super::transport::{Deliveries, Incoming, Next};
use crate::dynamic::Bindings;
use crate::error::DispatchError;
use crate::key::{KeyWord, split_routing_key};
use crate::report::{Chain, Quoted};

pub(crate) type Item<M> = Result<Message<M>, ConsumeError>;

/// A routing key's fields, as in [`Message::fields`].
type Fields = Vec<(&'static str, Option<String>)>;

/// Bindings with at most this many routing-key words split the key into a
/// buffer on the stack.
const STACK_WORDS: usize = 16;

/// The routing key's fields as a message carries them: one vector of exact
/// length and a `String` per word given (what `parse_fields` gives, without
/// its two intermediate vectors).
fn owned_fields(
    exchange: &str,
    words: &[KeyWord],
    routing_key: &str,
) -> Result<Fields, DispatchError> {
    let mut stack = [None; STACK_WORDS];
    let mut heap = Vec::new();
    let slots = if words.len() <= STACK_WORDS {
        &mut stack[..words.len()]
    } else {
        heap.resize(words.len(), None);
        &mut heap[..]
    };
    split_routing_key(exchange, words, routing_key, slots)?;
    let mut fields = Vec::with_capacity(words.len());
    fields.extend(
        words
            .iter()
            .zip(slots.iter())
            .map(|(word, slot)| (word.name, slot.map(str::to_owned))),
    );
    Ok(fields)
}

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
            body: data,
        } = incoming;
        let monitor = &self.link.monitor;
        Monitor::count(&monitor.delivered);
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
            Ok((payload, fields)) => Ok(Message {
                routes: routes(&cc),
                exchange,
                routing_key,
                fields,
                redelivered,
                payload,
                acker: Acker::new(self.link.clone(), (!self.auto_ack).then_some(delivery_tag)),
                attempt,
                retained: self.retain.then_some(Retained { body: data, cc }),
            }),
            Err(reason) => {
                Monitor::count(&monitor.decode_failures);
                warn!(exchange = %exchange, routing_key = %Quoted::str(&routing_key), error = %Chain(&reason), "rejecting a message no binding can decode");
                if !self.auto_ack {
                    match self.link.channel.reject(delivery_tag, false).await {
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
        let fields = match route.binding().key_words() {
            Some(words) => owned_fields(exchange, words, routing_key)?,
            None => Vec::new(),
        };
        let payload = route.decode(routing_key, body)?;
        Ok((payload, fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WordKind;

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
            let fields = owned_fields("x", &words, with_rest).unwrap();
            assert_eq!(fields.len(), words.len());
            for (i, (name, word)) in fields[..count].iter().enumerate() {
                assert_eq!(*name, words[i].name);
                assert_eq!(word.as_deref(), Some(key[i].as_str()));
            }
            assert_eq!(fields[count], ("rest", Some("r1.r2".to_owned())));
            if count > 0 {
                let fields = owned_fields("x", &words, &key.join(".")).unwrap();
                assert_eq!(fields[count], ("rest", None), "{count} words, no rest");
            }
        }
    }

    #[test]
    fn a_key_with_too_few_words_is_an_error_naming_the_exchange() {
        let words = words(STACK_WORDS + 2);
        let err = owned_fields("exchange/x", &words, "a.b").unwrap_err();
        assert!(err.to_string().contains("exchange/x"), "{err}");
    }
}
