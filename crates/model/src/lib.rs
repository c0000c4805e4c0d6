//! standin's definition documents.
//!
//! This crate owns the shapes users write and the store keeps: teams, services, routes,
//! request matchers, responses and change events. They are plain data with serde and
//! OpenAPI schemas; nothing here does IO, compiles a regex or knows a web framework.
//! Compiling definitions into something that can answer requests is `standin-matcher`'s job.
//!
//! A route is protocol-neutral: its common fields (name, memo, priority, times, tags) sit
//! beside exactly one protocol section. Today that is `http`; gRPC and GraphQL sections
//! will sit beside it, and the journal, the history and the UI treat every route alike.
//!
//! ```
//! use standin_model::Route;
//! let route: Route = serde_json::from_str(r#"{
//!     "name": "get user",
//!     "http": {
//!         "request": { "method": "GET", "path": "/users/{id}" },
//!         "response": { "status": 200, "body": { "json": { "id": "{{request.path.id}}" } } }
//!     }
//! }"#).unwrap();
//! assert_eq!(route.priority, 0);
//! assert!(route.enabled);
//! ```

mod event;
mod matchers;
mod names;

pub use event::{ChangeEvent, ChangeKind, EntityKind};
pub use matchers::{BodyMatcher, JsonPathMatcher, PathMatcher, StringMatcher};
pub use names::{SlugError, validate_slug};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// The real service's URL, for forwarding (used by later features).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Delay added before every response of this service, in milliseconds.
    #[serde(default)]
    pub default_delay_ms: u64,
    /// How routes of equal priority are ordered: `specific` (the more specific path first,
    /// then the older route; the default) or `oldest` (the older route first, as
    /// MockServer orders expectations).
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
    #[serde(default)]
    pub tags: Vec<String>,
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
    /// The HTTP section. Exactly one protocol section must be present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpRoute>,
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

/// What an HTTP route matches and how it answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRoute {
    #[serde(default)]
    pub request: HttpRequestMatcher,
    #[serde(default)]
    pub response: HttpResponse,
    /// Send the request on to a real server and relay its answer instead of `response`
    /// (whose `delayMs` still applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forward>,
}

/// Where and how to forward a request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Forward {
    /// `http://host:port` or `https://host:port`, optionally with a path prefix. Absent:
    /// the host the request was sent to (its `Host` header, over http), as MockServer
    /// forwards. https upstreams are verified against the web PKI roots and the
    /// configured `forward.ca-file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Send this path instead of the request's (relative to the service's base path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Rewrite the path: every match of `regex` is replaced by `replacement` (`$1`, `$name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_rewrite: Option<Rewrite>,
    /// Changes to the request's headers.
    #[serde(default, skip_serializing_if = "HeaderChanges::is_empty")]
    pub request_headers: HeaderChanges,
    /// Changes to the request's query parameters.
    #[serde(default, skip_serializing_if = "HeaderChanges::is_empty")]
    pub request_query: HeaderChanges,
    /// Changes to the request's cookies.
    #[serde(default, skip_serializing_if = "HeaderChanges::is_empty")]
    pub request_cookies: HeaderChanges,
    /// Send this body instead of the request's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Changes to the upstream response's headers.
    #[serde(default, skip_serializing_if = "HeaderChanges::is_empty")]
    pub response_headers: HeaderChanges,
    /// Cookies to set on the answer: `set` and `add` append a `Set-Cookie` line, `replace`
    /// appends one only when the upstream set that cookie (as MockServer does), and
    /// `remove` drops the upstream's `Set-Cookie` lines of that name.
    #[serde(default, skip_serializing_if = "HeaderChanges::is_empty")]
    pub response_cookies: HeaderChanges,
    /// Answer with this status instead of the upstream's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    /// Answer with this body instead of the upstream's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<ResponseBody>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rewrite {
    pub regex: String,
    pub replacement: String,
}

/// Edits of named values (headers, query parameters, cookies), applied in this order:
/// `set` (replace or add), `remove`, `replace` (only names already present), `add`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderChanges {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, HeaderValues>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub add: BTreeMap<String, HeaderValues>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replace: BTreeMap<String, HeaderValues>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

