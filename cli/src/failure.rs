//! How a command fails: bad input (exit status 2) or a failure to do what
//! was asked (exit status 1), each printed with its causes.

use std::error::Error;
use std::fmt::Write as _;
use std::process::ExitCode;

/// Why a command failed.
pub enum Failure {
    /// What the user gave is wrong: a usage error, exit status 2.
    Usage(String),
    /// The command could not do what it was asked: exit status 1.
    Failed(String),
}

impl Failure {
    /// A usage error saying `what`, with the causes of `error`.
    pub fn usage(what: impl std::fmt::Display, error: &dyn Error) -> Self {
        Self::Usage(format!("{what}: {}", chain(error)))
    }

    /// Prints the failure on stderr and gives its exit status.
    pub fn report(self) -> ExitCode {
        let status = match self {
            Self::Usage(_) => 2,
            Self::Failed(_) => 1,
        };
        self.report_as(ExitCode::from(status))
    }

    /// Prints the failure on stderr and gives `status`: for `pulse match`,
    /// whose status 1 means no match.
    pub fn report_as(self, status: ExitCode) -> ExitCode {
        let (Self::Usage(message) | Self::Failed(message)) = self;
        eprintln!("pulse: error: {message}");
        status
    }
}

/// An error with each of its causes, outermost first: `a: b: c`.
pub fn chain(error: &dyn Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(out, ": {cause}");
        source = cause.source();
    }
    out
}

/// How many bytes of a user's input a message quotes at most.
const QUOTE_LIMIT: usize = 200;

/// `input` quoted as `{:?}` quotes it, cut after 200 bytes (at a character
/// boundary) and then followed by `…(N bytes)`: an argument can be huge.
pub fn quoted(input: &str) -> String {
    if input.len() <= QUOTE_LIMIT {
        return format!("{input:?}");
    }
    let mut end = QUOTE_LIMIT;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}…({} bytes)", &input[..end], input.len())
}

impl From<pulse_binding::client::ClientError> for Failure {
    fn from(error: pulse_binding::client::ClientError) -> Self {
        use pulse_binding::client::ClientError;
        let message = chain(&error);
        match error {
            ClientError::Config { .. }
            | ClientError::Binding(_)
            | ClientError::Wildcard { .. }
            | ClientError::InvalidName { .. } => Self::Usage(message),
            _ => Self::Failed(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for E {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn input_is_quoted_whole_up_to_200_bytes_then_cut_and_measured() {
        assert_eq!(quoted("a.b"), "\"a.b\"");
        let exact = "x".repeat(200);
        assert_eq!(quoted(&exact), format!("{exact:?}"));
        // 199 bytes, then a 3-byte character across the limit: left out whole.
        let long = format!("{}€{}", "a".repeat(199), "b".repeat(100_000));
        assert_eq!(
            quoted(&long),
            format!("{:?}…({} bytes)", "a".repeat(199), long.len())
        );
    }

    #[test]
    fn the_chain_names_each_cause_once_outermost_first() {
        let e = E(
            "connect failed",
            Some(Box::new(E(
                "refused",
                Some(Box::new(E("os error 111", None))),
            ))),
        );
        assert_eq!(chain(&e), "connect failed: refused: os error 111");
    }
}
