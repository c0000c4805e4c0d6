//! Services: a set of routes under one base path.

use crate::patch::merged;
use crate::precondition::{IfMatch, Tagged};
use crate::teams::TeamPath;
use crate::{Actor, ApiResult, ErrorBody, JsonBody, not_found};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use standin_app::ServiceKey;
use standin_app::{App, AppError};
use standin_model::{Service, ServiceRecord};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// A service with where it is served and how many routes it has.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceSummary {
    #[serde(flatten)]
    #[schema(value_type = ServiceRecord)]
    record: Arc<ServiceRecord>,
    /// The base path in force (the default when none is configured).
    effective_base_path: String,
    route_count: usize,
}

pub(crate) fn summarize(
    app: &App,
    records: impl Iterator<Item = Arc<ServiceRecord>>,
) -> Vec<ServiceSummary> {
    let c = app.catalog();
    records
        .map(|s| ServiceSummary {
            effective_base_path: s.service.effective_base_path(&s.team),
            route_count: c.routes_of(&ServiceKey::of(&s)).map_or(0, |m| m.len()),
            record: s,
        })
        .collect()
}

/// Lists every service of every team.
#[utoipa::path(get, path = "/api/v1/services", tag = "services", responses((status = 200, body = Vec<ServiceSummary>)))]
pub(crate) async fn list_services(State(app): State<App>) -> Json<Vec<ServiceSummary>> {
    let c = app.catalog();
    Json(summarize(&app, c.services.values().cloned()))
}

/// Lists a team's services.
#[utoipa::path(get, path = "/api/v1/teams/{team}/services", tag = "services", params(TeamPath),
    responses((status = 200, body = Vec<ServiceSummary>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_team_services(
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
pub(crate) async fn create_service(
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
pub(crate) struct ServicePath {
    /// Team slug.
    team: String,
    /// Service slug.
    service: String,
}

pub(crate) fn find_service(app: &App, team: &str, service: &str) -> ApiResult<Arc<ServiceRecord>> {
    app.catalog()
        .services
        .get(&ServiceKey::new(team, service))
        .cloned()
        .ok_or_else(|| not_found(format!("service \"{team}/{service}\" does not exist")))
}

/// Reads one service.
#[utoipa::path(get, path = "/api/v1/teams/{team}/services/{service}", tag = "services", params(ServicePath),
    responses((status = 200, body = ServiceRecord), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_service(
    State(app): State<App>,
    Path((team, service)): Path<(String, String)>,
) -> ApiResult<Tagged<Json<Arc<ServiceRecord>>>> {
    find_service(&app, &team, &service).map(|s| Tagged(StatusCode::OK, s.meta.revision, Json(s)))
}

/// The stored service's bookkeeping inside a change, for `If-Match`.
fn service_meta<'a>(
    d: &'a standin_app::Draft,
    team: &str,
    slug: &str,
) -> Option<&'a standin_model::Meta> {
    d.catalog()
        .services
        .get(&ServiceKey::new(team, slug))
        .map(|s| &s.meta)
}

/// Replaces a service's fields; its routes stay. The slug cannot change.
#[utoipa::path(put, path = "/api/v1/teams/{team}/services/{service}", tag = "services", params(ServicePath), request_body = Service,
    responses((status = 200, body = ServiceRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn put_service(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
    Path((team, slug)): Path<(String, String)>,
    JsonBody(service): JsonBody<Service>,
) -> ApiResult<Tagged<Json<Arc<ServiceRecord>>>> {
    let (record, _) = app
        .change(&actor, |d| {
            if_match.check(
                &format!("service \"{team}/{slug}\""),
                service_meta(d, &team, &slug),
            )?;
            d.update_service(&team, &slug, service)
        })
        .await?;
    Ok(Tagged(StatusCode::OK, record.meta.revision, Json(record)))
}

/// Changes some of a service's fields: a JSON Merge Patch (RFC 7396) of the service
/// document. Its routes stay.
#[utoipa::path(patch, path = "/api/v1/teams/{team}/services/{service}", tag = "services", params(ServicePath),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 200, body = ServiceRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn patch_service(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
    Path((team, slug)): Path<(String, String)>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> ApiResult<Tagged<Json<Arc<ServiceRecord>>>> {
    let (record, _) = app
        .change(&actor, |d| {
            if_match.check(
                &format!("service \"{team}/{slug}\""),
                service_meta(d, &team, &slug),
            )?;
            let current = d
                .catalog()
                .services
                .get(&ServiceKey::new(&team, &slug))
                .ok_or_else(|| {
                    AppError::NotFound(format!("service \"{team}/{slug}\" does not exist"))
                })?
                .service
                .clone();
            d.update_service(&team, &slug, merged(&current, &patch)?)
        })
        .await?;
    Ok(Tagged(StatusCode::OK, record.meta.revision, Json(record)))
}

/// Deletes a service and all its routes.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/services/{service}", tag = "services", params(ServicePath),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_service(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
    Path((team, slug)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    app.change(&actor, |d| {
        if_match.check(
            &format!("service \"{team}/{slug}\""),
            service_meta(d, &team, &slug),
        )?;
        d.delete_service(&team, &slug)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
