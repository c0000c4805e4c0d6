//! Actions that answer: `httpResponse`, `httpError` and `httpResponseTemplate`.

use super::*;

pub(crate) const ACTIONS: &[&str] = &[
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

pub(crate) fn action(
    obj: &Map<String, Value>,
    pointer: &str,
) -> R<(HttpResponse, Option<Forward>)> {
    let given: Vec<&str> = ACTIONS
        .iter()
        .copied()
        .filter(|a| obj.get(*a).is_some_and(|v| !v.is_null()))
        .collect();
    let plain = |r: HttpResponse| (r, None);
    match given.as_slice() {
        // Refused by the caller once every other field is checked (MockServer's schema
        // requires one action, with or without a request matcher).
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
        // A Java class standin cannot load: MockServer answers 404 when the class is not
        // on its classpath, and so does standin, for this expectation alone.
        [kind @ ("httpResponseClassCallback" | "httpForwardClassCallback")] => {
            let p = format!("{pointer}/{kind}");
            let cb = object(&obj[*kind], &p)?;
            known_fields(cb, &p, &["callbackClass", "actionType"])?;
            if !cb.get("callbackClass").is_some_and(Value::is_string) {
                return Err(refuse(&format!("{p}/callbackClass"), "must be a string"));
            }
            Ok(plain(HttpResponse {
                status: 404,
                ..HttpResponse::default()
            }))
        }
        // A client connected to the callback WebSocket answers (or forwards) each request.
        [kind @ ("httpResponseObjectCallback" | "httpForwardObjectCallback")] => {
            let p = format!("{pointer}/{kind}");
            let cb = object(&obj[*kind], &p)?;
            known_fields(
                cb,
                &p,
                &["clientId", "responseCallback", "actionType", "delay"],
            )?;
            let client_id = cb
                .get("clientId")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| refuse(&format!("{p}/clientId"), "must be a string"))?;
            let forward = *kind == "httpForwardObjectCallback";
            Ok(plain(HttpResponse {
                callback: Some(ClientCallback {
                    client_id: client_id.to_string(),
                    forward,
                    response_callback: forward
                        && cb.get("responseCallback").and_then(Value::as_bool) == Some(true),
                }),
                delay_ms: delay_ms(cb.get("delay"), &format!("{p}/delay"))?,
                ..HttpResponse::default()
            }))
        }
        // The template renders the request to forward.
        ["httpForwardTemplate"] => {
            let mut r = template(
                &obj["httpForwardTemplate"],
                &format!("{pointer}/httpForwardTemplate"),
            )?;
            if let Some(t) = r.document_template.as_mut() {
                t.forward = true;
            }
            Ok(plain(r))
        }
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

pub(crate) fn template(v: &Value, pointer: &str) -> R<HttpResponse> {
    let obj = object(v, pointer)?;
    known_fields(obj, pointer, TEMPLATE_FIELDS)?;
    let kind = obj
        .get("templateType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let engine = match kind.to_ascii_uppercase().as_str() {
        "MUSTACHE" => TemplateEngine::Mustache,
        "VELOCITY" => TemplateEngine::Velocity,
        // Stored and never run: MockServer 8.0 without GraalJS answers such a template
        // with a bare 404, and so does standin (after the template's delay).
        "JAVASCRIPT" => TemplateEngine::Javascript,
        _ => {
            return Err(refuse(
                &format!("{pointer}/templateType"),
                format!(
                    "unknown templateType \"{kind}\"; MockServer's are MUSTACHE, VELOCITY and JAVASCRIPT"
                ),
            ));
        }
    };
    let source = obj
        .get("template")
        .and_then(Value::as_str)
        .ok_or_else(|| refuse(&format!("{pointer}/template"), "must be a string"))?;
    Ok(HttpResponse {
        document_template: Some(DocumentTemplate {
            engine,
            source: source.to_string(),
            forward: false,
        }),
        delay_ms: delay_ms(obj.get("delay"), &format!("{pointer}/delay"))?,
        ..HttpResponse::default()
    })
}

pub(crate) fn http_error(v: &Value, pointer: &str) -> R<HttpResponse> {
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

/// A `statusCode`: absent, or a number from 100 to 999.
pub(crate) fn status_code(v: Option<&Value>, pointer: &str) -> R<Option<u16>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(s) => s
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=999).contains(s))
            .map(Some)
            .ok_or_else(|| {
                refuse(
                    &format!("{pointer}/statusCode"),
                    "must be an HTTP status code (100 to 999)",
                )
            }),
    }
}

pub(crate) fn http_response(v: &Value, pointer: &str) -> R<HttpResponse> {
    let obj = object(v, pointer)?;
    known_fields(obj, pointer, RESPONSE_FIELDS)?;
    let status = status_code(obj.get("statusCode"), pointer)?.unwrap_or(200);
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
    let (body, content_type) = response_body(obj.get("body"));
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
pub(crate) fn response_body(v: Option<&Value>) -> (Option<ResponseBody>, Option<String>) {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return (None, None);
    };
    let obj = match v {
        Value::String(s) => return (Some(ResponseBody::Text(s.clone())), None),
        Value::Object(o)
            if o.contains_key("type") || super::request::implied_body_type(o).is_some() =>
        {
            o
        }
        other => {
            return (
                Some(ResponseBody::Json(other.clone())),
                Some(JSON_UTF8.into()),
            );
        }
    };
    let content_type = obj
        .get("contentType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| super::request::implied_body_type(obj))
        .unwrap_or("")
        .to_ascii_uppercase();
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match kind.as_str() {
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
        // MockServer reads a PARAMETERS response body as a parameter body and writes it
        // as an empty JSON object; an object whose type it has no response body for
        // (TEMPLATE, say) is a JSON body as written (compat/cases/migration.json).
        "PARAMETERS" => (
            Some(ResponseBody::Json(Value::Object(Map::new()))),
            Some(JSON_UTF8.into()),
        ),
        _ => (Some(ResponseBody::Json(v.clone())), Some(JSON_UTF8.into())),
    }
}
