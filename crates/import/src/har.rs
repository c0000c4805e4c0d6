//! HAR 1.2 captures (a browser's network panel, a proxy): one route per distinct exchange.
//!
//! Exchanges are distinct by method, path, query and request body. A route matches the
//! method, the exact path, each query parameter, and the body (JSON equality for JSON,
//! the text otherwise, the fields of a form); it answers with the recorded status,
//! headers and body. The same request recorded again with another answer adds that
//! answer as an alternative (`Prefer: example=#2`). Credentials are left out unless asked
//! for: the route keeps no request header, and `Set-Cookie` is dropped from answers.

use crate::{Format, ImportError, Imported, Options, Warning, plan};
use serde_json::{Value, json};
use standin_model::{
    BodyMatcher, HttpRequestMatcher, HttpResponse, HttpRoute, Origin, PathMatcher, ResponseBody,
    Route, StringMatcher,
};
use std::collections::{BTreeMap, HashMap};

pub(crate) fn looks_like(doc: &Value) -> bool {
    doc.pointer("/log/entries").is_some_and(Value::is_array)
}

pub(crate) fn read(file: &str, doc: &Value, options: &Options) -> Result<Imported, ImportError> {
    let entries = doc
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .ok_or_else(|| ImportError::at(file, "/log/entries", "a HAR has log.entries"))?;
    let mut warnings = Vec::new();
    let mut routes: Vec<Route> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut dropped_cookies = 0;
    for (i, e) in entries.iter().enumerate() {
        let p = format!("/log/entries/{i}");
        let req = &e["request"];
        let method = req
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let Some(url) = req.get("url").and_then(Value::as_str) else {
            return Err(ImportError::at(
                file,
                &format!("{p}/request/url"),
                "an entry's request has a url",
            ));
        };
        let (host, path, mut query) = split_url(url);
        let mut body = request_body(req);
        // Credentials stay out unless asked for: a token in the query, a password in the
        // body. The route then simply does not check them.
        if !options.credentials {
            let before = query.len();
            query.retain(|(k, _)| !credential(k));
            if body.as_ref().is_some_and(holds_credentials) {
                body = None;
                warnings.push(Warning {
                    file: String::new(),
                    pointer: format!("{p}/request/postData"),
                    message: "the body holds credentials: the route does not check it (import with credentials to keep it)".into(),
                });
            }
            if query.len() < before {
                warnings.push(Warning {
                    file: String::new(),
                    pointer: format!("{p}/request/url"),
                    message: "query parameters holding credentials are not checked (import with credentials to keep them)".into(),
                });
            }
        }
        let key = format!(
            "{method} {path}?{} {}",
            sorted_query(&query),
            body.as_ref().map_or(String::new(), |b| format!("{b:?}"))
        );
        let answer = response(
            &e["response"],
            options,
            &mut dropped_cookies,
            &p,
            &mut warnings,
        );
        if let Some(&at) = by_key.get(&key) {
            let http = routes[at].http.as_mut().expect("built with http");
            let n = http.alternatives.len() + 2;
            http.alternatives.push(HttpResponse {
                name: Some(format!("#{n}")),
                ..answer
            });
            continue;
        }
        let mut query_conditions = BTreeMap::new();
        for (k, vals) in group(&query) {
            let m = if vals.len() == 1 {
                StringMatcher::Equals(vals[0].clone())
            } else {
                StringMatcher::AllOf(vals.into_iter().map(StringMatcher::Equals).collect())
            };
            query_conditions.insert(k, m);
        }
        let mut route = Route {
            scenario: None,
            fallback: false,
            id: format!("har-{}", routes.len() + 1),
            name: format!("{method} {path}"),
            memo: String::new(),
            priority: 0,
            enabled: true,
            times: None,
            tags: if host.is_empty() {
                Vec::new()
            } else {
                vec![host.clone()]
            },
            expires_at: None,
            origin: Some(Origin {
                format: "har".into(),
                document: json!({"operation": format!("{method} {path}"), "host": host, "startedDateTime": e.get("startedDateTime")}),
            }),
            http: Some(HttpRoute {
                sequence: None,
                request: HttpRequestMatcher {
                    method: Some(StringMatcher::Equals(method)),
                    path: Some(PathMatcher::Exact(path)),
                    query: query_conditions,
                    body,
                    ..HttpRequestMatcher::default()
                },
                response: HttpResponse {
                    name: Some("#1".into()),
                    ..answer
                },
                alternatives: Vec::new(),
                forward: None,
                contract: None,
            }),
        };
        plan::stamp(&mut route);
        by_key.insert(key, routes.len());
        routes.push(route);
    }
    // Alternatives change the route after its fingerprint: stamp again.
    for r in &mut routes {
        plan::stamp(r);
    }
    for w in &mut warnings {
        if w.file.is_empty() {
            w.file = file.to_string();
        }
    }
    if dropped_cookies > 0 {
        warnings.push(Warning {
            file: file.to_string(),
            pointer: "/log/entries".into(),
            message: format!("{dropped_cookies} Set-Cookie headers were left out of the answers (import with credentials to keep them)"),
        });
    }
    Ok(Imported {
        source: String::new(),
        format: Format::Har,
        title: doc
            .pointer("/log/pages/0/title")
            .and_then(Value::as_str)
            .map(str::to_string),
        routes,
        warnings,
    })
}

