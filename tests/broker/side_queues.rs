//! The retry and dead-letter queues of handler mode: quorum queues, what
//! becomes of the classic ones pulse-binding 0.1 declared, and a retry that
//! the broker routes nowhere.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel};
use pulse_binding::client::{ClientError, Consumer, HandlerError, Message, QueueSpec, RetryPolicy};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use crate::support::{
    broker, cleanup, close_raw, config, have_rabbitmqctl, rabbitmqctl, raw_connection, ready_count,
    shared, unique, within,
};

const DELAY: Duration = Duration::from_millis(200);

fn policy() -> RetryPolicy {
    RetryPolicy::new(2).delay(DELAY, DELAY)
}

async fn start(
    url: &str,
    exchange: &str,
    spec: &QueueSpec,
) -> Result<Consumer<Value>, ClientError> {
    Consumer::builder(
        config(url),
        Bindings::new().with(Binding::new(exchange, "#"), |v: Value| v),
    )
    .queue(spec.clone())
    .declare_exchanges(true)
    .retry(policy())
    .start()
    .await
}

/// Declares `name` as pulse-binding 0.1 did: a durable classic queue, with
/// for a retry queue its delay and the main queue to go back to.
async fn declare_classic(channel: &Channel, name: &str, retry_to: Option<&str>) {
    let mut arguments = FieldTable::default();
    if let Some(main) = retry_to {
        arguments.insert("x-message-ttl".into(), AMQPValue::LongLongInt(200));
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(LongString::from("")),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(LongString::from(main)),
        );
    }
    channel
        .queue_declare(
            name.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await
        .expect("declare a classic queue as 0.1 did");
}

/// The type (`classic` or `quorum`) of each queue whose name starts with
/// `prefix`, by name, as the broker lists them.
async fn queue_types(prefix: &str) -> Vec<(String, String)> {
    let listed = rabbitmqctl(&["list_queues", "-q", "--no-table-headers", "name", "type"])
        .await
        .expect("list queues");
    let mut types: Vec<(String, String)> = listed
        .lines()
        .filter_map(|line| {
            let (name, kind) = line.trim().rsplit_once(char::is_whitespace)?;
            let name = name.trim();
            name.starts_with(prefix)
                .then(|| (name.to_owned(), kind.to_owned()))
        })
        .collect();
    types.sort();
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_and_dead_letter_queues_are_quorum_queues_and_empty_classic_ones_are_replaced() {
    let url = broker!();
    let _guard = shared().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let exchange = unique("exchange/pulse-binding-tests/side");
    let spec = QueueSpec::named(unique("side-replaced"));
    let queue = spec.full_name("guest").unwrap();
    let (dead, retry) = (format!("{queue}/dead"), format!("{queue}/retry/200ms"));
    let raw = raw_connection(&url).await;
    let channel = raw.create_channel().await.unwrap();
    declare_classic(&channel, &dead, None).await;
    declare_classic(&channel, &retry, Some(&queue)).await;
    assert_eq!(
        queue_types(&queue).await,
        [
            (dead.clone(), "classic".into()),
            (retry.clone(), "classic".into())
        ]
    );

    let consumer = start(&url, &exchange, &spec)
        .await
        .expect("empty classic side queues do not stop the start");
    assert_eq!(
        queue_types(&queue).await,
        [
            (queue.clone(), "quorum".into()),
            (dead.clone(), "quorum".into()),
            (retry.clone(), "quorum".into()),
        ]
    );
    consumer.close().await;
    // A second start finds them as it declares them.
    let again = start(&url, &exchange, &spec).await.expect("start again");
    again.close().await;
    close_raw(&raw).await;
    cleanup(&url, &[&queue, &dead, &retry], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_dead_letter_queue_holding_messages_stops_the_start_and_says_what_to_do() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/side");
    let spec = QueueSpec::named(unique("side-held"));
    let queue = spec.full_name("guest").unwrap();
    let (dead, retry) = (format!("{queue}/dead"), format!("{queue}/retry/200ms"));
    let raw = raw_connection(&url).await;
    let channel = raw.create_channel().await.unwrap();
    declare_classic(&channel, &dead, None).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    for n in 0..3 {
        channel
            .basic_publish(
                "".into(),
                dead.as_str().into(),
                BasicPublishOptions::default(),
                format!("{{\"n\": {n}}}").as_bytes(),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }

    let e = start(&url, &exchange, &spec)
        .await
        .expect_err("a classic dead-letter queue with messages is not replaced");
    match &e {
        ClientError::QueueMismatch {
            queue: name,
            detail,
        } => {
            assert_eq!(name, &dead);
            assert!(detail.contains("inequivalent arg"), "{detail}");
            assert!(detail.contains("it holds 3 message(s)"), "{detail}");
            assert!(detail.contains("pulse dead-letters --requeue"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains(&dead), "{e}");
    assert_eq!(ready_count(&url, &dead).await, 3, "its messages stay");
    close_raw(&raw).await;
    cleanup(&url, &[&queue, &dead, &retry], &[&exchange]).await;
}

/// A retry that reaches no queue (here its retry queue was deleted under the
/// consumer) comes back to the publisher as unroutable, so the original stays
/// in the main queue instead of being acknowledged and lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_routed_to_no_queue_leaves_the_original_in_the_queue() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/side");
    let spec = QueueSpec::named(unique("side-unroutable"));
    let queue = spec.full_name("guest").unwrap();
    let (dead, retry) = (format!("{queue}/dead"), format!("{queue}/retry/200ms"));
    let consumer = start(&url, &exchange, &spec).await.expect("consumer");
    cleanup(&url, &[&retry], &[]).await;

    let stop = consumer.shutdown_handle();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let running = tokio::spawn(consumer.run(1, move |message: Message<Value>| {
        let _ = seen_tx.send((message.attempt(), message.redelivered));
        async move { Err::<(), _>(HandlerError::msg("not yet")) }
    }));
    let publisher = pulse_binding::client::Publisher::connect(config(&url))
        .await
        .unwrap();
    publisher
        .publish_raw(
            &exchange,
            "a.b",
            &serde_json::to_vec(&json!({"id": 1})).unwrap(),
        )
        .await
        .unwrap();
    // The first attempt fails, its retry is returned, the message goes back
    // and comes again as the same attempt.
    assert_eq!(
        within(10, "the first attempt", seen.recv()).await,
        Some((1, false))
    );
    assert_eq!(
        within(10, "the message again", seen.recv()).await,
        Some((1, true))
    );
    stop.shutdown();
    within(30, "the handler to stop", running)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready_count(&url, &queue).await, 1, "the message is kept");
    publisher.close().await;
    cleanup(&url, &[&queue, &dead, &retry], &[&exchange]).await;
}
