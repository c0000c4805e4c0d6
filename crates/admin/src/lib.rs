//! The management REST API: JSON under `/api/v1` on the admin listener.
//!
//! Handlers translate HTTP into calls on [`standin_app::App`] and results back into JSON.
//! They hold no state of their own. The OpenAPI document (`/api/v1/openapi.json`) and the
//! interactive docs (`/api/v1/docs`) are generated from the handlers' annotations, so they
//! cannot drift from the routes.
//!
//! Writes take the actor from the `X-Standin-Actor` header (`anonymous` when absent).

mod error;
mod journal;

pub use error::{ApiError, ErrorBody, JsonBody, QueryParams, parse_json};

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use standin_app::{App, AppError};
use standin_model::{
    ChangeEvent, EntityKind, Route, RouteRecord, Service, ServiceRecord, Team, TeamRecord,
};
use standin_store::EventFilter;
use std::sync::Arc;
use utoipa::{IntoParams, OpenApi, ToSchema};
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
}

impl axum::extract::FromRef<AdminState> for App {
    fn from_ref(s: &AdminState) -> App {
        s.app.clone()
    }
}

/// Builds the admin router with its OpenAPI document and docs page.
pub fn router(app: App) -> Router {
    router_with(AdminState {
        app,
        serving: Arc::new(|| serde_json::json!({})),
    })
}

/// [`router`] with the data plane's counters in `GET /api/v1/status`.
pub fn router_with(state: AdminState) -> Router {
    let (api_router, api) = api().split_for_parts();
    api_router
        .merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", api))
        .route(
            "/",
            axum::routing::get(|| async { Redirect::temporary("/api/v1/docs/") }),
        )
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
    axum::serve(listener, router_with(AdminState { app, serving }))
        .with_graceful_shutdown(shutdown)
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

/// Applies a JSON Merge Patch (RFC 7396) to `current` and reads the result back, with
/// errors pointing into the patch.
fn merged<T: Serialize + serde::de::DeserializeOwned>(
    current: &T,
    patch: &serde_json::Value,
) -> Result<T, AppError> {
    if !patch.is_object() {
        return Err(AppError::invalid(
            "/",
            "a merge patch is a JSON object (RFC 7396)",
        ));
    }
    let mut doc = serde_json::to_value(current).expect("documents serialize");
    merge_patch(&mut doc, patch);
    let text = doc.to_string();
    parse_json::<T>(text.as_bytes()).map_err(|e| {
        AppError::invalid(
            e.body.pointer.clone().unwrap_or_else(|| "/".into()),
            e.body.message,
        )
    })
}

/// RFC 7396: objects merge key by key, `null` removes a key, anything else replaces.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(Default::default());
    }
    let serde_json::Value::Object(fields) = target else {
        return;
    };
    for (key, value) in changes {
        if value.is_null() {
            fields.remove(key);
        } else {
            merge_patch(
                fields.entry(key.clone()).or_insert(serde_json::Value::Null),
                value,
            );
        }
    }
}

/// The OpenAPI document alone.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

fn api() -> OpenApiRouter<AdminState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(status))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, put_team, patch_team, delete_team))
        .routes(routes!(list_services))
        .routes(routes!(list_team_services, create_service))
        .routes(routes!(
            get_service,
            put_service,
            patch_service,
            delete_service
        ))
        .routes(routes!(list_routes, create_route, replace_routes))
        .routes(routes!(get_route, put_route, patch_route, delete_route))
        .routes(routes!(search))
        .routes(routes!(history))
        .routes(routes!(journal::query, journal::clear))
        .routes(routes!(journal::verify))
        .routes(routes!(journal::stats))
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

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
    teams: usize,
    services: usize,
    routes: usize,
}

/// Liveness and a count of what is loaded.
#[utoipa::path(get, path = "/api/v1/health", tag = "teams", responses((status = 200, body = Health)))]
async fn health(State(app): State<App>) -> Json<Health> {
    let c = app.catalog();
    Json(Health {
        status: "ok",
        teams: c.teams.len(),
        services: c.services.len(),
        routes: c.route_count(),
    })
}

