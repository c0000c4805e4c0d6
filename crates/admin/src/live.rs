//! What the UI watches: requests as they arrive (server-sent events), usage per service
//! and route, and "try it" — a request answered by the serving pipeline against a draft.

use crate::services::{ServicePath, find_service};
use crate::{AdminState, ApiError, ApiResult, ErrorBody, JsonBody, QueryParams};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use bytes::Bytes;
use serde::Deserialize;
use standin_app::{App, ServiceKey};
use standin_journal::{EntryView, UsageView};
use standin_matcher::RouteTable;
use standin_model::Route;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub(crate) struct StreamParams {
    /// `team/service`: only its requests. Absent: every request.
    service: Option<String>,
}

/// Requests as the journal stores them, as server-sent events: `event: entry` with one
/// journal entry as JSON (the shape of `GET /api/v1/journal`'s items), and `event:
/// lagged` with `{"missed": N}` before the next entry when entries were skipped: this
/// watcher fell behind, or more than 200 arrived in a second. Only requests from now on; read `GET /api/v1/journal` for earlier ones. The
/// serving path does not wait for watchers: the journal task sends, off that path.
#[utoipa::path(get, path = "/api/v1/journal/stream", tag = "journal", params(StreamParams),
    responses((status = 200, content_type = "text/event-stream", description = "A stream of `entry` and `lagged` events."), (status = 404, body = ErrorBody)))]
