//! Routing: topic patterns, CC routes, other exchanges, bodies no binding
//! decodes.

use std::time::Duration;

use super::{Rig, conformance, id, json_bindings, next, next_rejected, publish, quiet};

conformance!(
    cc_routes_reach_a_queue_once_however_many_match,
    other_exchanges_and_keys_do_not_reach_the_queue,
    a_body_no_binding_decodes_is_rejected_and_dropped,
);

async fn cc_routes_reach_a_queue_once_however_many_match(rig: &Rig) {
    let exchange = rig.exchange();
    let (both, other) = (rig.unique("cc-both"), rig.unique("cc-other"));
    let mut by_both = rig
        .consumer(&both, json_bindings(&exchange, &["key.#", "route.index.#"]))
        .start()
        .await
        .unwrap();
    let mut by_other = rig
        .consumer(&other, json_bindings(&exchange, &["route.other.*"]))
        .start()
        .await
        .unwrap();
    let publisher = rig.publisher().await;
    publish(
        &publisher,
        &exchange,
        "key.a",
        "a",
        &["index.x", "index.y", "other.z"],
    )
    .await;
    let message = next(&mut by_both).await;
    assert_eq!(message.routes, ["index.x", "index.y", "other.z"]);
    message.ack().await.unwrap();
    assert_eq!(id(&next(&mut by_other).await), "a");
    // Matched by its key and two CC keys, delivered once.
    assert!(quiet(&mut by_both, Duration::from_millis(300)).await);
    // A route that matches no binding reaches no queue.
    publish(&publisher, &exchange, "key.b", "b", &["elsewhere"]).await;
    assert_eq!(id(&next(&mut by_both).await), "b");
    assert!(quiet(&mut by_other, Duration::from_millis(300)).await);
    assert_eq!(rig.ready(&other, 0).await, 0);
    publisher.close().await;
    by_both.close().await;
    by_other.close().await;
    rig.cleanup(&[&both, &other], &[&exchange]).await;
}

async fn other_exchanges_and_keys_do_not_reach_the_queue(rig: &Rig) {
    let (exchange, elsewhere) = (rig.exchange(), rig.exchange());
    let queue = rig.unique("other");
    let mut consumer = rig
        .consumer(&queue, json_bindings(&exchange, &["x"]))
        .start()
        .await
        .unwrap();
    let publisher = rig.publisher().await;
    publish(&publisher, &exchange, "y", "wrong key", &[]).await;
    publish(&publisher, &elsewhere, "x", "wrong exchange", &[]).await;
    publish(&publisher, &exchange, "x", "right", &[]).await;
    assert_eq!(id(&next(&mut consumer).await), "right");
    assert!(quiet(&mut consumer, Duration::from_millis(300)).await);
    assert_eq!(rig.ready(&queue, 0).await, 0);
    publisher.close().await;
    consumer.close().await;
    rig.cleanup(&[&queue], &[&exchange, &elsewhere]).await;
}

async fn a_body_no_binding_decodes_is_rejected_and_dropped(rig: &Rig) {
    let exchange = rig.exchange();
    let queue = rig.unique("undecodable");
    let mut consumer = rig
        .consumer(&queue, json_bindings(&exchange, &["x"]))
        .start()
        .await
        .unwrap();
    let publisher = rig.publisher().await;
    publisher
        .publish_raw(&exchange, "x", b"not json")
        .await
        .unwrap();
    assert_eq!(next_rejected(&mut consumer).await, b"not json");
    assert_eq!(consumer.stats().rejected, 1);
    assert_eq!(rig.ready(&queue, 0).await, 0, "dropped, not requeued");
    assert_eq!(rig.unacked(&queue, 0).await, 0);
    publisher.close().await;
    consumer.close().await;
    rig.cleanup(&[&queue], &[&exchange]).await;
}
