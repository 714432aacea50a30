//! Faults the fake injects on request ([`FakePulse`](crate::testing::FakePulse)'s
//! `nack_publishes`, `fail_connects`, `forget_acks_at_close`), for tests and
//! the deterministic simulation (`tests/sim/`).

use std::time::Duration;

use tokio::time::Instant;

use super::{Broker, Conn, Held};

/// What the broker is asked to do wrong.
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// How many of the next publishes to nack without taking them.
    pub(super) nack_publishes: u32,
    /// How many of the next connection attempts to fail.
    pub(super) fail_connects: u32,
    /// Acknowledgements (and discards) applied this long or less before a
    /// connection's clean close are undone by it: the messages go back to
    /// their queues, marked redelivered. RabbitMQ 3.10's quorum queues do
    /// this to settlements they held back while the queue was busy.
    pub(super) forget_acks: Option<Duration>,
}

impl Faults {
    /// Takes one of the faults `which` counts, if any is left.
    pub(super) fn take(&mut self, which: impl FnOnce(&mut Self) -> &mut u32) -> bool {
        let left = which(self);
        if *left == 0 {
            return false;
        }
        *left -= 1;
        true
    }
}

/// Keeps a settled delivery of `conn` for `window`, so that a close may
/// forget its settlement.
pub(super) fn remember(conn: &mut Conn, held: Held, window: Duration) {
    let now = Instant::now();
    conn.settled
        .retain(|(at, _)| now.duration_since(*at) <= window);
    conn.settled.push((now, held));
}

/// The settled deliveries a clean close forgets: those settled within
/// `window` of now.
pub(super) fn forgotten(settled: Vec<(Instant, Held)>, window: Duration) -> Vec<Held> {
    let now = Instant::now();
    settled
        .into_iter()
        .filter(|(at, _)| now.duration_since(*at) <= window)
        .map(|(_, held)| held)
        .collect()
}

impl Broker {
    /// Nacks the next `count` publishes (retries and dead letters included)
    /// without taking them.
    pub(crate) fn nack_publishes(&self, count: u32) {
        self.lock().faults.nack_publishes += count;
    }

    /// Fails the next `count` connection attempts, as a failing credentials
    /// provider would.
    pub(crate) fn fail_connects(&self, count: u32) {
        self.lock().faults.fail_connects += count;
    }

    /// Forgets, at a connection's clean close, the settlements applied
    /// within `window` before it (`None`: forgets nothing).
    pub(crate) fn forget_acks_at_close(&self, window: Option<Duration>) {
        self.lock().faults.forget_acks = window;
    }
}
