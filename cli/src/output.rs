//! Lines on stdout, for a reader that may go away (`pulse listen | head -1`).

use std::io::{ErrorKind, Write};

use crate::failure::Failure;

/// Writes `text` and a newline to stdout: `Ok(true)` when written, `Ok(false)`
/// when the reader has gone away (a closed pipe), so the caller stops as it
/// would on Ctrl-C; any other write error is a failure.
pub fn line(text: &str) -> Result<bool, Failure> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::Failed(format!("cannot write to stdout: {e}"))),
    }
}
