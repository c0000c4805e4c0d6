//! A team: who owns services.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A team owns services. Its slug is the first segment of its services' default base path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Team {
    /// Unique, URL-safe name: lowercase letters, digits and `-`, 1 to 63 characters.
    /// Required when creating; on `PUT` and `PATCH` it comes from the URL.
    #[serde(default)]
    pub slug: String,
    /// Display name; defaults to the slug.
    #[serde(default)]
    pub name: String,
    /// Markdown notes for whoever uses this team's mocks.
    #[serde(default)]
    pub memo: String,
    #[serde(default)]
    pub tags: Vec<String>,
}
