//! Keeps services in sync with documents at URLs (a service's `sync`): a task on the
//! control plane's runtime pulls each document when its interval has passed, reads it,
//! and applies its plan as one change when the plan has no conflicts. A plan with
//! conflicts waits for a person; a document that cannot be fetched or read changes
//! nothing. What happened last is kept per service for `GET /api/v1/status`.

use crate::client::{HttpClient, send};
use bytes::Bytes;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use standin_app::{App, ServiceKey};
use standin_import::{BasePath, Format, Options, Sources};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the task looks for services whose interval has passed.
const TICK: Duration = Duration::from_millis(500);

/// What the last pull of one service did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    pub url: String,
    /// RFC 3339.
    pub last_run_at: String,
    /// `applied`, `unchanged`, `waiting` (the plan has conflicts) or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Counts of the last plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Value>,
    /// The conflicts a person must look at: id and reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Value>,
}

/// The states of every synced service, shared with the status endpoint.
pub type SyncStates = Arc<Mutex<BTreeMap<String, SyncState>>>;

pub async fn run(app: App, states: SyncStates, mut stop: watch::Receiver<bool>) {
    let Ok(client) = crate::client::client() else {
        tracing::error!("the sync task could not build its HTTP client");
        return;
    };
    let mut due: BTreeMap<ServiceKey, Instant> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let catalog = app.catalog();
        let now = Instant::now();
        let synced: Vec<(ServiceKey, standin_model::SyncSource)> = catalog
            .services
            .iter()
            .filter_map(|(k, s)| s.service.sync.clone().map(|sync| (k.clone(), sync)))
            .collect();
        due.retain(|k, _| synced.iter().any(|(s, _)| s == k));
        states
            .lock()
            .retain(|k, _| synced.iter().any(|(s, _)| s.to_string() == *k));
        for (key, sync) in synced {
            if due.get(&key).is_some_and(|at| *at > now) {
                continue;
            }
            due.insert(
                key.clone(),
                now + Duration::from_secs(sync.interval_seconds),
            );
            let state = pull(&app, &client, &key, &sync).await;
            match state.outcome {
                "failed" => {
                    tracing::warn!(service = %key, url = %sync.url, error = %state.message, "sync failed")
                }
                "waiting" => {
                    tracing::warn!(service = %key, conflicts = state.conflicts.len(), "sync waits: the plan has conflicts")
                }
                "applied" => tracing::info!(service = %key, "sync applied a new version"),
                _ => {}
            }
            states.lock().insert(key.to_string(), state);
        }
    }
}

async fn pull(
    app: &App,
    client: &HttpClient,
    key: &ServiceKey,
    sync: &standin_model::SyncSource,
) -> SyncState {
    let mut state = SyncState {
        url: sync.url.clone(),
        last_run_at: jiff_now(),
        outcome: "failed",
        message: String::new(),
        plan: None,
        conflicts: Vec::new(),
    };
    let text = match fetch(client, &sync.url).await {
        Ok(t) => t,
        Err(e) => {
            state.message = e;
            return state;
        }
    };
    let format = Format::parse(sync.format.as_deref().unwrap_or(""))
        .ok()
        .flatten();
    let options = Options {
        base_path: if sync.base_path.as_deref() == Some("keep") {
            BasePath::Keep
        } else {
            BasePath::Drop
        },
        ..Options::default()
    };
    let read = tokio::task::spawn_blocking(move || {
        standin_admin::read_document(&Sources::single("document", text), format, &options)
    })
    .await;
    let imported = match read {
        Ok(Ok(i)) => i,
        Ok(Err(e)) => {
            state.message = format!("the document does not import: {e}");
            return state;
        }
        Err(e) => {
            state.message = format!("reading the document failed: {e}");
            return state;
        }
    };
    let dry = match app.import("sync", key, imported.clone(), true).await {
        Ok(o) => o,
        Err(e) => {
            state.message = e.to_string();
            return state;
        }
    };
    state.plan = Some(counts(&dry.plan));
    if dry.plan.has_conflicts() {
        state.outcome = "waiting";
        state.message =
            "the plan has conflicts: import the document by hand to see and resolve them".into();
        state.conflicts = dry
            .plan
            .conflicts
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "reason": c.reason}))
            .collect();
        return state;
    }
    if dry.plan.is_empty() {
        state.outcome = "unchanged";
        return state;
    }
    match app.import("sync", key, imported, false).await {
        Ok(done) => {
            state.outcome = "applied";
            state.plan = Some(counts(&done.plan));
        }
        Err(e) => state.message = e.to_string(),
    }
    state
}

fn counts(p: &standin_import::Plan) -> Value {
    serde_json::json!({
        "create": p.create.len(),
        "update": p.update.len(),
        "delete": p.delete.len(),
        "unchanged": p.unchanged.len(),
        "kept": p.kept.len(),
        "conflicts": p.conflicts.len(),
    })
}

/// The document's text, or why not (a timeout, a status other than 2xx, not UTF-8).
async fn fetch(client: &HttpClient, url: &str) -> Result<String, String> {
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(30),
        send(client, http::Method::GET, url, Bytes::new(), "text/plain"),
    )
    .await
    .map_err(|_| format!("{url} did not answer within 30 s"))?
    .map_err(|e| format!("{e:#}"))?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    String::from_utf8(body.to_vec()).map_err(|_| format!("{url} sent a document that is not UTF-8"))
}

fn jiff_now() -> String {
    jiff::Timestamp::now().to_string()
}
