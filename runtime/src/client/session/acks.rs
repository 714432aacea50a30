//! Acknowledgements that coalesce: each message is acknowledged on its own
//! for the program, while the broker gets one cumulative `basic.ack`
//! (`multiple`) for the longest run of settled delivery tags.
//!
//! Delivery tags on a channel count up from 1 in delivery order, and a
//! cumulative acknowledgement of tag `t` acknowledges every unacknowledged
//! delivery up to `t`. So one is sent only up to the end of a run of tags that
//! are all settled: acknowledged by the program (and not sent yet), or
//! already settled with the broker (rejected, or acknowledged on their own).
//! A message the program has not acknowledged ends the run, so it is never
//! acknowledged by another's acknowledgement. Acknowledgements past such a
//! gap wait for it to close for a short while, then go one by one, so that
//! one slow message never holds back the prefetch window.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How long an acknowledgement may wait to be sent with others.
pub(crate) const FLUSH_DELAY: Duration = Duration::from_millis(2);
/// How long acknowledgements past a gap wait before they go one by one.
const GAP_WAIT: Duration = Duration::from_millis(20);

/// What a flush sends.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Flush {
    /// A cumulative acknowledgement up to this tag, and how many messages it
    /// acknowledges that the program acknowledged. The tag is always one the
    /// program acknowledged: the broker refuses a cumulative acknowledgement
    /// whose own tag is settled already (`PRECONDITION_FAILED`).
    pub(crate) multiple: Option<(u64, u64)>,
    /// Tags to acknowledge one by one.
    pub(crate) singles: Vec<u64>,
}

impl Flush {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.multiple.is_none() && self.singles.is_empty()
    }
}

/// The delivery tags of one channel and what became of them.
#[derive(Debug, Default)]
pub(crate) struct Acks {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Every tag up to here is settled with the broker.
    floor: u64,
    /// Acknowledged by the program, not sent yet (all above `floor`).
    pending: BTreeSet<u64>,
    /// Settled with the broker on their own (all above `floor`).
    settled: BTreeSet<u64>,
    /// Since when acknowledgements have waited past a gap.
    waiting_since: Option<Instant>,
}

impl Acks {
    /// The program acknowledged `tag`; returns how many wait to be sent.
    pub(crate) fn acked(&self, tag: u64) -> usize {
        let mut state = self.lock();
        state.pending.insert(tag);
        state.pending.len()
    }

    /// `tag` was settled with the broker on its own (rejected, or sent as a
    /// single acknowledgement).
    pub(crate) fn settled(&self, tag: u64) {
        let mut state = self.lock();
        if tag > state.floor {
            state.settled.insert(tag);
        }
    }

    /// Whether acknowledgements wait to be sent.
    pub(crate) fn has_pending(&self) -> bool {
        !self.lock().pending.is_empty()
    }

    /// What to send now: the cumulative acknowledgement of the settled run,
    /// and, when `all` is set or they have waited past a gap long enough, the
    /// acknowledgements beyond it one by one. The caller sends them and then
    /// reports single ones with [`settled`](Self::settled).
    pub(crate) fn take(&self, all: bool, now: Instant) -> Flush {
        let mut state = self.lock();
        let (mut acked, mut last_acked) = (0, 0);
        let mut top = state.floor;
        loop {
            let next = top + 1;
            if state.pending.remove(&next) {
                acked += 1;
                last_acked = next;
            } else if !state.settled.remove(&next) {
                break;
            }
            top = next;
        }
        // Up to the last acknowledged tag; settled tags past it only move the
        // floor, and a run of settled tags alone needs no acknowledgement.
        let multiple = (acked > 0).then_some((last_acked, acked));
        state.floor = top;
        let overdue = state
            .waiting_since
            .is_some_and(|since| now.duration_since(since) >= GAP_WAIT);
        let singles = if all || overdue {
            std::mem::take(&mut state.pending).into_iter().collect()
        } else {
            Vec::new()
        };
        state.waiting_since = match (state.pending.is_empty(), state.waiting_since) {
            (true, _) => None,
            (false, Some(since)) => Some(since),
            (false, None) => Some(now),
        };
        Flush { multiple, singles }
    }

