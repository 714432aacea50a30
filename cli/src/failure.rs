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
