//! WireMock stub mappings: one file with one mapping, a file with `{"mappings": [...]}`
//! (what `GET /__admin/mappings` returns), or a `mappings/` folder with its `__files/`.
//!
//! A mapping becomes a route with the mapping's id (or `wiremock-N`), and a service created
//! by a WireMock import orders its routes as WireMock does: lower `priority` first (a
//! mapping's priority p becomes the route priority 5 − p; WireMock's default is 5), then
//! the newest. What has no counterpart yet (webhooks, delay distributions,
//! matchers such as `before`/`after`) comes back as a warning with its pointer.

use crate::{Format, ImportError, Imported, Warning, plan, refs::Docs, token};
use base64::Engine;
use serde_json::{Map, Value, json};
use standin_model::{
    BodyMatcher, Fault, Forward, HeaderChanges, HeaderValues, HttpRequestMatcher, HttpResponse,
    HttpRoute, JsonPathMatcher, Origin, PathMatcher, ResponseBody, Rewrite, Route, StringMatcher,
};
use std::collections::BTreeMap;

/// WireMock's priority when a mapping has none.
pub const DEFAULT_PRIORITY: i64 = 5;

/// Whether a parsed document looks like WireMock mappings.
pub(crate) fn looks_like(doc: &Value) -> bool {
    let Some(o) = doc.as_object() else {
        return false;
    };
    (o.contains_key("request") && o.contains_key("response"))
        || o.get("mappings").is_some_and(Value::is_array)
}

struct Reader<'a> {
    docs: &'a Docs,
    warnings: Vec<Warning>,
    file: String,
}

impl Reader<'_> {
    fn warn(&mut self, pointer: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            file: self.file.clone(),
            pointer: pointer.to_string(),
            message: message.into(),
        });
    }

    fn error(&self, pointer: &str, message: impl Into<String>) -> ImportError {
        ImportError::at(&self.file, pointer, message)
    }
}

/// Reads every mapping document in `docs`: the main one, and every other `.json` file
/// under a `mappings/` folder. Files under `__files/` are response bodies.
pub(crate) fn read(docs: &Docs) -> Result<Imported, ImportError> {
    let mut names: Vec<String> = vec![docs.main_name().to_string()];
    for name in docs.names() {
        if name != docs.main_name() && is_mapping_file(name) {
            names.push(name.to_string());
        }
    }
    let mut reader = Reader {
        docs,
        warnings: Vec::new(),
        file: String::new(),
    };
    let mut routes = Vec::new();
    let mut ids = crate::Ids::default();
    for name in names {
        reader.file = name.clone();
        let doc = docs.get_file(&name).expect("listed");
        let list: Vec<(String, &Value)> = match doc.get("mappings") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("/mappings/{i}"), m))
                .collect(),
            Some(_) => return Err(reader.error("/mappings", "\"mappings\" must be an array")),
            None => vec![(String::new(), doc)],
        };
        // WireMock lists mappings newest first (GET /__admin/mappings, and an import
        // keeps the first of the array as the newest): the last is created first here.
        let mut made = Vec::with_capacity(list.len());
        for (pointer, mapping) in list {
            made.push(mapping_route(
                &mut reader,
                &pointer,
                mapping,
                routes.len() + made.len(),
                &mut ids,
            )?);
        }
        made.reverse();
        routes.extend(made);
    }
    Ok(Imported {
        source: String::new(),
        format: Format::Wiremock,
        title: None,
        routes,
        warnings: reader.warnings,
    })
}

fn is_mapping_file(name: &str) -> bool {
    (name.starts_with("mappings/") || name.contains("/mappings/")) && name.ends_with(".json")
}

