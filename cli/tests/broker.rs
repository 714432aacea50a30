//! `pulse listen` and `pulse publish` against a real RabbitMQ: what one
//! publishes, the other prints, and neither shows the password.
//!
//! They need `PULSE_TEST_URL` (e.g. `amqp://guest:guest@127.0.0.1:5672`, as
//! `scripts/rabbitmq.sh start` prints); without it they say so and pass,
//! except under CI (`CI=true`), where that is a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const URL_VAR: &str = "PULSE_TEST_URL";

/// The broker's URL, or `None` after saying why the test skips.
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

/// The user and password of an `amqp://user:password@host...` URL.
fn credentials(url: &str) -> (String, String) {
    let rest = url.split_once("://").expect("a URL with a scheme").1;
    let userinfo = rest.split_once('@').expect("a URL with credentials").0;
    let (user, password) = userinfo.split_once(':').expect("a URL with a password");
    (user.to_owned(), password.to_owned())
}

/// A word no earlier run used.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}-{nanos}", std::process::id())
}

fn pulse() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pulse"));
    command.env_remove("PULSE_URL");
    command
}

/// The lines a pipe gives, as they come.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// The next line, failing the test after 30 s.
fn next_line(lines: &Receiver<String>, what: &str) -> String {
    lines
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("no {what} within 30 s: {e}"))
}

fn group_payload(group: &str) -> String {
    format!(
        r#"{{"taskGroupId": "{group}", "schedulerId": "tests", "expires": "2030-01-01T00:00:00.000Z", "version": 1}}"#
    )
}

