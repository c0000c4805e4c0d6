//! OpenAPI 3.0, 3.1 and Swagger 2.0: one route per operation.
//!
//! A route matches the operation's method and path (path parameters become `{name}`
//! segments, or a regex with named groups where a parameter shares a segment with
//! text). Its `response` is the first 2xx response with its first example; every other
//! documented status and named example is an alternative the client picks with
//! `Prefer: code=404` or `Prefer: example=name`. A response without an example gets a
//! body generated from its schema ([`crate::generate`]).
//!
//! The reader is lenient where real documents are messy (numeric status codes, a
//! `nullable` in a 3.1 document, unknown keys) and says what it could not carry over as
//! [`Warning`]s with their pointers.

mod contract;
pub(crate) mod drift;
pub(crate) mod paths;
mod responses;

use crate::generate::Generator;
use crate::refs::Docs;
use crate::{BasePath, Format, ImportError, Imported, Options, Warning, plan, token};
use serde_json::{Value, json};
use standin_model::{HttpRequestMatcher, HttpRoute, Origin, Route, StringMatcher};

/// The methods an OpenAPI path item can hold, in the order routes are made.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The dialect of the document, which decides where responses keep their schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Swagger2,
    OpenApi3,
}

pub(crate) struct Reader<'a> {
    pub(crate) docs: &'a Docs,
    pub(crate) dialect: Dialect,
    pub(crate) warnings: Vec<Warning>,
    pub(crate) options: &'a Options,
}

impl Reader<'_> {
    pub(crate) fn warn(&mut self, file: &str, pointer: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            file: file.to_string(),
            pointer: pointer.to_string(),
            message: message.into(),
        });
    }

    pub(crate) fn main_file(&self) -> &str {
        self.docs.main_name()
    }
}

/// Reads an OpenAPI or Swagger document into routes.
pub(crate) fn read(docs: &Docs, options: &Options) -> Result<Imported, ImportError> {
    let file = docs.main_name().to_string();
    let doc = docs.main();
    let dialect = dialect(&file, doc)?;
    let mut reader = Reader {
        docs,
        dialect,
        warnings: Vec::new(),
        options,
    };
    let base = match options.base_path {
        BasePath::Drop => String::new(),
        BasePath::Keep => base_path(doc, dialect),
    };
    let mut routes = Vec::new();
    let mut ids = crate::Ids::default();
    let mut total = 0usize;
    let Some(paths) = doc.get("paths") else {
        reader.warn(
            &file,
            "",
            "the document has no \"paths\": nothing to import",
        );
        return Ok(finish(doc, routes, reader));
    };
    let Some(paths) = paths.as_object() else {
        return Err(ImportError::at(
            &file,
            "/paths",
            "\"paths\" must be an object",
        ));
    };
    for (path, item) in paths {
        let item_pointer = format!("/paths/{}", token(path));
        if !path.starts_with('/') {
            reader.warn(
                &file,
                &item_pointer,
                format!("the path \"{path}\" does not start with '/': skipped"),
            );
            continue;
        }
        let (item, item_file) = docs
            .deref(&file, item)
            .map_err(|m| ImportError::at(&file, &item_pointer, m))?;
        let Some(item_obj) = item.as_object() else {
            return Err(ImportError::at(
                &file,
                &item_pointer,
                "a path item must be an object",
            ));
        };
        for method in METHODS {
            let Some(op) = item_obj.get(method) else {
                continue;
            };
            let pointer = format!("{item_pointer}/{method}");
            let route = operation(
                &mut reader,
                &item_file,
                &pointer,
                &base,
                path,
                method,
                op,
                &mut ids,
                item,
            )?;
            // A small document can make huge routes (one large example or schema used by
            // every operation): the total is bounded as it grows.
            total += serde_json::to_vec(&route).map_or(0, |v| v.len());
            if total > crate::MAX_ROUTE_BYTES {
                return Err(ImportError::at(
                    &file,
                    &pointer,
                    format!(
                        "the routes made so far hold more than {} MiB: split the document, or use fewer shared examples",
                        crate::MAX_ROUTE_BYTES >> 20
                    ),
                ));
            }
            routes.push(route);
        }
    }
    Ok(finish(doc, routes, reader))
}

fn finish(doc: &Value, routes: Vec<Route>, reader: Reader<'_>) -> Imported {
    Imported {
        source: String::new(),
        format: Format::Openapi,
        title: doc
            .pointer("/info/title")
            .and_then(Value::as_str)
            .map(str::to_string),
        routes,
        warnings: reader.warnings,
    }
}

