//! A user crate whose only dependency is `pulse-binding`: no serde, no
//! serde_json. The derive's generated code must compile here.

use pulse_binding::prelude::*;

/// A binding with the default payload, `serde_json::Value`, which this crate
/// does not depend on.
#[derive(PulseBinding, Default, Debug, PartialEq)]
#[exchange = "exchange/taskcluster-queue/v1/task-failed"]
pub struct TaskFailed {
    /// Always `primary`.
    #[mwords(constant = "primary")]
    pub routing_key_kind: Option<String>,
    /// The task.
    #[mwords("*")]
    pub task_id: Option<String>,
    /// The rest of the key.
    #[mwords("#")]
    pub reserved: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crate_without_serde_json_derives_reads_and_decodes() {
        let b = TaskFailed::from_routing_key("primary.abc.x").unwrap();
        assert_eq!(b.routing_key(), "primary.abc.x");
        assert_eq!(TaskFailed::default().routing_key(), "primary.*.#");
        let body = b.decode(br#"{"status": {"state": "failed"}}"#).unwrap();
        assert_eq!(body["status"]["state"], "failed");
    }
}
