//! Request matchers: MockServer's loose values (a string, or an object with `not`,
//! `optional`, a schema), maps of names to values, paths with parameters, and bodies.

use super::*;

/// A string as MockServer writes it: `"!x"` negates, `"?x"` marks an optional key, and an
/// object form `{"value": "x", "not": true, "optional": true}`.
#[derive(Debug, Clone)]
pub(crate) struct Nottable {
    pub(crate) text: String,
    pub(crate) not: bool,
    pub(crate) optional: bool,
    /// `{"schema": {..}}`: the value must be valid against this JSON Schema.
    schema: Option<Value>,
}

pub(crate) fn nottable(v: &Value, pointer: &str, is_key: bool) -> R<Nottable> {
    let mut schema = None;
    let (mut text, mut not, mut optional) = match v {
        Value::String(s) => (s.clone(), false, false),
        Value::Number(n) => (n.to_string(), false, false),
        Value::Bool(b) => (b.to_string(), false, false),
        Value::Object(o) => {
            schema = o.get("schema").cloned();
            let text = o
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let flag = |k: &str| o.get(k).and_then(Value::as_bool) == Some(true);
            (text, flag("not"), flag("optional"))
        }
        _ => {
            return Err(refuse(
                pointer,
                "must be a string or an object with \"value\"",
            ));
        }
    };
    if let Some(rest) = text.strip_prefix('!') {
        not = !not;
        text = rest.to_string();
    }
    if is_key && let Some(rest) = text.strip_prefix('?') {
        optional = true;
        text = rest.to_string();
    }
    Ok(Nottable {
        schema,
        text,
        not,
        optional,
    })
}

pub(crate) fn has_regex_syntax(s: &str) -> bool {
    s.chars().any(|c| ".*+?[](){}|^$\\".contains(c))
}

/// MockServer's string semantics: equal, equal ignoring case, or a regex matching the
/// whole value. Strings that are not valid (Rust) regexes are compared as text.
pub(crate) fn value_matcher(text: &str) -> StringMatcher {
    let regex_ok = has_regex_syntax(text) && regex::Regex::new(&format!("^(?:{text})$")).is_ok();
    if regex_ok {
        StringMatcher::AnyOf(vec![
            StringMatcher::EqualsIgnoreCase(text.to_string()),
            // MockServer compiles every regex case-insensitive and dot-all.
            StringMatcher::Regex(format!("(?is){text}")),
        ])
    } else {
        StringMatcher::EqualsIgnoreCase(text.to_string())
    }
}

pub(crate) fn nottable_matcher(n: &Nottable) -> Option<StringMatcher> {
    if n.text.is_empty() && !n.not && n.schema.is_none() {
        return None;
    }
    let m = match &n.schema {
        Some(schema) => StringMatcher::JsonSchema(schema.clone()),
        None => value_matcher(&n.text),
    };
    Some(if n.not {
        StringMatcher::Not(Box::new(m))
    } else {
        m
    })
}

/// A map of names to values in either of MockServer's forms.
pub(crate) fn multi_values(v: Option<&Value>, pointer: &str) -> R<Vec<(Nottable, Vec<Nottable>)>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    match v {
        Value::Object(o) => {
            for (k, vals) in o {
                if k == "keyMatchStyle" {
                    continue;
                }
                let p = format!("{pointer}/{}", standin_matcher::escape_pointer(k));
                let name = nottable(&Value::String(k.clone()), &p, true)?;
                out.push((name, value_list(vals, &p)?));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{pointer}/{i}");
                let o = item
                    .as_object()
                    .ok_or_else(|| refuse(&p, "must be an object with \"name\" and \"values\""))?;
                let name = nottable(
                    o.get("name").unwrap_or(&Value::Null),
                    &format!("{p}/name"),
                    true,
                )?;
                let vals = o
                    .get("values")
                    .or_else(|| o.get("value"))
                    .cloned()
                    .unwrap_or(Value::Array(Vec::new()));
                out.push((name, value_list(&vals, &format!("{p}/values"))?));
            }
        }
        _ => return Err(refuse(pointer, "must be an object or an array")),
    }
    Ok(out)
}

