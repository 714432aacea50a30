//! A property test of every prebuilt payload type: messages drawn at random
//! from its message schema in Taskcluster's references (the shipped
//! generator/data/references.json, read at test time) decode, and encode back
//! to the same JSON, every number exactly as sent; a required property of the
//! wrong type is a decode error naming the exchange.
//!
//! The messages are drawn from the schemas as follows:
//!
//! - objects: each required property, each optional one or not (never
//!   `null`); other properties where `additionalProperties` allows them (a
//!   schema's values, or any JSON when it is `true` or absent), none where it
//!   is `false`; an object without `properties` is free-form;
//! - `$ref`s are followed (within a file and across files);
//! - `enum`: one of the listed values;
//! - strings: a `pattern` is drawn from (its `^` and `$` dropped; an
//!   unanchored end gets a URI-safe tail), `date-time` is RFC 3339 (days 1-28),
//!   `email` is `local@domain.tld`, `minLength`/`maxLength` hold (counted in
//!   characters), any other string is any Unicode text of at most 24
//!   characters (so a long `maxLength` is not reached);
//! - integers: within `minimum`/`maximum`, and within `u64` (`minimum` >= 0)
//!   or `i64`: the generated fields' types, so a larger integer, valid for the
//!   schema, is not drawn;
//! - numbers: any finite double, or any `i64`/`u64`;
//! - arrays: up to 4 items (`maxItems` holds), `uniqueItems` made unique;
//! - free-form JSON: up to 3 levels of arrays and objects with any keys,
//!   strings, integers, finite doubles (from any bit pattern, integral ones
//!   up to 2^62 and short decimals), booleans and `null`.
//!
//! `anyOf` is ignored (its one use, a task's `source`, also has a `pattern`
//! that its values match). A second test draws the same messages as a later
//! Taskcluster release might send them: a property the schema does not name
//! in every object, any string for a string enum.
//!
//! Cases per payload type: `PROPTEST_CASES`, else 64.

#[allow(dead_code)]
#[path = "common/prebuilt.rs"]
mod prebuilt;

use std::collections::BTreeSet;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{Map, Value, json};

use prebuilt::{Case, Exchange, Reference, case_of, cases, required};

/// Draws messages from the schemas of one reference.
struct Draw<'r> {
    reference: &'r Reference,
    /// As a later release might send them: every object has a property its
    /// schema does not name, a string enum any string.
    later: bool,
}

