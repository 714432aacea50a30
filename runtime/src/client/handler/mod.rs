//! Handler mode: [`Consumer::run`](crate::client::Consumer::run) with its
//! bounded concurrency, the [`RetryPolicy`](crate::client::RetryPolicy) and
//! its retry queues, the dead-letter queue and the operator's
//! [`dead_letters`] tools. It uses the consumer's stream, the
//! [`Publisher`](crate::client::Publisher) to move failed messages, and
//! `transport/` for the headers they carry.

pub mod dead_letters;
pub(crate) mod retry;
mod run;
pub(crate) mod side_queues;
