//! Delayed retries and the dead-letter queue of handler mode:
//! [`RetryPolicy`], [`HandlerError`], and how a failed message is taken out
//! of the way and brought back.
//!
//! ```text
//!                       ┌────────────── after the delay (x-message-ttl, dead-lettered
//!                       │               through the default exchange) ─────────────┐
//!                       ▼                                                          │
//!  exchanges ──▶ queue/<user>/<name> ──▶ handler ──Err──▶ queue/<user>/<name>/retry/<delay>ms
//!                                          │ Ok: ack      (one queue per delay)
//!                                          │
//!                                          └──Err, last attempt or fatal──▶ queue/<user>/<name>/dead
//! ```
//!
//! A failed message is published again, with its original exchange, routing
//! key, CC routes and next attempt number in `x-pulse-*` headers, to the
//! retry queue of its delay, and only then acknowledged. Each retry queue holds
//! messages for its fixed time (`x-message-ttl`), then dead-letters them
//! through the default exchange to the main queue, where the consumer reads
//! the headers and dispatches the message exactly like the original.
//!
//! Nothing is lost on the way, through broker restarts and the death of a
//! cluster node: the retry and dead-letter queues are durable quorum queues
//! that refuse publishes when full, a retry queue dead-letters
//! `at-least-once` (it keeps a message until the main queue has it), and each
//! move is published mandatory and confirmed before the original is
//! acknowledged. A move the broker routes nowhere or refuses fails, and the
//! original goes back to the main queue to be tried again, with the same
//! attempt number. (How these queues are declared, and what becomes of the
//! classic ones pulse-binding 0.1 declared: `side_queues.rs`.)

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// How often and how late a failed message is tried again
/// ([`ConsumerBuilder::retry`](crate::client::ConsumerBuilder::retry)).
///
/// Attempt `n` (from 1) that fails waits `initial * 2^(n-1)`, at most `max`,
/// before attempt `n + 1`; after `max_attempts` failed attempts the message
/// goes to the dead-letter queue. The default delays are 1 s doubling to
/// 5 min.
///
/// ```
/// use std::time::Duration;
/// use pulse_binding::client::RetryPolicy;
///
/// let policy = RetryPolicy::new(5).delay(Duration::from_secs(1), Duration::from_secs(10));
/// assert_eq!(policy.max_attempts(), 5);
/// let delays: Vec<_> = (1..5).map(|n| policy.delay_after(n)).collect();
/// assert_eq!(delays, [1, 2, 4, 8].map(Duration::from_secs));
/// assert_eq!(policy.delay_after(7), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial: Duration,
    max: Duration,
}

impl RetryPolicy {
    /// At most `max_attempts` attempts in all (at least 1: the first delivery).
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }

    /// The delay after the first failure, and the longest delay; whole
    /// milliseconds, at least 1 ms.
    pub fn delay(mut self, initial: Duration, max: Duration) -> Self {
        self.initial = initial.max(Duration::from_millis(1));
        self.max = max.max(self.initial);
        self
    }

    /// The number of attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait after failed attempt `attempt` (from 1).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let delay = self
            .initial
            .checked_mul(1 << doublings)
            .unwrap_or(self.max)
            .min(self.max);
        Duration::from_millis(delay.as_millis().max(1) as u64)
    }

    /// Every delay a message can wait, once each, shortest first.
    pub(crate) fn delays(&self) -> Vec<Duration> {
        let mut delays: Vec<Duration> = (1..self.max_attempts)
            .map(|n| self.delay_after(n))
            .collect();
        delays.dedup();
        delays
    }
}

/// Why a handler failed: any error, and whether retrying can help.
///
/// Any `std::error::Error` converts into one with `?` or `Into`; such a
/// failure is retried. [`HandlerError::fatal`] sends the message to the
/// dead-letter queue at once.
pub struct HandlerError {
    error: Box<dyn Error + Send + Sync + 'static>,
    fatal: bool,
}

impl HandlerError {
    /// A failure that no retry can fix: the message goes to the dead-letter
    /// queue at once.
    pub fn fatal(error: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        Self {
            error: error.into(),
            fatal: true,
        }
    }

    /// A failure worth retrying, with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            error: message.to_string().into(),
            fatal: false,
        }
    }

    /// Whether it skips the retries.
    pub fn is_fatal(&self) -> bool {
        self.fatal
    }

    /// The error.
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.error
    }
}

impl<E: Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self {
            error: Box::new(error),
            fatal: false,
        }
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("error", &self.error)
            .field("fatal", &self.fatal)
            .finish()
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

/// Where a delivery came from before any retry, and which attempt it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) exchange: String,
    pub(crate) routing_key: String,
    pub(crate) cc: Vec<String>,
    pub(crate) attempt: u32,
}

/// What a retried or dead message carries besides its body: its origin, and
/// the last error for a dead one. Sent as `x-pulse-*` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) origin: Origin,
    pub(crate) error: Option<String>,
}

/// The retry queue's name for `delay` next to the main queue `queue`.
pub(crate) fn retry_queue(queue: &str, delay: Duration) -> String {
    format!("{queue}/retry/{}ms", delay.as_millis())
}

/// The dead-letter queue's name next to the main queue `queue`.
pub(crate) fn dead_queue(queue: &str) -> String {
    format!("{queue}/dead")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_and_repeat_once_each() {
        let policy = RetryPolicy::new(6).delay(Duration::from_millis(300), Duration::from_secs(1));
        assert_eq!(
            policy.delays(),
            [300, 600, 1000].map(Duration::from_millis).to_vec()
        );
        assert!(RetryPolicy::new(1).delays().is_empty());
        assert_eq!(RetryPolicy::new(0).max_attempts(), 1);
        assert_eq!(policy.max_attempts(), 6);
    }

    #[test]
    fn any_error_converts_and_fatal_is_kept() {
        let e: HandlerError = std::io::Error::other("db down").into();
        assert!(!e.is_fatal());
        assert_eq!(e.to_string(), "db down");
        let fatal = HandlerError::fatal("bad payload");
        assert!(fatal.is_fatal());
        let shown = format!("{fatal:?}");
        assert!(
            shown.contains("bad payload") && shown.contains("fatal: true"),
            "{shown}"
        );
        assert_eq!(fatal.error().to_string(), "bad payload");
    }

    #[test]
    fn queue_names_sit_next_to_the_main_queue() {
        assert_eq!(
            retry_queue("queue/me/svc", Duration::from_millis(1500)),
            "queue/me/svc/retry/1500ms"
        );
        assert_eq!(dead_queue("queue/me/svc"), "queue/me/svc/dead");
    }
}
