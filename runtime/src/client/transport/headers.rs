//! How a message's routing travels in AMQP headers: Taskcluster's CC routing
//! keys (`CC`), and the `x-pulse-*` headers in which a retried or dead
//! message carries its origin (exchange, routing key, CC keys, attempt) and
//! last error. Written by the publisher, read by the consumer and the
//! dead-letter tools.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString, ShortString};

use crate::client::handler::retry::{Origin, Stamp};
use crate::client::observe::context::TraceContext;

/// The original exchange of a retried or dead message.
pub(crate) const EXCHANGE: &str = "x-pulse-exchange";
/// The original routing key.
pub(crate) const ROUTING_KEY: &str = "x-pulse-routing-key";
/// The original CC routing keys (an array of strings).
pub(crate) const CC: &str = "x-pulse-cc";
/// Which attempt the next delivery is (1 for the first).
pub(crate) const ATTEMPT: &str = "x-pulse-attempt";
/// The last error's text, on a dead message.
pub(crate) const ERROR: &str = "x-pulse-error";

/// The CC routing keys of a delivery (the `CC` header), as sent.
pub(crate) fn cc_keys(properties: &BasicProperties) -> Vec<String> {
    let Some(headers) = properties.headers() else {
        return Vec::new();
    };
    match headers.inner().get("CC") {
        Some(AMQPValue::FieldArray(keys)) => keys
            .as_slice()
            .iter()
            .filter_map(|key| match key {
                AMQPValue::LongString(s) => {
                    Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
                }
                AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The properties every message is published with: JSON, persistent
/// (delivery mode 2), its CC keys, a retried or dead message's stamp, and
/// its trace context.
pub(crate) fn properties(
    cc: &[String],
    stamp: Option<&Stamp>,
    trace: Option<&TraceContext>,
) -> BasicProperties {
    let mut headers = stamp.map(Stamp::headers).unwrap_or_default();
    if let Some(trace) = trace {
        trace.insert(&mut headers);
    }
    let mut properties = BasicProperties::default()
        .with_content_type(ShortString::from("application/json"))
        .with_delivery_mode(2);
    if !cc.is_empty() {
        let keys: Vec<AMQPValue> = cc
            .iter()
            .map(|k| AMQPValue::LongString(LongString::from(k.as_str())))
            .collect();
        headers.insert(
            ShortString::from("CC"),
            AMQPValue::FieldArray(FieldArray::from(keys)),
        );
    }
    if !headers.inner().is_empty() {
        properties = properties.with_headers(headers);
    }
    properties
}

impl Origin {
    /// The origin a retried delivery carries in its headers, if it is one.
    pub(crate) fn of(properties: &BasicProperties) -> Option<Self> {
        let headers = properties.headers().as_ref()?.inner();
        let text = |key: &str| match headers.get(key)? {
            AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
            _ => None,
        };
        let exchange = text(EXCHANGE)?;
        let routing_key = text(ROUTING_KEY)?;
        let cc = match headers.get(CC) {
            Some(AMQPValue::FieldArray(keys)) => keys
                .as_slice()
                .iter()
                .filter_map(|k| match k {
                    AMQPValue::LongString(s) => {
                        Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let attempt = match headers.get(ATTEMPT) {
            Some(AMQPValue::LongUInt(n)) => *n,
            Some(AMQPValue::LongLongInt(n)) => u32::try_from(*n).unwrap_or(u32::MAX),
            Some(AMQPValue::LongInt(n)) => u32::try_from(*n).unwrap_or(1),
            _ => 1,
        };
        Some(Self {
            exchange,
            routing_key,
            cc,
            attempt: attempt.max(1),
        })
    }

    /// The headers that carry it (with `attempt` as the next attempt).
    pub(crate) fn headers(&self) -> FieldTable {
        let mut headers = FieldTable::default();
        let long = |s: &str| AMQPValue::LongString(LongString::from(s));
        headers.insert(ShortString::from(EXCHANGE), long(&self.exchange));
        headers.insert(ShortString::from(ROUTING_KEY), long(&self.routing_key));
        let cc: Vec<AMQPValue> = self.cc.iter().map(|k| long(k)).collect();
        headers.insert(
            ShortString::from(CC),
            AMQPValue::FieldArray(FieldArray::from(cc)),
        );
        headers.insert(
            ShortString::from(ATTEMPT),
            AMQPValue::LongLongInt(i64::from(self.attempt)),
        );
        headers
    }
}

impl Stamp {
    /// The headers that carry it.
    pub(crate) fn headers(&self) -> FieldTable {
        let mut headers = self.origin.headers();
        if let Some(error) = &self.error {
            headers.insert(
                ShortString::from(ERROR),
                AMQPValue::LongString(LongString::from(error.as_str())),
            );
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_round_trips_through_headers() {
        let origin = Origin {
            exchange: "exchange/taskcluster-queue/v1/task-failed".into(),
            routing_key: "primary.abc._".into(),
            cc: vec!["route.index.x".into()],
            attempt: 3,
        };
        let properties = BasicProperties::default().with_headers(origin.headers());
        assert_eq!(Origin::of(&properties), Some(origin));
        assert_eq!(Origin::of(&BasicProperties::default()), None);
    }

    #[test]
    fn an_origin_reads_the_integer_and_string_kinds_other_tools_write() {
        let mut headers = FieldTable::default();
        headers.insert(EXCHANGE.into(), AMQPValue::ShortString("ex".into()));
        headers.insert(ROUTING_KEY.into(), AMQPValue::ShortString("a.b".into()));
        for (value, attempt) in [
            (AMQPValue::LongUInt(4), 4),
            (AMQPValue::LongInt(3), 3),
            (AMQPValue::LongInt(-1), 1),
            (AMQPValue::LongLongInt(2), 2),
            (AMQPValue::Boolean(true), 1),
        ] {
            headers.insert(ATTEMPT.into(), value);
            let properties = BasicProperties::default().with_headers(headers.clone());
            let origin = Origin::of(&properties).expect("an origin");
            assert_eq!(
                (origin.exchange.as_str(), origin.routing_key.as_str()),
                ("ex", "a.b")
            );
            assert_eq!(origin.attempt, attempt);
        }
    }

    #[test]
    fn cc_keys_and_a_stamp_travel_in_the_headers() {
        let stamp = Stamp {
            origin: Origin {
                exchange: "ex".into(),
                routing_key: "a.b".into(),
                cc: vec!["route.r".into()],
                attempt: 2,
            },
            error: Some("boom".into()),
        };
        let cc = vec!["route.index.x".to_owned(), "route.y".to_owned()];
        let sent = properties(&cc, Some(&stamp), None);
        assert_eq!(sent.delivery_mode(), &Some(2));
        assert_eq!(
            sent.content_type().as_ref().map(ShortString::as_str),
            Some("application/json")
        );
        assert_eq!(cc_keys(&sent), cc);
        assert_eq!(Origin::of(&sent), Some(stamp.origin.clone()));
        let headers = sent.headers().as_ref().unwrap().inner();
        assert_eq!(
            headers.get(ERROR),
            Some(&AMQPValue::LongString(LongString::from("boom")))
        );
        let plain = properties(&[], None, None);
        assert!(plain.headers().is_none());
        assert!(cc_keys(&plain).is_empty());
        assert_eq!(Origin::of(&plain), None);
    }
}