/// A stored definition that is not served.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct QuarantinedView {
    /// `team`, `service` or `route`.
    entity: String,
    key: String,
    reason: String,
}

/// A route whose evaluation ran out of budget.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OverBudgetRoute {
    /// `team/service/routeId`.
    route: String,
    /// Requests that ran out of budget on it since it was last changed.
    count: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Status {
    /// `ok`, or `degraded` when definitions are quarantined.
    status: &'static str,
    /// Stored definitions that are not served (unreadable, orphaned, or not compilable),
    /// kept in the store until a change writes the same key.
    quarantined: Vec<QuarantinedView>,
    /// Routes whose matching or rendering ran out of budget.
    over_budget_routes: Vec<OverBudgetRoute>,
    /// The mock listener's counters: panics, budget and lane refusals, upload and
    /// connection limits.
    #[schema(value_type = Object)]
    serving: serde_json::Value,
    #[schema(value_type = Object)]
    journal: standin_journal::JournalStats,
}

/// What needs an operator's attention: quarantined definitions, routes over budget, and
/// the mock listener's refusals and failures.
#[utoipa::path(get, path = "/api/v1/status", tag = "teams", responses((status = 200, body = Status)))]
async fn status(State(s): State<AdminState>) -> Json<Status> {
    let quarantined: Vec<QuarantinedView> = s
        .app
        .quarantined()
        .iter()
        .map(|q| QuarantinedView {
            entity: q.entity.clone(),
            key: q.key.clone(),
            reason: q.reason.clone(),
        })
        .collect();
    let table = s.app.table().load_full();
    let over_budget_routes = table
        .services()
        .iter()
        .flat_map(|svc| {
            svc.routes().iter().filter_map(move |r| {
                let count = r
                    .counters
                    .over_budget
                    .load(std::sync::atomic::Ordering::Relaxed);
                (count > 0).then(|| OverBudgetRoute {
                    route: format!("{}/{}", svc.key, r.id),
                    count,
                })
            })
        })
        .collect();
    Json(Status {
        status: if quarantined.is_empty() {
            "ok"
        } else {
            "degraded"
        },
        quarantined,
        over_budget_routes,
        serving: (s.serving)(),
        journal: s.app.journal().stats(),
    })
}

/// A team with counts of what it owns, for overviews.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TeamSummary {
    #[serde(flatten)]
    #[schema(value_type = TeamRecord)]
    record: Arc<TeamRecord>,
    service_count: usize,
    route_count: usize,
}

/// Lists every team, with how many services and routes it has.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", responses((status = 200, body = Vec<TeamSummary>)))]
async fn list_teams(State(app): State<App>) -> Json<Vec<TeamSummary>> {
    let c = app.catalog();
    Json(
        c.teams
            .values()
            .map(|t| {
                let services: Vec<_> = c.services_of(&t.team.slug).collect();
                let route_count = services
                    .iter()
                    .map(|s| {
                        c.routes_of(&(s.team.clone(), s.service.slug.clone()))
                            .map_or(0, |m| m.len())
                    })
                    .sum();
                TeamSummary {
                    record: t.clone(),
                    service_count: services.len(),
                    route_count,
                }
            })
            .collect(),
    )
}

/// Creates a team.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = Team,
    responses((status = 201, body = TeamRecord), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_team(
    State(app): State<App>,
    Actor(actor): Actor,
    JsonBody(team): JsonBody<Team>,
) -> ApiResult<impl IntoResponse> {
    let (record, _) = app.change(&actor, |d| d.create_team(team)).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
// Read by utoipa to document the path parameters; the handlers take `Path<(..)>` tuples.
#[allow(dead_code)]
struct TeamPath {
    /// Team slug.
    team: String,
}

/// Reads one team.
#[utoipa::path(get, path = "/api/v1/teams/{team}", tag = "teams", params(TeamPath),
    responses((status = 200, body = TeamRecord), (status = 404, body = ErrorBody)))]
async fn get_team(
    State(app): State<App>,
    Path(team): Path<String>,
) -> ApiResult<Json<Arc<TeamRecord>>> {
    app.catalog()
        .teams
        .get(&team)
        .cloned()
        .map(Json)
        .ok_or_else(|| not_found(format!("team \"{team}\" does not exist")))
}

