//! The invariants every seed must keep.

use std::collections::BTreeMap;

use crate::scenario::{Fate, Mode, Scenario};
use crate::world::Outcome;

/// The first invariant `outcome` breaks, in words.
pub fn check(scenario: &Scenario, o: &Outcome) -> Result<(), String> {
    // Nothing confirmed disappears: handled, still queued, dead, or dropped
    // by a full drop-head queue (which is what drop-head is for).
    for id in &o.confirmed {
        let somewhere = o.ok.contains_key(id)
            || o.ready.contains(id)
            || o.waiting.contains(id)
            || o.dead.iter().any(|(d, _, _)| d == id)
            || (scenario.drops && o.dropped.contains(id));
        if !somewhere {
            return Err(format!("confirmed message {id} disappeared"));
        }
    }
    if !scenario.drops && !o.dropped.is_empty() {
        return Err(format!("a queue without drop-head dropped {:?}", o.dropped));
    }
    if !o.settled {
        return Err("not every confirmed message was settled within 120 s of quiet".into());
    }
    if o.unacked != 0 {
        return Err(format!(
            "{} message(s) still unacknowledged at the end",
            o.unacked
        ));
    }
    // An acknowledged message comes back only as often as acknowledgements
    // were reported lost.
    if o.after_ok > o.lost_acks {
        return Err(format!(
            "{} deliveries of messages already handled, but only {} acknowledgement(s) reported lost",
            o.after_ok, o.lost_acks
        ));
    }
    if o.timed_out != 0 {
        return Err(format!(
            "{} message(s) unsettled at a shutdown's timeout",
            o.timed_out
        ));
    }
    let Mode::Handler { policy, .. } = scenario.mode else {
        return Ok(());
    };
    for (id, attempts) in &o.attempts {
        if let Some(over) = attempts.iter().find(|a| **a > policy.max_attempts()) {
            return Err(format!(
                "message {id} had attempt {over}, over the policy's {}",
                policy.max_attempts()
            ));
        }
    }
    // Dead letters are exactly the messages that failed for good, each with
    // its last error; one is dead twice only after a lost acknowledgement.
    let mut dead: BTreeMap<u64, u64> = BTreeMap::new();
    for (id, attempt, error) in &o.dead {
        match scenario.fate(*id) {
            Fate::Dead {
                attempt: expected,
                error: text,
            } if (expected, &text) == (*attempt, error) => {}
            fate => {
                return Err(format!(
                    "dead letter {id} (attempt {attempt}, {error:?}) but its fate is {fate:?}"
                ));
            }
        }
        *dead.entry(*id).or_default() += 1;
    }
    let twice: u64 = dead.values().map(|n| n - 1).sum();
    if twice > o.lost_acks {
        return Err(format!(
            "{twice} duplicate dead letter(s), but only {} acknowledgement(s) reported lost",
            o.lost_acks
        ));
    }
    for id in &o.confirmed {
        let expected = scenario.fate(*id);
        // Dropped by a full drop-head queue.
        let gone = scenario.drops && o.dropped.contains(id);
        match expected {
            Fate::Dead { .. } if !dead.contains_key(id) && !gone => {
                return Err(format!(
                    "message {id} should be dead ({expected:?}) and is not"
                ));
            }
            Fate::Handled if !o.ok.contains_key(id) && !gone => {
                return Err(format!("message {id} should have been handled and was not"));
            }
            _ => {}
        }
    }
    Ok(())
}
