//! What the command line calls a binding and its words.
//!
//! A binding goes by its exchange's last path part (`task-completed`); where
//! two exchanges share it, by `<service>/<name>` (`queue/task-completed`),
//! which is always accepted, as is the whole exchange name.

/// The names of one binding on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The name shown and completed: the short name, or the qualified one
    /// when the short name is shared.
    pub name: String,
    /// The other names it answers to.
    pub aliases: Vec<String>,
}

/// The exchange's last path part: `task-completed`.
pub fn short_name(exchange: &str) -> &str {
    exchange.rsplit('/').next().unwrap_or(exchange)
}

/// `queue/task-completed` for `exchange/taskcluster-queue/v1/task-completed`:
/// the service is the exchange's second path part without `taskcluster-`.
pub fn qualified_name(exchange: &str) -> String {
    let parts: Vec<&str> = exchange.split('/').collect();
    let service = parts.get(1).copied().unwrap_or_default();
    let service = service.strip_prefix("taskcluster-").unwrap_or(service);
    format!("{service}/{}", short_name(exchange))
}

/// The names of each exchange, in the order given.
pub fn names(exchanges: &[&str]) -> Vec<Names> {
    exchanges
        .iter()
        .map(|exchange| {
            let short = short_name(exchange);
            let shared = exchanges.iter().filter(|e| short_name(e) == short).count() > 1;
            let qualified = qualified_name(exchange);
            let mut aliases = vec![(*exchange).to_owned()];
            let name = if shared {
                qualified
            } else {
                aliases.insert(0, qualified);
                short.to_owned()
            };
            aliases.retain(|a| *a != name);
            Names { name, aliases }
        })
        .collect()
}

/// The exchanges a short name is shared by, when it is: the message for
/// `pulse listen <name>` with an ambiguous name.
pub fn ambiguous(exchanges: &[&str], name: &str) -> Option<String> {
    let shared: Vec<String> = exchanges
        .iter()
        .filter(|e| short_name(e) == name)
        .map(|e| qualified_name(e))
        .collect();
    (shared.len() > 1).then(|| {
        format!(
            "binding `{name}` is ambiguous: say which, {}",
            shared.join(" or ")
        )
    })
}

/// The flag of a routing-key word: `task-group-id` for the field
/// `task_group_id`.
pub fn flag(word: &str) -> String {
    word.replace('_', "-")
}

/// The last part of a payload type's path with its module:
/// `queue::TaskCompletedMessage` for `pulse_binding::queue::TaskCompletedMessage`.
pub fn payload_name(type_name: &str) -> &str {
    type_name
        .strip_prefix("pulse_binding::")
        .unwrap_or(type_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_short_name_is_the_name_and_the_longer_ones_are_aliases() {
        let e = "exchange/taskcluster-queue/v1/task-completed";
        assert_eq!(
            names(&[e, "exchange/taskcluster-hooks/v1/hook-created"])[0],
            Names {
                name: "task-completed".into(),
                aliases: vec!["queue/task-completed".into(), e.into()],
            }
        );
    }

    #[test]
    fn a_shared_short_name_gives_way_to_the_qualified_names() {
        let a = "exchange/taskcluster-queue/v1/created";
        let b = "exchange/taskcluster-worker-manager/v1/created";
        let n = names(&[a, b]);
        assert_eq!(n[0].name, "queue/created");
        assert_eq!(n[1].name, "worker-manager/created");
        assert_eq!(n[1].aliases, [b]);
        let message = ambiguous(&[a, b], "created").unwrap();
        assert!(
            message.contains("queue/created or worker-manager/created"),
            "{message}"
        );
        assert_eq!(ambiguous(&[a], "created"), None);
    }

    #[test]
    fn word_flags_are_kebab_case() {
        assert_eq!(flag("task_group_id"), "task-group-id");
        assert_eq!(flag("reserved"), "reserved");
    }
}