pub(crate) fn dialect(file: &str, doc: &Value) -> Result<Dialect, ImportError> {
    if let Some(v) = doc.get("openapi") {
        let v = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        return if v.starts_with("3.") {
            Ok(Dialect::OpenApi3)
        } else {
            Err(ImportError::at(
                file,
                "/openapi",
                format!(
                    "OpenAPI \"{v}\" is not a version standin reads: 3.0, 3.1 (and Swagger 2.0)"
                ),
            ))
        };
    }
    match doc.get("swagger") {
        Some(v) if v.as_str() == Some("2.0") || v.as_f64() == Some(2.0) => Ok(Dialect::Swagger2),
        Some(v) => Err(ImportError::at(
            file,
            "/swagger",
            format!("Swagger {v} is not a version standin reads: 2.0 (and OpenAPI 3.0, 3.1)"),
        )),
        None => Err(ImportError::at(
            file,
            "",
            "neither \"openapi\" nor \"swagger\" is at the top of the document",
        )),
    }
}

/// The path part of the first server (3.x, with its variables' defaults) or `basePath` (2.0).
fn base_path(doc: &Value, dialect: Dialect) -> String {
    let raw = match dialect {
        Dialect::Swagger2 => doc
            .get("basePath")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        Dialect::OpenApi3 => {
            let Some(server) = doc.pointer("/servers/0") else {
                return String::new();
            };
            let raw = server.get("url").and_then(Value::as_str).unwrap_or("");
            let vars = server.get("variables").and_then(Value::as_object);
            // One pass over the URL: a default is never read again for more variables.
            let mut url = String::with_capacity(raw.len());
            let mut rest = raw;
            while let Some(open) = rest.find('{') {
                url.push_str(&rest[..open]);
                let Some(close) = rest[open..].find('}') else {
                    break;
                };
                let name = &rest[open + 1..open + close];
                let default = vars
                    .and_then(|v| v.get(name))
                    .and_then(|v| v.get("default"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                url.push_str(default);
                rest = &rest[open + close + 1..];
            }
            url.push_str(rest);
            match url.split_once("://") {
                Some((_, rest)) => rest
                    .find('/')
                    .map_or(String::new(), |i| rest[i..].to_string()),
                None => url,
            }
        }
    };
    let trimmed = raw.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "/" {
        String::new()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

#[allow(clippy::too_many_arguments)]
fn operation(
    reader: &mut Reader<'_>,
    file: &str,
    pointer: &str,
    base: &str,
    path: &str,
    method: &str,
    op: &Value,
    ids: &mut crate::Ids,
    item: &Value,
) -> Result<Route, ImportError> {
    let main = reader.main_file().to_string();
    let Some(o) = op.as_object() else {
        return Err(ImportError::at(
            &main,
            pointer,
            "an operation must be an object",
        ));
    };
    let upper = method.to_ascii_uppercase();
    let operation_id = o.get("operationId").and_then(Value::as_str);
    let id = unique_id(
        operation_id.map_or_else(|| format!("{method}{path}"), str::to_string),
        ids,
    );
    let seed = reader.options.seed ^ fnv(id.as_bytes());
    let docs = reader.docs;
    let mut generator = Generator::new(docs, seed);
    let answers = responses::read(reader, &mut generator, file, pointer, o)?;
    let full_path = format!("{base}{path}");
    let path_is_regex = matches!(
        paths::matcher(&format!("{base}{path}")),
        standin_model::PathMatcher::Regex(_)
    );
    let request = HttpRequestMatcher {
        method: Some(StringMatcher::Equals(upper.clone())),
        path: Some(paths::matcher(&full_path)),
        ..Default::default()
    };
    let name = o
        .get("summary")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .or(operation_id)
        .map_or_else(|| format!("{upper} {path}"), |s| s.trim().to_string());
    let memo = o
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let tags = o
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut document = json!({ "operation": format!("{upper} {path}"), "pointer": pointer });
    if let Some(op_id) = operation_id {
        document["operationId"] = json!(op_id);
    }
    let mut route = Route {
        scenario: None,
        fallback: false,
        id,
        name,
        memo,
        priority: 0,
        enabled: true,
        times: None,
        tags,
        expires_at: None,
        origin: Some(Origin {
            format: "openapi".to_string(),
            document,
        }),
        http: Some(HttpRoute {
            sequence: None,
            request,
            response: answers.default,
            alternatives: answers.alternatives,
            forward: None,
            contract: contract::contract(reader, file, pointer, item, o).map(|mut c| {
                // A template that became a regex captures its parameters under group names.
                if path_is_regex {
                    for p in &mut c.parameters {
                        if p.location == standin_model::ParameterIn::Path {
                            p.name = paths::group_name(&p.name);
                        }
                    }
                }
                c
            }),
        }),
    };
    plan::stamp(&mut route);
    Ok(route)
}

/// A route id from an operation id or a method and path: letters, digits, `-`, `_` and
/// `.`, at most 100 characters, made unique with a counter.
fn unique_id(raw: String, ids: &mut crate::Ids) -> String {
    let mut id = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let mut id: String = id.trim_matches('-').chars().take(100).collect();
    if id.is_empty() || id == "." || id == ".." {
        id = "operation".to_string();
    }
    ids.unique(id)
}

/// FNV-1a: a stable hash for seeds and fingerprints (std's hasher may change between
/// releases, and fingerprints are stored).
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
