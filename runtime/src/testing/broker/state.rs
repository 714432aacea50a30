//! The fake broker's state, as RabbitMQ keeps it: declaring queues (and the
//! queues of handler mode next to them), binding, routing a message with its
//! CC keys, and putting a message back in its place.

use super::*;

impl State {
    pub(super) fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Declares the queue (and the retry queues), binds it and starts a
    /// consumer on connection `id`; returns the queue's name.
    pub(super) fn set_up(
        &mut self,
        topology: &Topology,
        id: u64,
        consumer_tag: &str,
        tx: Sender,
    ) -> Result<String, ClientError> {
        let name = topology.queue_name(USERNAME)?;
        let (max_length, overflow) = topology.queue.limits();
        let owner = (!topology.queue.is_named()).then_some(id);
        let limits = Limits {
            quorum: topology.queue.is_quorum(),
            max_length,
            overflow,
            expiry: None,
        };
        self.declare(&name, limits.clone(), owner)?;
        for side in topology.side_queues(&name) {
            let expiry = side.retry.clone();
            // Side queues are quorum queues with no length cap, whatever
            // the main queue is and does.
            self.declare(
                &side.name,
                Limits {
                    quorum: true,
                    expiry,
                    max_length: None,
                    overflow: Overflow::RejectPublish,
                },
                None,
            )?;
        }
        for (exchange, pattern) in &topology.binds {
            let known = self
                .binds
                .iter()
                .any(|b| (&b.exchange, &b.pattern, &b.queue) == (exchange, pattern, &name));
            if !known {
                self.binds.push(Bind {
                    exchange: exchange.clone(),
                    pattern: pattern.clone(),
                    queue: name.clone(),
                });
            }
        }
        let conn = self.connections.get_mut(&id).expect("opened by the caller");
        conn.consumers.insert(
            consumer_tag.to_owned(),
            Slot {
                queue: name.clone(),
                prefetch: topology.prefetch(),
                no_ack: topology.auto_ack,
                held: 0,
                tx,
            },
        );
        let queue = self.queues.get_mut(&name).expect("declared above");
        queue.consumers.push((id, consumer_tag.to_owned()));
        Ok(name)
    }

    /// Declares `name`, or checks that it exists with the same limits.
    pub(super) fn declare(
        &mut self,
        name: &str,
        limits: Limits,
        owner: Option<u64>,
    ) -> Result<(), ClientError> {
        if let Some(queue) = self.queues.get(name) {
            if queue.limits != limits {
                return Err(ClientError::QueueMismatch {
                    queue: name.to_owned(),
                    detail: format!("it was declared with {}, not {}", queue.limits, limits),
                });
            }
            return Ok(());
        }
        self.queues.insert(
            name.to_owned(),
            Queue {
                limits,
                owner,
                ready: VecDeque::new(),
                consumers: Vec::new(),
                turn: 0,
            },
        );
        Ok(())
    }

    /// The queues a message reaches: on the default exchange (`""`), the
    /// queue named by the routing key; on a topic exchange, each queue with
    /// a binding whose pattern matches the routing key or a CC key.
    pub(super) fn route(&self, exchange: &str, routing_key: &str, cc: &[String]) -> Vec<String> {
        if exchange.is_empty() {
            return self
                .queues
                .contains_key(routing_key)
                .then(|| routing_key.to_owned())
                .into_iter()
                .collect();
        }
        let mut targets: Vec<String> = Vec::new();
        for bind in self.binds.iter().filter(|b| b.exchange == exchange) {
            let reached = std::iter::once(routing_key)
                .chain(cc.iter().map(String::as_str))
                .any(|key| topic_matches(&bind.pattern, key));
            if reached && !targets.contains(&bind.queue) {
                targets.push(bind.queue.clone());
            }
        }
        targets
    }

    /// Puts a delivered message back in its place in `queue`, marked
    /// redelivered.
    pub(super) fn requeue(&mut self, queue: &str, mut message: Stored) {
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        message.redelivered = true;
        let at = q
            .ready
            .iter()
            .position(|m| m.seq > message.seq)
            .unwrap_or(q.ready.len());
        q.ready.insert(at, message);
    }
}