/// `https://host:443/a/b?x=1#f` → (`host`, `/a/b`, [(x, 1)]), query decoded.
fn split_url(url: &str) -> (String, String, Vec<(String, String)>) {
    let no_fragment = url.split('#').next().unwrap_or("");
    let (before, query) = no_fragment.split_once('?').unwrap_or((no_fragment, ""));
    let (host, path) = match before.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
            None => (rest.to_string(), "/".to_string()),
        },
        None => (String::new(), before.to_string()),
    };
    let host = host
        .rsplit('@')
        .next()
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_string();
    let query = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (host, if path.is_empty() { "/".into() } else { path }, query)
}

/// A name that holds a credential: a password, a token, a key, a session.
fn credential(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "api-key",
        "access_key",
        "credential",
        "session",
    ]
    .iter()
    .any(|c| n.contains(c))
}

/// Whether a body condition holds a credential (a form field, or a JSON key anywhere).
fn holds_credentials(b: &BodyMatcher) -> bool {
    fn json(v: &Value) -> bool {
        match v {
            Value::Object(o) => o.iter().any(|(k, v)| credential(k) || json(v)),
            Value::Array(a) => a.iter().any(json),
            _ => false,
        }
    }
    match b {
        BodyMatcher::Form(fields) => fields.keys().any(|k| credential(k)),
        BodyMatcher::Json(v) => json(v),
        BodyMatcher::Equals(t) => form_urlencoded::parse(t.as_bytes()).any(|(k, _)| credential(&k)),
        _ => false,
    }
}

fn sorted_query(q: &[(String, String)]) -> String {
    let mut q = q.to_vec();
    q.sort();
    q.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn group(q: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in q {
        out.entry(k.clone()).or_default().push(v.clone());
    }
    out
}

fn request_body(req: &Value) -> Option<BodyMatcher> {
    let post = req.get("postData")?;
    let mime = post
        .get("mimeType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    if let Some(text) = post
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        if mime.contains("json")
            && let Ok(v) = serde_json::from_str::<Value>(text)
        {
            return Some(BodyMatcher::Json(v));
        }
        return Some(BodyMatcher::Equals(text.to_string()));
    }
    let params = post
        .get("params")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())?;
    if !mime.contains("x-www-form-urlencoded") {
        // Multipart fields have no condition of their own yet.
        return None;
    }
    let mut fields = BTreeMap::new();
    for p in params {
        if let (Some(k), Some(v)) = (
            p.get("name").and_then(Value::as_str),
            p.get("value").and_then(Value::as_str),
        ) {
            fields.insert(k.to_string(), StringMatcher::Equals(v.to_string()));
        }
    }
    Some(BodyMatcher::Form(fields))
}

fn response(
    resp: &Value,
    options: &Options,
    dropped: &mut usize,
    pointer: &str,
    warnings: &mut Vec<Warning>,
) -> HttpResponse {
    let status = resp
        .get("status")
        .and_then(Value::as_u64)
        .filter(|s| (100..=999).contains(s))
        .unwrap_or(200) as u16;
    let mut headers = BTreeMap::new();
    for h in resp
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(k), Some(v)) = (
            h.get("name").and_then(Value::as_str),
            h.get("value").and_then(Value::as_str),
        ) else {
            continue;
        };
        let lower = k.to_ascii_lowercase();
        if crate::TRANSFER_HEADERS.contains(&lower.as_str())
            || lower == "date"
            || lower.starts_with(':')
        {
            continue;
        }
        if lower == "set-cookie" && !options.credentials {
            *dropped += 1;
            continue;
        }
        if !crate::push_header(&mut headers, k, v.to_string()) {
            warnings.push(Warning {
                file: String::new(),
                pointer: format!("{pointer}/response/headers"),
                message: format!("the header {k:?} cannot be sent as recorded: left out"),
            });
        }
    }
    let content = &resp["content"];
    let body = match content.get("text").and_then(Value::as_str) {
        None | Some("") => None,
        Some(t) if content.get("encoding").and_then(Value::as_str) == Some("base64") => {
            Some(ResponseBody::Base64(t.to_string()))
        }
        Some(t) => Some(ResponseBody::Text(t.to_string())),
    };
    if body.is_none()
        && content
            .get("size")
            .and_then(Value::as_i64)
            .is_some_and(|s| s > 0)
    {
        warnings.push(Warning {
            file: String::new(),
            pointer: format!("{pointer}/response/content"),
            message: "the capture kept no body for this answer (the browser did not save it): the route answers without one".into(),
        });
    }
    HttpResponse {
        status,
        headers,
        body,
        ..HttpResponse::default()
    }
}