fn mapping_route(
    r: &mut Reader<'_>,
    pointer: &str,
    mapping: &Value,
    index: usize,
    ids: &mut crate::Ids,
) -> Result<Route, ImportError> {
    let Some(m) = mapping.as_object() else {
        return Err(r.error(pointer, "a stub mapping must be an object"));
    };
    for key in m.keys() {
        match key.as_str() {
            "id"
            | "uuid"
            | "name"
            | "request"
            | "response"
            | "priority"
            | "persistent"
            | "metadata"
            | "insertionIndex"
            | "scenarioName"
            | "requiredScenarioState"
            | "newScenarioState" => {}
            "postServeActions" | "serveEventListeners" => r.warn(
                &format!("{pointer}/{key}"),
                "webhooks and serve event listeners are not supported yet: left out",
            ),
            other => r.warn(
                &format!("{pointer}/{other}"),
                format!("\"{other}\" is not a field standin reads: left out"),
            ),
        }
    }
    let id = m
        .get("id")
        .or_else(|| m.get("uuid"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("wiremock-{}", index + 1), str::to_string);
    if !ids.insert(id.clone()) {
        return Err(r.error(
            &format!("{pointer}/id"),
            format!("two mappings have the id \"{id}\""),
        ));
    }
    let req = m.get("request").cloned().unwrap_or_else(|| json!({}));
    let request = request(r, &format!("{pointer}/request"), &req)?;
    let (response, forward) = response(
        r,
        &format!("{pointer}/response"),
        m.get("response").unwrap_or(&json!({})),
    )?;
    let priority = match m.get("priority") {
        None | Some(Value::Null) => 0,
        Some(p) => match p.as_i64() {
            Some(p) => {
                (DEFAULT_PRIORITY - p).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
            }
            None => {
                return Err(r.error(
                    &format!("{pointer}/priority"),
                    "priority must be a whole number",
                ));
            }
        },
    };
    let name = m.get("name").and_then(Value::as_str).map_or_else(
        || {
            let method = req.get("method").and_then(Value::as_str).unwrap_or("ANY");
            let url = [
                "url",
                "urlPath",
                "urlPathTemplate",
                "urlPattern",
                "urlPathPattern",
            ]
            .iter()
            .find_map(|k| req.get(*k).and_then(Value::as_str))
            .unwrap_or("");
            format!("{method} {url}").trim().to_string()
        },
        str::to_string,
    );
    let mut route = Route {
        scenario: scenario_step(r, pointer, m)?,
        fallback: false,
        id,
        name,
        memo: String::new(),
        priority,
        enabled: true,
        times: None,
        tags: vec!["wiremock".to_string()],
        expires_at: None,
        origin: Some(Origin {
            format: "wiremock".to_string(),
            document: json!({ "mapping": mapping }),
        }),
        http: Some(HttpRoute {
            sequence: None,
            request,
            response,
            alternatives: Vec::new(),
            forward,
            contract: None,
        }),
    };
    plan::stamp(&mut route);
    Ok(route)
}

/// WireMock's `scenarioName`, `requiredScenarioState` and `newScenarioState`. Without a
/// name, WireMock ignores the states, and so does the import (with a warning).
fn scenario_step(
    r: &mut Reader<'_>,
    pointer: &str,
    m: &serde_json::Map<String, Value>,
) -> Result<Option<standin_model::ScenarioStep>, ImportError> {
    let text = |r: &mut Reader<'_>, key: &str| -> Result<Option<String>, ImportError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(r.error(&format!("{pointer}/{key}"), "must be a string")),
        }
    };
    let name = text(r, "scenarioName")?;
    let required_state = text(r, "requiredScenarioState")?;
    let new_state = text(r, "newScenarioState")?;
    match name {
        Some(name) => Ok(Some(standin_model::ScenarioStep {
            name,
            required_state,
            new_state,
        })),
        None => {
            if required_state.is_some() || new_state.is_some() {
                r.warn(
                    &format!("{pointer}/scenarioName"),
                    "scenario states without a scenarioName: WireMock ignores them, and so does standin",
                );
            }
            Ok(None)
        }
    }
}

