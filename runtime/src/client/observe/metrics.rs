//! Recording the metrics of `names.rs` on the `metrics` facade, with the
//! attributes the conventions ask for: `messaging.system`, the operation,
//! the exchange as `messaging.destination.name`, a named queue's full name
//! as `messaging.consumer.group.name`, `error.type` on failures, and the
//! node in use as `server.address` and `server.port`.
//!
//! Without the `metrics` feature a [`Meter`] is empty and every method does
//! nothing. With it, the handles of the per-message metrics are kept per
//! exchange, so that a delivery costs a lookup and an atomic add, not a
//! registration; they are made anew when the node changes.

use crate::client::observe::names::Operation;

/// What a consumer or a publisher records with, and its attributes.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    #[cfg(feature = "metrics")]
    inner: imp::Inner,
}

impl Meter {
    /// A consumer's meter; `group` is a named queue's full name.
    pub(crate) fn consumer(group: Option<&str>) -> Self {
        let _ = group;
        Self {
            #[cfg(feature = "metrics")]
            inner: imp::Inner::new(group),
        }
    }

    /// A publisher's meter.
    pub(crate) fn publisher() -> Self {
        Self::consumer(None)
    }

    /// The node in use (`host:port`), or none.
    pub(crate) fn set_node(&self, node: Option<&str>) {
        let _ = node;
        #[cfg(feature = "metrics")]
        self.inner.set_node(node);
    }

    /// A delivery from `exchange` was handed to the program; `error` when
    /// it did not decode.
    pub(crate) fn consumed(&self, exchange: &str, error: Option<&'static str>) {
        let _ = (exchange, error);
        #[cfg(feature = "metrics")]
        self.inner.consumed(exchange, error);
    }

    /// A handler call on a message from `exchange` took `seconds`.
    pub(crate) fn processed(&self, exchange: &str, seconds: f64, error: Option<&'static str>) {
        let _ = (exchange, seconds, error);
        #[cfg(feature = "metrics")]
        self.inner.processed(exchange, seconds, error);
    }

    /// A publish to `exchange` took `seconds` until its confirm (or failed).
    pub(crate) fn sent(&self, exchange: &str, seconds: f64, error: Option<&'static str>) {
        let _ = (exchange, seconds, error);
        #[cfg(feature = "metrics")]
        self.inner.sent(exchange, seconds, error);
    }

    /// A settle flush (`ack`) or a rejection (`nack`) took `seconds`.
    pub(crate) fn settled(&self, operation: Operation, seconds: f64, error: Option<&'static str>) {
        let _ = (operation, seconds, error);
        #[cfg(feature = "metrics")]
        self.inner.settled(operation, seconds, error);
    }

    /// Adds `n` to one of the consumer's counters (`names::RECONNECTIONS`, ...).
    pub(crate) fn count(&self, name: &'static str, n: u64) {
        let _ = (name, n);
        #[cfg(feature = "metrics")]
        self.inner.count(name, n);
    }

    /// Sets one of the consumer's gauges (`names::BACKLOG`, ...).
    pub(crate) fn gauge(&self, name: &'static str, value: f64) {
        let _ = (name, value);
        #[cfg(feature = "metrics")]
        self.inner.gauge(name, value);
    }
}

#[cfg(feature = "metrics")]
mod imp {
    use std::sync::{Arc, Mutex, RwLock};

    use metrics::{Counter, Histogram, Label, Unit};

    use crate::client::observe::names::{self, Operation};

    #[derive(Debug, Default)]
    pub(super) struct Inner {
        /// `messaging.system`, the consumer group and the node.
        base: RwLock<Arc<Vec<Label>>>,
        group: Option<String>,
        /// The per-message handles, by exchange. A list, not a map: a
        /// consumer binds a few exchanges, and comparing a few names costs
        /// less than hashing one (SipHash of a 40-byte exchange name was most
        /// of the feature's cost per message; docs/benchmarks.md).
        cache: Mutex<Vec<(String, Handles)>>,
        /// The settle flush's duration, without error.
        ack: Mutex<Option<Histogram>>,
    }

    #[derive(Debug, Default)]
    struct Handles {
        consumed: Option<Counter>,
        processed: Option<Histogram>,
        sent: Option<Counter>,
        send_duration: Option<Histogram>,
    }

    impl Inner {
        pub(super) fn new(group: Option<&str>) -> Self {
            describe();
            let inner = Self {
                group: group.map(str::to_owned),
                ..Self::default()
            };
            inner.set_node(None);
            inner
        }

        pub(super) fn set_node(&self, node: Option<&str>) {
            let mut base = vec![Label::new(names::SYSTEM, names::RABBITMQ)];
            if let Some(group) = &self.group {
                base.push(Label::new(names::CONSUMER_GROUP, group.clone()));
            }
            if let Some((host, port)) = node.and_then(|n| n.rsplit_once(':')) {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                base.push(Label::new(names::SERVER_ADDRESS, host.to_owned()));
                base.push(Label::new(names::SERVER_PORT, port.to_owned()));
            }
            *self.base.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(base);
            self.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
            *self.ack.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }

