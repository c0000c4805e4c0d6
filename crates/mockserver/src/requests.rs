//! The endpoints that read and forget what the mock received, and remove expectations:
//! `clear`, `reset`, `retrieve`, `verify` and `verifySequence`.

use crate::*;
use standin_journal::{JournalEntry, Query};
use standin_matcher::CompiledRequestMatcher;
use std::sync::Arc;

/// `type=` of clear and retrieve, upper-cased; `default` when absent.
pub(crate) fn query_param(req: &ControlRequest, name: &str) -> Option<String> {
    let pairs = standin_eval::parse::query_pairs(req.uri.query()?);
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.to_ascii_uppercase())
}

/// A filter given to clear, retrieve or verify: an expectation id or a request matcher.
pub(crate) enum Filter {
    All,
    Id(String),
    Matcher(Box<CompiledRequestMatcher>, Value),
}

pub(crate) fn filter(body: Option<Value>) -> Result<Filter, Response<MockBody>> {
    match body {
        None => Ok(Filter::All),
        Some(Value::Object(o)) if o.len() == 1 && o.get("id").is_some_and(Value::is_string) => {
            Ok(Filter::Id(o["id"].as_str().unwrap_or_default().to_string()))
        }
        Some(v) => {
            let m = request_filter(&v)?;
            Ok(Filter::Matcher(Box::new(m), v))
        }
    }
}

pub(crate) fn request_filter(v: &Value) -> Result<CompiledRequestMatcher, Response<MockBody>> {
    let m = convert::request_matcher(v, "")
        .map_err(|e| bad(format!("incorrect request matcher json format for: {e}")))?;
    CompiledRequestMatcher::compile(&m, "")
        .map_err(|e| bad(format!("incorrect request matcher json format for: {e}")))
}

pub(crate) fn service_key(team: &str, service: &str) -> String {
    format!("{team}/{service}")
}

/// Journal entries of the service, oldest first.
pub(crate) async fn recorded(
    app: &App,
    key: &str,
    matcher: Option<&CompiledRequestMatcher>,
) -> Vec<Arc<JournalEntry>> {
    app.journal().flush().await;
    let mut entries = app.journal().query(&Query {
        service: Some(key.to_string()),
        ..Query::default()
    });
    if let Some(m) = matcher {
        entries.retain(|e| m.matches(&e.as_request()));
    }
    entries.reverse();
    entries
}

pub(crate) async fn clear(app: &App, req: &ControlRequest) -> Answer {
    let kind = query_param(req, "type").unwrap_or_else(|| "ALL".into());
    if !["ALL", "LOG", "EXPECTATIONS"].contains(&kind.as_str()) {
        return Err(bad(format!(
            "\"{kind}\" is not a valid value for \"type\" parameter, only the following values are supported [all, log, expectations]"
        )));
    }
    let f = filter(body_json(req)?)?;
    let (team, service) = prepare(app, req).await?;
    let key = service_key(&team, &service);
    if kind != "LOG" {
        delete_routes(
            app,
            req,
            &team,
            &service,
            matching_routes(app, &team, &service, &f),
        )
        .await?;
    }
    if kind != "EXPECTATIONS" {
        match f {
            Filter::All => app.journal().clear(Some(&key)).await,
            Filter::Id(id) => {
                app.journal()
                    .clear_where(&key, move |e| {
                        e.matched_route.as_deref() == Some(id.as_str())
                    })
                    .await
            }
            Filter::Matcher(m, _) => app.journal().clear_matching(&key, *m).await,
        }
    }
    Ok(text(StatusCode::OK, ""))
}

/// Routes of the service a clear applies to.
pub(crate) fn matching_routes(app: &App, team: &str, service: &str, f: &Filter) -> Vec<String> {
    let catalog = app.catalog();
    let Some(routes) = catalog.routes_of(&ServiceKey::new(team, service)) else {
        return Vec::new();
    };
    match f {
        Filter::All => routes.keys().cloned().collect(),
        Filter::Id(id) => routes.keys().filter(|k| *k == id).cloned().collect(),
        Filter::Matcher(_, given) => routes
            .values()
            .filter(|r| render::expectation_matches_filter(r, given))
            .map(|r| r.route.id.clone())
            .collect(),
    }
}

