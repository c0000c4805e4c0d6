//! Compiled conditions on strings and bodies. Everything that can fail to compile (regexes,
//! JSONPath, JSON Schema) is compiled here, once, when a route is published.

use crate::CompileError;
use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;
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

/// Compiles a JSON Schema condition (formats are checked, as MockServer checks them);
/// errors point at `{pointer}/jsonSchema`.
fn schema_validator(schema: &Value, pointer: &str) -> Result<jsonschema::Validator, CompileError> {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| {
            CompileError::new(
                &format!("{pointer}/jsonSchema"),
                format!("invalid JSON Schema: {e}"),
            )
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
    JsonSchema(Box<jsonschema::Validator>),
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
    pub(crate) fn eval(&self, values: &[&str]) -> bool {
        match self {
            StrCond::Equals(e) => values.iter().any(|v| v == e),
            StrCond::EqualsIgnoreCase(e) => values.iter().any(|v| v.eq_ignore_ascii_case(e)),
            StrCond::Contains(e) => values.iter().any(|v| v.contains(e.as_str())),
            StrCond::Regex(r) => values.iter().any(|v| r.is_match(v)),
            StrCond::Present(p) => values.is_empty() != *p,
            StrCond::JsonSchema(v) => values.iter().any(|x| {
                let as_json = serde_json::from_str::<Value>(x)
                    .unwrap_or_else(|_| Value::String(x.to_string()));
                v.is_valid(&as_json) || v.is_valid(&Value::String(x.to_string()))
            }),
            StrCond::Not(inner) => !inner.eval(values),
            StrCond::AnyOf(list) => list.iter().any(|c| c.eval(values)),
            StrCond::AllOf(list) => list.iter().all(|c| c.eval(values)),
            StrCond::Each(inner) => !values.is_empty() && values.iter().all(|v| inner.eval(&[v])),
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
    JsonSchema(Box<jsonschema::Validator>),
    Bytes(bytes::Bytes),
    Form(Vec<(String, StrCond)>),
    Xml(crate::xml::XNode),
    Xpath(String),
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
            BodyMatcher::Xml(text) => BodyCond::Xml(crate::xml::parse(text).map_err(|e| {
                CompileError::new(
                    &format!("{pointer}/xml"),
                    format!("invalid expected XML: {e}"),
                )
            })?),
            BodyMatcher::Xpath(expr) => {
                crate::xml::check_xpath(expr).map_err(|e| {
                    CompileError::new(&format!("{pointer}/xpath"), format!("\"{expr}\": {e}"))
                })?;
                BodyCond::Xpath(expr.clone())
            }
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

    /// Whether any part of the condition needs the body parsed as JSON.
    pub(crate) fn needs_json(&self) -> bool {
        match self {
            BodyCond::Json(_)
            | BodyCond::JsonPartial(_)
            | BodyCond::JsonPath { .. }
            | BodyCond::JsonSchema(_) => true,
            BodyCond::Not(inner) => inner.needs_json(),
            BodyCond::AllOf(list) => list.iter().any(|c| c.needs_json()),
            BodyCond::Equals(_)
            | BodyCond::Contains(_)
            | BodyCond::Regex(_)
            | BodyCond::Bytes(_)
            | BodyCond::Form(_)
            | BodyCond::Xml(_)
            | BodyCond::Xpath(_) => false,
        }
    }

    /// `json` is the body parsed as JSON, when it parses.
    pub(crate) fn eval(&self, body: &[u8], json: Option<&Value>) -> bool {
        let text = || std::str::from_utf8(body).ok();
        match self {
            BodyCond::Equals(e) => body == e.as_bytes(),
            BodyCond::Contains(e) => text().is_some_and(|t| t.contains(e.as_str())),
            BodyCond::Regex(r) => text().is_some_and(|t| r.is_match(t)),
            BodyCond::Json(e) => json.is_some_and(|j| json_eq(e, j)),
            BodyCond::JsonPartial(e) => json.is_some_and(|j| json_contains(j, e)),
            BodyCond::JsonPath { path, equals, .. } => json.is_some_and(|j| {
                let nodes = path.query(j);
                match equals {
                    None => !nodes.is_empty(),
                    Some(e) => nodes.iter().any(|n| json_eq(e, n)),
                }
            }),
            BodyCond::JsonSchema(v) => json.is_some_and(|j| v.is_valid(j)),
            BodyCond::Bytes(b) => body == b.as_ref(),
            BodyCond::Xml(expected) => text()
                .and_then(|t| crate::xml::parse(t).ok())
                .is_some_and(|a| crate::xml::equal(expected, &a)),
            BodyCond::Xpath(expr) => crate::xml::xpath_matches(expr, body),
            BodyCond::Form(fields) => text().is_some_and(|t| {
                let pairs = crate::parse_query(t);
                fields.iter().all(|(k, c)| {
                    let values: Vec<&str> = pairs
                        .iter()
                        .filter(|(n, _)| n == k)
                        .map(|(_, v)| v.as_ref())
                        .collect();
                    c.eval(&values)
                })
            }),
            BodyCond::Not(inner) => !inner.eval(body, json),
            BodyCond::AllOf(list) => list.iter().all(|c| c.eval(body, json)),
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
            BodyCond::Xpath(expr) => format!("body XPath \"{expr}\" selects something"),
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

pub(crate) fn ellipsize(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// JsonUnit's placeholders, as MockServer and WireMock read them in expected JSON:
/// `${json-unit.ignore}`, `${json-unit.ignore-element}`, `${json-unit.any-string}`,
/// `${json-unit.any-number}`, `${json-unit.any-boolean}`. `None` when `expected` is not one.
fn placeholder(expected: &Value, actual: &Value) -> Option<bool> {
    let Value::String(s) = expected else {
        return None;
    };
    Some(match s.as_str() {
        "${json-unit.ignore}" | "${json-unit.ignore-element}" => true,
        "${json-unit.any-string}" => actual.is_string(),
        "${json-unit.any-number}" => actual.is_number(),
        "${json-unit.any-boolean}" => actual.is_boolean(),
        _ => return None,
    })
}

/// JSON equality where `1` equals `1.0`, object key order does not matter, and JsonUnit
/// placeholders in `a` (the expected side) stand for what they say.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    if let Some(result) = placeholder(a, b) {
        return result;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Whether `actual` contains `expected`: objects may have extra keys, arrays may have extra
/// elements and any order (each expected element needs its own matching actual element).
pub fn json_contains(actual: &Value, expected: &Value) -> bool {
    if let Some(result) = placeholder(expected, actual) {
        return result;
    }
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|w| json_contains(w, v))),
        (Value::Array(a), Value::Array(e)) => e.len() <= a.len() && array_contains(a, e),
        _ => json_eq(expected, actual),
    }
}

/// Whether every expected element can be paired with its own actual element. Greedy
/// pairing is not enough (`[{a}, {a,b}]` against `[{a,b}, {a}]`), so this finds a maximum
/// bipartite matching with augmenting paths.
fn array_contains(actual: &[Value], expected: &[Value]) -> bool {
    pair_all(expected, actual, |e, a| json_contains(a, e))
}

/// Whether each of `expected` can be paired with a distinct element of `actual` that
/// `fits` it (a maximum bipartite matching by augmenting paths).
pub(crate) fn pair_all<E, A>(expected: &[E], actual: &[A], fits: impl Fn(&E, &A) -> bool) -> bool {
    let edges: Vec<Vec<usize>> = expected
        .iter()
        .map(|e| (0..actual.len()).filter(|&i| fits(e, &actual[i])).collect())
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; actual.len()];
    fn augment(
        e: usize,
        edges: &[Vec<usize>],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &a in &edges[e] {
            if !seen[a] {
                seen[a] = true;
                if owner[a].is_none_or(|o| augment(o, edges, owner, seen)) {
                    owner[a] = Some(e);
                    return true;
                }
            }
        }
        false
    }
    (0..expected.len()).all(|e| augment(e, &edges, &mut owner, &mut vec![false; actual.len()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_unit_placeholders() {
        let expected = json!({"id": "${json-unit.any-number}", "ok": "${json-unit.any-boolean}", "x": "${json-unit.ignore}"});
        assert!(json_contains(
            &json!({"id": 5, "ok": true, "x": [1]}),
            &expected
        ));
        assert!(!json_contains(
            &json!({"id": "5", "ok": true, "x": 1}),
            &expected
        ));
        assert!(
            !json_contains(&json!({"id": 5, "ok": true}), &expected),
            "ignore still needs the key"
        );
        assert!(json_eq(
            &json!(["${json-unit.ignore-element}", 2]),
            &json!([{"a": 1}, 2])
        ));
    }

    #[test]
    fn partial_arrays_pair_elements_without_greed() {
        let actual = json!({"items": [{"a": 1, "b": 2}, {"a": 1}]});
        assert!(json_contains(
            &actual,
            &json!({"items": [{"a": 1}, {"a": 1, "b": 2}]})
        ));
        assert!(!json_contains(
            &actual,
            &json!({"items": [{"a": 1, "b": 2}, {"a": 1, "b": 2}]})
        ));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!(2)));
        assert!(!json_eq(&json!(1), &json!("1")));
    }

    #[test]
    fn partial_ignores_extra_fields_and_array_order() {
        let actual = json!({"a": 1, "b": [3, 2, 1], "c": {"d": true, "e": null}});
        assert!(json_contains(
            &actual,
            &json!({"b": [1, 3], "c": {"d": true}})
        ));
        assert!(!json_contains(&actual, &json!({"b": [4]})));
        assert!(
            !json_contains(&actual, &json!({"b": [1, 1]})),
            "each expected element needs its own match"
        );
        assert!(!json_contains(&actual, &json!({"z": 1})));
    }

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
