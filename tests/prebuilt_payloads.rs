//! Every prebuilt binding's payload type against its schema in Taskcluster's
//! reference, read at test time: sample messages decode and encode back to the
//! same JSON, even with properties and enum values added later; bad bodies are
//! errors that name the exchange.

#[allow(dead_code)]
#[path = "common/prebuilt.rs"]
mod prebuilt;

use pulse_binding::prelude::*;
use pulse_binding::{github, hooks, queue, worker_manager};
use serde_json::{Value, json};

use prebuilt::{
    Case, Exchange, Reference, Sample, UNKNOWN_ENUM_VALUE, UNKNOWN_PROPERTY, case_of, cases,
    required,
};

fn sample(reference: &Reference, exchange: &Exchange, mode: Sample) -> Value {
    let schema = reference.file(&exchange.schema_file);
    reference.sample(&exchange.schema_file, schema, "message", mode)
}

fn body(value: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("a sample encodes")
}

/// The error of a body that must not decode: it names the exchange.
fn refused(case: &Case, exchange: &Exchange, body: &[u8], what: &str) -> String {
    let Err(error) = (case.decode)(body) else {
        panic!("{}: {what} decodes", exchange.exchange);
    };
    assert_eq!(error.exchange(), exchange.exchange);
    let message = error.to_string();
    assert!(message.contains(&exchange.exchange), "{message}");
    // The message says what failed; its source (the JSON error), why.
    let why = std::error::Error::source(&error).expect("the JSON error");
    format!("{message}: {why}")
}

#[test]
fn every_payload_decodes_a_full_sample_and_encodes_it_back_unchanged() {
    let reference = Reference::load();
    let cases = cases();
    for exchange in reference.exchanges() {
        let case = case_of(&cases, &exchange);
        let sample = sample(&reference, &exchange, Sample::Full);
        assert!(sample.get(UNKNOWN_PROPERTY).is_some());
        let decoded = (case.decode)(&body(&sample))
            .unwrap_or_else(|e| panic!("{}: {e}\n{sample:#}", exchange.exchange));
        assert_eq!(decoded.json, sample, "{}", exchange.exchange);
        // Values added later are kept as such, not mistaken for known ones.
        let schema = reference.file(&exchange.schema_file);
        let unknown = format!("Unknown({UNKNOWN_ENUM_VALUE:?})");
        assert_eq!(
            decoded.debug.contains(&unknown),
            reference.has_string_enum(&exchange.schema_file, schema),
            "{}: {}",
            exchange.exchange,
            decoded.debug
        );
    }
}

#[test]
fn every_payload_decodes_a_minimal_sample_into_known_values() {
    let reference = Reference::load();
    let cases = cases();
    for exchange in reference.exchanges() {
        let case = case_of(&cases, &exchange);
        let sample = sample(&reference, &exchange, Sample::Minimal);
        let decoded = (case.decode)(&body(&sample))
            .unwrap_or_else(|e| panic!("{}: {e}\n{sample:#}", exchange.exchange));
        assert_eq!(decoded.json, sample, "{}", exchange.exchange);
        assert!(
            !decoded.debug.contains("Unknown("),
            "{}: a listed enum value decoded as unknown: {}",
            exchange.exchange,
            decoded.debug
        );
    }
}

#[test]
fn a_body_missing_a_required_property_is_an_error_naming_the_exchange() {
    let reference = Reference::load();
    let cases = cases();
    for exchange in reference.exchanges() {
        let case = case_of(&cases, &exchange);
        let schema = reference.file(&exchange.schema_file);
        let sample = sample(&reference, &exchange, Sample::Minimal);
        let names = required(schema);
        assert!(!names.is_empty(), "{}", exchange.exchange);
        for name in names {
            let mut body_without = sample.clone();
            body_without.as_object_mut().map(|o| o.remove(name));
            let message = refused(case, &exchange, &body(&body_without), name);
            assert!(
                message.contains(&format!("missing field `{name}`")),
                "{message}"
            );
        }
    }
}

