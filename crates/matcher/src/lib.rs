//! Compiles route definitions into an immutable table and matches requests against it.
//!
//! Everything a request needs is built here when a table is published: path indexes,
//! compiled regexes, JSONPath expressions, JSON Schema validators and response bytes. A
//! lookup does no compilation and no IO, takes no lock, and looks only at the routes whose
//! path can match (found through a segment trie and one `RegexSet` pass), so its cost does
//! not grow with the number of routes in the service.
//!
//! Selection: among the routes whose every condition holds, the highest `priority` wins;
//! ties go to the more specific path (literal segment > parameter > end of path > any
//! remainder, compared segment by segment; patterns > regexes > `not`/no path), then to
//! the older route (`created_seq`), then to the smaller id.
//!
//! This crate knows `http` types but no server, store or web framework.
//!
//! ```
//! use standin_matcher::{CompiledRoute, CompiledService, Outcome, Request, RouteCounters, ServiceInfo};
//! use std::sync::Arc;
//!
//! let route: standin_model::Route = serde_json::from_str(r#"{"http": {
//!     "request": {"method": "GET", "path": "/users/{id}"},
//!     "response": {"status": 200, "body": {"text": "user {{request.path.id}}"}, "templated": true}
//! }}"#).unwrap();
//! let compiled = CompiledRoute::compile(&route, 1, Arc::new(RouteCounters::default())).unwrap();
//! let info = ServiceInfo { team: "t".into(), slug: "s".into(), base_path: "/t/s".into(), hosts: vec![], default_delay_ms: 0, match_order: Default::default(), not_found: Default::default(), redact_headers: vec![] };
//! let service = CompiledService::build(info, vec![Arc::new(compiled)]).unwrap();
//!
//! let headers = http::HeaderMap::new();
//! let req = Request::new("GET", "/users/42", None, &headers, b"");
//! let Outcome::Matched(m) = service.find(&req) else { panic!("no match") };
//! let rendered = m.route.response.render(&req, &m.path_values).unwrap();
//! assert_eq!(&rendered.body[..], b"user 42");
//! ```

mod budget;
mod forward;
mod mustache;
mod pairing;
mod path;
mod predicate;
mod response;
mod template;
mod xml;

pub use budget::{Budget, Exhausted};
pub use forward::{CompiledChanges, CompiledForward, PairChanges};
pub use path::decoded_segments;
pub use predicate::{json_contains, json_eq};
pub use response::{CompiledResponse, Fault, Rendered};
pub use template::{DocumentTemplate, Rendered as RenderedDocument, title_case};

use http::{HeaderMap, HeaderName};
use path::{CompiledPath, PathIndex};
use predicate::{BodyCond, StrCond};
use serde::Serialize;
use serde_json::Value;
use standin_model::{HttpRequestMatcher, Route};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A definition that cannot be compiled, with the JSON pointer of the offending field
/// (relative to the route document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct CompileError {
    pub pointer: String,
    pub message: String,
}

impl CompileError {
    pub fn new(pointer: &str, message: String) -> Self {
        CompileError {
            pointer: pointer.to_string(),
            message,
        }
    }
}

/// Escapes a JSON pointer reference token (RFC 6901).
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Why a set of services cannot form one table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("base path {base} is used by both {first} and {second}")]
    DuplicateBasePath {
        base: String,
        first: String,
        second: String,
    },
    #[error("host {host} is claimed by both {first} and {second}")]
    DuplicateHost {
        host: String,
        first: String,
        second: String,
    },
}

/// One request as the matcher sees it. Query parameters, cookies and the JSON body are
/// parsed at most once, and only when a candidate route asks for them.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path relative to the service's base path, as received (still percent-encoded).
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    segs: Vec<Cow<'a, str>>,
    query_pairs: OnceCell<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    cookies: OnceCell<Vec<(&'a str, &'a str)>>,
    json: OnceCell<Option<Value>>,
    /// `(values, depth)` of the JSON body, for estimating JSONPath and JSON Schema work.
    json_shape: OnceCell<(u64, u64)>,
    /// The work matching and rendering this request may do.
    budget: Budget,
}

/// Fuel a [`Request`] gets unless told otherwise: about half a second of work.
pub const DEFAULT_FUEL: u64 = 20_000_000;

