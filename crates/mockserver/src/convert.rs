//! MockServer's JSON (expectations and request matchers) into standin's route documents.
//!
//! MockServer's schema is loose: most values may be a string or an object, maps may be
//! objects or arrays of `{name, values}`. This module reads `serde_json::Value`s by hand so
//! that every form is accepted and every refusal names the field (JSON pointer).

use serde_json::{Map, Value};
use standin_model::{
    BodyMatcher, DocumentTemplate, Fault, Forward, HeaderChanges, HeaderValues, HttpRequestMatcher,
    HttpResponse, HttpRoute, JsonPathMatcher, NamePattern, Origin, PathMatcher, ResponseBody,
    Rewrite, Route, StringMatcher, TemplateEngine,
};
use std::collections::BTreeMap;

/// Why a MockServer document was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

/// `v` as a JSON object, or a refusal at `pointer`.
fn object<'v>(v: &'v Value, pointer: &str) -> R<&'v Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| refuse(pointer, "must be an object"))
}

fn refuse(pointer: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        pointer: pointer.to_string(),
        message: message.into(),
    }
}

type R<T> = Result<T, Refusal>;

// The fields MockServer's expectation JSON Schema allows at each level it closes
// (`additionalProperties: false`), as in the mockserver-netty 8.0.0 jar the compatibility
// suite runs. A field outside these is refused as MockServer refuses it; a field inside
// them that standin does not implement is refused or ignored where it is read.
const EXPECTATION_FIELDS: &[&str] = &[
    "afterActions",
    "beforeActions",
    "binaryResponse",
    "capture",
    "chaos",
    "crossProtocolScenarios",
    "dnsResponse",
    "grpcBidiResponse",
    "grpcStreamResponse",
    "httpError",
    "httpForward",
    "httpForwardClassCallback",
    "httpForwardObjectCallback",
    "httpForwardTemplate",
    "httpForwardValidateAction",
    "httpForwardWithFallback",
    "httpLlmResponse",
    "httpOverrideForwardedRequest",
    "httpRequest",
    "httpResponse",
    "httpResponseClassCallback",
    "httpResponseObjectCallback",
    "httpResponseTemplate",
    "httpResponses",
    "httpSseResponse",
    "httpWebSocketResponse",
    "id",
    "namespace",
    "newScenarioState",
    "percentage",
    "priority",
    "rateLimit",
    "responseMode",
    "responseWeights",
    "scenarioName",
    "scenarioState",
    "steps",
    "switchAfter",
    "timeToLive",
    "times",
    "timestamp",
];
const REQUEST_FIELDS: &[&str] = &[
    "body",
    "clientCertificate",
    "clientCertificateChain",
    "cookies",
    "headers",
    "jwt",
    "keepAlive",
    "localAddress",
    "method",
    "not",
    "originalBody",
    "path",
    "pathParameters",
    "protocol",
    "queryStringParameters",
    "remoteAddress",
    "respondBeforeBody",
    "secure",
    "socketAddress",
    // The other kind of request definition: an OpenAPI operation.
    "specUrlOrPayload",
    "operationId",
];
const RESPONSE_FIELDS: &[&str] = &[
    "body",
    "connectionOptions",
    "cookies",
    "delay",
    "generateFromSchema",
    "headers",
    "primary",
    "reasonPhrase",
    "recoverAfter",
    "statusCode",
    "statusCodeRange",
    "trailers",
];
const TIMES_FIELDS: &[&str] = &["remainingTimes", "unlimited"];
const TIME_TO_LIVE_FIELDS: &[&str] = &["endDate", "timeToLive", "timeUnit", "unlimited"];
const FORWARD_FIELDS: &[&str] = &["delay", "host", "port", "primary", "scheme"];
const ERROR_FIELDS: &[&str] = &[
    "delay",
    "dropConnection",
    "primary",
    "responseBytes",
    "streamError",
];
const TEMPLATE_FIELDS: &[&str] = &[
    "delay",
    "primary",
    "responseModifier",
    "responseOverride",
    "template",
    "templateFile",
    "templateType",
];

