//! The hooks service's prebuilt bindings and their message.

use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted, HookUpdated};
use pulse_binding::prelude::*;
use serde_json::json;

#[test]
fn the_three_exchanges_and_their_default_pattern() {
    let bindings: [(&dyn pulse_binding::DynBinding, &str); 3] = [
        (
            &HookCreated::default(),
            "exchange/taskcluster-hooks/v1/hook-created",
        ),
        (
            &HookUpdated::default(),
            "exchange/taskcluster-hooks/v1/hook-updated",
        ),
        (
            &HookDeleted::default(),
            "exchange/taskcluster-hooks/v1/hook-deleted",
        ),
    ];
    for (binding, exchange) in bindings {
        assert_eq!(binding.exchange_name(), exchange);
        assert_eq!(binding.routing_key(), "#");
        assert!(binding.matches("_"), "the hooks service publishes with `_`");
    }
}

#[test]
fn the_reserved_word_can_be_set_and_read_back() {
    let b = HookCreated {
        reserved: Some("a.b".into()),
    };
    assert_eq!(b.routing_key(), "a.b");
    assert_eq!(HookCreated::from_routing_key("a.b"), Ok(b));
    assert_eq!(
        HookCreated::from_routing_key(""),
        Ok(HookCreated::default())
    );
}

#[test]
fn a_hook_changed_message_decodes_with_both_ids() {
    let m = HookCreated::default()
        .decode(br#"{"hookGroupId": "project-releng", "hookId": "nightly"}"#)
        .unwrap();
    assert_eq!(m.hook_group_id, "project-releng");
    assert_eq!(m.hook_id, "nightly");
    assert!(m.extra.is_empty());
}

#[test]
fn a_message_without_either_id_is_refused() {
    for body in [
        json!({"hookId": "h"}),
        json!({"hookGroupId": "g"}),
        json!({}),
    ] {
        let err = HookUpdated::default()
            .decode(body.to_string().as_bytes())
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("exchange/taskcluster-hooks/v1/hook-updated"),
            "{message}"
        );
        let why = std::error::Error::source(&err).expect("the JSON error");
        assert!(
            why.to_string().contains("missing field"),
            "{message}: {why}"
        );
    }
}

#[test]
fn extra_properties_survive_a_round_trip() {
    let body = json!({
        "hookGroupId": "g",
        "hookId": "h",
        "addedLater": {"nested": [1, 2, 3]},
        "flag": true,
    });
    let m: HookChangedMessage = HookDeleted::default()
        .decode(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(m.extra["flag"], json!(true));
    assert_eq!(serde_json::to_value(&m).unwrap(), body);
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    let b = HookCreated::default();
    for body in [
        &b""[..],
        b"{",
        b"null",
        b"[]",
        b"{\"hookGroupId\": 1, \"hookId\": \"h\"}",
        b"\xff\xfe",
    ] {
        let err = b.decode(body).unwrap_err();
        assert_eq!(err.exchange(), "exchange/taskcluster-hooks/v1/hook-created");
        assert!(err.payload_type().ends_with("HookChangedMessage"));
    }
}
