//! standin's records in MockServer's JSON shapes: recorded requests, active expectations,
//! log lines.

use base64::Engine;
use serde_json::{Map, Value, json};
use standin_app::App;
use standin_app::ServiceKey;
use standin_journal::JournalEntry;
use standin_matcher::{CompiledRequestMatcher, Request};
use standin_model::RouteRecord;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// A journaled request as MockServer's `HttpRequest`.
pub(crate) fn request(e: &JournalEntry) -> Value {
    request_json(&e.method, &e.path, e.query.as_deref(), &e.headers, &e.body)
}

/// A request as MockServer's `HttpRequest`.
pub(crate) fn request_json(
    method: &str,
    path: &str,
    query: Option<&str>,
    req_headers: &http::HeaderMap,
    req_body: &[u8],
) -> Value {
    let mut out = Map::new();
    out.insert("method".into(), json!(method));
    out.insert("path".into(), json!(path));
    if let Some(q) = query {
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in standin_eval::parse::query_pairs(q) {
            params
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
        if !params.is_empty() {
            out.insert("queryStringParameters".into(), json!(params));
        }
    }
    let mut headers: Map<String, Value> = Map::new();
    let cookies: Map<String, Value> = standin_eval::parse::cookie_pairs(req_headers)
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    for (name, value) in req_headers {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let key = standin_matcher::title_case(name.as_str());
        match headers.get_mut(&key) {
            Some(Value::Array(list)) => list.push(json!(text)),
            _ => {
                headers.insert(key, json!([text]));
            }
        }
    }
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    if !cookies.is_empty() {
        out.insert("cookies".into(), Value::Object(cookies));
    }
    out.insert("keepAlive".into(), json!(keep_alive(req_headers)));
    out.insert("secure".into(), json!(false));
    if !req_body.is_empty() {
        out.insert("body".into(), body(req_body, req_headers));
    }
    Value::Object(out)
}

/// The response the journal kept, as MockServer writes a recorded `httpResponse`.
pub(crate) fn response(e: &JournalEntry) -> Value {
    let mut out = Map::new();
    out.insert("statusCode".into(), json!(e.status));
    if let Some(reason) = http::StatusCode::from_u16(e.status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        out.insert("reasonPhrase".into(), json!(reason));
    }
    let mut headers: Map<String, Value> = Map::new();
    for (name, value) in &e.response_headers {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let key = standin_matcher::title_case(name.as_str());
        match headers.get_mut(&key) {
            Some(Value::Array(list)) => list.push(json!(text)),
            _ => {
                headers.insert(key, json!([text]));
            }
        }
    }
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    if !e.response_body.is_empty() {
        out.insert("body".into(), body(&e.response_body, &e.response_headers));
    }
    Value::Object(out)
}

/// Whether the client asked to keep the connection open (HTTP/1.1's default).
pub(crate) fn keep_alive(headers: &http::HeaderMap) -> bool {
    !headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.eq_ignore_ascii_case("close")))
}

fn body(bytes: &[u8], headers: &http::HeaderMap) -> Value {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let raw = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = match std::str::from_utf8(bytes) {
        Ok(text) => match serde_json::from_str::<Value>(text) {
            Ok(v)
                if content_type.as_deref().is_none_or(|c| c.contains("json"))
                    && (v.is_object() || v.is_array()) =>
            {
                json!({"type": "JSON", "json": v, "rawBytes": raw})
            }
            _ => json!({"type": "STRING", "string": text, "rawBytes": raw}),
        },
        Err(_) => json!({"type": "BINARY", "base64Bytes": raw}),
    };
    if let (Some(ct), Some(obj)) = (content_type, out.as_object_mut()) {
        obj.insert("contentType".into(), json!(ct));
    }
    out
}

/// `yyyy-MM-dd HH:mm:ss.SSS`, MockServer's timestamp format (UTC here).
pub(crate) fn timestamp(e: &JournalEntry) -> String {
    match jiff::Timestamp::try_from(e.at) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        Err(_) => String::new(),
    }
}

pub(crate) fn log_line(e: &JournalEntry) -> String {
    let outcome = match &e.matched_route {
        Some(id) => format!(
            "returned response with status {} for expectation {id}",
            e.status
        ),
        None => "no expectation for request".to_string(),
    };
    format!(
        "{} - received request:\n\n  {}\n\n {outcome}",
        timestamp(e),
        crate::jackson::to_string(&request(e))
    )
}

/// The service's routes in match order as MockServer expectations, with the uses left.
pub(crate) fn active_expectations(
    app: &App,
    team: &str,
    service: &str,
    filter: &Option<Value>,
) -> Vec<Value> {
    let catalog = app.catalog();
    let Some(records) = catalog.routes_of(&ServiceKey::new(team, service)) else {
        return Vec::new();
    };
    let table = app.table().load_full();
    let Some(compiled) = table
        .services()
        .iter()
        .find(|s| s.info.team == team && s.info.slug == service)
    else {
        return Vec::new();
    };
    compiled
        .routes()
        .iter()
        .filter_map(|c| {
            let record = records.get(&*c.id)?;
            let keep = match filter {
                None => true,
                Some(Value::Object(o)) if o.len() == 1 && o.contains_key("id") => {
                    o["id"].as_str() == Some(&*c.id)
                }
                Some(f) => expectation_matches_filter(record, f),
            };
            if !keep
                || c.times
                    .is_some_and(|t| c.counters.served.load(Ordering::Relaxed) >= t)
            {
                return None;
            }
            let mut doc = crate::export::expectation(&record.route).0;
            if let (Some(t), Some(obj)) = (c.times, doc.as_object_mut()) {
                let left = t.saturating_sub(c.counters.served.load(Ordering::Relaxed));
                obj.insert(
                    "times".into(),
                    json!({"remainingTimes": left, "unlimited": false}),
                );
            }
            Some(doc)
        })
        .collect()
}

/// Whether a stored route is selected by a clear or retrieve filter given as a MockServer
/// request matcher: its path is the same text, or its conditions accept a request made of
/// the filter's literal values.
pub(crate) fn expectation_matches_filter(record: &RouteRecord, filter: &Value) -> bool {
    let origin_request = record
        .route
        .origin
        .as_ref()
        .and_then(|o| o.document.get("httpRequest"));
    let text = |v: Option<&Value>, k: &str| {
        v.and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let given_path = text(Some(filter), "path");
    if given_path.is_some() && given_path == text(origin_request, "path") {
        return true;
    }
    let Some(http) = &record.route.http else {
        return false;
    };
    let Ok(matcher) = CompiledRequestMatcher::compile(&http.request, "") else {
        return false;
    };
    let method = text(Some(filter), "method")
        .or_else(|| text(origin_request, "method"))
        .unwrap_or_else(|| "GET".into());
    let path = given_path.unwrap_or_else(|| "/".into());
    let mut headers = http::HeaderMap::new();
    if let Some(Value::Object(h)) = filter.get("headers") {
        for (k, v) in h {
            let first = v
                .as_array()
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .or(v.as_str());
            if let (Ok(name), Some(value)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                first.and_then(|f| http::HeaderValue::from_str(f).ok()),
            ) {
                headers.insert(name, value);
            }
        }
    }
    let body = filter
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or("")
        .as_bytes()
        .to_vec();
    let (path_only, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path, None),
    };
    matcher.matches(&Request::new(
        &method,
        &path_only,
        query.as_deref(),
        &headers,
        &body,
    ))
}
