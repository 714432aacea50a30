//! [`Consumer`]: a queue bound with a list of bindings, as a stream of typed
//! messages that survives connection losses.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::BasicRejectOptions;
use lapin::types::ShortString;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use super::config::PulseConfig;
use super::error::{ClientError, ConsumeError, RejectedMessage};
use super::message::{Acker, Liveness, Message, cc_keys, routes};
use super::queue::QueueSpec;
use super::reconnect::Reconnect;
use super::session::{Session, Topology};
use crate::dynamic::Bindings;
use crate::error::DispatchError;
use crate::key::parse_fields;
use crate::report::{Chain, Quoted};

type Item<M> = Result<Message<M>, ConsumeError>;

/// A routing key's fields, as in [`Message::fields`].
type Fields = Vec<(&'static str, Option<String>)>;

/// Sets up a [`Consumer`]: the queue, the prefetch, whether to declare
/// exchanges, how to reconnect. Made by [`Consumer::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` is awaited"]
pub struct ConsumerBuilder<M> {
    config: PulseConfig,
    bindings: Bindings<M>,
    queue: QueueSpec,
    prefetch: u16,
    declare_exchanges: bool,
    auto_ack: bool,
    reconnect: Reconnect,
}

impl<M: Send + 'static> ConsumerBuilder<M> {
    /// The queue to declare and read; an anonymous one by default.
    pub fn queue(mut self, queue: QueueSpec) -> Self {
        self.queue = queue;
        self
    }

    /// How many messages the broker may send before they are acknowledged
    /// (AMQP `basic.qos` on the consumer's channel); 32 by default, 0 for no
    /// limit. Also bounds how many decoded messages wait in the consumer.
    pub fn prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Declares each binding's exchange (a durable topic exchange) instead of
    /// checking that it exists. Exchanges belong to their publishers: use this
    /// only on a broker of your own, such as in tests.
    pub fn declare_exchanges(mut self, declare: bool) -> Self {
        self.declare_exchanges = declare;
        self
    }

    /// Lets the broker count messages as acknowledged when it sends them
    /// (`no-ack`): faster, but a message is lost if the consumer stops before
    /// handling it, and the broker ignores the prefetch for such a consumer.
    /// [`Acker::ack`] and [`Acker::reject`] then do nothing. Off by default.
    pub fn auto_ack(mut self, auto_ack: bool) -> Self {
        self.auto_ack = auto_ack;
        self
    }

    /// How to reconnect after losing the connection ([`Reconnect::default`]
    /// unless set).
    pub fn reconnect(mut self, policy: Reconnect) -> Self {
        self.reconnect = policy;
        self
    }

    /// Checks every binding's routing key, then connects, checks or declares
    /// the exchanges, declares the queue, binds it and starts consuming.
    ///
    /// A binding with an invalid routing key is an error before anything
    /// is bound; so is a failure of any step here (there is no retry: the
    /// retries are for connections lost later). Must be called within a tokio
    /// runtime, which runs the consumer's task.
    pub async fn start(self) -> Result<Consumer<M>, ClientError> {
        let binds = self
            .bindings
            .iter()
            .map(|b| {
                Ok((
                    b.erased_exchange_name().to_owned(),
                    b.erased_try_routing_key()?,
                ))
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        if binds.is_empty() {
            return Err(ClientError::config("a consumer needs at least one binding"));
        }
        let topology = Topology {
            queue: self.queue,
            binds,
            declare_exchanges: self.declare_exchanges,
            prefetch: self.prefetch,
            auto_ack: self.auto_ack,
        };
        let session = topology.open(&self.config).await?;
        info!(queue = %session.queue, url = %self.config, "consuming");

        let liveness = Arc::new(Liveness::default());
        liveness.set(1);
        let (reconnections, reconnections_rx) = watch::channel(0);
        let capacity = match self.prefetch {
            0 => 1024,
            n => usize::from(n),
        };
        let (tx, rx) = mpsc::channel(capacity);
        let named = topology.queue.is_named();
        let queue = session.queue.clone();
        let task = Task {
            config: self.config,
            topology,
            bindings: self.bindings,
            auto_ack: self.auto_ack,
            reconnect: self.reconnect,
            liveness: liveness.clone(),
            reconnections,
            tx,
        };
        let task = tokio::spawn(task.run(session));
        Ok(Consumer {
            rx,
            liveness,
            reconnections: reconnections_rx,
            skip_stale: named,
            queue,
            task,
        })
    }
}

/// A queue bound with a list of bindings, consumed as a [`Stream`] of
/// [`Message`]s, each acknowledged explicitly.
///
/// The consumer runs in a task of its own. When the connection breaks or the
/// broker restarts, it logs a warning (with [`tracing`]), reconnects with
/// backoff, declares and binds the queue again and goes on; the stream sees
/// nothing of it but, for a named queue, the messages that were not
/// acknowledged delivered again (marked [`redelivered`](Message::redelivered)).
/// Messages that came on the lost connection and were not yet taken from the
/// stream are dropped for that reason. Only after
/// [`Reconnect::max_attempts`] failures in a row does the stream yield
/// [`ConsumeError::GaveUp`] and end.
///
/// A delivery that no binding decodes (unknown exchange, routing key that does
/// not fit, body that is not the payload type) is rejected without requeue and
/// yielded as [`ConsumeError::Rejected`]; the stream goes on.
///
/// Dropping the consumer closes its connection; the broker requeues what
/// was not acknowledged.
///
/// ```no_run
/// use pulse_binding::Bindings;
/// use pulse_binding::client::{Consumer, PulseConfig, QueueSpec};
/// use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// enum Event {
///     Created(HookChangedMessage),
///     Deleted(HookChangedMessage),
/// }
/// let bindings = Bindings::new()
///     .with(HookCreated::default(), Event::Created)
///     .with(HookDeleted::default(), Event::Deleted);
/// let config = PulseConfig::from_url("amqps://pulse.mozilla.org:5671")?; // PULSE_USERNAME, PULSE_PASSWORD
/// let mut consumer = Consumer::builder(config, bindings)
///     .queue(QueueSpec::named("hook-watcher").quorum(true))
///     .prefetch(16)
///     .start()
///     .await?;
/// while let Some(item) = consumer.recv().await {
///     match item {
///         Ok(message) => {
///             match &message.payload {
///                 Event::Created(m) => println!("created {}/{}", m.hook_group_id, m.hook_id),
///                 Event::Deleted(m) => println!("deleted {}/{}", m.hook_group_id, m.hook_id),
///             }
///             message.ack().await?;
///         }
///         Err(e) => eprintln!("{e}"),
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct Consumer<M> {
    rx: mpsc::Receiver<Item<M>>,
    liveness: Arc<Liveness>,
    reconnections: watch::Receiver<u64>,
    skip_stale: bool,
    queue: String,
    task: JoinHandle<()>,
}

impl<M: Send + 'static> Consumer<M> {
    /// A builder for a consumer of `bindings` on the broker of `config`.
    pub fn builder(config: PulseConfig, bindings: Bindings<M>) -> ConsumerBuilder<M> {
        ConsumerBuilder {
            config,
            bindings,
            queue: QueueSpec::anonymous(),
            prefetch: 32,
            declare_exchanges: false,
            auto_ack: false,
            reconnect: Reconnect::default(),
        }
    }
}

impl<M> Consumer<M> {
    /// The next message or error; `None` once the consumer has given up.
    /// The same as `StreamExt::next`, without needing a futures crate.
    pub async fn recv(&mut self) -> Option<Item<M>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The queue's full name at start (an anonymous queue gets a new name
    /// after each reconnection).
    pub fn queue_name(&self) -> &str {
        &self.queue
    }

    /// How many times the consumer has reconnected.
    pub fn reconnections(&self) -> u64 {
        *self.reconnections.borrow()
    }

    /// Waits until the consumer has reconnected `count` times in all (at once
    /// if it has already). Returns `false` if the consumer has stopped first.
    pub async fn wait_reconnections(&self, count: u64) -> bool {
        let mut rx = self.reconnections.clone();
        rx.wait_for(|n| *n >= count).await.is_ok()
    }

    /// Whether the consumer currently has a connection.
    pub fn is_connected(&self) -> bool {
        !self.liveness.is(0)
    }

    /// Stops consuming and closes the connection; the broker requeues the
    /// messages not acknowledged. Dropping the consumer does the same without
    /// waiting.
    pub async fn close(self) {
        let Self { rx, task, .. } = self;
        drop(rx);
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
}

impl<M> std::fmt::Debug for Consumer<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queue", &self.queue)
            .field("connected", &self.is_connected())
            .field("reconnections", &self.reconnections())
            .finish_non_exhaustive()
    }
}

