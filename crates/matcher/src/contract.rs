//! Request contracts: what a valid request looks like (an OpenAPI operation's parameters
//! and body), compiled once, checked per request when the service validates requests.

use crate::{CompileError, Request};
use http::HeaderName;
use serde::Serialize;
use serde_json::Value;
use standin_eval::PathValues;
use standin_model::{ParameterIn, RequestContract};

/// A contract with its schemas compiled.
#[derive(Debug)]
pub struct CompiledContract {
    params: Vec<Param>,
    body: Option<Body>,
}

#[derive(Debug)]
struct Param {
    name: String,
    header: Option<HeaderName>,
    location: ParameterIn,
    required: bool,
    shape: Shape,
    validator: Option<jsonschema::Validator>,
}

#[derive(Debug)]
struct Body {
    required: bool,
    media_types: Vec<String>,
    validator: Option<jsonschema::Validator>,
}

/// How a parameter's text is read before it is checked.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Text,
    Number,
    Boolean,
    /// An array of the inner scalar shape: repeated values, or one value split at commas.
    List(Scalar),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    Text,
    Number,
    Boolean,
}

/// One way a request breaks its route's contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// `path`, `query`, `header`, `cookie` or `body`.
    #[serde(rename = "in")]
    pub location: &'static str,
    /// The parameter, for parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// JSON pointer into the parameter's value or the body.
    pub pointer: String,
    pub message: String,
}

fn validator(schema: &Value, pointer: &str) -> Result<jsonschema::Validator, CompileError> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .map_err(|e| CompileError::new(pointer, format!("invalid JSON Schema: {e}")))
}

fn scalar(t: Option<&str>) -> Scalar {
    match t {
        Some("integer" | "number") => Scalar::Number,
        Some("boolean") => Scalar::Boolean,
        _ => Scalar::Text,
    }
}

fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn shape(schema: Option<&Value>) -> Shape {
    let Some(s) = schema else { return Shape::Text };
    match type_of(s) {
        Some("array") => Shape::List(scalar(s.get("items").and_then(type_of))),
        Some("integer" | "number") => Shape::Number,
        Some("boolean") => Shape::Boolean,
        _ => Shape::Text,
    }
}

impl CompiledContract {
    pub fn compile(c: &RequestContract, pointer: &str) -> Result<Self, CompileError> {
        let mut params = Vec::with_capacity(c.parameters.len());
        for (i, p) in c.parameters.iter().enumerate() {
            let at = format!("{pointer}/parameters/{i}/schema");
            params.push(Param {
                name: p.name.clone(),
                header: match p.location {
                    ParameterIn::Header => {
                        Some(HeaderName::from_bytes(p.name.as_bytes()).map_err(|_| {
                            CompileError::new(
                                &format!("{pointer}/parameters/{i}/name"),
                                format!("\"{}\" is not a header name", p.name),
                            )
                        })?)
                    }
                    _ => None,
                },
                location: p.location,
                required: p.required || p.location == ParameterIn::Path,
                shape: shape(p.schema.as_ref()),
                validator: p.schema.as_ref().map(|s| validator(s, &at)).transpose()?,
            });
        }
        let body = match &c.body {
            None => None,
            Some(b) => Some(Body {
                required: b.required,
                media_types: b
                    .media_types
                    .iter()
                    .map(|m| m.to_ascii_lowercase())
                    .collect(),
                validator: b
                    .schema
                    .as_ref()
                    .map(|s| validator(s, &format!("{pointer}/body/schema")))
                    .transpose()?,
            }),
        };
        Ok(CompiledContract { params, body })
    }

    /// Every way `req` breaks the contract; empty when it keeps it.
    pub fn check(&self, req: &Request<'_>, path_values: &PathValues) -> Vec<Violation> {
        let mut out = Vec::new();
        for p in &self.params {
            let values: Vec<String> = match p.location {
                ParameterIn::Path => path_values
                    .iter()
                    .filter(|(k, _)| **k == *p.name)
                    .map(|(_, v)| v.clone())
                    .collect(),
                ParameterIn::Query => req
                    .query_values(&p.name)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                ParameterIn::Header => p
                    .header
                    .as_ref()
                    .map(|h| {
                        req.header_values(h)
                            .into_iter()
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                ParameterIn::Cookie => req
                    .cookie_values(&p.name)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            };
            let location = p.location.as_str();
            if values.is_empty() {
                if p.required {
                    out.push(Violation {
                        location,
                        name: Some(p.name.clone()),
                        pointer: String::new(),
                        message: "is required".into(),
                    });
                }
                continue;
            }
            let Some(v) = &p.validator else { continue };
            let value = read(p.shape, &values);
            for e in v.iter_errors(&value).take(8) {
                out.push(Violation {
                    location,
                    name: Some(p.name.clone()),
                    pointer: e.instance_path().to_string(),
                    message: e.to_string(),
                });
            }
        }
        if let Some(b) = &self.body {
            self.check_body(b, req, &mut out);
        }
        out
    }

    fn check_body(&self, b: &Body, req: &Request<'_>, out: &mut Vec<Violation>) {
        let violation = |pointer: String, message: String| Violation {
            location: "body",
            name: None,
            pointer,
            message,
        };
        if req.body.is_empty() {
            if b.required {
                out.push(violation(String::new(), "a body is required".into()));
            }
            return;
        }
        let ct = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if !b.media_types.is_empty() && !b.media_types.iter().any(|m| media_matches(m, &ct)) {
            out.push(violation(
                String::new(),
                format!(
                    "Content-Type \"{ct}\" is not one of {}",
                    b.media_types.join(", ")
                ),
            ));
            return;
        }
        let Some(v) = &b.validator else { return };
        if !(ct.is_empty() || ct.contains("json")) {
            return;
        }
        match req.json(req.budget()) {
            None => out.push(violation(String::new(), "the body is not JSON".into())),
            Some(json) => {
                for e in v.iter_errors(json).take(16) {
                    out.push(violation(e.instance_path().to_string(), e.to_string()));
                }
            }
        }
    }
}

fn media_matches(declared: &str, actual: &str) -> bool {
    declared == "*/*"
        || declared == actual
        || declared
            .strip_suffix("/*")
            .is_some_and(|prefix| actual.starts_with(&format!("{prefix}/")))
}

fn read_scalar(s: Scalar, text: &str) -> Value {
    match s {
        Scalar::Number => text
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or_else(|| Value::String(text.to_string())),
        Scalar::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        Scalar::Text => Value::String(text.to_string()),
    }
}

/// A parameter's text as the value its schema describes.
fn read(shape: Shape, values: &[String]) -> Value {
    match shape {
        Shape::Text => Value::String(values[0].clone()),
        Shape::Number => read_scalar(Scalar::Number, &values[0]),
        Shape::Boolean => read_scalar(Scalar::Boolean, &values[0]),
        Shape::List(inner) => {
            let items: Vec<&str> = if values.len() == 1 {
                values[0].split(',').collect()
            } else {
                values.iter().map(String::as_str).collect()
            };
            Value::Array(items.into_iter().map(|t| read_scalar(inner, t)).collect())
        }
    }
}
