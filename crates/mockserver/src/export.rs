//! Routes as MockServer expectations, for the export of a service and for `retrieve`.
//! A route that came from an expectation is written back as it was written; any other
//! route is converted, and what MockServer cannot express is reported.

use serde_json::{Map, Value, json};
use standin_model::{
    BodyMatcher, Fault, HeaderValues, PathMatcher, ResponseBody, Route, StringMatcher,
};

/// The expectation for `route`, and what could not be carried over (field: why).
pub fn expectation(route: &Route) -> (Value, Vec<(String, String)>) {
    let mut lost = Vec::new();
    if let Some(o) = route.origin.as_ref().filter(|o| o.format == "mockserver") {
        // An import stamps its fingerprint into the expectation it keeps: not MockServer's
        // field. A route edited since no longer matches it and is converted instead.
        let mut doc = o.document.clone();
        let stamped = doc
            .as_object_mut()
            .and_then(|d| d.remove(standin_import::plan::FINGERPRINT));
        let edited = stamped
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|fp| fp != standin_import::plan::fingerprint(route));
        if !edited {
            return (doc, lost);
        }
    }
    let mut exp = Map::new();
    exp.insert("id".into(), json!(route.id));
    exp.insert("priority".into(), json!(route.priority));
    let Some(http) = &route.http else {
        return (Value::Object(exp), lost);
    };
    let rq = &http.request;
    let mut req = Map::new();
    match &rq.method {
        None => {}
        Some(StringMatcher::Equals(m)) => {
            req.insert("method".into(), json!(m));
        }
        Some(_) => lost.push((
            "/http/request/method".into(),
            "only one method can be written".into(),
        )),
    }
    match &rq.path {
        None => {}
        Some(PathMatcher::Pattern(p))
            if p.split('/')
                .any(|s| s == "*" || s == "**" || s.starts_with("{*")) =>
        {
            req.insert("path".into(), json!(standin_import::pattern_regex(p)));
        }
        Some(PathMatcher::Pattern(p))
        | Some(PathMatcher::Exact(p))
        | Some(PathMatcher::Regex(p)) => {
            req.insert("path".into(), json!(p));
        }
        Some(PathMatcher::Not(inner)) => match &**inner {
            PathMatcher::Exact(p) | PathMatcher::Regex(p) => {
                req.insert("path".into(), json!(format!("!{p}")));
            }
            _ => lost.push((
                "/http/request/path".into(),
                "this negated path cannot be written".into(),
            )),
        },
    }
    // MockServer reads `{name}` in a path only with a pathParameters entry for it.
    let template_names: Vec<String> = match &rq.path {
        Some(PathMatcher::Pattern(p)) => p
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .filter(|n| !n.starts_with('*'))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if !rq.path_values.is_empty() || !template_names.is_empty() {
        let mut params = Map::new();
        for name in &template_names {
            params.insert(name.clone(), json!(["[^/]+"]));
        }
        for (k, m) in &rq.path_values {
            match values(m) {
                Some(v) => {
                    params.insert(k.clone(), v);
                }
                None => lost.push((
                    format!("/http/request/pathValues/{k}"),
                    "this condition cannot be written".into(),
                )),
            }
        }
        req.insert("pathParameters".into(), Value::Object(params));
    }
    for (key, map, field) in [
        ("queryStringParameters", &rq.query, "query"),
        ("headers", &rq.headers, "headers"),
    ] {
        if map.is_empty() {
            continue;
        }
        let mut out = Map::new();
        for (k, m) in map {
            match values(m) {
                Some(v) => {
                    out.insert(k.clone(), v);
                }
                None => lost.push((
                    format!("/http/request/{field}/{k}"),
                    "this condition cannot be written".into(),
                )),
            }
        }
        req.insert(key.into(), Value::Object(out));
    }
    if !rq.cookies.is_empty() {
        let mut out = Map::new();
        for (k, m) in &rq.cookies {
            match values(m).and_then(|v| v.as_array().and_then(|a| a.first()).cloned()) {
                Some(v) => {
                    out.insert(k.clone(), v);
                }
                None => lost.push((
                    format!("/http/request/cookies/{k}"),
                    "this condition cannot be written".into(),
                )),
            }
        }
        req.insert("cookies".into(), Value::Object(out));
    }
    if let Some(b) = &rq.body {
        match body(b) {
            Some(v) => {
                req.insert("body".into(), v);
            }
            None => lost.push((
                "/http/request/body".into(),
                "this body condition cannot be written".into(),
            )),
        }
    }
    exp.insert("httpRequest".into(), Value::Object(req));
    let r = &http.response;
    if let Some(Fault::DropConnection) = r.fault {
        exp.insert("httpError".into(), json!({"dropConnection": true}));
    } else if let Some(cb) = &r.callback {
        if cb.forward {
            let mut v = json!({"clientId": cb.client_id});
            if cb.response_callback {
                v["responseCallback"] = json!(true);
            }
            exp.insert("httpForwardObjectCallback".into(), v);
        } else {
            exp.insert(
                "httpResponseObjectCallback".into(),
                json!({"clientId": cb.client_id}),
            );
        }
    } else if let Some(f) = http.forward.as_ref().and_then(|f| f.to.as_ref()) {
        match forward(f) {
            Some(v) => {
                exp.insert("httpForward".into(), v);
            }
            None => lost.push((
                "/http/forward/to".into(),
                "this upstream cannot be written".into(),
            )),
        }
    } else {
        let mut resp = Map::new();
        resp.insert("statusCode".into(), json!(r.status));
        if let Some(reason) = &r.reason {
            resp.insert("reasonPhrase".into(), json!(reason));
        }
        if !r.headers.is_empty() {
            let h: Map<String, Value> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        json!(match v {
                            HeaderValues::One(s) => vec![s.clone()],
                            HeaderValues::Many(a) => a.clone(),
                        }),
                    )
                })
                .collect();
            resp.insert("headers".into(), Value::Object(h));
        }
        match &r.body {
            Some(ResponseBody::Text(t)) => {
                resp.insert("body".into(), json!(t));
            }
            Some(ResponseBody::Json(v)) => {
                resp.insert("body".into(), json!({"type": "JSON", "json": v}));
            }
            Some(ResponseBody::Base64(b)) => {
                resp.insert("body".into(), json!({"type": "BINARY", "base64Bytes": b}));
            }
            None => {}
        }
        if r.delay_ms > 0 {
            resp.insert(
                "delay".into(),
                json!({"timeUnit": "MILLISECONDS", "value": r.delay_ms}),
            );
        }
        if r.templated || r.document_template.is_some() {
            lost.push((
                "/http/response".into(),
                "templates are written as their text".into(),
            ));
        }
        exp.insert("httpResponse".into(), Value::Object(resp));
    }
    if !http.alternatives.is_empty() {
        lost.push((
            "/http/alternatives".into(),
            "an expectation has one response: the alternatives are left out".into(),
        ));
    }
    if let Some(t) = route.times {
        exp.insert(
            "times".into(),
            json!({"remainingTimes": t, "unlimited": false}),
        );
    }
    (Value::Object(exp), lost)
}

