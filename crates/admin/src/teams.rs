//! Teams: who owns which services.

use crate::patch::merged;
use crate::precondition::{IfMatch, Tagged};
use crate::{Actor, ApiResult, ErrorBody, JsonBody, QueryParams, not_found};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use standin_app::ServiceKey;
use standin_app::{App, AppError};
use standin_model::{Team, TeamRecord};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// A team with counts of what it owns, for overviews.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamSummary {
    #[serde(flatten)]
    #[schema(value_type = TeamRecord)]
    record: Arc<TeamRecord>,
    service_count: usize,
    route_count: usize,
}

/// Lists every team, with how many services and routes it has.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", responses((status = 200, body = Vec<TeamSummary>)))]
pub(crate) async fn list_teams(State(app): State<App>) -> Json<Vec<TeamSummary>> {
    let c = app.catalog();
    Json(
        c.teams
            .values()
            .map(|t| {
                let services: Vec<_> = c.services_of(&t.team.slug).collect();
                let route_count = services
                    .iter()
                    .map(|s| c.routes_of(&ServiceKey::of(s)).map_or(0, |m| m.len()))
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
pub(crate) async fn create_team(
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
pub(crate) struct TeamPath {
    /// Team slug.
    team: String,
}

/// Reads one team.
#[utoipa::path(get, path = "/api/v1/teams/{team}", tag = "teams", params(TeamPath),
    responses((status = 200, body = TeamRecord), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_team(
    State(app): State<App>,
    Path(team): Path<String>,
) -> ApiResult<Tagged<Json<Arc<TeamRecord>>>> {
    app.catalog()
        .teams
        .get(&team)
        .cloned()
        .map(|t| Tagged(StatusCode::OK, t.meta.revision, Json(t)))
        .ok_or_else(|| not_found(format!("team \"{team}\" does not exist")))
}

/// Replaces a team's name, memo and tags. The slug cannot change.
#[utoipa::path(put, path = "/api/v1/teams/{team}", tag = "teams", params(TeamPath), request_body = Team,
    responses((status = 200, body = TeamRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn put_team(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
    Path(slug): Path<String>,
    JsonBody(team): JsonBody<Team>,
) -> ApiResult<Tagged<Json<Arc<TeamRecord>>>> {
    let (record, _) = app
        .change(&actor, |d| {
            if_match.check(&format!("team \"{slug}\""), team_meta(d, &slug))?;
            d.update_team(&slug, team)
        })
        .await?;
    Ok(Tagged(StatusCode::OK, record.meta.revision, Json(record)))
}

/// The stored team's bookkeeping inside a change, for `If-Match`.
fn team_meta<'a>(d: &'a standin_app::Draft, slug: &str) -> Option<&'a standin_model::Meta> {
    d.catalog().teams.get(slug).map(|t| &t.meta)
}

/// Changes some of a team's fields: a JSON Merge Patch (RFC 7396) of the team document.
#[utoipa::path(patch, path = "/api/v1/teams/{team}", tag = "teams", params(TeamPath),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 200, body = TeamRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn patch_team(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
    Path(slug): Path<String>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> ApiResult<Tagged<Json<Arc<TeamRecord>>>> {
    let (record, _) = app
        .change(&actor, |d| {
            if_match.check(&format!("team \"{slug}\""), team_meta(d, &slug))?;
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
    Ok(Tagged(StatusCode::OK, record.meta.revision, Json(record)))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct CascadeQuery {
    /// Also delete the team's services and their routes.
    #[serde(default)]
    cascade: bool,
}

/// Deletes a team. A team with services needs `cascade=true`.
#[utoipa::path(delete, path = "/api/v1/teams/{team}", tag = "teams", params(TeamPath, CascadeQuery),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_team(
    State(app): State<App>,
    Actor(actor): Actor,
    if_match: IfMatch,
    Path(slug): Path<String>,
    QueryParams(q): QueryParams<CascadeQuery>,
) -> ApiResult<StatusCode> {
    app.change(&actor, |d| {
        if_match.check(&format!("team \"{slug}\""), team_meta(d, &slug))?;
        d.delete_team(&slug, q.cascade)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
