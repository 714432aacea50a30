//! `FakePulse` beside RabbitMQ: one scenario (prebuilt bindings with some
//! words set, CC routes, a body that does not decode, rejects with and
//! without requeue, messages held over a lost connection) runs on both, and
//! each queue must get the same deliveries with the same `redelivered` flags.

use std::collections::BTreeMap;
use std::time::Duration;

use pulse_binding::client::{AckError, ConsumeError, Consumer, Message};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};
use pulse_binding::queue::{TaskCompleted, TaskCompletedMessage, TaskFailed, TaskFailedMessage};
use pulse_binding::testing::FakePulse;
use pulse_binding::{Binding, Bindings, PulseBinding};

use super::Rig;
use crate::support::{broker, have_rabbitmqctl, shared, unique, within};

/// How long a consumer must stay quiet for the queue to count as drained.
const QUIET: Duration = Duration::from_millis(400);

/// What a queue's consumer yields, from any of its bindings.
#[derive(Debug)]
enum Event {
    Completed(TaskCompletedMessage),
    Failed(TaskFailedMessage),
    Hook(HookChangedMessage),
    Routed(serde_json::Value),
}

impl Event {
    /// The id the scenario gave the message: its run id, or its hook id.
    fn id(&self) -> String {
        match self {
            Self::Completed(m) => m.run_id.to_string(),
            Self::Failed(m) => m.run_id.to_string(),
            Self::Hook(m) => m.hook_id.clone(),
            Self::Routed(v) => v["runId"].to_string(),
        }
    }
}

/// One delivery as both sides must agree on it.
type Record = String;

fn completed(task: &str, provisioner: &str) -> TaskCompleted {
    let word = |w: &str| Some(w.to_owned());
    TaskCompleted {
        task_id: word(task),
        run_id: word("0"),
        worker_group: word("wg"),
        worker_id: word("wi"),
        provisioner_id: word(provisioner),
        worker_type: word("wt"),
        scheduler_id: word("s"),
        task_group_id: word("g"),
        reserved: word("_"),
        ..Default::default()
    }
}

fn failed(task: &str, provisioner: &str) -> TaskFailed {
    let word = |w: &str| Some(w.to_owned());
    TaskFailed {
        task_id: word(task),
        run_id: word("0"),
        worker_group: word("wg"),
        worker_id: word("wi"),
        provisioner_id: word(provisioner),
        worker_type: word("wt"),
        scheduler_id: word("s"),
        task_group_id: word("g"),
        reserved: word("_"),
        ..Default::default()
    }
}

fn run(id: u64) -> TaskCompletedMessage {
    TaskCompletedMessage {
        run_id: id,
        ..Default::default()
    }
}

