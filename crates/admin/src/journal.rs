//! Journal endpoints: what the mock listener received, and verification counts.

use crate::{ApiError, ApiResult, ErrorBody, JsonBody, QueryParams};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use standin_app::App;
use standin_app::ServiceKey;
use standin_journal::{EntryView, JournalStats, Query as JournalQuery};
use standin_matcher::CompiledRequestMatcher;
use standin_model::HttpRequestMatcher;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub(crate) struct JournalParams {
    /// `team/service`; empty string for requests that reached no service.
    service: Option<String>,
    method: Option<String>,
    /// The path relative to the service contains this text.
    path: Option<String>,
    status: Option<u16>,
    /// `true`: only requests a route answered; `false`: only unmatched ones.
    matched: Option<bool>,
    /// Only requests this route answered.
    route: Option<String>,
    /// Only entries with a greater sequence number (for polling).
    after: Option<u64>,
    /// Newest first, at most this many (default 100, at most 1000).
    limit: Option<usize>,
}

/// A `team/service` that names no service is a mistake, not an empty journal.
pub(crate) fn known_service(app: &App, service: Option<&str>) -> Result<(), ApiError> {
    let Some(key) = service.filter(|k| !k.is_empty()) else {
        return Ok(());
    };
    let exists = ServiceKey::parse(key).is_some_and(|k| app.catalog().services.contains_key(&k));
    if exists {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("service \"{key}\" does not exist (give team/service)"),
        ))
    }
}

/// Lists journal entries, newest first.
#[utoipa::path(get, path = "/api/v1/journal", tag = "journal", params(JournalParams),
    responses((status = 200, body = Vec<EntryView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn query(
    State(app): State<App>,
    QueryParams(p): QueryParams<JournalParams>,
) -> ApiResult<Json<Vec<EntryView>>> {
    known_service(&app, p.service.as_deref())?;
    let journal = app.journal();
    journal.flush().await;
    let q = JournalQuery {
        service: p.service,
        method: p.method,
        path_contains: p.path,
        status: p.status,
        matched: p.matched,
        route: p.route,
        after_seq: p.after,
        matcher: None,
        limit: Some(p.limit.unwrap_or(100).min(1000)),
    };
    Ok(Json(
        journal
            .query(&q)
            .iter()
            .map(|e| EntryView::from(&**e))
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct ClearParams {
    /// `team/service` whose entries to forget.
    service: Option<String>,
    /// Forget every team's entries. Needed when `service` is absent, so that one call
    /// without a service cannot wipe everyone's journal by accident.
    #[serde(default)]
    all: bool,
}

/// Forgets the journal entries of one service (`service=team/service`), or of every
/// service (`all=true`).
#[utoipa::path(delete, path = "/api/v1/journal", tag = "journal", params(ClearParams),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn clear(
    State(app): State<App>,
    QueryParams(p): QueryParams<ClearParams>,
) -> ApiResult<StatusCode> {
    match (p.service.as_deref(), p.all) {
        (Some(_), true) => {
            return Err(ApiError::invalid_query(
                "/all",
                "give either service or all=true, not both",
            ));
        }
        (None, false) => {
            return Err(ApiError::invalid_query(
                "/service",
                "name the service whose entries to forget (service=team/service), or pass all=true to forget every team's",
            ));
        }
        (Some(key), false) => known_service(&app, Some(key))?,
        (None, true) => {}
    }
    app.journal().clear(p.service.as_deref()).await;
    Ok(StatusCode::NO_CONTENT)
}

/// How many requests are expected. Give `exactly`, or `atLeast` and/or `atMost`.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Count {
    exactly: Option<usize>,
    at_least: Option<usize>,
    at_most: Option<usize>,
}

/// A verification: how many journaled requests of a service satisfy a request matcher.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Verify {
    /// `team/service`.
    service: String,
    /// Conditions as in a route's `http.request` (paths relative to the service).
    #[serde(default)]
    request: HttpRequestMatcher,
    /// Defaults to `atLeast: 1`.
    #[serde(default)]
    count: Count,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Verified {
    verified: bool,
    /// Matching requests found in the journal.
    count: usize,
    message: String,
}

/// Counts the journaled requests that satisfy a matcher and checks the count: 200 when it
/// holds, 406 (as MockServer answers) when it does not.
#[utoipa::path(post, path = "/api/v1/journal/verify", tag = "journal", request_body = Verify,
    responses((status = 200, body = Verified), (status = 406, body = Verified), (status = 400, body = ErrorBody)))]
pub(crate) async fn verify(
    State(app): State<App>,
    JsonBody(v): JsonBody<Verify>,
) -> ApiResult<impl IntoResponse> {
    let matcher = CompiledRequestMatcher::compile(&v.request, "/request")
        .map_err(|e| ApiError::invalid(e.pointer, e.message))?;
    let Count {
        exactly,
        at_least,
        at_most,
    } = v.count;
    if exactly.is_some() && (at_least.is_some() || at_most.is_some()) {
        return Err(ApiError::invalid(
            "/count",
            "give either exactly, or atLeast and/or atMost",
        ));
    }
    let (low, high) = match exactly {
        Some(n) => (n, Some(n)),
        None => (
            at_least.unwrap_or(if at_most.is_some() { 0 } else { 1 }),
            at_most,
        ),
    };
    if high.is_some_and(|h| h < low) {
        return Err(ApiError::invalid(
            "/count",
            "atMost is smaller than atLeast",
        ));
    }
    let journal = app.journal();
    journal.flush().await;
    let count = journal.count(&JournalQuery {
        service: Some(v.service.clone()),
        matcher: Some(matcher),
        ..Default::default()
    });
    let verified = count >= low && high.is_none_or(|h| count <= h);
    let expected = match (exactly, high) {
        (Some(n), _) => format!("exactly {n}"),
        (None, Some(h)) if low > 0 => format!("between {low} and {h}"),
        (None, Some(h)) => format!("at most {h}"),
        (None, None) => format!("at least {low}"),
    };
    let message = format!(
        "expected {expected} matching request(s) to {}, found {count}",
        v.service
    );
    let status = if verified {
        StatusCode::OK
    } else {
        StatusCode::NOT_ACCEPTABLE
    };
    Ok((
        status,
        Json(Verified {
            verified,
            count,
            message,
        }),
    ))
}

/// What the journal holds and has lost.
#[utoipa::path(get, path = "/api/v1/journal/stats", tag = "journal", responses((status = 200, body = JournalStats)))]
pub(crate) async fn stats(State(app): State<App>) -> Json<JournalStats> {
    app.journal().flush().await;
    Json(app.journal().stats())
}
