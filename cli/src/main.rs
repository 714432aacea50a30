//! `pulse`: listen to, publish on and list Taskcluster Pulse exchanges (with
//! pulse-binding's prebuilt bindings, or any exchange by name), and match
//! routing keys against patterns. See `pulse --help` and docs/cli.md.

mod catalog;
mod command;
mod dead;
mod failure;
mod list;
mod listen;
mod matching;
mod metrics;
mod names;
mod output;
mod publish;
mod target;

use std::process::ExitCode;

use clap::ArgMatches;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use tokio::runtime::Runtime;

use crate::catalog::Catalog;
use crate::failure::Failure;
use crate::target::Target;

fn main() -> ExitCode {
    let catalog = Catalog::load();
    let matches = match command::command(&catalog).try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return clap_error(error, &catalog),
    };
    let result = match matches.subcommand() {
        Some(("listen", m)) => broker_command(&catalog, m)
            .and_then(|(target, m, url, rt)| rt.block_on(listen::run(target, m, url))),
        Some(("publish", m)) => broker_command(&catalog, m)
            .and_then(|(target, m, url, rt)| rt.block_on(publish::run(target, m, url))),
        Some(("bindings", _)) => list::print(&catalog),
        Some(("dead-letters", m)) => url(m).and_then(|url| runtime()?.block_on(dead::run(m, url))),
        Some(("match", m)) => return matching::run(m),
        _ => unreachable!("clap requires a known subcommand"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// A broker command's binding or exchange, options and URL, and a tokio
/// runtime to run it in.
fn broker_command<'c>(
    catalog: &'c Catalog,
    m: &'c ArgMatches,
) -> Result<(Target<'c>, &'c ArgMatches, String, Runtime), Failure> {
    let (target, m) = Target::from_matches(catalog, m)?;
    Ok((target, m, url(m)?, runtime()?))
}

/// A tokio runtime for a broker command.
fn runtime() -> Result<Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(format!("cannot start the async runtime: {e}")))
}

/// The broker's URL(s): `--url`, else `PULSE_URL`.
fn url(m: &ArgMatches) -> Result<String, Failure> {
    if let Some(url) = m.get_one::<String>("url") {
        return Ok(url.clone());
    }
    match std::env::var("PULSE_URL") {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => Err(Failure::Usage(
            "no broker URL: give --url URL or set PULSE_URL".to_owned(),
        )),
    }
}

/// Prints clap's error or help and gives its exit status: 0 for `--help`
/// and `--version`, 2 for a usage error, with words of our own for a binding
/// name that names none or several.
fn clap_error(error: clap::Error, catalog: &Catalog) -> ExitCode {
    let command = std::env::args_os().nth(1);
    if error.kind() == ErrorKind::InvalidSubcommand
        && matches!(
            command.and_then(|c| c.into_string().ok()).as_deref(),
            Some("listen" | "publish")
        )
        && let Some(ContextValue::String(name)) = error.get(ContextKind::InvalidSubcommand)
    {
        let message = names::ambiguous(&catalog.exchanges(), name).unwrap_or_else(|| {
            // clap lists the closest last.
            let closest = match error.get(ContextKind::SuggestedSubcommand) {
                Some(ContextValue::Strings(names)) => names.last().cloned(),
                _ => None,
            };
            let hint = closest.map_or_else(String::new, |c| format!("; did you mean `{c}`?"));
            format!("no prebuilt binding is called `{name}`{hint} (`pulse bindings` lists them)")
        });
        return Failure::Usage(message).report();
    }
    let _ = error.print();
    ExitCode::from(if error.use_stderr() { 2 } else { 0 })
}
