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
