//! [`FakeLink`]: one connection of the fake broker as the client's
//! transport sees it (its channel is the connection itself).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::broker::Broker;
use crate::client::transport::in_memory::{InMemoryError, InMemoryLink};

/// One connection of the fake (its channel is the connection itself), or a
/// lone message's (from [`Message::fake`](crate::client::Message::fake)).
#[derive(Clone)]
pub(crate) struct FakeLink {
    pub(super) target: Option<(Arc<Broker>, u64)>,
    pub(super) open: Arc<AtomicBool>,
}

impl std::fmt::Debug for FakeLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLink")
            .field("connection", &self.target.as_ref().map(|(_, id)| id))
            .field("open", &self.is_open())
            .finish()
    }
}

impl FakeLink {
    /// A link to no broker, that takes every acknowledgement.
    pub(crate) fn lone() -> Self {
        Self {
            target: None,
            open: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl InMemoryLink for FakeLink {
    fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    fn close(&self) {
        match &self.target {
            Some((broker, id)) => broker.close(*id, None),
            None => self.open.store(false, Ordering::SeqCst),
        }
    }

    fn depth(&self, queue: &str) -> u32 {
        self.target.as_ref().map_or(0, |(broker, _)| {
            u32::try_from(broker.queue_len(queue)).unwrap_or(u32::MAX)
        })
    }

    fn ack(&self, tag: u64, multiple: bool) -> Result<(), InMemoryError> {
        match &self.target {
            Some((broker, id)) => Ok(broker.settle(*id, tag, multiple, None)?),
            None => Ok(()),
        }
    }

    fn reject(&self, tag: u64, requeue: bool) -> Result<(), InMemoryError> {
        match &self.target {
            Some((broker, id)) => Ok(broker.settle(*id, tag, false, Some(requeue))?),
            None => Ok(()),
        }
    }

    fn cancel(&self, consumer_tag: &str) {
        if let Some((broker, id)) = &self.target {
            broker.cancel(*id, consumer_tag);
        }
    }
}
