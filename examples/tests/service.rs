//! Runs `examples/service.rs` against a real RabbitMQ (`PULSE_TEST_URL`;
//! without it the test says so and passes, except under CI), publishes hooks
//! to it, scrapes its `/metrics` over HTTP and checks the counters against
//! what was published, then stops it with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pulse_binding::client::{Publisher, PulseConfig};
use pulse_binding::hooks::{HookChangedMessage, HookCreated};
use serde_json::Value;

const URL_VAR: &str = "PULSE_TEST_URL";

fn broker_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") => {
            panic!("CI is set but {URL_VAR} is not: the broker tests must run in CI")
        }
        _ => {
            eprintln!("skipped: set {URL_VAR} (scripts/rabbitmq.sh start) to run it");
            None
        }
    }
}

/// The example's executable, which `cargo test` builds beside this test's
/// (`target/<profile>/examples/service`); but not `cargo test --test
/// service`, so a missing or stale one is refused with what to run.
fn service_exe() -> std::path::PathBuf {
    let test = std::env::current_exe().expect("the test's path");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let exe = profile.join("examples").join("service");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("service.rs");
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&exe).is_none_or(|built| modified(&source).is_some_and(|changed| changed > built)) {
        panic!(
            "{} is missing or older than service.rs: run `cargo test -p pulse-binding-examples \
             --features client` (which builds the example), or build it with `--example service`",
            exe.display()
        );
    }
    exe
}

/// The service, its JSON log lines as they come, and killed on drop.
struct Service {
    child: Child,
    logs: Receiver<Value>,
}

impl Service {
    /// Waits for a log line whose message is `message`.
    fn wait_for(&self, message: &str) -> Value {
        loop {
            let line = self
                .logs
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("no {message:?} log line within 30 s: {e}"));
            if line["fields"]["message"] == message {
                return line;
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(url: &str, queue: &str, addr: &str) -> Service {
    let mut child = Command::new(service_exe())
        .env("PULSE_URL", url)
        .env("SERVICE_QUEUE", queue)
        .env("METRICS_ADDR", addr)
        .env("PULSE_DECLARE_EXCHANGES", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the service example runs (built by cargo test)");
    let stdout = child.stdout.take().unwrap();
    let (send, logs) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let json: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            if send.send(json).is_err() {
                break;
            }
        }
    });
    Service { child, logs }
}

/// The sum of the Prometheus samples `name{...}` whose labels include `label`.
fn total(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_serves_metrics_that_count_what_was_published_and_stops_on_sigterm() {
    let Some(url) = broker_url() else { return };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("service-test-{}-{nanos}", std::process::id());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let service = start(&url, &name, &addr);
    service.wait_for("consuming");

    // Four hooks; one finds the archive down at first and is retried.
    let publisher = Publisher::connect(PulseConfig::from_url(&url).unwrap())
        .await
        .unwrap();
    let binding = HookCreated {
        reserved: Some("_".into()),
    };
    for id in ["a", "b", "c", "flaky-d"] {
        let hook = HookChangedMessage {
            hook_group_id: name.clone(),
            hook_id: id.into(),
            ..Default::default()
        };
        publisher.publish(&binding, &hook).await.expect("publish");
    }
    publisher.close().await;
    let (published, retried) = (4.0, 1.0);

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let queue = format!("queue/guest/{name}");
    let group = format!(r#"messaging_consumer_group_name="{queue}""#);
    let mut text = String::new();
    for _ in 0..100 {
        // Until the retried hook is handled: its log line says so.
        text = client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("a scrape")
            .error_for_status()
            .expect("200")
            .text()
            .await
            .unwrap();
        if total(&text, "messaging_process_duration_count", &group) == published + retried {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let consumed = total(&text, "messaging_client_consumed_messages", &group);
    assert_eq!(consumed, published + retried, "{text}");
    assert_eq!(
        total(&text, "pulse_handler_retries", &group),
        retried,
        "{text}"
    );
    assert_eq!(
        total(&text, "pulse_handler_dead_letters", &group),
        0.0,
        "{text}"
    );
    let failed = r#"error_type="handler""#;
    let calls = total(&text, "messaging_process_duration_count", &group);
    assert_eq!(calls, published + retried, "{text}");
    let failures: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("messaging_process_duration_count{")
                && l.contains(&group)
                && l.contains(failed)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(failures, retried, "{text}");

    // SIGTERM: a graceful stop, exit status 0.
    let status = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    service.wait_for("stopped");
    let mut service = service;
    let exit = service.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));

    let connection = lapin::Connection::connect(&url, Default::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    for q in [queue.clone(), format!("{queue}/dead")]
        .into_iter()
        .chain([200, 400, 800, 1600].map(|ms| format!("{queue}/retry/{ms}ms")))
    {
        let _ = channel
            .queue_delete(q.as_str().into(), Default::default())
            .await;
    }
    let _ = connection.close(200, "bye".into()).await;
}
