//! The drift report: the routes of a service whose answers no longer keep a document's
//! word. For each route, its operation is found in the document (by the operation an
//! import recorded in its origin, else by its method and path template); each answer's
//! status must be documented, and a JSON body must be valid against the response schema
//! of its status.

use super::contract::Bundler;
use super::{METHODS, Reader, dialect};
use crate::refs::Docs;
use crate::{ImportError, Options, Sources, token};
use serde::Serialize;
use serde_json::Value;
use standin_model::{PathMatcher, ResponseBody, Route, StringMatcher};
use std::collections::HashMap;

/// The report.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Routes checked against an operation of the document.
    pub checked: usize,
    /// Routes whose method and path are not an operation of the document.
    pub unknown: Vec<String>,
    /// Routes with at least one problem.
    pub drifted: Vec<DriftedRoute>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftedRoute {
    pub id: String,
    pub operation: String,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The answer: `response`, or `alternatives/N`.
    pub answer: String,
    pub status: u16,
    /// JSON pointer into the answer's body, for a body that breaks its schema.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pointer: String,
    pub message: String,
}

/// Checks `routes` against the OpenAPI or Swagger document in `sources`.
pub fn drift(sources: &Sources, routes: &[Route]) -> Result<Drift, ImportError> {
    let docs = Docs::parse(sources)?;
    let file = docs.main_name().to_string();
    let dialect = dialect(&file, docs.main())?;
    let options = Options::default();
    let reader = Reader {
        docs: &docs,
        dialect,
        warnings: Vec::new(),
        options: &options,
    };
    // "GET /pets/{id}" → (file of the path item, the operation).
    let mut ops: HashMap<String, (String, &Value)> = HashMap::new();
    if let Some(paths) = docs.main().get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let Ok((item, item_file)) = docs.deref(&file, item) else {
                continue;
            };
            for m in METHODS {
                if let Some(op) = item.get(m) {
                    ops.insert(
                        format!("{} {path}", m.to_ascii_uppercase()),
                        (item_file.clone(), op),
                    );
                }
            }
        }
    }
    let mut report = Drift::default();
    for route in routes {
        let Some(key) = operation_key(route) else {
            continue;
        };
        let Some((op_file, op)) = ops.get(&key) else {
            report.unknown.push(route.id.clone());
            continue;
        };
        report.checked += 1;
        let problems = check(&reader, op_file, op, route);
        if !problems.is_empty() {
            report.drifted.push(DriftedRoute {
                id: route.id.clone(),
                operation: key,
                problems,
            });
        }
    }
    Ok(report)
}

/// `GET /pets/{id}`: the operation an import recorded, else the route's one method and
/// path template.
fn operation_key(route: &Route) -> Option<String> {
    if let Some(op) = route
        .origin
        .as_ref()
        .filter(|o| o.format == "openapi")
        .and_then(|o| o.document.get("operation"))
        .and_then(Value::as_str)
    {
        return Some(op.to_string());
    }
    let http = route.http.as_ref()?;
    let Some(StringMatcher::Equals(m)) = &http.request.method else {
        return None;
    };
    match &http.request.path {
        Some(PathMatcher::Pattern(p)) | Some(PathMatcher::Exact(p)) => {
            Some(format!("{} {p}", m.to_ascii_uppercase()))
        }
        _ => None,
    }
}

fn check(reader: &Reader<'_>, file: &str, op: &Value, route: &Route) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(http) = &route.http else { return out };
    let responses = op.get("responses").and_then(Value::as_object);
    for (i, answer) in std::iter::once(&http.response)
        .chain(&http.alternatives)
        .enumerate()
    {
        let label = if i == 0 {
            "response".to_string()
        } else {
            format!("alternatives/{}", i - 1)
        };
        let problem = |pointer: String, message: String| Problem {
            answer: label.clone(),
            status: answer.status,
            pointer,
            message,
        };
        let code = answer.status.to_string();
        let range = format!("{}XX", answer.status / 100);
        let documented = responses.and_then(|r| {
            r.get(&code)
                .map(|v| (code.clone(), v))
                .or_else(|| {
                    r.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&range))
                        .map(|(k, v)| (k.clone(), v))
                })
                .or_else(|| r.get("default").map(|v| ("default".to_string(), v)))
        });
        let Some((key, response)) = documented else {
            out.push(problem(
                String::new(),
                format!("status {} is not documented", answer.status),
            ));
            continue;
        };
        let Ok((response, rfile)) = reader.docs.deref(file, response) else {
            continue;
        };
        let Some(schema) = response_schema(reader, response) else {
            continue;
        };
        let Some(body) = json_body(answer) else {
            continue;
        };
        let mut bundler = Bundler::new(reader);
        let schema = bundler.schema(schema, &rfile);
        let Ok(validator) = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .build(&schema)
        else {
            continue;
        };
        for e in validator.iter_errors(&body).take(8) {
            out.push(problem(
                e.instance_path().to_string(),
                format!("{e} (responses/{})", token(&key)),
            ));
        }
    }
    out
}

/// The JSON schema of a response: 3.x's JSON media type, or 2.0's `schema`.
fn response_schema<'v>(reader: &Reader<'_>, response: &'v Value) -> Option<&'v Value> {
    match reader.dialect {
        super::Dialect::Swagger2 => response.get("schema"),
        super::Dialect::OpenApi3 => response
            .get("content")
            .and_then(Value::as_object)?
            .iter()
            .find(|(m, _)| m.contains("json") || m.as_str() == "*/*")
            .and_then(|(_, m)| m.get("schema")),
    }
}

fn json_body(answer: &standin_model::HttpResponse) -> Option<Value> {
    match answer.body.as_ref()? {
        ResponseBody::Json(v) => Some(v.clone()),
        ResponseBody::Text(t) => serde_json::from_str(t).ok(),
        ResponseBody::Base64(_) => None,
    }
}
