//! The queues handler mode keeps next to a named queue: a retry queue per
//! delay and the dead-letter queue, declared so that a node's loss loses
//! none of their messages.
//!
//! Each is a quorum queue (replicated like the main queue, whatever the main
//! queue's type) with `x-overflow: reject-publish` (which at-least-once
//! dead-lettering needs) and no length cap, even when the main queue has one:
//! a full retry queue and a full main queue would wait on each other for
//! ever, and a full dead-letter queue would stop the consumer. A republish the
//! broker cannot keep is nacked and the original stays unacknowledged. A retry queue holds each message for its
//! delay (`x-message-ttl`), then dead-letters it to the main queue through the
//! default exchange `at-least-once` (`x-dead-letter-strategy`): the retry
//! queue keeps the message until the main queue has confirmed it. (A classic
//! queue lives on one node: while that node is down, a message published to
//! it is routed nowhere, and one dead-lettered out of it may be dropped.)
//!
//! pulse-binding 0.1 declared these queues as classic ones. An empty one is
//! replaced at start; one that holds messages is left alone, and the
//! consumer refuses to start with a [`ClientError::QueueMismatch`] that says
//! how to empty it.

use std::time::Duration;

use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, Connection};
use tracing::info;

use crate::client::consumer::queue::{QueueSpec, precondition_failed};
use crate::client::error::ClientError;
use crate::client::transport::channel::{open_channel, short};

/// One queue next to the main queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SideQueue {
    /// Its full name.
    pub(crate) name: String,
    /// For a retry queue, how long it holds a message and the main queue it
    /// sends the message back to; `None` for the dead-letter queue.
    pub(crate) retry: Option<(Duration, String)>,
}

impl SideQueue {
    /// The `x-` arguments it is declared with: the main queue's expiry (not
    /// its length cap), and the rules above.
    pub(crate) fn arguments(&self, main: &QueueSpec) -> FieldTable {
        let mut arguments = main.expiry_arguments();
        let mut set = |key: &str, value: &str| {
            arguments.insert(
                ShortString::from(key),
                AMQPValue::LongString(LongString::from(value)),
            );
        };
        set("x-queue-type", "quorum");
        set("x-overflow", "reject-publish");
        if let Some((delay, target)) = &self.retry {
            set("x-dead-letter-exchange", "");
            set("x-dead-letter-routing-key", target);
            set("x-dead-letter-strategy", "at-least-once");
            let ttl = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            arguments.insert(
                ShortString::from("x-message-ttl"),
                AMQPValue::LongLongInt(ttl),
            );
        }
        arguments
    }

    /// Declares it on `connection`. One that exists with other arguments
    /// (a classic queue from 0.1, or other limits) is deleted and declared
    /// again if it is empty and unused; otherwise it stays as it is and the
    /// error says how to empty it.
    pub(crate) async fn declare(
        &self,
        connection: &Connection,
        main: &QueueSpec,
    ) -> Result<(), ClientError> {
        let arguments = self.arguments(main);
        let first = open_channel(connection).await?;
        let detail = match declare(&first, &self.name, arguments.clone()).await {
            Ok(()) => {
                let _ = first.close(200, ShortString::from("declared")).await;
                return Ok(());
            }
            // A failed declare closes its channel.
            Err(Declare::Mismatch(detail)) => detail,
            Err(Declare::Other(e)) => return Err(e),
        };
        let channel = open_channel(connection).await?;
        let emptied = channel
            .queue_delete(
                short(&self.name, "queue name")?,
                QueueDeleteOptions {
                    if_unused: true,
                    if_empty: true,
                    nowait: false,
                },
            )
            .await;
        match emptied {
            Ok(_) => {
                info!(queue = %self.name, was = %detail, "replaced an empty side queue declared otherwise (such as a classic one from pulse-binding 0.1)");
                let result = declare(&channel, &self.name, arguments).await;
                if result.is_ok() {
                    let _ = channel.close(200, ShortString::from("declared")).await;
                }
                result.map_err(Declare::into_error(&self.name))
            }
            Err(e) if precondition_failed(&e).is_some() => {
                let held = self.held(connection).await;
                Err(ClientError::QueueMismatch {
                    queue: self.name.clone(),
                    detail: self.refusal(&detail, held),
                })
            }
            Err(e) => Err(ClientError::broker(
                "queue.delete",
                format!("queue `{}`", self.name),
                e,
            )),
        }
    }

    /// How many messages it holds, if the broker says.
    async fn held(&self, connection: &Connection) -> Option<u32> {
        let channel = open_channel(connection).await.ok()?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let count = channel
            .queue_declare(
                ShortString::from(self.name.as_str()),
                passive,
                FieldTable::default(),
            )
            .await
            .ok()
            .map(|q| q.message_count());
        let _ = channel.close(200, ShortString::from("counted")).await;
        count
    }

