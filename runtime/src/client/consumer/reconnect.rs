//! How a consumer retries after losing its connection: [`Reconnect`].

use std::time::Duration;

/// Exponential backoff between reconnection attempts, and when to give up.
///
/// The n-th attempt after a loss waits `initial * 2^(n-1)`, at most `max`.
/// After `max_attempts` failed attempts in a row the consumer gives up: its
/// stream yields [`ConsumeError::GaveUp`](crate::client::ConsumeError::GaveUp) and
/// ends. A successful reconnection starts the count again.
///
/// The default waits 0.2 s, 0.4 s, ... up to 30 s, and gives up after 30
/// attempts in a row (about 12 minutes without a broker).
///
/// ```
/// use std::time::Duration;
/// use pulse_binding::client::Reconnect;
///
/// let policy = Reconnect::default()
///     .initial_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(2))
///     .max_attempts(5);
/// assert_eq!(policy.delay(1), Duration::from_millis(100));
/// assert_eq!(policy.delay(3), Duration::from_millis(400));
/// assert_eq!(policy.delay(10), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    initial: Duration,
    max: Duration,
    max_attempts: u32,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(30),
            max_attempts: 30,
        }
    }
}

impl Reconnect {
    /// The wait before the first attempt.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial = delay;
        self
    }

    /// The longest wait between attempts.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max = delay;
        self
    }

    /// How many failed attempts in a row before giving up; 0 never reconnects.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The limit set by [`max_attempts`](Self::max_attempts).
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait before attempt `attempt` (counting from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }
}
