//! Listening and publishing on a Pulse (RabbitMQ) broker, on
//! [lapin](https://docs.rs/lapin) 4 and tokio (TLS by rustls with the *ring*
//! provider and the webpki root certificates). Needs the `client` feature;
//! without it, lapin and tokio are not compiled at all:
//!
//! ```toml
//! [dependencies]
//! pulse-binding = { version = "0.1", features = ["client"] }
//! tokio = { version = "1", features = ["rt-multi-thread", "macros"] }
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
//!   typed [`Message`]s to acknowledge explicitly ([consuming](#consuming)),
//!   or hands each to an async handler that is retried and dead-lettered on
//!   failure ([handler mode](#handler-mode-for-services)). It reconnects on its
//!   own ([`Reconnect`]).
//! - [`Publisher`]: publishes a binding's payload as persistent JSON and waits
//!   for the broker's confirm ([publishing](#publishing)).
//! - [`dead_letters`]: reads, requeues or purges handler mode's dead-letter
//!   queue.
//!
//! To test code that uses them without a broker, the `testing` feature adds
//! `pulse_binding::testing::FakePulse`: an in-memory broker under the
//! very same [`Consumer`] and [`Publisher`].
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
//!
//! # Consuming
//!
//! ```no_run
//! use pulse_binding::Bindings;
//! use pulse_binding::client::{Consumer, PulseConfig, QueueSpec};
//! use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! enum Event {
//!     Created(HookChangedMessage),
//!     Deleted(HookChangedMessage),
//! }
//! let bindings = Bindings::new()
//!     .with(HookCreated::default(), Event::Created)
//!     .with(HookDeleted::default(), Event::Deleted);
//! // Credentials from the URL, or from PULSE_USERNAME / PULSE_PASSWORD.
//! let config = PulseConfig::from_url("amqps://pulse.mozilla.org:5671")?;
//! let mut consumer = Consumer::builder(config, bindings)
//!     .queue(QueueSpec::named("hook-watcher")) // queue/<user>/hook-watcher, a quorum queue
//!     .prefetch(16)
//!     .start()
//!     .await?;
//! while let Some(item) = consumer.recv().await {       // or StreamExt::next: it is a Stream
//!     match item {
//!         Ok(message) => {
//!             // message.exchange, .routing_key, .fields (the routing key split into
//!             // the binding's fields), .routes (CC routes, `route.` stripped),
//!             // .redelivered, .payload
//!             message.ack().await?;                     // or .reject(requeue)
//!         }
//!         Err(e) => eprintln!("{e}"), // a delivery that did not decode: rejected, the stream goes on
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! - **Queues**, the Pulse way: [`QueueSpec::named("x")`](QueueSpec::named) is
//!   the durable queue `queue/<user>/x`, a quorum queue as Pulse runs them
//!   ([`.quorum(false)`](QueueSpec::quorum) for a classic one), which outlives
//!   the consumer; [`QueueSpec::anonymous()`](QueueSpec::anonymous) (the
//!   default) is an exclusive queue with a random name that goes away with the
//!   consumer.
//! - **Bindings**: any number, of one type or mixed
//!   ([`Bindings::with`](crate::Bindings::with), or
//!   [`with_key`](crate::Bindings::with_key) to get the routing key parsed into
//!   the binding's typed fields). Every routing key is validated
//!   ([`try_routing_key`](crate::PulseBinding::try_routing_key)) before
//!   anything is bound.
//! - **Exchanges** belong to their publishers: they are checked passively, and
//!   a missing one is [`ClientError::ExchangeNotFound`].
//!   [`.declare_exchanges(true)`](ConsumerBuilder::declare_exchanges) declares
//!   them (durable topic), for a local broker or tests.
//! - **Acknowledgement** is explicit: [`ack()`](Message::ack), or
//!   [`reject(requeue)`](Message::reject). The prefetch
//!   ([`.prefetch(n)`](ConsumerBuilder::prefetch), default 32) is the channel's
//!   `basic.qos` and really limits the unacknowledged messages.
//!   [`.auto_ack(true)`](ConsumerBuilder::auto_ack) trades safety for speed.
//! - **Bad deliveries** (unknown exchange, routing key that does not fit, body
//!   that does not decode) are rejected without requeue and yielded as
//!   [`ConsumeError::Rejected`] with the exchange, routing key and raw body;
//!   the stream goes on.
//! - **Connection loss**: the consumer logs it (`tracing`), reconnects with
//!   exponential backoff, declares and binds again and goes on
//!   ([`Reconnect::default()`](Reconnect): 0.2 s doubling to 30 s, giving up
//!   after 30 failures in a row; then the stream yields
//!   [`ConsumeError::GaveUp`] and ends).
//! - **Passwords** never appear in this crate's logs (at any level), `Debug`
//!   output or errors (`amqps://user:***@host`); lapin never even gets them in
//!   a URL. But lapin's own `trace` logs print the login frame, password
//!   included (as bytes), under the target `lapin::io_loop` (and
//!   `lapin::frames` for frames dropped from a failed connection): when
//!   tracing at `trace` level, add the filter
//!   `lapin::io_loop=debug,lapin::frames=debug`
//!   (`RUST_LOG=trace,lapin::io_loop=debug,lapin::frames=debug`).
//! - **TLS**: `amqps://` trusts the webpki roots, the PEM file named by
//!   `SSL_CERT_FILE`, and CAs given with [`PulseConfig::with_ca_pem`];
//!   [`with_client_cert_pem(cert, key)`](PulseConfig::with_client_cert_pem)
//!   presents a client certificate. A password with `/`, `?`, `#` or `@` must
//!   be percent-encoded; a URL where it is not is refused without showing it.
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
//! # Handler mode, for services
//!
//! A service hands each message to an async handler ([`Consumer::run`]) and
//! lets the consumer acknowledge, retry and dead-letter. `Ok` acknowledges; an
//! error comes back after a delay ([`RetryPolicy`]); after the last attempt
//! (or at once for [`HandlerError::fatal`]) it goes to a dead-letter queue a
//! person can inspect. Nothing is dropped, not even when a cluster node dies:
//! the retry and dead-letter queues are quorum queues, and a message is
//! acknowledged only once the broker has confirmed its move (see
//! [`RetryPolicy`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use pulse_binding::Bindings;
//! use pulse_binding::client::{Consumer, HandlerError, PulseConfig, QueueSpec, RetryPolicy};
//! use pulse_binding::hooks::{HookChangedMessage, HookCreated};
//!
//! # async fn save(_: &HookChangedMessage) -> Result<(), std::io::Error> { Ok(()) }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let consumer = Consumer::builder(
//!     PulseConfig::from_url("amqps://pulse.mozilla.org:5671")?,
//!     Bindings::new().with(HookCreated::default(), |m: HookChangedMessage| m),
//! )
//! .queue(QueueSpec::named("hook-store").max_length(5_000))
//! .retry(RetryPolicy::new(5).delay(Duration::from_secs(1), Duration::from_secs(60)))
//! .start()
//! .await?;
//! let stop = consumer.shutdown_handle(); // stop.shutdown() on SIGINT, say
//! consumer
//!     .run(16, |message| async move {
//!         if message.payload.hook_id.is_empty() {
//!             return Err(HandlerError::fatal("no hook id")); // straight to the dead letters
//!         }
//!         save(&message.payload).await?; // an error here is retried later
//!         Ok(())
//!     })
//!     .await?;
//! # drop(stop);
//! # Ok(())
//! # }
//! ```
//!
//! At most 16 handlers run at once; a panic counts as a failure. A retried
//! message is dispatched exactly like the original (same exchange, routing
//! key, fields, CC routes, payload), with [`message.attempt()`](Message::attempt)
//! one higher:
//!
//! ```text
//!                       ┌──── after the delay: x-message-ttl, dead-lettered back ────┐
//!                       ▼                     through the default exchange           │
//! exchanges ──▶ queue/<user>/<name> ──▶ handler ──Err──▶ queue/<user>/<name>/retry/<delay>ms
//!                                         │  Ok: ack                 (one queue per delay)
//!                                         └──Err on the last attempt, or fatal──▶ queue/<user>/<name>/dead
//! ```
//!
//! The retry and dead queues are durable (retries survive restarts of the
//! consumer and of the broker) and take the named queue's length limits. The
//! original exchange, routing key, CC keys and attempt travel in `x-pulse-*`
//! headers; a dead letter also carries the last error's text.
//! [`dead_letters`] reads, requeues (attempts start again) or purges the dead
//! queue. Tools that want each message themselves use the stream of
//! [consuming](#consuming).
//!
//! # Publishing
//!
//! ```no_run
//! use pulse_binding::client::{Publisher, PulseConfig};
//! use pulse_binding::hooks::{HookChangedMessage, HookCreated};
//!
//! # async fn run() -> Result<(), pulse_binding::client::ClientError> {
//! let publisher = Publisher::connect(PulseConfig::from_url("amqp://guest:guest@127.0.0.1:5672")?).await?;
//! let message = HookChangedMessage { hook_group_id: "g".into(), hook_id: "h".into(), ..Default::default() };
//! publisher.publish(&HookCreated { reserved: Some("_".into()) }, &message).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The body is the payload as JSON, `application/json`, persistent, and
//! [`publish`](Publisher::publish) returns once the broker has confirmed it.
//! Every word of the binding must be set: a `*` or `#` left in is
//! [`ClientError::Wildcard`], naming the unset fields, and nothing is sent.
//! [`publish_routed`](Publisher::publish_routed) adds Taskcluster custom
//! routes (CC `route.<route>` keys); [`publish_raw`](Publisher::publish_raw)
//! sends a body as it is.
//!
//! # Running it in production
//!
//! Each knob, with its default:
//!
//! - **Credentials that change** (default: the URL's credentials):
//!   [`PulseConfig::with_credentials_provider(|| async { ... })`](PulseConfig::with_credentials_provider)
//!   is asked for [`Credentials`] before every connection attempt (start,
//!   reconnection, recycling; consumer and publisher alike). A provider error
//!   counts as a failed attempt: retried with the reconnect backoff, then
//!   `ClientError::GaveUp { last: ClientError::Credentials { .. } }`. Named
//!   queues keep the user name of the first connection.
//! - **Recycling** (default: off):
//!   [`ConsumerBuilder::recycle_interval(d)`](ConsumerBuilder::recycle_interval)
//!   opens a new connection every `d`, consumes on it, cancels the old
//!   consumer and closes the old connection once its messages are settled (at
//!   most 60 s): make before break, nothing lost, nothing acknowledged
//!   delivered again.
//! - **Graceful shutdown**: [`consumer.shutdown(timeout)`](Consumer::shutdown)
//!   cancels the broker consumer, gives back what was delivered but not yet
//!   taken, waits up to `timeout` for the messages handed out to be settled,
//!   closes, and returns a [`ShutdownReport`] (acked, rejected, requeued, timed
//!   out, final stats). To handle what was already delivered first, call
//!   [`shutdown_handle().shutdown()`](Consumer::shutdown_handle) (for example
//!   on SIGINT): the stream then ends by itself.
//! - **Heartbeats** (default: 30 s):
//!   [`PulseConfig::with_heartbeat(d)`](PulseConfig::with_heartbeat); a frozen
//!   broker or a silently dropped connection is noticed within 2.5 intervals.
//! - **Queue limits** (default: none):
//!   [`QueueSpec::max_length(n)`](QueueSpec::max_length),
//!   [`.overflow(Overflow::DropHead | Overflow::RejectPublish)`](QueueSpec::overflow)
//!   (drop-head by default) and [`.expires(d)`](QueueSpec::expires)
//!   (`x-expires`). Pulse deletes queues that grow past 8,000 messages; cap
//!   yours below that. A queue that exists with other arguments or another
//!   type is [`ClientError::QueueMismatch`] at `start`, never a reconnect loop.
//! - **Backlog watch** (default: 2,000 messages, read every 5 s):
//!   [`.backlog_warning(n)`](ConsumerBuilder::backlog_warning) (and
//!   [`.backlog_interval(d)`](ConsumerBuilder::backlog_interval)) reads the
//!   queue's depth on a side channel, logs a warning and sends
//!   [`ConsumerEvent::Backlog`] over the threshold.
//! - **Stall alarm** (default: 5 minutes):
//!   [`.stall_after(d)`](ConsumerBuilder::stall_after): the queue holds
//!   messages and none was delivered for `d` (handlers hung with the
//!   prefetch full, say): a warning and [`ConsumerEvent::Stalled`].
//! - **Figures and events**: [`consumer.stats()`](Consumer::stats) (delivered,
//!   acked, rejected, requeued, redelivered, decode failures, reconnections,
//!   recycled, retries, dead letters, last backlog; in handler mode through
//!   [`ShutdownHandle::stats`]) and [`consumer.events()`](Consumer::events), a
//!   receiver of [`ConsumerEvent`] (`Connected`, `Disconnected { reason }`,
//!   `Blocked`/`Unblocked`, `Backlog { messages }`, `Recycled`, `Stalled`),
//!   for a program's own logs.
//! - **Metrics, spans, traces**: with the feature `metrics`, the consumer,
//!   handler mode and the publisher record OpenTelemetry's messaging metrics
//!   (`messaging.client.consumed.messages`, `messaging.process.duration`, ...)
//!   through the `metrics` facade, to the recorder the application installs
//!   (buckets: [`DURATION_BUCKETS`]); always, each handler call runs in a
//!   `process {exchange}` span ([`Message::span`]) and each publish is a
//!   `send {exchange}` span; with the feature `otel`, a publish carries its
//!   W3C trace context to the handler's span. Names, attributes and alert
//!   rules: the repository's `docs/observability.md`; a whole service:
//!   `examples/service.rs`.
//! - **Publisher** (default: 30 s):
//!   [`confirm_timeout`](Publisher::confirm_timeout) bounds the whole
//!   `publish`, reconnecting (with fresh credentials) included.
//!
//! Beside Taskcluster's JS client (`libraries/pulse`):
//!
//! | | Taskcluster JS `libraries/pulse` | pulse-binding |
//! | --- | --- | --- |
//! | rotating credentials | a credentials function, asked on each connection | `with_credentials_provider`, asked on each connection attempt |
//! | recycling | every hour by default, 30 s retirement | off by default; make before break, retired once settled (at most 60 s) |
//! | graceful shutdown | `Client.stop` waits for retiring connections | `shutdown(timeout)` with a report of what was acked and requeued |
//! | queue limits, expiry | not among the options its README documents | `max_length`, `overflow`, `expires`; mismatch is a clear error |
//! | backlog, events, counters | connection events | `backlog_warning`, `events()`, `stats()` |
//! | metrics, traces, stall alarm | log lines | OpenTelemetry's metrics and spans, trace context through the broker, `stall_after` |
//!
//! Go's `pulse-go` and Taskcluster's Python client offer none of these rows:
//! the Python client only builds routing keys, and `pulse-go` takes one fixed
//! URL with its credentials.
//!
//! # On a cluster
//!
//! [`PulseConfig::from_urls(&[...])`](PulseConfig::from_urls) takes one URL
//! per node of a cluster; every connection and reconnection tries the nodes in
//! turn from a random one, and [`Consumer::node()`](Consumer::node) and
//! [`ConsumerEvent::Connected`] say which is in use.
//!
//! Named queues are quorum queues ([`QueueSpec::named`]): replicated on the
//! cluster's nodes, they survive the loss of a minority of them. When the
//! node a consumer or publisher is connected to dies, it reconnects to
//! another node of [`PulseConfig::from_urls`] and goes on; the messages it
//! held unacknowledged are delivered again, marked redelivered, and a publish
//! that failed returns an error to publish again (so it may arrive twice).
//! Several consumers on one named queue share its messages, each holding at
//! most its [prefetch](ConsumerBuilder::prefetch) unacknowledged. An
//! anonymous queue lives on one node and does not survive it. The
//! repository's `docs/cluster.md` has the details and the failover times
//! measured on a 3-node cluster.

pub(crate) mod connect;
pub(crate) mod consumer;
mod error;
pub(crate) mod handler;
pub(crate) mod observe;
mod publisher;
pub(crate) mod session;
pub(crate) mod transport;

pub use connect::config::{PASSWORD_VAR, PulseConfig, USERNAME_VAR};
pub use connect::credentials::Credentials;
pub use connect::tls::CERT_FILE_VAR;
pub use consumer::builder::ConsumerBuilder;
pub use consumer::message::{Acker, Message};
pub use consumer::queue::{Overflow, QueueSpec};
pub use consumer::reconnect::Reconnect;
pub use consumer::stats::{ConsumerEvent, ConsumerStats};
pub use consumer::{Consumer, ShutdownHandle, ShutdownReport};
pub use error::{AckError, ClientError, ConsumeError, RejectedMessage};
#[doc(inline)]
pub use handler::dead_letters;
pub use handler::retry::{HandlerError, RetryPolicy};
pub use observe::names::DURATION_BUCKETS;
pub use publisher::Publisher;
