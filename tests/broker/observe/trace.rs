//! Spans and trace context across the broker (feature `otel`): a publish
//! inside a span, handled in handler mode, gives a `process {exchange}` span
//! in the publisher's trace whose parent is the `send {exchange}` span; a
//! retried message keeps that parent; the spans carry the conventions'
//! fields and nothing of the payload. The same on RabbitMQ and on FakePulse.
//!
//! Each test runs on one thread with its own (thread-local) subscriber: the
//! consumer's tasks run on the test's thread, so its spans reach it.

use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, TraceId, TracerProvider};
use opentelemetry::{KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use pulse_binding::client::{
    ConsumerBuilder, HandlerError, Message, Publisher, QueueSpec, RetryPolicy,
};
use pulse_binding::testing::FakePulse;
use pulse_binding::{Binding, Bindings};
use serde_json::{Value, json};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::{broker, cleanup, config, shared, unique, within};

/// A payload word that must show in no span.
const SECRET: &str = "payload-secret-d41d8cd9";

/// A tracing subscriber that exports OpenTelemetry spans to memory, set as
/// this thread's default until the guard drops.
fn tracing_to_memory() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    tracing::subscriber::DefaultGuard,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("pulse-binding-tests"));
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    (exporter, provider, guard)
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a OtelValue> {
    span.attributes
        .iter()
        .find(|kv: &&KeyValue| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(|v| v.as_str().into_owned())
}

/// Publishes `ok` and `flaky` (which fails once) inside a `request` span,
/// runs them through handler mode, and checks the spans exported.
async fn publish_and_handle(
    builder: ConsumerBuilder<Value>,
    publisher: &Publisher,
    exchange: &str,
) {
    let (exporter, provider, _guard) = tracing_to_memory();
    let consumer = builder
        .retry(RetryPolicy::new(3).delay(Duration::from_millis(20), Duration::from_millis(20)))
        .start()
        .await
        .expect("consumer");
    let stop = consumer.shutdown_handle();
    let run = tokio::spawn(consumer.run(2, |message: Message<Value>| async move {
        tracing::info!("handling");
        match (message.routing_key.as_str(), message.attempt()) {
            ("task.flaky", 1) => Err(HandlerError::msg("try again")),
            _ => Ok(()),
        }
    }));

    let request = tracing::info_span!("request");
    let trace_id = request.context().span().span_context().trace_id();
    assert_ne!(trace_id, TraceId::INVALID, "the request span is traced");
    let body = serde_json::to_vec(&json!({ "secret": SECRET })).unwrap();
    for key in ["task.ok", "task.flaky"] {
        publisher
            .publish_raw(exchange, key, &body)
            .instrument(request.clone())
            .await
            .expect("publish");
    }
    drop(request);
    within(30, "both handled, one after a retry", async {
        while stop.stats().is_none_or(|s| s.acked < 3) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    stop.shutdown();
    within(30, "the handler loop ends", run)
        .await
        .unwrap()
        .expect("ran");
    provider.force_flush().expect("flush");
    let spans = exporter.get_finished_spans().expect("spans");

    let named = |name: &str, key: &str| -> Vec<&SpanData> {
        spans
            .iter()
            .filter(|s| {
                s.name == name
                    && text(s, "messaging.rabbitmq.destination.routing_key").as_deref() == Some(key)
            })
            .collect()
    };
    let (send, process) = (format!("send {exchange}"), format!("process {exchange}"));
    for key in ["task.ok", "task.flaky"] {
        let sent = named(&send, key);
        assert_eq!(sent.len(), 1, "one send span for {key}: {spans:#?}");
        let sent = sent[0];
        assert_eq!(sent.span_kind, SpanKind::Producer);
        assert_eq!(sent.span_context.trace_id(), trace_id);
        assert_eq!(text(sent, "messaging.system").as_deref(), Some("rabbitmq"));
        assert_eq!(
            text(sent, "messaging.operation.name").as_deref(),
            Some("send")
        );
        assert_eq!(
            text(sent, "messaging.destination.name").as_deref(),
            Some(exchange)
        );
        let handled = named(&process, key);
        let attempts = if key == "task.flaky" { 2 } else { 1 };
        assert_eq!(handled.len(), attempts, "{key}: {spans:#?}");
        for span in handled {
            // In the publisher's trace, under its send span: the retry too.
            assert_eq!(span.span_context.trace_id(), trace_id, "{span:#?}");
            assert_eq!(
                span.parent_span_id,
                sent.span_context.span_id(),
                "{span:#?}"
            );
            assert!(span.parent_span_is_remote);
            assert_eq!(span.span_kind, SpanKind::Consumer);
            assert_eq!(text(span, "messaging.system").as_deref(), Some("rabbitmq"));
            assert_eq!(
                text(span, "messaging.operation.name").as_deref(),
                Some("process")
            );
            assert_eq!(
                text(span, "messaging.destination.name").as_deref(),
                Some(exchange)
            );
            let size = attribute(span, "messaging.message.body.size").map(|v| v.to_string());
            assert_eq!(size, Some(body.len().to_string()), "{span:#?}");
            assert!(attribute(span, "messaging.rabbitmq.message.delivery_tag").is_some());
        }
    }
    let failed: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == process && text(s, "error.type").is_some())
        .collect();
    assert_eq!(failed.len(), 1, "{spans:#?}");
    assert_eq!(text(failed[0], "error.type").as_deref(), Some("handler"));
    assert!(matches!(failed[0].status, Status::Error { .. }));
    // The handler's own event is inside its process span.
    assert!(
        spans
            .iter()
            .any(|s| s.name == process && s.events.iter().any(|e| e.name == "handling"))
    );
    // Nothing of the payload anywhere.
    for span in &spans {
        assert!(!format!("{span:?}").contains(SECRET), "{span:#?}");
    }
}

#[tokio::test]
async fn a_trace_runs_from_the_publisher_through_rabbitmq_into_the_handler() {
    let url = broker!();
    let _guard = shared().await;
    let exchange = unique("exchange/pulse-binding-tests/trace");
    let spec = QueueSpec::named(unique("trace"));
    let queue = spec.full_name("guest").unwrap();
    let builder = pulse_binding::client::Consumer::builder(
        config(&url),
        Bindings::new().with(Binding::new(&exchange, "task.#"), |v: Value| v),
    )
    .queue(spec)
    .declare_exchanges(true);
    let publisher = Publisher::connect(config(&url)).await.expect("publisher");
    publish_and_handle(builder, &publisher, &exchange).await;
    publisher.close().await;
    let retry = format!("{queue}/retry/20ms");
    cleanup(
        &url,
        &[&queue, &retry, &format!("{queue}/dead")],
        &[&exchange],
    )
    .await;
}

#[tokio::test]
async fn a_trace_runs_from_the_publisher_through_fake_pulse_into_the_handler() {
    let pulse = FakePulse::new();
    let exchange = "exchange/fake/trace";
    let builder = pulse
        .consumer(Bindings::new().with(Binding::new(exchange, "task.#"), |v: Value| v))
        .queue(QueueSpec::named("trace"));
    publish_and_handle(builder, &pulse.publisher(), exchange).await;
}

/// In stream mode the program enters the message's span itself.
#[tokio::test]
async fn a_streamed_message_span_continues_the_publishers_trace() {
    let (_exporter, _provider, _guard) = tracing_to_memory();
    let pulse = FakePulse::new();
    let exchange = "exchange/fake/stream-trace";
    let mut consumer = pulse
        .consumer(Bindings::new().with(Binding::new(exchange, "#"), |v: Value| v))
        .start()
        .await
        .expect("consumer");
    let request = tracing::info_span!("request");
    let trace_id = request.context().span().span_context().trace_id();
    pulse
        .publisher()
        .publish_raw(exchange, "k", b"{}")
        .instrument(request)
        .await
        .expect("publish");
    let message = consumer.recv().await.expect("a message").expect("decoded");
    let span = message.span();
    assert_eq!(span.context().span().span_context().trace_id(), trace_id);
    message.ack().await.expect("ack");
}