        fn labels(
            &self,
            operation: Option<Operation>,
            exchange: Option<&str>,
            error: Option<&'static str>,
        ) -> Vec<Label> {
            let mut labels = (**self.base.read().unwrap_or_else(|e| e.into_inner())).clone();
            if let Some(operation) = operation {
                labels.push(Label::new(names::OPERATION_NAME, operation.name()));
                labels.push(Label::new(names::OPERATION_TYPE, operation.kind()));
            }
            if let Some(exchange) = exchange {
                labels.push(Label::new(names::DESTINATION, exchange.to_owned()));
            }
            if let Some(error) = error {
                labels.push(Label::new(names::ERROR_TYPE, error));
            }
            labels
        }

        /// Runs `f` on `exchange`'s handles.
        fn with<T>(&self, exchange: &str, f: impl FnOnce(&mut Handles) -> T) -> T {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let at = match cache.iter().position(|(name, _)| name == exchange) {
                Some(at) => at,
                None => {
                    cache.push((exchange.to_owned(), Handles::default()));
                    cache.len() - 1
                }
            };
            f(&mut cache[at].1)
        }

        pub(super) fn consumed(&self, exchange: &str, error: Option<&'static str>) {
            let operation = Some(Operation::Receive);
            if error.is_some() {
                let labels = self.labels(operation, Some(exchange), error);
                return metrics::counter!(names::CONSUMED, labels).increment(1);
            }
            self.with(exchange, |h| {
                h.consumed
                    .get_or_insert_with(|| {
                        metrics::counter!(
                            names::CONSUMED,
                            self.labels(operation, Some(exchange), None)
                        )
                    })
                    .increment(1)
            });
        }

        pub(super) fn processed(&self, exchange: &str, seconds: f64, error: Option<&'static str>) {
            let operation = Some(Operation::Process);
            if error.is_some() {
                let labels = self.labels(operation, Some(exchange), error);
                return metrics::histogram!(names::PROCESS_DURATION, labels).record(seconds);
            }
            self.with(exchange, |h| {
                h.processed
                    .get_or_insert_with(|| {
                        let labels = self.labels(operation, Some(exchange), None);
                        metrics::histogram!(names::PROCESS_DURATION, labels)
                    })
                    .record(seconds)
            });
        }

        pub(super) fn sent(&self, exchange: &str, seconds: f64, error: Option<&'static str>) {
            let operation = Some(Operation::Send);
            if error.is_some() {
                let labels = self.labels(operation, Some(exchange), error);
                metrics::counter!(names::SENT, labels.clone()).increment(1);
                return metrics::histogram!(names::OPERATION_DURATION, labels).record(seconds);
            }
            self.with(exchange, |h| {
                let labels = || self.labels(operation, Some(exchange), None);
                h.sent
                    .get_or_insert_with(|| metrics::counter!(names::SENT, labels()))
                    .increment(1);
                h.send_duration
                    .get_or_insert_with(|| metrics::histogram!(names::OPERATION_DURATION, labels()))
                    .record(seconds);
            });
        }

        pub(super) fn settled(
            &self,
            operation: Operation,
            seconds: f64,
            error: Option<&'static str>,
        ) {
            if operation != Operation::Ack || error.is_some() {
                let labels = self.labels(Some(operation), None, error);
                return metrics::histogram!(names::OPERATION_DURATION, labels).record(seconds);
            }
            self.ack
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| {
                    let labels = self.labels(Some(operation), None, None);
                    metrics::histogram!(names::OPERATION_DURATION, labels)
                })
                .record(seconds);
        }

        pub(super) fn count(&self, name: &'static str, n: u64) {
            metrics::counter!(name, self.labels(None, None, None)).increment(n);
        }

        pub(super) fn gauge(&self, name: &'static str, value: f64) {
            metrics::gauge!(name, self.labels(None, None, None)).set(value);
        }
    }

    /// Tells the recorder installed now each metric's unit and meaning.
    fn describe() {
        use names::*;
        let count = |name: &'static str, unit: &str, what: &str| {
            metrics::describe_counter!(name, Unit::Count, format!("{what} ({unit})"));
        };
        count(CONSUMED, "{message}", "Deliveries handed to the program");
        count(
            SENT,
            "{message}",
            "Publishes confirmed by the broker, or failed (error.type)",
        );
        count(
            RECONNECTIONS,
            "{reconnection}",
            "Reconnections after a lost connection",
        );
        count(
            LOST_ACKS,
            "{message}",
            "Acknowledgements lost with their connection",
        );
        count(
            DECODE_FAILURES,
            "{message}",
            "Deliveries no binding decoded",
        );
        count(
            RETRIES,
            "{message}",
            "Failed messages sent to a retry queue",
        );
        count(
            DEAD_LETTERS,
            "{message}",
            "Failed messages sent to the dead-letter queue",
        );
        metrics::describe_histogram!(
            PROCESS_DURATION,
            Unit::Seconds,
            "Duration of a handler call (s)"
        );
        metrics::describe_histogram!(
            OPERATION_DURATION,
            Unit::Seconds,
            "Duration of a publish until its confirm, or of a settle flush (s)"
        );
        metrics::describe_gauge!(
            BACKLOG,
            Unit::Count,
            "Ready messages in the queue at the last reading ({message})"
        );
        metrics::describe_gauge!(
            LAST_DELIVERY_AGE,
            Unit::Seconds,
            "Seconds since the consumer's last delivery (s)"
        );
    }
}
