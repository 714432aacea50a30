//! A body that is not the binding's payload type.

use std::fmt;

use crate::report::capped_display;

/// A message body that is not the binding's payload type
/// ([`PulseBinding::decode`](crate::PulseBinding::decode)).
///
/// Its [`source`](std::error::Error::source) is the JSON error, its message
/// cut after 200 bytes: serde_json quotes a value of the wrong type whole, and
/// a body can be megabytes long. [`json_error`](Self::json_error) has it whole.
pub struct DecodeError {
    exchange: String,
    payload: &'static str,
    json: serde_json::Error,
    /// `json`'s message, capped: the error's source.
    cause: JsonError,
}

/// A JSON error's message, capped at 200 bytes of quoted input.
#[derive(Debug)]
struct JsonError(String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

impl DecodeError {
    /// An error for a body from `exchange` that does not decode as `payload`.
    pub fn new(
        exchange: impl Into<String>,
        payload: &'static str,
        source: serde_json::Error,
    ) -> Self {
        let mut message = capped_display(&source);
        let position = format!(" at line {} column {}", source.line(), source.column());
        if source.line() != 0 && !message.ends_with(&position) {
            message.push_str(&position);
        }
        Self {
            exchange: exchange.into(),
            payload,
            json: source,
            cause: JsonError(message),
        }
    }

    /// The exchange the message came from.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// The name of the payload type the body should have been.
    pub fn payload_type(&self) -> &'static str {
        self.payload
    }

    /// The JSON error, with line and column. Its message may quote the body
    /// whole.
    pub fn json_error(&self) -> &serde_json::Error {
        &self.json
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("exchange", &self.exchange)
            .field("payload", &self.payload)
            .field("json_error", &self.cause.0)
            .finish()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message from exchange `{}` is not a valid `{}`",
            self.exchange, self.payload
        )
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}