fn publish(url: &str, group: &str, payload_on_stdin: bool) -> Output {
    let payload = group_payload(group);
    let mut command = pulse();
    command.args(["publish", "task-group-resolved", "--declare", "--url", url]);
    command.args(["--task-group-id", group, "--scheduler-id", "tests"]);
    if payload_on_stdin {
        command.args(["--payload", "-"]).stdin(Stdio::piped());
    } else {
        command.args(["--payload", &payload]);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("pulse publish runs");
    if payload_on_stdin {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(payload.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Stops the listener as Ctrl-C would.
fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

struct Listener {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    seen_err: Vec<String>,
}

/// `pulse listen task-group-resolved --declare` with `args`.
fn listen(url: &str, args: &[&str]) -> Listener {
    let binding = ["listen", "task-group-resolved", "--declare", "--url", url];
    spawn_listener(&[&binding[..], args].concat())
}

/// `pulse` with `args` (a `listen` command), once it says it listens.
fn spawn_listener(args: &[&str]) -> Listener {
    let mut child = pulse()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pulse listen runs");
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let stdout = lines(stdout);
    let stderr = lines(child.stderr.take().unwrap());
    let first = next_line(&stderr, "`listening on` line");
    assert!(first.starts_with("listening on "), "{first}");
    Listener {
        child,
        stdout,
        stderr,
        seen_err: vec![first],
    }
}

#[test]
fn listen_prints_what_publish_sends_on_its_words_and_stops_on_ctrl_c() {
    let Some(url) = broker_url() else { return };
    let (user, password) = credentials(&url);
    let (wanted, other) = (unique("wanted"), unique("other"));
    let mut listener = listen(&url, &["--task-group-id", &wanted]);

    let mut outputs = Vec::new();
    for (group, stdin) in [(&other, false), (&wanted, true)] {
        let output = publish(&url, group, stdin);
        let err = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(0), "{err}");
        assert!(
            err.contains(&format!("routing key primary.{group}.tests._")),
            "{err}"
        );
        outputs.push(err);
    }

    // Only the message of the wanted group, whose words the listener bound.
    let line = next_line(&listener.stdout, "message");
    let message: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(
        message["exchange"],
        "exchange/taskcluster-queue/v1/task-group-resolved"
    );
    assert_eq!(message["routingKey"], format!("primary.{wanted}.tests._"));
    assert_eq!(message["fields"]["task_group_id"], wanted.as_str());
    let payload: serde_json::Value = serde_json::from_str(&group_payload(&wanted)).unwrap();
    assert_eq!(message["payload"], payload);

    interrupt(&listener.child);
    let status = listener.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = listener.stdout.iter().collect();
    assert!(rest.is_empty(), "the other group's message came: {rest:?}");
    listener.seen_err.extend(listener.stderr.iter());
    let err = listener.seen_err.join("\n");
    assert!(err.contains("stopped after 1 message(s)"), "{err}");

    outputs.push(err);
    outputs.push(line);
    for output in &outputs {
        assert!(!output.contains(&format!("{user}:{password}@")), "{output}");
        if password != user {
            assert!(!output.contains(&password), "{output}");
        }
    }
}

#[test]
fn a_refused_login_fails_with_status_1_without_showing_the_password() {
    let Some(url) = broker_url() else { return };
    let (user, password) = credentials(&url);
    let wrong = "wrong-password-not-shown-91c3";
    let url = url.replacen(
        &format!("{user}:{password}@"),
        &format!("{user}:{wrong}@"),
        1,
    );
    let output = pulse()
        .args(["listen", "task-group-resolved", "--url", &url])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains(wrong), "{err}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(wrong));
}

#[test]
fn dead_letters_prints_what_a_handler_gave_up_on_and_requeue_sends_it_back() {
    use pulse_binding::client::{Consumer, HandlerError, PulseConfig, QueueSpec, RetryPolicy};
    use pulse_binding::{Binding, Bindings};

    let Some(url) = broker_url() else { return };
    let name = unique("cli-dead-");
    let key = unique("dead");
    let exchange = "exchange/taskcluster-hooks/v1/hook-created";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // A handler-mode consumer of a named queue whose handler always fails.
    let consumer = runtime.block_on(async {
        let bindings = Bindings::new().with(Binding::new(exchange, key.clone()), |v| v);
        Consumer::builder(PulseConfig::from_url(&url).unwrap(), bindings)
            .queue(QueueSpec::named(name.clone()).expires(Duration::from_secs(120)))
            .declare_exchanges(true)
            .retry(RetryPolicy::new(1))
            .start()
            .await
            .expect("the consumer starts")
    });
    let stop = consumer.shutdown_handle();
    let handled = runtime.spawn(consumer.run(1, |_| async {
        Err::<(), _>(HandlerError::fatal("cannot ever work"))
    }));

    for hook in ["h1", "h2"] {
        let payload = format!(r#"{{"hookGroupId": "g", "hookId": "{hook}"}}"#);
        let output = pulse()
            .args(["publish", "hook-created", "--declare", "--url", &url])
            .args(["--reserved", &key, "--payload", &payload])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
    }

    let dead_letters = |requeue: bool| {
        let mut command = pulse();
        command.args(["dead-letters", &name, "--url", &url]);
        if requeue {
            command.arg("--requeue");
        }
        command.output().unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let out = loop {
        let output = dead_letters(false);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        if out.lines().count() == 2 {
            break out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not two dead letters: {out}"
        );
        thread::sleep(Duration::from_millis(200));
    };
    let mut hooks = Vec::new();
    for line in out.lines() {
        let letter: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(letter["exchange"], exchange);
        assert_eq!(letter["routingKey"], key.as_str());
        assert_eq!(letter["error"], "cannot ever work");
        hooks.push(letter["payload"]["hookId"].as_str().unwrap().to_owned());
    }
    hooks.sort();
    assert_eq!(hooks, ["h1", "h2"]);

    // Sent back, it leaves the dead-letter queue (and fails again).
    let output = dead_letters(true);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("sent 2 dead letter(s) back"), "{err}");

    stop.shutdown();
    runtime
        .block_on(handled)
        .unwrap()
        .expect("the handler loop ends cleanly");
}

#[test]
fn listen_with_count_exits_by_itself_after_that_many_messages() {
    let Some(url) = broker_url() else { return };
    let group = unique("counted");
    let mut listener = listen(&url, &["--task-group-id", &group, "--count", "2"]);
    for _ in 0..3 {
        let output = publish(&url, &group, false);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
    }
    let status = listener.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let lines: Vec<String> = listener.stdout.iter().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    listener.seen_err.extend(listener.stderr.iter());
    let err = listener.seen_err.join("\n");
    assert!(err.contains("stopped after 2 message(s)"), "{err}");
}

/// An exchange of these tests' own (declared with `--declare`); each test
/// tells its messages apart by a route no other run uses.
const ANY_EXCHANGE: &str = "exchange/pulse-binding-cli-tests/v1/any";

#[test]
fn listen_on_any_exchange_prints_the_json_that_publish_sends_there_with_cc_routes() {
    let Some(url) = broker_url() else { return };
    let route = unique("any");
    let pattern = format!("route.{route}.#");
    let mut listener = spawn_listener(&[
        "listen",
        "--exchange",
        ANY_EXCHANGE,
        "--pattern",
        &pattern,
        "--declare",
        "--count",
        "1",
        "--url",
        &url,
    ]);
    let publish = |cc: &str, payload: &str| {
        pulse()
            .args(["publish", "--exchange", ANY_EXCHANGE, "--declare"])
            .args(["--routing-key", "primary.some.key", "--cc", cc])
            .args(["--payload", payload, "--url", &url])
            .output()
            .unwrap()
    };
    // First a message whose route the pattern does not match, then one whose
    // second CC route it does (its routing key matches nothing).
    let output = publish(&format!("{route}x.a"), r#"{"n": 1}"#);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let payload =
        r#"{"n": 2, "list": [1.5, "two", null, 18446744073709551615], "nested": {"ok": true}}"#;
    let output = pulse()
        .args(["publish", "--exchange", ANY_EXCHANGE])
        .args(["--routing-key", "primary.some.key"])
        .args(["--cc", "elsewhere", "--cc", &format!("{route}.a.b")])
        .args(["--payload", payload, "--url", &url])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "with routing key primary.some.key, CC route.elsewhere, CC route.{route}.a.b"
        )),
        "{err}"
    );

    let line = next_line(&listener.stdout, "message");
    let message: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(message["exchange"], ANY_EXCHANGE);
    assert_eq!(message["routingKey"], "primary.some.key");
    assert_eq!(
        message["routes"],
        serde_json::json!(["elsewhere", format!("{route}.a.b")])
    );
    // The payload as the JSON it is, not a string and not re-typed.
    let sent: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert_eq!(message["payload"], sent);
    assert_eq!(message["fields"], serde_json::json!({}));

    // --count 1: it exits by itself, and the first message never came.
    let status = listener.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = listener.stdout.iter().collect();
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn publish_cc_sends_a_prebuilt_binding_message_to_its_routes_too() {
    let Some(url) = broker_url() else { return };
    let route = unique("route");
    let group = unique("routed");
    let mut listener = listen(
        &url,
        &["--pattern", &format!("route.{route}"), "--count", "1"],
    );
    let output = pulse()
        .args(["publish", "task-group-resolved", "--declare", "--url", &url])
        .args(["--task-group-id", &group, "--scheduler-id", "tests"])
        .args(["--payload", &group_payload(&group), "--cc", &route])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");

    let line = next_line(&listener.stdout, "message");
    let message: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(message["routingKey"], format!("primary.{group}.tests._"));
    assert_eq!(message["routes"], serde_json::json!([route]));
    assert_eq!(message["fields"]["task_group_id"], group.as_str());
    let status = listener.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of the Prometheus sample `name` whose labels include `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn listen_serves_its_metrics_in_prometheus_format() {
    let Some(url) = broker_url() else { return };
    let addr = format!("127.0.0.1:{}", free_port());
    let group = unique("metrics");
    let mut listener = listen(&url, &["--task-group-id", &group, "--metrics", &addr]);
    let serving = next_line(&listener.stderr, "`serving metrics` line");
    assert_eq!(serving, format!("serving metrics on http://{addr}/metrics"));
    for _ in 0..2 {
        let output = publish(&url, &group, false);
        assert_eq!(output.status.code(), Some(0));
    }
    next_line(&listener.stdout, "first message");
    next_line(&listener.stdout, "second message");

    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let exchange =
        r#"messaging_destination_name="exchange/taskcluster-queue/v1/task-group-resolved""#;
    let consumed = "messaging_client_consumed_messages";
    // A scrape after the second delivery has both.
    let mut text = String::new();
    for _ in 0..50 {
        let response = client
            .get(format!("http://{addr}/metrics"))
            .send()
            .expect("a scrape");
        assert!(response.status().is_success(), "{}", response.status());
        text = response.text().unwrap();
        if sample(&text, consumed, &[exchange]) == Some(2.0) {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        sample(
            &text,
            consumed,
            &[exchange, r#"messaging_system="rabbitmq""#]
        ),
        Some(2.0),
        "{text}"
    );
    // The settle flushes, in OpenTelemetry's buckets.
    let ack = r#"messaging_operation_name="ack""#;
    let bucket = "messaging_client_operation_duration_bucket";
    assert!(
        sample(&text, bucket, &[ack, r#"le="0.005""#]).is_some(),
        "{text}"
    );
    assert!(
        sample(&text, bucket, &[ack, r#"le="10""#]).is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "pulse_consumer_backlog", &[]).is_some(),
        "{text}"
    );

    interrupt(&listener.child);
    assert_eq!(listener.child.wait().unwrap().code(), Some(0));
}