/// Replaces a team's name, memo and tags. The slug cannot change.
#[utoipa::path(put, path = "/api/v1/teams/{team}", tag = "teams", params(TeamPath), request_body = Team,
    responses((status = 200, body = TeamRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_team(
    State(app): State<App>,
    Actor(actor): Actor,
    Path(slug): Path<String>,
    JsonBody(team): JsonBody<Team>,
) -> ApiResult<Json<Arc<TeamRecord>>> {
    Ok(Json(
        app.change(&actor, |d| d.update_team(&slug, team)).await?.0,
    ))
}

/// Changes some of a team's fields: a JSON Merge Patch (RFC 7396) of the team document.
#[utoipa::path(patch, path = "/api/v1/teams/{team}", tag = "teams", params(TeamPath),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 200, body = TeamRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn patch_team(
    State(app): State<App>,
    Actor(actor): Actor,
    Path(slug): Path<String>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> ApiResult<Json<Arc<TeamRecord>>> {
    let (record, _) = app
        .change(&actor, |d| {
            let current = d
                .catalog()
                .teams
                .get(&slug)
                .ok_or_else(|| AppError::NotFound(format!("team \"{slug}\" does not exist")))?
                .team
                .clone();
            d.update_team(&slug, merged(&current, &patch)?)
        })
        .await?;
    Ok(Json(record))
}

#[derive(Deserialize, IntoParams)]
struct CascadeQuery {
    /// Also delete the team's services and their routes.
    #[serde(default)]
    cascade: bool,
}

/// Deletes a team. A team with services needs `cascade=true`.
#[utoipa::path(delete, path = "/api/v1/teams/{team}", tag = "teams", params(TeamPath, CascadeQuery),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_team(
    State(app): State<App>,
    Actor(actor): Actor,
    Path(slug): Path<String>,
    QueryParams(q): QueryParams<CascadeQuery>,
) -> ApiResult<StatusCode> {
    app.change(&actor, |d| d.delete_team(&slug, q.cascade))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A service with where it is served and how many routes it has.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ServiceSummary {
    #[serde(flatten)]
    #[schema(value_type = ServiceRecord)]
    record: Arc<ServiceRecord>,
    /// The base path in force (the default when none is configured).
    effective_base_path: String,
    route_count: usize,
}

fn summarize(app: &App, records: impl Iterator<Item = Arc<ServiceRecord>>) -> Vec<ServiceSummary> {
    let c = app.catalog();
    records
        .map(|s| ServiceSummary {
            effective_base_path: s.service.effective_base_path(&s.team),
            route_count: c
                .routes_of(&(s.team.clone(), s.service.slug.clone()))
                .map_or(0, |m| m.len()),
            record: s,
        })
        .collect()
}

/// Lists every service of every team.
#[utoipa::path(get, path = "/api/v1/services", tag = "services", responses((status = 200, body = Vec<ServiceSummary>)))]
async fn list_services(State(app): State<App>) -> Json<Vec<ServiceSummary>> {
    let c = app.catalog();
    Json(summarize(&app, c.services.values().cloned()))
}

/// Lists a team's services.
#[utoipa::path(get, path = "/api/v1/teams/{team}/services", tag = "services", params(TeamPath),
    responses((status = 200, body = Vec<ServiceSummary>), (status = 404, body = ErrorBody)))]
async fn list_team_services(
    State(app): State<App>,
    Path(team): Path<String>,
) -> ApiResult<Json<Vec<ServiceSummary>>> {
    let c = app.catalog();
    if !c.teams.contains_key(&team) {
        return Err(not_found(format!("team \"{team}\" does not exist")));
    }
    Ok(Json(summarize(&app, c.services_of(&team).cloned())))
}

