//! `pulse dead-letters <queue>`: what a handler-mode consumer of the named
//! queue gave up on, as JSON lines, or sent back to the queue with
//! `--requeue`.

use clap::ArgMatches;
use pulse_binding::client::{PulseConfig, QueueSpec, dead_letters};
use serde_json::json;

use crate::failure::Failure;
use crate::output;

/// Prints the dead letters (leaving them in place), or requeues them.
pub async fn run(m: &ArgMatches, url: String) -> Result<(), Failure> {
    let name = m.get_one::<String>("queue").expect("required");
    let urls: Vec<&str> = url.split(',').map(str::trim).collect();
    let config = PulseConfig::from_urls(&urls)?;
    let queue = QueueSpec::named(name.clone());
    if m.get_flag("requeue") {
        let count = dead_letters::requeue(&config, &queue).await?;
        eprintln!("sent {count} dead letter(s) back to the queue");
        return Ok(());
    }
    for letter in dead_letters::read(&config, &queue, usize::MAX).await? {
        let body = serde_json::from_slice(&letter.body)
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&letter.body)));
        let line = json!({
            "exchange": letter.exchange,
            "routingKey": letter.routing_key,
            "cc": letter.cc,
            "attempts": letter.attempts,
            "error": letter.error,
            "payload": body,
        });
        if !output::line(&line.to_string())? {
            break;
        }
    }
    Ok(())
}
