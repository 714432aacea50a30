//! What one seed draws: the consumer's settings, the messages, what the
//! program does with each, and the faults with their times.

use std::time::Duration;

use pulse_binding::client::{Overflow, QueueSpec, RetryPolicy};

use crate::rng::Rng;

/// How the program consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `Consumer::recv`, acknowledging or requeueing each message itself.
    Stream,
    /// `Consumer::run` with a retry policy.
    Handler {
        concurrency: usize,
        policy: RetryPolicy,
    },
}

/// What the program does with one delivery (one attempt, in handler mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Acknowledges (handler: returns `Ok`) after `delay`.
    Ok { delay: Duration },
    /// Handler: a failure worth retrying. Stream: rejects with requeue.
    Fail,
    /// Handler: a fatal failure.
    Fatal,
    /// Handler: panics.
    Panic,
}

/// A fault and when it strikes (from the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `FakePulse::disconnect_all`.
    Disconnect,
    /// The next `n` publishes are nacked.
    Nack(u32),
    /// The next `n` connection attempts fail (a failing credentials provider).
    FailConnects(u32),
    /// Clean closes forget the settlements of this window before them.
    ForgetAcks(Duration),
    /// The consumer shuts down and a new one starts after this pause.
    Restart(Duration),
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub mode: Mode,
    pub queue: QueueSpec,
    /// Whether the queue drops its oldest when full.
    pub drops: bool,
    pub prefetch: u16,
    pub recycle: Option<Duration>,
    /// Publish times, from the start.
    pub publish_at: Vec<Duration>,
    pub faults: Vec<(Duration, Fault)>,
    /// What happens to each message id's attempts.
    acts: Rng,
}

impl Scenario {
    pub fn draw(seed: u64) -> Self {
        let root = Rng::new(seed);
        let mut rng = root.fork(1);
        let mode = if rng.chance(50) {
            Mode::Stream
        } else {
            let attempts = rng.range(1, 4) as u32;
            let delay = Duration::from_millis(rng.range(5, 60));
            Mode::Handler {
                concurrency: rng.range(1, 4) as usize,
                policy: RetryPolicy::new(attempts).delay(delay, delay * 4),
            }
        };
        let mut queue = QueueSpec::named("sim").quorum(rng.chance(70));
        let mut drops = false;
        match rng.range(0, 9) {
            0 => {
                let max = rng.range(3, 12);
                queue = queue
                    .max_length(max as u32)
                    .overflow(Overflow::RejectPublish);
            }
            1 => {
                let max = rng.range(3, 12);
                queue = queue.max_length(max as u32).overflow(Overflow::DropHead);
                drops = true;
            }
            _ => {}
        }
        let prefetch = rng.range(1, 8) as u16;
        let recycle = rng
            .chance(25)
            .then(|| Duration::from_millis(rng.range(100, 1_000)));
        let messages = rng.range(5, 40);
        let mut at = Duration::ZERO;
        let publish_at = (0..messages)
            .map(|_| {
                at += Duration::from_millis(rng.range(0, 40));
                at
            })
            .collect();
        let span = at.as_millis() as u64 + 200;
        let mut faults: Vec<(Duration, Fault)> = (0..rng.range(0, 6))
            .map(|_| {
                let when = Duration::from_millis(rng.range(0, span));
                let fault = match rng.range(0, 5) {
                    0 | 1 => Fault::Disconnect,
                    2 => Fault::Nack(rng.range(1, 3) as u32),
                    3 => Fault::FailConnects(rng.range(1, 3) as u32),
                    4 => Fault::ForgetAcks(Duration::from_millis(rng.range(0, 150))),
                    _ => Fault::Restart(Duration::from_millis(rng.range(0, 200))),
                };
                (when, fault)
            })
            .collect();
        if rng.chance(20) {
            faults.push((
                Duration::from_millis(rng.range(0, span)),
                Fault::Restart(Duration::from_millis(rng.range(0, 200))),
            ));
        }
        faults.sort_by_key(|(when, _)| *when);
        Self {
            seed,
            mode,
            queue,
            drops,
            prefetch,
            recycle,
            publish_at,
            faults,
            acts: root.fork(2),
        }
    }

    /// What the program does with attempt `attempt` (from 1) of message `id`,
    /// or with its `attempt`-th delivery in stream mode.
    pub fn act(&self, id: u64, attempt: u32) -> Act {
        let mut rng = self.acts.fork(id << 8 | u64::from(attempt.min(255)));
        let delay = Duration::from_millis(if rng.chance(30) { rng.range(1, 120) } else { 0 });
        match rng.range(0, 99) {
            0..=69 => Act::Ok { delay },
            70..=84 => Act::Fail,
            85..=92 => Act::Fatal,
            _ => Act::Panic,
        }
    }

    /// In handler mode, how message `id` ends if nothing interferes: the
    /// attempt that succeeds (`Ok`), or the attempt it is dead-lettered
    /// after, with its error.
    pub fn fate(&self, id: u64) -> Fate {
        let Mode::Handler { policy, .. } = self.mode else {
            return Fate::Handled;
        };
        for attempt in 1..=policy.max_attempts() {
            match self.act(id, attempt) {
                Act::Ok { .. } => return Fate::Handled,
                Act::Fatal => {
                    return Fate::Dead {
                        attempt,
                        error: error_text(id, attempt, Act::Fatal),
                    };
                }
                act if attempt == policy.max_attempts() => {
                    return Fate::Dead {
                        attempt,
                        error: error_text(id, attempt, act),
                    };
                }
                _ => {}
            }
        }
        unreachable!("the last attempt ends it")
    }
}

/// How a message ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Handled,
    Dead { attempt: u32, error: String },
}

/// The text of the handler's error for a failed attempt.
pub fn error_text(id: u64, attempt: u32, act: Act) -> String {
    match act {
        Act::Panic => format!("the handler panicked: panic {id}/{attempt}"),
        _ => format!("fail {id}/{attempt}"),
    }
}
