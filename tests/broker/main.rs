//! Tests against a real RabbitMQ broker: `pulse_binding::client` consuming and
//! publishing, the broker's topic routing, faults and load.
//!
//! They need `PULSE_TEST_URL` (e.g. `amqp://guest:guest@127.0.0.1:5672`, as
//! `scripts/rabbitmq.sh start` prints); without it they say so and pass,
//! except under CI (`CI=true`), where that is a failure. The fault tests also
//! need `rabbitmqctl` for the broker's node; they run alone (see
//! `support::exclusive`). The TLS tests (`tls.rs`) need a second node with a
//! TLS listener: `scripts/rabbitmq-tls.sh start` runs it and prints the
//! `PULSE_TLS_TEST_URL` and `PULSE_TLS_TEST_DIR` they read.

mod support;

mod backlog;
mod bounds;
mod coalescing;
mod conformance;
mod credentials;
mod faults;
mod handler;
mod heartbeat;
mod held_acks;
mod load;
mod messages;
mod observe;
mod queue_limits;
mod recycling;
mod roundtrip;
mod shutdown;
mod side_queues;
mod tls;
mod topic_cases;
mod trace_logs;

use pulse_binding::PulseBinding;
use serde::{Deserialize, Serialize};

/// A binding of our own, as a user would derive it: a fixed word, several
/// single-word fields (one typed), and a multi-word rest.
#[derive(PulseBinding, Debug, Clone, Default, PartialEq)]
#[exchange = "exchange/pulse-binding-tests/v1/build-finished"]
#[payload(BuildFinished)]
pub struct BuildFinishedBinding {
    #[mwords(constant = "primary")]
    pub kind: Option<String>,
    #[mwords("*")]
    pub project: Option<String>,
    #[mwords("*")]
    pub build_id: Option<u64>,
    #[mwords("*")]
    pub platform: Option<String>,
    #[mwords("#")]
    pub rest: Option<String>,
}

/// The payload of [`BuildFinishedBinding`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildFinished {
    pub build_id: u64,
    pub status: String,
}