impl HeaderChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.add.is_empty()
            && self.replace.is_empty()
            && self.remove.is_empty()
    }
}

/// Conditions on an HTTP request; every given condition must hold.
///
/// Paths are relative to the service's base path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRequestMatcher {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<StringMatcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathMatcher>,
    /// Conditions on the values the path captures (`{name}` segments, named regex groups).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub path_values: BTreeMap<String, StringMatcher>,
    /// Query parameter name → condition on its value; a parameter given several times
    /// matches when any of its values does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, StringMatcher>,
    /// Header name (case-insensitive) → condition on its value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, StringMatcher>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cookies: BTreeMap<String, StringMatcher>,
    /// Conditions on the query parameters whose *name* satisfies a condition (a regex, or
    /// a name compared ignoring case): their values are pooled and the value condition is
    /// applied to the pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_patterns: Vec<NamePattern>,
    /// The same for headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_patterns: Vec<NamePattern>,
    /// The same for cookies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookie_patterns: Vec<NamePattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyMatcher>,
}

/// A condition on the names of keys and one on the values of the keys it selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamePattern {
    pub name: StringMatcher,
    pub value: StringMatcher,
}

/// The answer an HTTP route gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpResponse {
    #[serde(default = "ok")]
    pub status: u16,
    /// Header name → one value or a list of values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, HeaderValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<ResponseBody>,
    /// Delay before answering, in milliseconds, added to the service's default delay.
    #[serde(default)]
    pub delay_ms: u64,
    /// Render `{{request.path.NAME}}`, `{{request.query.NAME}}` and
    /// `{{request.headers.NAME}}` placeholders in the body and header values.
    #[serde(default)]
    pub templated: bool,
    /// The reason phrase of the status line (HTTP/1.1 only), instead of the standard one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Send the body in chunks of this many bytes (chunked transfer encoding, no
    /// Content-Length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<usize>,
    /// Send no Content-Length. Over HTTP/1.1 the response is written as is and the
    /// connection closed to end the body (as MockServer's suppressContentLengthHeader);
    /// over HTTP/2 the body is simply sent without the header.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omit_content_length: bool,
    /// Send this Content-Length whatever the body's size (HTTP/1.1; the connection is
    /// closed after the body), to test how clients cope with a wrong length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_length_override: Option<u64>,
    /// A deliberate connection fault instead of, or after, the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// A template that renders the whole response per request, as MockServer's
    /// `httpResponseTemplate` does: its output is the JSON of a MockServer `httpResponse`.
    /// When set, `status`, `headers` and `body` are not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_template: Option<DocumentTemplate>,
}

/// A whole-response template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentTemplate {
    pub engine: TemplateEngine,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateEngine {
    Mustache,
}

/// Connection faults a route can inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Fault {
    /// Send the response, then close the connection.
    CloseAfterResponse,
    /// Close the connection without answering.
    DropConnection,
    /// Write these bytes (standard base64) instead of an HTTP response, then close.
    RawBytes(String),
}

fn ok() -> u16 {
    200
}

impl Default for HttpResponse {
    fn default() -> Self {
        Self {
            status: 200,
            headers: BTreeMap::new(),
            body: None,
            delay_ms: 0,
            templated: false,
            reason: None,
            chunk_size: None,
            omit_content_length: false,
            content_length_override: None,
            fault: None,
            document_template: None,
        }
    }
}

/// One header value or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum HeaderValues {
    One(String),
    Many(Vec<String>),
}

impl HeaderValues {
    pub fn values(&self) -> &[String] {
        match self {
            HeaderValues::One(v) => std::slice::from_ref(v),
            HeaderValues::Many(v) => v,
        }
    }
}

/// A response body. `json` sets `Content-Type: application/json` unless a header says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ResponseBody {
    /// UTF-8 text, sent as is.
    Text(String),
    /// A JSON value, serialized compactly.
    #[schema(value_type = Object)]
    Json(serde_json::Value),
    /// Bytes, written as standard base64.
    Base64(String),
}

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