impl<M> Stream for Consumer<M> {
    type Item = Item<M>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            return match this.rx.poll_recv(cx) {
                // From a connection since lost: the broker delivers it again.
                Poll::Ready(Some(Ok(message)))
                    if this.skip_stale && !message.acker.is_current() =>
                {
                    debug!(
                        exchange = %message.exchange,
                        routing_key = %message.routing_key,
                        "dropped a message from a lost connection; the broker will deliver it again"
                    );
                    continue;
                }
                other => other,
            };
        }
    }
}

/// The consumer's task: forwards deliveries, reconnects.
struct Task<M> {
    config: PulseConfig,
    topology: Topology,
    bindings: Bindings<M>,
    auto_ack: bool,
    reconnect: Reconnect,
    liveness: Arc<Liveness>,
    reconnections: watch::Sender<u64>,
    tx: mpsc::Sender<Item<M>>,
}

/// Why a session ended.
enum Stop {
    /// The stream was dropped.
    Closed,
    /// The connection or channel failed.
    Lost(String),
}

impl<M: Send + 'static> Task<M> {
    async fn run(self, mut session: Session) {
        let mut generation = 1;
        loop {
            let stop = self.pump(&mut session, generation).await;
            self.liveness.set(0);
            close(&session).await;
            let reason = match stop {
                Stop::Closed => {
                    debug!(queue = %session.queue, "consumer closed");
                    return;
                }
                Stop::Lost(reason) => reason,
            };
            warn!(queue = %session.queue, error = %reason, "lost the connection to the broker; reconnecting");
            let Some(next) = self.reopen().await else {
                return;
            };
            session = next;
            generation += 1;
            self.liveness.set(generation);
            self.reconnections.send_modify(|n| *n += 1);
        }
    }

    /// Forwards deliveries until the connection fails or the stream is dropped.
    async fn pump(&self, session: &mut Session, generation: u64) -> Stop {
        loop {
            let next = tokio::select! {
                biased;
                next = std::future::poll_fn(|cx| Pin::new(&mut session.consumer).poll_next(cx)) => next,
                () = self.tx.closed() => return Stop::Closed,
            };
            let item = match next {
                Some(Ok(delivery)) => self.handle(delivery, &session.channel, generation).await,
                Some(Err(e)) => return Stop::Lost(e.to_string()),
                None => return Stop::Lost("the broker cancelled the consumer".to_owned()),
            };
            if self.tx.send(item).await.is_err() {
                return Stop::Closed;
            }
        }
    }

    /// Connects again with backoff; `None` when giving up or closed.
    async fn reopen(&self) -> Option<Session> {
        let mut last = None;
        for attempt in 1..=self.reconnect.attempts() {
            let delay = self.reconnect.delay(attempt);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.tx.closed() => return None,
            }
            match self.topology.open(&self.config).await {
                Ok(session) => {
                    info!(queue = %session.queue, attempt, "reconnected; queue declared and bound again");
                    return Some(session);
                }
                Err(e) => {
                    warn!(attempt, max_attempts = self.reconnect.attempts(), error = %Chain(&e), "reconnection failed");
                    last = Some(e);
                }
            }
        }
        let attempts = self.reconnect.attempts();
        let last = last
            .unwrap_or_else(|| ClientError::config("reconnection is disabled (max_attempts 0)"));
        let error = ClientError::GaveUp {
            attempts,
            last: Box::new(last),
        };
        error!(error = %Chain(&error), "consumer stopped");
        let _ = self.tx.send(Err(ConsumeError::GaveUp(error))).await;
        None
    }

    /// A delivery as a message, or rejected as an error.
    async fn handle(&self, delivery: Delivery, channel: &Arc<Channel>, generation: u64) -> Item<M> {
        let Delivery {
            delivery_tag,
            exchange,
            routing_key,
            redelivered,
            properties,
            data,
            ..
        } = delivery;
        let exchange = String::from(exchange);
        let routing_key = String::from(routing_key);
        let cc = cc_keys(&properties);
        match self.decode(&exchange, &routing_key, &cc, &data) {
            Ok((payload, fields)) => Ok(Message {
                routes: routes(&cc),
                exchange,
                routing_key,
                fields,
                redelivered,
                payload,
                acker: Acker::new(
                    (!self.auto_ack).then(|| (channel.clone(), delivery_tag)),
                    generation,
                    self.liveness.clone(),
                ),
            }),
            Err(reason) => {
                warn!(exchange = %exchange, routing_key = %Quoted::str(&routing_key), error = %Chain(&reason), "rejecting a message no binding can decode");
                if !self.auto_ack
                    && let Err(e) = channel
                        .basic_reject(delivery_tag, BasicRejectOptions { requeue: false })
                        .await
                {
                    warn!(error = %e, "could not reject the message; it will come again");
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
            Some(words) => parse_fields(exchange, words, routing_key)?
                .into_iter()
                .map(|(name, word)| (name, word.map(str::to_owned)))
                .collect(),
            None => Vec::new(),
        };
        let payload = route.decode(routing_key, body)?;
        Ok((payload, fields))
    }
}

/// Closes a session's connection, if it is still open; bounded in time.
async fn close(session: &Session) {
    let closing = session
        .connection
        .close(200, ShortString::from("consumer stopped"));
    let _ = tokio::time::timeout(Duration::from_secs(5), closing).await;
}