impl Draw<'_> {
    /// Values valid for `schema` (in `file`).
    fn value(&self, file: &str, schema: &Value) -> BoxedStrategy<Value> {
        let (file, schema) = self.reference.resolve(file, schema);
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let listed = select(values.clone());
            if self.later && values.iter().all(Value::is_string) {
                return prop_oneof![listed, "[a-z][-a-z]{0,11}".prop_map(Value::String)].boxed();
            }
            return listed.boxed();
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => string(schema),
            Some("integer") => integer(schema),
            Some("number") => prop_oneof![
                finite_double().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
            ]
            .boxed(),
            Some("boolean") => any::<bool>().prop_map(Value::Bool).boxed(),
            Some("array") => self.array(&file, schema),
            Some("object") => self.object(&file, schema),
            None => any_json(),
            Some(other) => panic!("{file}: type {other:?} is not drawn"),
        }
    }

    fn array(&self, file: &str, schema: &Value) -> BoxedStrategy<Value> {
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .map_or(4, |m| m.min(4)) as usize;
        let unique = schema.get("uniqueItems") == Some(&json!(true));
        vec(self.value(file, &schema["items"]), 0..=max)
            .prop_map(move |mut items| {
                if unique {
                    let mut seen = BTreeSet::new();
                    items.retain(|item| seen.insert(item.to_string()));
                }
                Value::Array(items)
            })
            .boxed()
    }

    fn object(&self, file: &str, schema: &Value) -> BoxedStrategy<Value> {
        let additional = schema.get("additionalProperties");
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            // Free-form, or a map of one schema's values (a task's `tags`).
            let values = match additional {
                Some(values @ Value::Object(_)) => self.value(file, values),
                _ => any_json(),
            };
            return btree_map(key(), values, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect()))
                .boxed();
        };
        let required = required(schema);
        let named: Vec<BoxedStrategy<Option<(String, Value)>>> = properties
            .iter()
            .map(|(name, property)| {
                let name = name.clone();
                let value = self.value(file, property);
                if required.contains(&name.as_str()) {
                    value.prop_map(move |v| Some((name.clone(), v))).boxed()
                } else {
                    proptest::option::of(value)
                        .prop_map(move |v| v.map(|v| (name.clone(), v)))
                        .boxed()
                }
            })
            .collect();
        let others = match additional {
            _ if self.later => btree_map(key(), any_json(), 1..3).boxed(),
            Some(Value::Bool(false)) => Just(Default::default()).boxed(),
            Some(values @ Value::Object(_)) => {
                btree_map(key(), self.value(file, values), 0..3).boxed()
            }
            _ => btree_map(key(), any_json(), 0..3).boxed(),
        };
        let names: BTreeSet<String> = properties.keys().cloned().collect();
        (named, others)
            .prop_map(move |(named, others)| {
                let mut object = Map::new();
                // A property the schema names is never drawn as another.
                object.extend(others.into_iter().filter(|(k, _)| !names.contains(k)));
                object.extend(named.into_iter().flatten());
                Value::Object(object)
            })
            .boxed()
    }
}

/// A string valid for `schema`: its pattern, format and length.
fn string(schema: &Value) -> BoxedStrategy<Value> {
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .map_or(usize::MAX, |m| m as usize);
    let text = |key: &str| schema.get(key).and_then(Value::as_str);
    let drawn: BoxedStrategy<String> = if let Some(pattern) = text("pattern") {
        let start = pattern.strip_prefix('^').unwrap_or(pattern);
        let regex = match start.strip_suffix('$') {
            Some(whole) => whole.to_owned(),
            // Only the start is fixed: anything may follow.
            None => format!("{start}[a-z0-9./-]{{0,20}}"),
        };
        proptest::string::string_regex(&regex)
            .unwrap_or_else(|e| panic!("pattern {pattern:?}: {e}"))
            .boxed()
    } else if text("format") == Some("date-time") {
        date_time().boxed()
    } else if text("format") == Some("email") {
        "[a-z0-9]{1,10}@[a-z0-9]{1,10}\\.(com|org|net)".boxed()
    } else {
        vec(any::<char>(), min..=max.min(min + 24))
            .prop_map(String::from_iter)
            .boxed()
    };
    drawn
        .prop_filter("length out of bounds", move |s| {
            (min..=max).contains(&s.chars().count())
        })
        .prop_map(Value::String)
        .boxed()
}

/// RFC 3339 date-times, in UTC or with an offset, with or without fractions.
fn date_time() -> impl Strategy<Value = String> {
    (
        (1970u32..2100, 1u32..=12, 1u32..=28),
        (0u32..24, 0u32..60, 0u32..60),
        prop_oneof![Just(String::new()), "\\.[0-9]{1,6}"],
        prop_oneof![Just("Z".to_owned()), "[+-](0[0-9]|1[0-3]):[0-5][0-9]"],
    )
        .prop_map(|((y, mo, d), (h, mi, s), fraction, zone)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{zone}")
        })
}

/// An integer within the schema's bounds and the generated field's type.
fn integer(schema: &Value) -> BoxedStrategy<Value> {
    let max = schema.get("maximum").and_then(Value::as_u64);
    match schema.get("minimum").and_then(Value::as_u64) {
        Some(min) => {
            let max = max.unwrap_or(u64::MAX);
            prop_oneof![min..=max.min(min.saturating_add(100)), min..=max]
                .prop_map(Value::from)
                .boxed()
        }
        None => {
            let max = max.map_or(i64::MAX, |m| m as i64);
            prop_oneof![-100..=max.min(100), i64::MIN..=max]
                .prop_map(Value::from)
                .boxed()
        }
    }
}

