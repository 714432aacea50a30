//! The names of OpenTelemetry's messaging semantic conventions (v1.44:
//! `docs/messaging/messaging-metrics.md`, `docs/messaging/rabbitmq.md`) and
//! pulse-binding's own, exactly as recorded. The repository's
//! `docs/observability.md` says what each means.

// Without the `metrics` feature only the spans and the error types are used.
#![cfg_attr(not(feature = "metrics"), allow(dead_code))]

/// Each delivery handed to the program (counter, `{message}`).
pub(crate) const CONSUMED: &str = "messaging.client.consumed.messages";
/// Each handler call in handler mode (histogram, `s`).
pub(crate) const PROCESS_DURATION: &str = "messaging.process.duration";
/// Each confirmed publish, retries and dead letters included (counter, `{message}`).
pub(crate) const SENT: &str = "messaging.client.sent.messages";
/// Each publish until its confirm, and each settle flush (histogram, `s`).
pub(crate) const OPERATION_DURATION: &str = "messaging.client.operation.duration";
/// The queue's depth at each backlog reading (gauge, `{message}`).
pub(crate) const BACKLOG: &str = "pulse.consumer.backlog";
/// Seconds since the last delivery, at each backlog reading (gauge, `s`).
pub(crate) const LAST_DELIVERY_AGE: &str = "pulse.consumer.last_delivery_age";
/// Reconnections after a lost connection (counter, `{reconnection}`).
pub(crate) const RECONNECTIONS: &str = "pulse.consumer.reconnections";
/// Acknowledgements lost with their connection (counter, `{message}`).
pub(crate) const LOST_ACKS: &str = "pulse.consumer.lost_acks";
/// Deliveries no binding decoded (counter, `{message}`).
pub(crate) const DECODE_FAILURES: &str = "pulse.consumer.decode_failures";
/// Failed messages sent to a retry queue (counter, `{message}`).
pub(crate) const RETRIES: &str = "pulse.handler.retries";
/// Failed messages sent to the dead-letter queue (counter, `{message}`).
pub(crate) const DEAD_LETTERS: &str = "pulse.handler.dead_letters";

/// OpenTelemetry's bucket boundaries for the two duration histograms, in
/// seconds.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Attribute keys.
pub(crate) const SYSTEM: &str = "messaging.system";
pub(crate) const OPERATION_NAME: &str = "messaging.operation.name";
pub(crate) const OPERATION_TYPE: &str = "messaging.operation.type";
pub(crate) const DESTINATION: &str = "messaging.destination.name";
pub(crate) const CONSUMER_GROUP: &str = "messaging.consumer.group.name";
pub(crate) const ERROR_TYPE: &str = "error.type";
pub(crate) const SERVER_ADDRESS: &str = "server.address";
pub(crate) const SERVER_PORT: &str = "server.port";

/// `messaging.system`'s value.
pub(crate) const RABBITMQ: &str = "rabbitmq";

/// `messaging.operation.name` and `messaging.operation.type` of each operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// A delivery handed to the program (`receive`, type `receive`).
    Receive,
    /// A handler call (`process`, type `process`).
    Process,
    /// A publish (`send`, type `send`).
    Send,
    /// Acknowledgements sent (`ack`, type `settle`).
    Ack,
    /// A rejection sent (`nack`, type `settle`).
    Nack,
}

impl Operation {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Receive => "receive",
            Self::Process => "process",
            Self::Send => "send",
            Self::Ack => "ack",
            Self::Nack => "nack",
        }
    }

    pub(crate) fn kind(self) -> &'static str {
        match self {
            Self::Receive => "receive",
            Self::Process => "process",
            Self::Send => "send",
            Self::Ack | Self::Nack => "settle",
        }
    }
}

/// `error.type` values this crate records.
pub(crate) mod error {
    /// No binding decoded the delivery.
    pub(crate) const DECODE: &str = "decode";
    /// The handler returned an error.
    pub(crate) const HANDLER: &str = "handler";
    /// The handler panicked (or was cancelled).
    pub(crate) const PANIC: &str = "panic";
    /// A publish the broker did not confirm, or an acknowledgement not sent.
    pub(crate) const BROKER: &str = "broker";
    /// A publish the broker confirmed negatively (`basic.nack`).
    pub(crate) const NACKED: &str = "nacked";
    /// A mandatory publish the broker routed to no queue.
    pub(crate) const UNROUTABLE: &str = "unroutable";
    /// A publish to an exchange that does not exist.
    pub(crate) const NO_EXCHANGE: &str = "exchange_not_found";
    /// A publish without a confirm within its timeout.
    pub(crate) const TIMEOUT: &str = "timeout";
    /// The connection was lost first.
    pub(crate) const CONNECTION_LOST: &str = "connection_lost";
    /// Anything else (a refused name, a failed connection).
    pub(crate) const OTHER: &str = "_OTHER";
}
