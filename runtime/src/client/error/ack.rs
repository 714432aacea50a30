//! An acknowledgement or rejection that did not reach the broker.

use std::fmt;

use super::Source;

/// Acknowledging or rejecting a message did not reach the broker.
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// The connection (or channel) the message came on is gone, whether the
    /// consumer has reconnected since or not. The broker puts the message back
    /// in a named queue and delivers it again, marked redelivered: treat it
    /// then. Delivery tags are per channel, so the client never sends this
    /// acknowledgement on the new channel, where the same tag means another
    /// message.
    ConnectionLost {
        /// lapin's error, when the acknowledgement failed on the wire rather
        /// than being refused up front.
        source: Option<Source>,
    },
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionLost { source: None } => f.write_str(
                "the connection the message came on is gone; the broker will deliver it again",
            ),
            Self::ConnectionLost { source: Some(_) } => f.write_str(
                "the connection the message came on failed; the broker will deliver it again",
            ),
        }
    }
}

impl std::error::Error for AckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::ConnectionLost { source } => source.as_deref().map(|e| e as _),
        }
    }
}
