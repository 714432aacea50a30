//! One connection's worth of consuming: connect, check or declare the
//! exchanges, declare the queue, bind it, set the prefetch and start consuming.
//! A consumer opens one session at start and one more after each connection loss.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};

use lapin::options::{BasicConsumeOptions, BasicQosOptions, QueueBindOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection};
use tracing::debug;

use crate::client::connect::config::PulseConfig;
use crate::client::connect::nodes::Opened;
use crate::client::consumer::queue::QueueSpec;
use crate::client::error::ClientError;
use crate::client::handler::retry::{RetryPolicy, dead_queue, retry_queue};
use crate::client::handler::side_queues::SideQueue;
use crate::client::transport::channel::{check_exchange, open_channel, short};
use crate::client::transport::{self, Deliveries, Transport};

/// Everything a session sets up, fixed when the consumer starts.
#[derive(Debug)]
pub(crate) struct Topology {
    pub(crate) queue: QueueSpec,
    /// (exchange, validated routing-key pattern), in the bindings' order.
    pub(crate) binds: Vec<(String, String)>,
    pub(crate) declare_exchanges: bool,
    /// The prefetch; handler mode may raise it (`Consumer::run`).
    pub(crate) prefetch: Arc<AtomicU16>,
    pub(crate) auto_ack: bool,
    /// A named queue's full name, fixed by the first session (from the user
    /// name it logged in as).
    pub(crate) named: OnceLock<String>,
    /// The retry policy of handler mode: its retry and dead queues are
    /// declared next to the named queue.
    pub(crate) retry: Option<RetryPolicy>,
}

/// A live connection with its consumer.
pub(crate) struct Session {
    pub(crate) connection: transport::Connection,
    /// The channel the consumer's deliveries come on, and are acknowledged on.
    pub(crate) channel: transport::Channel,
    pub(crate) deliveries: Deliveries,
    /// The consumer's tag, to cancel it.
    pub(crate) consumer_tag: String,
    pub(crate) queue: String,
    /// The node the connection went to (`host:port`).
    pub(crate) node: String,
    /// That node's URL, without the password.
    pub(crate) url: String,
}

impl Topology {
    /// The prefetch now.
    pub(crate) fn prefetch(&self) -> u16 {
        self.prefetch.load(Ordering::SeqCst)
    }

    /// Connects and sets everything up; any failure closes what was opened.
    pub(crate) async fn open(&self, transport: &Transport) -> Result<Session, ClientError> {
        match transport {
            Transport::Broker(config) => self.open_broker(config).await,
            #[cfg(feature = "testing")]
            Transport::InMemory(fake) => fake.open_session(self),
        }
    }

    async fn open_broker(&self, config: &PulseConfig) -> Result<Session, ClientError> {
        let Opened {
            connection,
            username,
            node,
            url,
        } = config.connect_any("consumer").await?;
        match self.setup(&username, &connection).await {
            Ok((channel, consumer, queue)) => Ok(Session {
                consumer_tag: consumer.tag().as_str().to_owned(),
                deliveries: Deliveries::broker(consumer, &connection),
                connection: transport::Connection::Broker(connection),
                channel: transport::Channel::Broker(channel),
                queue,
                node,
                url,
            }),
            Err(e) => {
                let _ = connection
                    .close(200, ShortString::from("setup failed"))
                    .await;
                Err(e)
            }
        }
    }

    /// The queue's full name for a session logged in as `username`.
    pub(crate) fn queue_name(&self, username: &str) -> Result<String, ClientError> {
        if let Some(name) = self.named.get() {
            return Ok(name.clone());
        }
        let name = self.queue.full_name(username)?;
        if self.queue.is_named() {
            return Ok(self.named.get_or_init(|| name).clone());
        }
        Ok(name)
    }

    async fn setup(
        &self,
        username: &str,
        connection: &Connection,
    ) -> Result<(Channel, lapin::Consumer, String), ClientError> {
        let channel = open_channel(connection).await?;
        let mut seen: Vec<&str> = Vec::new();
        for (exchange, _) in &self.binds {
            if !seen.contains(&exchange.as_str()) {
                seen.push(exchange);
                check_exchange(&channel, exchange, self.declare_exchanges).await?;
            }
        }
        let name = self.queue_name(username)?;
        let queue = self.queue.declare(&channel, &name).await?;
        for side in self.side_queues(&queue) {
            side.declare(connection, &self.queue).await?;
        }
        for (exchange, key) in &self.binds {
            channel
                .queue_bind(
                    short(&queue, "queue name")?,
                    short(exchange, "exchange name")?,
                    short(key, "routing key")?,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| {
                    ClientError::broker(
                        "queue.bind",
                        format!("queue `{queue}` to `{exchange}` with {key:?}"),
                        e,
                    )
                })?;
            debug!(queue = %queue, exchange = %exchange, routing_key = %key, "bound");
        }
        channel
            .basic_qos(self.prefetch(), BasicQosOptions::default())
            .await
            .map_err(|e| {
                ClientError::broker("basic.qos", format!("prefetch {}", self.prefetch()), e)
            })?;
        let consumer = channel
            .basic_consume(
                short(&queue, "queue name")?,
                ShortString::from(""),
                BasicConsumeOptions {
                    no_ack: self.auto_ack,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| ClientError::broker("basic.consume", format!("queue `{queue}`"), e))?;
        Ok((channel, consumer, queue))
    }
}

impl Topology {
    /// The queues handler mode's retries need next to `queue`: the dead-letter
    /// queue, and a retry queue for each delay (which holds a message that
    /// long, then dead-letters it back to `queue`).
    pub(crate) fn side_queues(&self, queue: &str) -> Vec<SideQueue> {
        let Some(policy) = &self.retry else {
            return Vec::new();
        };
        let mut sides = vec![SideQueue {
            name: dead_queue(queue),
            retry: None,
        }];
        sides.extend(policy.delays().into_iter().map(|delay| SideQueue {
            name: retry_queue(queue, delay),
            retry: Some((delay, queue.to_owned())),
        }));
        sides
    }
}
