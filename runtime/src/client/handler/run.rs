//! Handler mode: [`Consumer::run`] calls an async handler for each message,
//! a bounded number at a time, acknowledges what succeeds and retries or
//! dead-letters what fails.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{Instrument, error, warn};

use crate::client::consumer::Consumer;
use crate::client::consumer::message::{Message, Retained};
use crate::client::consumer::stats::Monitor;
use crate::client::error::{ClientError, ConsumeError};
use crate::client::handler::retry::{self, HandlerError, Origin, RetryPolicy, Stamp};
use crate::client::observe::context::TraceContext;
use crate::client::observe::names;
use crate::client::observe::spans;
use crate::client::publisher::Publisher;
use crate::client::transport::Transport;
use crate::report::{Chain, Quoted, capped_display};

/// How long `run` waits, at its end, for acknowledgements to be sent.
const SETTLE: Duration = Duration::from_secs(30);

/// The longest a message whose move to a retry or dead-letter queue failed
/// is held before it goes back to the queue (at most its retry delay).
const MOVE_PAUSE: Duration = Duration::from_secs(5);

impl<M: Send + 'static> Consumer<M> {
    /// Runs `handler` on every message, at most `concurrency` at once (the
    /// prefetch is raised to at least that, on this connection and the
    /// next ones), until
    /// the consumer is shut down through a [`ShutdownHandle`](crate::client::ShutdownHandle)
    /// taken before, or gives up.
    ///
    /// `Ok` acknowledges the message. An error is retried as the consumer's
    /// [`RetryPolicy`] says ([`ConsumerBuilder::retry`](crate::client::ConsumerBuilder::retry)):
    /// the message comes back after a delay, dispatched exactly like the
    /// original, with [`Message::attempt`] one higher; after the last attempt,
    /// or at once for [`HandlerError::fatal`], it goes to the dead-letter
    /// queue. A handler that panics counts as failed; the consumer goes on.
    /// A message is acknowledged only once its move is confirmed; a move the
    /// broker refuses or routes nowhere (a nack, a retry or dead-letter queue
    /// deleted under the consumer) keeps the message: it goes back to the
    /// queue after its retry delay (at most 5 s) and is tried again with the
    /// same attempt number. The retry and dead-letter queues take the
    /// queue's [`expires`](crate::client::QueueSpec::expires) but not its
    /// [`max_length`](crate::client::QueueSpec::max_length): watch the
    /// dead-letter queue's depth (`pulse dead-letters`).
    /// The message's own [`ack`](Message::ack) and [`reject`](Message::reject)
    /// do nothing in handler mode: the handler's result decides. Deliveries
    /// that no binding decodes are rejected and logged as in the stream.
    ///
    /// A shutdown lets the running handlers finish and their messages be
    /// settled. Returns the [`ClientError::GaveUp`] error if the consumer gave
    /// up reconnecting.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use pulse_binding::Bindings;
    /// use pulse_binding::client::{Consumer, HandlerError, PulseConfig, QueueSpec, RetryPolicy};
    /// use pulse_binding::hooks::{HookChangedMessage, HookCreated};
    ///
    /// # async fn store(_: &HookChangedMessage) -> Result<(), std::io::Error> { Ok(()) }
    /// # async fn service() -> Result<(), Box<dyn std::error::Error>> {
    /// let consumer = Consumer::builder(
    ///     PulseConfig::from_url("amqps://pulse.mozilla.org:5671")?,
    ///     Bindings::new().with(HookCreated::default(), |m: HookChangedMessage| m),
    /// )
    /// .queue(QueueSpec::named("hook-store").max_length(5_000))
    /// .prefetch(16)
    /// .retry(RetryPolicy::new(5).delay(Duration::from_secs(1), Duration::from_secs(60)))
    /// .start()
    /// .await?;
    /// let stop = consumer.shutdown_handle();
    /// tokio::spawn(async move {
    ///     let _ = tokio::signal::ctrl_c().await;
    ///     stop.shutdown();
    /// });
    /// consumer
    ///     .run(16, |message| async move {
    ///         if message.payload.hook_id.is_empty() {
    ///             return Err(HandlerError::fatal("a hook without an id"));
    ///         }
    ///         store(&message.payload).await?; // retried when the store is down
    ///         Ok(())
    ///     })
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F, Fut, E>(mut self, concurrency: usize, handler: F) -> Result<(), ClientError>
    where
        F: Fn(Message<M>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HandlerError> + Send + 'static,
    {
        self.raise_prefetch(concurrency).await;
        let handler = Arc::new(handler);
        let slots = Arc::new(Semaphore::new(concurrency.max(1)));
        let settler = Arc::new(Settler {
            retry: self.retry,
            queue: self.queue.clone(),
            publisher: tokio::sync::OnceCell::new(),
            transport: self.transport.clone(),
            monitor: self.monitor.clone(),
        });
        let mut running = JoinSet::new();
        let mut gave_up = None;
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            // Reap finished handlers as we go.
            while running.try_join_next().is_some() {}
            let message = match self.recv().await {
                None => break,
                Some(Ok(message)) => message,
                Some(Err(ConsumeError::GaveUp(e))) => {
                    gave_up = Some(e);
                    break;
                }
                // Already rejected and logged by the consumer.
                Some(Err(_)) => continue,
            };
            let (handler, settler) = (handler.clone(), settler.clone());
            running.spawn(async move {
                let _slot = slot;
                settler.handle(message, &*handler).await;
            });
        }
        while running.join_next().await.is_some() {}
        if let Some(publisher) = Arc::try_unwrap(settler)
            .ok()
            .and_then(|s| s.publisher.into_inner())
        {
            publisher.close().await;
        }
        self.shutdown(SETTLE).await;
        match gave_up {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<M> Consumer<M> {
    /// Raises the prefetch to at least `concurrency`, now and for the
    /// connections to come, so that that many handlers can have a message.
    async fn raise_prefetch(&self, concurrency: usize) {
        let wanted = u16::try_from(concurrency).unwrap_or(u16::MAX);
        let before = self
            .prefetch
            .fetch_max(wanted, std::sync::atomic::Ordering::SeqCst);
        // 0 is no limit; and a prefetch already high enough stays.
        if before == 0 || before >= wanted {
            if before == 0 {
                self.prefetch.store(0, std::sync::atomic::Ordering::SeqCst);
            }
            return;
        }
        // The broker applies a prefetch to consumers started after it: move
        // to a new connection, make before break.
        self.monitor.renew.notify_one();
    }
}

/// Settles each handled message: acknowledges, retries or dead-letters it.
struct Settler {
    retry: Option<RetryPolicy>,
    queue: String,
    transport: Transport,
    /// Publishes retries and dead letters; connected on first use.
    publisher: tokio::sync::OnceCell<Publisher>,
    /// Counts retries and dead letters, and records handler durations.
    monitor: Arc<Monitor>,
}

impl Settler {
    async fn handle<M, F, Fut, E>(&self, mut message: Message<M>, handler: &F)
    where
        M: Send + 'static,
        F: Fn(Message<M>) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HandlerError> + Send + 'static,
    {
        let detached = message.acker.detached();
        let acker = std::mem::replace(&mut message.acker, detached);
        let retained = message.retained.take();
        let origin = Origin {
            exchange: message.exchange.clone(),
            routing_key: message.routing_key.clone(),
            cc: Vec::new(),
            attempt: message.attempt,
        };
        let span = message.span.0.clone();
        let started = Instant::now();
        // Its own task, so that a panic is caught as a failure.
        let (outcome, failure) = match tokio::spawn(handler(message).instrument(span.clone())).await
        {
            Ok(Ok(())) => (Ok(()), None),
            Ok(Err(e)) => (Err(e.into()), Some(names::error::HANDLER)),
            Err(join) if join.is_panic() => (
                Err(HandlerError::msg(format!(
                    "the handler panicked: {}",
                    panic_text(join.into_panic())
                ))),
                Some(names::error::PANIC),
            ),
            Err(join) => (
                Err(HandlerError::msg(format!(
                    "the handler was cancelled: {join}"
                ))),
                Some(names::error::PANIC),
            ),
        };
        let seconds = started.elapsed().as_secs_f64();
        self.monitor
            .meter
            .processed(&origin.exchange, seconds, failure);
        if let Some(failure) = failure {
            spans::failed(&span, failure);
        }
        let error = match outcome {
            Ok(()) => {
                acker.ack_or_report_lost().await;
                return;
            }
            Err(error) => error,
        };
        let (Some(policy), Some(Retained { body, cc, trace })) = (self.retry, retained) else {
            warn!(exchange = %origin.exchange, routing_key = %Quoted::str(&origin.routing_key), error = %capped_display(&error), "handler failed; the message goes back to the queue");
            let _ = acker.reject(true).await;
            return;
        };
        let origin = Origin { cc, ..origin };
        let last = error.is_fatal() || origin.attempt >= policy.max_attempts();
        let trace = trace.as_ref();
        #[cfg(pulse_wrong = "ack-before-retry-confirmed")]
        let acker = {
            let detached = acker.detached();
            acker.ack_or_report_lost().await;
            detached
        };
        let sent = if last {
            self.dead_letter(&origin, &error, &body, trace)
                .instrument(span.clone())
                .await
        } else {
            let delay = policy.delay_after(origin.attempt);
            warn!(exchange = %origin.exchange, routing_key = %Quoted::str(&origin.routing_key), attempt = origin.attempt, ?delay, error = %capped_display(&error), "handler failed; retrying later");
            let next = Origin {
                attempt: origin.attempt + 1,
                ..origin.clone()
            };
            let stamp = Stamp {
                origin: next,
                error: None,
            };
            self.send(&retry::retry_queue(&self.queue, delay), stamp, &body, trace)
                .instrument(span.clone())
                .await
        };
        match sent {
            Ok(()) => {
                let monitor = &self.monitor;
                match last {
                    true => monitor.record(&monitor.dead_letters, names::DEAD_LETTERS, 1),
                    false => monitor.record(&monitor.retries, names::RETRIES, 1),
                }
                acker.ack_or_report_lost().await;
            }
            Err(e) => {
                // Nothing is lost: it comes again, with the same attempt,
                // after a pause, so that a refusal that lasts (a full
                // dead-letter queue) does not spin.
                let pause = policy.delay_after(origin.attempt).min(MOVE_PAUSE);
                error!(error = %Chain(&e), ?pause, "could not move a failed message aside; it goes back to the queue after a pause");
                tokio::time::sleep(pause).await;
                let _ = acker.reject(true).await;
            }
        }
    }

    async fn dead_letter(
        &self,
        origin: &Origin,
        error: &HandlerError,
        body: &[u8],
        trace: Option<&TraceContext>,
    ) -> Result<(), ClientError> {
        error!(exchange = %origin.exchange, routing_key = %Quoted::str(&origin.routing_key), attempts = origin.attempt, error = %capped_display(&error), "handler failed for good; dead-lettering the message");
        let stamp = Stamp {
            origin: origin.clone(),
            error: Some(error.to_string()),
        };
        self.send(&retry::dead_queue(&self.queue), stamp, body, trace)
            .await
    }

    async fn send(
        &self,
        queue: &str,
        stamp: Stamp,
        body: &[u8],
        trace: Option<&TraceContext>,
    ) -> Result<(), ClientError> {
        let publisher = self
            .publisher
            .get_or_try_init(|| Publisher::open(self.transport.clone()))
            .await?;
        publisher
            .send_stamped("", queue, &[], Some(&stamp), trace, body)
            .await
    }
}

/// A panic's message, if it has one.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(text) => (*text).to_owned(),
            Err(_) => "(no message)".to_owned(),
        },
    }
}
