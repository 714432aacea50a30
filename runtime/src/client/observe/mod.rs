//! How the client is watched from outside, in OpenTelemetry's names: the
//! metrics (feature `metrics`, on the `metrics` facade), the spans (on
//! `tracing`, always), the trace context a message carries in its headers
//! (feature `otel`) and the stalled-consumer alarm. It uses nothing of the
//! rest of `client/`; the consumer, the pump, the link, handler mode and the
//! publisher call into it.

pub(crate) mod context;
pub(crate) mod metrics;
pub(crate) mod names;
pub(crate) mod spans;
pub(crate) mod stall;