/// Refuses the first field of `obj` that MockServer's schema does not allow at this level.
fn known_fields(obj: &Map<String, Value>, pointer: &str, allowed: &[&str]) -> R<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(refuse(
            &format!("{pointer}/{}", standin_matcher::escape_pointer(k)),
            format!(
                "unknown field \"{k}\"; MockServer allows here: {}",
                allowed.join(", ")
            ),
        )),
    }
}

/// The content type MockServer gives JSON bodies.
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// An expectation converted: the route, and the expectation as MockServer would echo it.
pub struct Converted {
    pub route: Route,
    pub echo: Value,
}

/// Converts one expectation. `now_ms` is the current time, for `timeToLive`.
pub fn expectation(v: &Value, pointer: &str, now_ms: u64) -> R<Converted> {
    let obj = v
        .as_object()
        .ok_or_else(|| refuse(pointer, "an expectation must be a JSON object"))?;
    known_fields(obj, pointer, EXPECTATION_FIELDS)?;
    let id = match obj.get("id") {
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            return Err(refuse(
                &format!("{pointer}/id"),
                "must be a non-empty string",
            ));
        }
    };
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => 0,
        Some(p) => p
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| refuse(&format!("{pointer}/priority"), "must be an integer"))?,
    };
    let request = match obj.get("httpRequest") {
        None | Some(Value::Null) => HttpRequestMatcher::default(),
        Some(r) => request_matcher(r, &format!("{pointer}/httpRequest"))?,
    };
    let (response, forward) = action(obj, pointer)?;
    let times = times(obj.get("times"), &format!("{pointer}/times"))?;
    let expires_at = time_to_live(
        obj.get("timeToLive"),
        &format!("{pointer}/timeToLive"),
        now_ms,
    )?;

    let mut echo = obj.clone();
    echo.insert("id".into(), Value::String(id.clone()));
    echo.insert("priority".into(), Value::from(priority));
    // As MockServer echoes them: unlimited or the remaining count, never both.
    let times_echo = match times {
        None => serde_json::json!({"unlimited": true}),
        Some(n) => serde_json::json!({"remainingTimes": n}),
    };
    echo.insert("times".into(), times_echo);
    echo.entry("timeToLive")
        .or_insert_with(|| serde_json::json!({"unlimited": true}));
    let echo = Value::Object(echo);
    let route = Route {
        id,
        name: route_name(obj),
        memo: String::new(),
        priority,
        enabled: true,
        times,
        tags: vec!["mockserver".into()],
        expires_at,
        origin: Some(Origin {
            format: "mockserver".into(),
            document: echo.clone(),
        }),
        http: Some(HttpRoute {
            request,
            response,
            forward,
        }),
    };
    Ok(Converted { route, echo })
}

fn route_name(obj: &Map<String, Value>) -> String {
    let req = obj.get("httpRequest");
    let field = |k: &str| {
        req.and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (method, path) = (field("method"), field("path"));
    match (method.is_empty(), path.is_empty()) {
        (true, true) => "MockServer expectation".into(),
        (true, false) => path,
        (false, true) => method,
        (false, false) => format!("{method} {path}"),
    }
}

fn times(v: Option<&Value>, pointer: &str) -> R<Option<u64>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let obj = v
        .as_object()
        .ok_or_else(|| refuse(pointer, "must be an object like {\"remainingTimes\": 1}"))?;
    known_fields(obj, pointer, TIMES_FIELDS)?;
    if obj.get("unlimited").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    match obj.get("remainingTimes") {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n.as_u64().map(Some).ok_or_else(|| {
            refuse(
                &format!("{pointer}/remainingTimes"),
                "must be a non-negative integer",
            )
        }),
    }
}

fn unit_ms(unit: &str, value: f64, pointer: &str) -> R<f64> {
    let factor = match unit.to_ascii_uppercase().as_str() {
        "NANOSECONDS" => 1e-6,
        "MICROSECONDS" => 1e-3,
        "MILLISECONDS" => 1.0,
        "SECONDS" => 1e3,
        "MINUTES" => 60e3,
        "HOURS" => 3600e3,
        "DAYS" => 86_400e3,
        other => return Err(refuse(pointer, format!("unknown timeUnit \"{other}\""))),
    };
    Ok(value * factor)
}

