//! Change events: the append-only record of every change to the definitions.
//!
//! An event carries the whole definition before and after the change, so history can be
//! read without replaying, a restore can replay events up to any point, and a replica can
//! follow the stream and apply each event on its own.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Team,
    Service,
    Route,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
}

/// One recorded change. `seq` is assigned by the store, strictly increasing, without reuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    pub seq: u64,
    /// RFC 3339.
    pub at: String,
    /// Who made the change, from the `X-Standin-Actor` header for now.
    pub actor: String,
    pub kind: ChangeKind,
    pub entity: EntityKind,
    /// `team`, `team/service` or `team/service/routeId`.
    pub key: String,
    /// Groups the events of one request (for example a bulk replace of routes).
    pub batch: String,
    /// The stored record before the change; absent for a create.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The stored record after the change; absent for a delete.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}
