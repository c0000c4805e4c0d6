//! Checks on definitions that serde cannot express. Each error names the field by JSON
//! pointer, relative to the document being written.

use crate::AppError;
use standin_model::{Route, Service, Team, validate_slug};

const MAX_TEXT: usize = 100_000;
/// How deeply a stored document may nest arrays and objects. The store's reader
/// (serde_json) stops at 128; the margin leaves room for the record's own wrapping.
pub const MAX_NESTING: usize = 100;
const MAX_NAME: usize = 200;
const MAX_ID: usize = 128;

pub(crate) fn same_slug(in_path: &str, in_body: &str) -> Result<(), AppError> {
    if in_path == in_body {
        Ok(())
    } else {
        Err(AppError::invalid(
            "/slug",
            format!(
                "the slug \"{in_body}\" differs from \"{in_path}\" in the URL; slugs cannot be renamed"
            ),
        ))
    }
}

fn slug(s: &str) -> Result<(), AppError> {
    if s.is_empty() {
        return Err(AppError::invalid(
            "/slug",
            "a slug is required: 1 to 63 lowercase letters, digits and '-'",
        ));
    }
    validate_slug(s).map_err(|e| AppError::invalid("/slug", format!("\"{s}\" {e}")))
}

fn text(pointer: &str, value: &str, max: usize) -> Result<(), AppError> {
    if value.len() > max {
        return Err(AppError::invalid(
            pointer,
            format!("is {} bytes long; at most {max} are allowed", value.len()),
        ));
    }
    Ok(())
}

fn tags(pointer: &str, tags: &[String]) -> Result<(), AppError> {
    for (i, t) in tags.iter().enumerate() {
        if t.trim().is_empty() || t.len() > 64 {
            return Err(AppError::invalid(
                format!("{pointer}/{i}"),
                "a tag must be 1 to 64 characters and not blank",
            ));
        }
    }
    Ok(())
}

/// Team slugs that would shadow standin's own URLs on the mock port.
const RESERVED_TEAMS: &[&str] = &["mockserver"];

pub(crate) fn team(t: &mut Team) -> Result<(), AppError> {
    slug(&t.slug)?;
    if RESERVED_TEAMS.contains(&t.slug.as_str()) {
        return Err(AppError::invalid(
            "/slug",
            format!(
                "\"{}\" is reserved: PUT /{}/... on the mock port belongs to MockServer's API",
                t.slug, t.slug
            ),
        ));
    }
    text("/name", &t.name, MAX_NAME)?;
    text("/memo", &t.memo, MAX_TEXT)?;
    tags("/tags", &t.tags)?;
    if t.name.is_empty() {
        t.name = t.slug.clone();
    }
    Ok(())
}

