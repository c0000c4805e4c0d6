//! MockServer's REST API on standin's mock listener.
//!
//! `PUT /mockserver/expectation`, `clear`, `reset`, `retrieve`, `verify`,
//! `verifySequence` and `status` (each also without the `/mockserver` prefix) are answered
//! the way MockServer 5.15 answers them. Expectations become ordinary standin routes in the
//! service `default/default`, served at the root of the mock listener with MockServer's
//! ordering (priority, then age) and its bare 404; the header `X-Standin-Service:
//! team/service` puts them in another existing service instead. They are stored,
//! recorded in the history, journaled and listed by the management API like any route.
//!
//! The data plane hands these requests over through [`standin_server::Control`]; the work
//! runs on the control plane's runtime.

// Handlers here return a finished HTTP response as their error: that keeps every refusal
// next to its wording. This is the control API, not the serving path, so the size of the
// error value does not matter.
#![allow(clippy::result_large_err)]

pub mod convert;
mod jackson;
mod render;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Value, json};
use standin_app::{App, AppError};
use standin_journal::{JournalEntry, Query};
use standin_matcher::CompiledRequestMatcher;
use standin_model::{MatchOrder, NotFound, Service, Team};
use standin_server::{Control, ControlRequest, MockBody};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The team and service that hold expectations by default.
pub const DEFAULT_TEAM: &str = "default";
pub const DEFAULT_SERVICE: &str = "default";
/// Selects another service for an API call: `team/service`.
pub const SERVICE_HEADER: &str = "x-standin-service";
/// The actor recorded in the history for changes made through this API (unless the
/// request has `X-Standin-Actor`).
pub const ACTOR: &str = "mockserver-api";

const ENDPOINTS: &[&str] = &[
    "expectation",
    "clear",
    "reset",
    "retrieve",
    "verify",
    "verifySequence",
    "status",
    "bind",
    "openapi",
    "stop",
];

/// The MockServer control API, bound to the application and the control plane's runtime.
pub struct MockServerApi {
    app: App,
    runtime: tokio::runtime::Handle,
}

impl MockServerApi {
    pub fn new(app: App, runtime: tokio::runtime::Handle) -> Arc<Self> {
        Arc::new(MockServerApi { app, runtime })
    }
}

fn endpoint(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/mockserver").unwrap_or(path);
    let name = rest.strip_prefix('/')?;
    ENDPOINTS.iter().copied().find(|e| *e == name)
}

impl Control for MockServerApi {
    fn claims(&self, method: &Method, path: &str) -> bool {
        method == Method::PUT && endpoint(path).is_some()
    }

    fn handle(
        &self,
        req: ControlRequest,
    ) -> Pin<Box<dyn Future<Output = Response<MockBody>> + Send>> {
        let app = self.app.clone();
        let task = self.runtime.spawn(async move { dispatch(&app, req).await });
        Box::pin(async move {
            task.await.unwrap_or_else(|e| {
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("the control plane failed: {e}"),
                )
            })
        })
    }
}

/// Answers one control request.
pub async fn dispatch(app: &App, req: ControlRequest) -> Response<MockBody> {
    let Some(name) = endpoint(req.uri.path()) else {
        return text(StatusCode::NOT_FOUND, "");
    };
    if let Err(refused) = actor(&req) {
        return refused;
    }
    let result = match name {
        "status" => Ok(status(req.local_port)),
        "expectation" => expectation(app, &req).await,
        "clear" => clear(app, &req).await,
        "reset" => reset(app, &req).await,
        "retrieve" => retrieve(app, &req).await,
        "verify" => verify(app, &req).await,
        "verifySequence" => verify_sequence(app, &req).await,
        other => Err(text(
            StatusCode::NOT_IMPLEMENTED,
            &format!(
                "PUT /mockserver/{other} is not supported by standin yet; see docs/mockserver.md for what is"
            ),
        )),
    };
    result.unwrap_or_else(|e| e)
}