#[test]
fn a_nested_object_missing_a_required_property_is_an_error() {
    let reference = Reference::load();
    let cases = cases();
    let mut checked = 0;
    for exchange in reference.exchanges() {
        let case = case_of(&cases, &exchange);
        let schema = reference.file(&exchange.schema_file);
        let sample = sample(&reference, &exchange, Sample::Minimal);
        for name in required(schema) {
            let (_, property) =
                reference.resolve(&exchange.schema_file, &schema["properties"][name]);
            let Some(inner) = required(property).first().copied() else {
                continue;
            };
            let mut broken = sample.clone();
            broken[name].as_object_mut().map(|o| o.remove(inner));
            let message = refused(case, &exchange, &body(&broken), inner);
            assert!(
                message.contains(&format!("missing field `{inner}`")),
                "{message}"
            );
            checked += 1;
        }
    }
    // The task status of 8 queue messages and the created artifact.
    assert!(checked >= 9, "only {checked} nested objects checked");
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

#[test]
fn a_property_of_the_wrong_type_is_an_error_naming_the_exchange() {
    let reference = Reference::load();
    let cases = cases();
    for exchange in reference.exchanges() {
        let case = case_of(&cases, &exchange);
        let schema = reference.file(&exchange.schema_file);
        let sample = sample(&reference, &exchange, Sample::Full);
        let properties = schema["properties"].as_object().expect("properties");
        for (name, property) in properties {
            let Some(wrong) = wrong_type(&reference, &exchange.schema_file, property) else {
                continue;
            };
            let mut broken = sample.clone();
            broken[name] = wrong;
            let message = refused(case, &exchange, &body(&broken), name);
            assert!(message.contains("invalid type"), "{message}");
        }
    }
}

#[test]
fn truncated_or_malformed_bodies_are_errors_naming_the_exchange() {
    let reference = Reference::load();
    let cases = cases();
    for exchange in reference.exchanges() {
        let case = case_of(&cases, &exchange);
        let full = serde_json::to_vec(&sample(&reference, &exchange, Sample::Full)).unwrap();
        for cut in [1, full.len() / 3, full.len() / 2, full.len() - 1] {
            refused(case, &exchange, &full[..cut], "a truncated body");
        }
        let malformed: [&[u8]; 7] = [
            b"",
            b"null",
            b"[]",
            b"\"task\"",
            b"{",
            b"{\"version\": 1,}",
            b"\xff\xfe{}",
        ];
        for body in malformed {
            refused(case, &exchange, body, "a malformed body");
        }
        let mut trailing = full.clone();
        trailing.extend_from_slice(b" {}");
        refused(case, &exchange, &trailing, "a body with trailing data");
    }
}

// What users write, spelled out.

const TASK_COMPLETED: &str = r#"{
    "version": 1, "runId": 0, "workerGroup": "us-east-1", "workerId": "i-0123",
    "status": {
        "taskId": "Zd2cLqR5Sk2bD5YbSpzS0Q", "taskGroupId": "fN1ndDrZSHuMqOMmHfpb8A",
        "provisionerId": "proj-ci", "workerType": "ci-linux", "taskQueueId": "proj-ci/ci-linux",
        "schedulerId": "tc-ci", "projectId": "none", "retriesLeft": 5, "state": "completed",
        "priority": "very-high",
        "deadline": "2024-05-01T13:00:00.000Z", "expires": "2025-05-01T12:00:00.000Z",
        "runs": [{"runId": 0, "state": "completed", "reasonCreated": "scheduled",
                  "reasonResolved": "completed", "scheduled": "2024-05-01T12:00:00.000Z"}]
    },
    "task": {"tags": {"kind": "build"}}
}"#;

#[test]
fn a_task_completed_message_reads_as_typed_fields() {
    let message = queue::TaskCompleted::default()
        .decode(TASK_COMPLETED.as_bytes())
        .unwrap();
    assert_eq!(message.run_id, 0);
    assert_eq!(message.status.task_group_id, "fN1ndDrZSHuMqOMmHfpb8A");
    assert_eq!(message.status.state, queue::TaskState::Completed);
    assert_eq!(message.status.priority, Some(queue::TaskPriority::VeryHigh));
    assert_eq!(message.status.runs[0].state, queue::RunState::Completed);
    assert_eq!(
        message.status.runs[0].reason_resolved,
        Some(queue::ReasonResolved::Completed)
    );
    let task = message.task.unwrap();
    assert_eq!(task.tags["kind"], "build");
    assert!(message.extra.is_empty());
}

#[test]
fn a_state_added_later_is_kept_and_written_back() {
    let body = TASK_COMPLETED.replace(
        r#""retriesLeft": 5, "state": "completed""#,
        r#""retriesLeft": 5, "state": "paused""#,
    );
    assert_ne!(body, TASK_COMPLETED);
    let message = queue::TaskCompleted::default()
        .decode(body.as_bytes())
        .unwrap();
    assert_eq!(
        message.status.state,
        queue::TaskState::Unknown("paused".into())
    );
    assert_eq!(message.status.state.as_str(), "paused");
    let again = serde_json::to_value(&message).unwrap();
    assert_eq!(again["status"]["state"], "paused");
}