/// Reads `consumer` until it is quiet, recording each delivery and doing
/// what the scenario says with it: message `1` is requeued once, `2`
/// rejected for good, `3` and `hold` held (until their redelivery), the
/// rest acknowledged.
async fn drain(
    consumer: &mut Consumer<Event>,
    records: &mut Vec<Record>,
    held: &mut Vec<Message<Event>>,
) {
    let mut deliveries = 0;
    while let Ok(item) = tokio::time::timeout(QUIET, consumer.recv()).await {
        deliveries += 1;
        assert!(deliveries <= 50, "a message keeps coming back: {records:?}");
        let message = match item.expect("the stream goes on") {
            Ok(message) => message,
            Err(ConsumeError::Rejected(r)) => {
                records.push(format!(
                    "rejected {} {} {:?} {:?}",
                    r.exchange,
                    r.routing_key,
                    r.cc,
                    String::from_utf8_lossy(&r.body)
                ));
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let id = message.payload.id();
        records.push(format!(
            "{id} {} {} routes={:?} fields={:?} redelivered={}",
            message.exchange,
            message.routing_key,
            message.routes,
            message.fields,
            message.redelivered
        ));
        match (id.as_str(), message.redelivered) {
            ("1", false) => message.reject(true).await.unwrap(),
            ("2", _) => message.reject(false).await.unwrap(),
            ("3" | "hold", false) => held.push(message),
            _ => message.ack().await.unwrap(),
        }
    }
}

/// Runs the scenario; returns each queue's deliveries, sorted.
async fn scenario(rig: &Rig, tag: &str) -> BTreeMap<&'static str, Vec<Record>> {
    let (task_a, task_b) = (format!("{tag}a"), format!("{tag}b"));
    let (name_a, name_b) = (format!("{tag}-qa"), format!("{tag}-qb"));
    let bindings_a = Bindings::new()
        .with(
            TaskCompleted {
                task_id: Some(task_a.clone()),
                ..Default::default()
            },
            Event::Completed,
        )
        .with(
            HookCreated {
                reserved: Some(tag.to_owned()),
            },
            Event::Hook,
        );
    let route_pattern = format!("route.{tag}.#");
    let bindings_b = Bindings::new()
        .with(
            TaskFailed {
                task_id: Some(task_b.clone()),
                provisioner_id: Some("prov".into()),
                ..Default::default()
            },
            Event::Failed,
        )
        .with(
            Binding::new(TaskCompleted::default().exchange_name(), &route_pattern),
            Event::Routed,
        );
    let mut a = rig.consumer(&name_a, bindings_a).start().await.unwrap();
    let mut b = rig.consumer(&name_b, bindings_b).start().await.unwrap();
    let publisher = rig.publisher().await;

    let (x, y, z) = (format!("{tag}.x"), format!("{tag}.y"), format!("{tag}.z"));
    // To a by its key and to b by its route.
    publisher
        .publish_routed(&completed(&task_a, "p"), &run(1), &[&x])
        .await
        .unwrap();
    // To b once, by two of its routes.
    publisher
        .publish_routed(&completed(&task_b, "p"), &run(2), &[&y, &z])
        .await
        .unwrap();
    let failed_b = failed(&task_b, "prov");
    let failed_message = TaskFailedMessage {
        run_id: 3,
        ..Default::default()
    };
    publisher.publish(&failed_b, &failed_message).await.unwrap();
    // To no queue: b binds provisioner `prov` only.
    let elsewhere = TaskFailedMessage {
        run_id: 4,
        ..Default::default()
    };
    publisher
        .publish(&failed(&task_b, "other"), &elsewhere)
        .await
        .unwrap();
    let hook = |id: &str| HookChangedMessage {
        hook_id: id.into(),
        ..Default::default()
    };
    let created = HookCreated {
        reserved: Some(tag.to_owned()),
    };
    publisher.publish(&created, &hook("hold")).await.unwrap();
    publisher.publish(&created, &hook("acked")).await.unwrap();
    let key_a = completed(&task_a, "p").routing_key();
    publisher
        .publish_raw(
            TaskCompleted::default().exchange_name(),
            &key_a,
            b"{not json",
        )
        .await
        .unwrap();

    let mut records = BTreeMap::from([("a", Vec::new()), ("b", Vec::new())]);
    let mut held = Vec::new();
    for (consumer, queue) in [(&mut a, "a"), (&mut b, "b")] {
        drain(consumer, records.get_mut(queue).unwrap(), &mut held).await;
    }
    assert_eq!(held.len(), 2, "held: the hook `hold`, and run 3 in b");

    rig.disconnect(&[name_a.as_str(), name_b.as_str()]).await;
    for consumer in [&a, &b] {
        let reconnected = within(30, "reconnection", consumer.wait_reconnections(1)).await;
        assert!(reconnected);
    }
    for message in held {
        let after_loss = message.ack().await;
        assert!(
            matches!(after_loss, Err(AckError::ConnectionLost { .. })),
            "{after_loss:?}"
        );
    }
    // After the reconnection: still bound.
    publisher
        .publish(&completed(&task_a, "p"), &run(5))
        .await
        .unwrap();
    let mut held = Vec::new();
    for (consumer, queue) in [(&mut a, "a"), (&mut b, "b")] {
        drain(consumer, records.get_mut(queue).unwrap(), &mut held).await;
    }
    assert!(held.is_empty(), "redelivered messages are acknowledged");
    for consumer in [a, b] {
        let report = consumer.shutdown(Duration::from_secs(10)).await;
        assert_eq!(report.timed_out, 0);
    }
    publisher.close().await;
    rig.cleanup(&[&name_a, &name_b], &[]).await;
    for list in records.values_mut() {
        list.sort();
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_delivers_what_rabbitmq_delivers() {
    let url = broker!();
    let _guard = shared().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let tag = unique("fake");
    let fake = scenario(&Rig::Fake(FakePulse::new()), &tag).await;
    let real = scenario(&Rig::Broker(url), &tag).await;
    assert_eq!(fake, real, "fake on the left, RabbitMQ on the right");

    // The scenario did what it is for.
    let count =
        |queue: &str, pick: &dyn Fn(&str) -> bool| real[queue].iter().filter(|r| pick(r)).count();
    let rejected = |r: &str| r.starts_with("rejected ");
    let redelivered = |r: &str| r.ends_with("redelivered=true");
    assert_eq!(count("a", &rejected), 1, "the body that does not decode");
    assert_eq!(
        count("a", &redelivered),
        2,
        "run 1 requeued, `hold` after the loss"
    );
    assert_eq!(
        count("b", &redelivered),
        2,
        "run 1 requeued, run 3 after the loss"
    );
    assert_eq!(real["a"].len(), 7, "{:?}", real["a"]);
    assert_eq!(
        real["b"].len(),
        5,
        "runs 1 (twice), 2, 3 (twice): {:?}",
        real["b"]
    );
    assert_eq!(
        count("b", &|r| r.starts_with("4 ")),
        0,
        "run 4 reaches no queue"
    );
}
