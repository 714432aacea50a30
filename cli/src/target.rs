//! What `listen` and `publish` work on: a prebuilt binding (named by a
//! subcommand, its words as flags, its payload type checked) or any
//! exchange, by name (`--exchange`), with a pattern or routing key given
//! whole and any JSON payload.

use clap::ArgMatches;
use pulse_binding::KeyWord;

use crate::catalog::{Catalog, Entry};
use crate::failure::{Failure, quoted};

/// The exchange a broker command works on.
pub enum Target<'c> {
    /// A prebuilt binding.
    Prebuilt(Entry<'c>),
    /// Any exchange, by its name.
    Exchange(&'c str),
}

impl<'c> Target<'c> {
    /// The prebuilt binding of the subcommand, or the `--exchange` of `m`
    /// itself, and the options that go with it.
    pub fn from_matches(
        catalog: &'c Catalog,
        m: &'c ArgMatches,
    ) -> Result<(Self, &'c ArgMatches), Failure> {
        if let Some((name, sub)) = m.subcommand() {
            let entry = catalog.get(name).expect("each subcommand is a binding");
            return Ok((Self::Prebuilt(entry), sub));
        }
        let Some(exchange) = m.get_one::<String>("exchange") else {
            return Err(Failure::Usage(
                "give a binding or --exchange NAME".to_owned(),
            ));
        };
        if exchange.is_empty() {
            return Err(Failure::Usage(
                "--exchange: an exchange name must not be empty".to_owned(),
            ));
        }
        if exchange.len() > 255 {
            return Err(Failure::Usage(format!(
                "--exchange {}: an exchange name is at most 255 bytes long",
                quoted(exchange)
            )));
        }
        if let Some(c) = exchange.chars().find(|c| c.is_control()) {
            return Err(Failure::Usage(format!(
                "--exchange {}: an exchange name must not contain control characters ({c:?})",
                quoted(exchange)
            )));
        }
        Ok((Self::Exchange(exchange), m))
    }

    /// The exchange's name.
    pub fn exchange(&self) -> &str {
        match self {
            Self::Prebuilt(entry) => entry.binding.exchange_name(),
            Self::Exchange(name) => name,
        }
    }

    /// The routing-key words the binding describes; none for an exchange
    /// given by name.
    pub fn words(&self) -> &'static [KeyWord] {
        match self {
            Self::Prebuilt(entry) => entry.words(),
            Self::Exchange(_) => &[],
        }
    }
}
