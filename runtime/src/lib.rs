#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

// Lets the derive's `::pulse_binding::...` paths resolve inside this crate too.
extern crate self as pulse_binding;

mod binding;
mod dynamic;
mod error;
mod key;
mod report;
mod topic;
mod traits;
mod word;

// The prebuilt bindings, one module per Taskcluster service, in services/,
// written by `cargo run -p pulse-binding-generator` (see generator/README.md).
// `#[path]` keeps them at `pulse_binding::queue` etc. `#[rustfmt::skip]`: the
// generator prints them with prettyplease and its `--check` keeps them as it
// prints them, whatever the installed rustfmt would make of them.
#[rustfmt::skip]
#[path = "services/auth.rs"]
pub mod auth;
#[rustfmt::skip]
#[path = "services/github.rs"]
pub mod github;
#[rustfmt::skip]
#[path = "services/hooks.rs"]
pub mod hooks;
#[rustfmt::skip]
#[path = "services/notify.rs"]
pub mod notify;
#[rustfmt::skip]
#[path = "services/prebuilt.rs"]
mod prebuilt;
#[rustfmt::skip]
#[path = "services/queue.rs"]
pub mod queue;
#[rustfmt::skip]
#[path = "services/worker_manager.rs"]
pub mod worker_manager;

pub mod prelude;

// Consuming and publishing on a broker: the `client` feature.
#[cfg(feature = "client")]
pub mod client;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use binding::Binding;
pub use dynamic::{Bindings, DynBinding, Route};
pub use error::{DecodeError, DispatchError, FromRoutingKeyError, RoutingKeyError};
pub use key::{KeyWord, WordKind, check_pattern, parse_fields, routing_key_from_words};
pub use prebuilt::prebuilt_bindings;
pub use topic::topic_matches;
pub use traits::{FromRoutingKey, PulseBinding};
pub use word::{ParseWord, RoutingWord, WordBuf};

/// Derives [`PulseBinding`] (and [`FromRoutingKey`] where the fields allow)
/// for a struct. See the crate docs for the attributes.
pub use pulse_binding_derive::PulseBinding;