fn request(
    r: &mut Reader<'_>,
    pointer: &str,
    req: &Value,
) -> Result<HttpRequestMatcher, ImportError> {
    let Some(o) = req.as_object() else {
        return Err(r.error(pointer, "\"request\" must be an object"));
    };
    let mut out = HttpRequestMatcher::default();
    let text = |k: &str| o.get(k).and_then(Value::as_str);
    if let Some(method) = text("method")
        && !method.eq_ignore_ascii_case("ANY")
    {
        out.method = Some(StringMatcher::Equals(method.to_string()));
    }
    let url_keys = [
        "url",
        "urlPath",
        "urlPathTemplate",
        "urlPattern",
        "urlPathPattern",
    ];
    let given: Vec<&str> = url_keys
        .iter()
        .copied()
        .filter(|k| o.contains_key(*k))
        .collect();
    if given.len() > 1 {
        return Err(r.error(
            pointer,
            format!("only one of {} may be given", given.join(", ")),
        ));
    }
    if let Some(key) = given.first() {
        let p = format!("{pointer}/{key}");
        let value = text(key).ok_or_else(|| r.error(&p, format!("\"{key}\" must be a string")))?;
        match *key {
            "url" => {
                // The whole URL: the path exactly, and each query parameter equal.
                let (path, query) = value.split_once('?').unwrap_or((value, ""));
                out.path = Some(PathMatcher::Exact(path.to_string()));
                for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                    out.query
                        .insert(k.into_owned(), StringMatcher::Equals(v.into_owned()));
                }
            }
            "urlPath" => out.path = Some(PathMatcher::Exact(value.to_string())),
            "urlPathTemplate" => out.path = Some(PathMatcher::Pattern(value.to_string())),
            "urlPathPattern" => out.path = Some(PathMatcher::Regex(value.to_string())),
            _ => {
                // urlPattern matches the path and the query together.
                match value.split_once("\\?") {
                    Some((path, _)) => {
                        r.warn(
                            &p,
                            "the query part of urlPattern is not matched: only the path is",
                        );
                        out.path = Some(PathMatcher::Regex(path.to_string()));
                    }
                    None => out.path = Some(PathMatcher::Regex(value.to_string())),
                }
            }
        }
    }
    for (key, target) in [
        ("queryParameters", 0),
        ("headers", 1),
        ("cookies", 2),
        ("pathParameters", 3),
    ] {
        let Some(map) = o.get(key) else { continue };
        let Some(map) = map.as_object() else {
            return Err(r.error(
                &format!("{pointer}/{key}"),
                format!("\"{key}\" must be an object"),
            ));
        };
        for (name, m) in map {
            let p = format!("{pointer}/{key}/{}", token(name));
            let Some(matcher) = string_matcher(r, &p, m)? else {
                continue;
            };
            let dest = match target {
                0 => &mut out.query,
                1 => &mut out.headers,
                2 => &mut out.cookies,
                _ => &mut out.path_values,
            };
            dest.insert(name.clone(), matcher);
        }
    }
    if let Some(auth) = o.get("basicAuthCredentials") {
        let user = auth.get("username").and_then(Value::as_str).unwrap_or("");
        let pass = auth.get("password").and_then(Value::as_str).unwrap_or("");
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        out.headers.insert(
            "Authorization".into(),
            StringMatcher::Equals(format!("Basic {b64}")),
        );
    }
    let mut bodies = Vec::new();
    if let Some(form) = o.get("formParameters").and_then(Value::as_object) {
        let mut fields = BTreeMap::new();
        for (name, m) in form {
            let p = format!("{pointer}/formParameters/{}", token(name));
            if let Some(matcher) = string_matcher(r, &p, m)? {
                fields.insert(name.clone(), matcher);
            }
        }
        bodies.push(BodyMatcher::Form(fields));
    }
    if let Some(patterns) = o.get("bodyPatterns") {
        let Some(patterns) = patterns.as_array() else {
            return Err(r.error(
                &format!("{pointer}/bodyPatterns"),
                "\"bodyPatterns\" must be an array",
            ));
        };
        for (i, pattern) in patterns.iter().enumerate() {
            if let Some(b) = body_matcher(r, &format!("{pointer}/bodyPatterns/{i}"), pattern)? {
                bodies.push(b);
            }
        }
    }
    for key in o.keys() {
        if !matches!(
            key.as_str(),
            "method"
                | "url"
                | "urlPath"
                | "urlPathTemplate"
                | "urlPattern"
                | "urlPathPattern"
                | "queryParameters"
                | "headers"
                | "cookies"
                | "pathParameters"
                | "basicAuthCredentials"
                | "bodyPatterns"
                | "formParameters"
        ) {
            r.warn(
                &format!("{pointer}/{key}"),
                format!("the request condition \"{key}\" is not supported: left out"),
            );
        }
    }
    out.body = match bodies.len() {
        0 => None,
        1 => bodies.pop(),
        _ => Some(BodyMatcher::AllOf(bodies)),
    };
    Ok(out)
}

/// One WireMock value matcher; `None` (with a warning) when it has no counterpart.
fn string_matcher(
    r: &mut Reader<'_>,
    pointer: &str,
    m: &Value,
) -> Result<Option<StringMatcher>, ImportError> {
    let Some(o) = m.as_object() else {
        return Err(r.error(
            pointer,
            "a matcher must be an object such as {\"equalTo\": \"x\"}",
        ));
    };
    let ci = o.get("caseInsensitive") == Some(&Value::Bool(true));
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut found = None;
    for (key, v) in o {
        let p = format!("{pointer}/{key}");
        let one = match key.as_str() {
            "caseInsensitive" => continue,
            "equalTo" if ci => StringMatcher::EqualsIgnoreCase(text(v)),
            "equalTo" => StringMatcher::Equals(text(v)),
            "contains" => StringMatcher::Contains(text(v)),
            "doesNotContain" => StringMatcher::Not(Box::new(StringMatcher::Contains(text(v)))),
            "matches" => StringMatcher::Regex(text(v)),
            "doesNotMatch" => StringMatcher::Not(Box::new(StringMatcher::Regex(text(v)))),
            "absent" => StringMatcher::Present(v != &Value::Bool(true)),
            "hasExactly" | "includes" => {
                let all = matcher_list(r, &p, key, v)?;
                if key == "hasExactly" {
                    r.warn(&p, "hasExactly is read as includes: values beyond those listed are not refused");
                }
                StringMatcher::AllOf(all)
            }
            "or" | "and" => {
                let all = matcher_list(r, &p, key, v)?;
                if key == "or" {
                    StringMatcher::AnyOf(all)
                } else {
                    StringMatcher::AllOf(all)
                }
            }
            other => {
                r.warn(
                    &p,
                    format!(
                        "the matcher \"{other}\" is not supported here: the condition is left out"
                    ),
                );
                return Ok(None);
            }
        };
        if found.is_some() {
            return Err(r.error(
                pointer,
                "a matcher has one operator (equalTo, contains, matches, ...)",
            ));
        }
        found = Some(one);
    }
    found.map(Some).ok_or_else(|| {
        r.error(
            pointer,
            "the matcher has no operator (equalTo, contains, matches, ...)",
        )
    })
}

