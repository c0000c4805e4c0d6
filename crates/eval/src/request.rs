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
    /// The client's address and the server's, when known.
    pub peers: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
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
            peers: None,
        }
    }

    /// The client's address and the server's.
    pub fn with_peers(
        mut self,
        peers: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
    ) -> Self {
        self.peers = peers;
        self
    }

    /// Whether the body is UTF-16 by its `Content-Type` charset (`utf-16`, `utf-16be`,
    /// `utf-16le`), and in which byte order: `Some(true)` big-endian.
    fn utf16(&self) -> Option<bool> {
        let ct = self
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        // Read in place: this runs for text body conditions on every request.
        let charset = ct.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| v.trim().trim_matches('"'))
        })?;
        if charset.eq_ignore_ascii_case("utf-16") {
            // RFC 2781: a BOM says the order; without one, big-endian.
            Some(!self.body.starts_with(&[0xFF, 0xFE]))
        } else if charset.eq_ignore_ascii_case("utf-16be") {
            Some(true)
        } else if charset.eq_ignore_ascii_case("utf-16le") {
            Some(false)
        } else {
            None
        }
    }

    /// Whether the `Content-Type` names a UTF-16 charset.
    pub fn names_utf16(&self) -> bool {
        self.utf16().is_some()
    }

    /// The body decoded as text when its `Content-Type` names UTF-16 (MockServer decodes
    /// by the charset before comparing text); `None` for any other body.
    pub fn utf16_text(&self) -> Option<String> {
        let be = self.utf16()?;
        let mut bytes = self.body;
        if bytes.starts_with(&[0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE]) {
            bytes = &bytes[2..];
        }
        if !bytes.len().is_multiple_of(2) {
            return None;
        }
        let units = bytes.chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .ok()
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

#[cfg(test)]
mod utf16_tests {
    use super::*;

    fn with(ct: &str, body: &[u8]) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
        Request::new("POST", "/", None, &h, body).utf16_text()
    }

    #[test]
    fn utf16_bodies_decode_by_their_charset_and_byte_order() {
        let be_bom = [0xFE, 0xFF, 0x62, 0x11, 0x8B, 0xF4];
        let le_bom = [0xFF, 0xFE, 0x11, 0x62, 0xF4, 0x8B];
        let be = [0x62, 0x11, 0x8B, 0xF4];
        assert_eq!(
            with("text/plain; charset=utf-16", &be_bom).as_deref(),
            Some("我说")
        );
        assert_eq!(
            with("text/plain; charset=UTF-16", &le_bom).as_deref(),
            Some("我说")
        );
        assert_eq!(
            with("text/plain; charset=utf-16", &be).as_deref(),
            Some("我说"),
            "no BOM: big-endian"
        );
        assert_eq!(
            with("text/plain;charset=\"utf-16le\"", &[0x11, 0x62]).as_deref(),
            Some("我")
        );
        assert_eq!(
            with("text/plain; charset=utf-16", &[0x62]),
            None,
            "an odd length"
        );
        assert_eq!(
            with("text/plain; charset=utf-16", &[0xD8, 0x00]),
            None,
            "a lone surrogate"
        );
        assert_eq!(
            with("text/plain; charset=utf-8", "我".as_bytes()),
            None,
            "not UTF-16"
        );
    }
}
