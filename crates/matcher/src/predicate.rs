//! Compiled conditions on strings and bodies. Everything that can fail to compile (regexes,
//! JSONPath, JSON Schema) is compiled here, once, when a route is published.

use crate::CompileError;
use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;
use standin_eval::json::{json_contains_in, json_eq_in, shape};
use standin_eval::parse::ellipsize;
use standin_eval::{Budget, Request};
use standin_model::{BodyMatcher, StringMatcher};

/// Compiles a user regex so that it must match the whole input.
pub(crate) fn full_regex(user: &str, pointer: &str) -> Result<Regex, CompileError> {
    Regex::new(&format!("^(?:{user})$")).map_err(|e| {
        CompileError::new(
            pointer,
            format!("invalid regex \"{user}\": {}", first_line(&e.to_string())),
        )
    })
}

/// A compiled JSON Schema and what one validation may cost per instance node.
#[derive(Debug)]
pub(crate) struct Schema {
    validator: jsonschema::Validator,
    /// Values in the schema document: validation visits each instance node with at most
    /// this many keywords, which bounds its work (the estimate charged before validating;
    /// the validator itself cannot be interrupted).
    weight: u64,
}

impl Schema {
    fn is_valid(&self, instance: &Value, budget: &Budget) -> bool {
        let (nodes, _) = shape(instance);
        budget.spend(nodes.saturating_mul(self.weight)) && self.validator.is_valid(instance)
    }
}

/// Compiles a JSON Schema condition (formats are checked, as MockServer checks them);
/// errors point at `{pointer}/jsonSchema`. Patterns use the linear-time `regex` engine:
/// a backtracking engine would let one request run for hours.
fn schema_validator(schema: &Value, pointer: &str) -> Result<Schema, CompileError> {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .map_err(|e| {
            CompileError::new(
                &format!("{pointer}/jsonSchema"),
                format!("invalid JSON Schema: {e}"),
            )
        })?;
    Ok(Schema {
        validator,
        weight: shape(schema).0.max(1),
    })
}

/// The regex as the user wrote it, without the anchors `full_regex` added.
pub(crate) fn user_regex(r: &Regex) -> &str {
    let s = r.as_str();
    s.strip_prefix("^(?:")
        .and_then(|x| x.strip_suffix(")$"))
        .unwrap_or(s)
}