#[test]
fn enums_convert_from_and_to_their_json_strings() {
    assert_eq!(queue::RunState::from("pending"), queue::RunState::Pending);
    assert_eq!(
        queue::ReasonCreated::from(String::from("task-retry")),
        queue::ReasonCreated::TaskRetry
    );
    assert_eq!(queue::TaskPriority::VeryHigh.to_string(), "very-high");
    assert_eq!(
        serde_json::to_string(&queue::ArtifactStorageType::Object).unwrap(),
        r#""object""#
    );
    assert_eq!(
        serde_json::from_str::<queue::TaskPriority>(r#""urgent""#).unwrap(),
        queue::TaskPriority::Unknown("urgent".into())
    );
    assert_eq!(queue::TaskPriority::default(), queue::TaskPriority::Lowest);
}

#[test]
fn a_property_added_later_is_kept_in_extra() {
    let body = TASK_COMPLETED.replace(r#""version": 1,"#, r#""version": 1, "costCents": 12,"#);
    let message = queue::TaskCompleted::default()
        .decode(body.as_bytes())
        .unwrap();
    assert_eq!(message.extra["costCents"], 12);
    let again = serde_json::to_value(&message).unwrap();
    assert_eq!(again, serde_json::from_str::<Value>(&body).unwrap());
}

#[test]
fn new_payload_objects_are_empty() {
    let message = queue::TaskPending::default().new_payload_object();
    assert_eq!(message.status.task_id, "");
    assert_eq!(message.task, None);
    // A payload with a required JSON number has a hand-written default.
    let rerun = github::Rerun::default().new_payload_object();
    assert_eq!(rerun.check_run_id, serde_json::Number::from(0));
    let hook = hooks::HookUpdated::default().new_payload_object();
    assert!(hook.extra.is_empty());
}

#[test]
fn json_numbers_keep_their_form() {
    let body = json!({
        "version": 1, "organization": "mozilla", "repository": "gecko-dev",
        "installationId": 42, "eventId": "8f2b7c44-1a2b-4c3d-9e8f-0a1b2c3d4e5f",
        "body": {}, "checkRunId": 20123456789u64, "checkSuiteId": 1.5, "tasks_for": "github-push"
    });
    let message = github::Rerun::default()
        .decode(&serde_json::to_vec(&body).unwrap())
        .unwrap();
    assert_eq!(message.check_run_id.as_u64(), Some(20_123_456_789));
    assert_eq!(message.tasks_for, "github-push");
    assert_eq!(serde_json::to_value(&message).unwrap(), body);
}

#[test]
fn worker_manager_messages_decode() {
    let body = br#"{"workerPoolId": "proj-ci/ci-linux", "providerId": "aws",
        "workerId": "i-0123", "workerGroup": "us-east-1", "capacity": 2,
        "timestamp": "2024-05-01T12:00:00.000Z"}"#;
    let message = worker_manager::WorkerRunning::default()
        .decode(body)
        .unwrap();
    assert_eq!(message.capacity, 2);
    assert_eq!(message.launch_config_id, None);
    let error = worker_manager::WorkerRemoved::default()
        .decode(body)
        .unwrap_err();
    // The message says what failed; its source, why.
    let why = std::error::Error::source(&error).expect("the JSON error");
    assert!(why.to_string().contains("missing field `reason`"), "{why}");
    assert!(error.to_string().contains("worker-removed"), "{error}");
}

/// What an error says with its causes.
fn cause(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text = format!("{text}: {cause}");
        next = cause.source();
    }
    text
}

#[test]
fn property_names_are_matched_exactly_however_they_are_written() {
    let hook = |body: &str| hooks::HookCreated::default().decode(body.as_bytes());
    // An escaped name is the same name.
    let m = hook(r#"{"hook\u0047roupId": "g", "hookId": "h"}"#).unwrap();
    assert_eq!((m.hook_group_id.as_str(), m.hook_id.as_str()), ("g", "h"));
    assert!(m.extra.is_empty());
    // A name that differs in case is another property, kept as it came.
    let m = hook(r#"{"hookGroupId": "g", "hookId": "h", "HookId": 1}"#).unwrap();
    assert_eq!(m.hook_id, "h");
    assert_eq!(m.extra["HookId"], 1);
    // A property given twice is an error that names it.
    let e = hook(r#"{"hookGroupId": "g", "hookId": "h", "hookId": "i"}"#).unwrap_err();
    assert!(
        cause(&e).contains("duplicate field `hookId`"),
        "{}",
        cause(&e)
    );
    // Not an object at all.
    let e = hook(r#"["g", "h"]"#).unwrap_err();
    assert!(
        cause(&e).contains("expected a HookChangedMessage object"),
        "{}",
        cause(&e)
    );
}

#[test]
fn an_optional_property_given_as_null_is_absent() {
    let with_null =
        TASK_COMPLETED.replace(r#""task": {"tags": {"kind": "build"}}"#, r#""task": null"#);
    assert_ne!(with_null, TASK_COMPLETED);
    let message = queue::TaskCompleted::default()
        .decode(with_null.as_bytes())
        .unwrap();
    assert_eq!(message.task, None);
    assert!(message.extra.is_empty(), "{:?}", message.extra);
}

#[test]
fn a_payload_decodes_from_a_json_value_as_from_text() {
    let value = json!({"hookGroupId": "g", "hookId": "h", "note": [1]});
    let m: hooks::HookChangedMessage = serde_json::from_value(value.clone()).unwrap();
    assert_eq!((m.hook_group_id.as_str(), m.hook_id.as_str()), ("g", "h"));
    assert_eq!(m.extra["note"], json!([1]));
    assert_eq!(serde_json::to_value(&m).unwrap(), value);
}
