//! How many allocations the derived methods make, counted by a global
//! allocator: `routing_key` makes exactly one, `matches` none.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use pulse_binding::prelude::*;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    (r, ALLOCATIONS.with(Cell::get) - before)
}

/// Ten words, like Taskcluster's `task-defined`, with integers and a
/// multi-word value to make the key's length hard to guess.
#[derive(PulseBinding, Default)]
#[exchange = "exchange/taskcluster-queue/v1/task-defined"]
struct TaskDefined {
    #[mwords(constant = "primary")]
    routing_key_kind: Option<String>,
    #[mwords("*")]
    task_id: Option<String>,
    #[mwords("*")]
    run_id: Option<u32>,
    #[mwords("*")]
    worker_group: Option<String>,
    #[mwords("*")]
    worker_id: Option<i64>,
    #[mwords("*")]
    provisioner_id: String,
    #[mwords("*")]
    worker_type: Option<String>,
    #[mwords("*")]
    scheduler_id: Option<String>,
    #[mwords("*")]
    task_group_id: Option<String>,
    #[mwords("#")]
    reserved: Option<String>,
}

fn samples() -> Vec<TaskDefined> {
    vec![
        TaskDefined::default(),
        TaskDefined {
            task_id: Some("fJ8bZ2qdQpqxkM8nM1Y2yg".into()),
            run_id: Some(u32::MAX),
            worker_id: Some(i64::MIN),
            provisioner_id: "proj-releng".into(),
            reserved: Some("a.b.c.d.e.f".into()),
            ..Default::default()
        },
        TaskDefined {
            reserved: Some("x".repeat(300)),
            ..Default::default()
        },
    ]
}

#[test]
fn routing_key_makes_exactly_one_allocation() {
    for b in samples() {
        let (key, n) = allocations(|| b.routing_key());
        assert_eq!(n, 1, "{key}");
        let (key, n) = allocations(|| b.try_routing_key());
        assert!(n == 1 || key.is_err(), "{key:?}");
    }
}

#[test]
fn matches_allocates_nothing() {
    let key = "primary.fJ8bZ2qdQpqxkM8nM1Y2yg.4294967295.wg.-9223372036854775808.proj-releng.wt.s.tg.a.b.c.d.e.f";
    let samples = samples();
    for (b, expected) in samples.iter().zip([true, true, false]) {
        let (matched, n) = allocations(|| b.matches(key));
        assert_eq!(matched, expected);
        assert_eq!(n, 0);
    }
    // Even a pattern too long to bind is matched in place.
    let long_key = format!("primary.a.1.b.2.c.d.e.f.{}", "x".repeat(300));
    let (matched, n) = allocations(|| samples[2].matches(&long_key));
    assert!(matched);
    assert_eq!(n, 0);
}

/// A payload type decodes its named properties straight into their fields
/// and keeps the others without buffering the object first: the allocations
/// are its strings and what keeping the unknown property takes, whose
/// count is measured here against a plain `serde_json::Value` of it.
#[test]
fn a_payload_decodes_without_buffering_the_object() {
    use pulse_binding::hooks::HookChangedMessage;
    const KNOWN: &[u8] = br#"{"hookGroupId": "project-releng", "hookId": "nightly-l10n-signing"}"#;
    const UNKNOWN: &[u8] = br#"{"extra": {"reason": "updated by ci"}}"#;
    const BOTH: &[u8] = br#"{"hookGroupId": "project-releng", "hookId": "nightly-l10n-signing", "extra": {"reason": "updated by ci"}}"#;
    let (known, n) = allocations(|| serde_json::from_slice::<HookChangedMessage>(KNOWN));
    assert!(known.unwrap().extra.is_empty());
    assert_eq!(n, 2, "one per string");
    // The unknown property as a map of its own: what keeping it costs.
    let (value, kept) = allocations(|| {
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(UNKNOWN)
    });
    value.unwrap();
    let (both, n) = allocations(|| serde_json::from_slice::<HookChangedMessage>(BOTH));
    assert_eq!(both.unwrap().extra["extra"]["reason"], "updated by ci");
    assert_eq!(
        n,
        2 + kept,
        "the strings and the kept property, nothing more"
    );
}