/// Creates a service in a team.
#[utoipa::path(post, path = "/api/v1/teams/{team}/services", tag = "services", params(TeamPath), request_body = Service,
    responses((status = 201, body = ServiceRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_service(
    State(app): State<App>,
    Actor(actor): Actor,
    Path(team): Path<String>,
    JsonBody(service): JsonBody<Service>,
) -> ApiResult<impl IntoResponse> {
    let (record, _) = app
        .change(&actor, |d| d.create_service(&team, service))
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
// Read by utoipa to document the path parameters; the handlers take `Path<(..)>` tuples.
#[allow(dead_code)]
struct ServicePath {
    /// Team slug.
    team: String,
    /// Service slug.
    service: String,
}

fn find_service(app: &App, team: &str, service: &str) -> ApiResult<Arc<ServiceRecord>> {
    app.catalog()
        .services
        .get(&(team.to_string(), service.to_string()))
        .cloned()
        .ok_or_else(|| not_found(format!("service \"{team}/{service}\" does not exist")))
}

/// Reads one service.
#[utoipa::path(get, path = "/api/v1/teams/{team}/services/{service}", tag = "services", params(ServicePath),
    responses((status = 200, body = ServiceRecord), (status = 404, body = ErrorBody)))]
async fn get_service(
    State(app): State<App>,
    Path((team, service)): Path<(String, String)>,
) -> ApiResult<Json<Arc<ServiceRecord>>> {
    find_service(&app, &team, &service).map(Json)
}

/// Replaces a service's fields; its routes stay. The slug cannot change.
#[utoipa::path(put, path = "/api/v1/teams/{team}/services/{service}", tag = "services", params(ServicePath), request_body = Service,
    responses((status = 200, body = ServiceRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put_service(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, slug)): Path<(String, String)>,
    JsonBody(service): JsonBody<Service>,
) -> ApiResult<Json<Arc<ServiceRecord>>> {
    Ok(Json(
        app.change(&actor, |d| d.update_service(&team, &slug, service))
            .await?
            .0,
    ))
}

/// Changes some of a service's fields: a JSON Merge Patch (RFC 7396) of the service
/// document. Its routes stay.
#[utoipa::path(patch, path = "/api/v1/teams/{team}/services/{service}", tag = "services", params(ServicePath),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 200, body = ServiceRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch_service(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, slug)): Path<(String, String)>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> ApiResult<Json<Arc<ServiceRecord>>> {
    let (record, _) = app
        .change(&actor, |d| {
            let current = d
                .catalog()
                .services
                .get(&(team.clone(), slug.clone()))
                .ok_or_else(|| {
                    AppError::NotFound(format!("service \"{team}/{slug}\" does not exist"))
                })?
                .service
                .clone();
            d.update_service(&team, &slug, merged(&current, &patch)?)
        })
        .await?;
    Ok(Json(record))
}

/// Deletes a service and all its routes.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/services/{service}", tag = "services", params(ServicePath),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_service(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, slug)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    app.change(&actor, |d| d.delete_service(&team, &slug))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists a service's routes in match order (priority, path specificity, age).
#[utoipa::path(get, path = "/api/v1/teams/{team}/services/{service}/routes", tag = "routes", params(ServicePath),
    responses((status = 200, body = Vec<RouteRecord>), (status = 404, body = ErrorBody)))]