fn time_to_live(v: Option<&Value>, pointer: &str, now_ms: u64) -> R<Option<String>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let obj = object(v, pointer)?;
    known_fields(obj, pointer, TIME_TO_LIVE_FIELDS)?;
    if obj.get("unlimited").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let Some(amount) = obj.get("timeToLive").and_then(Value::as_f64) else {
        return Ok(None);
    };
    let unit = obj
        .get("timeUnit")
        .and_then(Value::as_str)
        .unwrap_or("SECONDS");
    let ms = unit_ms(unit, amount, &format!("{pointer}/timeUnit"))?;
    let at = now_ms.saturating_add(ms.max(0.0) as u64);
    // A time to live beyond the last representable instant (year 9999) never ends: it
    // is unlimited, not an overflow that expires at once.
    let Some(ts) = i64::try_from(at)
        .ok()
        .and_then(|at| jiff::Timestamp::from_millisecond(at).ok())
    else {
        return Ok(None);
    };
    Ok(Some(ts.to_string()))
}

/// `{"timeUnit": "MILLISECONDS", "value": 50}` → milliseconds.
fn delay_ms(v: Option<&Value>, pointer: &str) -> R<u64> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(0);
    };
    let obj = v.as_object().ok_or_else(|| {
        refuse(
            pointer,
            "must be an object like {\"timeUnit\": \"MILLISECONDS\", \"value\": 50}",
        )
    })?;
    let value = obj.get("value").and_then(Value::as_f64).unwrap_or(0.0);
    let unit = obj
        .get("timeUnit")
        .and_then(Value::as_str)
        .unwrap_or("MILLISECONDS");
    Ok(unit_ms(unit, value, &format!("{pointer}/timeUnit"))?
        .max(0.0)
        .round() as u64)
}

const ACTIONS: &[&str] = &[
    "httpResponse",
    "httpResponseTemplate",
    "httpResponseClassCallback",
    "httpResponseObjectCallback",
    "httpForward",
    "httpForwardTemplate",
    "httpForwardClassCallback",
    "httpForwardObjectCallback",
    "httpOverrideForwardedRequest",
    "httpError",
];

fn action(obj: &Map<String, Value>, pointer: &str) -> R<(HttpResponse, Option<Forward>)> {
    let given: Vec<&str> = ACTIONS
        .iter()
        .copied()
        .filter(|a| obj.get(*a).is_some_and(|v| !v.is_null()))
        .collect();
    let plain = |r: HttpResponse| (r, None);
    match given.as_slice() {
        [] => Ok(plain(HttpResponse {
            status: 404,
            ..HttpResponse::default()
        })),
        ["httpResponse"] => {
            http_response(&obj["httpResponse"], &format!("{pointer}/httpResponse")).map(plain)
        }
        ["httpError"] => http_error(&obj["httpError"], &format!("{pointer}/httpError")).map(plain),
        ["httpResponseTemplate"] => template(
            &obj["httpResponseTemplate"],
            &format!("{pointer}/httpResponseTemplate"),
        )
        .map(plain),
        ["httpForward"] => http_forward(&obj["httpForward"], &format!("{pointer}/httpForward")),
        ["httpOverrideForwardedRequest"] => override_forward(
            &obj["httpOverrideForwardedRequest"],
            &format!("{pointer}/httpOverrideForwardedRequest"),
        ),
        [one] => Err(refuse(
            &format!("{pointer}/{one}"),
            format!("the {one} action is not supported by standin yet"),
        )),
        many => Err(refuse(
            pointer,
            format!("an expectation has one action; found {}", many.join(", ")),
        )),
    }
}

