//! The in-memory broker behind [`FakePulse`](super::FakePulse): queues,
//! bindings, topic routing with CC keys, per-consumer prefetch, delivery tags
//! per connection, acknowledgements, rejections and requeues, queue limits,
//! and retry queues whose messages expire back into their main queue. It is
//! the other side of the client's [transport](crate::client) seam: the
//! consumer and publisher above it are the client's own.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

use super::Published;
use super::error::FakeError;
use super::link::FakeLink;
use crate::client::handler::retry::Stamp;
use crate::client::observe::context::TraceContext;
use crate::client::session::{Session, Topology};
use crate::client::transport::in_memory::InMemoryBroker;
use crate::client::transport::{Channel, Connection, Deliveries, Incoming};
use crate::client::{ClientError, Overflow};
use crate::topic_matches;

mod faults;
mod inspect;
mod state;

use faults::Faults;

/// The fake's user name: named queues are `queue/fake/<name>`.
pub(crate) const USERNAME: &str = "fake";

impl InMemoryBroker for Broker {
    fn open_session(&self, topology: &Topology) -> Result<Session, ClientError> {
        Broker::open_session(self, topology)
    }

    fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[String],
        stamp: Option<&Stamp>,
        trace: Option<&TraceContext>,
        body: &[u8],
    ) -> Result<(), ClientError> {
        Broker::publish(self, exchange, routing_key, cc, stamp, trace, body)
    }
}

/// How soon a retry queue tries again to hand an expired message to a
/// full main queue.
const DEAD_LETTER_RETRY: Duration = Duration::from_millis(100);

/// What a consumer's stream gets: a delivery, or the connection's loss.
type Sender = mpsc::UnboundedSender<Result<Incoming, String>>;

pub(crate) struct Broker {
    /// Itself, for the timers of expiring messages.
    me: Weak<Broker>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queues: BTreeMap<String, Queue>,
    binds: Vec<Bind>,
    connections: BTreeMap<u64, Conn>,
    published: Vec<Published>,
    /// Messages a full drop-head queue dropped.
    dropped: Vec<Published>,
    /// Faults to inject.
    faults: Faults,
    /// Connection ids and message sequence numbers.
    next_id: u64,
}

struct Bind {
    exchange: String,
    pattern: String,
    queue: String,
}

/// What a queue was declared with; a redeclaration must match.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Limits {
    /// A quorum queue (the only kind whose settlements a close may forget).
    quorum: bool,
    max_length: Option<u32>,
    overflow: Overflow,
    /// A retry queue's delay, and the queue its messages go to after it.
    expiry: Option<(Duration, String)>,
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.quorum { "quorum, " } else { "classic, " })?;
        match self.max_length {
            Some(max) => write!(f, "max length {max}, overflow {:?}", self.overflow)?,
            None => f.write_str("no max length")?,
        }
        if let Some((delay, target)) = &self.expiry {
            write!(f, ", messages expiring after {delay:?} into `{target}`")?;
        }
        Ok(())
    }
}

struct Queue {
    limits: Limits,
    /// The connection an exclusive (anonymous) queue belongs to.
    owner: Option<u64>,
    /// Ready messages, in order.
    ready: VecDeque<Stored>,
    /// (connection, consumer tag), served in turn.
    consumers: Vec<(u64, String)>,
    turn: usize,
}

#[derive(Debug, Clone)]
struct Stored {
    /// Publication order; a requeued message goes back to its place.
    seq: u64,
    exchange: String,
    routing_key: String,
    cc: Vec<String>,
    stamp: Option<Stamp>,
    trace: Option<TraceContext>,
    body: Vec<u8>,
    redelivered: bool,
}

struct Conn {
    open: Arc<AtomicBool>,
    consumers: BTreeMap<String, Slot>,
    /// Delivered and not yet settled, by delivery tag.
    unacked: BTreeMap<u64, Held>,
    next_tag: u64,
    /// Acknowledged or discarded lately, with when: what a close may forget
    /// ([`Faults::forget_acks`]).
    settled: Vec<(tokio::time::Instant, Held)>,
}

struct Held {
    queue: String,
    consumer: String,
    message: Stored,
}

