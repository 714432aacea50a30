//! Typed messages published and consumed through the broker: what arrives is
//! exactly what RabbitMQ routed to the queue, decoded.

use pulse_binding::client::{Consumer, Message, Publisher};
use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted, HookUpdated};
use pulse_binding::{Binding, Bindings, PulseBinding, topic_matches};
use serde_json::json;

use crate::support::{broker, cleanup, config, shared, unique, within};
use crate::{BuildFinished, BuildFinishedBinding};

/// The next item, which must be a message.
pub async fn next_message<M>(consumer: &mut Consumer<M>) -> Message<M> {
    within(20, "the next message", consumer.recv())
        .await
        .expect("the stream goes on")
        .unwrap_or_else(|e| panic!("expected a message, got {e}"))
}

fn hook(id: &str) -> HookChangedMessage {
    let mut m = HookChangedMessage {
        hook_group_id: "pulse-binding-tests".into(),
        hook_id: id.into(),
        ..Default::default()
    };
    m.extra.insert("note".into(), json!({"kept": [1, 2]}));
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_messages_of_the_three_exchanges_arrive_typed() {
    let url = broker!();
    let _guard = shared().await;
    // The hooks service publishes with `_`; our own key keeps this run's
    // queue to this run's messages.
    let key = unique("hooks");
    let bindings = Bindings::new()
        .with_key(
            HookCreated {
                reserved: Some(key.clone()),
            },
            |b, m| ("created", b.reserved, m),
        )
        .with_key(
            HookUpdated {
                reserved: Some(key.clone()),
            },
            |b, m| ("updated", b.reserved, m),
        )
        .with_key(
            HookDeleted {
                reserved: Some(key.clone()),
            },
            |b, m| ("deleted", b.reserved, m),
        );
    let mut consumer = Consumer::builder(config(&url), bindings)
        .declare_exchanges(true)
        .start()
        .await
        .expect("start the consumer");
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");

    let ours = Some(key.clone());
    publisher
        .publish(
            &HookCreated {
                reserved: ours.clone(),
            },
            &hook("created"),
        )
        .await
        .unwrap();
    // Not routed to the queue: another key.
    publisher
        .publish(
            &HookCreated {
                reserved: Some("_".into()),
            },
            &hook("not-ours"),
        )
        .await
        .unwrap();
    publisher
        .publish(
            &HookUpdated {
                reserved: ours.clone(),
            },
            &hook("updated"),
        )
        .await
        .unwrap();
    publisher
        .publish(
            &HookDeleted {
                reserved: ours.clone(),
            },
            &hook("deleted"),
        )
        .await
        .unwrap();
    publisher
        .publish(
            &HookDeleted {
                reserved: ours.clone(),
            },
            &hook("sentinel"),
        )
        .await
        .unwrap();

    let mut got = Vec::new();
    loop {
        let message = next_message(&mut consumer).await;
        let (kind, reserved, payload) = &message.payload;
        assert_eq!(
            reserved.as_deref(),
            Some(key.as_str()),
            "typed routing field"
        );
        assert_eq!(message.fields, [("reserved", Some(key.clone()))]);
        assert_eq!(message.routing_key, key);
        assert!(message.routes.is_empty());
        assert!(!message.redelivered);
        assert_eq!(
            message.exchange,
            format!("exchange/taskcluster-hooks/v1/hook-{kind}")
        );
        let done = payload.hook_id == "sentinel";
        if !done {
            assert_eq!(payload, &hook(kind), "the payload, extra properties kept");
            got.push(*kind);
        }
        message.ack().await.expect("ack");
        if done {
            break;
        }
    }
    assert_eq!(got, ["created", "updated", "deleted"]);
    consumer.close().await;
    publisher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_binding_gets_exactly_the_keys_its_pattern_matches_with_typed_fields() {
    let url = broker!();
    let _guard = shared().await;
    let project = unique("proj");
    let binding = BuildFinishedBinding {
        project: Some(project.clone()),
        platform: Some("linux64".into()),
        ..Default::default()
    };
    let pattern = binding.try_routing_key().unwrap();
    assert_eq!(pattern, format!("primary.{project}.*.linux64.#"));
    let bindings = Bindings::new().with_key(binding, |fields, payload| (fields, payload));
    let mut consumer = Consumer::builder(config(&url), bindings)
        .declare_exchanges(true)
        .prefetch(4)
        .start()
        .await
        .expect("start the consumer");
    let publisher = Publisher::connect(config(&url))
        .await
        .expect("publisher")
        .declare_exchanges(true);
    let exchange = BuildFinishedBinding::default().exchange_name().to_owned();

    let keys = [
        format!("primary.{project}.1.linux64._"),
        format!("primary.{project}.2.linux64.a.b"),
        format!("primary.{project}.3.linux64"),
        format!("primary.{project}.4.win64._"),
        format!("primary.other-{project}.5.linux64._"),
        format!("secondary.{project}.6.linux64._"),
        format!("primary.{project}.7.linux64.x"),
    ];
    for (i, key) in keys.iter().enumerate() {
        let body = serde_json::to_vec(&BuildFinished {
            build_id: i as u64 + 1,
            status: "ok".into(),
        })
        .unwrap();
        publisher.publish_raw(&exchange, key, &body).await.unwrap();
    }
    // Published through the binding: every word set.
    let sentinel = BuildFinishedBinding {
        project: Some(project.clone()),
        build_id: Some(99),
        platform: Some("linux64".into()),
        rest: Some("end".into()),
        ..Default::default()
    };
    publisher
        .publish(
            &sentinel,
            &BuildFinished {
                build_id: 99,
                status: "last".into(),
            },
        )
        .await
        .unwrap();

    let mut received = Vec::new();
    loop {
        let message = next_message(&mut consumer).await;
        let (fields, payload) = &message.payload;
        assert_eq!(fields.project.as_deref(), Some(project.as_str()));
        assert_eq!(fields.platform.as_deref(), Some("linux64"));
        assert_eq!(fields.build_id, Some(payload.build_id), "typed u64 field");
        assert_eq!(
            message.field("build_id"),
            Some(payload.build_id.to_string().as_str())
        );
        assert_eq!(message.field("kind"), Some("primary"));
        if payload.build_id == 2 {
            assert_eq!(fields.rest.as_deref(), Some("a.b"));
        }
        if payload.build_id == 3 {
            assert_eq!(fields.rest, None, "`#` matched no word");
        }
        let done = payload.build_id == 99;
        received.push(message.routing_key.clone());
        message.ack().await.expect("ack");
        if done {
            break;
        }
    }
    let mut expected: Vec<String> = keys
        .iter()
        .filter(|k| topic_matches(&pattern, k))
        .cloned()
        .collect();
    expected.push(format!("primary.{project}.99.linux64.end"));
    assert_eq!(received, expected);
    assert_eq!(expected.len(), 5, "the test publishes keys on both sides");
    consumer.close().await;
    publisher.close().await;
}

#[derive(Debug)]
enum Event {
    Hook(HookChangedMessage),
    Build(Box<BuildFinishedBinding>, BuildFinished),
    Indexed(serde_json::Value),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_bindings_share_one_queue_and_cc_routes_arrive_stripped() {
    let url = broker!();
    let _guard = shared().await;
    let key = unique("mixed");
    let index_exchange = unique("exchange/pulse-binding-tests/index");
    let bindings = Bindings::new()
        .with(
            HookCreated {
                reserved: Some(key.clone()),
            },
            Event::Hook,
        )
        .with_key(
            BuildFinishedBinding {
                project: Some(key.clone()),
                ..Default::default()
            },
            |b, p| Event::Build(Box::new(b), p),
        )
        // Matches only through a CC route, as Taskcluster's index routes do.
        .with(
            Binding::new(index_exchange.as_str(), format!("route.index.{key}.#")),
            Event::Indexed,
        );
    let mut consumer = Consumer::builder(config(&url), bindings)
        .declare_exchanges(true)
        .start()
        .await
        .expect("start the consumer");
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");

    publisher
        .publish(
            &HookCreated {
                reserved: Some(key.clone()),
            },
            &hook("h1"),
        )
        .await
        .unwrap();
    let build = BuildFinishedBinding {
        project: Some(key.clone()),
        build_id: Some(7),
        platform: Some("mac".into()),
        rest: Some("_".into()),
        ..Default::default()
    };
    let finished = BuildFinished {
        build_id: 7,
        status: "ok".into(),
    };
    publisher.publish(&build, &finished).await.unwrap();
    let task = Binding::new(index_exchange.as_str(), "primary.task-1.0");
    publisher
        .publish_routed(
            &task,
            &json!({"status": {"taskId": "task-1"}}),
            &[format!("index.{key}.latest"), "notify.email.x".to_owned()],
        )
        .await
        .unwrap();

    let hook_message = next_message(&mut consumer).await;
    assert!(matches!(&hook_message.payload, Event::Hook(m) if m.hook_id == "h1"));
    assert_eq!(hook_message.fields, [("reserved", Some(key.clone()))]);

    let build_message = next_message(&mut consumer).await;
    match &build_message.payload {
        Event::Build(fields, payload) => {
            // Parsed from the key, the fixed word is there too.
            let parsed = BuildFinishedBinding {
                kind: Some("primary".into()),
                ..build.clone()
            };
            assert_eq!(**fields, parsed);
            assert_eq!(payload, &finished);
        }
        other => panic!("expected the build, got {other:?}"),
    }
    assert_eq!(build_message.field("platform"), Some("mac"));

    let indexed = next_message(&mut consumer).await;
    match &indexed.payload {
        Event::Indexed(v) => assert_eq!(v["status"]["taskId"], "task-1"),
        other => panic!("expected the indexed task, got {other:?}"),
    }
    assert_eq!(indexed.exchange, index_exchange);
    assert_eq!(indexed.routing_key, "primary.task-1.0");
    assert_eq!(
        indexed.routes,
        [format!("index.{key}.latest"), "notify.email.x".to_owned()]
    );
    assert!(
        indexed.fields.is_empty(),
        "a runtime binding names no fields"
    );

    for m in [hook_message, build_message, indexed] {
        m.ack().await.expect("ack");
    }
    consumer.close().await;
    publisher.close().await;
    cleanup(&url, &[], &[&index_exchange]).await;
}