/// Deletes routes of a service in one change (nothing to do for an empty list).
pub(crate) async fn delete_routes(
    app: &App,
    req: &ControlRequest,
    team: &str,
    service: &str,
    ids: Vec<String>,
) -> Result<(), Response<MockBody>> {
    if ids.is_empty() {
        return Ok(());
    }
    app.change(&actor(req)?, |d| {
        ids.iter()
            .try_for_each(|id| d.delete_route(team, service, id))
    })
    .await
    .map(drop)
    .map_err(app_error)
}

pub(crate) async fn reset(app: &App, req: &ControlRequest) -> Answer {
    let (team, service) = prepare(app, req).await?;
    delete_routes(
        app,
        req,
        &team,
        &service,
        matching_routes(app, &team, &service, &Filter::All),
    )
    .await?;
    app.journal()
        .clear(Some(&service_key(&team, &service)))
        .await;
    Ok(text(StatusCode::OK, ""))
}

pub(crate) fn status(port: u16) -> Response<MockBody> {
    json_answer(
        StatusCode::OK,
        &json!({"ports": [port], "version": "5.15.0", "artifactId": "mockserver-netty", "groupId": "org.mock-server"}),
    )
}

pub(crate) async fn retrieve(app: &App, req: &ControlRequest) -> Answer {
    let kind = query_param(req, "type").unwrap_or_else(|| "REQUESTS".into());
    let format = query_param(req, "format").unwrap_or_else(|| "JSON".into());
    let kinds = [
        "REQUESTS",
        "REQUEST_RESPONSES",
        "RECORDED_EXPECTATIONS",
        "ACTIVE_EXPECTATIONS",
        "LOGS",
    ];
    if !kinds.contains(&kind.as_str()) {
        return Err(bad(format!(
            "\"{kind}\" is not a valid value for \"type\" parameter, only the following values are supported [logs, requests, request_responses, recorded_expectations, active_expectations]"
        )));
    }
    if format != "JSON" && !(kind == "LOGS" && format == "LOG_ENTRIES") {
        return Err(bad(format!(
            "\"{format}\" is not supported by standin; use format=json"
        )));
    }
    let f = filter(body_json(req)?)?;
    let (team, service) = prepare(app, req).await?;
    let key = service_key(&team, &service);
    let entries = || entries_for(app, &key, &f);
    Ok(match kind.as_str() {
        "REQUESTS" => json_answer(StatusCode::OK, &Value::Array(entries().await.iter().map(|e| render::request(e)).collect())),
        "REQUEST_RESPONSES" => json_answer(
            StatusCode::OK,
            &Value::Array(
                entries()
                    .await
                    .iter()
                    .map(|e| json!({"httpRequest": render::request(e), "httpResponse": render::response(e), "timestamp": render::timestamp(e)}))
                    .collect(),
            ),
        ),
        // Each exchange a real server answered (a forward or the service's upstream), as
        // an expectation that would answer the same once (MockServer's shape).
        "RECORDED_EXPECTATIONS" => json_answer(
            StatusCode::OK,
            &Value::Array(
                entries()
                    .await
                    .iter()
                    .filter(|e| e.forwarded)
                    .map(|e| {
                        json!({
                            "httpRequest": render::request(e),
                            "httpResponse": render::response(e),
                            "id": format!("00000000-0000-4000-8000-{:012x}", e.seq & 0xFFFF_FFFF_FFFF),
                            "priority": 0,
                            "timeToLive": {"unlimited": true},
                            "times": {"remainingTimes": 1},
                        })
                    })
                    .collect(),
            ),
        ),
        "ACTIVE_EXPECTATIONS" => {
            let list = render::active_expectations(app, &team, &service, &f_value(&f));
            json_answer(StatusCode::OK, &Value::Array(list))
        }
        _ => {
            let lines: Vec<String> = entries().await.iter().map(|e| render::log_line(e)).collect();
            text(StatusCode::OK, &lines.join("\n------------------------------------\n"))
        }
    })
}

pub(crate) fn f_value(f: &Filter) -> Option<Value> {
    match f {
        Filter::All => None,
        Filter::Id(id) => Some(json!({ "id": id })),
        Filter::Matcher(_, v) => Some(v.clone()),
    }
}

/// Journal entries a retrieve filter selects, oldest first.
pub(crate) async fn entries_for(app: &App, key: &str, f: &Filter) -> Vec<Arc<JournalEntry>> {
    match f {
        Filter::All => recorded(app, key, None).await,
        Filter::Id(id) => recorded(app, key, None)
            .await
            .into_iter()
            .filter(|e| e.matched_route.as_deref() == Some(id.as_str()))
            .collect(),
        Filter::Matcher(m, _) => recorded(app, key, Some(m)).await,
    }
}

