//! The dead-letter queue of handler mode, for an operator's tool: read what
//! is in it, send it back to the main queue, or purge it.
//!
//! A message lands in `queue/<user>/<name>/dead` when its handler failed on
//! its last attempt ([`RetryPolicy`](crate::client::RetryPolicy)) or fatally
//! ([`HandlerError::fatal`](crate::client::HandlerError::fatal)).
//!
//! ```no_run
//! use pulse_binding::client::{PulseConfig, QueueSpec, dead_letters};
//!
//! # async fn operator() -> Result<(), pulse_binding::client::ClientError> {
//! let config = PulseConfig::from_url("amqp://guest:guest@127.0.0.1:5672")?;
//! let queue = QueueSpec::named("hook-store");
//! for letter in dead_letters::read(&config, &queue, 100).await? {
//!     println!("{} {}: {} after {} attempts", letter.exchange, letter.routing_key, letter.error, letter.attempts);
//! }
//! let requeued = dead_letters::requeue(&config, &queue).await?; // attempt counts start again
//! println!("{requeued} sent back");
//! # Ok(())
//! # }
//! ```

use lapin::Connection;
use lapin::options::{BasicAckOptions, BasicGetOptions, QueuePurgeOptions};
use lapin::types::{AMQPValue, ShortString};

use crate::client::connect::config::PulseConfig;
use crate::client::consumer::queue::QueueSpec;
use crate::client::error::ClientError;
use crate::client::handler::retry::{self, Origin, Stamp};
use crate::client::observe::context::TraceContext;
use crate::client::publisher::Publisher;
use crate::client::transport::channel::open_channel;
use crate::client::transport::headers;

/// A message in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The exchange it was first published to.
    pub exchange: String,
    /// Its routing key.
    pub routing_key: String,
    /// Its CC routing keys (`route.` prefix kept).
    pub cc: Vec<String>,
    /// How many attempts failed.
    pub attempts: u32,
    /// The last error's text.
    pub error: String,
    /// The body, as published.
    pub body: Vec<u8>,
}

/// Logs in for `queue`'s dead letters: the connection, and the full names
/// of the main and dead-letter queues for the user it logged in as (a
/// credentials provider's, when there is one). An anonymous queue has none,
/// and is refused before connecting.
async fn connect(
    config: &PulseConfig,
    queue: &QueueSpec,
) -> Result<(Connection, String, String), ClientError> {
    if !queue.is_named() {
        return Err(ClientError::config(
            "an anonymous queue has no dead-letter queue",
        ));
    }
    let (connection, user) = config.connect("dead letters").await?;
    let main = queue.full_name(&user)?;
    let dead = retry::dead_queue(&main);
    Ok((connection, main, dead))
}

/// Up to `max` dead letters, oldest first, leaving them in the queue.
pub async fn read(
    config: &PulseConfig,
    queue: &QueueSpec,
    max: usize,
) -> Result<Vec<DeadLetter>, ClientError> {
    let (connection, _, dead) = connect(config, queue).await?;
    let channel = open_channel(&connection).await?;
    let mut letters = Vec::new();
    while letters.len() < max {
        let Some(message) = next(&channel, &dead).await? else {
            break;
        };
        letters.push(letter(
            &message.delivery.properties,
            message.delivery.data.clone(),
        ));
    }
    // Closing without acknowledging puts every one back, in order.
    let _ = connection.close(200, ShortString::from("read")).await;
    Ok(letters)
}

/// Sends the dead letters there are now back to the main queue with their
/// attempt count reset to 1, each removed from the dead-letter queue once
/// the main queue has it; returns how many. (One that fails again meanwhile
/// and comes back is not sent twice.)
pub async fn requeue(config: &PulseConfig, queue: &QueueSpec) -> Result<usize, ClientError> {
    let (connection, main, dead) = connect(config, queue).await?;
    let channel = open_channel(&connection).await?;
    let publisher = Publisher::connect(config.clone()).await?;
    let mut count = 0;
    let result = async {
        let passive = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let there = channel
            .queue_declare(
                ShortString::from(dead.as_str()),
                passive,
                lapin::types::FieldTable::default(),
            )
            .await
            .map_err(|e| ClientError::broker("queue.declare", format!("queue `{dead}`"), e))?
            .message_count();
        while count < there as usize {
            let Some(message) = next(&channel, &dead).await? else {
                break;
            };
            let delivery = &message.delivery;
            let letter = letter(&delivery.properties, Vec::new());
            // A requeued message keeps the trace it was published in.
            let trace = TraceContext::of(&delivery.properties);
            let stamp = Stamp {
                origin: Origin {
                    exchange: letter.exchange,
                    routing_key: letter.routing_key,
                    cc: letter.cc,
                    attempt: 1,
                },
                error: None,
            };
            // Confirmed in the main queue before it leaves the dead one.
            publisher
                .send_stamped("", &main, &[], Some(&stamp), trace.as_ref(), &delivery.data)
                .await?;
            channel
                .basic_ack(delivery.delivery_tag, BasicAckOptions::default())
                .await
                .map_err(|e| ClientError::broker("basic.ack", format!("queue `{dead}`"), e))?;
            count += 1;
        }
        Ok::<_, ClientError>(())
    }
    .await;
    publisher.close().await;
    let _ = connection.close(200, ShortString::from("requeued")).await;
    result.map(|()| count)
}

/// Deletes every dead letter; returns how many there were.
pub async fn purge(config: &PulseConfig, queue: &QueueSpec) -> Result<u32, ClientError> {
    let (connection, _, dead) = connect(config, queue).await?;
    let channel = open_channel(&connection).await?;
    let purged = channel
        .queue_purge(
            ShortString::from(dead.as_str()),
            QueuePurgeOptions::default(),
        )
        .await
        .map_err(|e| ClientError::broker("queue.purge", format!("queue `{dead}`"), e));
    let _ = connection.close(200, ShortString::from("purged")).await;
    purged
}

/// The next message of the dead-letter queue `dead`, taken but not
/// acknowledged, if there is one.
async fn next(
    channel: &lapin::Channel,
    dead: &str,
) -> Result<Option<lapin::message::BasicGetMessage>, ClientError> {
    channel
        .basic_get(ShortString::from(dead), BasicGetOptions { no_ack: false })
        .await
        .map_err(|e| ClientError::broker("basic.get", format!("queue `{dead}`"), e))
}

fn letter(properties: &lapin::BasicProperties, body: Vec<u8>) -> DeadLetter {
    let origin = Origin::of(properties);
    let error = properties
        .headers()
        .as_ref()
        .and_then(|h| match h.inner().get(headers::ERROR) {
            Some(AMQPValue::LongString(s)) => {
                Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
            }
            _ => None,
        })
        .unwrap_or_default();
    match origin {
        Some(origin) => DeadLetter {
            exchange: origin.exchange,
            routing_key: origin.routing_key,
            cc: origin.cc,
            attempts: origin.attempt,
            error,
            body,
        },
        None => DeadLetter {
            exchange: String::new(),
            routing_key: String::new(),
            cc: Vec::new(),
            attempts: 0,
            error,
            body,
        },
    }
}
