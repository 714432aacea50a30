//! The routing-key pattern a derived binding writes, checked or not, and
//! whether it matches a concrete key.

use pulse_binding::prelude::*;
use pulse_binding::{KeyWord, RoutingKeyError, WordKind};
use pulse_binding_tests::{TaskCompleted, TwoHashes};

#[derive(PulseBinding, Default)]
#[exchange = "exchange/test/v1/plain-strings"]
struct PlainStrings {
    #[mwords("*")]
    a: String,
    #[mwords("#")]
    b: String,
    #[mwords("*")]
    c: i64,
}

/// 255 bytes, AMQP's limit for an exchange name: accepted (256 is a compile
/// error, `tests/ui/exchange/too-long.rs`).
#[derive(PulseBinding, Default)]
#[exchange = "exchange/taskcluster-queue/v1/ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééx"]
struct LongestExchange {
    #[mwords("#")]
    reserved: Option<String>,
}

#[test]
fn an_exchange_name_of_255_bytes_is_accepted() {
    let b = LongestExchange::default();
    assert_eq!(b.exchange_name().len(), 255);
    assert_eq!(b.routing_key(), "#");
}

#[test]
fn unset_fields_give_their_wildcard_or_fixed_word() {
    let b = TaskCompleted::default();
    assert_eq!(b.routing_key(), "primary.*.*.#");
    assert_eq!(b.try_routing_key().unwrap(), "primary.*.*.#");
}

#[test]
fn set_fields_are_written_in_declaration_order() {
    let b = TaskCompleted {
        task_id: Some("fJ8bZ2qdQpqxkM8nM1Y2yg".into()),
        run_id: Some(3),
        reserved: Some("x.y".into()),
        note: "not a word".into(),
        ..Default::default()
    };
    assert_eq!(b.routing_key(), "primary.fJ8bZ2qdQpqxkM8nM1Y2yg.3.x.y");
    assert_eq!(
        b.exchange_name(),
        "exchange/taskcluster-queue/v1/task-completed"
    );
}

