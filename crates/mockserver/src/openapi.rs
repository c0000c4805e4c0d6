//! `PUT /mockserver/openapi`: expectations from an OpenAPI document, as MockServer makes
//! them. The document is read by standin's OpenAPI importer; each operation becomes a
//! route that matches only requests valid for the operation (its path, query and header
//! parameters and a required body against their schemas, as MockServer matches them), and
//! answers with the first 2xx response, or the status `operationsAndResponses` names.
//! With `operationsAndResponses`, only the operations it names are made.

use crate::{Answer, actor, app_error, bad, body_json, json_answer, prepare};
use http::StatusCode;
use serde_json::Value;
use standin_app::App;
use standin_import::{Format, Options, Sources};
use standin_model::{BodyMatcher, ParameterIn, RequestContract, Route, StringMatcher};
use standin_server::ControlRequest;
use std::collections::BTreeMap;

pub(crate) async fn openapi(app: &App, req: &ControlRequest) -> Answer {
    let Some(Value::Object(body)) = body_json(req)? else {
        return Err(bad(
            "incorrect openapi json format: the body is an object with specUrlOrPayload",
        ));
    };
    let text = spec_text(body.get("specUrlOrPayload"))
        .map_err(|m| bad(format!("incorrect openapi json format: {m}")))?;
    let wanted: Option<BTreeMap<String, u16>> = match body.get("operationsAndResponses") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(
            m.iter()
                .map(|(k, v)| {
                    let code = v
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .or_else(|| v.as_u64().and_then(|n| u16::try_from(n).ok()))
                        .filter(|c| (100..=999).contains(c));
                    code.map(|c| (k.clone(), c)).ok_or_else(|| {
                        bad(format!(
                            "operationsAndResponses: \"{k}\" needs a status code"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(bad(
                "operationsAndResponses must be an object of operationId to status code",
            ));
        }
    };
    let imported = tokio::task::spawn_blocking(move || {
        standin_import::import(
            &Sources::single("openapi", text),
            Some(Format::Openapi),
            &Options::default(),
        )
    })
    .await
    .map_err(|e| bad(e.to_string()))?
    .map_err(|e| bad(format!("incorrect openapi format: {e}")))?;
    let mut routes = Vec::new();
    for mut route in imported.routes {
        let op_id = route
            .origin
            .as_ref()
            .and_then(|o| o.document.get("operationId"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(w) = &wanted {
            let Some(&status) = w.get(&op_id) else {
                continue;
            };
            choose(&mut route, status);
        }
        match_only_valid(&mut route);
        route.tags.push("mockserver".into());
        routes.push(route);
    }
    let (team, service) = prepare(app, req).await?;
    let echo: Vec<Value> = routes
        .iter()
        .map(|r| crate::export::expectation(r).0)
        .collect();
    app.change(&actor(req)?, |d| {
        for (i, r) in routes.into_iter().enumerate() {
            d.put_route(&team, &service, r, &format!("/{i}"))?;
        }
        Ok(())
    })
    .await
    .map_err(app_error)?;
    Ok(json_answer(StatusCode::CREATED, &Value::Array(echo)))
}

/// Makes the first answer with `status` the route's response.
fn choose(route: &mut Route, status: u16) {
    let Some(http) = route.http.as_mut() else {
        return;
    };
    if http.response.status == status {
        return;
    }
    if let Some(i) = http.alternatives.iter().position(|a| a.status == status) {
        std::mem::swap(&mut http.response, &mut http.alternatives[i]);
    } else {
        http.response = standin_model::HttpResponse {
            status,
            ..Default::default()
        };
    }
}

/// An OpenAPI request matcher (`{"specUrlOrPayload": ..., "operationId": ...}` in
/// `httpRequest`): the operation's method and path, and conditions that hold only for
/// requests valid against it. Refuses a URL (nothing is fetched here) and a matcher
/// without `operationId` (any operation of the document), which standin cannot state
/// as one route yet.
pub(crate) fn request_matcher(
    obj: &serde_json::Map<String, Value>,
    pointer: &str,
) -> Result<standin_model::HttpRequestMatcher, String> {
    let text = spec_text(obj.get("specUrlOrPayload"))?;
    let Some(op) = obj.get("operationId").and_then(Value::as_str) else {
        return Err("an OpenAPI request matcher without operationId (any operation of the document) is not supported by standin yet: name the operation".into());
    };
    let imported = standin_import::import(
        &Sources::single("openapi", text),
        Some(Format::Openapi),
        &Options::default(),
    )
    .map_err(|e| format!("incorrect openapi format: {e}"))?;
    let mut route = imported
        .routes
        .into_iter()
        .find(|r| {
            r.origin
                .as_ref()
                .and_then(|o| o.document.get("operationId"))
                .and_then(Value::as_str)
                == Some(op)
        })
        .ok_or_else(|| format!("the document has no operation \"{op}\" ({pointer}/operationId)"))?;
    match_only_valid(&mut route);
    Ok(route.http.map(|h| h.request).unwrap_or_default())
}

/// The document in `specUrlOrPayload`: an object, or JSON or YAML text. URLs and files
/// are refused: standin does not fetch here.
fn spec_text(v: Option<&Value>) -> Result<String, String> {
    match v {
        Some(Value::String(s)) if is_location(s) => Err(format!(
            "specUrlOrPayload \"{s}\" is a URL or a file: standin reads the document itself here (put the document in specUrlOrPayload, or import it with standin import)"
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ Value::Object(_)) => Ok(v.to_string()),
        _ => Err("specUrlOrPayload is required".into()),
    }
}

fn is_location(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("http://")
        || t.starts_with("https://")
        || t.starts_with("file:")
        || (!t.contains('\n')
            && (t.ends_with(".json") || t.ends_with(".yaml") || t.ends_with(".yml")))
}

/// MockServer matches an OpenAPI operation only for requests valid against it: the
/// contract's parameters and required body become conditions.
fn match_only_valid(route: &mut Route) {
    let Some(http) = route.http.as_mut() else {
        return;
    };
    let Some(RequestContract { parameters, body }) = http.contract.clone() else {
        return;
    };
    for p in parameters {
        let Some(schema) = p.schema else { continue };
        let check = StringMatcher::JsonSchema(schema);
        let condition = if p.required || p.location == ParameterIn::Path {
            check
        } else {
            StringMatcher::AnyOf(vec![StringMatcher::Present(false), check])
        };
        let target = match p.location {
            ParameterIn::Path => &mut http.request.path_values,
            ParameterIn::Query => &mut http.request.query,
            ParameterIn::Header => &mut http.request.headers,
            ParameterIn::Cookie => &mut http.request.cookies,
        };
        target.insert(p.name, condition);
    }
    if let Some(b) = body
        && b.required
        && let Some(schema) = b.schema
    {
        http.request.body = Some(BodyMatcher::JsonSchema(schema));
    }
}
