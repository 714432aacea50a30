//! The hooks service's exchanges, under `exchange/taskcluster-hooks/v1/`.
//!
//! The hooks service publishes every message on these exchanges with the
//! routing key `_`, so the default pattern `#` is the one to bind with.

use serde::{Deserialize, Serialize};

use crate::PulseBinding;

/// A hook was created (`exchange/taskcluster-hooks/v1/hook-created`).
#[derive(PulseBinding, Debug, Clone, Default, PartialEq, Eq, Hash)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
#[payload(HookChangedMessage)]
pub struct HookCreated {
    /// Space reserved for future routing-key entries (multi-word; `#` when unset).
    #[mwords("#")]
    pub reserved: Option<String>,
}

/// A hook was updated (`exchange/taskcluster-hooks/v1/hook-updated`).
#[derive(PulseBinding, Debug, Clone, Default, PartialEq, Eq, Hash)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-updated"]
#[payload(HookChangedMessage)]
pub struct HookUpdated {
    /// Space reserved for future routing-key entries (multi-word; `#` when unset).
    #[mwords("#")]
    pub reserved: Option<String>,
}

/// A hook was deleted (`exchange/taskcluster-hooks/v1/hook-deleted`).
#[derive(PulseBinding, Debug, Clone, Default, PartialEq, Eq, Hash)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-deleted"]
#[payload(HookChangedMessage)]
pub struct HookDeleted {
    /// Space reserved for future routing-key entries (multi-word; `#` when unset).
    #[mwords("#")]
    pub reserved: Option<String>,
}

/// The message of all three hook exchanges: which hook changed.
///
/// Both ids are required; any other property of the message is kept in
/// [`extra`](Self::extra), so decoding and encoding again gives the same object.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HookChangedMessage {
    /// The hook's group (`hookGroupId`).
    pub hook_group_id: String,
    /// The hook's id within its group (`hookId`).
    pub hook_id: String,
    /// Properties the schema does not name, as they came.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}