pub(crate) fn value_list(v: &Value, pointer: &str) -> R<Vec<Nottable>> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| nottable(x, &format!("{pointer}/{i}"), false))
            .collect(),
        other => Ok(vec![nottable(other, pointer, false)?]),
    }
}

/// Cookies: `{"name": "value"}` or `[{"name": .., "value": ..}]`, values as plain text.
pub(crate) fn key_values(v: Option<&Value>, pointer: &str) -> R<Vec<(String, String)>> {
    Ok(multi_values(v, pointer)?
        .into_iter()
        .map(|(k, vals)| {
            (
                k.text,
                vals.into_iter().next().map(|v| v.text).unwrap_or_default(),
            )
        })
        .collect())
}

/// Conditions for one named key (query parameter, header, cookie).
pub(crate) fn key_condition(
    name: &Nottable,
    values: &[Nottable],
    matching_key: bool,
) -> Option<StringMatcher> {
    if name.not {
        return Some(StringMatcher::Present(false));
    }
    // A negated value ("!x") still needs the key: MockServer fails it when the key is absent.
    let conds: Vec<StringMatcher> = values
        .iter()
        .filter_map(|v| {
            let m = nottable_matcher(v)?;
            Some(if v.not {
                StringMatcher::AllOf(vec![StringMatcher::Present(true), m])
            } else {
                m
            })
        })
        .collect();
    let cond = match (conds.len(), matching_key) {
        (0, _) => StringMatcher::Present(true),
        // MATCHING_KEY: every value the request has must match one of the listed ones.
        (1, true) => StringMatcher::Each(Box::new(conds.into_iter().next().expect("one"))),
        (_, true) => StringMatcher::Each(Box::new(StringMatcher::AnyOf(conds))),
        // SUB_SET: each listed value must be among the request's.
        (1, false) => conds.into_iter().next().expect("one"),
        (_, false) => StringMatcher::AllOf(conds),
    };
    Some(if name.optional {
        StringMatcher::AnyOf(vec![StringMatcher::Present(false), cond])
    } else {
        cond
    })
}

pub(crate) fn keyed(v: Option<&Value>, pointer: &str) -> R<BTreeMap<String, StringMatcher>> {
    let matching_key = v
        .and_then(|v| v.get("keyMatchStyle"))
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("MATCHING_KEY"));
    let mut out = BTreeMap::new();
    for (name, values) in multi_values(v, pointer)? {
        if let Some(c) = key_condition(&name, &values, matching_key) {
            out.insert(name.text.clone(), c);
        }
    }
    Ok(out)
}

/// Like [`keyed`], but names written as regexes (or, with `names_ignore_case`, every name)
/// become name patterns.
pub(crate) fn keyed_with_patterns(
    v: Option<&Value>,
    pointer: &str,
    names_ignore_case: bool,
) -> R<(BTreeMap<String, StringMatcher>, Vec<NamePattern>)> {
    let matching_key = v
        .and_then(|v| v.get("keyMatchStyle"))
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("MATCHING_KEY"));
    let mut exact = BTreeMap::new();
    let mut patterns = Vec::new();
    for (name, values) in multi_values(v, pointer)? {
        let Some(value) = key_condition(&name, &values, matching_key) else {
            continue;
        };
        let regex_name = has_regex_syntax(&name.text) && regex::Regex::new(&name.text).is_ok();
        if regex_name {
            patterns.push(NamePattern {
                name: value_matcher(&name.text),
                value,
            });
        } else if names_ignore_case {
            patterns.push(NamePattern {
                name: StringMatcher::EqualsIgnoreCase(name.text.clone()),
                value,
            });
        } else {
            exact.insert(name.text.clone(), value);
        }
    }
    Ok((exact, patterns))
}

