//! A frozen broker (SIGSTOP): heartbeats notice it within 2.5 intervals, the
//! consumer recovers after SIGCONT, and a publish never outlasts its
//! confirm timeout.

use std::time::{Duration, Instant};

use pulse_binding::client::{Consumer, ConsumerEvent, Publisher};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use crate::support::{
    ThawOnDrop, broker, broker_os_pid, cleanup, config, exclusive, fast_reconnect,
    have_rabbitmqctl, next_event, unique, within,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_broker_is_noticed_within_two_and_a_half_heartbeats() {
    let url = broker!();
    let _guard = exclusive().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let heartbeat = Duration::from_secs(2);
    let exchange = unique("exchange/pulse-binding-tests/heartbeat");
    let config = config(&url).with_heartbeat(heartbeat);
    let mut consumer = Consumer::builder(
        config.clone(),
        Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v),
    )
    .declare_exchanges(true)
    .reconnect(fast_reconnect())
    .start()
    .await
    .expect("consumer");
    let mut events = consumer.events();
    let publisher = Publisher::connect(config.clone())
        .await
        .expect("publisher")
        .confirm_timeout(Duration::from_secs(1));
    publisher
        .publish_raw(&exchange, "x", b"{}")
        .await
        .expect("publish");
    within(10, "a message", consumer.recv())
        .await
        .unwrap()
        .unwrap()
        .ack()
        .await
        .unwrap();
    // Let a few heartbeats pass so that the connection is in its steady state.
    tokio::time::sleep(heartbeat * 2).await;

    let pid = broker_os_pid().await;
    let thaw = ThawOnDrop(pid.clone());
    let frozen = Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );

    // A publish to a frozen broker returns within its confirm timeout.
    let started = Instant::now();
    let outcome = publisher.publish_raw(&exchange, "x", b"{}").await;
    let took = started.elapsed();
    assert!(
        outcome.is_err(),
        "nothing can confirm while the broker is frozen"
    );
    assert!(
        took < Duration::from_millis(1500),
        "publish took {took:?} with a 1 s bound"
    );

    let reason = next_event(&mut events, 30, "the loss to be noticed", |e| match e {
        ConsumerEvent::Disconnected { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    let noticed = frozen.elapsed();
    assert!(
        noticed <= heartbeat * 5 / 2 + Duration::from_millis(500),
        "noticed after {noticed:?} ({reason}); heartbeat {heartbeat:?}"
    );
    drop(thaw);

    next_event(&mut events, 60, "reconnection after the thaw", |e| {
        matches!(e, ConsumerEvent::Connected { .. }).then_some(())
    })
    .await;
    let publisher = Publisher::connect(config)
        .await
        .expect("publisher after the thaw");
    publisher
        .publish_raw(
            &exchange,
            "x",
            &serde_json::to_vec(&json!({"after": true})).unwrap(),
        )
        .await
        .expect("publish after the thaw");
    let message = within(10, "a message after the thaw", consumer.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.payload, json!({"after": true}));
    message.ack().await.unwrap();
    assert_eq!(consumer.stats().reconnections, 1);
    consumer.close().await;
    publisher.close().await;
    cleanup(&url, &[], &[&exchange]).await;
}
