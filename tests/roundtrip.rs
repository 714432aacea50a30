//! Properties over random values: a binding whose every word is set reads back
//! from its own routing key, and matches it.

use proptest::prelude::*;
use pulse_binding::prelude::*;

#[derive(PulseBinding, Debug, Clone, PartialEq)]
#[exchange = "exchange/taskcluster-queue/v1/task-defined"]
struct TaskDefined {
    #[mwords(constant = "primary")]
    routing_key_kind: Option<String>,
    #[mwords("*")]
    task_id: Option<String>,
    #[mwords("*")]
    run_id: Option<u32>,
    #[mwords("*")]
    worker_group: String,
    #[mwords("#")]
    reserved: Option<String>,
    #[mwords("*")]
    after: i64,
}

/// A non-empty single word: anything but `.`.
fn word() -> impl Strategy<Value = String> {
    "[^.]{1,12}"
}

/// One or more non-empty words joined with `.`.
fn words() -> impl Strategy<Value = String> {
    proptest::collection::vec(word(), 1..5).prop_map(|w| w.join("."))
}

fn binding() -> impl Strategy<Value = TaskDefined> {
    (word(), any::<u32>(), word(), words(), any::<i64>()).prop_map(
        |(task_id, run_id, worker_group, reserved, after)| TaskDefined {
            routing_key_kind: Some("primary".into()),
            task_id: Some(task_id),
            run_id: Some(run_id),
            worker_group,
            reserved: Some(reserved),
            after,
        },
    )
}

proptest! {
    #[test]
    fn from_routing_key_gives_back_a_fully_set_binding(b in binding()) {
        let key = b.routing_key();
        prop_assert_eq!(TaskDefined::from_routing_key(&key), Ok(b.clone()));
    }

    #[test]
    fn a_binding_matches_its_own_routing_key(b in binding()) {
        prop_assert!(b.matches(&b.routing_key()));
    }

    #[test]
    fn checked_and_unchecked_patterns_agree_when_valid(b in binding()) {
        let key = b.routing_key();
        if key.len() <= 255 && !key.split('.').any(|w| w == "#") {
            prop_assert_eq!(b.try_routing_key(), Ok(key));
        }
    }

    #[test]
    fn matches_agrees_with_topic_matches_on_the_pattern(b in binding(), key in "[a-z*#.]{0,20}") {
        prop_assert_eq!(b.matches(&key), pulse_binding::topic_matches(&b.routing_key(), &key));
    }
}