type Answer = Result<Response<MockBody>, Response<MockBody>>;

fn text(status: StatusCode, body: &str) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    if !body.is_empty() {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    r
}

fn json_answer(status: StatusCode, v: &Value) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::from(
        jackson::to_string(v).into_bytes(),
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn bad(message: impl std::fmt::Display) -> Response<MockBody> {
    text(StatusCode::BAD_REQUEST, &message.to_string())
}

fn app_error(e: AppError) -> Response<MockBody> {
    match e {
        AppError::Invalid { pointer, message } => bad(format!(
            "incorrect expectation json format for: {pointer}: {message}"
        )),
        AppError::NotFound(m) => text(StatusCode::NOT_FOUND, &m),
        AppError::Conflict(m) => text(StatusCode::CONFLICT, &m),
        AppError::Store(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the change was not saved: {e}"),
        ),
        AppError::Internal(m) => text(StatusCode::INTERNAL_SERVER_ERROR, &m),
    }
}

/// The body as JSON; an empty body (or the client's `""`) is `None`. A body that is not
/// UTF-8 is refused: read as empty, it would mean "everything" to clear and reset.
fn body_json(req: &ControlRequest) -> Result<Option<Value>, Response<MockBody>> {
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return Err(bad("incorrect json format: the body is not UTF-8 text"));
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| bad(format!("incorrect json format: {e}")))?;
    Ok(match v {
        Value::String(s) if s.is_empty() => None,
        Value::Object(ref o) if o.is_empty() => None,
        other => Some(other),
    })
}

/// Who makes a change: `X-Standin-Actor` (1 to 200 visible ASCII characters, as on the
/// management API), else [`ACTOR`].
fn actor(req: &ControlRequest) -> Result<String, Response<MockBody>> {
    let Some(v) = req.headers.get("x-standin-actor") else {
        return Ok(ACTOR.to_string());
    };
    v.to_str()
        .ok()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .map(str::to_string)
        .ok_or_else(|| bad("X-Standin-Actor must be 1 to 200 visible ASCII characters"))
}

/// The `(team, service)` an API call works on.
fn target(req: &ControlRequest) -> Result<(String, String), Response<MockBody>> {
    match req
        .headers
        .get(SERVICE_HEADER)
        .map(|v| v.to_str().unwrap_or(""))
    {
        None => Ok((DEFAULT_TEAM.into(), DEFAULT_SERVICE.into())),
        Some(v) => v
            .split_once('/')
            .filter(|(t, s)| !t.is_empty() && !s.is_empty())
            .map(|(t, s)| (t.to_string(), s.to_string()))
            .ok_or_else(|| {
                bad(format!(
                    "{SERVICE_HEADER} must be team/service, got \"{v}\""
                ))
            }),
    }
}

/// Creates `default/default` at the root of the mock listener the first time it is needed.
pub async fn ensure_default_service(app: &App) -> Result<(), AppError> {
    let key = (DEFAULT_TEAM.to_string(), DEFAULT_SERVICE.to_string());
    if app.catalog().services.contains_key(&key) {
        return Ok(());
    }
    app.change(ACTOR, |d| {
        if !d.catalog().teams.contains_key(DEFAULT_TEAM) {
            d.create_team(Team {
                slug: DEFAULT_TEAM.into(),
                name: "Default".into(),
                memo: "Holds the service that MockServer's API writes to.".into(),
                tags: vec!["mockserver".into()],
            })?;
        }
        if d.catalog().services.contains_key(&key) {
            return Ok(());
        }
        d.create_service(
            DEFAULT_TEAM,
            Service {
                slug: DEFAULT_SERVICE.into(),
                name: "MockServer expectations".into(),
                memo: "Expectations created through MockServer's REST API (`PUT /mockserver/expectation`), served at the root of the mock listener as MockServer serves them.".into(),
                base_path: Some("/".into()),
                hosts: Vec::new(),
                upstream: None,
                default_delay_ms: 0,
                match_order: MatchOrder::Oldest,
                not_found: NotFound::Empty,
                // MockServer shows recorded requests whole, and its users verify on
                // credentials headers.
                redact_headers: Some(Vec::new()),
                tags: vec!["mockserver".into()],
            },
        )
        .map(drop)
    })
    .await
    .map(drop)
}

