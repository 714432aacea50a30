//! The errors of building, parsing and decoding with a binding: one file per
//! job (the routing key's, the body's, a list's dispatch); the shared quoting
//! of user input is `crate::report`'s.

mod decode;
mod dispatch;
mod key;

pub use decode::DecodeError;
pub use dispatch::DispatchError;
pub use key::{FromRoutingKeyError, RoutingKeyError};

#[cfg(test)]
mod tests;
