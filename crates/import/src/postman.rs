//! Postman collections (v2.0 and v2.1): one route per request, answered by its saved
//! examples.
//!
//! A request item becomes a route matching its method and path (`:id` and unresolved
//! `{{var}}` segments become path values); its first saved example answers by default and
//! the others are alternatives, picked by `Prefer: example=NAME` or `code=N` (or
//! Postman's own `x-mock-response-name` / `x-mock-response-code` headers). Folders become
//! tags. `{{variables}}` resolve from an environment file given beside the collection,
//! then from the collection's own variables.

use crate::openapi::paths;
use crate::refs::Docs;
use crate::{Format, ImportError, Imported, Warning, plan};
use serde_json::{Value, json};
use standin_model::{
    HttpRequestMatcher, HttpResponse, HttpRoute, Origin, ResponseBody, Route, StringMatcher,
};
use std::collections::BTreeMap;

/// Whether a parsed document is a Postman collection.
pub(crate) fn looks_like(doc: &Value) -> bool {
    doc.pointer("/info/schema")
        .and_then(Value::as_str)
        .is_some_and(|s| s.contains("getpostman.com") || s.contains("collection"))
        || (doc.get("info").is_some() && doc.get("item").is_some_and(Value::is_array))
}

/// Whether a parsed document is a Postman environment.
fn is_environment(doc: &Value) -> bool {
    doc.get("values").is_some_and(Value::is_array)
        && (doc.get("_postman_variable_scope").is_some() || doc.get("name").is_some())
}

struct Reader {
    file: String,
    vars: BTreeMap<String, String>,
    warnings: Vec<Warning>,
    ids: crate::Ids,
    routes: Vec<Route>,
}

pub(crate) fn read(docs: &Docs) -> Result<Imported, ImportError> {
    let file = docs.main_name().to_string();
    let doc = docs.main();
    let mut vars = BTreeMap::new();
    for v in doc
        .get("variable")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if v.get("disabled") == Some(&Value::Bool(true)) {
            continue;
        }
        if let (Some(k), Some(val)) = (v.get("key").and_then(Value::as_str), v.get("value")) {
            vars.insert(k.to_string(), text(val));
        }
    }
    // An environment overrides the collection's variables, as in Postman.
    for name in docs.names() {
        let Some(env) = docs.get_file(name).filter(|d| is_environment(d)) else {
            continue;
        };
        for v in env["values"].as_array().into_iter().flatten() {
            if v.get("enabled") == Some(&Value::Bool(false)) {
                continue;
            }
            if let (Some(k), Some(val)) = (v.get("key").and_then(Value::as_str), v.get("value")) {
                vars.insert(k.to_string(), text(val));
            }
        }
    }
    let Some(items) = doc.get("item").and_then(Value::as_array) else {
        return Err(ImportError::at(
            &file,
            "/item",
            "a collection has an \"item\" array",
        ));
    };
    let mut reader = Reader {
        file,
        vars,
        warnings: Vec::new(),
        ids: crate::Ids::default(),
        routes: Vec::new(),
    };
    walk(&mut reader, items, "/item", &[])?;
    Ok(Imported {
        source: String::new(),
        format: Format::Postman,
        title: doc
            .pointer("/info/name")
            .and_then(Value::as_str)
            .map(str::to_string),
        routes: reader.routes,
        warnings: reader.warnings,
    })
}

fn walk(
    r: &mut Reader,
    items: &[Value],
    pointer: &str,
    folders: &[String],
) -> Result<(), ImportError> {
    for (i, item) in items.iter().enumerate() {
        let p = format!("{pointer}/{i}");
        if let Some(children) = item.get("item").and_then(Value::as_array) {
            let mut inner = folders.to_vec();
            if let Some(name) = item.get("name").and_then(Value::as_str) {
                inner.push(name.to_string());
            }
            walk(r, children, &format!("{p}/item"), &inner)?;
        } else if item.get("request").is_some() {
            let route = request_route(r, &p, item, folders)?;
            r.routes.push(route);
        } else {
            r.warn(&p, "an item with neither a request nor items: skipped");
        }
    }
    Ok(())
}

