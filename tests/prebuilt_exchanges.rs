//! Every prebuilt binding against Taskcluster's reference, read at test time:
//! its exchange, its default pattern, a pattern with some words set, and the
//! fields read back from a concrete routing key.

#[allow(dead_code)]
#[path = "common/prebuilt.rs"]
mod prebuilt;

use std::collections::BTreeSet;

use pulse_binding::prelude::*;
use pulse_binding::{WordKind, auth, github, hooks, notify, queue, worker_manager};

use prebuilt::{Exchange, Reference, case_of, cases};

/// Every exchange with a prebuilt binding: the references' and the
/// schema-less ones of `generator/data/schemaless.json`.
fn reference() -> Vec<Exchange> {
    Reference::load().all_exchanges()
}

#[test]
fn every_reference_exchange_has_exactly_one_prebuilt_binding() {
    let wanted: BTreeSet<(String, String)> = reference()
        .iter()
        .map(|e| (e.service.clone(), e.name.clone()))
        .collect();
    let cases = cases();
    let have: BTreeSet<(String, String)> = cases
        .iter()
        .map(|c| (c.service.to_owned(), c.name.to_owned()))
        .collect();
    assert_eq!(have, wanted);
    assert_eq!(cases.len(), wanted.len(), "a binding is listed twice");
    let services: BTreeSet<&str> = cases.iter().map(|c| c.service).collect();
    assert_eq!(
        services.into_iter().collect::<Vec<_>>(),
        [
            "auth",
            "github",
            "hooks",
            "notify",
            "queue",
            "worker-manager"
        ]
    );
}

#[test]
fn each_binding_is_named_after_its_reference_entry() {
    let cases = cases();
    for exchange in reference() {
        let case = case_of(&cases, &exchange);
        let type_name = case.type_name.rsplit("::").next().unwrap_or_default();
        let mut upper = exchange.name.clone();
        upper[..1].make_ascii_uppercase();
        assert_eq!(type_name, upper, "{}", exchange.exchange);
        let module = exchange.service.replace('-', "_");
        assert!(
            case.type_name.contains(&format!("::{module}::")),
            "{} is not in module {module}",
            case.type_name
        );
    }
}

#[test]
fn each_binding_has_its_exchange_and_the_reference_default_pattern() {
    let cases = cases();
    for exchange in reference() {
        let binding = (case_of(&cases, &exchange).default)();
        assert_eq!(binding.exchange_name(), exchange.exchange);
        let pattern: Vec<&str> = exchange.words.iter().map(|w| w.fallback()).collect();
        let pattern = pattern.join(".");
        assert_eq!(binding.routing_key(), pattern, "{}", exchange.exchange);
        assert_eq!(binding.try_routing_key().as_deref(), Ok(pattern.as_str()));
    }
}

#[test]
fn each_binding_declares_the_reference_words_in_order() {
    let cases = cases();
    for exchange in reference() {
        let binding = (case_of(&cases, &exchange).default)();
        let words = binding
            .key_words()
            .expect("prebuilt bindings declare their words");
        assert_eq!(words.len(), exchange.words.len(), "{}", exchange.exchange);
        for (declared, word) in words.iter().zip(&exchange.words) {
            assert_eq!(declared.name, word.field(), "{}", exchange.exchange);
            let kind = match (&word.constant, word.multiple) {
                (Some(c), _) => WordKind::Constant(Box::leak(c.clone().into_boxed_str())),
                (None, true) => WordKind::Multi,
                (None, false) => WordKind::Single,
            };
            assert_eq!(declared.kind, kind, "{} {}", exchange.exchange, word.name);
        }
    }
}

/// A routing key for `exchange` in which every other single word is set and
/// the rest are empty (which reads back as unset), with the pattern it gives.
fn some_words_set(exchange: &Exchange) -> (String, String) {
    let singles = exchange
        .words
        .iter()
        .filter(|w| w.constant.is_none() && !w.multiple)
        .count();
    let (mut key, mut pattern) = (Vec::new(), Vec::new());
    let mut set = true;
    for (i, word) in exchange.words.iter().enumerate() {
        let value = match (&word.constant, word.multiple) {
            (Some(c), _) => Some(c.clone()),
            // With no single word to set, set the multi-word one.
            (None, true) if singles == 0 => Some(format!("m{i}.more")),
            (None, true) => None,
            (None, false) => {
                set = !set;
                (!set).then(|| format!("w{i}"))
            }
        };
        key.push(value.clone().unwrap_or_default());
        pattern.push(value.unwrap_or_else(|| word.fallback().to_owned()));
    }
    (key.join("."), pattern.join("."))
}

