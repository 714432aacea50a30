//! What the fake broker refuses.

use std::fmt;

/// An acknowledgement or rejection the fake broker refused, as RabbitMQ
/// would refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FakeError {
    /// The connection the message came on is closed.
    Closed,
    /// No unsettled delivery has this tag on the connection (RabbitMQ's
    /// `PRECONDITION_FAILED - unknown delivery tag`).
    UnknownTag(u64),
}

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the connection is closed"),
            Self::UnknownTag(tag) => write!(f, "unknown delivery tag {tag}"),
        }
    }
}

impl std::error::Error for FakeError {}
