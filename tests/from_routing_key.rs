//! Reading a concrete routing key back into a binding's fields.

use pulse_binding::FromRoutingKeyError;
use pulse_binding::prelude::*;
use pulse_binding_tests::{TaskCompleted, TwoHashes};

#[derive(PulseBinding, Default, Debug, PartialEq)]
#[exchange = "exchange/test/v1/middle"]
struct Middle {
    #[mwords("*")]
    first: String,
    #[mwords("#")]
    middle: Option<String>,
    #[mwords("*")]
    last: u8,
}

#[test]
fn each_word_lands_in_its_field() {
    let b = TaskCompleted::from_routing_key("primary.fJ8bZ2qd.2.worker.x").unwrap();
    assert_eq!(
        b,
        TaskCompleted {
            routing_key_kind: Some("primary".into()),
            task_id: Some("fJ8bZ2qd".into()),
            run_id: Some(2),
            reserved: Some("worker.x".into()),
            note: String::new(),
        }
    );
}

#[test]
fn a_multi_word_field_with_no_word_is_unset() {
    let b = TaskCompleted::from_routing_key("primary.abc.0").unwrap();
    assert_eq!(b.reserved, None);
    let m = Middle::from_routing_key("a.7").unwrap();
    assert_eq!(
        m,
        Middle {
            first: "a".into(),
            middle: None,
            last: 7
        }
    );
}

#[test]
fn single_words_after_the_multi_word_field_come_from_the_right() {
    let m = Middle::from_routing_key("a.b.c.d.9").unwrap();
    assert_eq!(
        m,
        Middle {
            first: "a".into(),
            middle: Some("b.c.d".into()),
            last: 9
        }
    );
}

#[test]
fn an_empty_word_is_unset() {
    let b = TaskCompleted::from_routing_key("primary..0").unwrap();
    assert_eq!(b.task_id, None);
    // Reading it back as a binding still matches the key it came from.
    assert!(b.matches("primary..0"));
}

#[test]
fn taskcluster_underscore_is_kept_as_a_word() {
    let b = pulse_binding::hooks::HookCreated::from_routing_key("_").unwrap();
    assert_eq!(b.reserved.as_deref(), Some("_"));
}

#[test]
fn the_first_of_two_multi_word_fields_takes_every_word_it_can() {
    let b = TwoHashes::from_routing_key("a.b.c").unwrap();
    assert_eq!(b.head.as_deref(), Some("a.b"));
    assert_eq!(b.middle.as_deref(), Some("c"));
    assert_eq!(b.tail, None);
}

#[test]
fn a_key_with_too_few_or_too_many_words_is_refused() {
    let err = TaskCompleted::from_routing_key("primary.abc").unwrap_err();
    assert_eq!(
        err,
        FromRoutingKeyError::WordCount {
            exchange: "exchange/taskcluster-queue/v1/task-completed".into(),
            routing_key: "primary.abc".into(),
            expected: 3,
            at_least: true,
            found: 2,
        }
    );
    assert!(err.to_string().contains("at least 3"), "{err}");
    #[derive(PulseBinding, Debug)]
    #[exchange = "exchange/test/v1/exact"]
    struct Exact {
        #[mwords("*")]
        a: String,
    }
    assert!(
        Exact::from_routing_key("").is_err(),
        "the empty key has no word"
    );
    assert!(Exact::from_routing_key("a.b").is_err());
    assert!(Exact::from_routing_key("a").is_ok());
}

#[test]
fn a_word_the_field_cannot_hold_is_refused_naming_the_field() {
    let err = TaskCompleted::from_routing_key("primary.abc.x").unwrap_err();
    match &err {
        FromRoutingKeyError::InvalidWord { field, word, .. } => {
            assert_eq!((*field, word.as_str()), ("run_id", "x"));
        }
        other => panic!("wrong error {other:?}"),
    }
    assert!(err.to_string().contains("run_id"));
    assert!(
        Middle::from_routing_key("a.b.256").is_err(),
        "256 is not a u8"
    );
    assert!(
        Middle::from_routing_key("a.b.07").is_err(),
        "07 would be written back as 7"
    );
}

#[test]
fn another_word_where_a_fixed_word_stands_is_refused() {
    let err = TaskCompleted::from_routing_key("route.abc.0").unwrap_err();
    assert!(matches!(
        err,
        FromRoutingKeyError::NotConstant { field: "routing_key_kind", expected: "primary", ref word, .. } if word == "route"
    ));
}

/// A fixed word after a word the key cannot fill.
#[derive(PulseBinding, Default, Debug)]
#[exchange = "exchange/test/v1/fixed-last"]
struct FixedLast {
    #[mwords("*")]
    count: u8,
    #[mwords(constant = "primary")]
    kind: Option<String>,
}

#[test]
fn a_key_of_another_kind_is_refused_for_its_fixed_word_before_any_field_is_read() {
    // `x` is no u8, but the key is not a `primary` key at all: that is the
    // error, wherever the fixed word stands.
    let err = FixedLast::from_routing_key("x.route").unwrap_err();
    assert!(
        matches!(err, FromRoutingKeyError::NotConstant { field: "kind", ref word, .. } if word == "route"),
        "{err:?}"
    );
    assert!(matches!(
        FixedLast::from_routing_key("x.primary"),
        Err(FromRoutingKeyError::InvalidWord { field: "count", .. })
    ));
    // The word count before either.
    assert!(matches!(
        FixedLast::from_routing_key("x.route.z"),
        Err(FromRoutingKeyError::WordCount { .. })
    ));
    assert_eq!(FixedLast::from_routing_key("7.primary").unwrap().count, 7);
}