#[test]
fn each_binding_writes_the_words_that_are_set_and_wildcards_for_the_rest() {
    let cases = cases();
    for exchange in reference() {
        let case = case_of(&cases, &exchange);
        let (key, pattern) = some_words_set(&exchange);
        let parsed = (case.parse)(&key)
            .unwrap_or_else(|e| panic!("{}: {key:?} does not parse: {e}", exchange.exchange));
        assert_eq!(parsed.routing_key, pattern, "{}", exchange.exchange);
        assert_eq!(parsed.checked.as_deref(), Ok(pattern.as_str()));
        let singles = exchange
            .words
            .iter()
            .filter(|w| w.fallback() == "*")
            .count();
        if singles >= 2 {
            assert!(
                pattern.contains(".*"),
                "{pattern}: some words should stay unset"
            );
        }
    }
}

/// A concrete routing key, as a publisher writes it, and the value of each word.
fn concrete_key(exchange: &Exchange) -> (String, Vec<String>) {
    let values: Vec<String> = exchange
        .words
        .iter()
        .enumerate()
        .map(|(i, w)| match (&w.constant, w.multiple) {
            (Some(c), _) => c.clone(),
            (None, true) => format!("m{i}.and.more"),
            (None, false) => format!("w{i}"),
        })
        .collect();
    (values.join("."), values)
}

#[test]
fn from_routing_key_reads_every_word_of_a_concrete_key_into_its_field() {
    let cases = cases();
    for exchange in reference() {
        let case = case_of(&cases, &exchange);
        let (key, values) = concrete_key(&exchange);
        let parsed = (case.parse)(&key)
            .unwrap_or_else(|e| panic!("{}: {key:?} does not parse: {e}", exchange.exchange));
        assert_eq!(parsed.routing_key, key, "{}", exchange.exchange);
        for (word, value) in exchange.words.iter().zip(&values) {
            let field = format!("{}: Some({value:?})", word.field());
            assert!(
                parsed.debug.contains(&field),
                "{}: {field} not in {}",
                exchange.exchange,
                parsed.debug
            );
        }
        let binding = (case.default)();
        assert!(
            binding.matches(&key),
            "{} does not match {key}",
            binding.routing_key()
        );
    }
}

#[test]
fn a_key_of_another_kind_or_length_is_refused_naming_the_exchange() {
    let cases = cases();
    for exchange in reference() {
        let case = case_of(&cases, &exchange);
        let (key, values) = concrete_key(&exchange);
        if let Some(i) = exchange.words.iter().position(|w| w.constant.is_some()) {
            let mut route = values.clone();
            route[i] = "route".to_owned();
            let error = (case.parse)(&route.join("."))
                .err()
                .expect("a route key is refused");
            assert!(error.to_string().contains(&exchange.exchange), "{error}");
        }
        if !exchange.words.iter().any(|w| w.multiple) {
            let longer = format!("{key}.extra");
            let error = (case.parse)(&longer)
                .err()
                .expect("a longer key is refused");
            assert!(error.to_string().contains(&exchange.exchange), "{error}");
        }
        let singles = exchange.words.iter().filter(|w| !w.multiple).count();
        if singles > 1 {
            let shorter = values[..singles - 1].join(".");
            assert!((case.parse)(&shorter).is_err(), "{shorter:?} parses");
        }
    }
}

#[test]
fn prebuilt_bindings_lists_every_exchange_in_reference_order() {
    let prefixes = [
        ("auth", auth::EXCHANGE_PREFIX),
        ("github", github::EXCHANGE_PREFIX),
        ("hooks", hooks::EXCHANGE_PREFIX),
        ("notify", notify::EXCHANGE_PREFIX),
        ("queue", queue::EXCHANGE_PREFIX),
        ("worker-manager", worker_manager::EXCHANGE_PREFIX),
    ];
    let reference = reference();
    let cases = cases();
    let wanted: Vec<&str> = reference.iter().map(|e| e.exchange.as_str()).collect();
    let all = pulse_binding::prebuilt_bindings();
    let have: Vec<&str> = all.iter().map(|b| b.exchange_name()).collect();
    assert_eq!(have, wanted);
    for (exchange, binding) in reference.iter().zip(&all) {
        let prefix = prefixes
            .iter()
            .find(|(s, _)| *s == exchange.service)
            .unwrap()
            .1;
        assert!(binding.exchange_name().starts_with(prefix), "{prefix}");
        // Each is the service module's own type, with its words and payload.
        let case = case_of(&cases, exchange);
        assert_eq!(binding.key_words(), (case.default)().key_words());
        assert_eq!(
            binding.payload_type_name(),
            (case.default)().payload_type_name()
        );
    }
}

// What users write, spelled out.

#[test]
fn a_queue_binding_with_no_word_set_binds_primary_keys_only() {
    let binding = queue::TaskDefined::default();
    assert_eq!(binding.routing_key(), "primary.*.*.*.*.*.*.*.*.#");
    assert!(!binding.matches("route.index.gecko.v2.trunk.latest.build.a.b"));
}

