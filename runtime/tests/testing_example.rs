//! The README's testing example (docs/testing.md): a handler tested with
//! `FakePulse`, no broker needed.

use pulse_binding::Bindings;
use pulse_binding::client::{HandlerError, Message, QueueSpec, RetryPolicy};
use pulse_binding::hooks::{HookChangedMessage as Hook, HookCreated};
use pulse_binding::testing::FakePulse;

async fn on_hook(message: Message<Hook>) -> Result<(), HandlerError> {
    match message.payload.hook_id.as_str() {
        "" => Err(HandlerError::fatal("a hook without an id")),
        _ => Ok(()),
    }
}

#[tokio::test]
async fn a_hook_without_an_id_is_dead_lettered() {
    let pulse = FakePulse::new();
    let bindings = Bindings::new().with(HookCreated::default(), |m: Hook| m);
    let consumer = pulse.consumer(bindings).queue(QueueSpec::named("hooks"));
    let consumer = consumer.retry(RetryPolicy::new(3)).start().await.unwrap();
    tokio::spawn(consumer.run(4, on_hook));
    let created = HookCreated {
        reserved: Some("_".into()),
    };
    let no_id = Hook::default();
    pulse.publisher().publish(&created, &no_id).await.unwrap();
    pulse.idle().await;
    assert_eq!(pulse.unacked("hooks"), 0);
    assert_eq!(pulse.queue_len("hooks/dead"), 1);
}
