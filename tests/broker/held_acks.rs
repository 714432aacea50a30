//! Acknowledgements RabbitMQ holds back still count when the consumer closes.
//!
//! RabbitMQ 3.10 keeps a channel's acknowledgements and rejections to a
//! quorum queue in the channel, unsent, while more than
//! `quorum_commands_soft_limit` (32) of its earlier commands wait to be
//! applied, and forgets them if the channel closes first: the queue then
//! delivers those messages again. The consumer keeps a quorum queue's
//! channel open a moment after its last acknowledgement, so that the broker
//! passes them on. Here the limit is lowered to 2 and each round ends with a
//! burst of single acknowledgements right before the close.
//!
//! Whether the broker still holds some at the close is a race it usually
//! wins within milliseconds: without the grace, 2 of 9 runs of this test
//! failed here (6 or 12 rounds each), and the coalescing test with the limit
//! at 2 failed 2 of 4 runs; with it, none of 11 and none of 8.

use pulse_binding::client::{Consumer, Publisher, QueueSpec};
use pulse_binding::{Binding, Bindings};

use crate::support::{
    broker, cleanup, config, exclusive, have_rabbitmqctl, rabbitmqctl, ready_count, unique, within,
};

const LIMIT: &str = "quorum_commands_soft_limit";

/// Sets the broker's soft limit for the channels opened from now on, and puts
/// the old value back when dropped, even if the test fails.
struct SoftLimit {
    old: String,
}

impl SoftLimit {
    async fn set(value: u32) -> Self {
        let got = rabbitmqctl(&["eval", &format!("application:get_env(rabbit, {LIMIT}).")])
            .await
            .expect("read the soft limit");
        // `{ok,32}`, or `undefined` when it was never set.
        let old = got
            .trim()
            .strip_prefix("{ok,")
            .and_then(|v| v.strip_suffix('}'))
            .unwrap_or("32")
            .to_owned();
        set_limit(&value.to_string()).await;
        Self { old }
    }
}

async fn set_limit(value: &str) {
    rabbitmqctl(&[
        "eval",
        &format!("application:set_env(rabbit, {LIMIT}, {value})."),
    ])
    .await
    .expect("set the soft limit");
}

impl Drop for SoftLimit {
    fn drop(&mut self) {
        let old = self.old.clone();
        // Drop cannot await: restore on a thread of its own and wait for it.
        let restored = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(set_limit(&old));
        })
        .join();
        if restored.is_err() {
            eprintln!("could not restore {LIMIT}; restart the broker");
        }
    }
}

/// Rounds of the race: the broker passes the held ones on within a few
/// milliseconds when idle, so a close loses them only now and then.
const ROUNDS: usize = 12;
/// Messages in the queue at each round's start; each round acknowledges
/// `ACKED` of them and leaves the rest unsettled.
const TOTAL: usize = 101;
const ACKED: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_the_broker_holds_back_still_count_when_the_consumer_closes() {
    let url = broker!();
    let _guard = exclusive().await;
    if !have_rabbitmqctl().await {
        return;
    }
    let exchange = unique("exchange/pulse-binding-tests/held-acks");
    let spec = QueueSpec::named(unique("held-acks"));
    assert!(spec.is_quorum(), "the broker holds back for quorum queues");
    let queue = spec.full_name("guest").unwrap();
    let start = |spec: QueueSpec| {
        Consumer::builder(
            config(&url),
            Bindings::new().with(Binding::new(&exchange, "#"), |v: serde_json::Value| v),
        )
        .queue(spec)
        .prefetch(TOTAL as u16)
        .declare_exchanges(true)
        .start()
    };
    start(spec.clone()).await.expect("declare").close().await;
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    let publish = |count: usize| {
        let (publisher, exchange) = (&publisher, &exchange);
        async move {
            for id in 0..count {
                publisher
                    .publish_raw(exchange, "n", id.to_string().as_bytes())
                    .await
                    .expect("publish");
            }
        }
    };
    publish(TOTAL).await;

    let limit = SoftLimit::set(2).await;
    for round in 0..ROUNDS {
        let mut consumer = start(spec.clone()).await.expect("consumer");
        let mut messages = Vec::new();
        for _ in 0..TOTAL {
            let message = within(10, "a message", consumer.recv())
                .await
                .expect("the stream goes on")
                .expect("a message");
            messages.push(message);
        }
        // The first one is left unsettled: a gap, so that the others go one
        // by one at close, a burst of single acknowledgements that puts the
        // broker over the limit and has it hold most of them back.
        let acked = messages.split_off(TOTAL - ACKED);
        for message in acked {
            message.ack().await.expect("ack");
        }
        drop(messages);
        within(30, "close", consumer.close()).await;
        // The unsettled one comes back once the queue has handled the
        // channel's end, which can lag a moment behind the close.
        let mut ready = ready_count(&url, &queue).await as usize;
        for _ in 0..50 {
            if ready >= TOTAL - ACKED {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            ready = ready_count(&url, &queue).await as usize;
        }
        assert_eq!(
            ready,
            TOTAL - ACKED,
            "round {round}: the acknowledged messages are gone, the unsettled one back"
        );
        publish(ACKED).await;
    }
    drop(limit);
    publisher.close().await;
    cleanup(&url, &[&queue], &[&exchange]).await;
}
