//! `pulse listen <binding> [--<word> value ...]` or `pulse listen --exchange
//! NAME --pattern PATTERN`: binds a queue and prints each message as a JSON
//! line until Ctrl-C.

use std::time::Duration;

use clap::ArgMatches;
use pulse_binding::client::{Consumer, PulseConfig, QueueSpec};
use pulse_binding::{Binding, Bindings, check_pattern, parse_fields, routing_key_from_words};
use serde_json::{Map, Value, json};

use crate::failure::{Failure, chain};
use crate::output;
use crate::target::Target;

/// Listens until Ctrl-C (or `--count` messages), then shuts the consumer
/// down in order.
pub async fn run(target: Target<'_>, m: &ArgMatches, url: String) -> Result<(), Failure> {
    let exchange = target.exchange();
    let words = target.words();
    let pattern = match (m.get_one::<String>("pattern"), &target) {
        (Some(pattern), _) => {
            check_pattern(exchange, pattern).map_err(|e| Failure::usage("bad --pattern", &e))?;
            pattern.clone()
        }
        (None, Target::Prebuilt(entry)) => {
            routing_key_from_words(exchange, words, |w| entry.word(m, w))
                .map_err(|e| Failure::usage("bad routing-key word", &e))?
        }
        (None, Target::Exchange(_)) => {
            return Err(Failure::Usage("--exchange needs --pattern".to_owned()));
        }
    };
    let urls: Vec<&str> = url.split(',').map(str::trim).collect();
    let config = PulseConfig::from_urls(&urls)?;
    let mut queue = m
        .get_one::<String>("queue")
        .map_or_else(QueueSpec::anonymous, |name| QueueSpec::named(name.clone()));
    if let Some(max) = m.get_one::<u32>("max-length") {
        queue = queue.max_length(*max);
    }
    if let Some(secs) = m.get_one::<u64>("expires") {
        queue = queue.expires(Duration::from_secs(*secs));
    }
    let metrics = m.get_one::<std::net::SocketAddr>("metrics");
    if let Some(addr) = metrics {
        crate::metrics::serve(*addr)?;
    }
    let bindings = Bindings::new().with(Binding::new(exchange, pattern.clone()), |v: Value| v);
    let mut consumer = Consumer::builder(config, bindings)
        .queue(queue)
        .declare_exchanges(m.get_flag("declare"))
        .start()
        .await?;
    eprintln!(
        "listening on {} to {exchange} with {pattern}",
        consumer.queue_name()
    );
    if let Some(addr) = metrics {
        eprintln!("serving metrics on http://{addr}/metrics");
    }
    let stop = consumer.shutdown_handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("shutting down");
            stop.shutdown();
        }
    });
    let count = m.get_one::<u64>("count").copied();
    let mut seen = 0;
    while count.is_none_or(|n| seen < n) {
        // Ends after a Ctrl-C, once what was delivered is printed.
        let Some(item) = consumer.recv().await else {
            break;
        };
        let message = match item {
            Ok(message) => message,
            Err(e) => {
                eprintln!("pulse: {}", chain(&e));
                continue;
            }
        };
        let fields: Map<String, Value> = parse_fields(exchange, words, &message.routing_key)
            .map(|fields| {
                fields
                    .into_iter()
                    .map(|(name, word)| (name.to_owned(), json!(word)))
                    .collect()
            })
            .unwrap_or_default();
        // The payload as sent; a warning when it is not what a prebuilt
        // binding's payload type reads.
        if let Target::Prebuilt(entry) = &target {
            let body = serde_json::to_vec(&message.payload).unwrap_or_default();
            if let Err(e) = entry.binding.decode_any(&body) {
                eprintln!("pulse: warning: {}", chain(&e));
            }
        }
        let line = json!({
            "exchange": message.exchange,
            "routingKey": message.routing_key,
            "fields": fields,
            "routes": message.routes,
            "redelivered": message.redelivered,
            "payload": message.payload,
        });
        let written = match output::line(&line.to_string()) {
            Ok(written) => written,
            Err(failure) => {
                consumer.shutdown(Duration::from_secs(10)).await;
                return Err(failure);
            }
        };
        if !written {
            // The reader has gone: the message goes back to the queue.
            break;
        }
        message
            .ack()
            .await
            .map_err(|e| Failure::Failed(chain(&e)))?;
        seen += 1;
    }
    let report = consumer.shutdown(Duration::from_secs(10)).await;
    eprintln!(
        "stopped after {seen} message(s); {} requeued",
        report.requeued
    );
    Ok(())
}