/// Finite doubles: any bit pattern, integral values (as a JavaScript
/// publisher writes a large count) and short decimals.
fn finite_double() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
        (-(1i64 << 62)..(1i64 << 62)).prop_map(|i| i as f64),
        (any::<i32>(), 0..7).prop_map(|(m, e)| f64::from(m) / 10f64.powi(e)),
    ]
}

/// Property names: mostly like Taskcluster's, sometimes any text.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z][a-zA-Z0-9]{0,11}", 1 => any::<String>()]
}

/// Any JSON value.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        3 => finite_double().prop_map(Value::from),
        1 => ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(key(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Where `got` differs from `sent`, numbers compared exactly: `1` is not
/// `1.0`, nor `-0.0` `0.0`, nor one double the next.
fn difference(path: &str, sent: &Value, got: &Value) -> Option<String> {
    let differ = || Some(format!("at {path:?}: sent {sent}, got back {got}"));
    match (sent, got) {
        (Value::Number(a), Value::Number(b)) => (a.to_string() != b.to_string()).then(differ)?,
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (a, b))| difference(&format!("{path}/{i}"), a, b)),
        (Value::Object(a), Value::Object(b)) if a.len() == b.len() => {
            a.iter().find_map(|(k, a)| {
                let inner = format!("{path}/{k}");
                match b.get(k) {
                    Some(b) => difference(&inner, a, b),
                    None => Some(format!("at {inner:?}: sent {a}, missing")),
                }
            })
        }
        _ => (sent != got).then(differ)?,
    }
}

/// Each prebuilt payload type once (several exchanges share one), with the
/// exchange of its first binding.
fn payload_types(reference: &Reference) -> Vec<Exchange> {
    let cases = cases();
    let all = reference.exchanges();
    let schemas: BTreeSet<&str> = all.iter().map(|e| e.schema_file.as_str()).collect();
    let schemas = schemas.len();
    let mut seen = BTreeSet::new();
    let types: Vec<Exchange> = all
        .into_iter()
        .filter(|e| seen.insert((case_of(&cases, e).default)().payload_type_name()))
        .collect();
    // One payload type per message schema (24 for the 36 exchanges of v106).
    assert_eq!(types.len(), schemas);
    types
}

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    TestRunner::new(Config {
        failure_persistence: None,
        ..Config::with_cases(cases)
    })
}

