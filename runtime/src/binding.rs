//! [`Binding`]: a binding built at run time.

use crate::topic::topic_matches;
use crate::traits::PulseBinding;

/// A binding built at run time from an exchange and a routing-key pattern,
/// decoding bodies as [`serde_json::Value`]. The Go client's
/// `pulse.Bind(routingKey, exchange)`, with the arguments the other way round.
///
/// ```
/// use pulse_binding::{Binding, PulseBinding};
///
/// let b = Binding::new("exchange/taskcluster-queue/v1/task-completed", "route.index.#");
/// assert_eq!(b.routing_key(), "route.index.#");
/// assert!(b.matches("route.index.gecko.v2.trunk"));
/// let body = b.decode(br#"{"status": {"taskId": "abc"}}"#).unwrap();
/// assert_eq!(body["status"]["taskId"], "abc");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding {
    exchange: String,
    routing_key: String,
}

impl Binding {
    /// A binding to `exchange` with the pattern `routing_key`.
    pub fn new(exchange: impl Into<String>, routing_key: impl Into<String>) -> Self {
        Self {
            exchange: exchange.into(),
            routing_key: routing_key.into(),
        }
    }
}

impl PulseBinding for Binding {
    type Payload = serde_json::Value;

    fn exchange_name(&self) -> &str {
        &self.exchange
    }

    fn routing_key(&self) -> String {
        self.routing_key.clone()
    }

    fn matches(&self, routing_key: &str) -> bool {
        topic_matches(&self.routing_key, routing_key)
    }
}
