//! Queue limits: what a full queue does with one more message, and a queue
//! declared again with other limits.

use pulse_binding::client::{ClientError, Overflow, QueueSpec};

use super::{Rig, conformance, id, json_bindings, next, publish};

conformance!(
    max_length_drops_the_oldest_or_refuses_the_newest,
    a_queue_declared_again_with_other_limits_is_a_mismatch,
);

async fn max_length_drops_the_oldest_or_refuses_the_newest(rig: &Rig) {
    let exchange = rig.exchange();
    let (drop, reject) = (rig.unique("drop"), rig.unique("reject"));
    // Classic queues: a quorum queue (RabbitMQ 3.10) applies its length
    // limit loosely (see the module's differences).
    let spec = |name: &str, overflow| {
        QueueSpec::named(name)
            .quorum(false)
            .max_length(2)
            .overflow(overflow)
    };
    for (name, overflow) in [
        (&drop, Overflow::DropHead),
        (&reject, Overflow::RejectPublish),
    ] {
        // Declared and bound; with no consumer, what comes stays ready.
        rig.consumer(name, json_bindings(&exchange, &["#"]))
            .queue(spec(name, overflow))
            .start()
            .await
            .unwrap()
            .close()
            .await;
    }
    let publisher = rig.publisher().await;
    for n in ["1", "2"] {
        publish(&publisher, &exchange, "k", n, &[]).await;
    }
    let third = publisher
        .publish_routed(
            &pulse_binding::Binding::new(&exchange, "k"),
            &serde_json::json!({ "id": "3" }),
            &[] as &[&str],
        )
        .await;
    assert!(
        matches!(third, Err(ClientError::Nacked { .. })),
        "the full reject-publish queue refuses: {third:?}"
    );
    assert_eq!(rig.ready(&drop, 2).await, 2);
    assert_eq!(rig.ready(&reject, 2).await, 2);
    let mut kept = Vec::new();
    for (name, overflow) in [
        (&drop, Overflow::DropHead),
        (&reject, Overflow::RejectPublish),
    ] {
        let mut consumer = rig
            .consumer(name, json_bindings(&exchange, &["#"]))
            .queue(spec(name, overflow))
            .start()
            .await
            .unwrap();
        let first = next(&mut consumer).await;
        kept.push(id(&first).to_owned());
        first.ack().await.unwrap();
        consumer.close().await;
    }
    assert_eq!(
        kept,
        ["2", "1"],
        "drop-head keeps the newest, reject-publish the oldest"
    );
    publisher.close().await;
    rig.cleanup(&[&drop, &reject], &[&exchange]).await;
}

async fn a_queue_declared_again_with_other_limits_is_a_mismatch(rig: &Rig) {
    let exchange = rig.exchange();
    let queue = rig.unique("mismatch");
    let first = rig
        .consumer(&queue, json_bindings(&exchange, &["#"]))
        .queue(
            QueueSpec::named(&queue)
                .max_length(2)
                .overflow(Overflow::RejectPublish),
        )
        .start()
        .await
        .unwrap();
    first.close().await;
    let again = rig
        .consumer(&queue, json_bindings(&exchange, &["#"]))
        .queue(QueueSpec::named(&queue).max_length(3))
        .start()
        .await;
    match again {
        Err(ClientError::QueueMismatch { queue: name, .. }) => {
            assert_eq!(name, rig.full_name(&queue));
        }
        Err(other) => panic!("not a mismatch: {other}"),
        Ok(_) => panic!("a queue declared with other limits started"),
    }
    rig.cleanup(&[&queue], &[&exchange]).await;
}
