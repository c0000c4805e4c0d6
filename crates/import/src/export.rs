//! A service's routes written in other formats: OpenAPI 3.1 and Postman collections.
//! (WireMock mappings are in [`crate::wiremock`]; standin's own format in
//! [`crate::native`].) What a format cannot express comes back as a warning naming the
//! route and the field.

use crate::Warning;
use base64::Engine;
use serde_json::{Map, Value, json};
use standin_model::{HeaderValues, HttpResponse, PathMatcher, ResponseBody, Route, StringMatcher};

struct Warn<'a> {
    out: &'a mut Vec<Warning>,
}

impl Warn<'_> {
    fn add(&mut self, i: usize, route: &Route, field: &str, message: &str) {
        self.out.push(Warning {
            file: "export".into(),
            pointer: format!("/routes/{i}{field}"),
            message: format!("route {}: {message}", route.id),
        });
    }
}

/// The path of a route as an OpenAPI path template, when it has one.
fn template(path: Option<&PathMatcher>) -> Result<String, &'static str> {
    match path {
        None => Err("a route without a path condition has no OpenAPI path"),
        Some(PathMatcher::Pattern(p))
            if p.split('/')
                .any(|s| s == "*" || s == "**" || s.starts_with("{*")) =>
        {
            Err("a path with * or ** has no OpenAPI path template")
        }
        Some(PathMatcher::Pattern(p)) | Some(PathMatcher::Exact(p)) => {
            Ok(if p.is_empty() { "/".into() } else { p.clone() })
        }
        Some(PathMatcher::Regex(_)) => Err("a path regex has no OpenAPI path template"),
        Some(PathMatcher::Not(_)) => Err("a negated path has no OpenAPI path template"),
    }
}

/// A route's HTTP section and path template; a warning when it has no template.
fn exportable<'r>(
    w: &mut Warn<'_>,
    i: usize,
    route: &'r Route,
) -> Option<(&'r standin_model::HttpRoute, String)> {
    let http = route.http.as_ref()?;
    match template(http.request.path.as_ref()) {
        Ok(p) => Some((http, p)),
        Err(m) => {
            w.add(i, route, "/http/request/path", &format!("{m}: left out"));
            None
        }
    }
}

fn method(route: &Route) -> Option<String> {
    match &route.http.as_ref()?.request.method {
        Some(StringMatcher::Equals(m)) => Some(m.to_ascii_lowercase()),
        _ => None,
    }
}

fn content_type(r: &HttpResponse) -> String {
    for (k, v) in &r.headers {
        if k.eq_ignore_ascii_case("content-type") {
            return v.values().first().cloned().unwrap_or_default();
        }
    }
    match &r.body {
        Some(ResponseBody::Json(_)) => "application/json".into(),
        Some(ResponseBody::Base64(_)) => "application/octet-stream".into(),
        _ => "text/plain".into(),
    }
}

/// A response body as an OpenAPI example value: JSON as JSON (text that is JSON too, when
/// the content type says JSON), other text as a string.
fn example_value(r: &HttpResponse) -> Option<Value> {
    Some(match r.body.as_ref()? {
        ResponseBody::Json(v) => v.clone(),
        ResponseBody::Text(t) if content_type(r).contains("json") => {
            serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.clone()))
        }
        ResponseBody::Text(t) => Value::String(t.clone()),
        ResponseBody::Base64(b) => Value::String(b.clone()),
    })
}

/// Routes as an OpenAPI 3.1 document: one operation per route with a method and a path
/// template; every answer (default and alternatives) an example under its status.
pub fn openapi(title: &str, routes: &[Route]) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut w = Warn { out: &mut warnings };
    let mut paths = Map::new();
    for (i, route) in routes.iter().enumerate() {
        let Some((http, path)) = exportable(&mut w, i, route) else {
            continue;
        };
        let Some(method) = method(route) else {
            w.add(
                i,
                route,
                "/http/request/method",
                "an operation needs one method: left out",
            );
            continue;
        };
        let item = paths.entry(path.clone()).or_insert_with(|| json!({}));
        if item.get(&method).is_some() {
            w.add(
                i,
                route,
                "",
                &format!(
                    "{} {path} is already an operation (an earlier route): left out",
                    method.to_uppercase()
                ),
            );
            continue;
        }
        let mut parameters = Vec::new();
        for seg in path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                parameters.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
            }
        }
        for (place, map) in [
            ("query", &http.request.query),
            ("header", &http.request.headers),
            ("cookie", &http.request.cookies),
        ] {
            for (name, m) in map {
                let mut p = json!({"name": name, "in": place, "required": !matches!(m, StringMatcher::Present(false)), "schema": {"type": "string"}});
                if let StringMatcher::Equals(v) = m {
                    p["schema"]["enum"] = json!([v]);
                }
                parameters.push(p);
            }
        }
        let mut responses = Map::new();
        // status → content type → examples, in the route's order.
        let mut bodies: Vec<(String, String, Option<String>, Value)> = Vec::new();
        for r in std::iter::once(&http.response).chain(&http.alternatives) {
            let status = r.status.to_string();
            let entry = responses.entry(status.clone()).or_insert_with(|| {
                json!({"description": r.reason.clone().unwrap_or_else(|| reason(r.status).to_string())})
            });
            let headers: Map<String, Value> = r
                .headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
                .map(|(k, v)| {
                    (
                        k.clone(),
                        json!({"schema": {"type": "string"}, "example": v.values().first()}),
                    )
                })
                .collect();
            if !headers.is_empty() && entry.get("headers").is_none() {
                entry["headers"] = Value::Object(headers);
            }
            if let Some(value) = example_value(r) {
                bodies.push((status, content_type(r), r.name.clone(), value));
            }
        }
        for (k, (status, ct, name, value)) in bodies.iter().enumerate() {
            let siblings = bodies
                .iter()
                .filter(|(s, c, _, _)| s == status && c == ct)
                .count();
            let media = &mut responses[status.as_str()]["content"][ct.as_str()];
            match name {
                // One unnamed answer for a status is the `example`.
                None if siblings == 1 => media["example"] = value.clone(),
                _ => {
                    let name = name.clone().unwrap_or_else(|| format!("example{}", k + 1));
                    media["examples"][name.as_str()] = json!({"value": value});
                }
            }
        }
        let mut op = json!({"operationId": route.id, "responses": responses});
        if !route.name.is_empty() {
            op["summary"] = json!(route.name);
        }
        if !route.memo.is_empty() {
            op["description"] = json!(route.memo);
        }
        if !route.tags.is_empty() {
            op["tags"] = json!(route.tags);
        }
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if http.request.body.is_some() {
            w.add(
                i,
                route,
                "/http/request/body",
                "body conditions have no OpenAPI counterpart: left out",
            );
        }
        item[&method] = op;
    }
    let doc = json!({"openapi": "3.1.0", "info": {"title": title, "version": "1"}, "paths": paths});
    (doc, warnings)
}

