//! `pulse match <pattern> <key>...`: as `grep`, prints the keys that match
//! and exits 0 if any did, 1 if none did.

use std::process::ExitCode;

use clap::ArgMatches;
use pulse_binding::topic_matches;

/// Prints each key that the pattern matches; exit status 0 if any, 1 if none.
pub fn run(m: &ArgMatches) -> ExitCode {
    let pattern = m.get_one::<String>("pattern").expect("required");
    let mut any = false;
    for key in m.get_many::<String>("key").expect("required") {
        if topic_matches(pattern, key) {
            println!("{key}");
            any = true;
        }
    }
    if any {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
