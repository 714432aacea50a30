//! Typed bindings for Taskcluster's Pulse (RabbitMQ) events:
//! `#[derive(PulseBinding)]` turns a struct into an exchange name, a validated
//! routing-key pattern, a parser of delivered routing keys, and a payload type.
//!
//! Taskcluster services announce events on Pulse: each event goes to a topic
//! exchange such as `exchange/taskcluster-queue/v1/task-completed`, with a
//! routing key of dot-separated words and a JSON body. A consumer binds a queue
//! to the exchange with a pattern where `*` is one word and `#` any number of
//! words. This crate ports Taskcluster's Go `tchooksevents` package (and the
//! `pulse-go` layer beneath it) and goes further:
//!
//! - **Errors at compile time.** A missing exchange, an unknown wildcard, a
//!   third `#` word or an unsupported field type fail the build, each pointing
//!   at the tokens at fault, all in one build.
//! - **Validated routing keys.** [`try_routing_key`](PulseBinding::try_routing_key)
//!   refuses a `.` inside a single-word value, a pattern over AMQP's 255 bytes,
//!   and values other than a word's fixed value; the error names the field and
//!   the value.
//! - **Routing keys parsed back.** [`from_routing_key`](FromRoutingKey::from_routing_key)
//!   turns a delivered key into the struct, every word in its field.
//! - **RabbitMQ's matching rule, exactly.** [`matches`](PulseBinding::matches)
//!   and [`topic_matches`] agree with a real broker on every case in the
//!   project's test table, and `matches` allocates nothing.
//! - **Every Taskcluster exchange, prebuilt.** 37 bindings, 36 with typed payloads
//!   (see [Prebuilt bindings](#prebuilt-bindings)), tolerant of properties and
//!   enum values that later releases add.
//! - **A consumer that survives the broker.** With the `client` feature: a
//!   typed `Stream` of messages that reconnects, binds again and loses nothing
//!   across a dropped connection or a broker restart; bad deliveries are errors
//!   in the stream, never panics. See the `client` module.
//!
//! # Example
//!
//! ```
//! use pulse_binding::prelude::*;
//! use serde::Deserialize;
//!
//! /// The message: only what we read; serde ignores the rest.
//! #[derive(Deserialize, Debug, Default)]
//! #[serde(rename_all = "camelCase")]
//! struct TaskCompletedMessage {
//!     status: TaskStatus,
//!     run_id: u32,
//! }
//!
//! #[derive(Deserialize, Debug, Default)]
//! #[serde(rename_all = "camelCase")]
//! struct TaskStatus {
//!     task_id: String,
//!     state: String,
//! }
//!
//! #[derive(PulseBinding, Default, Debug, PartialEq)]
//! #[exchange = "exchange/taskcluster-queue/v1/task-completed"]
//! #[payload(TaskCompletedMessage)]
//! struct TaskCompleted {
//!     #[mwords(constant = "primary")] routing_key_kind: Option<String>,
//!     #[mwords("*")] task_id: Option<String>,
//!     #[mwords("*")] run_id: Option<u32>,
//!     #[mwords("#")] reserved: Option<String>,
//!     note: String, // no #[mwords]: not part of the key
//! }
//!
//! // The pattern to bind a queue with.
//! let any = TaskCompleted::default();
//! assert_eq!(any.exchange_name(), "exchange/taskcluster-queue/v1/task-completed");
//! assert_eq!(any.routing_key(), "primary.*.*.#");
//!
//! let one = TaskCompleted { task_id: Some("fJ8bZ2qdQpqxkM8nM1Y2yg".into()), ..Default::default() };
//! assert_eq!(one.try_routing_key()?, "primary.fJ8bZ2qdQpqxkM8nM1Y2yg.*.#");
//!
//! // A delivery: its routing key, read back into fields, and its body.
//! let key = "primary.fJ8bZ2qdQpqxkM8nM1Y2yg.0.us-east-1.i-0123._";
//! assert!(one.matches(key));
//! let fields = TaskCompleted::from_routing_key(key)?;
//! assert_eq!(fields.run_id, Some(0));
//! assert_eq!(fields.reserved.as_deref(), Some("us-east-1.i-0123._"));
//!
//! let body = br#"{"status": {"taskId": "fJ8bZ2qdQpqxkM8nM1Y2yg", "state": "completed"}, "runId": 0, "workerId": "i-0123"}"#;
//! let message = one.decode(body)?;
//! assert_eq!(message.status.state, "completed");
//!
//! // Mistakes are errors naming what is wrong, never panics.
//! let bad = TaskCompleted { task_id: Some("a.b".into()), ..Default::default() };
//! assert_eq!(
//!     bad.try_routing_key().unwrap_err().to_string(),
//!     "field `task_id` of the binding for exchange `exchange/taskcluster-queue/v1/task-completed` \
//!      is a single routing-key word, but its value \"a.b\" contains `.`"
//! );
//! assert!(TaskCompleted::from_routing_key("route.index.gecko").is_err());
//! assert!(one.decode(b"{\"status\": 1}").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The prebuilt hook bindings, and bindings of several types decoded into one
//! message type with [`Bindings`]:
//!
//! ```
//! use pulse_binding::prelude::*;
//! use pulse_binding::Bindings;
//! use pulse_binding::hooks::{HookChangedMessage, HookCreated, HookDeleted};
//!
//! assert_eq!(HookCreated::default().routing_key(), "#");
//!
//! enum Event {
//!     Created(HookChangedMessage),
//!     Deleted(HookChangedMessage),
//! }
//! let bindings = Bindings::new()
//!     .with(HookCreated::default(), Event::Created)
//!     .with(HookDeleted::default(), Event::Deleted);
//! let body = br#"{"hookGroupId": "project-releng", "hookId": "nightly"}"#;
//! match bindings.dispatch("exchange/taskcluster-hooks/v1/hook-deleted", "_", body)? {
//!     Event::Deleted(m) => assert_eq!(m.hook_id, "nightly"),
//!     Event::Created(_) => unreachable!(),
//! }
//! # Ok::<(), pulse_binding::DispatchError>(())
//! ```
//!
//! # Attributes
//!
//! On the struct (named fields, or a unit struct; not enums, unions or tuple
//! structs):
//!
//! | attribute | required | meaning |
//! | --- | --- | --- |
//! | `#[exchange = "exchange/..."]` | yes, once | the exchange name (a non-empty string literal of at most 255 bytes) |
//! | `#[payload(Type)]` | no, at most once | the message type, any `serde::de::DeserializeOwned`; default `serde_json::Value` |
//! | `#[pulse_binding(crate = "path")]` | no | where this crate is, for crates that re-export it (default `::pulse_binding`) |
//!
//! On a field, making it a routing-key word; words are the `#[mwords]` fields
//! in declaration order, other fields are not part of the key:
//!
//! | attribute | when unset | `from_routing_key` |
//! | --- | --- | --- |
//! | `#[mwords("*")]` | `*` | takes one word |
//! | `#[mwords("#")]` | `#` | takes the words left between the single words, joined with `.` (at most two such fields) |
//! | `#[mwords(constant = "primary")]` | the constant | takes one word, and refuses any other than the constant |
//!
//! A word field is unset when it is `None`, or, for a string, empty (the Go
//! rule). Its type is a string (`String`, `&str`, `Box<str>`, `Cow<str>`), an
//! integer, or an `Option` of one of these; anything else is a compile error at
//! the field's type. Borrowed strings are write-only: such a struct derives
//! [`PulseBinding`], and only [`FromRoutingKey`] is unavailable, with an error
//! where it is used.
//!
//! `constant` is for words that publishers always fill with one value: every
//! Taskcluster `routingKeyKind` word is `primary`. The Go binding leaves that
//! word `*`, so its patterns also match the `route.<custom route>` keys that
//! the queue adds for a task's custom routes; a constant keeps them out.
//!
//! ## Rules at run time
//!
//! - [`routing_key()`](PulseBinding::routing_key) writes the pattern
//!   unchecked, as Go's `RoutingKey()` does.
//!   [`try_routing_key()`](PulseBinding::try_routing_key) refuses a `.` in a
//!   single-word value, a value other than a constant, a pattern over 255 bytes
//!   and a pattern with more than two `#` words.
//! - [`matches(key)`](PulseBinding::matches) is `topic_matches(pattern, key)`
//!   without building the pattern on the heap.
//! - [`from_routing_key(key)`](FromRoutingKey::from_routing_key): single-word
//!   fields take words from the left, the multi-word field takes what is left
//!   between, single-word fields after it take words from the right. A
//!   multi-word field that gets no word is unset; an empty word gives `None` in
//!   an `Option`. With two multi-word fields the first takes every word it can
//!   and the second none. Fields without `#[mwords]` get their `Default`.
//!   Integers must be written as they print (`7`, not `07` or `+7`), so a
//!   parsed binding writes the same key again. Taskcluster's `_` (an optional
//!   word left empty) stays the word `"_"`. A wrong word count, a word the
//!   field cannot hold, or a word other than a constant is an error; no input
//!   panics.
//! - [`decode(body)`](PulseBinding::decode) is `serde_json::from_slice` into
//!   the payload type; a malformed or wrong-shaped body is a [`DecodeError`]
//!   naming the exchange and the payload type.
//!
//! # What the crate offers
//!
//! | item | what |
//! | --- | --- |
//! | [`PulseBinding`] | `exchange_name`, `routing_key`, `try_routing_key`, `matches`, `new_payload_object`, `decode`, `key_words` |
//! | [`FromRoutingKey`] | `from_routing_key`, derived where every word field is owned and every other field has `Default` |
//! | [`Binding::new(exchange, pattern)`](Binding::new) | a binding built at run time, payload `serde_json::Value` (Go's `pulse.Bind(routingKey, exchange)`, arguments the other way round) |
//! | [`DynBinding`] | the object-safe face of every binding, for `Vec<Box<dyn DynBinding>>` (Go's `[]pulse.Binding`) |
//! | [`Bindings<M>`](Bindings), [`Route`] | a list of bindings of any types that decodes each delivery with the binding matching its exchange and routing key (or CC routes) into one type `M` |
//! | [`topic_matches(pattern, key)`](topic_matches) | RabbitMQ's topic rule |
//! | [`parse_fields`], [`KeyWord`], [`WordKind`] | a binding's words and a key's fields without knowing the binding's type |
//! | [`RoutingKeyError`], [`FromRoutingKeyError`], [`DecodeError`], [`DispatchError`] | the errors; each names the exchange and what is wrong |
//! | [`auth`], [`github`], [`hooks`], [`notify`], [`queue`], [`worker_manager`] | every Taskcluster exchange (37), prebuilt, with typed payloads (one untyped: its schema is not published yet) |
//! | [`prebuilt_bindings()`](prebuilt_bindings), [`routing_key_from_words`] | every prebuilt binding as a [`DynBinding`], with its words and payload type; a pattern from word values, checked |
//! | `client` (feature `client`) | consumer and publisher on a broker |
//!
//! `use pulse_binding::prelude::*;` brings both traits and the derive.
//!
//! # Prebuilt bindings
//!
//! Every Taskcluster Pulse exchange is ready to use, one module per service,
//! generated from Taskcluster's published references (v106.0.0): a binding
//! struct per exchange, with one `Option<String>` field per routing-key word,
//! and typed payloads decoded from the message schemas. Payloads keep
//! properties and enum values added in later Taskcluster releases (in `extra`
//! and as `Unknown(..)`), so that a newer service does not break a consumer.
//! Encoding a decoded payload gives back the JSON it came from, every number
//! the same integer or double (its spelling may change: `1.50` becomes `1.5`).
//! For that the crate turns on serde_json's `float_roundtrip`, which your
//! build's other uses of serde_json then share: they read doubles exactly too.
//!
//! | module | exchanges under | bindings |
//! | --- | --- | --- |
//! | [`auth`] | `exchange/taskcluster-auth/v1/` | `ClientCreated`, `ClientUpdated`, `ClientDeleted`, `RoleCreated`, `RoleUpdated`, `RoleDeleted` |
//! | [`github`] | `exchange/taskcluster-github/v1/` | `PullRequest`, `Push`, `Release`, `Rerun`, `TaskGroupCreationRequested` |
//! | [`hooks`] | `exchange/taskcluster-hooks/v1/` | `HookCreated`, `HookUpdated`, `HookDeleted` |
//! | [`notify`] | `exchange/taskcluster-notify/v1/` | `Notify` |
//! | [`queue`] | `exchange/taskcluster-queue/v1/` | `TaskDefined`, `TaskPending`, `TaskRunning`, `ArtifactCreated`, `TaskCompleted`, `TaskFailed`, `TaskException`, `TaskGroupResolved`, `TaskGroupSealed`, `TaskPriorityChanged`, `TaskGroupPriorityChanged` |
//! | [`worker_manager`] | `exchange/taskcluster-worker-manager/v1/` | `WorkerPoolCreated`, `WorkerPoolUpdated`, `WorkerPoolError`, `WorkerRequested`, `WorkerRunning`, `WorkerStopped`, `WorkerRemoved`, `LaunchConfigCreated`, `LaunchConfigUpdated`, `LaunchConfigArchived` |
//!
//! An unset field is a wildcard (`*`, or `#` for a multi-word one), except
//! `routing_key_kind`, which is always `primary`, as the Python and JS clients
//! bind: so `queue::TaskDefined::default().routing_key()` is
//! `primary.*.*.*.*.*.*.*.*.#`, and never matches the queue's `route.` CC keys.
//! Each module also has `bindings()`, every binding of the service with its
//! default pattern, and `EXCHANGE_PREFIX`.
//!
//! Listen for task-completed messages of one task group:
//!
//! ```
//! use pulse_binding::prelude::*;
//! use pulse_binding::queue::{TaskCompleted, TaskState};
//!
//! let binding = TaskCompleted {
//!     task_group_id: Some("fN1ndDrZSHuMqOMmHfpb8A".into()),
//!     ..Default::default()
//! };
//! assert_eq!(binding.exchange_name(), "exchange/taskcluster-queue/v1/task-completed");
//! assert_eq!(binding.routing_key(), "primary.*.*.*.*.*.*.*.fN1ndDrZSHuMqOMmHfpb8A.#");
//!
//! // A delivery: its routing key and body.
//! let key = "primary.Zd2cLqR5Sk2bD5YbSpzS0Q.0.us-east-1.i-0123.proj-ci.ci-linux.tc-ci.fN1ndDrZSHuMqOMmHfpb8A._";
//! let body = br#"{
//!     "version": 1, "runId": 0, "workerGroup": "us-east-1", "workerId": "i-0123",
//!     "status": {
//!         "taskId": "Zd2cLqR5Sk2bD5YbSpzS0Q", "taskGroupId": "fN1ndDrZSHuMqOMmHfpb8A",
//!         "provisionerId": "proj-ci", "workerType": "ci-linux", "taskQueueId": "proj-ci/ci-linux",
//!         "schedulerId": "tc-ci", "projectId": "none", "retriesLeft": 5, "state": "completed",
//!         "deadline": "2024-05-01T13:00:00.000Z", "expires": "2025-05-01T12:00:00.000Z",
//!         "runs": [{"runId": 0, "state": "completed", "reasonCreated": "scheduled",
//!                   "reasonResolved": "completed", "scheduled": "2024-05-01T12:00:00.000Z"}]
//!     }
//! }"#;
//! assert!(binding.matches(key));
//! let fields = TaskCompleted::from_routing_key(key)?;
//! let message = binding.decode(body)?;
//! assert_eq!(fields.task_id.as_deref(), Some(message.status.task_id.as_str()));
//! assert_eq!(message.status.state, TaskState::Completed);
//! println!("task {} of the group completed run {}", message.status.task_id, message.run_id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The documentation text of these modules (the descriptions and titles of
//! exchanges, words and payload fields) is Taskcluster's, from its references,
//! under the Mozilla Public License 2.0; see [Licence](#licence).
//!
//! # Features
//!
//! - `client` (off by default): the `client` module, a typed consumer and
//!   publisher on [lapin](https://docs.rs/lapin) 4 (tokio runtime, TLS by
//!   rustls with the *ring* provider and the webpki root certificates).
//!   Without it, lapin and tokio are not compiled at all.
//! - `testing` (off by default; implies `client`): the `testing` module,
//!   `FakePulse`, an in-memory broker that runs the same consumer and
//!   publisher in tests, without RabbitMQ.
//!
//! ```toml
//! [dependencies]
//! pulse-binding = { version = "0.1", features = ["client"] }
//! tokio = { version = "1", features = ["rt-multi-thread", "macros"] }
//! ```
//!
//! Without features the crate depends on `pulse-binding-derive`, `serde` and
//! `serde_json` only (the derive's generated code reaches `serde_json` through
//! this crate, so you need not depend on it).
//!
//! # Coming from the Go binding
//!
//! Go (`tchooksevents`, generated, and `pulse-go`):
//!
//! ```go
//! type HookCreated struct {
//!     Reserved string `mwords:"#"`
//! }
//! func (binding HookCreated) RoutingKey() string   { return generateRoutingKey(&binding) }
//! func (binding HookCreated) ExchangeName() string { return "exchange/taskcluster-hooks/v1/hook-created" }
//! func (binding HookCreated) NewPayloadObject() interface{} { return new(HookChangedMessage) }
//!
//! binding := pulse.Bind("primary.*.*.#", "exchange/taskcluster-queue/v1/task-completed")
//! ```
//!
//! Rust:
//!
//! ```
//! use pulse_binding::prelude::*;
//!
//! #[derive(PulseBinding, Default)]
//! #[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
//! #[payload(pulse_binding::hooks::HookChangedMessage)]
//! struct HookCreated {
//!     #[mwords("#")] reserved: Option<String>,
//! }
//!
//! let binding = pulse_binding::Binding::new("exchange/taskcluster-queue/v1/task-completed", "primary.*.*.#");
//! # assert_eq!(HookCreated::default().routing_key(), "#");
//! # assert_eq!(binding.routing_key(), "primary.*.*.#");
//! ```
//!
//! | | Go | Rust |
//! | --- | --- | --- |
//! | exchange, pattern, payload | `ExchangeName()`, `RoutingKey()`, `NewPayloadObject()` | `exchange_name()`, `routing_key()`, `new_payload_object()`, plus `decode(body)` |
//! | a `.` inside a single-word value | silently changes the key's shape | `try_routing_key()` error naming the field |
//! | `routingKeyKind` | `*` (also matches `route.` keys) | `#[mwords(constant = "primary")]` writes `primary` |
//! | a delivered routing key | a string | `from_routing_key` into the struct's fields |
//! | a mistake in the struct's tags | found at run time, if at all | a compile error at the tokens at fault |
//! | matching a key against a pattern | not provided | `matches`, `topic_matches`, checked against RabbitMQ |
//! | an unknown exchange in a mixed list | `pulse-go` panics | [`DispatchError::NoBinding`] |
//!
//! # Licence
//!
//! `MIT OR Apache-2.0`, except the documentation text of the prebuilt service
//! modules ([`auth`], [`github`], [`hooks`], [`notify`], [`queue`],
//! [`worker_manager`]; the files `src/services/*.rs`), which comes from
//! Taskcluster's exchange references and message schemas (release v106.0.0)
//! and is under the Mozilla Public License 2.0: hence the package's licence
//! expression `(MIT OR Apache-2.0) AND MPL-2.0`. The package ships the three
//! texts (`LICENSE-MIT`, `LICENSE-APACHE`, `LICENSE-MPL-2.0`) and a `NOTICE`
//! naming those files and the Taskcluster release and commit they come from.

#![warn(missing_docs)]
// docs.rs (`--cfg docsrs`, nightly) marks each feature-gated item with its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets the derive's `::pulse_binding::...` paths resolve inside this crate too.
extern crate self as pulse_binding;

mod binding;
mod dynamic;
mod error;
mod key;
mod payload;
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

// Consuming and publishing on a broker: the `client` feature. Each
// feature-gated public module shows its feature on docs.rs with
// `#[cfg_attr(docsrs, doc(cfg(feature = "<name>")))]` beside its `#[cfg]`;
// the items inside inherit the mark.
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

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
/// for a struct. See [the crate docs](crate#attributes) for the attributes.
pub use pulse_binding_derive::PulseBinding;

// The README's Rust examples compile and pass as doctests, without the README
// being part of the rendered docs.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
