//! The in-memory side of the seam: what the broker of `testing/`
//! (`pulse_binding::testing::FakePulse`) implements so that the client's
//! own consumer and publisher run on it. Only with the `testing` feature;
//! without it the transport has no in-memory variants and the broker path has
//! no dynamic dispatch.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};

use crate::client::error::ClientError;
use crate::client::handler::retry::Stamp;
use crate::client::observe::context::TraceContext;
use crate::client::session::{Session, Topology};

/// Why an in-memory link refused an acknowledgement or rejection.
pub(crate) type InMemoryError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An in-memory broker: sessions for consumers, publishes for publishers.
/// (Unwind-safe, like the fake it stands for, so that the public types that
/// hold it keep their auto traits.)
pub(crate) trait InMemoryBroker: Send + Sync + RefUnwindSafe + UnwindSafe {
    /// Opens a connection and sets up what `topology` asks for on it.
    fn open_session(&self, topology: &Topology) -> Result<Session, ClientError>;

    /// Routes a message and waits for nothing: the answer is the confirm. A
    /// stamped message is mandatory ([`ClientError::Unroutable`] when it
    /// reaches no queue).
    fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        cc: &[String],
        stamp: Option<&Stamp>,
        trace: Option<&TraceContext>,
        body: &[u8],
    ) -> Result<(), ClientError>;
}

/// One in-memory connection, which is also its channel.
pub(crate) trait InMemoryLink:
    Send + Sync + fmt::Debug + RefUnwindSafe + UnwindSafe
{
    /// Acknowledges `tag` (and every earlier unsettled tag with `multiple`).
    fn ack(&self, tag: u64, multiple: bool) -> Result<(), InMemoryError>;
    /// Rejects `tag`, back to its queue with `requeue`.
    fn reject(&self, tag: u64, requeue: bool) -> Result<(), InMemoryError>;
    /// Stops the consumer `consumer_tag`.
    fn cancel(&self, consumer_tag: &str);
    /// Closes the connection: what it held goes back to its queues.
    fn close(&self);
    /// Whether it is still open.
    fn is_open(&self) -> bool;
    /// The number of ready messages in `queue`.
    fn depth(&self, queue: &str) -> u32;
}
