//! `pulse match <pattern> <key>...`: as `grep`, prints the keys that match
//! and exits 0 if any did, 1 if none did.

use std::process::ExitCode;

use clap::ArgMatches;
use pulse_binding::topic_matches;

use crate::output;

/// Prints each key that the pattern matches; exit status 0 if any, 1 if none
/// (2 if stdout fails).
pub fn run(m: &ArgMatches) -> ExitCode {
    let pattern = m.get_one::<String>("pattern").expect("required");
    let mut any = false;
    for key in m.get_many::<String>("key").expect("required") {
        if topic_matches(pattern, key) {
            any = true;
            match output::line(key) {
                Ok(true) => {}
                // The reader has what it wanted.
                Ok(false) => break,
                Err(failure) => return failure.report_as(ExitCode::from(2)),
            }
        }
    }
    if any {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
