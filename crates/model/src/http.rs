//! The HTTP protocol section of a route: the request matcher, the response, and
//! forwarding. gRPC and GraphQL sections will sit beside it in their own files.

use crate::{BodyMatcher, PathMatcher, StringMatcher};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// What an HTTP route matches and how it answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRoute {
    #[serde(default)]
    pub request: HttpRequestMatcher,
    #[serde(default)]
    pub response: HttpResponse,
    /// Other answers a client can pick: `Prefer: code=404` takes the first response (the
    /// default one included) with that status, `Prefer: example=NAME` the one with that
    /// `name`, and both together the one with both. Without a `Prefer` header, or when
    /// none fits, `response` answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<HttpResponse>,
    /// Answers that take turns: each request gets the next one (`inOrder`, then the last
    /// one again; or `cycle`), or one at random (`random`, optionally weighted). With a
    /// sequence, `response` is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<ResponseSequence>,
    /// Send the request on to a real server and relay its answer instead of `response`
    /// (whose `delayMs` still applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forward>,
    /// What a valid request looks like (an OpenAPI operation's parameters and body),
    /// checked when the service has `validateRequests`. Unlike `request`, it does not
    /// select the route: it judges the requests the route matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<RequestContract>,
}

/// The parameters and body a request must have.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestContract {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ContractParameter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<ContractBody>,
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParameterIn {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParameterIn {
    /// The name OpenAPI gives this place.
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterIn::Path => "path",
            ParameterIn::Query => "query",
            ParameterIn::Header => "header",
            ParameterIn::Cookie => "cookie",
        }
    }
}

/// One parameter: its value, read as the schema's type (`"5"` is the number 5 for an
/// integer; a repeated query parameter is an array), must be valid against `schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContractParameter {
    pub name: String,
    #[serde(rename = "in")]
    pub location: ParameterIn,
    #[serde(default)]
    pub required: bool,
    /// A JSON Schema (2020-12) whose `$ref`s point into itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<serde_json::Value>,
}

/// The request body: required or not, its media types, and a schema for JSON bodies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContractBody {
    #[serde(default)]
    pub required: bool,
    /// Accepted media types (`application/json`, `*/*`); empty accepts any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_types: Vec<String>,
    /// A JSON Schema (2020-12) for a JSON body, whose `$ref`s point into itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<serde_json::Value>,
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

/// A delay drawn per request, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Delay {
    /// Always this long.
    Fixed(u64),
    /// Evenly between `min` and `max`.
    Uniform { min: u64, max: u64 },
    /// Log-normal: half the delays are under `median`; `sigma` (0 to 4) spreads the tail
    /// (0.25: tight, 1: a long tail, as real services have).
    Lognormal { median: u64, sigma: f64 },
}

/// A body sent in pieces over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dribble {
    /// How many pieces (1 to 10,000).
    pub chunks: u32,
    /// Over how long, from the first piece to the last.
    pub duration_ms: u64,
}

/// Answers that take turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseSequence {
    #[serde(default)]
    pub mode: SequenceMode,
    /// At least one.
    pub responses: Vec<HttpResponse>,
    /// With `random`: one positive weight per response (equal weights when absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<u32>,
    /// With `random`: a seed for a repeatable order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// How a sequence picks the next answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SequenceMode {
    /// One after the other, then the last one for every later request.
    #[default]
    InOrder,
    /// One after the other, then from the first again.
    Cycle,
    /// One at random each time.
    Random,
}

/// The answer an HTTP route gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpResponse {
    #[serde(default = "ok")]
    pub status: u16,
    /// A name a client can pick this answer by, with `Prefer: example=NAME` (an OpenAPI
    /// example's name, when imported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Header name → one value or a list of values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, HeaderValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<ResponseBody>,
    /// Delay before answering, in milliseconds, added to the service's default delay.
    #[serde(default)]
    pub delay_ms: u64,
    /// A delay drawn per request, added to `delayMs`: fixed, uniform or log-normal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Send the body in `chunks` pieces spread evenly over `durationMs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dribble: Option<Dribble>,
    /// Send the body at most this many bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_second: Option<u64>,
    /// Render `{{request.path.NAME}}`, `{{request.query.NAME}}` and
    /// `{{request.headers.NAME}}` placeholders in the body and header values.
    #[serde(default)]
    pub templated: bool,
    /// With a seed, a template's random and fake values are a function of the seed and
    /// the request (method, path, query, body): the same request gets the same answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_seed: Option<u64>,
    /// The locale of `{{fake …}}` values unless the helper names one: `en` (the default)
    /// or `ko_KR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_locale: Option<String>,
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
    /// A client connected to the mock port answers, or rewrites and forwards, each
    /// request (MockServer's object callbacks). When set, `status`, `headers` and `body`
    /// are not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<ClientCallback>,
}

/// A request handed to a connected client (MockServer's `httpResponseObjectCallback` and
/// `httpForwardObjectCallback`, over its callback WebSocket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientCallback {
    /// The id the client got when it connected.
    pub client_id: String,
    /// The client answers with a request to forward, not with the response.
    #[serde(default)]
    pub forward: bool,
    /// With `forward`: the client also sees the upstream's response and answers with the
    /// response to send.
    #[serde(default)]
    pub response_callback: bool,
}

/// A whole-response template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentTemplate {
    pub engine: TemplateEngine,
    pub source: String,
    /// The template renders the request to forward (MockServer's `httpForwardTemplate`),
    /// not the response.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forward: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateEngine {
    Mustache,
    Velocity,
    /// Kept, never run: every request it answers gets a bare 404, as MockServer 8.0
    /// answers without a JavaScript engine on its classpath.
    Javascript,
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
            name: None,
            headers: BTreeMap::new(),
            body: None,
            delay_ms: 0,
            delay: None,
            dribble: None,
            bytes_per_second: None,
            templated: false,
            template_seed: None,
            template_locale: None,
            reason: None,
            chunk_size: None,
            omit_content_length: false,
            content_length_override: None,
            fault: None,
            document_template: None,
            callback: None,
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