fn first_line(s: &str) -> String {
    // regex errors draw a caret diagram over several lines; keep them on one.
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A compiled [`StringMatcher`].
#[derive(Debug)]
pub(crate) enum StrCond {
    Equals(String),
    EqualsIgnoreCase(String),
    Contains(String),
    Regex(Regex),
    Present(bool),
    JsonSchema(Box<Schema>),
    Not(Box<StrCond>),
    AnyOf(Vec<StrCond>),
    AllOf(Vec<StrCond>),
    Each(Box<StrCond>),
}

impl StrCond {
    pub(crate) fn compile(m: &StringMatcher, pointer: &str) -> Result<Self, CompileError> {
        Ok(match m {
            StringMatcher::Equals(v) => StrCond::Equals(v.clone()),
            StringMatcher::EqualsIgnoreCase(v) => StrCond::EqualsIgnoreCase(v.clone()),
            StringMatcher::Contains(v) => StrCond::Contains(v.clone()),
            StringMatcher::Regex(r) => StrCond::Regex(full_regex(r, &format!("{pointer}/regex"))?),
            StringMatcher::Present(p) => StrCond::Present(*p),
            StringMatcher::JsonSchema(schema) => {
                StrCond::JsonSchema(Box::new(schema_validator(schema, pointer)?))
            }
            StringMatcher::Not(inner) => {
                StrCond::Not(Box::new(Self::compile(inner, &format!("{pointer}/not"))?))
            }
            StringMatcher::AnyOf(list) => {
                StrCond::AnyOf(Self::compile_list(list, &format!("{pointer}/anyOf"))?)
            }
            StringMatcher::Each(inner) => {
                StrCond::Each(Box::new(Self::compile(inner, &format!("{pointer}/each"))?))
            }
            StringMatcher::AllOf(list) => {
                StrCond::AllOf(Self::compile_list(list, &format!("{pointer}/allOf"))?)
            }
        })
    }

    fn compile_list(list: &[StringMatcher], pointer: &str) -> Result<Vec<Self>, CompileError> {
        list.iter()
            .enumerate()
            .map(|(i, m)| Self::compile(m, &format!("{pointer}/{i}")))
            .collect()
    }

    /// Whether the values the request has for a name (possibly none) satisfy the condition.
    /// When the budget runs out the answer means nothing; the caller checks the budget.
    pub(crate) fn eval(&self, values: &[&str], budget: &Budget) -> bool {
        let scanned = || values.iter().map(|v| v.len()).sum::<usize>();
        match self {
            StrCond::Equals(e) => values.iter().any(|v| v == e),
            StrCond::EqualsIgnoreCase(e) => values.iter().any(|v| v.eq_ignore_ascii_case(e)),
            StrCond::Contains(e) => {
                budget.spend_bytes(scanned(), 64) && values.iter().any(|v| v.contains(e.as_str()))
            }
            StrCond::Regex(r) => {
                budget.spend_bytes(scanned(), 32) && values.iter().any(|v| r.is_match(v))
            }
            StrCond::Present(p) => values.is_empty() != *p,
            StrCond::JsonSchema(v) => values.iter().any(|x| {
                budget.spend_bytes(x.len(), 4) && {
                    let text = Value::String(x.to_string());
                    let as_json = serde_json::from_str::<Value>(x).unwrap_or(Value::Null);
                    v.is_valid(&as_json, budget) || v.is_valid(&text, budget)
                }
            }),
            StrCond::Not(inner) => !inner.eval(values, budget),
            StrCond::AnyOf(list) => list.iter().any(|c| c.eval(values, budget)),
            StrCond::AllOf(list) => list.iter().all(|c| c.eval(values, budget)),
            StrCond::Each(inner) => {
                !values.is_empty() && values.iter().all(|v| inner.eval(&[v], budget))
            }
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            StrCond::Equals(e) => format!("equals \"{e}\""),
            StrCond::EqualsIgnoreCase(e) => format!("equals (ignoring case) \"{e}\""),
            StrCond::Contains(e) => format!("contains \"{e}\""),
            StrCond::Regex(r) => format!("matches regex \"{}\"", user_regex(r)),
            StrCond::Present(true) => "is present".into(),
            StrCond::Present(false) => "is absent".into(),
            StrCond::JsonSchema(_) => "is valid against the JSON Schema".into(),
            StrCond::Not(inner) => format!("not ({})", inner.describe()),
            StrCond::AnyOf(list) => format!(
                "any of ({})",
                list.iter()
                    .map(|c| c.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            StrCond::Each(inner) => format!("every value {}", inner.describe()),
            StrCond::AllOf(list) => format!(
                "all of ({})",
                list.iter()
                    .map(|c| c.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A compiled [`BodyMatcher`].
#[derive(Debug)]
pub(crate) enum BodyCond {
    Equals(String),
    Contains(String),
    Regex(Regex),
    Json(Value),
    JsonPartial(Value),
    JsonPath {
        path: JsonPath,
        text: String,
        equals: Option<Value>,
    },
    JsonSchema(Box<Schema>),
    Bytes(bytes::Bytes),
    Form(Vec<(String, StrCond)>),
    Xml(standin_eval::xml::XNode),
    Xpath(standin_eval::xml::XPath),
    XmlSchema(Box<standin_eval::xml::xsd::Schema>),
    Not(Box<BodyCond>),
    AllOf(Vec<BodyCond>),
}

impl BodyCond {
    pub(crate) fn compile(m: &BodyMatcher, pointer: &str) -> Result<Self, CompileError> {
        Ok(match m {
            BodyMatcher::Equals(v) => BodyCond::Equals(v.clone()),
            BodyMatcher::Contains(v) => BodyCond::Contains(v.clone()),
            BodyMatcher::Regex(r) => BodyCond::Regex(full_regex(r, &format!("{pointer}/regex"))?),
            BodyMatcher::Json(v) => BodyCond::Json(v.clone()),
            BodyMatcher::JsonPartial(v) => BodyCond::JsonPartial(v.clone()),
            BodyMatcher::JsonPath(jp) => BodyCond::JsonPath {
                path: JsonPath::parse(&jp.path).map_err(|e| {
                    CompileError::new(
                        &format!("{pointer}/jsonPath/path"),
                        format!("invalid JSONPath \"{}\": {e}", jp.path),
                    )
                })?,
                text: jp.path.clone(),
                equals: jp.equals.clone(),
            },
            BodyMatcher::JsonSchema(schema) => {
                BodyCond::JsonSchema(Box::new(schema_validator(schema, pointer)?))
            }
            BodyMatcher::Base64(b) => {
                use base64::Engine;
                BodyCond::Bytes(
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .map(bytes::Bytes::from)
                        .map_err(|e| {
                            CompileError::new(
                                &format!("{pointer}/base64"),
                                format!("invalid base64: {e}"),
                            )
                        })?,
                )
            }
            BodyMatcher::Xml(text) => {
                BodyCond::Xml(standin_eval::xml::parse(text).map_err(|e| {
                    CompileError::new(
                        &format!("{pointer}/xml"),
                        format!("invalid expected XML: {e}"),
                    )
                })?)
            }
            BodyMatcher::Xpath(expr) => {
                BodyCond::Xpath(standin_eval::xml::compile(expr).map_err(|e| {
                    CompileError::new(
                        &format!("{pointer}/xpath"),
                        format!("\"{expr}\": invalid XPath: {e}"),
                    )
                })?)
            }
            BodyMatcher::XmlSchema(text) => BodyCond::XmlSchema(Box::new(
                standin_eval::xml::xsd::compile(text).map_err(|e| {
                    CompileError::new(&format!("{pointer}/xmlSchema"), format!("XML Schema: {e}"))
                })?,
            )),
            BodyMatcher::Form(fields) => BodyCond::Form(
                fields
                    .iter()
                    .map(|(k, m)| {
                        Ok((
                            k.clone(),
                            StrCond::compile(
                                m,
                                &format!("{pointer}/form/{}", crate::escape_pointer(k)),
                            )?,
                        ))
                    })
                    .collect::<Result<_, CompileError>>()?,
            ),
            BodyMatcher::Not(inner) => {
                BodyCond::Not(Box::new(Self::compile(inner, &format!("{pointer}/not"))?))
            }
            BodyMatcher::AllOf(list) => BodyCond::AllOf(
                list.iter()
                    .enumerate()
                    .map(|(i, m)| Self::compile(m, &format!("{pointer}/allOf/{i}")))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Whether the request's body satisfies the condition. When the budget runs out the
    /// answer means nothing; the caller checks the budget.
    pub(crate) fn eval(&self, req: &Request<'_>, budget: &Budget) -> bool {
        let body = req.body;
        let text = || std::str::from_utf8(body).ok();
        // Text conditions see a UTF-16 body (by its Content-Type charset) decoded, as
        // MockServer decodes by the charset before comparing text.
        if let BodyCond::Equals(_) | BodyCond::Contains(_) | BodyCond::Regex(_) = self
            && req.names_utf16()
        {
            let Some(t) = req.utf16_text() else {
                return false;
            };
            return budget.spend_bytes(body.len(), 32)
                && match self {
                    BodyCond::Equals(e) => t == *e,
                    BodyCond::Contains(e) => t.contains(e.as_str()),
                    BodyCond::Regex(r) => r.is_match(&t),
                    _ => false,
                };
        }
        match self {
            BodyCond::Equals(e) => body == e.as_bytes(),
            BodyCond::Contains(e) => {
                budget.spend_bytes(body.len(), 64) && text().is_some_and(|t| t.contains(e.as_str()))
            }
            BodyCond::Regex(r) => {
                budget.spend_bytes(body.len(), 32) && text().is_some_and(|t| r.is_match(t))
            }
            BodyCond::Json(e) => req.json(budget).is_some_and(|j| json_eq_in(e, j, budget)),
            BodyCond::JsonPartial(e) => req
                .json(budget)
                .is_some_and(|j| json_contains_in(j, e, budget)),
            BodyCond::JsonPath { path, text, equals } => req.json(budget).is_some_and(|j| {
                let (nodes, depth) = req.json_shape(budget);
                if !budget.spend(standin_eval::json::json_path_cost(text, nodes, depth)) {
                    return false;
                }
                let found = path.query(j);
                match equals {
                    None => !found.is_empty(),
                    Some(e) => found.iter().any(|n| json_eq_in(e, n, budget)),
                }
            }),
            BodyCond::JsonSchema(v) => req.json(budget).is_some_and(|j| v.is_valid(j, budget)),
            BodyCond::Bytes(b) => body == b.as_ref(),
            BodyCond::Xml(expected) => {
                budget.spend_bytes(body.len(), 1)
                    && text()
                        .and_then(|t| standin_eval::xml::parse(t).ok())
                        .is_some_and(|a| standin_eval::xml::equal(expected, &a, budget))
            }
            BodyCond::Xpath(x) => standin_eval::xml::xpath_matches(x, body, budget),
            BodyCond::XmlSchema(s) => s.validate(body, budget).is_ok(),
            BodyCond::Form(fields) => {
                budget.spend_bytes(body.len(), 16)
                    && text().is_some_and(|t| {
                        let pairs = standin_eval::parse::query_pairs(t);
                        fields.iter().all(|(k, c)| {
                            let values: Vec<&str> = pairs
                                .iter()
                                .filter(|(n, _)| n == k)
                                .map(|(_, v)| v.as_ref())
                                .collect();
                            c.eval(&values, budget)
                        })
                    })
            }
            BodyCond::Not(inner) => !inner.eval(req, budget),
            BodyCond::AllOf(list) => list.iter().all(|c| c.eval(req, budget)),
        }
    }

    /// Why the body fails the condition, for near-miss reports: what was expected, what
    /// came, and for forms only the fields that failed.
    pub(crate) fn explain(&self, req: &Request<'_>, budget: &Budget) -> String {
        let got = ellipsize(&String::from_utf8_lossy(req.body));
        match self {
            BodyCond::Form(fields) => {
                let text = String::from_utf8_lossy(req.body);
                let pairs = standin_eval::parse::query_pairs(&text);
                let failed: Vec<String> = fields
                    .iter()
                    .filter_map(|(k, c)| {
                        let values: Vec<&str> = pairs
                            .iter()
                            .filter(|(n, _)| n == k)
                            .map(|(_, v)| v.as_ref())
                            .collect();
                        (!c.eval(&values, budget)).then(|| {
                            format!(
                                "form field \"{k}\": expected {}, got {}",
                                c.describe(),
                                crate::conditions::show_values(&values)
                            )
                        })
                    })
                    .collect();
                failed.join("; ")
            }
            BodyCond::JsonSchema(v) => match req.json(budget) {
                None => format!(
                    "expected {}, got a body that is not JSON: \"{got}\"",
                    self.describe()
                ),
                Some(j) => match v.validator.iter_errors(j).next() {
                    Some(e) => format!(
                        "body is not valid against the JSON Schema: at \"{}\" ({}): {e}",
                        e.instance_path(),
                        e.kind().keyword()
                    ),
                    None => format!("expected {}, got \"{got}\"", self.describe()),
                },
            },
            BodyCond::XmlSchema(s) => match s.validate(req.body, budget) {
                Err(e) => format!("body is not valid against the XML Schema: {e}"),
                Ok(()) => format!("expected {}, got \"{got}\"", self.describe()),
            },
            BodyCond::Xml(expected) => {
                let text = String::from_utf8_lossy(req.body);
                match standin_eval::xml::parse(&text) {
                    Ok(actual) => format!(
                        "body is not the expected XML: {}",
                        standin_eval::xml::first_difference(expected, &actual, budget)
                    ),
                    Err(e) => format!("expected XML, got a body that is not: {e}"),
                }
            }
            _ => format!("expected {}, got \"{got}\"", self.describe()),
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            BodyCond::Equals(e) => format!("body equals \"{}\"", ellipsize(e)),
            BodyCond::Contains(e) => format!("body contains \"{}\"", ellipsize(e)),
            BodyCond::Regex(r) => format!("body matches regex \"{}\"", user_regex(r)),
            BodyCond::Json(e) => format!("body is JSON equal to {}", ellipsize(&e.to_string())),
            BodyCond::JsonPartial(e) => {
                format!("body is JSON containing {}", ellipsize(&e.to_string()))
            }
            BodyCond::JsonPath {
                text, equals: None, ..
            } => format!("body JSONPath \"{text}\" selects something"),
            BodyCond::JsonPath {
                text,
                equals: Some(e),
                ..
            } => format!("body JSONPath \"{text}\" selects {e}"),
            BodyCond::JsonSchema(_) => "body is valid against the JSON Schema".into(),
            BodyCond::Bytes(b) => format!("body is exactly {} given bytes", b.len()),
            BodyCond::Xml(_) => "body is XML equal to the expected document".into(),
            BodyCond::Xpath(x) => format!("body XPath \"{}\" selects something", x.as_str()),
            BodyCond::XmlSchema(_) => "body is valid against the XML Schema".into(),
            BodyCond::Form(fields) => format!(
                "body is a form with {}",
                fields
                    .iter()
                    .map(|(k, c)| format!("{k} {}", c.describe()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            BodyCond::Not(inner) => format!("not ({})", inner.describe()),
            BodyCond::AllOf(list) => list
                .iter()
                .map(|c| c.describe())
                .collect::<Vec<_>>()
                .join(" and "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_errors_are_one_line_and_named() {
        let err = full_regex("a(", "/p").unwrap_err();
        assert_eq!(err.pointer, "/p");
        assert!(
            err.message.contains("invalid regex \"a(\""),
            "{}",
            err.message
        );
        assert!(!err.message.contains('\n'));
    }
}
