//! Input past what AMQP or a reader can take: names refused before anything
//! reaches the broker, and huge bodies quoted cut in errors and logs but kept
//! whole for whoever wants them.

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use pulse_binding::client::{ClientError, ConsumeError, Consumer, Publisher, QueueSpec};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};
use pulse_binding::{Bindings, PulseBinding};

use crate::support::{
    LogCapture, broker, cleanup, config, exclusive, raw_connection, shared, unique, within,
};

/// Each level of an error's chain, from the error to its last cause.
fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_key_over_255_bytes_is_refused_as_a_routing_key_not_as_settings() {
    let url = broker!();
    let _guard = shared().await;
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    let key = "k".repeat(300);
    let binding = HookCreated::default();
    let exchange = binding.exchange_name();
    let e = publisher
        .publish_raw(exchange, &key, b"{}")
        .await
        .unwrap_err();
    match &e {
        ClientError::InvalidName { what, name, .. } => {
            assert_eq!(*what, "routing key");
            assert_eq!(name.len(), 300);
        }
        other => panic!("expected InvalidName, got {other:?}"),
    }
    let shown = e.to_string();
    assert!(shown.starts_with("routing key \"kkk"), "{shown}");
    assert!(shown.contains("300 bytes"), "{shown}");
    assert!(!shown.contains("connection settings"), "{shown}");
    // The publisher is still usable: nothing was sent, nothing broke.
    publisher
        .publish_raw(exchange, "k", b"{}")
        .await
        .expect("a valid publish after the refused one");
    publisher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_name_with_control_characters_is_refused_and_leaves_no_queue() {
    let url = broker!();
    let _guard = shared().await;
    let name = format!("{}\n\u{7}", unique("control"));
    let result = Consumer::builder(
        config(&url),
        Bindings::new().with(HookCreated::default(), |m: HookChangedMessage| m),
    )
    .queue(QueueSpec::named(name.clone()))
    .declare_exchanges(true)
    .start()
    .await;
    let e = result.expect_err("the queue name is refused");
    assert!(
        matches!(
            e,
            ClientError::InvalidName {
                what: "queue name",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("control character"), "{e}");
    // No queue of that name exists on the broker (a passive declare fails).
    let connection = raw_connection(&url).await;
    let channel = connection.create_channel().await.expect("channel");
    let declared = channel
        .queue_declare(
            format!("queue/guest/{name}").as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    assert!(declared.is_err(), "a stray queue was left behind");
    crate::support::close_raw(&connection).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_body_is_quoted_cut_in_errors_and_logs_and_kept_whole() {
    let url = broker!();
    // Exclusive: the log capture records every test's logs while on.
    let _guard = exclusive().await;
    let key = unique("huge");
    let binding = HookCreated {
        reserved: Some(key.clone()),
    };
    let queue = QueueSpec::named(unique("huge"));
    let queue_name = queue.full_name("guest").unwrap();
    let mut consumer = Consumer::builder(
        config(&url),
        Bindings::new().with(binding.clone(), |m: HookChangedMessage| m),
    )
    .queue(queue)
    .declare_exchanges(true)
    .start()
    .await
    .expect("start the consumer");
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    // A JSON string where an object belongs: serde_json quotes such a value
    // whole in its message.
    let body = format!("\"{}\"", "b".repeat(4_000_000));
    let capture = LogCapture::get();
    capture.start();
    publisher
        .publish_raw(binding.exchange_name(), &key, body.as_bytes())
        .await
        .unwrap();
    let item = within(30, "the rejected delivery", consumer.recv()).await;
    let logs = capture.stop();
    let e = match item {
        Some(Err(e @ ConsumeError::Rejected(_))) => e,
        other => panic!(
            "expected a rejected delivery, got {:?}",
            other.map(|r| r.is_ok())
        ),
    };
    let levels = chain(&e);
    let shown: usize = levels.iter().map(String::len).sum::<usize>() + format!("{e:?}").len();
    assert!(shown < 4_000, "the error quotes {shown} bytes: {levels:#?}");
    assert!(
        levels
            .last()
            .unwrap()
            .contains(" bytes) at line 1 column 4000002"),
        "{levels:#?}"
    );
    let warning = logs
        .lines()
        .find(|l| l.contains("rejecting a message"))
        .expect("the rejection is logged");
    assert!(
        warning.len() < 4_000,
        "the log line is {} bytes",
        warning.len()
    );
    // Every line of ours is short (lapin's own trace has the frames whole).
    for line in logs.lines().filter(|l| l.contains(" pulse_binding::")) {
        assert!(line.len() < 4_000, "a log line of {} bytes", line.len());
    }
    let ConsumeError::Rejected(rejected) = e else {
        unreachable!()
    };
    assert_eq!(rejected.body, body.as_bytes(), "the body is kept whole");
    consumer.close().await;
    publisher.close().await;
    cleanup(&url, &[&queue_name], &[]).await;
}
