//! Listening and publishing on a Pulse (RabbitMQ) broker, on
//! [lapin](https://docs.rs/lapin) and tokio. Needs the `client` feature:
//!
//! ```toml
//! pulse-binding = { version = "0.1", features = ["client"] }
//! ```
//!
//! - [`PulseConfig`]: the broker's URL (`amqps://pulse.mozilla.org:5671` for
//!   real Pulse) and credentials, from the URL or `PULSE_USERNAME` /
//!   `PULSE_PASSWORD`; TLS with a private CA or a client certificate.
//!   Passwords never show in this crate's logs, `Debug` or errors; lapin's
//!   `trace` logs need a filter ([`PulseConfig`] says which). For a cluster,
//!   [`PulseConfig::from_urls`] takes one URL per node: every connection and
//!   reconnection tries them in turn, from a random one.
//! - [`Consumer`]: declares a queue the Pulse way ([`QueueSpec`]), binds it
//!   with a [`Bindings`](crate::Bindings) list of any bindings, and yields
//!   typed [`Message`]s to acknowledge explicitly. It reconnects on its own
//!   ([`Reconnect`]).
//! - [`Publisher`]: publishes a binding's payload as persistent JSON and waits
//!   for the broker's confirm.
//!
//! To test code that uses them without a broker, the `testing` feature adds
//! `pulse_binding::testing::FakePulse`: an in-memory broker under the very
//! same [`Consumer`] and [`Publisher`].
//!
//! # Delivery guarantees
//!
//! With a [named](QueueSpec::named) queue and explicit acknowledgements, every
//! message routed to the queue is delivered at least once: one published while
//! the consumer is away waits in the queue; one delivered but not acknowledged
//! when the connection broke is delivered again, marked
//! [`redelivered`](Message::redelivered). An acknowledgement is never sent on
//! a later connection than the message came on (delivery tags are per
//! channel, so it would acknowledge another message): it fails with
//! [`AckError::ConnectionLost`] instead. Handle messages idempotently, or
//! de-duplicate them on an id in the payload, to get each one exactly once.
//!
//! # On a cluster
//!
//! Named queues are quorum queues ([`QueueSpec::named`]): replicated on the
//! cluster's nodes, they survive the loss of a minority of them. When the
//! node a consumer or publisher is connected to dies, it reconnects to
//! another node of [`PulseConfig::from_urls`] and goes on; the messages it
//! held unacknowledged are delivered again, marked redelivered, and a publish
//! that failed returns an error to publish again (so it may arrive twice).
//! Several consumers on one named queue share its messages, each holding at
//! most its [prefetch](ConsumerBuilder::prefetch) unacknowledged. An
//! anonymous queue lives on one node and does not survive it.
//!
//! # Example
//!
//! ```no_run
//! use pulse_binding::Bindings;
//! use pulse_binding::client::{Consumer, Publisher, PulseConfig};
//! use pulse_binding::hooks::{HookChangedMessage, HookCreated};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PulseConfig::from_url("amqp://guest:guest@127.0.0.1:5672")?;
//! let bindings = Bindings::new().with(HookCreated::default(), |m: HookChangedMessage| m);
//! let mut consumer = Consumer::builder(config.clone(), bindings)
//!     .declare_exchanges(true) // a local broker has no hooks service to declare it
//!     .start()
//!     .await?;
//!
//! let publisher = Publisher::connect(config).await?;
//! let message = HookChangedMessage {
//!     hook_group_id: "g".into(),
//!     hook_id: "h".into(),
//!     ..Default::default()
//! };
//! publisher.publish(&HookCreated { reserved: Some("_".into()) }, &message).await?;
//!
//! let received = consumer.recv().await.expect("the stream goes on")?;
//! assert_eq!(received.payload, message);
//! received.ack().await?;
//! # Ok(())
//! # }
//! ```

mod acks;
mod builder;
mod config;
mod consumer;
mod credentials;
pub mod dead_letters;
mod error;
mod handler;
pub(crate) mod link;
mod message;
mod nodes;
mod publish;
mod pump;
mod queue;
mod reconnect;
pub(crate) mod retry;
pub(crate) mod session;
pub(crate) mod stats;
mod supervisor;
mod tls;
pub(crate) mod transport;
mod url;

pub use builder::ConsumerBuilder;
pub use config::{PASSWORD_VAR, PulseConfig, USERNAME_VAR};
pub use consumer::{Consumer, ShutdownHandle, ShutdownReport};
pub use credentials::Credentials;
pub use error::{AckError, ClientError, ConsumeError, RejectedMessage};
pub use message::{Acker, Message};
pub use publish::Publisher;
pub use queue::{Overflow, QueueSpec};
pub use reconnect::Reconnect;
pub use retry::{HandlerError, RetryPolicy};
pub use stats::{ConsumerEvent, ConsumerStats};
pub use tls::CERT_FILE_VAR;
