//! Settling: requeue order, the prefetch, consumers sharing a queue, and a
//! lost connection's held messages.

use std::time::Duration;

use pulse_binding::client::{AckError, QueueSpec};

use super::{Rig, conformance, id, json_bindings, next, publish};
use crate::support::within;

conformance!(
    a_requeued_message_comes_back_first_marked_redelivered,
    prefetch_bounds_the_unacknowledged_and_acks_free_slots,
    consumers_of_one_named_queue_share_its_messages,
    a_disconnect_redelivers_what_was_held_and_the_consumer_reconnects,
);

async fn a_requeued_message_comes_back_first_marked_redelivered(rig: &Rig) {
    let exchange = rig.exchange();
    let queue = rig.unique("requeue");
    // A classic queue: a quorum queue (RabbitMQ 3.10) puts a requeued
    // message behind the others (see the module's differences).
    let mut consumer = rig
        .consumer(&queue, json_bindings(&exchange, &["#"]))
        .queue(QueueSpec::named(&queue).quorum(false))
        .prefetch(1)
        .start()
        .await
        .unwrap();
    let publisher = rig.publisher().await;
    for n in ["a", "b"] {
        publish(&publisher, &exchange, "k", n, &[]).await;
    }
    let first = next(&mut consumer).await;
    assert_eq!((id(&first), first.redelivered), ("a", false));
    assert_eq!(rig.ready(&queue, 1).await, 1, "prefetch 1");
    first.reject(true).await.unwrap();
    let again = next(&mut consumer).await;
    assert_eq!((id(&again), again.redelivered), ("a", true));
    again.ack().await.unwrap();
    let second = next(&mut consumer).await;
    assert_eq!((id(&second), second.redelivered), ("b", false));
    second.ack().await.unwrap();
    publisher.close().await;
    consumer.close().await;
    rig.cleanup(&[&queue], &[&exchange]).await;
}

async fn prefetch_bounds_the_unacknowledged_and_acks_free_slots(rig: &Rig) {
    let exchange = rig.exchange();
    let queue = rig.unique("prefetch");
    let mut consumer = rig
        .consumer(&queue, json_bindings(&exchange, &["#"]))
        .prefetch(2)
        .start()
        .await
        .unwrap();
    let publisher = rig.publisher().await;
    for n in ["1", "2", "3", "4", "5"] {
        publish(&publisher, &exchange, "k", n, &[]).await;
    }
    assert_eq!(rig.unacked(&queue, 2).await, 2);
    assert_eq!(rig.ready(&queue, 3).await, 3);
    let first = next(&mut consumer).await;
    assert_eq!(id(&first), "1");
    first.ack().await.unwrap();
    assert_eq!(rig.ready(&queue, 2).await, 2, "the ack frees a slot");
    next(&mut consumer).await.reject(false).await.unwrap();
    assert_eq!(rig.ready(&queue, 1).await, 1, "the reject frees a slot");
    let three = next(&mut consumer).await;
    let four = next(&mut consumer).await;
    assert_eq!([id(&three), id(&four)], ["3", "4"], "in publication order");
    three.ack().await.unwrap();
    four.ack().await.unwrap();
    let five = next(&mut consumer).await;
    assert_eq!(id(&five), "5");
    five.ack().await.unwrap();
    publisher.close().await;
    consumer.close().await;
    rig.cleanup(&[&queue], &[&exchange]).await;
}

async fn consumers_of_one_named_queue_share_its_messages(rig: &Rig) {
    let exchange = rig.exchange();
    let queue = rig.unique("shared");
    let start = || {
        rig.consumer(&queue, json_bindings(&exchange, &["#"]))
            .prefetch(1)
            .start()
    };
    let (mut first, mut second) = (start().await.unwrap(), start().await.unwrap());
    let publisher = rig.publisher().await;
    for n in ["1", "2", "3"] {
        publish(&publisher, &exchange, "k", n, &[]).await;
    }
    let (a, b) = (next(&mut first).await, next(&mut second).await);
    let mut ids = [id(&a).to_owned(), id(&b).to_owned()];
    ids.sort();
    assert_eq!(ids, ["1", "2"], "each holds one, the first two");
    assert_eq!(rig.ready(&queue, 1).await, 1, "each holds its prefetch");
    a.ack().await.unwrap();
    b.ack().await.unwrap();
    publisher.close().await;
    first.close().await;
    second.close().await;
    rig.cleanup(&[&queue], &[&exchange]).await;
}

async fn a_disconnect_redelivers_what_was_held_and_the_consumer_reconnects(rig: &Rig) {
    let exchange = rig.exchange();
    let queue = rig.unique("held");
    let mut consumer = rig
        .consumer(&queue, json_bindings(&exchange, &["#"]))
        .start()
        .await
        .unwrap();
    assert_eq!(consumer.queue_name(), rig.full_name(&queue));
    let publisher = rig.publisher().await;
    publish(&publisher, &exchange, "k", "a", &[]).await;
    let held = next(&mut consumer).await;
    assert_eq!(rig.unacked(&queue, 1).await, 1);
    rig.disconnect(&[&queue]).await;
    assert!(within(30, "reconnection", consumer.wait_reconnections(1)).await);
    assert!(matches!(
        held.ack().await,
        Err(AckError::ConnectionLost { .. })
    ));
    let again = next(&mut consumer).await;
    assert_eq!((id(&again), again.redelivered), ("a", true));
    again.ack().await.unwrap();
    assert_eq!(
        rig.unacked(&queue, 0).await,
        0,
        "acknowledged on the new connection"
    );
    // Still bound after the reconnection.
    publish(&publisher, &exchange, "k", "b", &[]).await;
    assert_eq!(id(&next(&mut consumer).await), "b");
    assert_eq!(consumer.reconnections(), 1);
    publisher.close().await;
    let report = consumer.shutdown(Duration::from_secs(10)).await;
    assert_eq!(report.timed_out, 0);
    rig.cleanup(&[&queue], &[&exchange]).await;
}