/// Runs `check` on messages drawn for every payload type; a failure names the
/// exchange, the smallest failing message and what went wrong.
fn for_every_payload_type<T: std::fmt::Debug + serde::Serialize>(
    later: bool,
    strategy: impl Fn(&Reference, &Exchange, BoxedStrategy<Value>) -> BoxedStrategy<T>,
    check: impl Fn(&Case, &Exchange, T) -> Result<(), TestCaseError>,
) {
    let reference = Reference::load();
    let cases = cases();
    let draw = Draw {
        reference: &reference,
        later,
    };
    for exchange in payload_types(&reference) {
        let case = case_of(&cases, &exchange);
        let schema = reference.file(&exchange.schema_file);
        let message = draw.value(&exchange.schema_file, schema);
        let result = runner().run(&strategy(&reference, &exchange, message), |input| {
            check(case, &exchange, input)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => {
                let input = serde_json::to_string(&input).expect("a drawn input encodes");
                panic!(
                    "{}: {why}\nfailing input (shrunk): {input}",
                    exchange.exchange
                )
            }
            Err(e) => panic!("{}: {e}", exchange.exchange),
        }
    }
}

fn round_trips(case: &Case, _: &Exchange, message: Value) -> Result<(), TestCaseError> {
    let body = serde_json::to_vec(&message).expect("a drawn message encodes");
    let decoded = (case.decode)(&body)
        .map_err(|e| TestCaseError::fail(format!("{}: {:?}", e, std::error::Error::source(&e))))?;
    if let Some(difference) = difference("", &message, &decoded.json) {
        return Err(TestCaseError::fail(format!(
            "does not encode back to the message it decoded: {difference}"
        )));
    }
    Ok(())
}

#[test]
fn schema_valid_messages_decode_and_encode_back_exactly() {
    for_every_payload_type(false, |_, _, message| message, round_trips);
}

#[test]
fn messages_of_a_later_release_decode_and_encode_back_exactly() {
    for_every_payload_type(true, |_, _, message| message, round_trips);
}

/// The paths to every required property, through required objects.
fn required_paths(reference: &Reference, file: &str, schema: &Value) -> Vec<Vec<String>> {
    let (file, schema) = reference.resolve(file, schema);
    let mut out = Vec::new();
    for name in required(schema) {
        let property = &schema["properties"][name];
        out.push(vec![name.to_owned()]);
        for mut inner in required_paths(reference, &file, property) {
            inner.insert(0, name.to_owned());
            out.push(inner);
        }
    }
    out
}

/// A value of another JSON type than `schema` wants, if the schema has a type.
fn wrong_type(reference: &Reference, file: &str, schema: &Value) -> Option<Value> {
    let (_, schema) = reference.resolve(file, schema);
    if schema.get("enum").is_some_and(|v| v[0].is_string()) {
        return Some(json!(42));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => Some(json!(42)),
        Some("integer" | "number") => Some(json!("seven")),
        Some("boolean") => Some(json!("yes")),
        Some("array") => Some(json!({"not": "a list"})),
        Some("object") => Some(json!(["not", "an", "object"])),
        _ if schema.get("enum").is_some() => Some(json!("one")),
        _ => None,
    }
}

/// The schema of the property at `path`, with its file.
fn schema_at(reference: &Reference, file: &str, schema: &Value, path: &[String]) -> Value {
    let (file, schema) = reference.resolve(file, schema);
    match path.split_first() {
        None => schema.clone(),
        Some((name, rest)) => schema_at(reference, &file, &schema["properties"][name], rest),
    }
}

#[test]
fn a_required_property_of_the_wrong_type_is_an_error_naming_the_exchange() {
    for_every_payload_type(
        false,
        |reference, exchange, message| {
            let schema = reference.file(&exchange.schema_file);
            let paths: Vec<(Vec<String>, Value)> =
                required_paths(reference, &exchange.schema_file, schema)
                    .into_iter()
                    .filter_map(|path| {
                        let property = schema_at(reference, &exchange.schema_file, schema, &path);
                        let wrong = wrong_type(reference, &exchange.schema_file, &property)?;
                        Some((path, wrong))
                    })
                    .collect();
            assert!(!paths.is_empty(), "{}", exchange.exchange);
            (message, any::<Index>())
                .prop_map(move |(mut message, index)| {
                    let (path, wrong) = index.get(&paths).clone();
                    let mut slot = &mut message;
                    for name in &path {
                        slot = &mut slot[name];
                    }
                    *slot = wrong;
                    (path.join("/"), message)
                })
                .boxed()
        },
        |case, exchange, (path, broken)| {
            let body = serde_json::to_vec(&broken).expect("a drawn message encodes");
            let Err(error) = (case.decode)(&body) else {
                return Err(TestCaseError::fail(format!(
                    "{path} of the wrong type decodes"
                )));
            };
            prop_assert_eq!(error.exchange(), exchange.exchange.as_str());
            let why = std::error::Error::source(&error).expect("the JSON error");
            prop_assert!(why.to_string().contains("invalid type"), "{path}: {why}");
            Ok(())
        },
    );
}