/// Converts a MockServer request matcher (an `httpRequest`).
pub fn request_matcher(v: &Value, pointer: &str) -> R<HttpRequestMatcher> {
    let obj = match v {
        Value::Object(o) => o,
        Value::String(s) if s.is_empty() => return Ok(HttpRequestMatcher::default()),
        _ => return Err(refuse(pointer, "a request matcher must be a JSON object")),
    };
    known_fields(obj, pointer, REQUEST_FIELDS)?;
    if obj.contains_key("specUrlOrPayload") {
        return crate::openapi::request_matcher(obj, pointer)
            .map_err(|m| refuse(&format!("{pointer}/specUrlOrPayload"), m));
    }
    let method = match obj.get("method").filter(|v| !v.is_null()) {
        None => None,
        Some(m) => nottable_matcher(&nottable(m, &format!("{pointer}/method"), false)?),
    };
    let path = match obj.get("path").filter(|v| !v.is_null()) {
        None => None,
        Some(p) => path_matcher(
            &nottable(p, &format!("{pointer}/path"), false)?,
            obj.get("pathParameters"),
            &format!("{pointer}/path"),
        )?,
    };
    // MockServer compares query parameter names ignoring case; names with regex syntax
    // are regexes for every kind of key.
    let (query, query_patterns) = keyed_with_patterns(
        obj.get("queryStringParameters"),
        &format!("{pointer}/queryStringParameters"),
        true,
    )?;
    let (headers, header_patterns) =
        keyed_with_patterns(obj.get("headers"), &format!("{pointer}/headers"), false)?;
    let (cookies, cookie_patterns) =
        keyed_with_patterns(obj.get("cookies"), &format!("{pointer}/cookies"), false)?;
    let body = match obj.get("body").filter(|v| !v.is_null()) {
        None => None,
        Some(b) => body_matcher(b, &format!("{pointer}/body"))?,
    };
    // pathParameters constrain the captured values, as query parameters are constrained.
    let path_values = if obj
        .get("path")
        .and_then(Value::as_str)
        .is_some_and(|p| p.contains('{'))
    {
        keyed(
            obj.get("pathParameters"),
            &format!("{pointer}/pathParameters"),
        )?
        .into_iter()
        .map(|(k, v)| (k.replace(['.', '-'], "_"), v))
        .collect()
    } else {
        BTreeMap::new()
    };
    Ok(HttpRequestMatcher {
        method,
        path,
        path_values,
        query,
        headers,
        cookies,
        query_patterns,
        header_patterns,
        cookie_patterns,
        body,
    })
}

/// A path: `{name}` placeholders (constrained by `pathParameters`), a regex, or text.
pub(crate) fn path_matcher(
    p: &Nottable,
    params: Option<&Value>,
    pointer: &str,
) -> R<Option<PathMatcher>> {
    if p.text.is_empty() && !p.not {
        return Ok(None);
    }
    let placeholder = regex::Regex::new(r"\{([A-Za-z0-9_.\-]+)\}").expect("valid");
    // `{name}` is a placeholder only when pathParameters are given; otherwise it is text.
    let has_params = params.is_some_and(|v| {
        v.as_object().is_some_and(|o| !o.is_empty()) || v.as_array().is_some_and(|a| !a.is_empty())
    });
    let inner = if has_params && placeholder.is_match(&p.text) {
        // Path parameters: literal text around `{name}`, each name capturing one segment;
        // the values pathParameters gives are conditions on the captures.
        let mut regex = String::new();
        let mut last = 0;
        for caps in placeholder.captures_iter(&p.text) {
            let whole = caps.get(0).expect("match");
            regex.push_str(&regex::escape(&p.text[last..whole.start()]));
            let name = &caps[1];
            let group = name.replace(['.', '-'], "_");
            let body = "[^/]+";
            regex.push_str(&format!("(?P<{group}>{body})"));
            last = whole.end();
        }
        regex.push_str(&regex::escape(&p.text[last..]));
        if regex::Regex::new(&regex).is_err() {
            return Err(refuse(
                pointer,
                format!(
                    "path \"{}\" with its pathParameters is not a valid regex",
                    p.text
                ),
            ));
        }
        // MockServer matches these ignoring case, like every other path.
        PathMatcher::Regex(format!("(?i){regex}"))
    } else if let Some(own) = has_regex_syntax(&p.text)
        .then(|| regex::Regex::new(&format!("(?is)^(?:{})$", p.text)).ok())
        .flatten()
    {
        // MockServer compares the path as text first, then as a regex: `/odata/$metadata`
        // matches itself although its `$` would anchor the regex. The text is spelled
        // out only when the regex would not match it anyway.
        if own.is_match(&p.text) {
            PathMatcher::Regex(format!("(?is){}", p.text))
        } else {
            PathMatcher::Regex(format!("(?is)(?:{}|{})", regex::escape(&p.text), p.text))
        }
    } else {
        // MockServer compares the path as sent, ignoring case, trailing slash included.
        PathMatcher::Regex(format!("(?i){}", regex::escape(&p.text)))
    };
    Ok(Some(if p.not {
        PathMatcher::Not(Box::new(inner))
    } else {
        inner
    }))
}