pub(crate) async fn stream(
    State(state): State<AdminState>,
    QueryParams(p): QueryParams<StreamParams>,
) -> ApiResult<impl axum::response::IntoResponse> {
    crate::journal::known_service(&state.app, p.service.as_deref())?;
    let watcher = Watcher {
        rx: state.app.journal().watch(),
        closing: state.closing.subscribe(),
        service: p.service,
        window: tokio::time::Instant::now(),
        sent: 0,
        skipped: 0,
        pending: None,
    };
    let events = futures_util::stream::unfold(watcher, |mut w| async move {
        let event = w.next().await?;
        Some((Ok::<_, std::convert::Infallible>(event), w))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Entries one watcher is sent per second at most; the rest are counted and reported as
/// `lagged`. A person cannot read more, and serialising every request of a service under
/// load would take the control thread's time from the mock workers on a shared core
/// (bench/load.sh `standin-watched`).
pub const LIVE_MAX_PER_SECOND: u32 = 200;

struct Watcher {
    rx: tokio::sync::broadcast::Receiver<Arc<standin_journal::JournalEntry>>,
    closing: tokio::sync::watch::Receiver<bool>,
    service: Option<String>,
    /// The start of the current one-second window, and what was sent in it.
    window: tokio::time::Instant,
    sent: u32,
    /// Entries not sent (over the rate, or lost by lagging), reported before the next one.
    skipped: u64,
    pending: Option<Arc<standin_journal::JournalEntry>>,
}

impl Watcher {
    async fn next(&mut self) -> Option<Event> {
        if let Some(e) = self.pending.take() {
            return Some(entry_event(&e));
        }
        loop {
            let received = tokio::select! {
                // The admin listener is shutting down: end the stream so the graceful
                // shutdown does not wait for watchers forever.
                _ = self.closing.wait_for(|c| *c) => return None,
                r = self.rx.recv() => r,
            };
            let e = match received {
                Ok(e) => e,
                Err(RecvError::Lagged(n)) => {
                    self.skipped += n;
                    continue;
                }
                Err(RecvError::Closed) => return None,
            };
            if self.service.as_deref().is_some_and(|s| *s != *e.service) {
                continue;
            }
            let now = tokio::time::Instant::now();
            if now.duration_since(self.window) >= Duration::from_secs(1) {
                self.window = now;
                self.sent = 0;
            }
            if self.sent >= LIVE_MAX_PER_SECOND {
                self.skipped += 1;
                continue;
            }
            self.sent += 1;
            if self.skipped > 0 {
                let missed = std::mem::take(&mut self.skipped);
                self.pending = Some(e);
                return Some(
                    Event::default()
                        .event("lagged")
                        .data(format!("{{\"missed\":{missed}}}")),
                );
            }
            return Some(entry_event(&e));
        }
    }
}

fn entry_event(e: &standin_journal::JournalEntry) -> Event {
    Event::default()
        .event("entry")
        .json_data(EntryView::from(e))
        .unwrap_or_else(|_| Event::default().event("entry"))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct UsageParams {
    /// `team/service`: only this service.
    service: Option<String>,
    /// Only this team's services.
    team: Option<String>,
    /// How many days (UTC, today included) the stored counts cover: 1 to 400, default 30.
    days: Option<u32>,
}

/// One service's use over the window: calls, and the last call (absent when there was
/// none: a mock nobody used lately).
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceUse {
    team: String,
    service: String,
    calls: u64,
    last_used: Option<String>,
}

/// Usage: live counts since the server started, and stored counts per day.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageReport {
    #[serde(flatten)]
    live: UsageView,
    /// The first day the stored counts cover.
    from_day: String,
    /// Calls per service per day, from the store (kept across restarts).
    daily: Vec<standin_store::UsageRow>,
    /// Every service in scope with its calls over the window, most used first; those
    /// with no calls come last.
    by_service: Vec<ServiceUse>,
    /// Every team in scope with its services' calls over the window and the last call.
    by_team: Vec<TeamUse>,
}

/// One team's use over the window.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamUse {
    team: String,
    calls: u64,
    last_used: Option<String>,
}

/// Who uses what. `services` and `today`: requests per service and route since the
/// server started (in memory). `daily` and `byService`: calls per service per UTC day,
/// kept in the store (written in batches, off the serving path) over the last `days`
/// days, and each service's total and last use, so mocks nobody calls stand out. Counted
/// by the journal task, so nothing is counted while the journal is off.
#[utoipa::path(get, path = "/api/v1/usage", tag = "journal", params(UsageParams),
    responses((status = 200, body = UsageReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn usage(
    State(app): State<App>,
    QueryParams(p): QueryParams<UsageParams>,
) -> ApiResult<Json<UsageReport>> {
    crate::journal::known_service(&app, p.service.as_deref())?;
    let catalog = app.catalog();
    if let Some(t) = &p.team
        && !catalog.teams.contains_key(t)
    {
        return Err(standin_app::AppError::NotFound(format!("team \"{t}\" does not exist")).into());
    }
    let days = p.days.unwrap_or(30);
    if !(1..=400).contains(&days) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("days must be 1 to 400, not {days}"),
        ));
    }
    app.journal().flush().await;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let from_day = today
        .checked_sub(jiff::Span::new().days(i64::from(days) - 1))
        .unwrap_or(today)
        .to_string();
    let in_scope = |team: &str, service: &str| {
        p.team.as_deref().is_none_or(|t| t == team)
            && p.service
                .as_deref()
                .is_none_or(|s| s == format!("{team}/{service}"))
    };
    let daily: Vec<standin_store::UsageRow> = app
        .usage_rows(p.team.as_deref(), &from_day)
        .await?
        .into_iter()
        .filter(|r| in_scope(&r.team, &r.service))
        .collect();
    let mut by: BTreeMap<(String, String), ServiceUse> = catalog
        .services
        .keys()
        .filter(|k| in_scope(&k.team, &k.service))
        .map(|k| {
            (
                (k.team.clone(), k.service.clone()),
                ServiceUse {
                    team: k.team.clone(),
                    service: k.service.clone(),
                    calls: 0,
                    last_used: None,
                },
            )
        })
        .collect();
    for r in &daily {
        if let Some(u) = by.get_mut(&(r.team.clone(), r.service.clone())) {
            u.calls += r.calls;
            u.last_used = u.last_used.clone().max(Some(r.last_used.clone()));
        }
    }
    let mut by_service: Vec<ServiceUse> = by.into_values().collect();
    by_service.sort_by_key(|u| std::cmp::Reverse(u.calls));
    let mut teams: BTreeMap<String, TeamUse> = catalog
        .teams
        .keys()
        .filter(|t| p.team.as_deref().is_none_or(|x| x == t.as_str()))
        .filter(|t| {
            p.service
                .as_deref()
                .is_none_or(|s| s.starts_with(&format!("{t}/")))
        })
        .map(|t| {
            (
                t.clone(),
                TeamUse {
                    team: t.clone(),
                    calls: 0,
                    last_used: None,
                },
            )
        })
        .collect();
    for u in &by_service {
        if let Some(t) = teams.get_mut(&u.team) {
            t.calls += u.calls;
            t.last_used = t.last_used.clone().max(u.last_used.clone());
        }
    }
    let mut by_team: Vec<TeamUse> = teams.into_values().collect();
    by_team.sort_by_key(|u| std::cmp::Reverse(u.calls));
    let mut live = app.journal().usage(p.service.as_deref());
    if let Some(t) = &p.team {
        let prefix = format!("{t}/");
        live.services.retain(|s| s.service.starts_with(&prefix));
    }
    Ok(Json(UsageReport {
        live,
        from_day,
        daily,
        by_service,
        by_team,
    }))
}

/// A request to answer with a preview table, built by the admin API and answered by the
/// data plane's pipeline (see [`Preview`]).
pub struct TryRequest {
    pub table: RouteTable,
    pub method: String,
    /// The path on the mock listener (the service's base path included) and the query.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Answers a [`TryRequest`] through the real serving pipeline without recording it; an
/// `Err` says why no answer came.
pub type Preview = Arc<
    dyn Fn(TryRequest) -> Pin<Box<dyn Future<Output = Result<EntryView, String>> + Send>>
        + Send
        + Sync,
>;

/// The request "try it" sends.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SampleRequest {
    #[serde(default = "get")]
    method: String,
    /// Relative to the service's base path (`/pets/1`).
    #[serde(default = "root")]
    path: String,
    /// Without the `?` (`a=1&b=2`).
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
}

fn get() -> String {
    "GET".into()
}

fn root() -> String {
    "/".into()
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TryBody {
    request: SampleRequest,
    /// A route document not saved yet: it answers in place of the saved route with its
    /// id (or beside the saved routes, when new).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    route: Option<Route>,
}

/// Sends a sample request to the service as it is saved, or with a draft route in place,
/// and shows the answer as a journal entry (status, headers, body, the route that
/// answered or the near misses). The serving pipeline answers it; nothing is saved or
/// journaled, and the service's routes are not counted.
#[utoipa::path(post, path = "/api/v1/teams/{team}/services/{service}/try", tag = "routes", params(ServicePath), request_body = TryBody,
    responses((status = 200, body = EntryView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub(crate) async fn try_request(
    State(state): State<AdminState>,
    Path((team, service)): Path<(String, String)>,
    JsonBody(body): JsonBody<TryBody>,
) -> ApiResult<Json<EntryView>> {
    let record = find_service(&state.app, &team, &service)?;
    let Some(preview) = state.preview.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_available",
            "this server runs without a data plane to try requests on",
        ));
    };
    let r = body.request;
    let method = r.method.trim().to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(
            "/request/method",
            format!("\"{}\" is not an HTTP method", r.method),
        ));
    }
    if !r.path.starts_with('/') || r.path.contains(char::is_whitespace) {
        return Err(ApiError::invalid(
            "/request/path",
            "give the path relative to the service's base path, starting with /, without spaces",
        ));
    }
    for name in r.headers.keys() {
        if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(ApiError::invalid(
                format!(
                    "/request/headers/{}",
                    name.replace('~', "~0").replace('/', "~1")
                ),
                format!("\"{name}\" is not a header name"),
            ));
        }
    }
    let table = state
        .app
        .preview(&ServiceKey::new(&team, &service), body.route)?;
    let base = record.service.effective_base_path(&team);
    let mut path_and_query = format!("{}{}", base.trim_end_matches('/'), r.path);
    if let Some(q) = r.query.as_deref().filter(|q| !q.is_empty()) {
        path_and_query.push('?');
        path_and_query.push_str(q.trim_start_matches('?'));
    }
    let mut headers: Vec<(String, String)> = r.headers.into_iter().collect();
    if let Some(host) = record.service.hosts.first()
        && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"))
    {
        headers.push(("host".into(), host.clone()));
    }
    let answer = preview(TryRequest {
        table,
        method,
        path_and_query,
        headers,
        body: Bytes::from(r.body.unwrap_or_default()),
    })
    .await
    .map_err(|m| ApiError::new(StatusCode::BAD_GATEWAY, "no_answer", m))?;
    Ok(Json(answer))
}