/// The matchers of `or`, `and`, `includes` or `hasExactly`.
fn matcher_list(
    r: &mut Reader<'_>,
    pointer: &str,
    key: &str,
    v: &Value,
) -> Result<Vec<StringMatcher>, ImportError> {
    let items = v
        .as_array()
        .ok_or_else(|| r.error(pointer, format!("\"{key}\" must be an array of matchers")))?;
    let mut all = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(m) = string_matcher(r, &format!("{pointer}/{i}"), item)? {
            all.push(m);
        }
    }
    Ok(all)
}

fn body_matcher(
    r: &mut Reader<'_>,
    pointer: &str,
    m: &Value,
) -> Result<Option<BodyMatcher>, ImportError> {
    let Some(o) = m.as_object() else {
        return Err(r.error(pointer, "a body pattern must be an object"));
    };
    let flag = |k: &str| o.get(k) == Some(&Value::Bool(true));
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let main = o
        .keys()
        .find(|k| {
            !matches!(
                k.as_str(),
                "ignoreArrayOrder"
                    | "ignoreExtraElements"
                    | "caseInsensitive"
                    | "namespaces"
                    | "enablePlaceholders"
            )
        })
        .cloned();
    let Some(key) = main else {
        return Err(r.error(
            pointer,
            "the body pattern has no operator (equalTo, equalToJson, matchesJsonPath, ...)",
        ));
    };
    let v = &o[&key];
    let p = format!("{pointer}/{key}");
    Ok(Some(match key.as_str() {
        "equalTo" => BodyMatcher::Equals(text(v)),
        "contains" => BodyMatcher::Contains(text(v)),
        "doesNotContain" => BodyMatcher::Not(Box::new(BodyMatcher::Contains(text(v)))),
        "matches" => BodyMatcher::Regex(text(v)),
        "doesNotMatch" => BodyMatcher::Not(Box::new(BodyMatcher::Regex(text(v)))),
        "binaryEqualTo" => BodyMatcher::Base64(text(v)),
        "equalToXml" => BodyMatcher::Xml(text(v)),
        "matchesXPath" => {
            match v {
                Value::String(x) => BodyMatcher::Xpath(x.clone()),
                _ => {
                    r.warn(&p, "matchesXPath with a value matcher is not supported: the condition is left out");
                    return Ok(None);
                }
            }
        }
        "equalToJson" => {
            let value = match v {
                Value::String(s) => serde_json::from_str(s)
                    .map_err(|e| r.error(&p, format!("equalToJson is not JSON: {e}")))?,
                other => other.clone(),
            };
            match (flag("ignoreArrayOrder"), flag("ignoreExtraElements")) {
                (false, false) => BodyMatcher::Json(value),
                (true, true) => BodyMatcher::JsonPartial(value),
                (false, true) => {
                    r.warn(
                        pointer,
                        "ignoreExtraElements without ignoreArrayOrder: array order is ignored too",
                    );
                    BodyMatcher::JsonPartial(value)
                }
                (true, false) => {
                    r.warn(
                        pointer,
                        "ignoreArrayOrder without ignoreExtraElements: array order is kept",
                    );
                    BodyMatcher::Json(value)
                }
            }
        }
        "matchesJsonPath" => match v {
            Value::String(path) => BodyMatcher::JsonPath(JsonPathMatcher {
                path: path.clone(),
                equals: None,
            }),
            Value::Object(jp) => {
                let path = jp
                    .get("expression")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                match jp.get("equalTo") {
                    Some(eq) if jp.len() == 2 => BodyMatcher::JsonPath(JsonPathMatcher {
                        path,
                        equals: Some(match eq {
                            // WireMock compares the selected value's text; a number
                            // written as text is meant as that number.
                            Value::String(s) => serde_json::from_str::<Value>(s)
                                .ok()
                                .filter(|v| v.is_number() || v.is_boolean())
                                .unwrap_or_else(|| eq.clone()),
                            other => other.clone(),
                        }),
                    }),
                    _ if jp.len() == 1 => {
                        BodyMatcher::JsonPath(JsonPathMatcher { path, equals: None })
                    }
                    _ => {
                        r.warn(&p, "matchesJsonPath with a matcher other than equalTo: only the path must select something");
                        BodyMatcher::JsonPath(JsonPathMatcher { path, equals: None })
                    }
                }
            }
            _ => {
                return Err(r.error(
                    &p,
                    "matchesJsonPath must be a path or {\"expression\", ...}",
                ));
            }
        },
        "absent" => {
            r.warn(
                &p,
                "an absent body is not a condition standin has: left out",
            );
            return Ok(None);
        }
        other => {
            r.warn(
                &p,
                format!("the body pattern \"{other}\" is not supported: left out"),
            );
            return Ok(None);
        }
    }))
}

