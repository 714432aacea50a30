//! The `pulse` binary as a user runs it, without a broker: exit statuses,
//! help, listings and the errors for bad input.

use std::process::{Command, Output};

fn pulse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pulse"))
        .args(args)
        .env_remove("PULSE_URL")
        .output()
        .expect("the pulse binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A usage error: exit status 2, a message naming `what`, no panic.
fn assert_usage_error(output: &Output, what: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains(what), "{what:?} not in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn match_exits_0_and_prints_the_key_when_it_matches() {
    let output = pulse(&["match", "primary.*.#", "primary.abc.def"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "primary.abc.def\n");
}

#[test]
fn match_exits_1_when_no_key_matches() {
    let output = pulse(&["match", "primary.*", "primary.abc.def", "route.x"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
}

#[test]
fn match_prints_only_the_keys_that_match() {
    let output = pulse(&["match", "route.#", "primary.a", "route.a.b", "route"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "route.a.b\nroute\n");
}

#[test]
fn match_without_a_key_is_a_usage_error() {
    assert_usage_error(&pulse(&["match", "primary.#"]), "<KEY>");
}

#[test]
fn bindings_lists_every_prebuilt_binding_with_its_payload_and_words() {
    let output = pulse(&["bindings"]);
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    let all = pulse_binding::prebuilt_bindings();
    assert_eq!(lines.len(), all.len());
    assert_eq!(lines.len(), 37);
    for (line, binding) in lines.iter().zip(&all) {
        let exchange = binding.exchange_name();
        let short = exchange.rsplit('/').next().unwrap();
        assert!(line.starts_with(&format!("{short} ")), "{line}");
        assert!(line.contains(&format!(" {exchange} ")), "{line}");
        let payload = binding.payload_type_name().rsplit("::").next().unwrap();
        assert!(line.contains(payload), "{payload} not in {line}");
    }
    let completed = lines
        .iter()
        .find(|l| l.starts_with("task-completed "))
        .unwrap();
    assert!(
        completed.contains("queue::TaskCompletedMessage"),
        "{completed}"
    );
    assert!(
        completed.ends_with("--task-group-id --reserved"),
        "{completed}"
    );
}

#[test]
fn listen_help_shows_the_word_flags_of_its_binding() {
    let output = pulse(&["listen", "task-completed", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    for flag in [
        "--task-id",
        "--run-id",
        "--task-group-id",
        "--reserved",
        "--url",
        "--pattern",
    ] {
        assert!(out.contains(flag), "{flag} not in {out}");
    }
    // A fixed word has no flag; a multi-word one takes words.
    assert!(!out.contains("--routing-key-kind"), "{out}");
    assert!(out.contains("--task-id <WORD>"), "{out}");
    assert!(out.contains("--reserved <WORDS>"), "{out}");
    assert!(out.contains("`#` when unset"), "{out}");
    let hooks = stdout(&pulse(&["listen", "hook-created", "--help"]));
    assert!(hooks.contains("--reserved"), "{hooks}");
    assert!(!hooks.contains("--task-id"), "{hooks}");
}

#[test]
fn publish_help_shows_the_word_flags_and_the_payload_option() {
    let out = stdout(&pulse(&["publish", "worker-running", "--help"]));
    for flag in ["--provider-id", "--worker-type", "--worker-id", "--payload"] {
        assert!(out.contains(flag), "{flag} not in {out}");
    }
    assert!(out.contains("`_` when unset"), "{out}");
}

#[test]
fn a_binding_also_answers_to_its_qualified_and_exchange_names() {
    let short = stdout(&pulse(&["listen", "task-completed", "--help"]));
    for name in [
        "queue/task-completed",
        "exchange/taskcluster-queue/v1/task-completed",
    ] {
        let output = pulse(&["listen", name, "--help"]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        assert_eq!(stdout(&output), short, "{name}");
        // And is that binding: its words are the queue's.
        let url = "amqp://guest:guest@127.0.0.1:1";
        let output = pulse(&["listen", name, "--task-id", "a.b", "--url", url]);
        assert_usage_error(&output, "exchange/taskcluster-queue/v1/task-completed");
    }
}

#[test]
fn an_unknown_binding_is_a_usage_error_that_names_it_and_the_closest() {
    let output = pulse(&["listen", "tsk-completed"]);
    assert_usage_error(&output, "no prebuilt binding is called `tsk-completed`");
    assert!(
        stderr(&output).contains("`task-completed`"),
        "{}",
        stderr(&output)
    );
    let output = pulse(&["publish", "nothing-like-it", "--payload", "{}"]);
    assert_usage_error(&output, "`nothing-like-it`");
}

#[test]
fn a_word_flag_of_another_binding_is_a_usage_error() {
    let output = pulse(&["listen", "hook-created", "--task-id", "abc"]);
    assert_usage_error(&output, "--task-id");
}

#[test]
fn a_word_flag_and_a_pattern_together_are_a_usage_error() {
    let output = pulse(&[
        "listen",
        "task-completed",
        "--task-id",
        "a",
        "--pattern",
        "#",
    ]);
    assert_usage_error(&output, "--pattern");
}

#[test]
fn a_single_word_with_a_dot_is_a_usage_error_naming_the_word() {
    let url = "amqp://guest:guest@127.0.0.1:1";
    let output = pulse(&["listen", "task-completed", "--task-id", "a.b", "--url", url]);
    assert_usage_error(&output, "task_id");
    assert!(stderr(&output).contains("\"a.b\""), "{}", stderr(&output));
}

#[test]
fn listen_without_a_broker_url_is_a_usage_error_naming_pulse_url() {
    assert_usage_error(&pulse(&["listen", "task-completed"]), "PULSE_URL");
}

#[test]
fn publish_refuses_a_payload_that_is_not_json() {
    let url = "amqp://guest:guest@127.0.0.1:1";
    let output = pulse(&["publish", "hook-created", "--payload", "{x", "--url", url]);
    assert_usage_error(&output, "--payload is not JSON");
}

#[test]
fn publish_refuses_a_payload_that_is_not_the_binding_payload_type() {
    let url = "amqp://guest:guest@127.0.0.1:1";
    let payload = r#"{"hookId": "h"}"#;
    let output = pulse(&[
        "publish",
        "hook-created",
        "--payload",
        payload,
        "--url",
        url,
    ]);
    assert_usage_error(&output, "HookChangedMessage");
    assert!(
        stderr(&output).contains("hookGroupId"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unreachable_broker_fails_with_status_1_without_showing_the_password() {
    let password = "s3cret-not-shown-7f2c";
    let url = format!("amqp://someone:{password}@127.0.0.1:1");
    let payload = r#"{"hookGroupId": "g", "hookId": "h"}"#;
    for args in [
        vec!["listen", "hook-created", "--url", &url],
        vec![
            "publish",
            "hook-created",
            "--payload",
            payload,
            "--url",
            &url,
        ],
    ] {
        let output = pulse(&args);
        let (out, err) = (stdout(&output), stderr(&output));
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("cannot connect"), "{err}");
        assert!(err.contains("someone:***@"), "{err}");
        assert!(!out.contains(password) && !err.contains(password), "{err}");
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_output_without_a_panic() {
    // More than a pipe holds, to a reader that reads nothing.
    let keys: Vec<String> = (0..20_000)
        .map(|i| format!("route.key.number.{i}"))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .arg("match")
        .arg("route.#")
        .args(&keys)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_url_that_does_not_parse_is_a_usage_error() {
    let output = pulse(&["listen", "hook-created", "--url", "not-a-url"]);
    assert_usage_error(&output, "URL");
}

#[test]
fn stdout_that_cannot_be_written_is_a_failure_not_a_silent_end() {
    let Ok(full) = std::fs::File::create("/dev/full") else {
        eprintln!("skipped: no /dev/full on this system");
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .arg("bindings")
        .stdout(full)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write to stdout"), "{err}");
}

#[test]
fn the_url_comes_from_pulse_url_when_not_given() {
    let run = |value: &str| {
        Command::new(env!("CARGO_BIN_EXE_pulse"))
            .args(["listen", "hook-created"])
            .env("PULSE_URL", value)
            .output()
            .unwrap()
    };
    let output = run("amqp://someone:s3cret-7d1e@127.0.0.1:1");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect to amqp://someone:***@127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains("s3cret-7d1e"), "{err}");
    // An empty PULSE_URL is no URL.
    assert_usage_error(&run(""), "no broker URL");
}

#[test]
fn every_command_has_help() {
    for command in ["listen", "publish", "bindings", "match", "dead-letters"] {
        let output = pulse(&[command, "--help"]);
        assert_eq!(output.status.code(), Some(0), "{command}");
        let out = stdout(&output);
        assert!(out.contains(&format!("Usage: pulse {command}")), "{out}");
    }
    let out = stdout(&pulse(&["--help"]));
    for command in ["listen", "publish", "bindings", "match", "dead-letters"] {
        assert!(out.contains(command), "{command} not in {out}");
    }
}

/// A URL where no broker listens: input checked before connecting fails
/// with status 2; input that reached the connection would fail with 1.
const NO_BROKER: &str = "amqp://guest:guest@127.0.0.1:1";

#[test]
fn help_shows_the_exchange_form_of_listen_and_publish() {
    let out = stdout(&pulse(&["listen", "--help"]));
    assert!(
        out.contains("--exchange <NAME> --pattern <PATTERN>"),
        "{out}"
    );
    let out = stdout(&pulse(&["publish", "--help"]));
    for flag in ["--exchange <NAME>", "--routing-key <KEY>", "--cc <ROUTE>"] {
        assert!(out.contains(flag), "{flag} not in {out}");
    }
    let out = stdout(&pulse(&["publish", "hook-created", "--help"]));
    assert!(out.contains("--cc <ROUTE>"), "{out}");
}

#[test]
fn listen_on_an_exchange_without_a_pattern_is_a_usage_error() {
    let output = pulse(&["listen", "--exchange", "exchange/x", "--url", NO_BROKER]);
    assert_usage_error(&output, "--pattern");
}

#[test]
fn an_empty_or_too_long_exchange_name_is_a_usage_error() {
    let output = pulse(&[
        "listen",
        "--exchange",
        "",
        "--pattern",
        "#",
        "--url",
        NO_BROKER,
    ]);
    assert_usage_error(&output, "must not be empty");
    let long = "e".repeat(100_000);
    let output = pulse(&[
        "publish",
        "--exchange",
        &long,
        "--routing-key",
        "k",
        "--payload",
        "{}",
        "--url",
        NO_BROKER,
    ]);
    assert_usage_error(&output, "at most 255 bytes");
    assert!(stderr(&output).len() < 1_000, "the name is quoted whole");
}

#[test]
fn a_bad_pattern_on_an_exchange_is_a_usage_error() {
    let args = ["listen", "--exchange", "exchange/x", "--url", NO_BROKER];
    let output = pulse(&[&args[..], &["--pattern", "#.a.#.b.#"]].concat());
    assert_usage_error(&output, "bad --pattern");
}

#[test]
fn publish_on_an_exchange_refuses_a_wildcard_or_too_long_routing_key() {
    let publish = |key: &str| {
        pulse(&[
            "publish",
            "--exchange",
            "exchange/x",
            "--routing-key",
            key,
            "--payload",
            "{}",
            "--url",
            NO_BROKER,
        ])
    };
    assert_usage_error(&publish("a.*.b"), "--routing-key \"a.*.b\"");
    assert_usage_error(&publish("a.#"), "no `*` or `#` word");
    assert_usage_error(&publish(&"k".repeat(256)), "256 bytes long");
}

#[test]
fn publish_on_an_exchange_needs_a_routing_key_and_json() {
    let base = ["publish", "--exchange", "exchange/x", "--url", NO_BROKER];
    let output = pulse(&[&base[..], &["--payload", "{}"]].concat());
    assert_usage_error(&output, "--routing-key");
    let output = pulse(&[&base[..], &["--routing-key", "k", "--payload", "{x"]].concat());
    assert_usage_error(&output, "--payload is not JSON");
}

#[test]
fn a_cc_route_that_is_empty_a_pattern_or_too_long_is_a_usage_error() {
    let payload = r#"{"hookGroupId": "g", "hookId": "h"}"#;
    let publish = |route: &str| {
        pulse(&[
            "publish",
            "hook-created",
            "--payload",
            payload,
            "--cc",
            "fine.route",
            "--cc",
            route,
            "--url",
            NO_BROKER,
        ])
    };
    assert_usage_error(&publish(""), "--cc \"\": a route must not be empty");
    assert_usage_error(&publish("index.*"), "not a pattern");
    assert_usage_error(&publish(&"r".repeat(250)), "longer than 255 bytes");
}

#[test]
fn a_binding_and_exchange_together_are_a_usage_error() {
    let output = pulse(&[
        "publish",
        "--exchange",
        "exchange/x",
        "hook-created",
        "--payload",
        "{}",
    ]);
    assert_usage_error(&output, "--exchange");
    let output = pulse(&["listen", "hook-created", "--exchange", "exchange/x"]);
    assert_usage_error(&output, "--exchange");
}

#[test]
fn listen_with_a_metrics_address_that_is_not_one_is_a_usage_error() {
    let output = pulse(&[
        "listen",
        "task-group-resolved",
        "--url",
        "amqp://127.0.0.1:1",
        "--metrics",
        "localhost-9464",
    ]);
    assert_usage_error(&output, "--metrics <ADDR>");
}
