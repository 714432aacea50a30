//! The engine under a [`Consumer`](crate::client::Consumer): one session per
//! connection (connect, declare, bind, consume), the supervisor that opens,
//! replaces and shuts them, the pump that turns deliveries into messages, and
//! the link that coalesces acknowledgements. It uses `connect/` to reach a
//! node, `transport/` for every broker operation, and `consumer/` for the
//! types it hands up; nothing above it uses more of it than these re-exports.

pub(crate) mod acks;
pub(crate) mod link;
pub(crate) mod pump;
mod setup;
pub(crate) mod supervisor;

pub(crate) use setup::{Session, Topology};
