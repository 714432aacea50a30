//! Runnable examples of pulse-binding: see the `[[example]]` entries in Cargo.toml.
