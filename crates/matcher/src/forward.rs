//! Compiled forwarding: where a request goes and what is changed on the way.

use crate::CompileError;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use regex::Regex;
use standin_model::{Forward, HeaderChanges, ResponseBody};

/// Header edits, compiled.
#[derive(Debug, Default)]
pub struct CompiledChanges {
    set: Vec<(HeaderName, Vec<HeaderValue>)>,
    add: Vec<(HeaderName, HeaderValue)>,
    replace: Vec<(HeaderName, Vec<HeaderValue>)>,
    remove: Vec<HeaderName>,
}

impl CompiledChanges {
    fn compile(c: &HeaderChanges, pointer: &str) -> Result<Self, CompileError> {
        let name = |n: &str, p: &str| {
            HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| CompileError::new(p, format!("\"{n}\" is not a valid header name")))
        };
        let value = |v: &str, p: &str| {
            HeaderValue::from_str(v)
                .map_err(|_| CompileError::new(p, format!("\"{v}\" is not a valid header value")))
        };
        let lists = |map: &std::collections::BTreeMap<String, standin_model::HeaderValues>,
                     field: &str| {
            map.iter()
                .map(|(n, vs)| {
                    let p = format!("{pointer}/{field}/{}", crate::escape_pointer(n));
                    let values = vs
                        .values()
                        .iter()
                        .map(|v| value(v, &p))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((name(n, &p)?, values))
                })
                .collect::<Result<Vec<_>, CompileError>>()
        };
        Ok(CompiledChanges {
            set: lists(&c.set, "set")?,
            replace: lists(&c.replace, "replace")?,
            add: lists(&c.add, "add")?
                .into_iter()
                .flat_map(|(n, vs)| vs.into_iter().map(move |v| (n.clone(), v)))
                .collect(),
            remove: c
                .remove
                .iter()
                .enumerate()
                .map(|(i, n)| name(n, &format!("{pointer}/remove/{i}")))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Applies the edits: set, remove, replace (only names present), add.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (n, values) in &self.set {
            headers.remove(n);
            for v in values {
                headers.append(n.clone(), v.clone());
            }
        }
        for n in &self.remove {
            headers.remove(n);
        }
        for (n, values) in &self.replace {
            if headers.contains_key(n) {
                headers.remove(n);
                for v in values {
                    headers.append(n.clone(), v.clone());
                }
            }
        }
        for (n, v) in &self.add {
            headers.append(n.clone(), v.clone());
        }
    }
}

/// Edits of name/value pairs (query parameters, cookies), in the same order as headers.
#[derive(Debug, Default)]
pub struct PairChanges {
    set: Vec<(String, Vec<String>)>,
    add: Vec<(String, String)>,
    replace: Vec<(String, Vec<String>)>,
    remove: Vec<String>,
}

impl PairChanges {
    fn compile(c: &HeaderChanges) -> Self {
        let lists = |m: &std::collections::BTreeMap<String, standin_model::HeaderValues>| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.values().to_vec()))
                .collect::<Vec<_>>()
        };
        PairChanges {
            set: lists(&c.set),
            replace: lists(&c.replace),
            add: lists(&c.add)
                .into_iter()
                .flat_map(|(k, vs)| vs.into_iter().map(move |v| (k.clone(), v)))
                .collect(),
            remove: c.remove.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.add.is_empty()
            && self.replace.is_empty()
            && self.remove.is_empty()
    }

    pub fn apply(&self, pairs: &mut Vec<(String, String)>) {
        for (k, values) in &self.set {
            pairs.retain(|(n, _)| n != k);
            pairs.extend(values.iter().map(|v| (k.clone(), v.clone())));
        }
        pairs.retain(|(n, _)| !self.remove.contains(n));
        for (k, values) in &self.replace {
            if pairs.iter().any(|(n, _)| n == k) {
                pairs.retain(|(n, _)| n != k);
                pairs.extend(values.iter().map(|v| (k.clone(), v.clone())));
            }
        }
        pairs.extend(self.add.iter().cloned());
    }

    /// `Set-Cookie` lines to append to an answer that already sets the cookies `present`:
    /// `set` and `add` always, `replace` only for cookies present (as MockServer does);
    /// and the names whose lines to remove.
    fn set_cookie_lines(&self, present: &[&str]) -> (Vec<String>, &[String]) {
        let mut lines: Vec<String> = self
            .replace
            .iter()
            .filter(|(k, _)| present.contains(&k.as_str()))
            .chain(&self.set)
            .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k}={v}")))
            .collect();
        lines.extend(self.add.iter().map(|(k, v)| format!("{k}={v}")));
        (lines, &self.remove)
    }
}