async fn list_routes(
    State(app): State<App>,
    Path((team, service)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Arc<RouteRecord>>>> {
    find_service(&app, &team, &service)?;
    let catalog = app.catalog();
    let routes = catalog
        .routes_of(&(team.clone(), service.clone()))
        .cloned()
        .unwrap_or_default();
    // Present routes in the order the data plane tries them; disabled ones last.
    let table = app.table().load_full();
    let order: Vec<Arc<str>> = table
        .services()
        .iter()
        .find(|s| s.info.team == team && s.info.slug == service)
        .map(|s| s.routes().iter().map(|r| r.id.clone()).collect())
        .unwrap_or_default();
    let mut out: Vec<Arc<RouteRecord>> = order
        .iter()
        .filter_map(|id| routes.get(&**id).cloned())
        .collect();
    out.extend(
        routes
            .values()
            .filter(|r| !order.iter().any(|id| **id == *r.route.id))
            .cloned(),
    );
    Ok(Json(out))
}

/// Creates a route. Without an `id`, one is assigned.
#[utoipa::path(post, path = "/api/v1/teams/{team}/services/{service}/routes", tag = "routes", params(ServicePath), request_body = Route,
    responses((status = 201, body = RouteRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_route(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, service)): Path<(String, String)>,
    JsonBody(route): JsonBody<Route>,
) -> ApiResult<impl IntoResponse> {
    standin_app::not_expired(&route, "")?;
    let (record, _) = app
        .change(&actor, |d| d.create_route(&team, &service, route, ""))
        .await?;
    Ok(with_warnings(&app, &record, StatusCode::CREATED))
}

/// Replaces all routes of a service in one atomic change: listed ids are updated, new ones
/// created, unlisted ones deleted. If any route is invalid, nothing changes.
#[utoipa::path(put, path = "/api/v1/teams/{team}/services/{service}/routes", tag = "routes", params(ServicePath), request_body = Vec<Route>,
    responses((status = 200, body = Vec<RouteRecord>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn replace_routes(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, service)): Path<(String, String)>,
    JsonBody(routes): JsonBody<Vec<Route>>,
) -> ApiResult<Json<Vec<Arc<RouteRecord>>>> {
    for (i, r) in routes.iter().enumerate() {
        standin_app::not_expired(r, &format!("/{i}"))?;
    }
    Ok(Json(
        app.change(&actor, |d| d.replace_routes(&team, &service, routes))
            .await?
            .0,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
// Read by utoipa to document the path parameters; the handlers take `Path<(..)>` tuples.
#[allow(dead_code)]
struct RoutePath {
    /// Team slug.
    team: String,
    /// Service slug.
    service: String,
    /// Route id.
    id: String,
}

/// Reads one route.
#[utoipa::path(get, path = "/api/v1/teams/{team}/services/{service}/routes/{id}", tag = "routes", params(RoutePath),
    responses((status = 200, body = RouteRecord), (status = 404, body = ErrorBody)))]
async fn get_route(
    State(app): State<App>,
    Path((team, service, id)): Path<(String, String, String)>,
) -> ApiResult<Json<Arc<RouteRecord>>> {
    find_service(&app, &team, &service)?;
    app.catalog()
        .routes_of(&(team.clone(), service.clone()))
        .and_then(|m| m.get(&id).cloned())
        .map(Json)
        .ok_or_else(|| {
            not_found(format!(
                "route \"{id}\" does not exist in \"{team}/{service}\""
            ))
        })
}

/// Creates or replaces the route with this id (201 when created, 200 when replaced).
#[utoipa::path(put, path = "/api/v1/teams/{team}/services/{service}/routes/{id}", tag = "routes", params(RoutePath), request_body = Route,
    responses((status = 200, body = RouteRecord), (status = 201, body = RouteRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_route(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, service, id)): Path<(String, String, String)>,
    JsonBody(mut route): JsonBody<Route>,
) -> ApiResult<impl IntoResponse> {
    if route.id.is_empty() {
        route.id = id.clone();
    } else if route.id != id {
        return Err(ApiError::invalid(
            "/id",
            format!("the id \"{}\" differs from \"{id}\" in the URL", route.id),
        ));
    }
    standin_app::not_expired(&route, "")?;
    let ((record, created), _) = app
        .change(&actor, |d| d.put_route(&team, &service, route, ""))
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_warnings(&app, &record, status))
}

/// Changes some of a route's fields: a JSON Merge Patch (RFC 7396) of the route document
/// (`{"enabled": false}`, `{"http": {"response": {"status": 503}}}`). One recorded change.
#[utoipa::path(patch, path = "/api/v1/teams/{team}/services/{service}/routes/{id}", tag = "routes", params(RoutePath),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 200, body = RouteRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn patch_route(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, service, id)): Path<(String, String, String)>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> ApiResult<Json<Arc<RouteRecord>>> {
    let ((record, _), _) = app
        .change(&actor, |d| {
            let current = d
                .route(&team, &service, &id)
                .ok_or_else(|| {
                    AppError::NotFound(format!(
                        "route \"{id}\" does not exist in \"{team}/{service}\""
                    ))
                })?
                .route
                .clone();
            let route: Route = merged(&current, &patch)?;
            if route.id != id {
                return Err(AppError::invalid("/id", "a route's id cannot change"));
            }
            standin_app::not_expired(&route, "")?;
            d.put_route(&team, &service, route, "")
        })
        .await?;
    Ok(Json(record))
}

/// Deletes a route.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/services/{service}/routes/{id}", tag = "routes", params(RoutePath),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_route(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, service, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    app.change(&actor, |d| d.delete_route(&team, &service, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
struct SearchQuery {
    /// Text to find in slugs, ids, names, memos and tags (case-insensitive). Empty matches all.
    #[serde(default)]
    q: String,
    /// Only definitions carrying this tag.
    tag: Option<String>,
    /// At most this many of each kind (default 50, at most 500).
    limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
struct SearchResult {
    #[schema(value_type = Vec<TeamRecord>)]
    teams: Vec<Arc<TeamRecord>>,
    #[schema(value_type = Vec<ServiceRecord>)]
    services: Vec<Arc<ServiceRecord>>,
    #[schema(value_type = Vec<RouteRecord>)]
    routes: Vec<Arc<RouteRecord>>,
}

/// Finds teams, services and routes across all teams.
#[utoipa::path(get, path = "/api/v1/search", tag = "teams", params(SearchQuery), responses((status = 200, body = SearchResult)))]
async fn search(
    State(app): State<App>,
    QueryParams(q): QueryParams<SearchQuery>,
) -> Json<SearchResult> {
    let hits = app
        .catalog()
        .search(&q.q, q.tag.as_deref(), q.limit.unwrap_or(50).min(500));
    Json(SearchResult {
        teams: hits.teams,
        services: hits.services,
        routes: hits.routes,
    })
}

#[derive(Deserialize, IntoParams)]
struct HistoryQuery {
    /// `team`, `service` or `route`.
    entity: Option<String>,
    /// `team`, `team/service` or `team/service/routeId`: events of that definition and
    /// of everything under it.
    key: Option<String>,
    /// Only events with a greater sequence number.
    after: Option<u64>,
    /// Only events with a smaller sequence number (for paging back).
    before: Option<u64>,
    /// Newest first, at most this many (default 100, at most 1000).
    limit: Option<u32>,
}

/// Reads the change history, newest first.
#[utoipa::path(get, path = "/api/v1/history", tag = "history", params(HistoryQuery),
    responses((status = 200, body = Vec<ChangeEvent>), (status = 400, body = ErrorBody)))]
