//! [`Message::fake`]: one message for one handler call, and the [`Record`]
//! of what the handler did with it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::link::FakeLink;
use crate::client::consumer::stats::Monitor;
use crate::client::session::link::Link;
use crate::client::transport::Channel;
use crate::client::{Acker, Message};
use crate::key::parse_fields;
use crate::traits::PulseBinding;

/// What was done with a fake message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// [`ack`](Message::ack)ed.
    Acked,
    /// [`reject`](Message::reject)ed, back to the queue with `requeue`.
    Rejected {
        /// Whether it was to go back to the queue.
        requeue: bool,
    },
}

/// Tells what became of a [`Message::fake`]; taken before the message is
/// handed to the code under test.
#[derive(Debug, Clone)]
pub struct Record {
    link: Arc<Link>,
}

impl Record {
    /// `None` while the message is neither acknowledged nor rejected.
    pub fn outcome(&self) -> Option<Outcome> {
        let monitor = &self.link.monitor;
        if monitor.acks_made() > 0 {
            return Some(Outcome::Acked);
        }
        (monitor.rejected.load(Ordering::SeqCst) > 0).then(|| Outcome::Rejected {
            requeue: monitor.requeued.load(Ordering::SeqCst) > 0,
        })
    }
}

impl<M> Message<M> {
    /// A message as a consumer of `binding` would yield it, with `payload`
    /// (feature `testing`): its exchange, its routing key (the binding's, a
    /// wildcard for each unset field) and the fields parsed from it, attempt
    /// 1, not redelivered, no routes. Its [`ack`](Self::ack) and
    /// [`reject`](Self::reject) succeed and are kept in its [`record`](Self::record).
    ///
    /// ```
    /// use pulse_binding::client::Message;
    /// use pulse_binding::queue::{TaskCompleted, TaskCompletedMessage};
    /// use pulse_binding::testing::Outcome;
    ///
    /// async fn handle(message: Message<TaskCompletedMessage>) {
    ///     let _ = message.ack().await;
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let binding = TaskCompleted { task_id: Some("abc".into()), ..Default::default() };
    /// let message = Message::fake(&binding, TaskCompletedMessage::default());
    /// assert_eq!(message.field("task_id"), Some("abc"));
    /// let record = message.record();
    /// handle(message).await;
    /// assert_eq!(record.outcome(), Some(Outcome::Acked));
    /// # }
    /// ```
    pub fn fake<B: PulseBinding + ?Sized>(binding: &B, payload: M) -> Self {
        let exchange = binding.exchange_name().to_owned();
        let routing_key = binding.routing_key();
        let fields = binding
            .key_words()
            .and_then(|words| parse_fields(&exchange, words, &routing_key).ok())
            .map(|fields| {
                fields
                    .into_iter()
                    .map(|(name, word)| (name, word.map(str::to_owned)))
                    .collect()
            })
            .unwrap_or_default();
        let (monitor, _) = Monitor::new(None);
        let link = Link::new(
            Channel::InMemory(Arc::new(FakeLink::lone())),
            Arc::new(monitor),
            0,
            std::time::Duration::ZERO,
        );
        Message {
            exchange,
            routing_key,
            fields,
            routes: Vec::new(),
            redelivered: false,
            payload,
            acker: Acker::new(link, Some(1)),
            attempt: 1,
            retained: None,
            span: std::panic::AssertUnwindSafe(tracing::Span::none()),
        }
    }

    /// What became of this message, to read after the code under test has
    /// had it (feature `testing`; see [`Message::fake`]).
    pub fn record(&self) -> Record {
        Record {
            link: self.acker.link().clone(),
        }
    }
}
