//! Definitions as stored and returned: the document plus bookkeeping.

use crate::{Route, Service, Team};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A team with its bookkeeping fields, as the store and the API return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamRecord {
    #[serde(flatten)]
    pub team: Team,
    pub meta: Meta,
}

/// A service with its team and bookkeeping fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRecord {
    pub team: String,
    #[serde(flatten)]
    pub service: Service,
    pub meta: Meta,
}

/// A route with its service and bookkeeping fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteRecord {
    pub team: String,
    pub service: String,
    #[serde(flatten)]
    pub route: Route,
    pub meta: Meta,
}

/// Bookkeeping kept with every stored definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// Creation order among all routes; breaks priority and specificity ties (older wins).
    pub created_seq: u64,
    /// Starts at 1 and grows by one with every update.
    pub revision: u64,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
}