proptest::proptest! {
    /// Whatever the key, reading it gives a binding or an error; never a panic.
    #[test]
    fn no_key_makes_from_routing_key_panic(key in "[a-z0-9._#*]{0,24}|\\PC{0,40}") {
        let _ = TaskCompleted::from_routing_key(&key);
        let _ = Middle::from_routing_key(&key);
        let _ = TwoHashes::from_routing_key(&key);
    }

    /// A key that parses is matched by the binding read from it.
    #[test]
    fn a_parsed_binding_matches_its_key(key in "primary(\\.[a-z0-9]{0,3}){2,6}") {
        if let Ok(b) = TaskCompleted::from_routing_key(&key) {
            proptest::prop_assert!(b.matches(&key), "{:?} from {key}", b);
        }
    }
}

/// Shapes whose words sit in every order the derive splits differently, with
/// `Option<String>` fields so that every word can be held.
mod shapes {
    use pulse_binding::prelude::*;

    #[derive(PulseBinding, Default, Debug)]
    #[exchange = "exchange/test/v1/multi-first"]
    pub struct MultiFirst {
        #[mwords("#")]
        pub m: Option<String>,
        #[mwords("*")]
        pub a: Option<String>,
        #[mwords(constant = "end")]
        pub z: Option<String>,
    }

    #[derive(PulseBinding, Default, Debug)]
    #[exchange = "exchange/test/v1/multi-last"]
    pub struct MultiLast {
        #[mwords(constant = "primary")]
        pub k: Option<String>,
        #[mwords("*")]
        pub a: Option<String>,
        #[mwords("#")]
        pub m: Option<String>,
    }

    #[derive(PulseBinding, Default, Debug)]
    #[exchange = "exchange/test/v1/two-multis"]
    pub struct TwoMultis {
        #[mwords("*")]
        pub a: Option<String>,
        #[mwords("#")]
        pub m1: Option<String>,
        #[mwords("*")]
        pub b: Option<String>,
        #[mwords("#")]
        pub m2: Option<String>,
        #[mwords("*")]
        pub c: Option<String>,
    }

    #[derive(PulseBinding, Default, Debug)]
    #[exchange = "exchange/test/v1/lone-multi"]
    pub struct LoneMulti {
        #[mwords("#")]
        pub m: Option<String>,
    }

    #[derive(PulseBinding, Default, Debug)]
    #[exchange = "exchange/test/v1/singles"]
    pub struct Singles {
        #[mwords(constant = "primary")]
        pub k: Option<String>,
        #[mwords("*")]
        pub a: Option<String>,
        #[mwords("*")]
        pub b: Option<String>,
    }

    #[derive(PulseBinding, Default, Debug)]
    #[exchange = "exchange/test/v1/none"]
    pub struct NoWords {}
}

/// What `B::from_routing_key` gives for `key`, and what the runtime's generic
/// splitter ([`pulse_binding::parse_fields`]) gives for the binding's words,
/// as each field's value.
type Parsed = Result<Vec<Option<String>>, FromRoutingKeyError>;

fn derived_and_generic<B: FromRoutingKey + PulseBinding + Default>(
    key: &str,
    fields: impl Fn(&B) -> Vec<Option<String>>,
) -> (Parsed, Parsed) {
    let binding = B::default();
    let words = binding.key_words().unwrap();
    let generic = pulse_binding::parse_fields(binding.exchange_name(), words, key).map(|f| {
        f.into_iter()
            .map(|(_, w)| w.filter(|w| !w.is_empty()).map(str::to_owned))
            .collect()
    });
    (B::from_routing_key(key).map(|b| fields(&b)), generic)
}

proptest::proptest! {
    /// The derived parser, written out field by field, splits every shape of
    /// binding as the generic splitter does: the same fields, the same errors.
    #[test]
    fn the_derived_parser_splits_as_the_generic_splitter_does(
        key in "(|a|b|end|primary|#)(\\.(|a|b|end|primary|#)){0,6}",
    ) {
        use shapes::*;
        let (derived, generic) =
            derived_and_generic::<MultiFirst>(&key, |b| vec![b.m.clone(), b.a.clone(), b.z.clone()]);
        proptest::prop_assert_eq!(derived, generic);
        let (derived, generic) =
            derived_and_generic::<MultiLast>(&key, |b| vec![b.k.clone(), b.a.clone(), b.m.clone()]);
        proptest::prop_assert_eq!(derived, generic);
        let (derived, generic) = derived_and_generic::<TwoMultis>(&key, |b| {
            vec![b.a.clone(), b.m1.clone(), b.b.clone(), b.m2.clone(), b.c.clone()]
        });
        proptest::prop_assert_eq!(derived, generic);
        let (derived, generic) = derived_and_generic::<LoneMulti>(&key, |b| vec![b.m.clone()]);
        proptest::prop_assert_eq!(derived, generic);
        let (derived, generic) =
            derived_and_generic::<Singles>(&key, |b| vec![b.k.clone(), b.a.clone(), b.b.clone()]);
        proptest::prop_assert_eq!(derived, generic);
        let (derived, generic) = derived_and_generic::<NoWords>(&key, |_| vec![]);
        proptest::prop_assert_eq!(derived, generic);
    }
}
