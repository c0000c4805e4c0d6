//! A mock service: a set of routes under one base path.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A mock service: a set of routes served under one base path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// Unique within its team. Required when creating; on `PUT` and `PATCH` it comes from
    /// the URL.
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub name: String,
    /// Markdown notes: what the service mocks, who to ask, what is missing.
    #[serde(default)]
    pub memo: String,
    /// Path prefix under which the routes are served; defaults to `/{team}/{service}`.
    /// `/` serves the routes at the root of the mock listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_path: Option<String>,
    /// Host names (without port) that select this service whatever the path prefix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// The real service's URL: a request no route matches is forwarded there (with the
    /// path relative to the base path), so a team can mock a few endpoints and pass the
    /// rest through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// When to stop calling the upstream for a while, and for how long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<Breaker>,
    /// Delay added before every response of this service, in milliseconds.
    #[serde(default)]
    pub default_delay_ms: u64,
    /// A delay drawn per request for every response of this service, added to
    /// `defaultDelayMs` and the route's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_delay: Option<crate::Delay>,
    /// How routes of equal priority are ordered: `specific` (the more specific path first,
    /// then the older route; the default), `oldest` (the older route first, as MockServer
    /// orders expectations) or `newest` (the newer route first, as WireMock orders stubs).
    #[serde(default, skip_serializing_if = "MatchOrder::is_default")]
    pub match_order: MatchOrder,
    /// How an unmatched request is answered: `explain` (404 with the near misses; the
    /// default) or `empty` (a bare 404, as MockServer answers). The journal keeps the near
    /// misses either way.
    #[serde(default, skip_serializing_if = "NotFound::is_default")]
    pub not_found: NotFound,
    /// Headers whose values the request journal keeps only as `<redacted>` (cookies keep
    /// their names). Absent: [`DEFAULT_REDACTED_HEADERS`]; an empty list keeps every value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact_headers: Option<Vec<String>>,
    /// Keep the service's routes in sync with a document at a URL: standin pulls it on
    /// the interval and applies its plan when the plan has no conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncSource>,
    /// Check each request against its route's `contract` (filled by an OpenAPI import) and
    /// answer a request that breaks it with a 400 listing each violation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub validate_requests: bool,
    /// Record mode: every request goes to the upstream, and each new exchange becomes a
    /// disabled draft route tagged `recorded` (accept them with `POST …/routes/accept`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Recording>,
    /// Failures on purpose, switched on and off on the service (no route changes): answers
    /// replaced by an error status or a connection fault, extra latency, and a rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos: Option<Chaos>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A service's record mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recording {
    /// `false` keeps the setting but records (and forwards) nothing.
    #[serde(default = "on")]
    pub enabled: bool,
}

/// A circuit breaker on the service's upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Breaker {
    /// Failures in a row (errors, timeouts, 5xx answers) that open it.
    #[serde(default = "five")]
    pub consecutive_failures: u32,
    /// How long it stays open before one request probes the upstream again.
    #[serde(default = "ten_seconds")]
    pub open_ms: u64,
    /// Also open when this share of calls (0 to 1) failed, counted over each run of
    /// `windowCalls` calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_ratio: Option<f64>,
    /// The calls a failure ratio is counted over (default 20).
    #[serde(default = "twenty")]
    pub window_calls: u32,
}

fn twenty() -> u32 {
    20
}

fn five() -> u32 {
    5
}

fn ten_seconds() -> u64 {
    10_000
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            consecutive_failures: five(),
            open_ms: ten_seconds(),
            failure_ratio: None,
            window_calls: twenty(),
        }
    }
}

/// A service's chaos settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Chaos {
    /// `false` keeps the settings but applies none of them.
    #[serde(default = "on")]
    pub enabled: bool,
    /// Each rule rolls its dice per matched request, in order; the first that hits wins
    /// (its status or fault), and every rule's extra delay that hits adds up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<ChaosRule>,
    /// Beyond this many requests a second, the service answers 429 with `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u32>,
    /// A seed for a repeatable sequence of rolls (tests); random otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn on() -> bool {
    true
}

/// With `probability`, do one thing to a matched request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChaosRule {
    /// Route ids the rule applies to; all the service's routes when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    /// 0 to 1.
    pub probability: f64,
    /// Answer with this status instead of the route's response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A connection fault instead of the route's response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<crate::Fault>,
    /// Extra latency, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// Where a service's routes come from, and how often to look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncSource {
    /// An http(s) URL of the document (OpenAPI, Swagger, WireMock mappings, a Postman
    /// collection, a HAR, a standin export).
    pub url: String,
    /// Seconds between pulls; at least 1.
    #[serde(default = "hourly")]
    pub interval_seconds: u64,
    /// `auto` (the default) or a format name, as for an import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `keep` or `drop` (the default): as for an import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_path: Option<String>,
}

fn hourly() -> u64 {
    3600
}

/// Headers the journal redacts unless a service says otherwise: credentials.
pub const DEFAULT_REDACTED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// The answer to a request no route matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotFound {
    #[default]
    Explain,
    Empty,
}

impl NotFound {
    pub fn is_default(&self) -> bool {
        *self == NotFound::Explain
    }
}

/// Tie-breaking among routes of equal priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatchOrder {
    #[default]
    Specific,
    Oldest,
    Newest,
}

impl MatchOrder {
    pub fn is_default(&self) -> bool {
        *self == MatchOrder::Specific
    }
}

impl Service {
    /// The headers the journal redacts for this service (lower case).
    pub fn redacted_headers(&self) -> Vec<String> {
        match &self.redact_headers {
            Some(list) => list.iter().map(|h| h.to_ascii_lowercase()).collect(),
            None => DEFAULT_REDACTED_HEADERS
                .iter()
                .map(|h| h.to_string())
                .collect(),
        }
    }

    /// The base path in force: the configured one, or `/{team}/{service}`.
    pub fn effective_base_path(&self, team: &str) -> String {
        match &self.base_path {
            Some(p) => normalize_base_path(p),
            None => format!("/{team}/{}", self.slug),
        }
    }
}

/// Removes a trailing slash and ensures a leading one; `/` stays `/`.
pub fn normalize_base_path(p: &str) -> String {
    let trimmed = p.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        format!("/{trimmed}")
    }
}
