//! Conditions on an HTTP request, compiled once: used by routes and by journal queries.

use crate::path::CompiledPath;
use crate::predicate::{BodyCond, StrCond};
use crate::service::NEAR_MISS_BODY_LIMIT;
use crate::{CompileError, escape_pointer};
use http::HeaderName;
use standin_eval::{Budget, KeyKind, Request};
use standin_model::HttpRequestMatcher;

/// Conditions on an HTTP request, compiled. Used by routes and by journal queries.
#[derive(Debug)]
pub struct CompiledRequestMatcher {
    pub(crate) method: Option<StrCond>,
    pub(crate) path: CompiledPath,
    pub(crate) path_values: Vec<(String, StrCond)>,
    pub(crate) query: Vec<(String, StrCond)>,
    pub(crate) headers: Vec<(HeaderName, StrCond)>,
    pub(crate) cookies: Vec<(String, StrCond)>,
    /// `(kind, name condition, value condition)` for query, header and cookie patterns.
    pub(crate) patterns: Vec<(KeyKind, StrCond, StrCond)>,
    pub(crate) body: Option<BodyCond>,
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
        self.path.matches(req.segments(), req.path)
            && self.matches_beyond_path(req, req.budget())
            && self.path_values_hold(req, req.budget())
            && !req.budget().is_exhausted()
    }

    /// Conditions on captured path values. Taken only when the path fits: a path that
    /// does not fit has no values.
    pub(crate) fn path_values_hold(&self, req: &Request<'_>, budget: &Budget) -> bool {
        if self.path_values.is_empty() {
            return true;
        }
        let Some(captured) = self.path.captures(req.segments(), req.path) else {
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

    pub(crate) fn matches_beyond_path(&self, req: &Request<'_>, budget: &Budget) -> bool {
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
                value.eval(
                    &req.values_where(*kind, |k| name.eval(&[k], budget)),
                    budget,
                )
            })
            && self.body.as_ref().is_none_or(|b| b.eval(req, budget))
    }

    /// Every condition that fails, in words, for near-miss reports, spending from
    /// `budget` (the near-miss search has its own). Conditions on path values are checked
    /// only when the path fits; body conditions only on bodies up to
    /// [`NEAR_MISS_BODY_LIMIT`] bytes.
    pub fn failures(&self, req: &Request<'_>, budget: &Budget) -> Vec<String> {
        let mut out = Vec::new();
        let path_fits = self.path.matches(req.segments(), req.path);
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
            .captures(req.segments(), req.path)
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
            let values = req.values_where(*kind, |k| name.eval(&[k], budget));
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
    pub(crate) fn condition_count(&self) -> usize {
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
