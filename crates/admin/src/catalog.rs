//! Finding anything across teams, and the history of every change.

use crate::{ApiError, ApiResult, ErrorBody, QueryParams};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use standin_app::{App, AppError};
use standin_model::{ChangeEvent, EntityKind, RouteRecord, ServiceRecord, TeamRecord};
use standin_store::EventFilter;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub(crate) struct SearchQuery {
    /// Text to find in slugs, ids, names, memos and tags (case-insensitive). Empty matches all.
    #[serde(default)]
    q: String,
    /// Only definitions carrying this tag.
    tag: Option<String>,
    /// At most this many of each kind (default 50, at most 500).
    limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SearchResult {
    #[schema(value_type = Vec<TeamRecord>)]
    teams: Vec<Arc<TeamRecord>>,
    #[schema(value_type = Vec<ServiceRecord>)]
    services: Vec<Arc<ServiceRecord>>,
    #[schema(value_type = Vec<RouteRecord>)]
    routes: Vec<Arc<RouteRecord>>,
}

/// Finds teams, services and routes across all teams.
#[utoipa::path(get, path = "/api/v1/search", tag = "teams", params(SearchQuery), responses((status = 200, body = SearchResult)))]
pub(crate) async fn search(
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
pub(crate) struct HistoryQuery {
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
pub(crate) async fn history(
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

/// Where a point-in-time restore goes back to.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RestoreRequest {
    /// `team`, `team/service`, `team/service/routeId`, or `*` for everything.
    key: String,
    /// An RFC 3339 time (the state after the last change at or before it) or an event
    /// sequence number (the state just after that event).
    #[schema(value_type = Object)]
    at: serde_json::Value,
    /// Only say what would change.
    #[serde(default)]
    dry_run: bool,
}

/// Restores a route, a service, a team or everything to how it was at a time or an
/// event, rebuilt from the change history and applied as one new recorded change (so the
/// restore can itself be undone). `dryRun` lists the documents it would create, update
/// and delete.
#[utoipa::path(post, path = "/api/v1/restore", tag = "history", request_body = RestoreRequest,
    responses((status = 200, body = standin_app::RestorePlan), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn restore(
    State(app): State<App>,
    crate::Actor(actor): crate::Actor,
    crate::JsonBody(req): crate::JsonBody<RestoreRequest>,
) -> crate::ApiResult<Json<standin_app::RestorePlan>> {
    let at = match &req.at {
        serde_json::Value::Number(n) => {
            standin_app::RestorePoint::Seq(n.as_u64().ok_or_else(|| {
                AppError::invalid("/at", "an event sequence number is a whole number from 1")
            })?)
        }
        serde_json::Value::String(s) => {
            standin_app::RestorePoint::Time(s.parse().map_err(|e| {
                AppError::invalid(
                    "/at",
                    format!("\"{s}\" is not an RFC 3339 time such as 2026-11-30T10:00:00Z: {e}"),
                )
            })?)
        }
        _ => {
            return Err(AppError::invalid(
                "/at",
                "a time (\"2026-11-30T10:00:00Z\") or an event sequence number",
            )
            .into());
        }
    };
    let key = if req.key == "*" { "" } else { req.key.as_str() };
    Ok(Json(app.restore(&actor, key, at, req.dry_run).await?))
}
