//! A route: common fields beside exactly one protocol section.

use crate::HttpRoute;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A route (a stub): when a request matches, answer with the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// Assigned by standin when absent (a UUID v7); any non-empty string up to 128 characters.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub memo: String,
    /// Higher wins. Ties go to the more specific path, then to the older route.
    #[serde(default)]
    pub priority: i32,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Serve at most this many times, then stop matching (counted in memory since the
    /// route was last changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Stop matching after this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Where the route came from when it was written in another format (a MockServer
    /// expectation, later an OpenAPI operation or a WireMock mapping), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Served only when the service's upstream fails, times out or its breaker is open,
    /// for requests no other route matched (a strangler's safety net).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fallback: bool,
    /// A step of a state machine of the service (as WireMock's scenarios): the route
    /// matches only while the scenario is in `requiredState`, and moves it to `newState`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<ScenarioStep>,
    /// The HTTP section. Exactly one protocol section must be present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpRoute>,
}

/// The state every scenario starts in, and returns to when reset.
pub const SCENARIO_START: &str = "Started";

/// A route's part in a scenario: a named state machine per service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioStep {
    /// The scenario's name, shared by its routes within the service.
    pub name: String,
    /// The route matches only in this state (`Started` at first). Absent: in any state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_state: Option<String>,
    /// The state the scenario moves to when the route answers. Absent: it stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_state: Option<String>,
}

fn yes() -> bool {
    true
}

/// The document a route was converted from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Origin {
    /// `mockserver` today.
    pub format: String,
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
}

/// The protocol a route speaks, derived from which section it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
}

impl Route {
    /// The protocol of the route's one section, or `None` when it has none.
    pub fn protocol(&self) -> Option<Protocol> {
        self.http.as_ref().map(|_| Protocol::Http)
    }
}
