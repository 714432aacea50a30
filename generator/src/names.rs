//! Rust names from the references' names: `taskDefined` -> `TaskDefined`,
//! `routingKeyKind` -> `routing_key_kind`, `very-high` -> `VeryHigh`.

/// The words of a name: split at anything not alphanumeric, at a lower-case
/// letter or digit followed by an upper-case one (`taskId`), and before the
/// last capital of an acronym followed by a lower-case letter (`URLSafe`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !word.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_is_lower)
            {
                words.push(std::mem::take(&mut word));
            }
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `UpperCamelCase`: `taskDefined` -> `TaskDefined`, `Artifact Storage-Type` ->
/// `ArtifactStorageType`, `GitHub` -> `GitHub`.
pub fn upper_camel(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            let rest: String = if w.chars().all(|c| !c.is_ascii_lowercase()) {
                chars.as_str().to_ascii_lowercase()
            } else {
                chars.as_str().to_owned()
            };
            first.into_iter().chain(rest.chars()).collect::<String>()
        })
        .collect()
}

/// `snake_case`: `routingKeyKind` -> `routing_key_kind`, `tasks_for` -> `tasks_for`.
pub fn snake(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// What serde's `rename_all = "camelCase"` makes of a snake-case field name.
pub fn serde_camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.trim_start_matches("r#").chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A field name that is a Rust keyword, written as a raw identifier.
pub fn field_ident(snake: String) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
        "move", "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type",
        "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
        "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    if KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else {
        snake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_camel_case_of_reference_names() {
        assert_eq!(upper_camel("taskDefined"), "TaskDefined");
        assert_eq!(upper_camel("notify"), "Notify");
        assert_eq!(upper_camel("very-high"), "VeryHigh");
        assert_eq!(upper_camel("Artifact Storage-Type"), "ArtifactStorageType");
        assert_eq!(upper_camel("task-status"), "TaskStatus");
        assert_eq!(upper_camel("GitHub"), "GitHub");
        assert_eq!(upper_camel("URLSafe"), "UrlSafe");
    }

    #[test]
    fn snake_case_of_reference_names() {
        assert_eq!(snake("routingKeyKind"), "routing_key_kind");
        assert_eq!(snake("taskId"), "task_id");
        assert_eq!(snake("tasks_for"), "tasks_for");
        assert_eq!(snake("worker-manager"), "worker_manager");
        assert_eq!(field_ident(snake("type")), "r#type");
    }

    #[test]
    fn serde_camel_case_round_trips_only_camel_names() {
        assert_eq!(serde_camel("task_group_id"), "taskGroupId");
        assert_eq!(serde_camel("r#type"), "type");
        assert_ne!(serde_camel(&snake("tasks_for")), "tasks_for");
    }
}