impl<'a> Request<'a> {
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: Option<&'a str>,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Request {
            method,
            path,
            query,
            headers,
            body,
            segs: decoded_segments(path),
            query_pairs: OnceCell::new(),
            cookies: OnceCell::new(),
            json: OnceCell::new(),
            json_shape: OnceCell::new(),
            budget: Budget::new(DEFAULT_FUEL),
        }
    }

    /// Replaces the request's budget.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// The budget matching and rendering spend from.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The decoded values of a query parameter, in order of appearance.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        let pairs = self
            .query_pairs
            .get_or_init(|| parse_query(self.query.unwrap_or("")));
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
            .collect()
    }

    fn header_values(&self, name: &HeaderName) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .collect()
    }

    /// Every cookie of every `Cookie` header, as `(name, value)`, parsed once.
    fn cookie_pairs(&self) -> &[(&'a str, &'a str)] {
        self.cookies.get_or_init(|| {
            self.headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|kv| kv.trim().split_once('='))
                .collect()
        })
    }

    fn cookie_values(&self, name: &str) -> Vec<&str> {
        self.cookie_pairs()
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .collect()
    }

    /// The values of every key of `kind` whose name satisfies `name`.
    fn values_by_name(&self, kind: KeyKind, name: &StrCond, budget: &Budget) -> Vec<&str> {
        match kind {
            KeyKind::Query => {
                let pairs = self
                    .query_pairs
                    .get_or_init(|| parse_query(self.query.unwrap_or("")));
                pairs
                    .iter()
                    .filter(|(k, _)| name.eval(&[k.as_ref()], budget))
                    .map(|(_, v)| v.as_ref())
                    .collect()
            }
            KeyKind::Header => self
                .headers
                .iter()
                .filter(|(k, _)| name.eval(&[k.as_str()], budget))
                .filter_map(|(_, v)| std::str::from_utf8(v.as_bytes()).ok())
                .collect(),
            KeyKind::Cookie => self
                .cookie_pairs()
                .iter()
                .filter(|(k, _)| name.eval(&[k], budget))
                .map(|(_, v)| *v)
                .collect(),
        }
    }

    /// The body parsed as JSON, parsed once and paid for by the first budget that asks.
    fn json(&self, budget: &Budget) -> Option<&Value> {
        if self.json.get().is_none() && !budget.spend_bytes(self.body.len(), 4) {
            return None;
        }
        self.json
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }

    /// `(values, depth)` of the JSON body (`(0, 0)` when it is not JSON).
    fn json_shape(&self, budget: &Budget) -> (u64, u64) {
        if self.json_shape.get().is_none() {
            let Some(j) = self.json(budget) else {
                return (0, 0);
            };
            let shape = predicate::shape(j);
            budget.spend(shape.0 / 8);
            let _ = self.json_shape.set(shape);
        }
        self.json_shape.get().copied().unwrap_or_default()
    }
}

pub(crate) fn parse_query(q: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        Cow::Owned(path::percent_decode(&s.replace('+', " ")).into_owned())
    } else {
        path::percent_decode(s)
    }
}

/// Conditions on an HTTP request, compiled. Used by routes and by journal queries.
#[derive(Debug)]
pub struct CompiledRequestMatcher {
    method: Option<StrCond>,
    path: CompiledPath,
    path_values: Vec<(String, StrCond)>,
    query: Vec<(String, StrCond)>,
    headers: Vec<(HeaderName, StrCond)>,
    cookies: Vec<(String, StrCond)>,
    /// `(kind, name condition, value condition)` for query, header and cookie patterns.
    patterns: Vec<(KeyKind, StrCond, StrCond)>,
    body: Option<BodyCond>,
}

/// Which keys a name pattern looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Query,
    Header,
    Cookie,
}

impl KeyKind {
    fn word(self) -> &'static str {
        match self {
            KeyKind::Query => "query parameters",
            KeyKind::Header => "headers",
            KeyKind::Cookie => "cookies",
        }
    }
}

