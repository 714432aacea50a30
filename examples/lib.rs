//! Runnable examples of pulse-binding: see the `[[example]]` entries in
//! Cargo.toml. To listen and publish on a broker, use the `pulse` tool
//! (`cli/`, docs/cli.md).
