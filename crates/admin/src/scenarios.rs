//! Scenarios: where each state machine of a service is, and moving or resetting it.
//!
//! States live in memory with the served table (like WireMock's): they are not
//! definitions, so setting one records no change, and a restart starts every scenario in
//! `Started` again.

use crate::services::{ServicePath, find_service};
use crate::{ApiError, ApiResult, ErrorBody, JsonBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use standin_app::App;
use standin_matcher::{CompiledService, Scenario};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// A scenario and its state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScenarioView {
    name: String,
    /// The current state.
    state: String,
    /// Every state its routes mention, `Started` first.
    states: Vec<String>,
}

impl From<&Scenario> for ScenarioView {
    fn from(s: &Scenario) -> Self {
        ScenarioView {
            name: s.name.clone(),
            state: s.state().to_string(),
            states: s.states().to_vec(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetState {
    /// One of the scenario's states.
    state: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by utoipa; the handlers take a tuple.
pub(crate) struct ScenarioPath {
    team: String,
    service: String,
    /// Scenario name.
    name: String,
}

/// The served form of a service (its scenarios live there).
fn served(app: &App, team: &str, service: &str) -> ApiResult<Arc<CompiledService>> {
    find_service(app, team, service)?;
    let table = app.table().load_full();
    table
        .services()
        .iter()
        .find(|s| s.info.team == team && s.info.slug == service)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("service \"{team}/{service}\" is not served (see /api/v1/status)"),
            )
        })
}

fn scenario(svc: &CompiledService, name: &str) -> ApiResult<Arc<Scenario>> {
    svc.scenarios().get(name).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no route of \"{}\" is in a scenario named \"{name}\"",
                svc.key
            ),
        )
    })
}

/// Lists the service's scenarios with their states.
#[utoipa::path(get, path = "/api/v1/teams/{team}/services/{service}/scenarios", tag = "routes", params(ServicePath),
    responses((status = 200, body = Vec<ScenarioView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list(
    State(app): State<App>,
    Path((team, service)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ScenarioView>>> {
    let svc = served(&app, &team, &service)?;
    Ok(Json(
        svc.scenarios().iter().map(|s| (&**s).into()).collect(),
    ))
}

/// Puts every scenario of the service back in `Started`.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/services/{service}/scenarios", tag = "routes", params(ServicePath),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn reset_all(
    State(app): State<App>,
    Path((team, service)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let svc = served(&app, &team, &service)?;
    for s in svc.scenarios().iter() {
        s.reset();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Reads one scenario.
#[utoipa::path(get, path = "/api/v1/teams/{team}/services/{service}/scenarios/{name}", tag = "routes", params(ScenarioPath),
    responses((status = 200, body = ScenarioView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get(
    State(app): State<App>,
    Path((team, service, name)): Path<(String, String, String)>,
) -> ApiResult<Json<ScenarioView>> {
    let svc = served(&app, &team, &service)?;
    Ok(Json((&*scenario(&svc, &name)?).into()))
}

/// Moves a scenario to one of its states.
#[utoipa::path(put, path = "/api/v1/teams/{team}/services/{service}/scenarios/{name}", tag = "routes", params(ScenarioPath), request_body = SetState,
    responses((status = 200, body = ScenarioView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn set(
    State(app): State<App>,
    Path((team, service, name)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<SetState>,
) -> ApiResult<Json<ScenarioView>> {
    let svc = served(&app, &team, &service)?;
    let s = scenario(&svc, &name)?;
    if !s.set(&body.state) {
        return Err(ApiError::invalid(
            "/state",
            format!(
                "\"{}\" is not a state of scenario \"{name}\"; its routes mention {}",
                body.state,
                s.states()
                    .iter()
                    .map(|x| format!("\"{x}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(Json((&*s).into()))
}

/// Puts one scenario back in `Started`.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/services/{service}/scenarios/{name}", tag = "routes", params(ScenarioPath),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn reset(
    State(app): State<App>,
    Path((team, service, name)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let svc = served(&app, &team, &service)?;
    scenario(&svc, &name)?.reset();
    Ok(StatusCode::NO_CONTENT)
}
