//! W3C trace context across the broker (feature `otel`): a publish carries
//! its `send` span's context in the AMQP headers `traceparent` and
//! `tracestate`; a delivery's context becomes its `process` span's parent.
//! Without the feature nothing is written or read, and a [`TraceContext`] is
//! never made.

use lapin::BasicProperties;
use lapin::types::FieldTable;
use tracing::Span;

/// The W3C `traceparent` header: `00-{trace id}-{span id}-{flags}`.
pub(crate) const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` header: vendors' entries, passed on as they are.
pub(crate) const TRACESTATE: &str = "tracestate";

/// The trace context a message carries, as its two header values (boxed:
/// every delivery has room for one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceContext(Box<Headers>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Headers {
    traceparent: String,
    tracestate: String,
}

impl TraceContext {
    /// The context of `span`, if it is part of an OpenTelemetry trace.
    pub(crate) fn of_span(span: &Span) -> Option<Self> {
        let _ = span;
        #[cfg(feature = "otel")]
        {
            use opentelemetry::trace::TraceContextExt;
            use tracing_opentelemetry::OpenTelemetrySpanExt;
            let context = span.context();
            let span = context.span();
            let span = span.span_context();
            if span.is_valid() {
                return Some(Self(Box::new(Headers {
                    traceparent: format!(
                        "00-{}-{}-{:02x}",
                        span.trace_id(),
                        span.span_id(),
                        span.trace_flags().to_u8()
                    ),
                    tracestate: span.trace_state().header(),
                })));
            }
        }
        None
    }

    /// The context a delivery carries in its headers, if any (and valid).
    pub(crate) fn of(properties: &BasicProperties) -> Option<Self> {
        let _ = properties;
        #[cfg(feature = "otel")]
        {
            use lapin::types::AMQPValue;
            let headers = properties.headers().as_ref()?.inner();
            let text = |key: &str| match headers.get(key)? {
                AMQPValue::LongString(s) => {
                    std::str::from_utf8(s.as_bytes()).ok().map(str::to_owned)
                }
                AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
                _ => None,
            };
            let context = Self(Box::new(Headers {
                traceparent: text(TRACEPARENT)?,
                tracestate: text(TRACESTATE).unwrap_or_default(),
            }));
            if imp::parse(&context).is_some() {
                return Some(context);
            }
        }
        None
    }

    /// Writes the two headers into `headers`.
    pub(crate) fn insert(&self, headers: &mut FieldTable) {
        use lapin::types::{AMQPValue, LongString, ShortString};
        let long = |s: &str| AMQPValue::LongString(LongString::from(s));
        headers.insert(ShortString::from(TRACEPARENT), long(&self.0.traceparent));
        if !self.0.tracestate.is_empty() {
            headers.insert(ShortString::from(TRACESTATE), long(&self.0.tracestate));
        }
    }

    /// Makes this context the parent of `span` (a `process` span).
    pub(crate) fn adopt(&self, span: &Span) {
        let _ = span;
        #[cfg(feature = "otel")]
        if let Some(parent) = imp::parse(self) {
            use opentelemetry::trace::TraceContextExt;
            use tracing_opentelemetry::OpenTelemetrySpanExt;
            let parent = opentelemetry::Context::new().with_remote_span_context(parent);
            // Without an OpenTelemetry layer there is no trace to join.
            let _ = span.set_parent(parent);
        }
    }
}

#[cfg(feature = "otel")]
mod imp {
    use std::str::FromStr;

    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    #[cfg(test)]
    use super::Headers;
    use super::TraceContext;

    /// The span context of `traceparent` (version 00, or a later version
    /// read as 00 as the W3C says), with `tracestate` if it is well formed.
    pub(super) fn parse(context: &TraceContext) -> Option<SpanContext> {
        let mut parts = context.0.traceparent.trim().split('-');
        let version = parts.next()?;
        let (trace_id, span_id, flags) = (parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        if !hex(version, 2) || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        if !hex(trace_id, 32) || !hex(span_id, 16) || !hex(flags, 2) {
            return None;
        }
        let trace_id = TraceId::from_hex(trace_id).ok()?;
        let span_id = SpanId::from_hex(span_id).ok()?;
        let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()? & 1);
        let state = TraceState::from_str(&context.0.tracestate).unwrap_or_default();
        let span = SpanContext::new(trace_id, span_id, flags, true, state);
        span.is_valid().then_some(span)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn context(traceparent: &str) -> TraceContext {
            TraceContext(Box::new(Headers {
                traceparent: traceparent.into(),
                tracestate: "congo=t61rcWkgMzE".into(),
            }))
        }

        #[test]
        fn a_w3c_traceparent_is_read_with_its_tracestate() {
            let span = parse(&context(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ))
            .unwrap();
            assert_eq!(
                span.trace_id().to_string(),
                "0af7651916cd43dd8448eb211c80319c"
            );
            assert_eq!(span.span_id().to_string(), "b7ad6b7169203331");
            assert!(span.trace_flags().is_sampled());
            assert!(span.is_remote());
            assert_eq!(span.trace_state().get("congo"), Some("t61rcWkgMzE"));
        }

        #[test]
        fn a_malformed_or_invalid_traceparent_is_ignored() {
            for bad in [
                "",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
                "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
                "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
                "00-zzf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ] {
                assert!(parse(&context(bad)).is_none(), "{bad:?}");
            }
        }
    }
}