fn socket_address(v: &Value, pointer: &str) -> R<String> {
    let host = v
        .get("host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| refuse(&format!("{pointer}/host"), "a host is needed"))?;
    let scheme = v
        .get("scheme")
        .and_then(Value::as_str)
        .unwrap_or("HTTP")
        .to_ascii_uppercase();
    let (url_scheme, default_port) = if scheme == "HTTPS" {
        ("https", 443)
    } else {
        ("http", 80)
    };
    let port = v
        .get("port")
        .and_then(Value::as_u64)
        .unwrap_or(default_port);
    Ok(format!("{url_scheme}://{host}:{port}"))
}

fn http_forward(v: &Value, pointer: &str) -> R<(HttpResponse, Option<Forward>)> {
    known_fields(object(v, pointer)?, pointer, FORWARD_FIELDS)?;
    let to = socket_address(v, pointer)?;
    let delay_ms = delay_ms(v.get("delay"), &format!("{pointer}/delay"))?;
    Ok((
        HttpResponse {
            delay_ms,
            ..HttpResponse::default()
        },
        Some(Forward {
            to: Some(to),
            ..Forward::default()
        }),
    ))
}

/// `{"add": {..}, "replace": {..}, "remove": [..]}` as header changes.
fn header_changes(v: Option<&Value>, pointer: &str) -> R<HeaderChanges> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(HeaderChanges::default());
    };
    let to_map = |x: Option<&Value>, p: &str| -> R<BTreeMap<String, HeaderValues>> {
        Ok(multi_values(x, p)?
            .into_iter()
            .map(|(k, vals)| {
                (
                    k.text,
                    HeaderValues::Many(vals.into_iter().map(|v| v.text).collect()),
                )
            })
            .collect())
    };
    let remove = match v.get("remove") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    Ok(HeaderChanges {
        set: BTreeMap::new(),
        add: to_map(v.get("add"), &format!("{pointer}/add"))?,
        replace: to_map(v.get("replace"), &format!("{pointer}/replace"))?,
        remove,
    })
}

fn merge(into: &mut HeaderChanges, more: HeaderChanges) {
    into.set.extend(more.set);
    into.add.extend(more.add);
    into.replace.extend(more.replace);
    into.remove.extend(more.remove);
}

fn override_forward(v: &Value, pointer: &str) -> R<(HttpResponse, Option<Forward>)> {
    let obj = object(v, pointer)?;
    // 5.13+ names, and the older httpRequest/httpResponse pair.
    let req_override = obj
        .get("requestOverride")
        .or_else(|| obj.get("httpRequest"))
        .filter(|v| !v.is_null());
    let resp_override = obj
        .get("responseOverride")
        .or_else(|| obj.get("httpResponse"))
        .filter(|v| !v.is_null());
    let mut f = Forward::default();
    if let Some(r) = req_override {
        let p = format!("{pointer}/requestOverride");
        if let Some(sa) = r.get("socketAddress").filter(|v| !v.is_null()) {
            f.to = Some(socket_address(sa, &format!("{p}/socketAddress"))?);
        }
        if let Some(path) = r
            .get("path")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            f.path = Some(path.to_string());
        }
        for (name, values) in multi_values(r.get("headers"), &format!("{p}/headers"))? {
            let list: Vec<String> = values.into_iter().map(|v| v.text).collect();
            if name.text.eq_ignore_ascii_case("host") && f.to.is_none() {
                if let Some(h) = list.first() {
                    f.to = Some(format!("http://{h}"));
                }
                continue;
            }
            f.request_headers
                .set
                .insert(name.text, HeaderValues::Many(list));
        }
        for (name, values) in multi_values(
            r.get("queryStringParameters"),
            &format!("{p}/queryStringParameters"),
        )? {
            f.request_query.set.insert(
                name.text,
                HeaderValues::Many(values.into_iter().map(|v| v.text).collect()),
            );
        }
        for (name, values) in multi_values(r.get("cookies"), &format!("{p}/cookies"))? {
            f.request_cookies.set.insert(
                name.text,
                HeaderValues::Many(values.into_iter().take(1).map(|v| v.text).collect()),
            );
        }
        match r.get("body") {
            Some(Value::String(s)) if !s.is_empty() => f.body = Some(s.clone()),
            Some(Value::Object(b)) => {
                let text = b.get("string").or_else(|| b.get("json")).map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                f.body = text;
            }
            _ => {}
        }
    }
    if let Some(m) = obj.get("requestModifier").filter(|v| !v.is_null()) {
        let p = format!("{pointer}/requestModifier");
        if let Some(path) = m.get("path").filter(|v| !v.is_null()) {
            let regex = path
                .get("regex")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let replacement = path
                .get("substitution")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            f.path_rewrite = Some(Rewrite { regex, replacement });
        }
        merge(
            &mut f.request_headers,
            header_changes(m.get("headers"), &format!("{p}/headers"))?,
        );
        merge(
            &mut f.request_query,
            header_changes(
                m.get("queryStringParameters"),
                &format!("{p}/queryStringParameters"),
            )?,
        );
        merge(
            &mut f.request_cookies,
            header_changes(m.get("cookies"), &format!("{p}/cookies"))?,
        );
    }
    if let Some(r) = resp_override {
        let p = format!("{pointer}/responseOverride");
        if let Some(code) = r.get("statusCode").and_then(Value::as_u64) {
            f.response_status =
                Some(u16::try_from(code).map_err(|_| {
                    refuse(&format!("{p}/statusCode"), "must be an HTTP status code")
                })?);
        }
        for (name, values) in multi_values(r.get("headers"), &format!("{p}/headers"))? {
            f.response_headers.set.insert(
                name.text,
                HeaderValues::Many(values.into_iter().map(|v| v.text).collect()),
            );
        }
        let (body, content_type) = response_body(r.get("body"), &format!("{p}/body"))?;
        f.response_body = body;
        if let Some(ct) = content_type {
            f.response_headers
                .replace
                .entry("Content-Type".into())
                .or_insert(HeaderValues::One(ct));
        }
    }
    if let Some(m) = obj.get("responseModifier").filter(|v| !v.is_null()) {
        merge(
            &mut f.response_headers,
            header_changes(
                m.get("headers"),
                &format!("{pointer}/responseModifier/headers"),
            )?,
        );
        merge(
            &mut f.response_cookies,
            header_changes(
                m.get("cookies"),
                &format!("{pointer}/responseModifier/cookies"),
            )?,
        );
    }
    let delay_ms = delay_ms(obj.get("delay"), &format!("{pointer}/delay"))?;
    Ok((
        HttpResponse {
            delay_ms,
            ..HttpResponse::default()
        },
        Some(f),
    ))
}

