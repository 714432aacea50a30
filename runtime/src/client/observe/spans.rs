//! The spans, on `tracing`, as the RabbitMQ conventions name them: a
//! `process {exchange}` span around each handler call (and for
//! [`Message::span`](crate::client::Message::span)), a `send {exchange}` span
//! per publish. `tracing` names a span with a constant (`process`, `send`);
//! the full name is the `otel.name` field, which `tracing-opentelemetry`
//! uses as the OpenTelemetry span's name, with `otel.kind` its kind.
//! Nothing of a payload is recorded: its size only.

use std::fmt;

use tracing::Span;
use tracing::field::Empty;

use crate::client::observe::names::{Operation, RABBITMQ};

/// The `process {exchange}` span of a delivery.
pub(crate) fn process(exchange: &str, routing_key: &str, delivery_tag: u64, size: usize) -> Span {
    let operation = Operation::Process;
    tracing::info_span!(
        target: "pulse_binding::process",
        "process",
        otel.name = %SpanName(operation, exchange),
        otel.kind = "consumer",
        otel.status_code = Empty,
        messaging.system = RABBITMQ,
        messaging.operation.name = operation.name(),
        messaging.operation.type = operation.kind(),
        messaging.destination.name = exchange,
        messaging.rabbitmq.destination.routing_key = routing_key,
        messaging.rabbitmq.message.delivery_tag = delivery_tag,
        messaging.message.body.size = size,
        error.type = Empty,
    )
}

/// The `send {exchange}` span of a publish (the default exchange, `""`,
/// gives `send`).
pub(crate) fn send(exchange: &str, routing_key: &str, size: usize) -> Span {
    let operation = Operation::Send;
    tracing::info_span!(
        target: "pulse_binding::send",
        "send",
        otel.name = %SpanName(operation, exchange),
        otel.kind = "producer",
        otel.status_code = Empty,
        messaging.system = RABBITMQ,
        messaging.operation.name = operation.name(),
        messaging.operation.type = operation.kind(),
        messaging.destination.name = exchange,
        messaging.rabbitmq.destination.routing_key = routing_key,
        messaging.message.body.size = size,
        error.type = Empty,
    )
}

/// Marks `span` failed, with `error` as its `error.type`.
pub(crate) fn failed(span: &Span, error: &'static str) {
    span.record("error.type", error);
    span.record("otel.status_code", "ERROR");
}

/// `{operation} {destination}`, or the operation alone for the default exchange.
struct SpanName<'a>(Operation, &'a str);

impl fmt::Display for SpanName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            "" => f.write_str(self.0.name()),
            exchange => write!(f, "{} {exchange}", self.0.name()),
        }
    }
}
