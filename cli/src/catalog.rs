//! The prebuilt bindings as the command line offers them: each with its
//! names, and its routing-key words as flags.

use clap::{Arg, ArgAction, ArgMatches, Command};
use pulse_binding::{DynBinding, KeyWord, WordKind, prebuilt_bindings};

use crate::names::{Names, flag, names, payload_name};

/// Every prebuilt binding with its command-line names.
pub struct Catalog {
    bindings: Vec<Box<dyn DynBinding + Send + Sync>>,
    names: Vec<Names>,
}

/// One binding of the catalog.
pub struct Entry<'c> {
    pub binding: &'c (dyn DynBinding + Send + Sync),
    pub names: &'c Names,
}

impl Entry<'_> {
    /// The binding's routing-key words (none for a binding that does not
    /// describe them).
    pub fn words(&self) -> &'static [KeyWord] {
        self.binding.key_words().unwrap_or_default()
    }

    /// The words a flag can set: all but the fixed ones.
    pub fn flag_words(&self) -> impl Iterator<Item = &'static KeyWord> {
        self.words()
            .iter()
            .filter(|w| !matches!(w.kind, WordKind::Constant(_)))
    }

    /// The value its flag gives `word`; `None` when unset or fixed (no flag).
    pub fn word<'m>(&self, m: &'m ArgMatches, word: &KeyWord) -> Option<&'m str> {
        match word.kind {
            WordKind::Constant(_) => None,
            _ => m.get_one::<String>(word.name).map(String::as_str),
        }
    }

    /// `queue::TaskCompletedMessage`.
    pub fn payload(&self) -> &'static str {
        payload_name(self.binding.payload_type_name())
    }
}

impl Catalog {
    /// Every prebuilt binding.
    pub fn load() -> Self {
        let bindings = prebuilt_bindings();
        let exchanges: Vec<&str> = bindings.iter().map(|b| b.exchange_name()).collect();
        let names = names(&exchanges);
        Self { bindings, names }
    }

    /// The exchanges, in the order of the list. (Only an ambiguous binding
    /// name needs them, and no two prebuilt exchanges share a last part
    /// today: `names`' tests cover that case.)
    pub fn exchanges(&self) -> Vec<&str> {
        self.bindings.iter().map(|b| b.exchange_name()).collect()
    }

    /// Every binding, in the order of the list.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        self.bindings
            .iter()
            .zip(&self.names)
            .map(|(binding, names)| Entry {
                binding: &**binding,
                names,
            })
    }

    /// The binding whose name (not alias) is `name`: what clap gives for the
    /// subcommand, however it was spelled.
    pub fn get(&self, name: &str) -> Option<Entry<'_>> {
        self.entries().find(|e| e.names.name == name)
    }

    /// One subcommand per binding, with its word flags (an unset word is
    /// `unset`'s, or the word's wildcard when it is `None`), and `extra`
    /// arguments (given the words' argument ids).
    pub fn subcommands(
        &self,
        unset: Option<&str>,
        extra: impl Fn(Command, &[&'static str]) -> Command,
    ) -> Vec<Command> {
        self.entries()
            .map(|entry| {
                let about = format!("{} ({})", entry.binding.exchange_name(), entry.payload());
                let mut command = Command::new(entry.names.name.clone())
                    .about(about)
                    .aliases(entry.names.aliases.clone())
                    .next_help_heading("Routing-key words");
                let mut words = Vec::new();
                for word in entry.flag_words() {
                    command = command.arg(word_arg(word, unset));
                    words.push(word.name);
                }
                extra(command.next_help_heading(None), &words)
            })
            .collect()
    }
}

/// `--task-group-id <WORD>` for the word `task_group_id`.
fn word_arg(word: &'static KeyWord, unset: Option<&str>) -> Arg {
    let (value, kind) = match word.kind {
        WordKind::Multi => ("WORDS", "any number of words, joined with `.`"),
        _ => ("WORD", "one word"),
    };
    let help = format!("{kind}; `{}` when unset", unset.unwrap_or(word.fallback()));
    Arg::new(word.name)
        .long(flag(word.name))
        .value_name(value)
        .help(help)
        .action(ArgAction::Set)
}