impl CompiledForward {
    /// Applies the request's cookie edits to its `Cookie` header.
    pub fn edit_request_cookies(&self, headers: &mut HeaderMap) {
        if self.request_cookies.is_empty() {
            return;
        }
        let mut pairs: Vec<(String, String)> = standin_eval::parse::cookie_pairs(headers)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.request_cookies.apply(&mut pairs);
        headers.remove(http::header::COOKIE);
        let joined = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if let Ok(v) = HeaderValue::from_str(&joined)
            && !joined.is_empty()
        {
            headers.insert(http::header::COOKIE, v);
        }
    }

    /// Applies the answer's cookie edits to its `Set-Cookie` lines: removes the named
    /// ones, then appends what is set, added, or replaced (only cookies it set).
    pub fn edit_response_cookies(&self, headers: &mut HeaderMap) {
        if self.response_cookies.is_empty() {
            return;
        }
        fn name(v: &HeaderValue) -> Option<&str> {
            standin_eval::parse::set_cookie_name(v.as_bytes())
        }
        let present: Vec<String> = headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| name(v).map(str::to_string))
            .collect();
        let present: Vec<&str> = present.iter().map(String::as_str).collect();
        let (set_cookies, removed) = self.response_cookies.set_cookie_lines(&present);
        if !removed.is_empty() {
            let kept: Vec<HeaderValue> = headers
                .get_all(http::header::SET_COOKIE)
                .iter()
                .filter(|v| !removed.iter().any(|r| Some(r.as_str()) == name(v)))
                .cloned()
                .collect();
            headers.remove(http::header::SET_COOKIE);
            for v in kept {
                headers.append(http::header::SET_COOKIE, v);
            }
        }
        for line in set_cookies {
            if let Ok(v) = HeaderValue::from_str(&line) {
                headers.append(http::header::SET_COOKIE, v);
            }
        }
    }
}

/// A compiled [`Forward`].
#[derive(Debug)]
pub struct CompiledForward {
    scheme: http::uri::Scheme,
    /// `None`: the request's own `Host`.
    authority: Option<http::uri::Authority>,
    prefix: String,
    path: Option<String>,
    rewrite: Option<(Regex, String)>,
    pub request_headers: CompiledChanges,
    pub request_query: PairChanges,
    request_cookies: PairChanges,
    pub body: Option<Bytes>,
    pub response_headers: CompiledChanges,
    response_cookies: PairChanges,
    pub response_status: Option<StatusCode>,
    /// The body to answer with instead of the upstream's, and its content type if implied.
    pub response_body: Option<(Bytes, Option<HeaderValue>)>,
}

