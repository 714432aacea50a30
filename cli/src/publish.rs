//! `pulse publish <binding> [--<word> value ...] --payload JSON|-`.

use std::io::Read;

use clap::ArgMatches;
use pulse_binding::client::{Publisher, PulseConfig};
use pulse_binding::{WordKind, routing_key_from_words};
use serde_json::Value;

use crate::catalog::Entry;
use crate::failure::Failure;

/// Publishes the payload, checked against the binding's payload type, with
/// the routing key of the word flags: an unset word is `_`, as Taskcluster
/// services write a word they have no value for.
pub async fn run(entry: Entry<'_>, m: &ArgMatches, url: String) -> Result<(), Failure> {
    let exchange = entry.binding.exchange_name();
    let payload = m.get_one::<String>("payload").expect("required");
    let text = if payload == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage("cannot read the payload from stdin", &e))?;
        text
    } else {
        payload.clone()
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| Failure::usage("--payload is not JSON", &e))?;
    let body = serde_json::to_vec(&value).expect("a JSON value serializes");
    entry
        .binding
        .decode_any(&body)
        .map_err(|e| Failure::usage("--payload does not fit the binding", &e))?;
    let routing_key = routing_key_from_words(exchange, entry.words(), |w| match w.kind {
        WordKind::Constant(_) => None,
        _ => Some(entry.word(m, w).unwrap_or("_")),
    })
    .map_err(|e| Failure::usage("bad routing-key word", &e))?;
    let urls: Vec<&str> = url.split(',').map(str::trim).collect();
    let publisher = Publisher::connect(PulseConfig::from_urls(&urls)?)
        .await?
        .declare_exchanges(m.get_flag("declare"));
    let published = publisher.publish_raw(exchange, &routing_key, &body).await;
    publisher.close().await;
    published?;
    eprintln!("published to {exchange} with routing key {routing_key}");
    Ok(())
}
