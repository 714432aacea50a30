//! The command line: `pulse listen|publish <binding> [--<word> value ...]`,
//! `pulse listen --exchange NAME --pattern PATTERN`, `pulse publish --exchange
//! NAME --routing-key KEY`, `pulse bindings`, `pulse match` and `pulse
//! dead-letters`.

use clap::{Arg, ArgAction, Command, value_parser};

use crate::catalog::Catalog;

const ABOUT: &str = "Listen to, publish on and list Taskcluster Pulse exchanges";

const BINDING_NAMES: &str = "A binding goes by its exchange's last part (task-completed), by \
    <service>/<name> (queue/task-completed) or by its whole exchange name; `pulse bindings` \
    lists them. Its routing-key words are flags: --task-group-id X.\n\n\
    Any other exchange goes by --exchange NAME instead of a binding, with the routing key \
    (or pattern) given whole and any JSON payload.";

/// The whole command line, with one `listen` and one `publish` subcommand per
/// prebuilt binding.
pub fn command(catalog: &Catalog) -> Command {
    Command::new("pulse")
        .about(ABOUT)
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(listen(catalog))
        .subcommand(publish(catalog))
        .subcommand(
            Command::new("bindings")
                .about("List every prebuilt binding: name, exchange, payload type and word flags"),
        )
        .subcommand(matching())
        .subcommand(dead_letters())
}

/// `listen` or `publish`: a prebuilt binding as a subcommand, or, without
/// one, `--exchange` and the options `exchange_args` adds.
fn binding_command(
    name: &'static str,
    about: &'static str,
    exchange_args: impl FnOnce(Command) -> Command,
) -> Command {
    let command = Command::new(name)
        .about(about)
        .long_about(format!("{about}.\n\n{BINDING_NAMES}"))
        .arg_required_else_help(true)
        .subcommand_value_name("BINDING")
        .subcommand_help_heading("Bindings")
        // Either a binding (with its own options) or --exchange and the
        // options here, whose required ones a binding makes unneeded.
        .args_conflicts_with_subcommands(true)
        .subcommand_negates_reqs(true)
        .arg(
            Arg::new("exchange")
                .long("exchange")
                .value_name("NAME")
                .required(true)
                .help("Any exchange, by its whole name, instead of a prebuilt binding"),
        );
    exchange_args(command)
}

fn url_arg() -> Arg {
    Arg::new("url").long("url").value_name("URL").help(
        "amqp:// or amqps:// URL of the broker (several, comma-separated, for a cluster); \
             default: $PULSE_URL. A user name or password missing from it comes from \
             PULSE_USERNAME / PULSE_PASSWORD",
    )
}

fn declare_arg() -> Arg {
    Arg::new("declare")
        .long("declare")
        .action(ArgAction::SetTrue)
        .help("Declare the exchange first (on a broker of your own; on Pulse, publishers do)")
}

fn listen(catalog: &Catalog) -> Command {
    let about = "Print each message of a binding or exchange as a JSON line until Ctrl-C";
    let exchange_args = |command: Command| {
        listen_options(
            command.arg(
                Arg::new("pattern")
                    .long("pattern")
                    .value_name("PATTERN")
                    .required(true)
                    .help("Bind with this routing-key pattern (`*` one word, `#` any number)"),
            ),
        )
    };
    binding_command("listen", about, exchange_args).subcommands(catalog.subcommands(
        None,
        |command, words| {
            listen_options(
                command.arg(
                    Arg::new("pattern")
                        .long("pattern")
                        .value_name("PATTERN")
                        .conflicts_with_all(words.iter().copied())
                        .help("Bind with this routing-key pattern (e.g. `route.index.#`) instead of the word flags"),
                ),
            )
        },
    ))
}

/// The options of `listen`, for a binding and for `--exchange` alike.
fn listen_options(command: Command) -> Command {
    command
        .arg(url_arg())
        .arg(Arg::new("queue").long("queue").value_name("NAME").help(
            "A durable queue queue/<user>/<NAME> (default: an anonymous queue, deleted on exit)",
        ))
        .arg(
            Arg::new("max-length")
                .long("max-length")
                .value_name("N")
                .value_parser(value_parser!(u32))
                .help("Cap the queue at N messages, dropping the oldest"),
        )
        .arg(
            Arg::new("expires")
                .long("expires")
                .value_name("SECS")
                .value_parser(value_parser!(u64))
                .help("Delete the queue once it has been unused for SECS seconds"),
        )
        .arg(
            Arg::new("metrics")
                .long("metrics")
                .value_name("ADDR")
                .value_parser(value_parser!(std::net::SocketAddr))
                .help("Serve the consumer's metrics in Prometheus's text format on ADDR (e.g. 127.0.0.1:9464) while listening"),
        )
        .arg(
            Arg::new("count")
                .long("count")
                .value_name("N")
                .value_parser(value_parser!(u64))
                .help("Exit after N messages"),
        )
        .arg(declare_arg())
}

fn publish(catalog: &Catalog) -> Command {
    let about = "Publish one message on a binding's exchange, or on any exchange";
    let exchange_args = |command: Command| {
        publish_options(
            command.arg(
                Arg::new("routing-key")
                    .long("routing-key")
                    .value_name("KEY")
                    .required(true)
                    .help("The message's routing key (concrete words: no `*` or `#`)"),
            ),
            "The message, as JSON, or `-` to read it from stdin",
        )
    };
    binding_command("publish", about, exchange_args).subcommands(catalog.subcommands(
        Some("_"),
        |command, _| {
            publish_options(
                command,
                "The message, as JSON, or `-` to read it from stdin; it must be a valid payload of the binding",
            )
        },
    ))
}

/// The options of `publish`, for a binding and for `--exchange` alike.
fn publish_options(command: Command, payload_help: &'static str) -> Command {
    command
        .arg(
            Arg::new("payload")
                .long("payload")
                .value_name("JSON")
                .required(true)
                .help(payload_help),
        )
        .arg(
            Arg::new("cc")
                .long("cc")
                .value_name("ROUTE")
                .action(ArgAction::Append)
                .help("Also send the message with the routing key route.<ROUTE>, as a CC key (a Taskcluster custom route); may be repeated"),
        )
        .arg(url_arg())
        .arg(declare_arg())
}

fn dead_letters() -> Command {
    Command::new("dead-letters")
        .about(
            "Print the dead letters of a named queue (what its handler gave up on) as JSON lines, \
             or send them back to it",
        )
        .arg(
            Arg::new("queue")
                .value_name("QUEUE")
                .required(true)
                .help("The queue's name, as given to `listen --queue` (queue/<user>/<QUEUE>)"),
        )
        .arg(
            Arg::new("requeue")
                .long("requeue")
                .action(ArgAction::SetTrue)
                .help("Send them back to the queue (their attempt counts start again) instead"),
        )
        .arg(url_arg())
}

fn matching() -> Command {
    Command::new("match")
        .about("Whether routing keys match a pattern: prints those that do; exit status 0 if any does, 1 if none, 2 on a usage error")
        .arg(
            Arg::new("pattern")
                .value_name("PATTERN")
                .required(true)
                .help("A topic pattern: `*` stands for one word, `#` for any number"),
        )
        .arg(
            Arg::new("key")
                .value_name("KEY")
                .required(true)
                .num_args(1..)
                .help("Routing keys to test"),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks: no two flags alike (a word named like an
        // option), every conflict names an argument, and so on.
        command(&Catalog::load()).debug_assert();
    }
}