impl CompiledForward {
    pub fn compile(f: &Forward, pointer: &str) -> Result<Self, CompileError> {
        let (scheme, authority, prefix) = match &f.to {
            None => (http::uri::Scheme::HTTP, None, String::new()),
            Some(to_text) => {
                let to: Uri = to_text.parse().map_err(|e| {
                    CompileError::new(
                        &format!("{pointer}/to"),
                        format!("\"{to_text}\" is not a URL: {e}"),
                    )
                })?;
                let scheme = to
                    .scheme()
                    .filter(|s| **s == http::uri::Scheme::HTTP || **s == http::uri::Scheme::HTTPS)
                    .cloned()
                    .ok_or_else(|| {
                        CompileError::new(
                            &format!("{pointer}/to"),
                            format!("\"{to_text}\" must be an http:// or https:// URL"),
                        )
                    })?;
                let authority = to.authority().cloned().ok_or_else(|| {
                    CompileError::new(
                        &format!("{pointer}/to"),
                        format!("\"{to_text}\" has no host"),
                    )
                })?;
                (
                    scheme,
                    Some(authority),
                    to.path().trim_end_matches('/').to_string(),
                )
            }
        };
        let rewrite = match &f.path_rewrite {
            None => None,
            Some(r) => Some((
                Regex::new(&r.regex).map_err(|e| {
                    CompileError::new(
                        &format!("{pointer}/pathRewrite/regex"),
                        format!("invalid regex \"{}\": {e}", r.regex),
                    )
                })?,
                r.replacement.clone(),
            )),
        };
        let response_status = match f.response_status {
            None => None,
            Some(s) => Some(StatusCode::from_u16(s).map_err(|_| {
                CompileError::new(
                    &format!("{pointer}/responseStatus"),
                    format!("{s} is not an HTTP status code"),
                )
            })?),
        };
        let response_body = match &f.response_body {
            None => None,
            Some(ResponseBody::Text(t)) => Some((Bytes::from(t.clone()), None)),
            Some(ResponseBody::Json(v)) => Some((
                Bytes::from(v.to_string()),
                Some(HeaderValue::from_static("application/json")),
            )),
            Some(ResponseBody::Base64(b)) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|e| {
                        CompileError::new(
                            &format!("{pointer}/responseBody/base64"),
                            format!("invalid base64: {e}"),
                        )
                    })?;
                Some((Bytes::from(bytes), None))
            }
        };
        Ok(CompiledForward {
            scheme,
            authority,
            prefix,
            path: f.path.clone(),
            rewrite,
            request_headers: CompiledChanges::compile(
                &f.request_headers,
                &format!("{pointer}/requestHeaders"),
            )?,
            request_query: PairChanges::compile(&f.request_query),
            request_cookies: PairChanges::compile(&f.request_cookies),
            response_cookies: PairChanges::compile(&f.response_cookies),
            body: f.body.as_ref().map(|b| Bytes::from(b.clone())),
            response_headers: CompiledChanges::compile(
                &f.response_headers,
                &format!("{pointer}/responseHeaders"),
            )?,
            response_status,
            response_body,
        })
    }

    /// The upstream URL for a request with this path (relative to the service) and query;
    /// `host` is the request's `Host`, used when no target is configured.
    pub fn target(
        &self,
        path: &str,
        query: Option<&str>,
        host: Option<&str>,
    ) -> Result<Uri, String> {
        let mut path = self.path.clone().unwrap_or_else(|| path.to_string());
        if let Some((re, replacement)) = &self.rewrite {
            path = re.replace_all(&path, replacement.as_str()).into_owned();
        }
        let mut pq = format!(
            "{}{}",
            self.prefix,
            if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            }
        );
        let query = if self.request_query.is_empty() {
            query.map(str::to_string)
        } else {
            let mut pairs: Vec<(String, String)> =
                standin_eval::parse::query_pairs(query.unwrap_or(""))
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            self.request_query.apply(&mut pairs);
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            (!encoded.is_empty()).then_some(encoded)
        };
        if let Some(q) = query {
            pq.push('?');
            pq.push_str(&q);
        }
        let authority = match &self.authority {
            Some(a) => a.clone(),
            None => host
                .ok_or(
                    "the route forwards to the request's host, but the request has no Host header",
                )?
                .parse::<http::uri::Authority>()
                .map_err(|e| format!("the request's Host is not a host: {e}"))?,
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(authority)
            .path_and_query(pq)
            .build()
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_the_query_and_apply_prefix_override_and_rewrite() {
        let f: Forward = serde_json::from_value(serde_json::json!({
            "to": "http://127.0.0.1:9/base/",
            "pathRewrite": {"regex": "^/v1/(.*)", "replacement": "/v2/$1"}
        }))
        .unwrap();
        let c = CompiledForward::compile(&f, "").unwrap();
        assert_eq!(
            c.target("/v1/users", Some("a=1"), None)
                .unwrap()
                .to_string(),
            "http://127.0.0.1:9/base/v2/users?a=1"
        );
    }

    #[test]
    fn https_and_bad_urls_are_refused_with_a_pointer() {
        for to in ["ftp://example.com", "not a url", "/relative"] {
            let f = Forward {
                to: Some(to.into()),
                ..Forward::default()
            };
            let err = CompiledForward::compile(&f, "/http/forward").unwrap_err();
            assert_eq!(err.pointer, "/http/forward/to", "{to}");
        }
    }

    #[test]
    fn without_a_target_the_request_host_is_used() {
        let c = CompiledForward::compile(&Forward::default(), "").unwrap();
        assert_eq!(
            c.target("/a", None, Some("127.0.0.1:8080"))
                .unwrap()
                .to_string(),
            "http://127.0.0.1:8080/a"
        );
        assert!(c.target("/a", None, None).is_err());
    }

    #[test]
    fn header_changes_remove_then_replace_then_add() {
        let c: HeaderChanges = serde_json::from_value(serde_json::json!({
            "remove": ["x-gone"], "replace": {"x-one": "r", "x-absent": "ignored"}, "add": {"x-one": "a", "x-new": ["1", "2"]}
        }))
        .unwrap();
        let c = CompiledChanges::compile(&c, "").unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-gone", "v".parse().unwrap());
        h.append("x-one", "old1".parse().unwrap());
        h.append("x-one", "old2".parse().unwrap());
        c.apply(&mut h);
        assert!(h.get("x-gone").is_none());
        assert_eq!(h.get_all("x-one").iter().collect::<Vec<_>>(), ["r", "a"]);
        assert_eq!(h.get_all("x-new").iter().count(), 2);
        assert!(
            h.get("x-absent").is_none(),
            "replace only touches names present"
        );
    }

    #[test]
    fn query_changes_rewrite_the_target() {
        let f: Forward = serde_json::from_value(serde_json::json!({
            "to": "http://h:1",
            "requestQuery": {"set": {"s": "1"}, "remove": ["gone"], "replace": {"r": "new", "absent": "x"}, "add": {"a": "v w"}}
        }))
        .unwrap();
        let c = CompiledForward::compile(&f, "").unwrap();
        let uri = c
            .target("/p", Some("gone=1&r=old&keep=k"), None)
            .unwrap()
            .to_string();
        assert_eq!(uri, "http://h:1/p?keep=k&s=1&r=new&a=v+w");
    }
}
