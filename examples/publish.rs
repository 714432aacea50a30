//! Publishes a hook-changed message, as the hooks service does: the other half
//! of the `listen` example.
//!
//! ```text
//! cargo run --example publish --features client -- [options] [hook-group-id] [hook-id]
//!
//!   --url <URL>    amqp:// or amqps:// URL (default: $PULSE_URL, else
//!                  amqp://guest:guest@127.0.0.1:5672)
//!   --kind <k>     created, updated or deleted (default: created)
//!   --declare      declare the exchange (for a local broker)
//! ```

use std::process::ExitCode;

use pulse_binding::client::{Publisher, PulseConfig};
use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted, HookUpdated};

const USAGE: &str = "usage: publish [--url URL] [--kind created|updated|deleted] [--declare] \
                     [hook-group-id] [hook-id]";

#[tokio::main]
async fn main() -> ExitCode {
    let mut url = std::env::var("PULSE_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".to_owned());
    let (mut kind, mut declare) = ("created".to_owned(), false);
    let mut ids = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.len()) {
            ("--url", 1..) => url = args.next().expect("counted"),
            ("--kind", 1..) => kind = args.next().expect("counted"),
            ("--declare", _) => declare = true,
            (other, _) if other.starts_with('-') || ids.len() == 2 => {
                eprintln!("unexpected argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => ids.push(arg),
        }
    }
    let message = HookChangedMessage {
        hook_group_id: ids.first().cloned().unwrap_or_else(|| "my-group".into()),
        hook_id: ids.get(1).cloned().unwrap_or_else(|| "my-hook".into()),
        ..Default::default()
    };
    // The hooks service publishes every message with the routing key `_`.
    let reserved = Some("_".to_owned());
    let result = async {
        let publisher = Publisher::connect(PulseConfig::from_url(&url)?)
            .await?
            .declare_exchanges(declare);
        match kind.as_str() {
            "created" => {
                publisher
                    .publish(&HookCreated { reserved }, &message)
                    .await?
            }
            "updated" => {
                publisher
                    .publish(&HookUpdated { reserved }, &message)
                    .await?
            }
            "deleted" => {
                publisher
                    .publish(&HookDeleted { reserved }, &message)
                    .await?
            }
            other => return Err(format!("--kind {other}: created, updated or deleted").into()),
        }
        publisher.close().await;
        Ok::<(), Box<dyn std::error::Error>>(())
    }
    .await;
    match result {
        Ok(()) => {
            eprintln!(
                "published hook-{kind} for {}/{}",
                message.hook_group_id, message.hook_id
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("publish: {e}");
            ExitCode::FAILURE
        }
    }
}
