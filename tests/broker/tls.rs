//! `amqps://` against a RabbitMQ TLS listener whose certificates openssl made
//! at set-up (scripts/rabbitmq-tls.sh start): a broker is trusted only through
//! a CA given to the client, only under a host name its certificate names, and
//! the listener requires a client certificate.
//!
//! They need `PULSE_TLS_TEST_URL` (`amqps://guest:guest@localhost:5671`) and
//! `PULSE_TLS_TEST_DIR` (the certificates), as the script prints; without
//! them they say so and pass, except under CI (`CI=true`), where that is a
//! failure.

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use pulse_binding::client::{ClientError, Consumer, Publisher, PulseConfig};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};
use pulse_binding::{Bindings, PulseBinding};

use crate::support::{unique, within};

const URL_VAR: &str = "PULSE_TLS_TEST_URL";
const DIR_VAR: &str = "PULSE_TLS_TEST_DIR";

/// The TLS broker's URL and the folder of its certificates, or `None` after
/// saying why the test skips. Under CI a missing TLS broker fails the test.
fn tls_broker() -> Option<(String, PathBuf)> {
    match (std::env::var(URL_VAR), std::env::var(DIR_VAR)) {
        (Ok(url), Ok(dir)) if !url.is_empty() && !dir.is_empty() => Some((url, dir.into())),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") => {
            panic!(
                "CI is set but {URL_VAR} / {DIR_VAR} are not: the TLS tests must run in CI \
                 (scripts/rabbitmq-tls.sh start prints both)"
            )
        }
        _ => {
            eprintln!(
                "skipped: no TLS broker; run scripts/rabbitmq-tls.sh start and set the \
                 {URL_VAR} and {DIR_VAR} it prints"
            );
            None
        }
    }
}

macro_rules! tls_broker {
    () => {
        match tls_broker() {
            Some(found) => found,
            None => return,
        }
    };
}

fn read(dir: &std::path::Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

/// Settings for `url` with no CA and no client certificate.
fn bare(url: &str) -> PulseConfig {
    PulseConfig::from_url(url)
        .expect("a valid amqps URL")
        .with_connect_timeout(Duration::from_secs(10))
}

/// Settings trusting the test CA and presenting the client certificate.
fn trusted(url: &str, dir: &std::path::Path) -> PulseConfig {
    bare(url)
        .with_ca_pem(read(dir, "ca.pem"))
        .expect("the test CA is PEM")
        .with_client_cert_pem(read(dir, "client.pem"), read(dir, "client.key"))
        .expect("the client certificate and key are PEM")
}

/// The error of connecting with `config`, with its whole chain as text.
async fn refused(config: PulseConfig) -> String {
    let result = within(30, "connect", Publisher::connect(config)).await;
    let e = match result {
        Ok(_) => panic!("the connection was accepted"),
        Err(e) => e,
    };
    assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    eprintln!("refused as expected: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_certificate_from_an_unknown_ca_is_refused() {
    let (url, dir) = tls_broker!();
    let client = |config: PulseConfig| {
        config
            .with_client_cert_pem(read(&dir, "client.pem"), read(&dir, "client.key"))
            .unwrap()
    };
    // The built-in roots only, then another CA: neither signed the broker's.
    for config in [
        client(bare(&url)),
        client(bare(&url).with_ca_pem(read(&dir, "other-ca.pem")).unwrap()),
    ] {
        let chain = refused(config).await;
        assert!(chain.contains("UnknownIssuer"), "{chain}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_signed_by_a_trusted_ca_is_accepted_and_messages_flow() {
    let (url, dir) = tls_broker!();
    let key = unique("tls");
    let binding = HookCreated {
        reserved: Some(key.clone()),
    };
    let mut consumer = within(
        30,
        "start over TLS",
        Consumer::builder(
            trusted(&url, &dir),
            Bindings::new().with(binding.clone(), |m: HookChangedMessage| m),
        )
        .declare_exchanges(true)
        .start(),
    )
    .await
    .expect("the consumer connects over TLS");
    let publisher = within(
        30,
        "connect over TLS",
        Publisher::connect(trusted(&url, &dir)),
    )
    .await
    .expect("the publisher connects over TLS");
    let sent = HookChangedMessage {
        hook_group_id: "tls".into(),
        hook_id: key.clone(),
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
async fn a_host_name_the_certificate_does_not_name_is_refused() {
    let (url, dir) = tls_broker!();
    // The certificate names `localhost` only; 127.0.0.1 is the same listener.
    assert!(url.contains("@localhost:"), "{url}");
    let by_ip = url.replace("@localhost:", "@127.0.0.1:");
    let chain = refused(trusted(&by_ip, &dir)).await;
    assert!(chain.contains("not valid for name"), "{chain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_requires_the_client_certificate_and_accepts_it() {
    let (url, dir) = tls_broker!();
    // The broker ends the handshake with a `certificate required` alert, or
    // resets the connection first: either way, no connection.
    let without = bare(&url).with_ca_pem(read(&dir, "ca.pem")).unwrap();
    refused(without).await;
    // The same settings with the client certificate connect.
    let publisher = within(30, "connect", Publisher::connect(trusted(&url, &dir)))
        .await
        .expect("the client certificate is accepted");
    publisher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_amqp_to_the_tls_port_says_to_use_amqps() {
    let (url, _dir) = tls_broker!();
    let plain = url.replacen("amqps://", "amqp://", 1);
    let chain = refused(bare(&plain)).await;
    assert!(chain.contains("use amqps://"), "{chain}");
}

/// Connects with settings from the URL alone (no CA given in code), so that
/// only `SSL_CERT_FILE` can make the broker trusted. Run in a child process by
/// [`the_ca_file_named_by_ssl_cert_file_is_trusted`], which sets the variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the_ca_file_named_by_ssl_cert_file_is_trusted with SSL_CERT_FILE set"]
async fn ssl_cert_file_child() {
    let (url, dir) = tls_broker!();
    let config = bare(&url)
        .with_client_cert_pem(read(&dir, "client.pem"), read(&dir, "client.key"))
        .unwrap();
    let publisher = within(30, "connect", Publisher::connect(config))
        .await
        .expect("SSL_CERT_FILE's CA is trusted");
    publisher.close().await;
}

#[test]
fn the_ca_file_named_by_ssl_cert_file_is_trusted() {
    let Some((_, dir)) = tls_broker() else {
        return;
    };
    let run = |ca: &str| {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "tls::ssl_cert_file_child"])
            .env("SSL_CERT_FILE", dir.join(ca))
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.success(), stdout)
    };
    let (ok, out) = run("ca.pem");
    assert!(ok && out.contains("1 passed"), "{out}");
    let (ok, out) = run("other-ca.pem");
    assert!(!ok && out.contains("1 failed"), "{out}");
}
