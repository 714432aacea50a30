//! Every core error: each cause shown once, input quoted only up to a bound.

use super::*;
use crate::report::tests::{assert_no_repeats, levels};

fn decode_error(body: &str) -> DecodeError {
    let json = serde_json::from_str::<u64>(body).unwrap_err();
    DecodeError::new("exchange/x", "u64", json)
}

#[test]
fn every_core_error_shows_each_cause_once() {
    let routing = [
        RoutingKeyError::DotInWord {
            exchange: "x".into(),
            field: "f",
            value: "a.b".into(),
        },
        RoutingKeyError::NotConstant {
            exchange: "x".into(),
            field: "f",
            expected: "primary",
            value: "other".into(),
        },
        RoutingKeyError::TooLong {
            exchange: "x".into(),
            len: 300,
        },
        RoutingKeyError::TooManyHashes {
            exchange: "x".into(),
            count: 3,
        },
    ];
    for e in &routing {
        assert_no_repeats(e);
    }
    let from_key = || {
        [
            FromRoutingKeyError::WordCount {
                exchange: "x".into(),
                routing_key: "a.b".into(),
                expected: 3,
                at_least: true,
                found: 2,
            },
            FromRoutingKeyError::InvalidWord {
                exchange: "x".into(),
                field: "f",
                word: "abc".into(),
                reason: "invalid digit found in string".into(),
            },
            FromRoutingKeyError::NotConstant {
                exchange: "x".into(),
                field: "f",
                expected: "primary",
                word: "other".into(),
            },
        ]
    };
    for e in from_key() {
        assert_no_repeats(&e);
        assert_no_repeats(&DispatchError::RoutingKey(e));
    }
    assert_no_repeats(&decode_error("\"s\""));
    assert_no_repeats(&DispatchError::Decode(decode_error("\"s\"")));
    assert_no_repeats(&DispatchError::NoBinding {
        exchange: "x".into(),
        routing_key: "a.b".into(),
    });
}

#[test]
fn a_decode_error_says_what_failed_and_its_source_says_why() {
    let e = DispatchError::Decode(decode_error("\"s\""));
    let levels = levels(&e);
    assert_eq!(
        levels,
        [
            "message from exchange `exchange/x` is not a valid `u64`",
            "invalid type: string \"s\", expected u64 at line 1 column 3",
        ]
    );
}

#[test]
fn a_huge_body_is_quoted_cut_in_the_decode_error() {
    let body = format!("\"{}\"", "b".repeat(1_000_000));
    let e = decode_error(&body);
    let shown = format!("{} {e:?}", levels(&e).join(": "));
    assert!(shown.len() < 1_000, "{} bytes", shown.len());
    assert!(shown.contains("bytes)"), "{shown}");
    assert!(shown.contains("at line 1 column"), "{shown}");
    assert!(e.json_error().to_string().len() > 1_000_000);
}

#[test]
fn long_keys_and_values_are_quoted_cut() {
    let long = "w".repeat(100_000);
    let errors: Vec<Box<dyn std::error::Error>> = vec![
        Box::new(RoutingKeyError::DotInWord {
            exchange: "x".into(),
            field: "f",
            value: format!("{long}.x"),
        }),
        Box::new(FromRoutingKeyError::WordCount {
            exchange: "x".into(),
            routing_key: long.clone(),
            expected: 3,
            at_least: false,
            found: 1,
        }),
        Box::new(FromRoutingKeyError::InvalidWord {
            exchange: "x".into(),
            field: "f",
            word: long.clone(),
            reason: format!("bad {long}"),
        }),
        Box::new(DispatchError::NoBinding {
            exchange: "x".into(),
            routing_key: long.clone(),
        }),
    ];
    for e in errors {
        let shown = e.to_string();
        assert!(
            shown.len() < 1_000,
            "{} bytes: {}",
            shown.len(),
            &shown[..300]
        );
    }
}

#[test]
fn debug_quotes_a_huge_input_cut_and_measured() {
    let huge = "w".repeat(1_000_000);
    let errors: Vec<Box<dyn std::error::Error>> = vec![
        Box::new(RoutingKeyError::DotInWord {
            exchange: "x".into(),
            field: "f",
            value: huge.clone(),
        }),
        Box::new(RoutingKeyError::NotConstant {
            exchange: "x".into(),
            field: "f",
            expected: "primary",
            value: huge.clone(),
        }),
        Box::new(FromRoutingKeyError::WordCount {
            exchange: "x".into(),
            routing_key: huge.clone(),
            expected: 3,
            at_least: false,
            found: 1,
        }),
        Box::new(FromRoutingKeyError::InvalidWord {
            exchange: "x".into(),
            field: "f",
            word: huge.clone(),
            reason: "invalid digit found in string".into(),
        }),
        Box::new(FromRoutingKeyError::InvalidWord {
            exchange: "x".into(),
            field: "f",
            word: "w".into(),
            reason: huge.clone(),
        }),
        Box::new(FromRoutingKeyError::NotConstant {
            exchange: "x".into(),
            field: "f",
            expected: "primary",
            word: huge.clone(),
        }),
        Box::new(DispatchError::NoBinding {
            exchange: "x".into(),
            routing_key: huge.clone(),
        }),
        Box::new(DispatchError::RoutingKey(
            FromRoutingKeyError::NotConstant {
                exchange: "x".into(),
                field: "f",
                expected: "primary",
                word: huge.clone(),
            },
        )),
    ];
    for e in errors {
        let shown = format!("{e:?}");
        assert!(
            shown.len() < 1_000,
            "{} bytes: {}",
            shown.len(),
            &shown[..300]
        );
        assert!(shown.contains("…(1000000 bytes)"), "{shown}");
    }
}

#[test]
fn debug_of_short_input_reads_as_the_derived_debug() {
    let e = RoutingKeyError::DotInWord {
        exchange: "x".into(),
        field: "f",
        value: "a.b".into(),
    };
    assert_eq!(
        format!("{e:?}"),
        r#"DotInWord { exchange: "x", field: "f", value: "a.b" }"#
    );
    let e = FromRoutingKeyError::WordCount {
        exchange: "x".into(),
        routing_key: "a.b".into(),
        expected: 3,
        at_least: true,
        found: 2,
    };
    assert_eq!(
        format!("{e:?}"),
        r#"WordCount { exchange: "x", routing_key: "a.b", expected: 3, at_least: true, found: 2 }"#
    );
    let e = DispatchError::RoutingKey(FromRoutingKeyError::NotConstant {
        exchange: "x".into(),
        field: "f",
        expected: "primary",
        word: "route".into(),
    });
    assert_eq!(
        format!("{e:?}"),
        r#"RoutingKey(NotConstant { exchange: "x", field: "f", expected: "primary", word: "route" })"#
    );
}
