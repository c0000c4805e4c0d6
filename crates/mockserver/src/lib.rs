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
pub mod export;
pub mod import;
mod init;
mod jackson;
pub use standin_eval::lenient;
mod callback;
mod openapi;
mod render;
mod requests;

pub use init::{InitializationFile, load_initialization_file};
use requests::{clear, reset, retrieve, status, verify, verify_sequence};

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Value, json};
use standin_app::ServiceKey;
use standin_app::{App, AppError};
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

/// The endpoints of MockServer's API, as the last segment of `PUT /mockserver/...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Expectation,
    Clear,
    Reset,
    Retrieve,
    Verify,
    VerifySequence,
    Status,
    OpenApi,
    /// Not supported yet: answered 501, naming the endpoint.
    Bind,
    Stop,
}

impl Endpoint {
    const ALL: [Endpoint; 10] = [
        Endpoint::Expectation,
        Endpoint::Clear,
        Endpoint::Reset,
        Endpoint::Retrieve,
        Endpoint::Verify,
        Endpoint::VerifySequence,
        Endpoint::Status,
        Endpoint::Bind,
        Endpoint::OpenApi,
        Endpoint::Stop,
    ];

    fn name(self) -> &'static str {
        match self {
            Endpoint::Expectation => "expectation",
            Endpoint::Clear => "clear",
            Endpoint::Reset => "reset",
            Endpoint::Retrieve => "retrieve",
            Endpoint::Verify => "verify",
            Endpoint::VerifySequence => "verifySequence",
            Endpoint::Status => "status",
            Endpoint::Bind => "bind",
            Endpoint::OpenApi => "openapi",
            Endpoint::Stop => "stop",
        }
    }
}

/// The MockServer control API, bound to the application and the control plane's runtime.
pub struct MockServerApi {
    app: App,
    runtime: tokio::runtime::Handle,
    /// Object-callback clients connected to the mock port, and requests waiting for them.
    callbacks: Arc<callback::Callbacks>,
}

impl MockServerApi {
    pub fn new(app: App, runtime: tokio::runtime::Handle) -> Arc<Self> {
        Arc::new(MockServerApi {
            app,
            runtime,
            callbacks: Arc::default(),
        })
    }
}

/// The endpoint a path names, with or without the `/mockserver` prefix.
pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix("/mockserver").unwrap_or(path);
    let name = rest.strip_prefix('/')?;
    Endpoint::ALL.into_iter().find(|e| e.name() == name)
}

impl Control for MockServerApi {
    fn claims(&self, method: &Method, path: &str) -> bool {
        method == Method::PUT && endpoint(path).is_some()
    }

    fn callback_socket(&self, path: &str) -> bool {
        path == callback::CALLBACK_PATH
    }

    fn callback_id(&self, registration: Option<&str>) -> String {
        registration
            .filter(|r| !r.is_empty())
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
    }

    fn callback_client(
        &self,
        id: String,
        reader: standin_server::ws::Reader,
        writer: standin_server::ws::Writer,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.callbacks.clone().serve(id, reader, writer))
    }

    fn callback_ask(
        &self,
        callback: &standin_model::ClientCallback,
        req: standin_server::CallbackRequest,
    ) -> Pin<Box<dyn Future<Output = standin_server::CallbackAnswer> + Send>> {
        let (callbacks, callback) = (self.callbacks.clone(), callback.clone());
        Box::pin(async move { callbacks.ask(&callback, req).await })
    }

    fn callback_after_forward(
        &self,
        callback: &standin_model::ClientCallback,
        correlation: String,
        forwarded: standin_server::CallbackRequest,
        upstream: standin_server::CallbackResponse,
    ) -> Pin<Box<dyn Future<Output = Response<MockBody>> + Send>> {
        let (callbacks, callback) = (self.callbacks.clone(), callback.clone());
        Box::pin(async move {
            callbacks
                .after_forward(&callback, correlation, forwarded, upstream)
                .await
        })
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
    let Some(endpoint) = endpoint(req.uri.path()) else {
        return text(StatusCode::NOT_FOUND, "");
    };
    if let Err(refused) = actor(&req) {
        return refused;
    }
    let result = match endpoint {
        Endpoint::Status => Ok(status(req.local_port)),
        Endpoint::Expectation => expectation(app, &req).await,
        Endpoint::Clear => clear(app, &req).await,
        Endpoint::Reset => reset(app, &req).await,
        Endpoint::Retrieve => retrieve(app, &req).await,
        Endpoint::Verify => verify(app, &req).await,
        Endpoint::VerifySequence => verify_sequence(app, &req).await,
        Endpoint::OpenApi => openapi::openapi(app, &req).await,
        Endpoint::Bind | Endpoint::Stop => Err(text(
            StatusCode::NOT_IMPLEMENTED,
            &format!(
                "PUT /mockserver/{} is not supported by standin yet; see docs/mockserver.md for what is",
                endpoint.name()
            ),
        )),
    };
    result.unwrap_or_else(|e| e)
}

