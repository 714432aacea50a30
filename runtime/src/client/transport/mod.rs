//! The seam between the client and what it talks to, and the AMQP specifics:
//! lapin's calls, and how CC routes and a retried message's origin travel in
//! headers. Everything else in `client/` reaches a broker only through here;
//! the in-memory broker of `testing/` plugs in behind the traits of
//! `in_memory`, so the client never names it.

pub(crate) mod channel;
pub(crate) mod headers;
#[cfg(feature = "testing")]
pub(crate) mod in_memory;
mod seam;

pub(crate) use seam::*;