async fn history(
    State(app): State<App>,
    QueryParams(q): QueryParams<HistoryQuery>,
) -> ApiResult<Json<Vec<ChangeEvent>>> {
    let entity = match q.entity.as_deref() {
        None => None,
        Some("team") => Some(EntityKind::Team),
        Some("service") => Some(EntityKind::Service),
        Some("route") => Some(EntityKind::Route),
        Some(other) => {
            return Err(ApiError::invalid(
                "/entity",
                format!("\"{other}\" is not one of team, service, route"),
            ));
        }
    };
    let filter = EventFilter {
        entity,
        key_prefix: q.key,
        after_seq: q.after,
        before_seq: q.before,
        limit: q.limit.unwrap_or(100).min(1000),
    };
    Ok(Json(app.history(filter).await?))
}

/// A route write's answer, with a `Warning` header for each thing that is allowed but
/// almost surely a mistake.
fn with_warnings(app: &App, record: &RouteRecord, status: StatusCode) -> axum::response::Response {
    let mut response = (status, Json(record)).into_response();
    let key = (record.team.clone(), record.service.clone());
    if let Some(service) = app.catalog().services.get(&key) {
        for w in standin_app::route_warnings(service, &record.route) {
            let text = format!("199 standin \"{}\"", w.replace('"', "'"));
            if let Ok(v) = axum::http::HeaderValue::from_str(&text) {
                response
                    .headers_mut()
                    .append(axum::http::header::WARNING, v);
            }
        }
    }
    response
}

fn not_found(message: String) -> ApiError {
    ApiError::from(AppError::NotFound(message))
}
