//! `#[derive(PulseBinding)]`, re-exported by the `pulse-binding` crate as
//! `pulse_binding::PulseBinding`; depend on that crate, not on this one.
//!
//! # Attributes
//!
//! On the struct:
//! - `#[exchange = "exchange/..."]`, required: the exchange name.
//! - `#[payload(Type)]`, optional: the message type (default `serde_json::Value`).
//! - `#[pulse_binding(crate = "path")]`, optional: where the runtime crate is,
//!   for crates that re-export it (default `::pulse_binding`).
//!
//! On a field, making it a routing-key word (fields without it are not):
//! - `#[mwords("*")]`: one word; `*` when unset.
//! - `#[mwords("#")]`: any number of words; `#` when unset (at most two such fields).
//! - `#[mwords(constant = "primary")]`: one word that publishers always fill with
//!   this value; the value when unset, and the only word `from_routing_key` takes.

mod ast;
mod attr;
mod bound;
mod ctxt;
mod expand;
mod fallback;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `PulseBinding`, and `FromRoutingKey` where the fields allow. See the
/// crate docs for the attributes.
#[proc_macro_derive(PulseBinding, attributes(exchange, payload, mwords, pulse_binding))]
pub fn derive_pulse_binding(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
