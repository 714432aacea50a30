//! The main example: the three prebuilt hook bindings, a binding derived here,
//! and decoding messages as Taskcluster publishes them.
//!
//! Run it with `cargo run --example hooks`.

use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted, HookUpdated};
use pulse_binding::prelude::*;
use pulse_binding::{Bindings, DynBinding};

/// A binding of our own: task-completed messages of one task, any run.
#[derive(PulseBinding, Default, Debug)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct TaskCompleted {
    /// Always `primary` in published keys; `*` here would also match the
    /// `route.` keys of custom routes.
    #[mwords(constant = "primary")]
    routing_key_kind: Option<String>,
    #[mwords("*")]
    task_id: Option<String>,
    #[mwords("*")]
    run_id: Option<u32>,
    #[mwords("#")]
    reserved: Option<String>,
}

/// What our program reacts to.
enum HookEvent {
    Created(HookChangedMessage),
    Updated(HookChangedMessage),
    Deleted(HookChangedMessage),
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("The hooks service's exchanges:");
    let hooks: [Box<dyn DynBinding>; 3] = [
        Box::new(HookCreated::default()),
        Box::new(HookUpdated::default()),
        Box::new(HookDeleted::default()),
    ];
    for binding in &hooks {
        println!(
            "  {:<45} pattern {:?}",
            binding.exchange_name(),
            binding.try_routing_key()?
        );
    }

    // A message as the hooks service publishes it: routing key `_`, JSON body.
    let body = br#"{"hookGroupId": "project-releng", "hookId": "cron-nightly", "addedLater": 1}"#;
    let message = HookCreated::default().decode(body)?;
    println!("\nDecoded from hook-created: {message:#?}");

    // Several bindings, one message type: each delivery finds its binding.
    let bindings = Bindings::new()
        .with(HookCreated::default(), HookEvent::Created)
        .with(HookUpdated::default(), HookEvent::Updated)
        .with(HookDeleted::default(), HookEvent::Deleted);
    let event = bindings.dispatch("exchange/taskcluster-hooks/v1/hook-deleted", "_", body)?;
    match event {
        HookEvent::Created(m) => println!(
            "\nDispatched: hook {}/{} was created",
            m.hook_group_id, m.hook_id
        ),
        HookEvent::Updated(m) => println!(
            "\nDispatched: hook {}/{} was updated",
            m.hook_group_id, m.hook_id
        ),
        HookEvent::Deleted(m) => println!(
            "\nDispatched: hook {}/{} was deleted",
            m.hook_group_id, m.hook_id
        ),
    }

    // Our own binding: a checked pattern, matching, and a key read back.
    let mine = TaskCompleted {
        task_id: Some("fJ8bZ2qdQpqxkM8nM1Y2yg".into()),
        ..Default::default()
    };
    println!(
        "\n{} pattern {}",
        mine.exchange_name(),
        mine.try_routing_key()?
    );
    let key = "primary.fJ8bZ2qdQpqxkM8nM1Y2yg.0.us-east-1.i-0123.aws.docker-worker.tg1._";
    println!("  matches {key}: {}", mine.matches(key));
    println!("  read back: {:?}", TaskCompleted::from_routing_key(key)?);

    // Mistakes are errors that say what is wrong, never panics.
    let bad = TaskCompleted {
        task_id: Some("a.b".into()),
        ..Default::default()
    };
    println!(
        "\nA task id with a dot: {}",
        bad.try_routing_key().unwrap_err()
    );
    // An error says what failed; its `source()` says why.
    let error = HookCreated::default()
        .decode(br#"{"hookGroupId": "g"}"#)
        .unwrap_err();
    let why = std::error::Error::source(&error).map(ToString::to_string);
    println!(
        "A body without hookId: {error}: {}",
        why.unwrap_or_default()
    );
    Ok(())
}
