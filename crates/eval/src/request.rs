//! The request context: built once per request, read by every condition and template.

use crate::Budget;
use http::{HeaderMap, HeaderName};
use serde_json::Value;
use std::borrow::Cow;
use std::cell::OnceCell;

/// Which keys a name pattern looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Query,
    Header,
    Cookie,
}

impl KeyKind {
    /// The keys in words, for messages.
    pub fn word(self) -> &'static str {
        match self {
            KeyKind::Query => "query parameters",
            KeyKind::Header => "headers",
            KeyKind::Cookie => "cookies",
        }
    }
}

/// Values a path captured: `{name}` segments or named regex groups.
pub type PathValues = Vec<(Box<str>, String)>;

/// One request as matching and templates see it, built once per request. Query
/// parameters, cookies and the JSON body are parsed at most once, and only when a
/// condition or a template asks for them; the work spends from the request's budget.
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
            segs: crate::parse::decoded_segments(path),
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

    /// The path's decoded segments (empty segments dropped).
    pub fn segments(&self) -> &[Cow<'a, str>] {
        &self.segs
    }

    /// Every query parameter, decoded, in order.
    pub fn query_pairs(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        self.query_pairs
            .get_or_init(|| crate::parse::query_pairs(self.query.unwrap_or("")))
    }

    /// The budget matching and rendering spend from.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The decoded values of a query parameter, in order of appearance.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        let pairs = self
            .query_pairs
            .get_or_init(|| crate::parse::query_pairs(self.query.unwrap_or("")));
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
            .collect()
    }

    /// The values of a header that are text, in order.
    pub fn header_values(&self, name: &HeaderName) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .collect()
    }

    /// Every cookie of every `Cookie` header, as `(name, value)`, parsed once.
    pub fn cookie_pairs(&self) -> &[(&'a str, &'a str)] {
        self.cookies
            .get_or_init(|| crate::parse::cookie_pairs(self.headers))
    }

    /// The values of a cookie, in order.
    pub fn cookie_values(&self, name: &str) -> Vec<&str> {
        self.cookie_pairs()
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .collect()
    }

    /// The values of every key of `kind` whose name satisfies `name`.
    /// The values of every key of `kind` whose name satisfies `name`.
    pub fn values_where(&self, kind: KeyKind, name: impl Fn(&str) -> bool) -> Vec<&str> {
        match kind {
            KeyKind::Query => {
                let pairs = self
                    .query_pairs
                    .get_or_init(|| crate::parse::query_pairs(self.query.unwrap_or("")));
                pairs
                    .iter()
                    .filter(|(k, _)| name(k.as_ref()))
                    .map(|(_, v)| v.as_ref())
                    .collect()
            }
            KeyKind::Header => self
                .headers
                .iter()
                .filter(|(k, _)| name(k.as_str()))
                .filter_map(|(_, v)| std::str::from_utf8(v.as_bytes()).ok())
                .collect(),
            KeyKind::Cookie => self
                .cookie_pairs()
                .iter()
                .filter(|(k, _)| name(k))
                .map(|(_, v)| *v)
                .collect(),
        }
    }

    /// The body parsed as JSON, parsed once and paid for by the first budget that asks.
    pub fn json(&self, budget: &Budget) -> Option<&Value> {
        if self.json.get().is_none() && !budget.spend_bytes(self.body.len(), 4) {
            return None;
        }
        self.json
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }

    /// `(values, depth)` of the JSON body (`(0, 0)` when it is not JSON).
    pub fn json_shape(&self, budget: &Budget) -> (u64, u64) {
        if self.json_shape.get().is_none() {
            let Some(j) = self.json(budget) else {
                return (0, 0);
            };
            let shape = crate::json::shape(j);
            budget.spend(shape.0 / 8);
            let _ = self.json_shape.set(shape);
        }
        self.json_shape.get().copied().unwrap_or_default()
    }
}
