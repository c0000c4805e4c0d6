//! Routes (stubs): a request matcher and a response.

use crate::patch::merged;
use crate::precondition::{IfMatch, Tagged};
use crate::services::{ServicePath, find_service};
use crate::{Actor, ApiError, ApiResult, ErrorBody, JsonBody, not_found};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use standin_app::ServiceKey;
use standin_app::{App, AppError};
use standin_model::{Route, RouteRecord};
use std::sync::Arc;
use utoipa::IntoParams;

/// Lists a service's routes in match order (priority, path specificity, age).
#[utoipa::path(get, path = "/api/v1/teams/{team}/services/{service}/routes", tag = "routes", params(ServicePath),
    responses((status = 200, body = Vec<RouteRecord>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_routes(
    State(app): State<App>,
    Path((team, service)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Arc<RouteRecord>>>> {
    find_service(&app, &team, &service)?;
    let catalog = app.catalog();
    let routes = catalog
        .routes_of(&ServiceKey::new(&team, &service))
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
pub(crate) async fn create_route(
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
pub(crate) async fn replace_routes(
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
pub(crate) struct RoutePath {
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
pub(crate) async fn get_route(
    State(app): State<App>,
    Path((team, service, id)): Path<(String, String, String)>,
) -> ApiResult<Tagged<Json<Arc<RouteRecord>>>> {
    find_service(&app, &team, &service)?;
    app.catalog()
        .routes_of(&ServiceKey::new(&team, &service))
        .and_then(|m| m.get(&id).cloned())
        .map(|r| Tagged(StatusCode::OK, r.meta.revision, Json(r)))
        .ok_or_else(|| {
            not_found(format!(
                "route \"{id}\" does not exist in \"{team}/{service}\""
            ))
        })
}

/// Creates or replaces the route with this id (201 when created, 200 when replaced).
#[utoipa::path(put, path = "/api/v1/teams/{team}/services/{service}/routes/{id}", tag = "routes", params(RoutePath), request_body = Route,
    responses((status = 200, body = RouteRecord), (status = 201, body = RouteRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn put_route(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
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
        .change(&actor, |d| {
            let current = d.route(&team, &service, &id).map(|r| &r.meta);
            if_match.check(&format!("route \"{id}\""), current)?;
            d.put_route(&team, &service, route, "")
        })
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
pub(crate) async fn patch_route(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
    Path((team, service, id)): Path<(String, String, String)>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> ApiResult<Tagged<Json<Arc<RouteRecord>>>> {
    let ((record, _), _) = app
        .change(&actor, |d| {
            let current = d.route(&team, &service, &id).ok_or_else(|| {
                AppError::NotFound(format!(
                    "route \"{id}\" does not exist in \"{team}/{service}\""
                ))
            })?;
            if_match.check(&format!("route \"{id}\""), Some(&current.meta))?;
            let current = current.route.clone();
            let route: Route = merged(&current, &patch)?;
            if route.id != id {
                return Err(AppError::invalid("/id", "a route's id cannot change"));
            }
            standin_app::not_expired(&route, "")?;
            d.put_route(&team, &service, route, "")
        })
        .await?;
    Ok(Tagged(StatusCode::OK, record.meta.revision, Json(record)))
}

/// Deletes a route.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/services/{service}/routes/{id}", tag = "routes", params(RoutePath),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_route(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
    Path((team, service, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    app.change(&actor, |d| {
        let current = d.route(&team, &service, &id).map(|r| &r.meta);
        if_match.check(&format!("route \"{id}\""), current)?;
        d.delete_route(&team, &service, &id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A route write's answer, with a `Warning` header for each thing that is allowed but
/// almost surely a mistake.
pub(crate) fn with_warnings(
    app: &App,
    record: &RouteRecord,
    status: StatusCode,
) -> axum::response::Response {
    let mut response = Tagged(status, record.meta.revision, Json(record)).into_response();
    let key = ServiceKey::new(&record.team, &record.service);
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

/// Which recorded drafts to accept.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Accept {
    /// Only these drafts; every disabled route tagged `recorded` when absent.
    #[serde(default)]
    ids: Option<Vec<String>>,
}

/// Enables recorded drafts in one change: the disabled routes tagged `recorded`, or the
/// ones named. Answers the routes it enabled.
#[utoipa::path(post, path = "/api/v1/teams/{team}/services/{service}/routes/accept", tag = "routes", params(ServicePath), request_body = Accept,
    responses((status = 200, body = Vec<RouteRecord>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn accept(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, service)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Vec<Arc<RouteRecord>>>> {
    let wanted: Accept = if body.iter().all(u8::is_ascii_whitespace) {
        Accept::default()
    } else {
        crate::parse_json(&body)?
    };
    let (accepted, _) = app
        .change(&actor, |d| {
            let routes: Vec<Route> = d
                .catalog()
                .routes_of(&ServiceKey::new(&team, &service))
                .ok_or_else(|| {
                    AppError::NotFound(format!("service \"{team}/{service}\" does not exist"))
                })?
                .values()
                .filter(|r| match &wanted.ids {
                    Some(ids) => ids.contains(&r.route.id),
                    None => !r.route.enabled && r.route.tags.iter().any(|t| t == "recorded"),
                })
                .map(|r| r.route.clone())
                .collect();
            if let Some(ids) = &wanted.ids
                && let Some((i, missing)) = ids
                    .iter()
                    .enumerate()
                    .find(|(_, id)| !routes.iter().any(|r| &r.id == *id))
            {
                return Err(AppError::invalid(
                    format!("/ids/{i}"),
                    format!("route \"{missing}\" does not exist in \"{team}/{service}\""),
                ));
            }
            let mut out = Vec::new();
            for mut route in routes {
                route.enabled = true;
                out.push(d.put_route(&team, &service, route, "")?.0);
            }
            Ok(out)
        })
        .await?;
    Ok(Json(accepted))
}