#[test]
fn an_empty_string_is_unset_like_in_go() {
    let b = PlainStrings {
        a: String::new(),
        b: String::new(),
        c: -5,
    };
    assert_eq!(b.routing_key(), "*.#.-5");
    let b = TaskCompleted {
        task_id: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(b.routing_key(), "primary.*.*.#");
}

#[test]
fn a_fixed_word_can_be_given_explicitly() {
    let b = TaskCompleted {
        routing_key_kind: Some("primary".into()),
        ..Default::default()
    };
    assert_eq!(b.try_routing_key().unwrap(), "primary.*.*.#");
}

#[test]
fn a_dot_in_a_single_word_value_is_refused_naming_the_field() {
    let b = TaskCompleted {
        task_id: Some("a.b".into()),
        ..Default::default()
    };
    let err = b.try_routing_key().unwrap_err();
    assert_eq!(
        err,
        RoutingKeyError::DotInWord {
            exchange: "exchange/taskcluster-queue/v1/task-completed".into(),
            field: "task_id",
            value: "a.b".into(),
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("task_id") && message.contains("a.b"),
        "{message}"
    );
    // The unchecked pattern writes it as it is, like the Go client.
    assert_eq!(b.routing_key(), "primary.a.b.*.#");
}

#[test]
fn a_dot_in_a_multi_word_value_is_fine() {
    let b = TaskCompleted {
        reserved: Some("a.b.c".into()),
        ..Default::default()
    };
    assert_eq!(b.try_routing_key().unwrap(), "primary.*.*.a.b.c");
}

#[test]
fn another_value_for_a_fixed_word_is_refused() {
    let b = TaskCompleted {
        routing_key_kind: Some("route".into()),
        ..Default::default()
    };
    let err = b.try_routing_key().unwrap_err();
    assert!(matches!(
        err,
        RoutingKeyError::NotConstant { field: "routing_key_kind", expected: "primary", ref value, .. } if value == "route"
    ));
    assert!(err.to_string().contains("routing_key_kind"));
}

#[test]
fn a_pattern_over_255_bytes_is_refused() {
    let fits = TaskCompleted {
        reserved: Some("r".repeat(255 - "primary.*.*.".len())),
        ..Default::default()
    };
    assert_eq!(fits.try_routing_key().unwrap().len(), 255);
    let long = TaskCompleted {
        reserved: Some("r".repeat(256 - "primary.*.*.".len())),
        ..Default::default()
    };
    let err = long.try_routing_key().unwrap_err();
    assert!(
        matches!(err, RoutingKeyError::TooLong { len: 256, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("task-completed"),
        "names the exchange: {err}"
    );
}

#[test]
fn a_value_adding_a_third_hash_is_refused() {
    let b = TwoHashes {
        middle: Some("m".into()),
        ..Default::default()
    };
    assert_eq!(b.try_routing_key().unwrap(), "#.m.#");
    let b = TwoHashes {
        head: Some("#.a.#".into()),
        ..Default::default()
    };
    assert!(matches!(
        b.try_routing_key(),
        Err(RoutingKeyError::TooManyHashes { count: 3, .. })
    ));
}

#[test]
fn matches_follows_the_pattern() {
    let any = TaskCompleted::default();
    assert!(any.matches("primary.abc.0._"));
    assert!(any.matches("primary.abc.0"), "`#` matches zero words");
    assert!(
        !any.matches("route.index.abc.0"),
        "the fixed word keeps route keys out"
    );
    let one = TaskCompleted {
        task_id: Some("abc".into()),
        run_id: Some(0),
        ..Default::default()
    };
    assert!(one.matches("primary.abc.0.x.y"));
    assert!(!one.matches("primary.abc.1.x"));
    assert!(!one.matches("primary.abcd.0"));
}

#[test]
fn matches_agrees_with_the_pattern_even_past_255_bytes() {
    let long = TaskCompleted {
        task_id: Some("t".repeat(300)),
        ..Default::default()
    };
    let key = format!("primary.{}.7.x", "t".repeat(300));
    assert!(long.matches(&key));
    assert_eq!(
        long.matches(&key),
        pulse_binding::topic_matches(&long.routing_key(), &key)
    );
}

#[test]
fn a_derived_binding_describes_its_words() {
    let words = TaskCompleted::default().key_words().unwrap();
    assert_eq!(
        words,
        [
            KeyWord {
                name: "routing_key_kind",
                kind: WordKind::Constant("primary")
            },
            KeyWord {
                name: "task_id",
                kind: WordKind::Single
            },
            KeyWord {
                name: "run_id",
                kind: WordKind::Single
            },
            KeyWord {
                name: "reserved",
                kind: WordKind::Multi
            },
        ]
    );
}

#[derive(PulseBinding, Default)]
#[exchange = "exchange/test/v1/no-words"]
struct NoWords {}

#[test]
fn a_binding_without_words_has_the_empty_pattern() {
    let b = NoWords::default();
    assert_eq!(b.routing_key(), "");
    assert!(b.matches(""));
    assert!(!b.matches("a"));
    assert!(NoWords::from_routing_key("").is_ok());
    assert!(NoWords::from_routing_key("a").is_err());
}

#[test]
fn new_payload_object_is_the_default_payload() {
    let b = pulse_binding::hooks::HookCreated::default();
    assert_eq!(
        b.new_payload_object(),
        pulse_binding::hooks::HookChangedMessage::default()
    );
    assert_eq!(
        TaskCompleted::default().new_payload_object(),
        serde_json::Value::Null
    );
}

/// A payload type without `Default` works for everything but
/// `new_payload_object`.
#[derive(serde::Deserialize, Debug, PartialEq)]
struct NoDefault {
    id: u32,
}

#[derive(PulseBinding, Default)]
#[exchange = "exchange/test/v1/no-default"]
#[payload(NoDefault)]
struct NoDefaultPayload {
    #[mwords("#")]
    reserved: Option<String>,
}

#[test]
fn a_payload_without_default_still_decodes() {
    let b = NoDefaultPayload::default();
    assert_eq!(b.decode(br#"{"id": 4}"#).unwrap(), NoDefault { id: 4 });
    assert_eq!(b.routing_key(), "#");
}