pub(crate) fn service(s: &mut Service) -> Result<(), AppError> {
    slug(&s.slug)?;
    text("/name", &s.name, MAX_NAME)?;
    text("/memo", &s.memo, MAX_TEXT)?;
    tags("/tags", &s.tags)?;
    if s.name.is_empty() {
        s.name = s.slug.clone();
    }
    if let Some(sync) = &s.sync {
        if !(sync.url.starts_with("http://") || sync.url.starts_with("https://"))
            || sync.url.len() > 2048
        {
            return Err(AppError::invalid(
                "/sync/url",
                format!("\"{}\" is not an http(s) URL", sync.url),
            ));
        }
        if sync.interval_seconds == 0 {
            return Err(AppError::invalid(
                "/sync/intervalSeconds",
                "the interval is at least 1 second",
            ));
        }
        if let Some(f) = &sync.format {
            standin_import::Format::parse(f).map_err(|m| AppError::invalid("/sync/format", m))?;
        }
        if let Some(b) = &sync.base_path
            && b != "keep"
            && b != "drop"
        {
            return Err(AppError::invalid(
                "/sync/basePath",
                format!("\"{b}\" is not a base path mode: keep or drop"),
            ));
        }
    }
    if let Some(p) = &s.base_path {
        let bad = |why: &str| AppError::invalid("/basePath", format!("\"{p}\" {why}"));
        if !p.starts_with('/') {
            return Err(bad("must start with '/'"));
        }
        if p.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "?#{}*%".contains(c))
        {
            return Err(bad(
                "must be a plain path: no spaces, '?', '#', '{', '}', '*' or '%'",
            ));
        }
        s.base_path = Some(standin_model::normalize_base_path(p));
    }
    for (i, h) in s.hosts.iter_mut().enumerate() {
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            return Err(AppError::invalid(
                format!("/hosts/{i}"),
                format!("\"{h}\" is not a host name (letters, digits, '-', '.')"),
            ));
        }
        *h = h.to_ascii_lowercase();
    }
    if let Some(u) = &s.upstream
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(AppError::invalid(
            "/upstream",
            format!("\"{u}\" must be an http:// or https:// URL"),
        ));
    }
    for (i, h) in s.redact_headers.iter().flatten().enumerate() {
        if http::HeaderName::from_bytes(h.as_bytes()).is_err() {
            return Err(AppError::invalid(
                format!("/redactHeaders/{i}"),
                format!("\"{h}\" is not a header name"),
            ));
        }
    }
    if s.default_delay_ms > 600_000 {
        return Err(AppError::invalid(
            "/defaultDelayMs",
            "at most 600000 (10 minutes)",
        ));
    }
    if let Some(d) = &s.default_delay {
        standin_matcher::CompiledDelay::compile(d, "/defaultDelay")
            .map_err(|e| AppError::invalid(e.pointer, e.message))?;
    }
    if s.record.as_ref().is_some_and(|r| r.enabled) && s.upstream.is_none() {
        return Err(AppError::invalid(
            "/record",
            "record mode forwards to the service's upstream: set \"upstream\" first",
        ));
    }
    if let Some(u) = &s.upstream {
        standin_matcher::Upstream::compile(u, &s.breaker.clone().unwrap_or_default())
            .map_err(|e| AppError::invalid(e.pointer, e.message))?;
    }
    if let Some(c) = &s.chaos {
        standin_matcher::CompiledChaos::compile(c)
            .map_err(|e| AppError::invalid(e.pointer, e.message))?;
    }
    Ok(())
}

pub(crate) fn route(r: &mut Route, pointer: &str) -> Result<(), AppError> {
    // `.` and `..` would read as path steps in the route's URL.
    let id_ok = !r.id.is_empty()
        && r.id.len() <= MAX_ID
        && r.id != "."
        && r.id != ".."
        && !r
            .id
            .chars()
            .any(|c| c == '/' || c.is_control() || c.is_whitespace());
    if !id_ok {
        return Err(AppError::invalid(
            format!("{pointer}/id"),
            format!(
                "\"{}\" is not a route id: 1 to {MAX_ID} characters, not \".\" or \"..\", no '/', spaces or control characters",
                r.id
            ),
        ));
    }
    text(&format!("{pointer}/name"), &r.name, MAX_NAME)?;
    text(&format!("{pointer}/memo"), &r.memo, MAX_TEXT)?;
    tags(&format!("{pointer}/tags"), &r.tags)?;
    if r.protocol().is_none() {
        return Err(AppError::invalid(
            format!("{pointer}/http"),
            "a route needs exactly one protocol section; today that is \"http\"",
        ));
    }
    if let Some(m) = r.http.as_mut().and_then(|h| h.request.method.as_mut()) {
        upper_case_methods(m);
    }
    if let Some(h) = &r.http
        && h.response.delay_ms > 600_000
    {
        return Err(AppError::invalid(
            format!("{pointer}/http/response/delayMs"),
            "at most 600000 (10 minutes)",
        ));
    }
    Ok(())
}