/// MockServer's values are regexes or literals, and `!` negates.
fn values(m: &StringMatcher) -> Option<Value> {
    Some(match m {
        StringMatcher::Equals(s) => json!([s]),
        StringMatcher::Regex(r) => json!([r]),
        StringMatcher::Contains(s) => json!([format!(".*{}.*", regex_escape(s))]),
        StringMatcher::EqualsIgnoreCase(s) => json!([format!("(?i){}", regex_escape(s))]),
        StringMatcher::Not(inner) => match &**inner {
            StringMatcher::Equals(s) | StringMatcher::Regex(s) => json!([format!("!{s}")]),
            _ => return None,
        },
        StringMatcher::AnyOf(all) => {
            let parts: Option<Vec<String>> = all
                .iter()
                .map(|m| match m {
                    StringMatcher::Equals(s) => Some(regex_escape(s)),
                    StringMatcher::Regex(r) => Some(format!("(?:{r})")),
                    _ => None,
                })
                .collect();
            json!([parts?.join("|")])
        }
        _ => return None,
    })
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn body(b: &BodyMatcher) -> Option<Value> {
    Some(match b {
        BodyMatcher::Equals(s) => json!({"type": "STRING", "string": s}),
        BodyMatcher::Contains(s) => json!({"type": "STRING", "string": s, "subString": true}),
        BodyMatcher::Regex(r) => json!({"type": "REGEX", "regex": r}),
        BodyMatcher::Json(v) => json!({"type": "JSON", "json": v, "matchType": "STRICT"}),
        BodyMatcher::JsonPartial(v) => {
            json!({"type": "JSON", "json": v, "matchType": "ONLY_MATCHING_FIELDS"})
        }
        BodyMatcher::JsonPath(jp) if jp.equals.is_none() => {
            json!({"type": "JSON_PATH", "jsonPath": jp.path})
        }
        BodyMatcher::JsonSchema(s) => json!({"type": "JSON_SCHEMA", "jsonSchema": s}),
        BodyMatcher::Xml(x) => json!({"type": "XML", "xml": x}),
        BodyMatcher::Xpath(x) => json!({"type": "XPATH", "xpath": x}),
        BodyMatcher::XmlSchema(x) => json!({"type": "XML_SCHEMA", "xmlSchema": x}),
        BodyMatcher::Base64(b) => json!({"type": "BINARY", "base64Bytes": b}),
        BodyMatcher::Form(fields) => {
            let mut params = Map::new();
            for (k, m) in fields {
                params.insert(k.clone(), values(m)?);
            }
            json!({"type": "PARAMETERS", "parameters": params})
        }
        BodyMatcher::Not(inner) => {
            let mut v = body(inner)?;
            v["not"] = json!(true);
            v
        }
        BodyMatcher::JsonPath(_) | BodyMatcher::AllOf(_) => return None,
    })
}

fn forward(to: &str) -> Option<Value> {
    let (scheme, rest) = to.split_once("://")?;
    let host_port = rest.split('/').next()?;
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()?),
        None => (host_port, if scheme == "https" { 443 } else { 80 }),
    };
    if rest.contains('/')
        && !rest.ends_with('/')
        && rest.split_once('/').is_some_and(|(_, p)| !p.is_empty())
    {
        return None;
    }
    Some(json!({"host": host, "port": port, "scheme": scheme.to_ascii_uppercase()}))
}
