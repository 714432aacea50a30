//! Observability (issue 17): the metrics in OpenTelemetry's names against a
//! recording recorder, the stalled-consumer alarm, and the trace context
//! that crosses the broker (on RabbitMQ and on `FakePulse`).

mod metrics;
mod stall;
mod trace;

use std::sync::OnceLock;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use tokio::sync::{Mutex, MutexGuard};

/// The process's recording recorder (installed on first use), and a lock:
/// a snapshot resets what it reads, so one test reads at a time. Each test
/// reads only the metrics with its own (unique) queue or exchange.
pub async fn recorder() -> (MutexGuard<'static, ()>, &'static Snapshotter) {
    static RECORDER: OnceLock<Snapshotter> = OnceLock::new();
    static READING: Mutex<()> = Mutex::const_new(());
    let snapshotter = RECORDER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other recorder in the broker tests");
        snapshotter
    });
    (READING.lock().await, snapshotter)
}

/// One recorded metric: its kind, name, attributes, unit and value.
#[derive(Debug)]
pub struct Recorded {
    pub kind: MetricKind,
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub unit: Option<::metrics::Unit>,
    pub value: DebugValue,
}

impl Recorded {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn counter(&self) -> u64 {
        match self.value {
            DebugValue::Counter(n) => n,
            ref other => panic!("{} is not a counter: {other:?}", self.name),
        }
    }

    pub fn gauge(&self) -> f64 {
        match self.value {
            DebugValue::Gauge(g) => g.into_inner(),
            ref other => panic!("{} is not a gauge: {other:?}", self.name),
        }
    }

    pub fn samples(&self) -> Vec<f64> {
        match &self.value {
            DebugValue::Histogram(values) => values.iter().map(|v| v.into_inner()).collect(),
            other => panic!("{} is not a histogram: {other:?}", self.name),
        }
    }
}

/// Everything recorded since the last snapshot whose attributes `keep`.
pub fn snapshot(snapshotter: &Snapshotter, keep: impl Fn(&Recorded) -> bool) -> Vec<Recorded> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, unit, _, value): (CompositeKey, _, _, _)| {
            let (kind, key) = key.into_parts();
            Recorded {
                kind,
                name: key.name().to_owned(),
                labels: key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect(),
                unit,
                value,
            }
        })
        .filter(|r| keep(r))
        .collect()
}