fn template(v: &Value, pointer: &str) -> R<HttpResponse> {
    let obj = object(v, pointer)?;
    known_fields(obj, pointer, TEMPLATE_FIELDS)?;
    let kind = obj
        .get("templateType")
        .and_then(Value::as_str)
        .unwrap_or("");
    match kind.to_ascii_uppercase().as_str() {
        "MUSTACHE" => {}
        "VELOCITY" | "JAVASCRIPT" => {
            return Err(refuse(
                &format!("{pointer}/templateType"),
                format!(
                    "{kind} templates are not supported by standin; use MUSTACHE (same request variables) or standin's templated responses"
                ),
            ));
        }
        _ => {
            return Err(refuse(
                &format!("{pointer}/templateType"),
                format!("unknown templateType \"{kind}\"; standin supports MUSTACHE"),
            ));
        }
    }
    let source = obj
        .get("template")
        .and_then(Value::as_str)
        .ok_or_else(|| refuse(&format!("{pointer}/template"), "must be a string"))?;
    Ok(HttpResponse {
        document_template: Some(DocumentTemplate {
            engine: TemplateEngine::Mustache,
            source: source.to_string(),
        }),
        delay_ms: delay_ms(obj.get("delay"), &format!("{pointer}/delay"))?,
        ..HttpResponse::default()
    })
}

fn http_error(v: &Value, pointer: &str) -> R<HttpResponse> {
    let obj = object(v, pointer)?;
    known_fields(obj, pointer, ERROR_FIELDS)?;
    let fault = match obj.get("responseBytes").and_then(Value::as_str) {
        Some(b) => Fault::RawBytes(b.to_string()),
        None => Fault::DropConnection,
    };
    Ok(HttpResponse {
        fault: Some(fault),
        delay_ms: delay_ms(obj.get("delay"), &format!("{pointer}/delay"))?,
        ..HttpResponse::default()
    })
}

