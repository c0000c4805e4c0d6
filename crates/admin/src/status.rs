//! Liveness, and what needs an operator's attention.

use crate::AdminState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use standin_app::App;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    status: &'static str,
    teams: usize,
    services: usize,
    routes: usize,
}

/// Liveness and a count of what is loaded.
#[utoipa::path(get, path = "/api/v1/health", tag = "teams", responses((status = 200, body = Health)))]
pub(crate) async fn health(State(app): State<App>) -> Json<Health> {
    let c = app.catalog();
    Json(Health {
        status: "ok",
        teams: c.teams.len(),
        services: c.services.len(),
        routes: c.route_count(),
    })
}

/// `GET /healthz`: the process is alive and its admin listener answers.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the store answers a read within two seconds, and a table is published.
/// 503 with the reason otherwise, so a load balancer holds traffic back.
pub(crate) async fn readyz(State(app): State<App>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let probe = app.history(standin_store::EventFilter {
        limit: 1,
        ..Default::default()
    });
    let store = match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the store failed a read: {e}")),
        Err(_) => Err("the store did not answer a read within 2 s".to_string()),
    };
    let published = app.is_published();
    let body = serde_json::json!({
        "ready": store.is_ok() && published,
        "store": store.as_ref().err().map_or("ok", String::as_str),
        "table": if published { "published" } else { "not published yet" },
    });
    let status = if store.is_ok() && published {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text format, from the source the binary installed.
pub(crate) async fn metrics(State(state): State<AdminState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match &state.metrics {
        Some(render) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            render(),
        )
            .into_response(),
        None => crate::error::ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "metrics_off",
            "metrics are off on this server (metrics.enabled = false)".to_string(),
        )
        .into_response(),
    }
}

/// A stored definition that is not served.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QuarantinedView {
    /// `team`, `service` or `route`.
    entity: String,
    key: String,
    reason: String,
}

/// A route whose evaluation ran out of budget.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OverBudgetRoute {
    /// `team/service/routeId`.
    route: String,
    /// Requests that ran out of budget on it since it was last changed.
    count: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Status {
    /// `ok`, or `degraded` when definitions are quarantined or expectations of the
    /// initialization file were refused.
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
    /// Services synced from a URL, by `team/service`: when the document was last pulled
    /// and what it did (`applied`, `unchanged`, `waiting` with its conflicts, `failed`
    /// with why).
    #[schema(value_type = Object)]
    sync: serde_json::Value,
    /// Where mock traffic goes: `{"address": "127.0.0.1:8080"}`.
    #[schema(value_type = Object)]
    mock_listener: Option<serde_json::Value>,
    /// Services with an upstream, and their circuit breakers: `{"service", "url",
    /// "breaker": "closed" | "open" | "halfOpen", "consecutiveFailures"}`.
    #[schema(value_type = Vec<Object>)]
    upstreams: Vec<serde_json::Value>,
    /// Scheduled backups: `{"dir", "lastSuccess", "lastFile", "failures", "lastError"}`,
    /// or `null` when none are scheduled.
    #[schema(value_type = Object)]
    backup: serde_json::Value,
    /// The MockServer initialization file: `{"file", "expectations", "loaded",
    /// "refused": [{"index", "pointer", "reason"}]}`, or `null` without one.
    #[schema(value_type = Object)]
    mockserver_initialization: serde_json::Value,
}

/// What needs an operator's attention: quarantined definitions, routes over budget, and
/// the mock listener's refusals and failures.
#[utoipa::path(get, path = "/api/v1/status", tag = "teams", responses((status = 200, body = Status)))]
pub(crate) async fn status(State(s): State<AdminState>) -> Json<Status> {
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
    let upstreams = table
        .services()
        .iter()
        .filter_map(|svc| {
            let up = svc.info.upstream.as_ref()?;
            Some(serde_json::json!({
                "service": svc.key.as_ref(),
                "url": up.url,
                "breaker": up.breaker.state(),
                "consecutiveFailures": up.breaker.consecutive_failures(),
            }))
        })
        .collect();
    let initialization = (s.initialization)();
    let init_refused = initialization["refused"]
        .as_array()
        .is_some_and(|r| !r.is_empty());
    Json(Status {
        status: if quarantined.is_empty() && !init_refused {
            "ok"
        } else {
            "degraded"
        },
        quarantined,
        over_budget_routes,
        serving: (s.serving)(),
        journal: s.app.journal().stats(),
        sync: (s.sync)(),
        mock_listener: s
            .mock_address
            .as_ref()
            .map(|a| serde_json::json!({ "address": a })),
        upstreams,
        backup: (s.backup)(),
        mockserver_initialization: initialization,
    })
}
