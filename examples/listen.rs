//! A `pulse-listen` tool: binds a queue and prints each message as one JSON
//! line with its exchange, routing key, routing fields and payload.
//!
//! ```text
//! cargo run --example listen --features client -- [options] <exchange> [pattern]
//! cargo run --example listen --features client -- [options] <prebuilt binding>
//!
//!   --url <URL>      amqp:// or amqps:// URL (default: $PULSE_URL, else
//!                    amqp://guest:guest@127.0.0.1:5672); credentials missing
//!                    from it come from PULSE_USERNAME / PULSE_PASSWORD; for
//!                    a cluster, the nodes' URLs separated by commas
//!   --queue <name>   a durable (quorum) queue queue/<user>/<name> (default:
//!                    anonymous)
//!   --max-length <n> cap the queue at n messages, dropping the oldest
//!   --expires <secs> delete the queue after it has been unused that long
//!   --dead           print the named queue's dead letters and exit
//!   --requeue-dead   send the named queue's dead letters back and exit
//!   --declare        declare the exchange (for a local broker)
//!   --count <n>      exit after n messages
//!   <pattern>        routing-key pattern (default: #)
//! ```
//!
//! Ctrl-C (SIGINT) shuts the consumer down in order; the consumer's figures
//! go to stderr when it ends.
//!
//! A prebuilt binding goes by its exchange's last part, e.g. `task-completed`,
//! `hook-created` or `worker-running` (any of the 36): the payload is decoded
//! as its own type, and the routing fields are named. Try it with `publish`
//! on a local broker:
//!
//! ```text
//! scripts/rabbitmq.sh start
//! cargo run --example listen --features client -- --declare hook-created
//! cargo run --example publish --features client -- --declare my-group my-hook   # elsewhere
//! ```

use std::process::ExitCode;
use std::time::Duration;

use pulse_binding::client::{Consumer, PulseConfig, QueueSpec, dead_letters};
use pulse_binding::prelude::*;
use pulse_binding::{Binding, Bindings};
use serde_json::{Map, Value, json};

const USAGE: &str = "usage: listen [--url URL] [--queue NAME] [--max-length N] \
                     [--expires SECS] [--dead | --requeue-dead] [--declare] [--count N] \
                     <exchange> [pattern] | <prebuilt binding, e.g. task-completed>";

struct Args {
    url: String,
    queue: Option<String>,
    max_length: Option<u32>,
    expires: Option<u64>,
    dead: bool,
    requeue_dead: bool,
    declare: bool,
    count: Option<u64>,
    target: String,
    pattern: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut url = std::env::var("PULSE_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".to_owned());
    let (mut queue, mut declare, mut count) = (None, false, None);
    let (mut max_length, mut expires) = (None, None);
    let (mut dead, mut requeue_dead) = (false, false);
    fn number<T: std::str::FromStr>(option: &str, value: String) -> Result<T, String> {
        value
            .parse()
            .map_err(|_| format!("{option} {value}: not a number"))
    }
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--url" => url = value("--url")?,
            "--queue" => queue = Some(value("--queue")?),
            "--declare" => declare = true,
            "--dead" => dead = true,
            "--requeue-dead" => requeue_dead = true,
            "--count" => count = Some(number("--count", value("--count")?)?),
            "--max-length" => max_length = Some(number("--max-length", value("--max-length")?)?),
            "--expires" => expires = Some(number("--expires", value("--expires")?)?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => positional.push(arg),
        }
    }
    if (dead || requeue_dead) && queue.is_none() {
        return Err("--dead and --requeue-dead need --queue".to_owned());
    }
    let mut positional = positional.into_iter();
    let target = match positional.next() {
        Some(target) => target,
        None if dead || requeue_dead => String::new(),
        None => return Err("missing <exchange>".to_owned()),
    };
    let pattern = positional.next();
    if positional.next().is_some() {
        return Err("too many arguments".to_owned());
    }
    Ok(Args {
        url,
        queue,
        max_length,
        expires,
        dead,
        requeue_dead,
        declare,
        count,
        target,
        pattern,
    })
}