async fn prepare(app: &App, req: &ControlRequest) -> Result<(String, String), Response<MockBody>> {
    let (team, service) = target(req)?;
    if (team.as_str(), service.as_str()) == (DEFAULT_TEAM, DEFAULT_SERVICE) {
        ensure_default_service(app).await.map_err(app_error)?;
    } else if !app
        .catalog()
        .services
        .contains_key(&(team.clone(), service.clone()))
    {
        return Err(text(
            StatusCode::NOT_FOUND,
            &format!("service \"{team}/{service}\" does not exist"),
        ));
    }
    Ok((team, service))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn expectation(app: &App, req: &ControlRequest) -> Answer {
    let Some(body) = body_json(req)? else {
        return Err(bad("incorrect expectation json format: the body is empty"));
    };
    let (items, array) = match body {
        Value::Array(items) => (items, true),
        other => (vec![other], false),
    };
    let mut converted = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let pointer = if array {
            format!("/{i}")
        } else {
            String::new()
        };
        let c = convert::expectation(item, &pointer, now_ms())
            .map_err(|e| bad(format!("incorrect expectation json format for: {e}")))?;
        converted.push(c);
    }
    let (team, service) = prepare(app, req).await?;
    let echo: Vec<Value> = converted.iter().map(|c| c.echo.clone()).collect();
    app.change(&actor(req)?, |d| {
        for (i, c) in converted.into_iter().enumerate() {
            let pointer = if array {
                format!("/{i}")
            } else {
                String::new()
            };
            d.put_route(&team, &service, c.route, &pointer)?;
        }
        Ok(())
    })
    .await
    .map_err(app_error)?;
    Ok(json_answer(StatusCode::CREATED, &Value::Array(echo)))
}

/// `type=` of clear and retrieve, upper-cased; `default` when absent.
fn query_param(req: &ControlRequest, name: &str) -> Option<String> {
    let pairs = standin_eval::parse::query_pairs(req.uri.query()?);
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.to_ascii_uppercase())
}

/// A filter given to clear, retrieve or verify: an expectation id or a request matcher.
enum Filter {
    All,
    Id(String),
    Matcher(Box<CompiledRequestMatcher>, Value),
}