fn http_response(v: &Value, pointer: &str) -> R<HttpResponse> {
    let obj = object(v, pointer)?;
    known_fields(obj, pointer, RESPONSE_FIELDS)?;
    let status = match obj.get("statusCode") {
        None | Some(Value::Null) => 200,
        Some(s) => s
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| {
                refuse(
                    &format!("{pointer}/statusCode"),
                    "must be an HTTP status code",
                )
            })?,
    };
    let mut headers: BTreeMap<String, HeaderValues> = BTreeMap::new();
    for (name, values) in multi_values(obj.get("headers"), &format!("{pointer}/headers"))? {
        let list: Vec<String> = values.into_iter().map(|v| v.text).collect();
        headers.insert(name.text, HeaderValues::Many(list));
    }
    let cookies = key_values(obj.get("cookies"), &format!("{pointer}/cookies"))?;
    if !cookies.is_empty() {
        let set: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        match headers.get_mut("Set-Cookie") {
            Some(HeaderValues::Many(list)) => list.extend(set),
            _ => {
                headers.insert("Set-Cookie".into(), HeaderValues::Many(set));
            }
        }
    }
    let (body, content_type) = response_body(obj.get("body"), &format!("{pointer}/body"))?;
    if let Some(ct) = content_type
        && !headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        headers.insert("Content-Type".into(), HeaderValues::One(ct));
    }
    let mut response = HttpResponse {
        status,
        headers,
        body,
        delay_ms: delay_ms(obj.get("delay"), &format!("{pointer}/delay"))?,
        reason: obj
            .get("reasonPhrase")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..HttpResponse::default()
    };
    if let Some(opts) = obj.get("connectionOptions").and_then(Value::as_object) {
        let flag = |k: &str| opts.get(k).and_then(Value::as_bool) == Some(true);
        if flag("closeSocket") {
            response.fault = Some(Fault::CloseAfterResponse);
        }
        if flag("suppressContentLengthHeader") {
            response.omit_content_length = true;
        }
        if let Some(n) = opts
            .get("contentLengthHeaderOverride")
            .and_then(Value::as_u64)
        {
            response.content_length_override = Some(n);
        }
        if opts.get("keepAliveOverride").and_then(Value::as_bool) == Some(false) {
            response
                .headers
                .insert("Connection".into(), HeaderValues::One("close".into()));
        }
        if let Some(n) = opts
            .get("chunkSize")
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
        {
            response.chunk_size = Some(n as usize);
        }
    }
    Ok(response)
}

/// A response body and the content type its form implies.
fn response_body(v: Option<&Value>, pointer: &str) -> R<(Option<ResponseBody>, Option<String>)> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok((None, None));
    };
    let obj = match v {
        Value::String(s) => return Ok((Some(ResponseBody::Text(s.clone())), None)),
        Value::Object(o) if o.contains_key("type") => o,
        other => {
            return Ok((
                Some(ResponseBody::Json(other.clone())),
                Some(JSON_UTF8.into()),
            ));
        }
    };
    let content_type = obj
        .get("contentType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_uppercase();
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(match kind.as_str() {
        "STRING" => (Some(ResponseBody::Text(text("string"))), content_type),
        "JSON" => {
            let body = match obj.get("json") {
                Some(Value::String(s)) => ResponseBody::Text(s.clone()),
                Some(other) => ResponseBody::Json(other.clone()),
                None => ResponseBody::Text(String::new()),
            };
            (
                Some(body),
                Some(content_type.unwrap_or_else(|| JSON_UTF8.into())),
            )
        }
        "XML" => (
            Some(ResponseBody::Text(text("xml"))),
            Some(content_type.unwrap_or_else(|| "application/xml; charset=utf-8".into())),
        ),
        "BINARY" => (
            Some(ResponseBody::Base64(text("base64Bytes"))),
            content_type,
        ),
        other => {
            return Err(refuse(
                &format!("{pointer}/type"),
                format!("unsupported response body type \"{other}\""),
            ));
        }
    })
}

/// A string as MockServer writes it: `"!x"` negates, `"?x"` marks an optional key, and an
/// object form `{"value": "x", "not": true, "optional": true}`.
#[derive(Debug, Clone)]
struct Nottable {
    text: String,
    not: bool,
    optional: bool,
    /// `{"schema": {..}}`: the value must be valid against this JSON Schema.
    schema: Option<Value>,
}

