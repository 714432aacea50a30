//! What reaches `trace`-level logs while a consumer logs in and runs: lapin
//! traces its login frame (the password as a list of bytes) under one target,
//! and the filter the docs give keeps it out.

use pulse_binding::client::{Consumer, Publisher, PulseConfig};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};
use pulse_binding::{Bindings, PulseBinding};

use crate::support::{
    LogCapture, broker, config, exclusive, have_rabbitmqctl, rabbitmqctl, unique, within,
};

/// The directives the `client` module's and `PulseConfig`'s docs give.
const FILTER: &str = "lapin::io_loop=debug,lapin::frames=debug";

/// The targets lapin traces frames under.
const FRAME_TARGETS: [&str; 2] = ["lapin::io_loop", "lapin::frames"];

/// Logs in with `config`, consumes one message and stops.
async fn run_a_consumer(config: PulseConfig) {
    let key = unique("trace");
    let binding = HookCreated {
        reserved: Some(key.clone()),
    };
    let mut consumer = Consumer::builder(
        config.clone(),
        Bindings::new().with(binding.clone(), |m: HookChangedMessage| m),
    )
    .declare_exchanges(true)
    .start()
    .await
    .expect("the consumer logs in");
    let publisher = Publisher::connect(config)
        .await
        .expect("the publisher logs in");
    let sent = HookChangedMessage {
        hook_group_id: "trace".into(),
        hook_id: key,
        ..Default::default()
    };
    publisher.publish(&binding, &sent).await.expect("publish");
    let got = within(20, "the message", consumer.recv())
        .await
        .expect("the stream goes on")
        .expect("a message");
    assert_eq!(got.payload, sent);
    assert_eq!(got.exchange, binding.exchange_name());
    got.ack().await.unwrap();
    consumer.close().await;
    publisher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_filter_keeps_the_password_out_of_trace_logs() {
    let url = broker!();
    // Exclusive: the log capture records every test's logs while on.
    let _guard = exclusive().await;
    if !have_rabbitmqctl().await {
        return;
    }
    // A user of our own, so that the password is text found nowhere else.
    let user = unique("pulse-binding-trace");
    let password = unique("Pw-7f3a");
    rabbitmqctl(&["add_user", &user, &password]).await.unwrap();
    rabbitmqctl(&["set_permissions", "-p", "/", &user, ".*", ".*", ".*"])
        .await
        .unwrap();
    let config = config(&url).with_credentials(&user, &password);
    // As lapin prints a byte string: decimal bytes joined by ", ".
    let bytes = password
        .bytes()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let leaks = |logs: &str| -> Vec<String> {
        logs.lines()
            .filter(|line| line.contains(&password) || line.contains(&bytes))
            .map(|line| line.chars().take(200).collect())
            .collect()
    };
    let capture = LogCapture::get();

    // Everything at trace level: the password's bytes are in lapin's frame
    // trace, and only there.
    capture.start();
    run_a_consumer(config.clone()).await;
    let logs = capture.stop();
    let unfiltered = leaks(&logs);
    assert!(
        !unfiltered.is_empty(),
        "lapin no longer traces the login frame: update the docs and this test"
    );
    for line in &unfiltered {
        assert!(
            FRAME_TARGETS
                .iter()
                .any(|t| line.starts_with(&format!("TRACE {t}:"))),
            "the password shows outside lapin's frame trace: {line}"
        );
    }

    // The documented filter on top of `trace`: no password, no bytes, while
    // the rest of the trace (ours and lapin's) still comes through.
    capture.start_filtered(&format!("trace,{FILTER}"));
    run_a_consumer(config).await;
    let logs = capture.stop();
    assert_eq!(leaks(&logs), Vec::<String>::new());
    assert!(
        logs.contains("TRACE lapin::"),
        "lapin's trace is filtered out whole"
    );
    assert!(
        logs.contains("pulse_binding::"),
        "our own logs are filtered out"
    );

    rabbitmqctl(&["delete_user", &user]).await.unwrap();
}

#[test]
fn the_docs_give_the_filter_the_test_checks() {
    let client_docs = include_str!("../../runtime/src/client/mod.rs");
    let config_docs = include_str!("../../runtime/src/client/connect/config.rs");
    assert!(
        client_docs.contains(FILTER),
        "the client module's docs do not give {FILTER}"
    );
    assert!(
        config_docs.contains(FILTER),
        "PulseConfig's docs do not give {FILTER}"
    );
}
