//! Run-time bindings, and bindings of different types in one list.

use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted};
use pulse_binding::prelude::*;
use pulse_binding::{Binding, Bindings, DispatchError, DynBinding, RoutingKeyError};

const HOOK: &[u8] = br#"{"hookGroupId": "g", "hookId": "h"}"#;

#[test]
fn a_run_time_binding_takes_the_exchange_first() {
    let b = Binding::new(
        "exchange/taskcluster-queue/v1/task-completed",
        "route.index.#",
    );
    assert_eq!(
        b.exchange_name(),
        "exchange/taskcluster-queue/v1/task-completed"
    );
    assert_eq!(b.routing_key(), "route.index.#");
    assert!(b.matches("route.index.a.b"));
    assert!(!b.matches("primary.a"));
    assert_eq!(b.decode(b"{\"a\": 1}").unwrap()["a"], 1);
    assert!(b.decode(b"{").is_err());
}

#[test]
fn a_run_time_binding_checks_its_pattern() {
    let long = Binding::new("exchange/x", "a".repeat(256));
    assert!(matches!(
        long.try_routing_key(),
        Err(RoutingKeyError::TooLong { len: 256, .. })
    ));
    let hashes = Binding::new("exchange/x", "#.a.#.b.#");
    assert!(matches!(
        hashes.try_routing_key(),
        Err(RoutingKeyError::TooManyHashes { count: 3, .. })
    ));
    assert_eq!(
        Binding::new("exchange/x", "a.*").try_routing_key().unwrap(),
        "a.*"
    );
}

#[test]
fn bindings_of_different_types_share_a_list() {
    let list: Vec<Box<dyn DynBinding>> = vec![
        Box::new(HookCreated::default()),
        Box::new(Binding::new(
            "exchange/taskcluster-queue/v1/task-completed",
            "primary.#",
        )),
    ];
    let hook = list[0].decode_any(HOOK).unwrap();
    assert_eq!(
        hook.downcast_ref::<HookChangedMessage>().unwrap().hook_id,
        "h"
    );
    let value = list[1].decode_any(b"[1]").unwrap();
    assert_eq!(
        *value.downcast::<serde_json::Value>().unwrap(),
        serde_json::json!([1])
    );
    assert!(list[0].payload_type_name().ends_with("HookChangedMessage"));
    assert!(list[0].key_words().is_some());
    assert!(list[1].key_words().is_none());
}

#[derive(Debug, PartialEq)]
enum Event {
    Created(HookChangedMessage),
    Deleted(HookDeleted, HookChangedMessage),
    Other(serde_json::Value),
}

fn event_bindings() -> Bindings<Event> {
    Bindings::new()
        .with(HookCreated::default(), Event::Created)
        .with_key(HookDeleted::default(), Event::Deleted)
        .with(
            Binding::new(
                "exchange/taskcluster-queue/v1/task-completed",
                "route.index.#",
            ),
            Event::Other,
        )
}

#[test]
fn each_delivery_is_decoded_with_its_own_binding() {
    let bindings = event_bindings();
    assert_eq!(bindings.len(), 3);
    let created = bindings
        .dispatch("exchange/taskcluster-hooks/v1/hook-created", "_", HOOK)
        .unwrap();
    assert!(matches!(created, Event::Created(m) if m.hook_group_id == "g"));
    let deleted = bindings
        .dispatch("exchange/taskcluster-hooks/v1/hook-deleted", "_", HOOK)
        .unwrap();
    assert!(matches!(deleted, Event::Deleted(HookDeleted { reserved: Some(r) }, _) if r == "_"));
}

#[test]
fn an_unknown_exchange_or_an_unmatched_key_is_an_error() {
    let bindings = event_bindings();
    let err = bindings
        .dispatch("exchange/elsewhere", "_", HOOK)
        .unwrap_err();
    assert!(
        matches!(err, DispatchError::NoBinding { ref exchange, .. } if exchange == "exchange/elsewhere")
    );
    let err = bindings
        .dispatch(
            "exchange/taskcluster-queue/v1/task-completed",
            "primary.abc",
            b"{}",
        )
        .unwrap_err();
    assert!(err.to_string().contains("primary.abc"), "{err}");
}

#[test]
fn a_body_that_does_not_decode_is_an_error_naming_the_exchange() {
    let err = event_bindings()
        .dispatch(
            "exchange/taskcluster-hooks/v1/hook-created",
            "_",
            b"{\"hookId\": 1}",
        )
        .unwrap_err();
    assert!(matches!(err, DispatchError::Decode(_)));
    assert!(err.to_string().contains("hook-created"), "{err}");
}

#[test]
fn cc_routes_find_the_binding_too() {
    let bindings = event_bindings();
    let exchange = "exchange/taskcluster-queue/v1/task-completed";
    let key = "primary.abc.0.wg.w.prov.wt.sched.tg._";
    assert!(bindings.find(exchange, key).is_none());
    let event = bindings
        .dispatch_routed(exchange, key, &["route.index.gecko.latest"], b"{\"x\": 1}")
        .unwrap();
    assert_eq!(event, Event::Other(serde_json::json!({"x": 1})));
}

#[test]
fn the_list_shows_its_bindings_and_which_one_a_delivery_takes() {
    let bindings = event_bindings();
    let exchanges: Vec<&str> = bindings.iter().map(|b| b.exchange_name()).collect();
    assert_eq!(
        exchanges,
        [
            "exchange/taskcluster-hooks/v1/hook-created",
            "exchange/taskcluster-hooks/v1/hook-deleted",
            "exchange/taskcluster-queue/v1/task-completed",
        ]
    );
    let route = bindings
        .route(
            "exchange/taskcluster-hooks/v1/hook-deleted",
            "_",
            &[] as &[&str],
        )
        .unwrap();
    assert_eq!(route.index(), 1);
    assert_eq!(route.binding().key_words().unwrap()[0].name, "reserved");
    assert!(matches!(route.decode("_", HOOK), Ok(Event::Deleted(..))));
    assert!(
        bindings
            .route("exchange/elsewhere", "_", &[] as &[&str])
            .is_none()
    );
}
