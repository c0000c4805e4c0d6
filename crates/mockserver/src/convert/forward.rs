//! Actions that forward: `httpForward` and `httpOverrideForwardedRequest`.

use super::*;

pub(crate) fn socket_address(v: &Value, pointer: &str) -> R<String> {
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

pub(crate) fn http_forward(v: &Value, pointer: &str) -> R<(HttpResponse, Option<Forward>)> {
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
pub(crate) fn header_changes(v: Option<&Value>, pointer: &str) -> R<HeaderChanges> {
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

pub(crate) fn merge(into: &mut HeaderChanges, more: HeaderChanges) {
    into.set.extend(more.set);
    into.add.extend(more.add);
    into.replace.extend(more.replace);
    into.remove.extend(more.remove);
}

pub(crate) fn override_forward(v: &Value, pointer: &str) -> R<(HttpResponse, Option<Forward>)> {
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
        if let Some(code) = super::action::status_code(r.get("statusCode"), &p)? {
            f.response_status = Some(code);
        }
        for (name, values) in multi_values(r.get("headers"), &format!("{p}/headers"))? {
            f.response_headers.set.insert(
                name.text,
                HeaderValues::Many(values.into_iter().map(|v| v.text).collect()),
            );
        }
        let (body, content_type) = response_body(r.get("body"));
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