struct Slot {
    queue: String,
    prefetch: u16,
    no_ack: bool,
    /// How many of its deliveries are unsettled.
    held: usize,
    tx: Sender,
}

/// A queue refused a message (`Overflow::RejectPublish`).
struct Full;

impl Broker {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            state: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection with the topology set up and a consumer started: what
    /// the client's session opener does on a broker.
    pub(crate) fn open_session(&self, topology: &Topology) -> Result<Session, ClientError> {
        let broker = self.me.upgrade().expect("a live broker opens sessions");
        let mut state = self.lock();
        if state.faults.take(|f| &mut f.fail_connects) {
            return Err(ClientError::Credentials {
                source: "the credentials provider failed (a fault FakePulse injected)".into(),
            });
        }
        let id = state.next();
        let open = Arc::new(AtomicBool::new(true));
        state.connections.insert(
            id,
            Conn {
                open: open.clone(),
                consumers: BTreeMap::new(),
                unacked: BTreeMap::new(),
                next_tag: 1,
                settled: Vec::new(),
            },
        );
        let consumer_tag = format!("fake-consumer-{id}");
        let (tx, rx) = mpsc::unbounded_channel();
        match state.set_up(topology, id, &consumer_tag, tx) {
            Ok(queue) => {
                self.dispatch(&mut state, &queue);
                let link = FakeLink {
                    target: Some((broker, id)),
                    open,
                };
                Ok(Session {
                    connection: Connection::InMemory(Arc::new(link.clone())),
                    channel: Channel::InMemory(Arc::new(link)),
                    deliveries: Deliveries::InMemory(rx),
                    consumer_tag,
                    queue,
                    node: "fake-pulse".to_owned(),
                    url: "fake-pulse".to_owned(),
                })
            }
            Err(e) => {
                state.connections.remove(&id);
                Err(e)
            }
        }
    }