    /// How many tags it keeps track of above the floor.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        let state = self.lock();
        state.pending.len() + state.settled.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(acks: &Acks, all: bool) -> Flush {
        acks.take(all, Instant::now())
    }

    #[test]
    fn a_contiguous_run_is_one_cumulative_acknowledgement() {
        let acks = Acks::default();
        for tag in [3, 1, 2] {
            acks.acked(tag);
        }
        assert_eq!(
            take(&acks, false),
            Flush {
                multiple: Some((3, 3)),
                singles: vec![]
            }
        );
        assert!(take(&acks, false).is_empty());
    }

    #[test]
    fn an_unacknowledged_message_ends_the_run() {
        let acks = Acks::default();
        for tag in [1, 2, 4, 5] {
            acks.acked(tag);
        }
        let flush = take(&acks, false);
        assert_eq!(flush.multiple, Some((2, 2)));
        assert!(flush.singles.is_empty(), "4 and 5 wait for 3");
        assert!(acks.has_pending());
        acks.acked(3);
        assert_eq!(take(&acks, false).multiple, Some((5, 3)));
        assert!(!acks.has_pending());
    }

    #[test]
    fn rejected_tags_join_the_run_without_being_acknowledged_twice() {
        let acks = Acks::default();
        acks.acked(1);
        acks.settled(2);
        acks.acked(3);
        assert_eq!(take(&acks, false).multiple, Some((3, 2)));
        // A run of rejected tags alone sends nothing, but moves the floor.
        acks.settled(4);
        acks.settled(5);
        assert!(take(&acks, false).is_empty());
        acks.acked(6);
        assert_eq!(take(&acks, false).multiple, Some((6, 1)));
    }

    #[test]
    fn a_tag_the_floor_has_passed_is_not_kept() {
        let acks = Acks::default();
        acks.acked(1);
        acks.acked(2);
        assert_eq!(take(&acks, false).multiple, Some((2, 2)));
        // A late report for a tag at or below the floor keeps nothing.
        acks.settled(2);
        acks.settled(1);
        assert_eq!(acks.tracked(), 0);
        acks.settled(3);
        assert_eq!(acks.tracked(), 1);
    }

    #[test]
    fn the_cumulative_tag_is_never_a_settled_one() {
        let acks = Acks::default();
        acks.acked(3);
        acks.settled(4);
        acks.settled(5);
        assert!(take(&acks, false).multiple.is_none(), "3 waits for 1 and 2");
        acks.settled(1);
        acks.settled(2);
        assert_eq!(take(&acks, false).multiple, Some((3, 1)));
        acks.acked(6);
        assert_eq!(
            take(&acks, false).multiple,
            Some((6, 1)),
            "the floor passed 4 and 5"
        );
    }

    #[test]
    fn acknowledgements_past_a_gap_go_one_by_one_when_forced_or_overdue() {
        let acks = Acks::default();
        acks.acked(2);
        acks.acked(3);
        let start = Instant::now();
        assert!(acks.take(false, start).is_empty());
        assert!(acks.take(false, start + GAP_WAIT / 2).is_empty());
        let overdue = acks.take(false, start + GAP_WAIT);
        assert_eq!(overdue.singles, vec![2, 3]);
        assert_eq!(overdue.multiple, None);
        // Sent on their own, they count as settled when the gap closes.
        acks.settled(2);
        acks.settled(3);
        acks.acked(1);
        assert_eq!(take(&acks, false).multiple, Some((1, 1)));

        acks.acked(5);
        assert_eq!(take(&acks, true).singles, vec![5]);
    }
}
