//! `pulse publish <binding> [--<word> value ...] --payload JSON|-` or `pulse
//! publish --exchange NAME --routing-key KEY --payload JSON|-`, each with
//! `--cc ROUTE` for custom routes.

use std::io::Read;

use clap::ArgMatches;
use pulse_binding::client::{Publisher, PulseConfig};
use pulse_binding::{Binding, WordKind, routing_key_from_words};
use serde_json::Value;

use crate::failure::{Failure, quoted};
use crate::target::Target;

/// Publishes the payload with its CC routes. For a prebuilt binding the
/// payload is checked against its payload type and the routing key is that
/// of the word flags (an unset word is `_`, as Taskcluster services write a
/// word they have no value for); for `--exchange`, any JSON goes, with the
/// routing key given.
pub async fn run(target: Target<'_>, m: &ArgMatches, url: String) -> Result<(), Failure> {
    let exchange = target.exchange();
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
    let routing_key = match &target {
        Target::Prebuilt(entry) => {
            let body = serde_json::to_vec(&value).expect("a JSON value serializes");
            entry
                .binding
                .decode_any(&body)
                .map_err(|e| Failure::usage("--payload does not fit the binding", &e))?;
            routing_key_from_words(exchange, entry.words(), |w| match w.kind {
                WordKind::Constant(_) => None,
                _ => Some(entry.word(m, w).unwrap_or("_")),
            })
            .map_err(|e| Failure::usage("bad routing-key word", &e))?
        }
        Target::Exchange(_) => {
            let key = m
                .get_one::<String>("routing-key")
                .ok_or_else(|| Failure::Usage("--exchange needs --routing-key".to_owned()))?;
            check_routing_key(key)?;
            key.clone()
        }
    };
    let routes: Vec<&str> = m
        .get_many::<String>("cc")
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    for route in &routes {
        check_route(route)?;
    }
    let urls: Vec<&str> = url.split(',').map(str::trim).collect();
    let publisher = Publisher::connect(PulseConfig::from_urls(&urls)?)
        .await?
        .declare_exchanges(m.get_flag("declare"));
    // A binding of that exact key: `publish_routed` checks it is concrete
    // (no `*` or `#` word) and at most 255 bytes, and sends each route as the
    // CC key `route.<route>`.
    let binding = Binding::new(exchange, routing_key.clone());
    let published = publisher.publish_routed(&binding, &value, &routes).await;
    publisher.close().await;
    published?;
    let cc: String = routes.iter().map(|r| format!(", CC route.{r}")).collect();
    eprintln!("published to {exchange} with routing key {routing_key}{cc}");
    Ok(())
}

/// Whether `key` has a `*` or `#` word: a pattern's, not a message's.
fn has_wildcard(key: &str) -> bool {
    key.split('.').any(|w| w == "*" || w == "#")
}

/// `--routing-key`: concrete words, at most 255 bytes (checked here, before
/// connecting, so that bad input is a usage error whatever the broker).
fn check_routing_key(key: &str) -> Result<(), Failure> {
    let problem = if has_wildcard(key) {
        "a message's routing key has no `*` or `#` word (those are for patterns)".to_owned()
    } else if key.len() > 255 {
        format!("it is {} bytes long; AMQP allows at most 255", key.len())
    } else {
        return Ok(());
    };
    Err(Failure::Usage(format!(
        "--routing-key {}: {problem}",
        quoted(key)
    )))
}

/// A route of `--cc`: the words after `route.` of a concrete routing key of
/// at most 255 bytes.
fn check_route(route: &str) -> Result<(), Failure> {
    let problem = if route.is_empty() {
        "a route must not be empty"
    } else if has_wildcard(route) {
        "a route is part of a routing key, not a pattern: no `*` or `#` word"
    } else if "route.".len() + route.len() > 255 {
        "route.<ROUTE> is longer than 255 bytes, AMQP's limit for a routing key"
    } else {
        return Ok(());
    };
    Err(Failure::Usage(format!("--cc {}: {problem}", quoted(route))))
}