#[test]
fn task_completed_of_one_task_group() {
    let binding = queue::TaskCompleted {
        task_group_id: Some("fN1ndDrZSHuMqOMmHfpb8A".into()),
        ..Default::default()
    };
    assert_eq!(
        binding.exchange_name(),
        "exchange/taskcluster-queue/v1/task-completed"
    );
    assert_eq!(
        binding.routing_key(),
        "primary.*.*.*.*.*.*.*.fN1ndDrZSHuMqOMmHfpb8A.#"
    );
    let key = "primary.Zd2cLqR5Sk2bD5YbSpzS0Q.0.us-east-1.i-0123.proj-ci.ci-linux.tc-ci.fN1ndDrZSHuMqOMmHfpb8A._";
    assert!(binding.matches(key));
    assert!(!binding.matches(&key.replace("fN1nd", "xxxxx")));
    let fields = queue::TaskCompleted::from_routing_key(key).unwrap();
    assert_eq!(fields.task_id.as_deref(), Some("Zd2cLqR5Sk2bD5YbSpzS0Q"));
    assert_eq!(fields.run_id.as_deref(), Some("0"));
    assert_eq!(fields.reserved.as_deref(), Some("_"));
}

#[test]
fn a_set_constant_word_other_than_primary_is_refused() {
    let binding = queue::TaskFailed {
        routing_key_kind: Some("route".into()),
        ..Default::default()
    };
    let error = binding.try_routing_key().unwrap_err();
    assert!(error.to_string().contains("task-failed"), "{error}");
}

#[test]
fn a_dot_in_a_single_word_is_refused() {
    let binding = github::PullRequest {
        organization: Some("mozilla.org".into()),
        ..Default::default()
    };
    assert!(binding.try_routing_key().is_err());
    let binding = github::PullRequest {
        organization: Some("mozilla".into()),
        repository: Some("gecko-dev".into()),
        ..Default::default()
    };
    assert_eq!(
        binding.try_routing_key().unwrap(),
        "primary.mozilla.gecko-dev.*"
    );
}

#[test]
fn notify_topics_are_multi_word() {
    let binding = notify::Notify {
        topic: Some("my.team.alerts".into()),
        ..Default::default()
    };
    assert_eq!(binding.routing_key(), "primary.my.team.alerts");
    let fields = notify::Notify::from_routing_key("primary.a.b.c").unwrap();
    assert_eq!(fields.topic.as_deref(), Some("a.b.c"));
    assert_eq!(notify::Notify::default().routing_key(), "primary.#");
}

#[test]
fn hooks_and_auth_bind_everything_by_default() {
    assert_eq!(hooks::HookCreated::default().routing_key(), "#");
    assert!(hooks::HookDeleted::default().matches("_"));
    assert_eq!(auth::RoleUpdated::default().routing_key(), "#");
}

#[test]
fn worker_manager_words_read_back() {
    let key = "primary.aws.proj-ci.ci-linux.us-east-1.i-0123._._";
    let fields = worker_manager::WorkerRunning::from_routing_key(key).unwrap();
    assert_eq!(fields.provider_id.as_deref(), Some("aws"));
    assert_eq!(fields.worker_type.as_deref(), Some("ci-linux"));
    assert_eq!(fields.launch_config_id.as_deref(), Some("_"));
    assert_eq!(fields.routing_key(), key);
}

#[test]
fn the_taskcluster_yml_update_exchange_is_prebuilt_with_an_untyped_payload() {
    let binding = github::TaskclusterYmlUpdate {
        organization: Some("mozilla".into()),
        ..Default::default()
    };
    assert_eq!(
        binding.exchange_name(),
        "exchange/taskcluster-github/v1/taskcluster-yml-update"
    );
    assert_eq!(binding.try_routing_key().unwrap(), "primary.mozilla.*");
    let fields = github::TaskclusterYmlUpdate::from_routing_key("primary.mozilla.gecko-dev")
        .expect("the key Taskcluster 113 publishes");
    assert_eq!(fields.organization.as_deref(), Some("mozilla"));
    assert_eq!(fields.repository.as_deref(), Some("gecko-dev"));
    assert!(binding.matches("primary.mozilla.gecko-dev"));
    assert!(!binding.matches("primary.mozilla.gecko-dev.extra"));
    // Untyped until its schema can be had: any JSON object decodes as it is.
    let body: serde_json::Value = binding
        .decode(
            br#"{"organization": "mozilla", "repository": "gecko-dev", "ref": "refs/heads/main"}"#,
        )
        .expect("JSON");
    assert_eq!(body["ref"], "refs/heads/main");
    assert!(binding.decode(b"not json").is_err());
}