fn response(
    r: &mut Reader<'_>,
    pointer: &str,
    resp: &Value,
) -> Result<(HttpResponse, Option<Forward>), ImportError> {
    let Some(o) = resp.as_object() else {
        return Err(r.error(pointer, "\"response\" must be an object"));
    };
    let mut out = HttpResponse::default();
    if let Some(s) = o.get("status") {
        let s = s
            .as_u64()
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| {
                r.error(
                    &format!("{pointer}/status"),
                    "status must be a number from 100 to 999",
                )
            })?;
        out.status = s as u16;
    }
    out.reason = o
        .get("statusMessage")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(h) = o.get("headers").and_then(Value::as_object) {
        for (name, v) in h {
            let values = match v {
                Value::Array(a) => HeaderValues::Many(
                    a.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect(),
                ),
                Value::String(s) => HeaderValues::One(s.clone()),
                other => HeaderValues::One(other.to_string()),
            };
            if values.values().iter().all(|v| crate::header_ok(name, v)) {
                out.headers.insert(name.clone(), values);
            } else {
                r.warn(
                    &format!("{pointer}/headers/{}", token(name)),
                    "this header cannot be sent: left out",
                );
            }
        }
    }
    let bodies = ["body", "jsonBody", "base64Body", "bodyFileName"];
    let given: Vec<&str> = bodies
        .iter()
        .copied()
        .filter(|k| o.contains_key(*k))
        .collect();
    if given.len() > 1 {
        return Err(r.error(
            pointer,
            format!("only one of {} may be given", given.join(", ")),
        ));
    }
    out.body = match given.first().copied() {
        Some("body") => Some(ResponseBody::Text(
            o["body"]
                .as_str()
                .map_or_else(|| o["body"].to_string(), str::to_string),
        )),
        Some("jsonBody") => Some(ResponseBody::Json(o["jsonBody"].clone())),
        Some("base64Body") => Some(ResponseBody::Base64(
            o["base64Body"].as_str().unwrap_or("").to_string(),
        )),
        Some("bodyFileName") => Some(body_file(
            r,
            &format!("{pointer}/bodyFileName"),
            o["bodyFileName"].as_str().unwrap_or(""),
        )?),
        _ => None,
    };
    if let Some(d) = o.get("fixedDelayMilliseconds").and_then(Value::as_u64) {
        out.delay_ms = d;
    }
    if let Some(d) = o.get("delayDistribution") {
        let typical = match d.get("type").and_then(Value::as_str) {
            Some("lognormal") => d.get("median").and_then(Value::as_f64),
            Some("uniform") => match (
                d.get("lower").and_then(Value::as_f64),
                d.get("upper").and_then(Value::as_f64),
            ) {
                (Some(l), Some(u)) => Some((l + u) / 2.0),
                _ => None,
            },
            Some("fixed") => d.get("milliseconds").and_then(Value::as_f64),
            _ => None,
        };
        if let Some(ms) = typical {
            out.delay_ms = out
                .delay_ms
                .saturating_add(ms.clamp(0.0, 3_600_000.0) as u64);
        }
        r.warn(
            &format!("{pointer}/delayDistribution"),
            "delay distributions are not supported yet: a fixed delay of the typical value is used",
        );
    }
    if let Some(c) = o.get("chunkedDribbleDelay") {
        let chunks = c
            .get("numberOfChunks")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .max(1);
        let len = body_len(out.body.as_ref());
        out.chunk_size = Some(len.div_ceil(chunks as usize).max(1));
        out.delay_ms = out
            .delay_ms
            .saturating_add(c.get("totalDuration").and_then(Value::as_u64).unwrap_or(0));
        r.warn(
            &format!("{pointer}/chunkedDribbleDelay"),
            "the body is sent in chunks, after the whole delay rather than spread between them",
        );
    }
    if let Some(f) = o.get("fault").and_then(Value::as_str) {
        out.fault = Some(match f {
            "EMPTY_RESPONSE" | "CONNECTION_RESET_BY_PEER" => Fault::DropConnection,
            "RANDOM_DATA_THEN_CLOSE" => Fault::RawBytes(
                base64::engine::general_purpose::STANDARD
                    .encode(b"\x8f\x12lsk]\x00qr9\x1f\xc3(random data)"),
            ),
            "MALFORMED_RESPONSE_CHUNK" => Fault::RawBytes(
                base64::engine::general_purpose::STANDARD
                    .encode(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nlkjghsdf\r\n"),
            ),
            other => {
                return Err(r.error(
                    &format!("{pointer}/fault"),
                    format!("\"{other}\" is not a WireMock fault"),
                ));
            }
        });
    }
    if let Some(t) = o.get("transformers").and_then(Value::as_array) {
        if t.iter().any(|t| t.as_str() == Some("response-template")) {
            out.templated = true;
        }
        if t.iter().any(|t| t.as_str() != Some("response-template")) {
            r.warn(
                &format!("{pointer}/transformers"),
                "transformers other than response-template are left out",
            );
        }
    }
    let forward = o.get("proxyBaseUrl").and_then(Value::as_str).map(|url| {
        let mut f = Forward {
            to: Some(url.to_string()),
            ..Forward::default()
        };
        if let Some(h) = o
            .get("additionalProxyRequestHeaders")
            .and_then(Value::as_object)
        {
            let mut set = BTreeMap::new();
            for (k, v) in h {
                set.insert(
                    k.clone(),
                    HeaderValues::One(v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                );
            }
            f.request_headers = HeaderChanges {
                set,
                ..HeaderChanges::default()
            };
        }
        if let Some(prefix) = o.get("proxyUrlPrefixToRemove").and_then(Value::as_str) {
            f.path_rewrite = Some(Rewrite {
                regex: format!("^{}", regex_syntax::escape(prefix)),
                replacement: String::new(),
            });
        }
        f
    });
    for key in o.keys() {
        if !matches!(
            key.as_str(),
            "status"
                | "statusMessage"
                | "headers"
                | "body"
                | "jsonBody"
                | "base64Body"
                | "bodyFileName"
                | "fixedDelayMilliseconds"
                | "delayDistribution"
                | "chunkedDribbleDelay"
                | "fault"
                | "transformers"
                | "transformerParameters"
                | "proxyBaseUrl"
                | "additionalProxyRequestHeaders"
                | "proxyUrlPrefixToRemove"
        ) {
            r.warn(
                &format!("{pointer}/{key}"),
                format!("\"{key}\" is not supported: left out"),
            );
        }
    }
    Ok((out, forward))
}

fn body_len(b: Option<&ResponseBody>) -> usize {
    match b {
        Some(ResponseBody::Text(t)) => t.len(),
        Some(ResponseBody::Json(v)) => v.to_string().len(),
        Some(ResponseBody::Base64(b)) => b.len() * 3 / 4,
        None => 0,
    }
}

/// A `bodyFileName` is read from `__files/` next to `mappings/`.
fn body_file(r: &mut Reader<'_>, pointer: &str, name: &str) -> Result<ResponseBody, ImportError> {
    if name.contains("{{") {
        return Err(r.error(pointer, "a templated bodyFileName is not supported"));
    }
    let wanted = format!("__files/{}", name.trim_start_matches('/'));
    let binary = format!("{wanted}{}", crate::BINARY_SUFFIX);
    let find = |target: &str| {
        r.docs
            .raw_names()
            .find(|n| *n == target || n.ends_with(&format!("/{target}")))
            .map(str::to_string)
    };
    if let Some(file) = find(&wanted) {
        return Ok(ResponseBody::Text(
            r.docs.raw(&file).unwrap_or("").to_string(),
        ));
    }
    if let Some(file) = find(&binary) {
        return Ok(ResponseBody::Base64(
            r.docs.raw(&file).unwrap_or("").trim().to_string(),
        ));
    }
    Err(r.error(pointer, format!("the body file \"{wanted}\" was not given (import the folder that holds mappings/ and __files/)")))
}

/// Routes as WireMock mappings (`{"mappings": [...]}`), with a warning for each condition
/// or response feature WireMock cannot express. `routes` come oldest first; the mappings
/// are written newest first, as WireMock lists and imports them.
pub fn export(routes: &[Route]) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut mappings = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let mut w = |field: &str, message: &str| {
            warnings.push(Warning {
                file: "export".into(),
                pointer: format!("/routes/{i}{field}"),
                message: format!("route {}: {message}", route.id),
            })
        };
        let Some(http) = &route.http else { continue };
        let mut req = Map::new();
        let rq = &http.request;
        req.insert(
            "method".into(),
            match &rq.method {
                Some(StringMatcher::Equals(m)) => json!(m),
                None => json!("ANY"),
                Some(_) => {
                    w(
                        "/http/request/method",
                        "a method condition other than one method is exported as ANY",
                    );
                    json!("ANY")
                }
            },
        );
        match &rq.path {
            Some(PathMatcher::Exact(p)) => {
                req.insert("urlPath".into(), json!(p));
            }
            Some(PathMatcher::Pattern(p)) if !p.contains('*') => {
                let key = if p.contains('{') {
                    "urlPathTemplate"
                } else {
                    "urlPath"
                };
                req.insert(key.into(), json!(p));
            }
            Some(PathMatcher::Pattern(p)) => {
                req.insert("urlPathPattern".into(), json!(crate::pattern_regex(p)));
            }
            Some(PathMatcher::Regex(re)) => {
                req.insert("urlPathPattern".into(), json!(re));
            }
            Some(PathMatcher::Not(_)) => w(
                "/http/request/path",
                "a negated path cannot be exported: any path matches",
            ),
            None => {}
        }
        for (key, map, field) in [
            ("queryParameters", &rq.query, "query"),
            ("headers", &rq.headers, "headers"),
            ("cookies", &rq.cookies, "cookies"),
            ("pathParameters", &rq.path_values, "pathValues"),
        ] {
            let mut out = Map::new();
            for (name, m) in map {
                match export_matcher(m) {
                    Some(v) => {
                        out.insert(name.clone(), v);
                    }
                    None => w(
                        &format!("/http/request/{field}/{}", token(name)),
                        "this condition cannot be written as a WireMock matcher: left out",
                    ),
                }
            }
            if !out.is_empty() {
                req.insert(key.into(), Value::Object(out));
            }
        }
        if let Some(b) = &rq.body {
            let mut patterns = Vec::new();
            let list: Vec<&BodyMatcher> = match b {
                BodyMatcher::AllOf(all) => all.iter().collect(),
                one => vec![one],
            };
            for b in list {
                if let BodyMatcher::Form(fields) = b {
                    let mut form = Map::new();
                    for (name, m) in fields {
                        match export_matcher(m) {
                            Some(v) => {
                                form.insert(name.clone(), v);
                            }
                            None => w(
                                "/http/request/body/form",
                                "a form field condition cannot be written as a WireMock matcher: left out",
                            ),
                        }
                    }
                    req.insert("formParameters".into(), Value::Object(form));
                    continue;
                }
                match export_body(b) {
                    Some(p) => patterns.push(p),
                    None => w(
                        "/http/request/body",
                        "this body condition cannot be written as a WireMock pattern: left out",
                    ),
                }
            }
            if !patterns.is_empty() {
                req.insert("bodyPatterns".into(), Value::Array(patterns));
            }
        }
        // A sequence's first answer stands in for the response WireMock can hold.
        let r = http
            .sequence
            .as_ref()
            .and_then(|q| q.responses.first())
            .unwrap_or(&http.response);
        let mut resp = Map::new();
        resp.insert("status".into(), json!(r.status));
        if let Some(reason) = &r.reason {
            resp.insert("statusMessage".into(), json!(reason));
        }
        if !r.headers.is_empty() {
            let h: Map<String, Value> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        HeaderValues::One(s) => json!(s),
                        HeaderValues::Many(a) => json!(a),
                    };
                    (k.clone(), v)
                })
                .collect();
            resp.insert("headers".into(), Value::Object(h));
        }
        match &r.body {
            Some(ResponseBody::Text(t)) => {
                resp.insert("body".into(), json!(t));
            }
            Some(ResponseBody::Json(v)) => {
                resp.insert("jsonBody".into(), v.clone());
                let has_ct = r
                    .headers
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case("content-type"));
                if !has_ct {
                    let h = resp.entry("headers").or_insert_with(|| json!({}));
                    h["Content-Type"] = json!("application/json");
                }
            }
            Some(ResponseBody::Base64(b)) => {
                resp.insert("base64Body".into(), json!(b));
            }
            None => {}
        }
        if r.delay_ms > 0 {
            resp.insert("fixedDelayMilliseconds".into(), json!(r.delay_ms));
        }
        match &r.fault {
            Some(Fault::DropConnection) => {
                resp.insert("fault".into(), json!("EMPTY_RESPONSE"));
            }
            Some(Fault::RawBytes(_)) => {
                resp.insert("fault".into(), json!("RANDOM_DATA_THEN_CLOSE"));
            }
            Some(Fault::CloseAfterResponse) => w(
                "/http/response/fault",
                "closing after the response has no WireMock counterpart",
            ),
            None => {}
        }
        if r.templated {
            resp.insert("transformers".into(), json!(["response-template"]));
        }
        if r.document_template.is_some() {
            w(
                "/http/response/documentTemplate",
                "a MockServer response or forward template has no WireMock counterpart",
            );
        }
        if r.callback.is_some() {
            w(
                "/http/response/callback",
                "a MockServer callback client has no WireMock counterpart",
            );
        }
        if let Some(f) = &http.forward {
            match &f.to {
                Some(to) => {
                    resp.insert("proxyBaseUrl".into(), json!(to));
                }
                None => w(
                    "/http/forward",
                    "a forward to the request's own host has no WireMock counterpart",
                ),
            }
        }
        if !http.alternatives.is_empty() {
            w(
                "/http/alternatives",
                "WireMock has one response per stub: the alternatives are left out",
            );
        }
        let mut mapping = Map::new();
        mapping.insert("id".into(), json!(wiremock_id(&route.id)));
        if !route.name.is_empty() {
            mapping.insert("name".into(), json!(route.name));
        }
        mapping.insert("request".into(), Value::Object(req));
        mapping.insert("response".into(), Value::Object(resp));
        if route.priority != 0 {
            mapping.insert(
                "priority".into(),
                json!((DEFAULT_PRIORITY - i64::from(route.priority)).max(1)),
            );
        }
        if let Some(step) = &route.scenario {
            mapping.insert("scenarioName".into(), json!(step.name));
            if let Some(st) = &step.required_state {
                mapping.insert("requiredScenarioState".into(), json!(st));
            }
            if let Some(st) = &step.new_state {
                mapping.insert("newScenarioState".into(), json!(st));
            }
        }
        if http.sequence.is_some() {
            w(
                "/http/sequence",
                "WireMock has one response per stub: only the sequence's first response is exported",
            );
        }
        mappings.push(Value::Object(mapping));
    }
    mappings.reverse();
    (json!({ "mappings": mappings }), warnings)
}