fn nottable(v: &Value, pointer: &str, is_key: bool) -> R<Nottable> {
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

fn has_regex_syntax(s: &str) -> bool {
    s.chars().any(|c| ".*+?[](){}|^$\\".contains(c))
}

/// MockServer's string semantics: equal, equal ignoring case, or a regex matching the
/// whole value. Strings that are not valid (Rust) regexes are compared as text.
fn value_matcher(text: &str) -> StringMatcher {
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

fn nottable_matcher(n: &Nottable) -> Option<StringMatcher> {
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
fn multi_values(v: Option<&Value>, pointer: &str) -> R<Vec<(Nottable, Vec<Nottable>)>> {
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

fn value_list(v: &Value, pointer: &str) -> R<Vec<Nottable>> {
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
fn key_values(v: Option<&Value>, pointer: &str) -> R<Vec<(String, String)>> {
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
fn key_condition(
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

fn keyed(v: Option<&Value>, pointer: &str) -> R<BTreeMap<String, StringMatcher>> {
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
fn keyed_with_patterns(
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
        return Err(refuse(
            &format!("{pointer}/specUrlOrPayload"),
            "OpenAPI request matchers are not supported by standin yet",
        ));
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
fn path_matcher(p: &Nottable, params: Option<&Value>, pointer: &str) -> R<Option<PathMatcher>> {
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
        PathMatcher::Regex(regex)
    } else if has_regex_syntax(&p.text) && regex::Regex::new(&format!("^(?:{})$", p.text)).is_ok() {
        PathMatcher::Regex(format!("(?is){}", p.text))
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

fn json_value(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// Converts a MockServer body matcher.
fn body_matcher(v: &Value, pointer: &str) -> R<Option<BodyMatcher>> {
    let obj = match v {
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => return Ok(Some(BodyMatcher::Equals(s.clone()))),
        Value::Object(o) if o.contains_key("type") => o,
        other => return Ok(Some(BodyMatcher::JsonPartial(other.clone()))),
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
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
            return Err(refuse(
                &format!("{pointer}/type"),
                format!("{kind} body matchers are not supported by standin yet"),
            ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv(v: Value) -> Route {
        expectation(&v, "", 0)
            .unwrap_or_else(|e| panic!("{e}"))
            .route
    }

    #[test]
    fn plain_strings_compare_ignoring_case_and_regexes_match_whole() {
        let r = conv(
            json!({"httpRequest": {"method": "GET", "path": "/a/.*"}, "httpResponse": {"body": "x"}}),
        );
        let req = &r.http.as_ref().unwrap().request;
        assert_eq!(
            req.method,
            Some(StringMatcher::EqualsIgnoreCase("GET".into()))
        );
        assert_eq!(req.path, Some(PathMatcher::Regex("(?is)/a/.*".into())));
    }

    #[test]
    fn path_parameters_capture_segments_and_constrain_the_values() {
        let r = conv(
            json!({"httpRequest": {"path": "/cart/{cartId}/item", "pathParameters": {"cartId": ["[A-Z0-9\\-]+"]}}}),
        );
        let req = r.http.unwrap().request;
        assert_eq!(
            req.path,
            Some(PathMatcher::Regex(r"/cart/(?P<cartId>[^/]+)/item".into()))
        );
        assert!(matches!(req.path_values["cartId"], StringMatcher::AnyOf(_)));
    }

    #[test]
    fn negation_optional_keys_and_multiple_values() {
        let r = conv(json!({"httpRequest": {
            "method": "!GET",
            "headers": {"X-A": ["1", "2"], "?X-B": ["b"], "!X-C": []},
            "queryStringParameters": [{"name": "q", "values": ["v"]}]
        }}));
        let req = r.http.unwrap().request;
        assert_eq!(
            req.method,
            Some(StringMatcher::Not(Box::new(
                StringMatcher::EqualsIgnoreCase("GET".into())
            )))
        );
        assert!(matches!(req.headers["X-A"], StringMatcher::AllOf(ref v) if v.len() == 2));
        assert!(
            matches!(req.headers["X-B"], StringMatcher::AnyOf(ref v) if v[0] == StringMatcher::Present(false))
        );
        assert_eq!(req.headers["X-C"], StringMatcher::Present(false));
        assert_eq!(
            req.query_patterns,
            vec![NamePattern {
                name: StringMatcher::EqualsIgnoreCase("q".into()),
                value: StringMatcher::EqualsIgnoreCase("v".into())
            }],
            "query names compare ignoring case"
        );
    }

    #[test]
    fn regex_key_names_become_name_patterns() {
        let r = conv(json!({"httpRequest": {"headers": {"Accept.*": [".*gzip.*"]}}}));
        let req = r.http.unwrap().request;
        assert!(req.headers.is_empty());
        assert_eq!(req.header_patterns.len(), 1);
        assert!(matches!(
            req.header_patterns[0].name,
            StringMatcher::AnyOf(_)
        ));
    }

    #[test]
    fn body_forms() {
        let body = |b: Value| {
            conv(json!({"httpRequest": {"body": b}}))
                .http
                .unwrap()
                .request
                .body
        };
        assert_eq!(
            body(json!("exact")),
            Some(BodyMatcher::Equals("exact".into()))
        );
        assert_eq!(
            body(json!({"type": "STRING", "string": "s", "subString": true})),
            Some(BodyMatcher::Contains("s".into()))
        );
        assert_eq!(
            body(json!({"type": "JSON", "json": "{\"a\":1}"})),
            Some(BodyMatcher::JsonPartial(json!({"a": 1})))
        );
        assert_eq!(
            body(json!({"type": "JSON", "json": {"a": 1}, "matchType": "STRICT"})),
            Some(BodyMatcher::Json(json!({"a": 1})))
        );
        assert_eq!(
            body(json!({"type": "REGEX", "regex": "a.*", "not": true})),
            Some(BodyMatcher::Not(Box::new(BodyMatcher::Regex(
                "(?is)a.*".into()
            ))))
        );
        assert_eq!(
            body(json!({"a": [1]})),
            Some(BodyMatcher::JsonPartial(json!({"a": [1]})))
        );
    }

    #[test]
    fn times_and_ttl() {
        let r = conv(
            json!({"times": {"remainingTimes": 2, "unlimited": false}, "timeToLive": {"timeUnit": "SECONDS", "timeToLive": 60}}),
        );
        assert_eq!(r.times, Some(2));
        assert_eq!(r.expires_at.as_deref(), Some("1970-01-01T00:01:00Z"));
    }

    #[test]
    fn unsupported_things_are_refused_by_name() {
        let err = expectation(
            &json!({"httpResponseTemplate": {"templateType": "VELOCITY", "template": "x"}}),
            "",
            0,
        )
        .err()
        .unwrap();
        assert_eq!(err.pointer, "/httpResponseTemplate/templateType");
        assert!(err.message.contains("MUSTACHE"), "{}", err.message);
        let err = expectation(
            &json!({"httpRequest": {"body": {"type": "XML_SCHEMA", "xmlSchema": "<x/>"}}}),
            "/0",
            0,
        )
        .err()
        .unwrap();
        assert_eq!(err.pointer, "/0/httpRequest/body/type");
    }

    #[test]
    fn responses_map_status_headers_cookies_and_body_types() {
        let r = conv(json!({"httpResponse": {
            "statusCode": 418, "reasonPhrase": "Teapot",
            "headers": {"X-A": ["1"]}, "cookies": {"s": "v"},
            "body": {"type": "JSON", "json": {"a": 1}},
            "delay": {"timeUnit": "SECONDS", "value": 1},
            "connectionOptions": {"closeSocket": true}
        }}));
        let resp = r.http.unwrap().response;
        assert_eq!(
            (resp.status, resp.reason.as_deref(), resp.delay_ms),
            (418, Some("Teapot"), 1000)
        );
        assert_eq!(
            resp.headers["Set-Cookie"],
            HeaderValues::Many(vec!["s=v".into()])
        );
        assert_eq!(
            resp.headers["Content-Type"],
            HeaderValues::One("application/json; charset=utf-8".into())
        );
        assert_eq!(resp.fault, Some(Fault::CloseAfterResponse));
    }
}
