//! Credentials from a provider: asked for every connection, so a rotated
//! password is used on reconnection; a failing provider is retried, then
//! reported; passwords show nowhere.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pulse_binding::client::{
    ClientError, ConsumeError, Consumer, ConsumerEvent, Credentials, Publisher, PulseConfig,
    QueueSpec, Reconnect,
};
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};

use crate::support::{
    LogCapture, broker, cleanup, config, exclusive, fast_reconnect, have_rabbitmqctl, next_event,
    rabbitmqctl, unique, within,
};

/// A broker user for the test, deleted on drop.
struct User(String);

impl User {
    async fn create(password: &str) -> Self {
        let name = unique("rotating-user");
        rabbitmqctl(&["add_user", &name, password])
            .await
            .expect("add user");
        rabbitmqctl(&["set_permissions", "-p", "/", &name, ".*", ".*", ".*"])
            .await
            .expect("set permissions");
        Self(name)
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .env(
                "RABBITMQ_NODENAME",
                std::env::var("RABBITMQ_NODENAME").unwrap_or("rabbit@localhost".into()),
            )
            .env(
                "ERL_EPMD_ADDRESS",
                std::env::var("ERL_EPMD_ADDRESS").unwrap_or("127.0.0.1".into()),
            )
            .args(["delete_user", &self.0])
            .output();
    }
}

/// A provider that hands out `(user, current password)` and counts its calls.
fn rotating(
    base: PulseConfig,
    user: &str,
    password: Arc<Mutex<String>>,
    calls: Arc<AtomicU32>,
) -> PulseConfig {
    let user = user.to_owned();
    base.with_credentials_provider(move || {
        calls.fetch_add(1, Ordering::SeqCst);
        let credentials = Credentials::new(&user, password.lock().unwrap().clone());
        async move { Ok::<_, std::convert::Infallible>(credentials) }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_password_is_used_on_reconnection_and_shows_nowhere() {
    let url = broker!();
    let _guard = exclusive().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let first = "first-Secret-9f3a";
    let second = "second-Secret-77c1";
    let user = User::create(first).await;
    let password = Arc::new(Mutex::new(first.to_owned()));
    let calls = Arc::new(AtomicU32::new(0));
    // The URL's guest/guest is replaced by the provider's.
    let config = rotating(config(&url), &user.0, password.clone(), calls.clone());
    let exchange = unique("exchange/pulse-binding-tests/rotate");
    let spec = QueueSpec::named(unique("rotate"));
    let queue = spec.full_name(&user.0).unwrap();

    let capture = LogCapture::get();
    capture.start();
    let mut consumer = Consumer::builder(
        config.clone(),
        Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v),
    )
    .queue(spec)
    .declare_exchanges(true)
    .reconnect(fast_reconnect())
    .start()
    .await
    .expect("consumer");
    assert_eq!(
        consumer.queue_name(),
        queue,
        "named after the provider's user"
    );
    let mut events = consumer.events();
    let publisher = Publisher::connect(config.clone()).await.expect("publisher");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one call per connection");
    publisher
        .publish_raw(&exchange, "x", br#"{"n":1}"#)
        .await
        .expect("publish");
    let message = within(10, "first", consumer.recv()).await.unwrap().unwrap();
    message.ack().await.unwrap();

    // Rotate: the old password stops working, and every connection drops.
    rabbitmqctl(&["change_password", &user.0, second])
        .await
        .expect("change password");
    *password.lock().unwrap() = second.to_owned();
    rabbitmqctl(&["close_all_connections", "rotation test"])
        .await
        .expect("close all");
    next_event(&mut events, 10, "disconnected", |e| {
        matches!(e, ConsumerEvent::Disconnected { .. }).then_some(())
    })
    .await;
    next_event(&mut events, 30, "connected again", |e| {
        matches!(e, ConsumerEvent::Connected { .. }).then_some(())
    })
    .await;
    within(30, "publishing after the rotation", async {
        while publisher
            .publish_raw(&exchange, "x", br#"{"n":2}"#)
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let message = within(10, "second", consumer.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.payload, json!({ "n": 2 }));
    message.ack().await.unwrap();
    assert!(
        calls.load(Ordering::SeqCst) >= 4,
        "asked again on reconnection"
    );
    assert_eq!(consumer.stats().reconnections, 1);

    let shown = format!("{config:?} {config} {consumer:?} {publisher:?}");
    let logs = capture.stop();
    for secret in [first, second] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(!logs.contains(secret), "a password in the logs");
    }
    consumer.close().await;
    publisher.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_is_retried_with_backoff_then_reported() {
    let url = broker!();
    let _guard = exclusive().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let config = config(&url).with_credentials_provider(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                Ok(Credentials::new("guest", "guest"))
            } else {
                Err(std::io::Error::other("the secret store is sealed"))
            }
        }
    });
    let exchange = unique("exchange/pulse-binding-tests/provider-fails");
    let mut consumer = Consumer::builder(
        config,
        Bindings::new().with(Binding::new(&exchange, "#"), |v: Value| v),
    )
    .declare_exchanges(true)
    .reconnect(
        Reconnect::default()
            .initial_delay(Duration::from_millis(20))
            .max_delay(Duration::from_millis(100))
            .max_attempts(3),
    )
    .start()
    .await
    .expect("the first call succeeds");
    rabbitmqctl(&["close_all_connections", "provider test"])
        .await
        .expect("close all");
    let item = within(20, "giving up", consumer.recv()).await;
    let Some(Err(ConsumeError::GaveUp(ClientError::GaveUp { attempts, last }))) = item else {
        panic!("expected the consumer to give up, got {item:?}");
    };
    assert_eq!(attempts, 3);
    assert!(matches!(*last, ClientError::Credentials { .. }), "{last:?}");
    let cause = std::error::Error::source(&*last).expect("the provider's error");
    assert_eq!(cause.to_string(), "the secret store is sealed");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "the first connection and 3 attempts"
    );
    assert!(within(5, "the end", consumer.recv()).await.is_none());
    cleanup(&url, &[], &[&exchange]).await;
}