fn filter(body: Option<Value>) -> Result<Filter, Response<MockBody>> {
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

fn request_filter(v: &Value) -> Result<CompiledRequestMatcher, Response<MockBody>> {
    let m = convert::request_matcher(v, "")
        .map_err(|e| bad(format!("incorrect request matcher json format for: {e}")))?;
    CompiledRequestMatcher::compile(&m, "")
        .map_err(|e| bad(format!("incorrect request matcher json format for: {e}")))
}

fn service_key(team: &str, service: &str) -> String {
    format!("{team}/{service}")
}

/// Journal entries of the service, oldest first.
async fn recorded(
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

async fn clear(app: &App, req: &ControlRequest) -> Answer {
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
fn matching_routes(app: &App, team: &str, service: &str, f: &Filter) -> Vec<String> {
    let catalog = app.catalog();
    let Some(routes) = catalog.routes_of(&(team.to_string(), service.to_string())) else {
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
async fn delete_routes(
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

async fn reset(app: &App, req: &ControlRequest) -> Answer {
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

fn status(port: u16) -> Response<MockBody> {
    json_answer(
        StatusCode::OK,
        &json!({"ports": [port], "version": "5.15.0", "artifactId": "mockserver-netty", "groupId": "org.mock-server"}),
    )
}

async fn retrieve(app: &App, req: &ControlRequest) -> Answer {
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
        "RECORDED_EXPECTATIONS" => json_answer(StatusCode::OK, &json!([])),
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

fn f_value(f: &Filter) -> Option<Value> {
    match f {
        Filter::All => None,
        Filter::Id(id) => Some(json!({ "id": id })),
        Filter::Matcher(_, v) => Some(v.clone()),
    }
}

/// Journal entries a retrieve filter selects, oldest first.
async fn entries_for(app: &App, key: &str, f: &Filter) -> Vec<Arc<JournalEntry>> {
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
fn verification_times(v: Option<&Value>) -> (u64, Option<u64>) {
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

fn times_phrase(low: u64, high: Option<u64>) -> String {
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

async fn verify(app: &App, req: &ControlRequest) -> Answer {
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
type Step = Box<dyn Fn(&JournalEntry) -> bool + Send>;

async fn verify_sequence(app: &App, req: &ControlRequest) -> Answer {
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

/// Loads a MockServer initialization file (a JSON array of expectations, or one) into the
/// default service. Expectations from the file replace those the file loaded last time, so
/// restarting with the same file does not duplicate them.
pub async fn load_initialization_file(app: &App, text: &str) -> Result<usize, String> {
    let file = InitializationFile::read(text)?;
    file.apply(app).await
}

/// An initialization file read and converted, not yet applied: standin checks it before
/// it applies anything at start.
pub struct InitializationFile {
    routes: Vec<standin_model::Route>,
}

impl InitializationFile {
    /// Reads and converts the expectations; an error names the first that is refused.
    pub fn read(text: &str) -> Result<Self, String> {
        Ok(InitializationFile {
            routes: initialization_routes(text)?,
        })
    }

    /// Applies the file as one change; returns how many expectations it holds.
    pub async fn apply(self, app: &App) -> Result<usize, String> {
        apply_initialization(app, self.routes).await
    }
}

fn initialization_routes(text: &str) -> Result<Vec<standin_model::Route>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let items = match v {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut routes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut c =
            convert::expectation(item, &format!("/{i}"), now_ms()).map_err(|e| e.to_string())?;
        if item.get("id").is_none() {
            // A stable id per position keeps restarts idempotent (in the echoed document
            // too, or every load would be a change).
            c.route.id = format!("init-{i}");
            if let Some(doc) = c
                .route
                .origin
                .as_mut()
                .and_then(|o| o.document.as_object_mut())
            {
                doc.insert("id".into(), Value::String(c.route.id.clone()));
            }
        }
        c.route.tags.push("mockserver-init".into());
        routes.push(c.route);
    }
    Ok(routes)
}

async fn apply_initialization(
    app: &App,
    routes: Vec<standin_model::Route>,
) -> Result<usize, String> {
    ensure_default_service(app)
        .await
        .map_err(|e| e.to_string())?;
    let count = routes.len();
    app.change(ACTOR, |d| {
        let key = (DEFAULT_TEAM.to_string(), DEFAULT_SERVICE.to_string());
        let stale: Vec<String> = d
            .catalog()
            .routes_of(&key)
            .map(|m| {
                m.values()
                    .filter(|r| r.route.tags.iter().any(|t| t == "mockserver-init"))
                    .map(|r| r.route.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        for id in stale
            .iter()
            .filter(|id| !routes.iter().any(|r| &r.id == *id))
        {
            d.delete_route(DEFAULT_TEAM, DEFAULT_SERVICE, id)?;
        }
        for (i, r) in routes.into_iter().enumerate() {
            // An expectation the file loaded before, unchanged, is not a change: a restart
            // with the same file records nothing.
            let unchanged = d
                .route(DEFAULT_TEAM, DEFAULT_SERVICE, &r.id)
                .is_some_and(|stored| stored.route == r);
            if !unchanged {
                d.put_route(DEFAULT_TEAM, DEFAULT_SERVICE, r, &format!("/{i}"))?;
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(count)
}