/// Every payload as JSON, whatever its type, for printing.
fn bindings(target: &str, pattern: Option<String>) -> Result<Bindings<Value>, String> {
    match (prebuilt(target), pattern) {
        (Some(_), Some(_)) => Err(format!("the prebuilt binding {target} takes no pattern")),
        (Some(bindings), None) => Ok(bindings),
        (None, pattern) => Ok(Bindings::new().with(
            Binding::new(target, pattern.unwrap_or_else(|| "#".to_owned())),
            |v: Value| v,
        )),
    }
}

/// The prebuilt binding whose exchange ends in `/<name>`, typed, with its
/// payload turned back into JSON for printing.
fn prebuilt(name: &str) -> Option<Bindings<Value>> {
    macro_rules! find {
        ($(($service:literal, $entry:literal, $binding:ty)),* $(,)?) => {$(
            let binding = <$binding>::default();
            if binding.exchange_name().rsplit('/').next() == Some(name) {
                let to_json = |payload| serde_json::to_value(payload).unwrap_or(Value::Null);
                return Some(Bindings::new().with(binding, to_json));
            }
        )*};
    }
    pulse_binding::for_each_prebuilt_binding!(find);
    None
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = async {
        let urls: Vec<&str> = args.url.split(',').map(str::trim).collect();
        let config = PulseConfig::from_urls(&urls)?;
        if args.dead || args.requeue_dead {
            let queue = QueueSpec::named(args.queue.clone().unwrap_or_default());
            if args.requeue_dead {
                let n = dead_letters::requeue(&config, &queue).await?;
                eprintln!("sent {n} dead letter(s) back to the queue");
            } else {
                for letter in dead_letters::read(&config, &queue, usize::MAX).await? {
                    let line = json!({
                        "exchange": letter.exchange,
                        "routingKey": letter.routing_key,
                        "cc": letter.cc,
                        "attempts": letter.attempts,
                        "error": letter.error,
                        "body": String::from_utf8_lossy(&letter.body),
                    });
                    println!("{line}");
                }
            }
            return Ok(());
        }
        let mut queue = args
            .queue
            .map_or_else(QueueSpec::anonymous, QueueSpec::named);
        if let Some(max) = args.max_length {
            queue = queue.max_length(max);
        }
        if let Some(secs) = args.expires {
            queue = queue.expires(Duration::from_secs(secs));
        }
        let mut consumer = Consumer::builder(config, bindings(&args.target, args.pattern)?)
            .queue(queue)
            .declare_exchanges(args.declare)
            .start()
            .await?;
        eprintln!("listening on {}", consumer.queue_name());
        let stop = consumer.shutdown_handle();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("shutting down");
                stop.shutdown();
            }
        });
        let mut seen = 0;
        while args.count.is_none_or(|n| seen < n) {
            // Ends after a Ctrl-C, once what was delivered is printed.
            let Some(item) = consumer.recv().await else {
                break;
            };
            match item {
                Ok(message) => {
                    let fields: Map<String, Value> = message
                        .fields
                        .iter()
                        .map(|(name, word)| ((*name).to_owned(), json!(word)))
                        .collect();
                    let line = json!({
                        "exchange": message.exchange,
                        "routingKey": message.routing_key,
                        "fields": fields,
                        "routes": message.routes,
                        "redelivered": message.redelivered,
                        "payload": message.payload,
                    });
                    println!("{line}");
                    message.ack().await?;
                    seen += 1;
                }
                Err(e) => eprintln!("{e}"),
            }
        }
        let report = consumer.shutdown(Duration::from_secs(10)).await;
        eprintln!("stopped: {} requeued; {:?}", report.requeued, report.stats);
        Ok::<(), Box<dyn std::error::Error>>(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("listen: {e}");
            ExitCode::FAILURE
        }
    }
}