pub(crate) type Answer = Result<Response<MockBody>, Response<MockBody>>;

pub(crate) fn text(status: StatusCode, body: &str) -> Response<MockBody> {
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

pub(crate) fn json_answer(status: StatusCode, v: &Value) -> Response<MockBody> {
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

pub(crate) fn bad(message: impl std::fmt::Display) -> Response<MockBody> {
    text(StatusCode::BAD_REQUEST, &message.to_string())
}

pub(crate) fn app_error(e: AppError) -> Response<MockBody> {
    match e {
        AppError::Invalid { pointer, message } => bad(format!(
            "incorrect expectation json format for: {pointer}: {message}"
        )),
        AppError::NotFound(m) => text(StatusCode::NOT_FOUND, &m),
        AppError::Conflict(m) | AppError::Stale(m) => text(StatusCode::CONFLICT, &m),
        AppError::Store(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the change was not saved: {e}"),
        ),
        AppError::Internal(m) => text(StatusCode::INTERNAL_SERVER_ERROR, &m),
    }
}

/// The body as JSON; an empty body (or the client's `""`) is `None`. A body that is not
/// UTF-8 is refused: read as empty, it would mean "everything" to clear and reset.
pub(crate) fn body_json(req: &ControlRequest) -> Result<Option<Value>, Response<MockBody>> {
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return Err(bad("incorrect json format: the body is not UTF-8 text"));
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: Value = lenient::parse(text).map_err(|e| bad(format!("incorrect json format: {e}")))?;
    Ok(match v {
        Value::String(s) if s.is_empty() => None,
        Value::Object(ref o) if o.is_empty() => None,
        other => Some(other),
    })
}

/// Who makes a change: `X-Standin-Actor` (1 to 200 visible ASCII characters, as on the
/// management API), else [`ACTOR`].
pub(crate) fn actor(req: &ControlRequest) -> Result<String, Response<MockBody>> {
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
pub(crate) fn target(req: &ControlRequest) -> Result<(String, String), Response<MockBody>> {
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
    let key = ServiceKey::new(DEFAULT_TEAM, DEFAULT_SERVICE);
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
                breaker: None,
                default_delay_ms: 0,
                default_delay: None,
                match_order: MatchOrder::Oldest,
                not_found: NotFound::Empty,
                // MockServer shows recorded requests whole, and its users verify on
                // credentials headers.
                redact_headers: Some(Vec::new()),
                validate_requests: false,
                sync: None,
                chaos: None,
                record: None,
                tags: vec!["mockserver".into()],
            },
        )
        .map(drop)
    })
    .await
    .map(drop)
}

pub(crate) async fn prepare(
    app: &App,
    req: &ControlRequest,
) -> Result<(String, String), Response<MockBody>> {
    let (team, service) = target(req)?;
    if (team.as_str(), service.as_str()) == (DEFAULT_TEAM, DEFAULT_SERVICE) {
        ensure_default_service(app).await.map_err(app_error)?;
    } else if !app
        .catalog()
        .services
        .contains_key(&ServiceKey::new(&team, &service))
    {
        return Err(text(
            StatusCode::NOT_FOUND,
            &format!("service \"{team}/{service}\" does not exist"),
        ));
    }
    Ok((team, service))
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) async fn expectation(app: &App, req: &ControlRequest) -> Answer {
    let Some(body) = body_json(req)? else {
        return Err(bad("incorrect expectation json format: the body is empty"));
    };
    let (items, array) = match body {
        Value::Array(items) => (items, true),
        other => (vec![other], false),
    };
    let mut converted = Vec::with_capacity(items.len());
    // All or nothing, as MockServer; but every bad expectation is named, not the first.
    let mut refused = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let pointer = if array {
            format!("/{i}")
        } else {
            String::new()
        };
        match convert::expectation(item, &pointer, now_ms()) {
            Ok(c) => converted.push(c),
            Err(e) => refused.push(e.to_string()),
        }
    }
    match refused.len() {
        0 => {}
        1 => {
            return Err(bad(format!(
                "incorrect expectation json format for: {}",
                refused[0]
            )));
        }
        n => {
            return Err(bad(format!(
                "incorrect expectation json format for {n} of {} expectations (none was stored):\n{}",
                items.len(),
                refused
                    .iter()
                    .map(|r| format!("  {r}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )));
        }
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