/// WireMock ids are UUIDs: a route id that is one is kept, any other becomes a UUID derived
/// from it (the same id gives the same UUID).
fn wiremock_id(id: &str) -> String {
    let is_uuid = id.len() == 36
        && id.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if is_uuid {
        return id.to_string();
    }
    let a = crate::openapi::fnv(id.as_bytes());
    let b = crate::openapi::fnv(format!("{id}#").as_bytes());
    format!(
        "{:08x}-{:04x}-5{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn export_matcher(m: &StringMatcher) -> Option<Value> {
    Some(match m {
        StringMatcher::Equals(s) => json!({"equalTo": s}),
        StringMatcher::EqualsIgnoreCase(s) => json!({"equalTo": s, "caseInsensitive": true}),
        StringMatcher::Contains(s) => json!({"contains": s}),
        StringMatcher::Regex(s) => json!({"matches": s}),
        StringMatcher::Present(false) => json!({"absent": true}),
        StringMatcher::Present(true) => json!({"matches": "(?s).*"}),
        StringMatcher::Not(inner) => match &**inner {
            StringMatcher::Regex(s) => json!({"doesNotMatch": s}),
            StringMatcher::Contains(s) => json!({"doesNotContain": s}),
            _ => return None,
        },
        StringMatcher::AnyOf(all) => {
            json!({"or": all.iter().map(export_matcher).collect::<Option<Vec<_>>>()?})
        }
        StringMatcher::AllOf(all) => {
            json!({"and": all.iter().map(export_matcher).collect::<Option<Vec<_>>>()?})
        }
        StringMatcher::JsonSchema(_) | StringMatcher::Each(_) => return None,
    })
}

fn export_body(b: &BodyMatcher) -> Option<Value> {
    Some(match b {
        BodyMatcher::Equals(s) => json!({"equalTo": s}),
        BodyMatcher::Contains(s) => json!({"contains": s}),
        BodyMatcher::Regex(s) => json!({"matches": s}),
        BodyMatcher::Json(v) => json!({"equalToJson": v}),
        BodyMatcher::JsonPartial(v) => {
            json!({"equalToJson": v, "ignoreArrayOrder": true, "ignoreExtraElements": true})
        }
        BodyMatcher::JsonPath(jp) => match &jp.equals {
            None => json!({"matchesJsonPath": jp.path}),
            Some(v) => {
                json!({"matchesJsonPath": {"expression": jp.path, "equalTo": v.as_str().map_or_else(|| v.to_string(), str::to_string)}})
            }
        },
        BodyMatcher::Xml(x) => json!({"equalToXml": x}),
        BodyMatcher::Xpath(x) => json!({"matchesXPath": x}),
        BodyMatcher::Base64(b) => json!({"binaryEqualTo": b}),
        BodyMatcher::Not(inner) => match &**inner {
            BodyMatcher::Regex(s) => json!({"doesNotMatch": s}),
            BodyMatcher::Contains(s) => json!({"doesNotContain": s}),
            _ => return None,
        },
        BodyMatcher::JsonSchema(_)
        | BodyMatcher::XmlSchema(_)
        | BodyMatcher::Form(_)
        | BodyMatcher::AllOf(_) => return None,
    })
}