impl CompiledRequestMatcher {
    /// Compiles `m`; errors carry pointers under `pointer`.
    pub fn compile(m: &HttpRequestMatcher, pointer: &str) -> Result<Self, CompileError> {
        let method = m
            .method
            .as_ref()
            .map(|x| StrCond::compile(x, &format!("{pointer}/method")))
            .transpose()?;
        let path = CompiledPath::compile(m.path.as_ref(), &format!("{pointer}/path"))?;
        let keyed = |map: &std::collections::BTreeMap<String, standin_model::StringMatcher>,
                     field: &str| {
            map.iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        StrCond::compile(v, &format!("{pointer}/{field}/{}", escape_pointer(k)))?,
                    ))
                })
                .collect::<Result<Vec<_>, CompileError>>()
        };
        let query = keyed(&m.query, "query")?;
        let path_values = keyed(&m.path_values, "pathValues")?;
        let cookies = keyed(&m.cookies, "cookies")?;
        let headers = keyed(&m.headers, "headers")?
            .into_iter()
            .map(|(k, v)| {
                HeaderName::from_bytes(k.as_bytes())
                    .map(|n| (n, v))
                    .map_err(|_| {
                        CompileError::new(
                            &format!("{pointer}/headers/{}", escape_pointer(&k)),
                            format!("\"{k}\" is not a valid header name"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        let body = m
            .body
            .as_ref()
            .map(|b| BodyCond::compile(b, &format!("{pointer}/body")))
            .transpose()?;
        let mut patterns = Vec::new();
        for (kind, list, field) in [
            (KeyKind::Query, &m.query_patterns, "queryPatterns"),
            (KeyKind::Header, &m.header_patterns, "headerPatterns"),
            (KeyKind::Cookie, &m.cookie_patterns, "cookiePatterns"),
        ] {
            for (i, p) in list.iter().enumerate() {
                let name = StrCond::compile(&p.name, &format!("{pointer}/{field}/{i}/name"))?;
                let value = StrCond::compile(&p.value, &format!("{pointer}/{field}/{i}/value"))?;
                patterns.push((kind, name, value));
            }
        }
        Ok(CompiledRequestMatcher {
            method,
            path,
            path_values,
            query,
            headers,
            cookies,
            patterns,
            body,
        })
    }

    /// Whether every condition holds, spending from the request's budget. Stops at the
    /// first that fails. False when the budget ran out (check `req.budget()`).
    pub fn matches(&self, req: &Request<'_>) -> bool {
        self.path.matches(&req.segs, req.path)
            && self.matches_beyond_path(req, &req.budget)
            && self.path_values_hold(req, &req.budget)
            && !req.budget.is_exhausted()
    }

    /// Conditions on captured path values. Taken only when the path fits: a path that
    /// does not fit has no values.
    fn path_values_hold(&self, req: &Request<'_>, budget: &Budget) -> bool {
        if self.path_values.is_empty() {
            return true;
        }
        let Some(captured) = self.path.captures(&req.segs, req.path) else {
            return false;
        };
        self.path_values.iter().all(|(name, c)| {
            let values: Vec<&str> = captured
                .iter()
                .filter(|(k, _)| k.as_ref() == name)
                .map(|(_, v)| v.as_str())
                .collect();
            c.eval(&values, budget)
        })
    }

    fn matches_beyond_path(&self, req: &Request<'_>, budget: &Budget) -> bool {
        self.method
            .as_ref()
            .is_none_or(|m| m.eval(&[req.method], budget))
            && self
                .query
                .iter()
                .all(|(k, c)| c.eval(&req.query_values(k), budget))
            && self
                .headers
                .iter()
                .all(|(k, c)| c.eval(&req.header_values(k), budget))
            && self
                .cookies
                .iter()
                .all(|(k, c)| c.eval(&req.cookie_values(k), budget))
            && self.patterns.iter().all(|(kind, name, value)| {
                value.eval(&req.values_by_name(*kind, name, budget), budget)
            })
            && self.body.as_ref().is_none_or(|b| b.eval(req, budget))
    }

    /// Every condition that fails, in words, for near-miss reports, spending from
    /// `budget` (the near-miss search has its own). Conditions on path values are checked
    /// only when the path fits; body conditions only on bodies up to
    /// [`NEAR_MISS_BODY_LIMIT`] bytes.
    pub fn failures(&self, req: &Request<'_>, budget: &Budget) -> Vec<String> {
        let mut out = Vec::new();
        let path_fits = self.path.matches(&req.segs, req.path);
        if !path_fits {
            out.push(format!(
                "expected {}, got \"{}\"",
                self.path.describe(),
                req.path
            ));
        }
        if let Some(m) = &self.method
            && !m.eval(&[req.method], budget)
        {
            out.push(format!(
                "method: expected {}, got \"{}\"",
                m.describe(),
                req.method
            ));
        }
        let mut keyed = |what: &str, name: &str, c: &StrCond, values: Vec<&str>| {
            if !c.eval(&values, budget) {
                out.push(format!(
                    "{what} \"{name}\": expected {}, got {}",
                    c.describe(),
                    show_values(&values)
                ));
            }
        };
        for (k, c) in &self.query {
            keyed("query parameter", k, c, req.query_values(k));
        }
        if let Some(captured) = self
            .path
            .captures(&req.segs, req.path)
            .filter(|_| path_fits)
        {
            for (k, c) in &self.path_values {
                let values: Vec<&str> = captured
                    .iter()
                    .filter(|(n, _)| n.as_ref() == k)
                    .map(|(_, v)| v.as_str())
                    .collect();
                keyed("path value", k, c, values);
            }
        }
        for (k, c) in &self.headers {
            keyed("header", k.as_str(), c, req.header_values(k));
        }
        for (k, c) in &self.cookies {
            keyed("cookie", k, c, req.cookie_values(k));
        }
        for (kind, name, value) in &self.patterns {
            let values = req.values_by_name(*kind, name, budget);
            if !value.eval(&values, budget) {
                out.push(format!(
                    "{} whose name {}: expected {}, got {}",
                    kind.word(),
                    name.describe(),
                    value.describe(),
                    show_values(&values)
                ));
            }
        }
        if let Some(b) = &self.body {
            if req.body.len() > NEAR_MISS_BODY_LIMIT {
                out.push(format!(
                    "{} (not checked: near-miss reports look at bodies up to {NEAR_MISS_BODY_LIMIT} bytes, this one has {})",
                    b.describe(),
                    req.body.len()
                ));
            } else if !b.eval(req, budget) {
                out.push(b.explain(req, budget));
            }
        }
        out
    }

    /// How many conditions this matcher checks (a missing path counts as none).
    fn condition_count(&self) -> usize {
        usize::from(!matches!(self.path, CompiledPath::Any))
            + usize::from(self.method.is_some())
            + self.query.len()
            + self.path_values.len()
            + self.headers.len()
            + self.cookies.len()
            + self.patterns.len()
            + usize::from(self.body.is_some())
    }
}

pub(crate) fn show_values(values: &[&str]) -> String {
    match values {
        [] => "nothing".into(),
        [one] => format!("\"{one}\""),
        many => format!("{many:?}"),
    }
}

/// Per-route counters that outlive table rebuilds while the route is unchanged.
#[derive(Debug, Default)]
pub struct RouteCounters {
    /// Requests this route answered.
    pub served: AtomicU64,
    /// Requests whose matching or rendering ran out of budget on this route.
    pub over_budget: AtomicU64,
}

/// A route ready to match and answer.
#[derive(Debug)]
pub struct CompiledRoute {
    pub id: Arc<str>,
    pub name: String,
    pub priority: i32,
    pub created_seq: u64,
    specificity: (u8, Vec<u8>),
    pub request: CompiledRequestMatcher,
    pub response: CompiledResponse,
    /// Send the request on to a real server instead of answering with `response`.
    pub forward: Option<CompiledForward>,
    pub times: Option<u64>,
    /// Milliseconds since the Unix epoch after which the route no longer matches.
    pub expires_at_ms: Option<u64>,
    pub counters: Arc<RouteCounters>,
}

impl CompiledRoute {
    /// Compiles a route definition; errors point into the route document.
    pub fn compile(
        route: &Route,
        created_seq: u64,
        counters: Arc<RouteCounters>,
    ) -> Result<Self, CompileError> {
        let http = route.http.as_ref().ok_or_else(|| {
            CompileError::new(
                "/http",
                "a route needs exactly one protocol section; today that is \"http\"".to_string(),
            )
        })?;
        let request = CompiledRequestMatcher::compile(&http.request, "/http/request")?;
        let response = CompiledResponse::compile(&http.response, "/http/response")?;
        let forward = http
            .forward
            .as_ref()
            .map(|f| CompiledForward::compile(f, "/http/forward"))
            .transpose()?;
        let expires_at_ms = match &route.expires_at {
            None => None,
            Some(t) => Some(
                t.parse::<jiff::Timestamp>()
                    .map_err(|e| {
                        CompileError::new(
                            "/expiresAt",
                            format!("\"{t}\" is not an RFC 3339 time: {e}"),
                        )
                    })?
                    .as_millisecond()
                    .max(0) as u64,
            ),
        };
        Ok(CompiledRoute {
            id: Arc::from(route.id.as_str()),
            name: route.name.clone(),
            priority: route.priority,
            created_seq,
            specificity: request.path.specificity(),
            request,
            response,
            forward,
            times: route.times,
            expires_at_ms,
            counters,
        })
    }

    /// Takes one use of the route. Fails only when `times` is set and used up; the check
    /// and the count are one atomic step, so concurrent requests never exceed `times`.
    fn claim(&self) -> bool {
        if self.expired() {
            return false;
        }
        let served = &self.counters.served;
        match self.times {
            None => {
                served.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(limit) => served
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < limit).then_some(n + 1)
                })
                .is_ok(),
        }
    }

    fn expired(&self) -> bool {
        self.expires_at_ms.is_some_and(|at| now_ms() >= at)
    }

    fn exhausted(&self) -> bool {
        self.times
            .is_some_and(|t| self.counters.served.load(Ordering::Relaxed) >= t)
    }

    fn order_key(&self, order: standin_model::MatchOrder) -> impl Ord + '_ {
        let specificity = match order {
            standin_model::MatchOrder::Specific => Some(&self.specificity),
            standin_model::MatchOrder::Oldest => None,
        };
        (
            std::cmp::Reverse(self.priority),
            std::cmp::Reverse(specificity),
            self.created_seq,
            &self.id,
        )
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The service fields the data plane needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceInfo {
    pub team: String,
    pub slug: String,
    /// Normalized: leading slash, no trailing slash, `/` for the root.
    pub base_path: String,
    /// Lowercase host names without port.
    pub hosts: Vec<String>,
    pub default_delay_ms: u64,
    pub match_order: standin_model::MatchOrder,
    pub not_found: standin_model::NotFound,
    /// Headers whose values the journal keeps only as `<redacted>`.
    pub redact_headers: Vec<HeaderName>,
}

/// A service's routes in match order, with the index that finds candidates.
#[derive(Debug)]
pub struct CompiledService {
    pub info: ServiceInfo,
    /// `team/service`, built once for journal entries.
    pub key: Arc<str>,
    routes: Vec<Arc<CompiledRoute>>,
    index: PathIndex,
    regexes: path::RegexIndex,
    regex_routes: Vec<u32>,
    scan_routes: Vec<u32>,
}

/// How many near misses a 404 lists.
pub const NEAR_MISS_LIMIT: usize = 5;

/// Near-miss reports check body conditions only on bodies up to this size, so an
/// unmatched large request costs no more than a matched one.
pub const NEAR_MISS_BODY_LIMIT: usize = 64 * 1024;

/// Fuel for the near-miss search of one unmatched request.
pub const NEAR_MISS_FUEL: u64 = 2_000_000;

/// The result of matching a request against a service.
pub enum Outcome<'t> {
    Matched(Match<'t>),
    Unmatched(Vec<NearMiss>),
    /// The budget ran out while checking `route`: neither a match nor a miss, and no
    /// route was used.
    OverBudget {
        route: Arc<str>,
        why: Exhausted,
    },
}

pub struct Match<'t> {
    pub route: &'t Arc<CompiledRoute>,
    /// Values captured by the path: `{name}` segments or named regex groups.
    pub path_values: Vec<(Box<str>, String)>,
}

/// A route that almost matched, and the conditions that failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NearMiss {
    pub route_id: String,
    pub route_name: String,
    pub failed: Vec<String>,
}

impl CompiledService {
    /// Orders the routes and builds the index.
    pub fn build(
        info: ServiceInfo,
        mut routes: Vec<Arc<CompiledRoute>>,
    ) -> Result<Self, CompileError> {
        let order = info.match_order;
        routes.sort_by(|a, b| a.order_key(order).cmp(&b.order_key(order)));
        let mut index = PathIndex::default();
        let mut regex_src = Vec::new();
        let mut regex_routes = Vec::new();
        let mut scan_routes = Vec::new();
        for (i, r) in routes.iter().enumerate() {
            let i = i as u32;
            match &r.request.path {
                CompiledPath::Pattern(p) => index.insert(p, i),
                CompiledPath::Regex(re) => {
                    regex_src.push((i, predicate::user_regex(re)));
                    regex_routes.push(i);
                }
                CompiledPath::Any | CompiledPath::Not(_) => scan_routes.push(i),
            }
        }
        let regexes = path::RegexIndex::build(&regex_src).map_err(|e| {
            CompileError::new(
                "/http/request/path/regex",
                format!("the service's path regexes do not fit in one set: {e}"),
            )
        })?;

        Ok(CompiledService {
            key: Arc::from(format!("{}/{}", info.team, info.slug)),
            info,
            routes,
            index,
            regexes,
            regex_routes,
            scan_routes,
        })
    }

    /// Routes in match order.
    pub fn routes(&self) -> &[Arc<CompiledRoute>] {
        &self.routes
    }

    fn candidates(&self, req: &Request<'_>) -> Vec<u32> {
        let mut out = Vec::with_capacity(8);
        self.index.collect(&req.segs, &mut out);
        self.regexes.collect(req.path, &mut out);
        out.extend_from_slice(&self.scan_routes);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Finds the route that answers `req`, or explains why none does, spending from the
    /// request's budget. A route is used (its `times` counted) only when every condition
    /// held within the budget.
    pub fn find<'t>(&'t self, req: &Request<'_>) -> Outcome<'t> {
        let budget = &req.budget;
        let candidates = self.candidates(req);
        for &i in &candidates {
            let route = &self.routes[i as usize];
            let holds = route.request.matches_beyond_path(req, budget)
                && path_check(route, req)
                && route.request.path_values_hold(req, budget);
            // Checked before anything is claimed: a condition cut short (under `not`, say)
            // may have answered true.
            if let Some(why) = budget.exhausted() {
                return Outcome::OverBudget {
                    route: route.id.clone(),
                    why,
                };
            }
            if holds && route.claim() {
                let path_values = route
                    .request
                    .path
                    .captures(&req.segs, req.path)
                    .unwrap_or_default();
                return Outcome::Matched(Match { route, path_values });
            }
        }
        Outcome::Unmatched(self.near_misses(req, candidates))
    }

    /// The routes closest to matching, on a budget of their own: running out shortens
    /// the report, it never fails the request.
    fn near_misses(&self, req: &Request<'_>, mut candidates: Vec<u32>) -> Vec<NearMiss> {
        let budget = Budget::new(NEAR_MISS_FUEL.min(req.budget.remaining()));
        // Routes whose path matched come first; when there are few, routes whose pattern
        // or regex shares the longest prefix with the request are the next closest.
        if candidates.len() < NEAR_MISS_LIMIT {
            let mut closest = Vec::new();
            self.index.closest(&req.segs, NEAR_MISS_LIMIT, &mut closest);
            candidates.extend(closest);
            candidates.extend(self.closest_regexes(req.path, &budget));
            candidates.sort_unstable();
            candidates.dedup();
        }
        // Closest first: fewest failed conditions, then most conditions that held.
        let mut scored: Vec<(usize, std::cmp::Reverse<usize>, NearMiss)> = Vec::new();
        for &i in &candidates {
            if budget.is_exhausted() {
                break;
            }
            let route = &self.routes[i as usize];
            let mut failed = route.request.failures(req, &budget);
            let held = route.request.condition_count().saturating_sub(failed.len());
            if failed.is_empty() && route.expired() {
                failed.push("expired".to_string());
            } else if failed.is_empty() && route.exhausted() {
                failed.push(format!(
                    "already served its {} time(s)",
                    route.times.unwrap_or_default()
                ));
            }
            scored.push((
                failed.len(),
                std::cmp::Reverse(held),
                NearMiss {
                    route_id: route.id.to_string(),
                    route_name: route.name.clone(),
                    failed,
                },
            ));
        }
        scored.sort_by_key(|(f, h, _)| (*f, *h));
        scored
            .into_iter()
            .take(NEAR_MISS_LIMIT)
            .map(|(_, _, m)| m)
            .collect()
    }

    /// Regex routes whose required literal prefix shares the most characters with `path`.
    fn closest_regexes(&self, path: &str, budget: &Budget) -> Vec<u32> {
        let folded: String = path.chars().map(path::fold).collect();
        let mut ranked: Vec<(usize, u32)> = self
            .regex_routes
            .iter()
            .filter(|_| budget.spend(1))
            .filter_map(|&i| {
                let CompiledPath::Regex(r) = &self.routes[i as usize].request.path else {
                    return None;
                };
                let prefix = path::required_prefix(predicate::user_regex(r))?;
                let shared = prefix
                    .bytes()
                    .zip(folded.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                (shared > 1).then_some((shared, i))
            })
            .collect();
        ranked.sort_by_key(|(shared, i)| (std::cmp::Reverse(*shared), *i));
        ranked
            .into_iter()
            .take(NEAR_MISS_LIMIT)
            .map(|(_, i)| i)
            .collect()
    }
}

/// Candidates from the trie already match their pattern; regex and `not` paths are checked.
fn path_check(route: &CompiledRoute, req: &Request<'_>) -> bool {
    match &route.request.path {
        CompiledPath::Pattern(_) | CompiledPath::Any => true,
        CompiledPath::Regex(_) | CompiledPath::Not(_) => {
            route.request.path.matches(&req.segs, req.path)
        }
    }
}

/// Every published service, found by host or by the longest base-path prefix.
#[derive(Debug, Default)]
pub struct RouteTable {
    services: Vec<Arc<CompiledService>>,
    by_base: HashMap<String, u32>,
    by_host: HashMap<String, u32>,
    max_depth: usize,
}

impl RouteTable {
    pub fn new(services: Vec<Arc<CompiledService>>) -> Result<Self, TableError> {
        let mut by_base = HashMap::new();
        let mut by_host = HashMap::new();
        let mut max_depth = 0;
        let name = |s: &CompiledService| format!("{}/{}", s.info.team, s.info.slug);
        for (i, s) in services.iter().enumerate() {
            if let Some(prev) = by_base.insert(s.info.base_path.clone(), i as u32) {
                return Err(TableError::DuplicateBasePath {
                    base: s.info.base_path.clone(),
                    first: name(&services[prev as usize]),
                    second: name(s),
                });
            }
            for h in &s.info.hosts {
                if let Some(prev) = by_host.insert(h.clone(), i as u32) {
                    return Err(TableError::DuplicateHost {
                        host: h.clone(),
                        first: name(&services[prev as usize]),
                        second: name(s),
                    });
                }
            }
            max_depth = max_depth.max(path::segments(&s.info.base_path).count());
        }
        Ok(RouteTable {
            services,
            by_base,
            by_host,
            max_depth,
        })
    }

    pub fn services(&self) -> &[Arc<CompiledService>] {
        &self.services
    }

    /// The service for a request and the path relative to its base path. A `Host` listed by
    /// a service wins; otherwise the longest base path that is a whole-segment prefix.
    pub fn resolve<'p>(
        &self,
        host: Option<&str>,
        path: &'p str,
    ) -> Option<(&Arc<CompiledService>, &'p str)> {
        if let Some(h) = host.filter(|_| !self.by_host.is_empty()) {
            let name = h
                .rsplit_once(':')
                .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(n, _)| n);
            if let Some(&i) = self.by_host.get(&name.to_ascii_lowercase()) {
                return Some((&self.services[i as usize], path));
            }
        }
        // Ends of the first `max_depth` segments, longest first.
        let mut ends = Vec::with_capacity(self.max_depth + 1);
        let mut depth = 0;
        for (pos, b) in path.bytes().enumerate().skip(1) {
            if b == b'/' && pos > 0 && path.as_bytes()[pos - 1] != b'/' {
                depth += 1;
                ends.push(pos);
                if depth >= self.max_depth {
                    break;
                }
            }
        }
        if depth < self.max_depth && path.len() > 1 && !path.ends_with('/') {
            ends.push(path.len());
        }
        for &end in ends.iter().rev() {
            if let Some(&i) = self.by_base.get(&path[..end]) {
                return Some((&self.services[i as usize], &path[end..]));
            }
        }
        self.by_base
            .get("/")
            .map(|&i| (&self.services[i as usize], path))
    }
}