    /// Routes a message to every queue one of its keys reaches, once each.
    pub(crate) fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[String],
        stamp: Option<&Stamp>,
        trace: Option<&TraceContext>,
        body: &[u8],
    ) -> Result<(), ClientError> {
        let mut state = self.lock();
        let seq = state.next();
        state.published.push(Published {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            cc: cc.to_vec(),
            body: body.to_vec(),
        });
        if state.faults.take(|f| &mut f.nack_publishes) {
            return Err(ClientError::Nacked {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            });
        }
        let targets = state.route(exchange, routing_key, cc);
        // A stamped message (a retry or dead letter) is published mandatory.
        if stamp.is_some() && targets.is_empty() {
            return Err(ClientError::Unroutable {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            });
        }
        let message = Stored {
            seq,
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            cc: cc.to_vec(),
            stamp: stamp.cloned(),
            trace: trace.cloned(),
            body: body.to_vec(),
            redelivered: false,
        };
        let mut refused = false;
        for queue in targets {
            refused |= self.enqueue(&mut state, &queue, message.clone()).is_err();
            self.dispatch(&mut state, &queue);
        }
        if refused {
            return Err(ClientError::Nacked {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            });
        }
        Ok(())
    }

    /// Adds `message` to `queue` (if it exists), applying its length limit,
    /// and starts its expiry in a retry queue.
    fn enqueue(&self, state: &mut State, queue: &str, message: Stored) -> Result<(), Full> {
        let Some(q) = state.queues.get_mut(queue) else {
            return Ok(());
        };
        let max = q.limits.max_length.map(|max| max as usize);
        if let Some(max) = max
            && q.limits.overflow == Overflow::RejectPublish
            && q.ready.len() >= max
        {
            return Err(Full);
        }
        let seq = message.seq;
        q.ready.push_back(message);
        if let Some(max) = max {
            while q.ready.len() > max {
                let gone = q.ready.pop_front().expect("longer than max");
                state.dropped.push(gone.published());
            }
        }
        if let Some((ttl, _)) = q.limits.expiry {
            let (me, queue) = (self.me.clone(), queue.to_owned());
            tokio::spawn(async move {
                tokio::time::sleep(ttl).await;
                if let Some(broker) = me.upgrade() {
                    broker.expire(&queue, seq);
                }
            });
        }
        Ok(())
    }

    /// A message whose time in a retry queue is up goes to the queue that
    /// one dead-letters to (through the default exchange, as RabbitMQ does).
    fn expire(&self, queue: &str, seq: u64) {
        let mut state = self.lock();
        let Some(q) = state.queues.get_mut(queue) else {
            return;
        };
        let Some(at) = q.ready.iter().position(|m| m.seq == seq) else {
            return;
        };
        let Some((_, target)) = q.limits.expiry.clone() else {
            return;
        };
        let mut message = q.ready.remove(at).expect("found above");
        message.redelivered = false;
        if let Err(Full) = self.enqueue(&mut state, &target, message.clone()) {
            // At-least-once dead-lettering: the retry queue keeps the message
            // at its head and tries again, as RabbitMQ does.
            if let Some(q) = state.queues.get_mut(queue) {
                q.ready.insert(at, message);
                let (me, queue) = (self.me.clone(), queue.to_owned());
                tokio::spawn(async move {
                    tokio::time::sleep(DEAD_LETTER_RETRY).await;
                    if let Some(broker) = me.upgrade() {
                        broker.expire(&queue, seq);
                    }
                });
            }
            return;
        }
        self.dispatch(&mut state, &target);
    }

    /// Hands ready messages of `queue` to its consumers in turn, as far as
    /// their prefetch allows.
    fn dispatch(&self, state: &mut State, queue: &str) {
        let State {
            queues,
            connections,
            ..
        } = state;
        let Some(q) = queues.get_mut(queue) else {
            return;
        };
        while !q.ready.is_empty() && !q.consumers.is_empty() {
            let count = q.consumers.len();
            let free = (0..count).map(|i| (q.turn + i) % count).find(|&k| {
                let (id, tag) = &q.consumers[k];
                connections
                    .get(id)
                    .and_then(|c| c.consumers.get(tag))
                    .is_some_and(|s| {
                        s.no_ack || s.prefetch == 0 || s.held < usize::from(s.prefetch)
                    })
            });
            let Some(k) = free else {
                return;
            };
            q.turn = (k + 1) % count;
            let (id, tag) = q.consumers[k].clone();
            let message = q.ready.pop_front().expect("not empty");
            let conn = connections.get_mut(&id).expect("checked above");
            let delivery_tag = conn.next_tag;
            conn.next_tag += 1;
            let slot = conn.consumers.get_mut(&tag).expect("checked above");
            let incoming = Incoming {
                tag: delivery_tag,
                exchange: message.exchange.clone(),
                routing_key: message.routing_key.clone(),
                redelivered: message.redelivered,
                cc: message.cc.clone(),
                origin: message.stamp.as_ref().map(|s| s.origin.clone()),
                trace: message.trace.clone(),
                body: message.body.clone(),
            };
            let _ = slot.tx.send(Ok(incoming));
            if !slot.no_ack {
                slot.held += 1;
                conn.unacked.insert(
                    delivery_tag,
                    Held {
                        queue: queue.to_owned(),
                        consumer: tag,
                        message,
                    },
                );
            }
        }
    }

    /// Settles `tag` (and, with `multiple`, every earlier one) on connection
    /// `id`: acknowledged, or rejected with or without requeue.
    pub(super) fn settle(
        &self,
        id: u64,
        tag: u64,
        multiple: bool,
        requeue: Option<bool>,
    ) -> Result<(), FakeError> {
        let mut state = self.lock();
        let conn = state.connections.get_mut(&id).ok_or(FakeError::Closed)?;
        if !conn.unacked.contains_key(&tag) {
            return Err(FakeError::UnknownTag(tag));
        }
        let tags: Vec<u64> = if multiple {
            conn.unacked.range(..=tag).map(|(t, _)| *t).collect()
        } else {
            vec![tag]
        };
        let mut released = Vec::new();
        for t in tags {
            let held = conn.unacked.remove(&t).expect("listed above");
            if let Some(slot) = conn.consumers.get_mut(&held.consumer) {
                slot.held -= 1;
            }
            released.push(held);
        }
        let forget = state.faults.forget_acks;
        let mut queues: Vec<String> = Vec::new();
        for held in released {
            if !queues.contains(&held.queue) {
                queues.push(held.queue.clone());
            }
            let quorum = state
                .queues
                .get(&held.queue)
                .is_some_and(|q| q.limits.quorum);
            if requeue == Some(true) {
                state.requeue(&held.queue, held.message);
            } else if let Some(window) = forget.filter(|_| quorum) {
                let conn = state.connections.get_mut(&id).expect("looked up above");
                faults::remember(conn, held, window);
            }
        }
        for queue in queues {
            self.dispatch(&mut state, &queue);
        }
        Ok(())
    }

    /// Closes connection `id`: its consumers stop (told of the loss when
    /// `lost` says why), what it held goes back to its queues marked
    /// redelivered, and its exclusive queues are deleted.
    pub(super) fn close(&self, id: u64, lost: Option<&str>) {
        let mut state = self.lock();
        let Some(conn) = state.connections.remove(&id) else {
            return;
        };
        conn.open.store(false, Ordering::SeqCst);
        for (tag, slot) in conn.consumers {
            if let Some(reason) = lost {
                let _ = slot.tx.send(Err(reason.to_owned()));
            }
            if let Some(q) = state.queues.get_mut(&slot.queue) {
                q.consumers.retain(|(i, t)| (*i, t) != (id, &tag));
            }
        }
        let mut queues: Vec<String> = Vec::new();
        let forgotten = match (lost, state.faults.forget_acks) {
            (None, Some(window)) => faults::forgotten(conn.settled, window),
            _ => Vec::new(),
        };
        for held in conn.unacked.into_values().chain(forgotten) {
            state.requeue(&held.queue, held.message);
            if !queues.contains(&held.queue) {
                queues.push(held.queue);
            }
        }
        state.queues.retain(|_, q| q.owner != Some(id));
        let State {
            queues: all, binds, ..
        } = &mut *state;
        binds.retain(|b| all.contains_key(&b.queue));
        for queue in queues {
            self.dispatch(&mut state, &queue);
        }
    }

    /// Stops consumer `tag` of connection `id`; what it holds stays held.
    pub(super) fn cancel(&self, id: u64, tag: &str) {
        let mut state = self.lock();
        let Some(slot) = state
            .connections
            .get_mut(&id)
            .and_then(|c| c.consumers.remove(tag))
        else {
            return;
        };
        if let Some(q) = state.queues.get_mut(&slot.queue) {
            q.consumers.retain(|(i, t)| !(*i == id && t == tag));
        }
    }

    /// Every connection is lost at once.
    pub(crate) fn disconnect_all(&self) {
        let ids: Vec<u64> = self.lock().connections.keys().copied().collect();
        for id in ids {
            self.close(id, Some("the fake broker dropped the connection"));
        }
    }

    /// The full name of the queue `name` names: itself, or
    /// `queue/fake/<name>`.
    fn resolve(state: &State, name: &str) -> String {
        if state.queues.contains_key(name) {
            name.to_owned()
        } else {
            format!("queue/{USERNAME}/{name}")
        }
    }

    pub(crate) fn queue_len(&self, name: &str) -> usize {
        let state = self.lock();
        let name = Self::resolve(&state, name);
        state.queues.get(&name).map_or(0, |q| q.ready.len())
    }

    pub(crate) fn unacked(&self, name: &str) -> usize {
        let state = self.lock();
        let name = Self::resolve(&state, name);
        state
            .connections
            .values()
            .flat_map(|c| c.unacked.values())
            .filter(|held| held.queue == name)
            .count()
    }

    /// Whether nothing is left to do: no message ready in a queue with a
    /// consumer, none unacknowledged, none waiting in a retry queue.
    pub(crate) fn is_idle(&self) -> bool {
        let state = self.lock();
        let queues_done = state
            .queues
            .values()
            .all(|q| q.ready.is_empty() || (q.consumers.is_empty() && q.limits.expiry.is_none()));
        queues_done && state.connections.values().all(|c| c.unacked.is_empty())
    }

    pub(crate) fn published(&self) -> Vec<Published> {
        self.lock().published.clone()
    }
}
