//! The routing-key pattern a derived binding writes.

use pulse_binding::prelude::*;

#[derive(PulseBinding, Default, Debug, PartialEq)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct TaskCompleted {
    #[mwords(constant = "primary")]
    routing_key_kind: Option<String>,
    #[mwords("*")]
    task_id: Option<String>,
    #[mwords("*")]
    run_id: Option<u32>,
    #[mwords("#")]
    reserved: Option<String>,
    note: String,
}

#[test]
fn unset_fields_give_their_wildcard_or_fixed_word() {
    let b = TaskCompleted::default();
    assert_eq!(b.routing_key(), "primary.*.*.#");
    assert_eq!(
        b.exchange_name(),
        "exchange/taskcluster-queue/v1/task-completed"
    );
    let b = TaskCompleted {
        task_id: Some("abc".into()),
        run_id: Some(3),
        ..Default::default()
    };
    assert_eq!(b.routing_key(), "primary.abc.3.#");
    assert!(b.matches("primary.abc.3._"));
    assert!(!b.matches("primary.abd.3._"));
    let parsed = TaskCompleted::from_routing_key("primary.abc.3.x.y").unwrap();
    assert_eq!(parsed.reserved.as_deref(), Some("x.y"));
}
