//! `pulse listen --metrics ADDR`: the consumer's metrics (OpenTelemetry's
//! names, docs/observability.md) in Prometheus's text format over HTTP.

use std::net::SocketAddr;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use pulse_binding::client::DURATION_BUCKETS;

use crate::failure::{Failure, chain};

/// Installs the Prometheus recorder and serves it on `addr` (every path
/// answers with the metrics), with OpenTelemetry's buckets for the two
/// duration histograms. Must run before the consumer starts.
pub fn serve(addr: SocketAddr) -> Result<(), Failure> {
    let mut builder = PrometheusBuilder::new().with_http_listener(addr);
    for name in [
        "messaging.process.duration",
        "messaging.client.operation.duration",
    ] {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), &DURATION_BUCKETS)
            .map_err(|e| Failure::Failed(chain(&e)))?;
    }
    builder
        .install()
        .map_err(|e| Failure::Failed(format!("cannot serve metrics on {addr}: {}", chain(&e))))?;
    Ok(())
}
