//! The management REST API: JSON under `/api/v1` on the admin listener.
//!
//! Handlers translate HTTP into calls on [`standin_app::App`] and results back into JSON.
//! They hold no state of their own. The OpenAPI document (`/api/v1/openapi.json`) and the
//! interactive docs (`/api/v1/docs`) are generated from the handlers' annotations, so they
//! cannot drift from the routes.
//!
//! Writes take the actor from the `X-Standin-Actor` header (`anonymous` when absent).

mod catalog;
mod error;
mod import;
mod journal;
mod live;
mod patch;
mod precondition;
mod routes;
mod scenarios;
mod services;
mod status;
mod teams;
mod ui;

pub use error::{ApiError, ErrorBody, JsonBody, QueryParams, parse_json};
pub use import::read_document;
pub use live::{LIVE_MAX_PER_SECOND, Preview, TryRequest};
pub use ui::UiSource;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Redirect;
use standin_app::{App, AppError};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "standin management API", description = "Teams, services and routes of the standin mock server, their change history and the request journal."),
    tags(
        (name = "teams", description = "Teams own services."),
        (name = "services", description = "A service is a set of routes under one base path."),
        (name = "routes", description = "Routes (stubs): a request matcher and a response."),
        (name = "history", description = "Every change ever made."),
        (name = "journal", description = "Requests the mock listener received."),
        (name = "import", description = "Routes from documents teams already have (OpenAPI, Swagger, standin's export), and exports."),
    )
)]
struct ApiDoc;

/// Reports the data plane's counters (refusals and failures) as JSON, for
/// `GET /api/v1/status`. The admin API knows nothing else of the data plane.
pub type StatusSource = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct AdminState {
    pub app: App,
    pub serving: StatusSource,
    /// The last pull of each synced service (`GET /api/v1/status`'s `sync`).
    pub sync: StatusSource,
    /// The mock listener's address (`GET /api/v1/status`'s `mockListener`), for base URLs.
    pub mock_address: Option<String>,
    /// Answers "try it" requests through the data plane's pipeline.
    pub preview: Option<Preview>,
    /// Where the web UI's files come from.
    pub ui: UiSource,
    /// Set when the listener shuts down, to end event streams.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Renders `GET /metrics` (Prometheus text); `None` answers 404.
    pub metrics: Option<MetricsSource>,
    /// Scheduled backups (`GET /api/v1/status`'s `backup`).
    pub backup: StatusSource,
    /// The MockServer initialization file loaded at start, and the expectations of it
    /// that were refused (`GET /api/v1/status`'s `mockserverInitialization`).
    pub initialization: StatusSource,
}

/// Renders the Prometheus exposition of the whole process.
pub type MetricsSource = Arc<dyn Fn() -> String + Send + Sync>;

impl AdminState {
    /// The state with nothing but the definitions: no data plane counters, no "try it",
    /// the embedded UI.
    pub fn new(app: App) -> Self {
        AdminState {
            app,
            serving: Arc::new(|| serde_json::json!({})),
            sync: Arc::new(|| serde_json::json!({})),
            mock_address: None,
            preview: None,
            ui: UiSource::default(),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            metrics: None,
            backup: Arc::new(|| serde_json::Value::Null),
            initialization: Arc::new(|| serde_json::Value::Null),
        }
    }
}

impl axum::extract::FromRef<AdminState> for UiSource {
    fn from_ref(s: &AdminState) -> UiSource {
        s.ui.clone()
    }
}

impl axum::extract::FromRef<AdminState> for App {
    fn from_ref(s: &AdminState) -> App {
        s.app.clone()
    }
}

/// Builds the admin router with its OpenAPI document and docs page.
pub fn router(app: App) -> Router {
    router_with(AdminState::new(app))
}

/// [`router`] with the data plane's counters in `GET /api/v1/status`.
pub fn router_with(state: AdminState) -> Router {
    let (api_router, api) = api().split_for_parts();
    api_router
        .merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", api))
        .route("/", axum::routing::get(ui::index))
        .route("/index.html", axum::routing::get(ui::index))
        .route("/favicon.svg", axum::routing::get(ui::favicon))
        .route("/assets/{*path}", axum::routing::get(ui::asset))
        .route(
            "/api",
            axum::routing::get(|| async { Redirect::temporary("/api/v1/docs/") }),
        )
        .route("/healthz", axum::routing::get(status::healthz))
        .route("/readyz", axum::routing::get(status::readyz))
        .route("/metrics", axum::routing::get(status::metrics))
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(error::same_origin_writes))
        .with_state(state)
}

/// Serves the admin API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    serving: StatusSource,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        listener,
        AdminState {
            serving,
            ..AdminState::new(app)
        },
        shutdown,
    )
    .await
}

/// [`serve`] with every part of the state given.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AdminState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = state.closing.clone();
    axum::serve(listener, router_with(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Event streams end, or the graceful shutdown would wait on them forever.
            closing.send_replace(true);
        })
        .await
}

async fn no_such_endpoint(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        format!(
            "{method} {} is not an endpoint of the management API; see /api/v1/docs/",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not take {method}; see /api/v1/docs/ for the methods it takes",
            uri.path()
        ),
    )
}

/// The OpenAPI document alone.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

fn api() -> OpenApiRouter<AdminState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(status::health))
        .routes(routes!(status::status))
        .routes(routes!(teams::list_teams, teams::create_team))
        .routes(routes!(
            teams::get_team,
            teams::put_team,
            teams::patch_team,
            teams::delete_team
        ))
        .routes(routes!(services::list_services))
        .routes(routes!(
            services::list_team_services,
            services::create_service
        ))
        .routes(routes!(
            services::get_service,
            services::put_service,
            services::patch_service,
            services::delete_service
        ))
        .routes(routes!(
            routes::list_routes,
            routes::create_route,
            routes::replace_routes
        ))
        .routes(routes!(routes::accept))
        .routes(routes!(
            routes::get_route,
            routes::put_route,
            routes::patch_route,
            routes::delete_route
        ))
        .routes(routes!(catalog::search))
        .routes(routes!(catalog::history))
        .routes(routes!(catalog::restore))
        .routes(routes!(journal::query, journal::clear))
        .routes(routes!(journal::verify))
        .routes(routes!(import::import))
        .routes(routes!(import::export))
        .routes(routes!(import::drift))
        .routes(routes!(journal::stats))
        .routes(routes!(live::stream))
        .routes(routes!(live::usage))
        .routes(routes!(live::try_request))
        .routes(routes!(scenarios::list, scenarios::reset_all))
        .routes(routes!(scenarios::get, scenarios::set, scenarios::reset))
}

/// Who is making a change, from `X-Standin-Actor`.
pub struct Actor(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let actor = match parts.headers.get("x-standin-actor") {
            None => "anonymous".to_string(),
            Some(v) => v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= 200)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_header",
                        "X-Standin-Actor must be 1 to 200 visible ASCII characters",
                    )
                })?
                .to_string(),
        };
        Ok(Actor(actor))
    }
}

type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn not_found(message: String) -> ApiError {
    ApiError::from(AppError::NotFound(message))
}