/// Checks that a document can be read back exactly as the store will read it: it nests at
/// most [`MAX_NESTING`] levels and survives a round trip through its text. Anything
/// accepted must load at the next start.
pub(crate) fn storable<T: serde::de::DeserializeOwned>(
    doc: serde_json::Value,
    pointer: &str,
) -> Result<serde_json::Value, AppError> {
    if let Some(at) = deeper_than(&doc, MAX_NESTING, &mut String::new()) {
        return Err(AppError::invalid(
            format!("{pointer}{at}"),
            format!("nests deeper than {MAX_NESTING} levels of arrays and objects"),
        ));
    }
    let text = doc.to_string();
    let reread = serde_json::from_str::<serde_json::Value>(&text)
        .and_then(serde_json::from_value::<T>)
        .map(drop);
    match reread {
        Ok(()) => Ok(doc),
        Err(e) => Err(AppError::invalid(
            if pointer.is_empty() { "/" } else { pointer },
            format!("the document would not read back from the store: {e}"),
        )),
    }
}

/// The pointer of the first value nested deeper than `limit`, if any.
fn deeper_than(v: &serde_json::Value, limit: usize, at: &mut String) -> Option<String> {
    use serde_json::Value;
    let children: Box<dyn Iterator<Item = (String, &Value)>> = match v {
        Value::Array(a) => Box::new(a.iter().enumerate().map(|(i, x)| (i.to_string(), x))),
        Value::Object(o) => Box::new(
            o.iter()
                .map(|(k, x)| (standin_matcher::escape_pointer(k), x)),
        ),
        _ => return None,
    };
    if limit == 0 {
        return Some(at.clone());
    }
    for (token, child) in children {
        let len = at.len();
        at.push('/');
        at.push_str(&token);
        if let Some(found) = deeper_than(child, limit - 1, at) {
            return Some(found);
        }
        at.truncate(len);
    }
    None
}

/// Standard methods written in lower case (`"get"`) could never match: requests carry
/// them in upper case. They are stored upper-cased; extension methods stay as written.
fn upper_case_methods(m: &mut standin_model::StringMatcher) {
    use standin_model::StringMatcher as M;
    const STANDARD: &[&str] = &[
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    match m {
        M::Equals(v) => {
            if let Some(s) = STANDARD.iter().find(|s| s.eq_ignore_ascii_case(v)) {
                *v = s.to_string();
            }
        }
        M::Not(inner) | M::Each(inner) => upper_case_methods(inner),
        M::AnyOf(list) | M::AllOf(list) => list.iter_mut().for_each(upper_case_methods),
        M::EqualsIgnoreCase(_)
        | M::Contains(_)
        | M::Regex(_)
        | M::Present(_)
        | M::JsonSchema(_) => {}
    }
}

/// Refuses a route whose `expiresAt` has already passed: it could never match. (Routes
/// from MockServer's API are not checked: a `timeToLive` of zero is legitimate there.)
pub fn not_expired(r: &Route, pointer: &str) -> Result<(), AppError> {
    let Some(at) = &r.expires_at else {
        return Ok(());
    };
    let Ok(t) = at.parse::<jiff::Timestamp>() else {
        // Compilation names the field with the parse error.
        return Ok(());
    };
    if t <= jiff::Timestamp::now() {
        return Err(AppError::invalid(
            format!("{pointer}/expiresAt"),
            format!("{at} has already passed; the route would never match"),
        ));
    }
    Ok(())
}

/// Things about a route that are allowed but almost surely a mistake, for the API to pass
/// on (as `Warning` headers). Today: a `pathRewrite` whose regex starts with the service's
/// base path, though forwarding rewrites the path relative to it, so it never matches.
pub fn route_warnings(service: &standin_model::ServiceRecord, r: &Route) -> Vec<String> {
    let mut out = Vec::new();
    let base = service.service.effective_base_path(&service.team);
    let rewrite = r
        .http
        .as_ref()
        .and_then(|h| h.forward.as_ref())
        .and_then(|f| f.path_rewrite.as_ref());
    if let Some(rw) = rewrite
        && base != "/"
    {
        let regex = rw.regex.strip_prefix('^').unwrap_or(&rw.regex);
        let escaped = regex.replace('\\', "");
        if regex.starts_with(&base) || escaped.starts_with(&base) {
            out.push(format!(
                "forward.pathRewrite: the regex starts with the base path {base}, but forwarding rewrites the path relative to it (without {base}), so it never matches"
            ));
        }
    }
    out
}
