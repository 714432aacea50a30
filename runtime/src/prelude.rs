//! The traits (and the derive) in one import: `use pulse_binding::prelude::*;`.

pub use crate::{FromRoutingKey, PulseBinding};