/// A status's standard reason, for descriptions.
fn reason(status: u16) -> &'static str {
    http_reason(status).unwrap_or("Response")
}

fn http_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

/// Routes as a Postman v2.1 collection: one request per route with a method and a path
/// template (`{id}` becomes `:id`), its answers as saved examples; `{{baseUrl}}` is the
/// service's URL on the mock listener.
pub fn postman(title: &str, base_url: &str, routes: &[Route]) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut w = Warn { out: &mut warnings };
    let mut items = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let Some((http, path)) = exportable(&mut w, i, route) else {
            continue;
        };
        let method = method(route).unwrap_or_else(|| {
            w.add(
                i,
                route,
                "/http/request/method",
                "no single method: exported as GET",
            );
            "get".into()
        });
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                    Some(name) => format!(":{name}"),
                    None => s.to_string(),
                },
            )
            .collect();
        let variables: Vec<Value> = segments
            .iter()
            .filter_map(|s| s.strip_prefix(':'))
            .map(|n| json!({"key": n, "value": ""}))
            .collect();
        let query: Vec<Value> = http
            .request
            .query
            .iter()
            .filter_map(|(k, m)| match m {
                StringMatcher::Equals(v) => Some(json!({"key": k, "value": v})),
                _ => None,
            })
            .collect();
        let raw_query = if query.is_empty() {
            String::new()
        } else {
            format!(
                "?{}",
                query
                    .iter()
                    .map(|q| format!(
                        "{}={}",
                        q["key"].as_str().unwrap_or(""),
                        q["value"].as_str().unwrap_or("")
                    ))
                    .collect::<Vec<_>>()
                    .join("&")
            )
        };
        let url = json!({
            "raw": format!("{{{{baseUrl}}}}/{}{raw_query}", segments.join("/")),
            "host": ["{{baseUrl}}"],
            "path": segments,
            "query": query,
            "variable": variables,
        });
        let headers: Vec<Value> = http
            .request
            .headers
            .iter()
            .filter_map(|(k, m)| match m {
                StringMatcher::Equals(v) => Some(json!({"key": k, "value": v})),
                _ => None,
            })
            .collect();
        let request = json!({"method": method.to_uppercase(), "header": headers, "url": url, "description": route.memo});
        let mut examples = Vec::new();
        for (n, r) in std::iter::once(&http.response)
            .chain(&http.alternatives)
            .enumerate()
        {
            let body = match &r.body {
                None => String::new(),
                Some(ResponseBody::Text(t)) => t.clone(),
                Some(ResponseBody::Json(v)) => {
                    serde_json::to_string_pretty(v).expect("JSON values serialize")
                }
                Some(ResponseBody::Base64(b)) => {
                    match base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .ok()
                        .and_then(|v| String::from_utf8(v).ok())
                    {
                        Some(t) => t,
                        None => {
                            w.add(
                                i,
                                route,
                                "/http/response/body",
                                "a binary body cannot be a saved example: left out",
                            );
                            String::new()
                        }
                    }
                }
            };
            let mut header: Vec<Value> = Vec::new();
            for (k, v) in &r.headers {
                let vals: &[String] = match v {
                    HeaderValues::One(s) => std::slice::from_ref(s),
                    HeaderValues::Many(a) => a,
                };
                for val in vals {
                    header.push(json!({"key": k, "value": val}));
                }
            }
            if !r
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
                && r.body.is_some()
            {
                header.push(json!({"key": "Content-Type", "value": content_type(r)}));
            }
            examples.push(json!({
                "name": r.name.clone().unwrap_or_else(|| if n == 0 { "default".into() } else { format!("example{}", n + 1) }),
                "originalRequest": request,
                "status": r.reason.clone().unwrap_or_else(|| reason(r.status).to_string()),
                "code": r.status,
                "header": header,
                "body": body,
            }));
        }
        items.push(json!({
            "name": if route.name.is_empty() { route.id.clone() } else { route.name.clone() },
            "request": request,
            "response": examples,
        }));
    }
    let doc = json!({
        "info": {"name": title, "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "item": items,
        "variable": [{"key": "baseUrl", "value": base_url}],
    });
    (doc, warnings)
}
