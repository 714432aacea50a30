//! What a test can read of the fake broker's queues.

use super::{Broker, Stored};
use crate::client::dead_letters::DeadLetter;
use crate::testing::Published;

impl Stored {
    /// The message as it was published.
    pub(super) fn published(&self) -> Published {
        Published {
            exchange: self.exchange.clone(),
            routing_key: self.routing_key.clone(),
            cc: self.cc.clone(),
            body: self.body.clone(),
        }
    }
}

impl Broker {
    /// The ready messages of queue `name`, in order.
    pub(crate) fn messages(&self, name: &str) -> Vec<Published> {
        let state = self.lock();
        let name = Self::resolve(&state, name);
        state.queues.get(&name).map_or_else(Vec::new, |q| {
            q.ready.iter().map(Stored::published).collect()
        })
    }

    /// The dead letters in queue `name`'s dead-letter queue, oldest first.
    pub(crate) fn dead_letters(&self, name: &str) -> Vec<DeadLetter> {
        let state = self.lock();
        let main = Self::resolve(&state, name);
        let dead = crate::client::handler::retry::dead_queue(&main);
        state.queues.get(&dead).map_or_else(Vec::new, |q| {
            q.ready
                .iter()
                .map(|m| {
                    let stamp = m.stamp.as_ref();
                    let origin = stamp.map(|s| &s.origin);
                    DeadLetter {
                        exchange: origin.map_or_else(String::new, |o| o.exchange.clone()),
                        routing_key: origin.map_or_else(String::new, |o| o.routing_key.clone()),
                        cc: origin.map_or_else(Vec::new, |o| o.cc.clone()),
                        attempts: origin.map_or(0, |o| o.attempt),
                        error: stamp.and_then(|s| s.error.clone()).unwrap_or_default(),
                        body: m.body.clone(),
                    }
                })
                .collect()
        })
    }

    /// The messages full drop-head queues dropped, in order.
    pub(crate) fn dropped(&self) -> Vec<Published> {
        self.lock().dropped.clone()
    }
}