    /// Why a side queue declared otherwise stays, and what to do.
    fn refusal(&self, detail: &str, held: Option<u32>) -> String {
        let held = match held {
            Some(n) => format!("{n} message(s)"),
            None => "messages or a consumer".to_owned(),
        };
        let what_to_do = match &self.retry {
            Some((delay, target)) => format!(
                "its messages go back to `{target}` by themselves within {delay:?}; start the consumer again then"
            ),
            None => "send its messages back with `pulse dead-letters --requeue` \
                     (client::dead_letters::requeue) or purge them, then start the consumer again"
                .to_owned(),
        };
        format!(
            "{detail}; it holds {held}, so it is not replaced by the quorum queue that retries and \
             dead letters now need (a classic queue from pulse-binding 0.1 loses messages when its node \
             is down): {what_to_do}"
        )
    }
}

/// Why a declaration failed.
enum Declare {
    /// The queue exists with other arguments (the broker's words).
    Mismatch(String),
    Other(ClientError),
}

impl Declare {
    fn into_error(name: &str) -> impl FnOnce(Declare) -> ClientError + '_ {
        move |e| match e {
            Declare::Mismatch(detail) => ClientError::QueueMismatch {
                queue: name.to_owned(),
                detail,
            },
            Declare::Other(e) => e,
        }
    }
}

async fn declare(channel: &Channel, name: &str, arguments: FieldTable) -> Result<(), Declare> {
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let name_short = short(name, "queue name").map_err(Declare::Other)?;
    match channel.queue_declare(name_short, options, arguments).await {
        Ok(_) => Ok(()),
        Err(e) => Err(match precondition_failed(&e) {
            Some(detail) => Declare::Mismatch(detail),
            None => Declare::Other(ClientError::broker(
                "queue.declare",
                format!("queue `{name}`"),
                e,
            )),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argument<'a>(table: &'a FieldTable, key: &str) -> Option<&'a AMQPValue> {
        table.inner().get(key)
    }

    fn long(s: &str) -> Option<AMQPValue> {
        Some(AMQPValue::LongString(LongString::from(s)))
    }

    #[test]
    fn a_retry_queue_is_a_quorum_queue_that_dead_letters_at_least_once() {
        let main = QueueSpec::named("q")
            .quorum(false)
            .max_length(100)
            .overflow(crate::client::Overflow::DropHead)
            .expires(Duration::from_secs(60));
        let side = SideQueue {
            name: "queue/u/q/retry/250ms".into(),
            retry: Some((Duration::from_millis(250), "queue/u/q".into())),
        };
        let args = side.arguments(&main);
        assert_eq!(argument(&args, "x-queue-type").cloned(), long("quorum"));
        // Whatever the main queue does when full, a side queue refuses.
        assert_eq!(
            argument(&args, "x-overflow").cloned(),
            long("reject-publish")
        );
        assert_eq!(
            argument(&args, "x-dead-letter-strategy").cloned(),
            long("at-least-once")
        );
        assert_eq!(argument(&args, "x-dead-letter-exchange").cloned(), long(""));
        assert_eq!(
            argument(&args, "x-dead-letter-routing-key").cloned(),
            long("queue/u/q")
        );
        assert_eq!(
            argument(&args, "x-message-ttl"),
            Some(&AMQPValue::LongLongInt(250))
        );
        assert_eq!(argument(&args, "x-max-length"), None, "no length cap");
        assert_eq!(
            argument(&args, "x-expires"),
            Some(&AMQPValue::LongLongInt(60_000))
        );
        assert_eq!(args.inner().len(), 7, "{args:?}");
    }

    #[test]
    fn the_dead_letter_queue_is_a_quorum_queue_without_a_length_cap() {
        let dead = SideQueue {
            name: "queue/u/q/dead".into(),
            retry: None,
        };
        let args = dead.arguments(&QueueSpec::named("q").max_length(10));
        assert_eq!(argument(&args, "x-queue-type").cloned(), long("quorum"));
        assert_eq!(
            argument(&args, "x-overflow").cloned(),
            long("reject-publish")
        );
        assert_eq!(args.inner().len(), 2, "{args:?}");
    }

    #[test]
    fn a_refusal_says_how_to_empty_the_queue() {
        let retry = SideQueue {
            name: "queue/u/q/retry/1000ms".into(),
            retry: Some((Duration::from_secs(1), "queue/u/q".into())),
        };
        let text = retry.refusal("inequivalent arg 'x-queue-type'", Some(3));
        assert!(text.starts_with("inequivalent arg 'x-queue-type'; it holds 3 message(s)"));
        assert!(
            text.ends_with(
                "go back to `queue/u/q` by themselves within 1s; start the consumer again then"
            ),
            "{text}"
        );
        let dead = SideQueue {
            name: "queue/u/q/dead".into(),
            retry: None,
        };
        let text = dead.refusal("x", None);
        assert!(text.contains("it holds messages or a consumer"), "{text}");
        assert!(text.contains("pulse dead-letters --requeue"), "{text}");
    }
}