/// `times` of a verification: `(at least, at most)`, `None` for no bound. MockServer's
/// default without `times` is exactly once.
pub(crate) fn verification_times(v: Option<&Value>) -> (u64, Option<u64>) {
    let Some(t) = v.and_then(Value::as_object) else {
        return (1, Some(1));
    };
    let bound = |k: &str| {
        t.get(k)
            .and_then(Value::as_i64)
            .filter(|n| *n >= 0)
            .map(|n| n as u64)
    };
    (bound("atLeast").unwrap_or(0), bound("atMost"))
}

pub(crate) fn times_phrase(low: u64, high: Option<u64>) -> String {
    let n = |k: u64| {
        if k == 1 {
            "once".to_string()
        } else {
            format!("{k} times")
        }
    };
    match high {
        Some(h) if h == low => format!("exactly {}", n(low)),
        Some(h) if low == 0 => format!("at most {}", n(h)),
        Some(h) => format!("between {low} and {h} times"),
        None => format!("at least {}", n(low)),
    }
}

pub(crate) async fn verify(app: &App, req: &ControlRequest) -> Answer {
    let Some(body) = body_json(req)? else {
        return Err(bad("incorrect verification json format: the body is empty"));
    };
    let (team, service) = prepare(app, req).await?;
    let key = service_key(&team, &service);
    let (low, high) = verification_times(body.get("times"));
    let (found, expected): (Vec<Arc<JournalEntry>>, Value) = if let Some(id) = body
        .get("expectationId")
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str)
    {
        let all = recorded(app, &key, None).await;
        (
            all.into_iter()
                .filter(|e| e.matched_route.as_deref() == Some(id))
                .collect(),
            json!({"id": id}),
        )
    } else {
        let given = body.get("httpRequest").cloned().unwrap_or(json!({}));
        let m = request_filter(&given)?;
        (recorded(app, &key, Some(&m)).await, given)
    };
    let count = found.len() as u64;
    if count >= low && high.is_none_or(|h| count <= h) {
        return Ok(text(StatusCode::ACCEPTED, ""));
    }
    let all: Vec<Value> = recorded(app, &key, None)
        .await
        .iter()
        .map(|e| render::request(e))
        .collect();
    // MockServer prints one recorded request as an object, several as a list.
    let was = match all.as_slice() {
        [one] => one.clone(),
        _ => Value::Array(all),
    };
    Err(text(
        StatusCode::NOT_ACCEPTABLE,
        &format!(
            "Request not found {}, expected:<{}> but was:<{}>",
            times_phrase(low, high),
            jackson::to_string(&expected),
            jackson::to_string(&was)
        ),
    ))
}

/// One step of a sequence verification.
pub(crate) type Step = Box<dyn Fn(&JournalEntry) -> bool + Send>;

pub(crate) async fn verify_sequence(app: &App, req: &ControlRequest) -> Answer {
    let Some(body) = body_json(req)? else {
        return Err(bad(
            "incorrect verification sequence json format: the body is empty",
        ));
    };
    let (team, service) = prepare(app, req).await?;
    let key = service_key(&team, &service);
    let all = recorded(app, &key, None).await;
    let steps: Vec<Step> = if let Some(ids) = body.get("expectationIds").and_then(Value::as_array) {
        ids.iter()
            .map(|i| {
                let id = i
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                Box::new(move |e: &JournalEntry| e.matched_route.as_deref() == Some(id.as_str()))
                    as Step
            })
            .collect()
    } else {
        let list = body
            .get("httpRequests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut steps: Vec<Step> = Vec::new();
        for r in &list {
            let m = request_filter(r)?;
            steps.push(Box::new(move |e: &JournalEntry| m.matches(&e.as_request())));
        }
        steps
    };
    let mut next = 0;
    for e in &all {
        if next < steps.len() && steps[next](e) {
            next += 1;
        }
    }
    if next == steps.len() {
        return Ok(text(StatusCode::ACCEPTED, ""));
    }
    let expected = body
        .get("httpRequests")
        .or_else(|| body.get("expectationIds"))
        .cloned()
        .unwrap_or(json!([]));
    let was: Vec<Value> = all.iter().map(|e| render::request(e)).collect();
    Err(text(
        StatusCode::NOT_ACCEPTABLE,
        &format!(
            "Request sequence not found, expected:<{}> but was:<{}>",
            jackson::to_string(&expected),
            jackson::to_string(&Value::Array(was))
        ),
    ))
}