impl Reader {
    fn warn(&mut self, pointer: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            file: self.file.clone(),
            pointer: pointer.to_string(),
            message: message.into(),
        });
    }

    /// `{{name}}` replaced by the variable's value; unknown names are left as written.
    fn resolve(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find("}}") else {
                out.push_str(&rest[open..]);
                return out;
            };
            let name = &rest[open + 2..open + close];
            match self.vars.get(name.trim()) {
                Some(v) => out.push_str(v),
                None => out.push_str(&rest[open..open + close + 2]),
            }
            rest = &rest[open + close + 2..];
        }
        out.push_str(rest);
        out
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn request_route(
    r: &mut Reader,
    pointer: &str,
    item: &Value,
    folders: &[String],
) -> Result<Route, ImportError> {
    let request = &item["request"];
    // v2.0 and v2.1 allow a request to be just its URL.
    let (method, url) = match request {
        Value::String(u) => ("GET".to_string(), Value::String(u.clone())),
        Value::Object(o) => (
            o.get("method")
                .and_then(Value::as_str)
                .unwrap_or("GET")
                .to_ascii_uppercase(),
            o.get("url").cloned().unwrap_or(Value::Null),
        ),
        _ => {
            return Err(ImportError::at(
                &r.file,
                &format!("{pointer}/request"),
                "a request is an object or a URL",
            ));
        }
    };
    let path = path_of(r, &url);
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let raw_id = item
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "{}-{}",
                method.to_ascii_lowercase(),
                slug(&format!("{}/{name}", folders.join("/")))
            )
        });
    let id = unique(&raw_id, &mut r.ids);
    let mut answers = Vec::new();
    for (j, resp) in item
        .get("response")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        answers.push(saved_example(r, &format!("{pointer}/response/{j}"), resp));
    }
    if answers.is_empty() {
        r.warn(
            &format!("{pointer}/response"),
            "no saved example: the route answers 200 with no body",
        );
        answers.push(HttpResponse::default());
    }
    let default = answers.remove(0);
    let memo = match request.get("description") {
        Some(Value::String(s)) => s.clone(),
        Some(d) => d
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        None => String::new(),
    };
    let mut route = Route {
        scenario: None,
        fallback: false,
        id,
        name: if name.is_empty() {
            format!("{method} {path}")
        } else {
            name
        },
        memo,
        priority: 0,
        enabled: true,
        times: None,
        tags: folders.to_vec(),
        expires_at: None,
        origin: Some(Origin {
            format: "postman".into(),
            document: json!({"operation": format!("{method} {path}"), "pointer": pointer}),
        }),
        http: Some(HttpRoute {
            sequence: None,
            request: HttpRequestMatcher {
                method: Some(StringMatcher::Equals(method)),
                path: Some(paths::matcher(&path)),
                ..HttpRequestMatcher::default()
            },
            response: default,
            alternatives: answers,
            forward: None,
            contract: None,
        }),
    };
    plan::stamp(&mut route);
    Ok(route)
}

/// The URL's path as a template: `:id` and unresolved `{{var}}` segments become `{id}`.
fn path_of(r: &Reader, url: &Value) -> String {
    let segments: Vec<String> = match url {
        Value::String(raw) => raw_path(&r.resolve(raw)),
        Value::Object(o) => match o.get("path") {
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|p| r.resolve(&text(p.get("value").unwrap_or(p))))
                .collect(),
            Some(Value::String(p)) => r.resolve(p).split('/').map(str::to_string).collect(),
            _ => raw_path(&r.resolve(o.get("raw").and_then(Value::as_str).unwrap_or(""))),
        },
        _ => Vec::new(),
    };
    let mut out = String::new();
    for seg in segments.iter().filter(|s| !s.is_empty()) {
        out.push('/');
        if let Some(name) = seg.strip_prefix(':') {
            out.push_str(&format!("{{{name}}}"));
        } else if let Some(name) = seg.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")) {
            out.push_str(&format!("{{{}}}", name.trim()));
        } else {
            out.push_str(seg);
        }
    }
    if out.is_empty() { "/".into() } else { out }
}

/// The path segments of a raw URL (`{{baseUrl}}/pets/:id?x=1`, `https://h/a`).
fn raw_path(raw: &str) -> Vec<String> {
    let no_query = raw.split(['?', '#']).next().unwrap_or("");
    let after_scheme = no_query
        .split_once("://")
        .map_or(no_query, |(_, rest)| rest);
    let mut parts: Vec<&str> = after_scheme.split('/').collect();
    // The first part is the host (or a {{baseUrl}} standing for it).
    if !parts.is_empty() && !raw.starts_with('/') {
        parts.remove(0);
    }
    parts.into_iter().map(str::to_string).collect()
}

fn saved_example(r: &mut Reader, pointer: &str, resp: &Value) -> HttpResponse {
    let status = resp
        .get("code")
        .and_then(Value::as_u64)
        .filter(|c| (100..=999).contains(c))
        .unwrap_or(200) as u16;
    let mut headers = BTreeMap::new();
    let list: Vec<&Value> = match resp.get("header") {
        Some(Value::Array(h)) => h.iter().collect(),
        _ => Vec::new(),
    };
    for h in list {
        if h.get("disabled") == Some(&Value::Bool(true)) {
            continue;
        }
        let (Some(k), Some(v)) = (h.get("key").and_then(Value::as_str), h.get("value")) else {
            continue;
        };
        if crate::TRANSFER_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
            continue;
        }
        if !crate::push_header(&mut headers, k, r.resolve(&text(v))) {
            r.warn(
                &format!("{pointer}/header"),
                format!("the header {k:?} cannot be sent: left out"),
            );
        }
    }
    let body = match resp.get("body") {
        Some(Value::String(b)) if !b.is_empty() => Some(ResponseBody::Text(r.resolve(b))),
        Some(Value::String(_)) | None | Some(Value::Null) => None,
        Some(other) => {
            r.warn(
                &format!("{pointer}/body"),
                "a saved body that is not text is sent as JSON text",
            );
            Some(ResponseBody::Text(other.to_string()))
        }
    };
    HttpResponse {
        status,
        name: resp.get("name").and_then(Value::as_str).map(str::to_string),
        headers,
        body,
        ..HttpResponse::default()
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(100).collect();
    if out.is_empty() {
        "request".into()
    } else {
        out
    }
}

fn unique(raw: &str, ids: &mut crate::Ids) -> String {
    let base: String = raw
        .chars()
        .map(|c| {
            if c == '/' || c.is_whitespace() || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .take(110)
        .collect();
    let base = if base.is_empty() || base == "." || base == ".." {
        "request".to_string()
    } else {
        base
    };
    ids.unique(base)
}
