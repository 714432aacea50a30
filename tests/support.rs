//! Bindings shared by the behaviour tests.

use pulse_binding::PulseBinding;

/// Taskcluster's task-completed binding as a user would derive it: a fixed
/// word, two single words (one an integer), a multi-word tail and a field
/// that is not part of the key.
#[derive(PulseBinding, Default, Debug, PartialEq)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
pub struct TaskCompleted {
    /// Always `primary`.
    #[mwords(constant = "primary")]
    pub routing_key_kind: Option<String>,
    /// One word.
    #[mwords("*")]
    pub task_id: Option<String>,
    /// One word, an integer.
    #[mwords("*")]
    pub run_id: Option<u32>,
    /// Any number of words.
    #[mwords("#")]
    pub reserved: Option<String>,
    /// Not part of the key.
    pub note: String,
}

/// Two multi-word fields around a single word.
#[derive(PulseBinding, Default, Debug, PartialEq)]
#[exchange = "exchange/test/v1/two-hashes"]
pub struct TwoHashes {
    /// Any number of words.
    #[mwords("#")]
    pub head: Option<String>,
    /// One word.
    #[mwords("*")]
    pub middle: Option<String>,
    /// Any number of words.
    #[mwords("#")]
    pub tail: Option<String>,
}

/// One case of `data/topic-cases.tsv`: a verdict recorded from a real
/// RabbitMQ topic exchange (see the file's header).
#[derive(Debug, Clone)]
pub struct TopicCase {
    /// The binding pattern.
    pub pattern: String,
    /// The routing key published.
    pub key: String,
    /// Whether the broker routed the key to the queue bound with the pattern.
    pub matches: bool,
    /// The case's line in the file.
    pub line: usize,
}

/// Every case of `data/topic-cases.tsv`. A case line has exactly two tabs;
/// comment lines have none; `<empty>` stands for the empty string.
pub fn topic_cases() -> Vec<TopicCase> {
    let text = include_str!("data/topic-cases.tsv");
    let field = |s: &str| {
        if s == "<empty>" {
            String::new()
        } else {
            s.to_owned()
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains('\t'))
        .map(|(i, line)| {
            let parts: Vec<&str> = line.split('\t').collect();
            assert_eq!(parts.len(), 3, "topic-cases.tsv line {}: {line:?}", i + 1);
            let matches = match parts[2] {
                "match" => true,
                "nomatch" => false,
                other => panic!("topic-cases.tsv line {}: verdict {other:?}", i + 1),
            };
            TopicCase {
                pattern: field(parts[0]),
                key: field(parts[1]),
                matches,
                line: i + 1,
            }
        })
        .collect()
}
