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

/// The README shows this test as it is here.
#[test]
fn the_readme_shows_this_test_as_it_is() {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("#[tokio::test]")
        .expect("the README's testing example");
    let end = start
        + readme[start..]
            .find("```")
            .expect("the end of its code block");
    let this = include_str!("testing_example.rs");
    assert!(
        this.contains(readme[start..end].trim_end()),
        "the README's testing example differs from runtime/tests/testing_example.rs"
    );
}
