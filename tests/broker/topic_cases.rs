//! The broker's topic routing agrees with tests/data/topic-cases.tsv and with
//! `pulse_binding::topic_matches`, case by case, on a live RabbitMQ.

use std::collections::{BTreeMap, BTreeSet};

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, ExchangeKind};
use pulse_binding::topic_matches;

use crate::support::{broker, cleanup, raw_connection, shared, unique, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_routes_every_recorded_case_as_recorded_and_as_topic_matches_says() {
    let url = broker!();
    let _guard = shared().await;
    let cases = pulse_binding_tests::topic_cases();
    assert_eq!(cases.len(), 380, "the file's case count changed");

    let patterns: BTreeSet<&str> = cases.iter().map(|c| c.pattern.as_str()).collect();
    let keys: Vec<&str> = cases
        .iter()
        .map(|c| c.key.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let connection = raw_connection(&url).await;
    let channel = connection.create_channel().await.expect("channel");
    let exchange = unique("pulse-binding-test/topic-cases");
    channel
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare the exchange");

    // One exclusive queue per pattern.
    let mut queue_of: BTreeMap<&str, String> = BTreeMap::new();
    for pattern in &patterns {
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("declare a queue");
        let name = queue.name().as_str().to_owned();
        channel
            .queue_bind(
                name.as_str().into(),
                exchange.as_str().into(),
                ShortString::try_new(*pattern).expect("pattern fits a short string"),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("bind with {pattern:?}: {e}"));
        queue_of.insert(pattern, name);
    }

    // Every key once, its index as the body; confirmed, so routed everywhere
    // before we look.
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    let mut confirms = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        confirms.push(
            channel
                .basic_publish(
                    exchange.as_str().into(),
                    ShortString::try_new(*key).expect("key fits a short string"),
                    BasicPublishOptions::default(),
                    i.to_string().as_bytes(),
                    BasicProperties::default(),
                )
                .await
                .expect("publish"),
        );
    }
    for confirm in confirms {
        assert!(
            within(10, "publisher confirm", confirm)
                .await
                .expect("confirm")
                .is_ack()
        );
    }

    // What each queue got.
    let mut routed: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (pattern, queue) in &queue_of {
        while let Some(message) = within(
            10,
            "basic.get",
            channel.basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true }),
        )
        .await
        .expect("basic.get")
        {
            let index: usize = std::str::from_utf8(&message.delivery.data)
                .expect("utf-8 body")
                .parse()
                .expect("index body");
            assert_eq!(message.delivery.routing_key.as_str(), keys[index]);
            assert!(
                routed.insert((pattern, keys[index])),
                "{pattern:?} got {:?} twice",
                keys[index]
            );
        }
    }

    let mut disagreements = Vec::new();
    for case in &cases {
        let broker_says = routed.contains(&(case.pattern.as_str(), case.key.as_str()));
        let ours = topic_matches(&case.pattern, &case.key);
        if broker_says != case.matches || ours != case.matches {
            disagreements.push(format!(
                "line {}: pattern {:?} key {:?}: file {}, broker {}, topic_matches {}",
                case.line, case.pattern, case.key, case.matches, broker_says, ours
            ));
        }
    }
    crate::support::close_raw(&connection).await;
    cleanup(&url, &[], &[&exchange]).await;
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // The broker really routed something, and really refused something.
    assert!(cases.iter().any(|c| c.matches) && cases.iter().any(|c| !c.matches));
}