pub(crate) fn json_value(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

pub(crate) use standin_eval::lenient::implied_body_type;

/// Converts a MockServer body matcher.
pub(crate) fn body_matcher(v: &Value, pointer: &str) -> R<Option<BodyMatcher>> {
    let obj = match v {
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => return Ok(Some(BodyMatcher::Equals(s.clone()))),
        Value::Object(o) if o.contains_key("type") || implied_body_type(o).is_some() => o,
        other => return Ok(Some(BodyMatcher::JsonPartial(other.clone()))),
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| implied_body_type(obj))
        .unwrap_or("")
        .to_ascii_uppercase();
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let m = match kind.as_str() {
        "STRING" => {
            let s = text("string");
            if obj.get("subString").and_then(Value::as_bool) == Some(true) {
                BodyMatcher::Contains(s)
            } else {
                BodyMatcher::Equals(s)
            }
        }
        "REGEX" => BodyMatcher::Regex(format!("(?is){}", text("regex"))),
        // Expected "JSON" that is not JSON can only equal the body's text, as in MockServer.
        "JSON"
            if obj
                .get("json")
                .and_then(Value::as_str)
                .is_some_and(|s| serde_json::from_str::<Value>(s).is_err()) =>
        {
            BodyMatcher::Equals(text("json"))
        }
        "JSON" => {
            let value = json_value(obj.get("json"));
            match obj
                .get("matchType")
                .and_then(Value::as_str)
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                Some("STRICT") => BodyMatcher::Json(value),
                _ => BodyMatcher::JsonPartial(value),
            }
        }
        "JSON_SCHEMA" => BodyMatcher::JsonSchema(json_value(obj.get("jsonSchema"))),
        "JSON_PATH" => BodyMatcher::JsonPath(JsonPathMatcher {
            path: text("jsonPath"),
            equals: None,
        }),
        "PARAMETERS" => BodyMatcher::Form(keyed(
            obj.get("parameters"),
            &format!("{pointer}/parameters"),
        )?),
        "BINARY" => BodyMatcher::Base64(text("base64Bytes")),
        "XML" => BodyMatcher::Xml(text("xml")),
        "XPATH" => BodyMatcher::Xpath(text("xpath")),
        "XML_SCHEMA" => {
            let schema = text("xmlSchema");
            // Checked here for the error's MockServer-shaped pointer; compiled again when
            // the route is published.
            standin_eval::xml::xsd::compile(&schema)
                .map_err(|e| refuse(&format!("{pointer}/xmlSchema"), format!("XML Schema: {e}")))?;
            BodyMatcher::XmlSchema(schema)
        }
        other => {
            return Err(refuse(
                &format!("{pointer}/type"),
                format!("unknown body matcher type \"{other}\""),
            ));
        }
    };
    Ok(Some(
        if obj.get("not").and_then(Value::as_bool) == Some(true) {
            BodyMatcher::Not(Box::new(m))
        } else {
            m
        },
    ))
}
