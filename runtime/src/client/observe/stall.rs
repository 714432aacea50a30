//! The stalled-consumer alarm: at each backlog reading, a queue that holds
//! messages while no delivery arrived for
//! [`stall_after`](crate::client::ConsumerBuilder::stall_after) is a stall
//! (a handler that hangs with the prefetch full, a consumer the broker
//! stopped serving). Reported once per stall; a delivery or an empty queue
//! ends it.

use std::time::Duration;

use tokio::time::Instant;

/// The stall state of one consumer's readings.
#[derive(Debug)]
pub(crate) struct StallWatch {
    after: Duration,
    /// The last delivery the current stall was reported for.
    reported: Option<Instant>,
}

/// A stall that began: report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stalled {
    pub(crate) messages: u32,
    /// How long ago the last delivery arrived.
    pub(crate) age: Duration,
}

impl StallWatch {
    pub(crate) fn new(after: Duration) -> Self {
        Self {
            after,
            reported: None,
        }
    }

    /// A reading of `messages` ready at `now`, the last delivery (or the
    /// start) having come at `last`: the stall to report, if one begins.
    pub(crate) fn reading(
        &mut self,
        messages: u32,
        last: Instant,
        now: Instant,
    ) -> Option<Stalled> {
        let age = now.saturating_duration_since(last);
        if messages == 0 || age < self.after {
            self.reported = None;
            return None;
        }
        if self.reported == Some(last) {
            return None;
        }
        self.reported = Some(last);
        Some(Stalled { messages, age })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_is_reported_once_and_ends_with_a_delivery_or_an_empty_queue() {
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        let mut watch = StallWatch::new(Duration::from_secs(60));
        // Messages wait, but a delivery came recently: no stall.
        assert_eq!(watch.reading(5, start, at(59)), None);
        let stalled = watch.reading(5, start, at(60)).expect("a stall");
        assert_eq!(
            stalled,
            Stalled {
                messages: 5,
                age: Duration::from_secs(60)
            }
        );
        // Once per stall.
        assert_eq!(watch.reading(7, start, at(120)), None);
        // A delivery ends it; the next stall is reported again.
        assert_eq!(watch.reading(7, at(121), at(130)), None);
        assert!(watch.reading(7, at(121), at(181)).is_some());
        // An empty queue is no stall, however long since the last delivery.
        assert_eq!(watch.reading(0, at(121), at(1000)), None);
        assert!(watch.reading(1, at(121), at(1001)).is_some());
    }
}
