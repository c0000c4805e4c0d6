//! Record mode: a task on the control plane that watches the journal and turns each new
//! exchange of a recording service with its upstream into a disabled draft route tagged
//! `recorded`.
//!
//! An exchange is new when its method, path and the names of its query parameters differ
//! from every recorded one: the draft's id is derived from exactly those. Secrets follow
//! the service's `redactHeaders`: a value the journal keeps as `<redacted>` (by default
//! `Authorization`, `Cookie`, `Set-Cookie`, ...) is never written into a route. A body the
//! journal cut (`journal.max-body-bytes`) is not recorded. The journal's live channel drops
//! entries when the recorder falls far behind; those exchanges are recorded the next time
//! they happen.

use standin_app::{App, ServiceKey};
use standin_journal::{JournalEntry, UNRESOLVED};
use standin_model::{
    HeaderValues, HttpRequestMatcher, HttpResponse, HttpRoute, Origin, PathMatcher, ResponseBody,
    Route, StringMatcher,
};
use std::collections::BTreeMap;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// The tag drafts carry, and what `POST …/routes/accept` looks for.
pub(crate) const RECORDED: &str = "recorded";

pub(crate) async fn run(app: App, mut stop: watch::Receiver<bool>) {
    let mut live = app.journal().watch();
    loop {
        let received = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            r = live.recv() => r,
        };
        match received {
            Ok(e) => record(&app, &e).await,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "the recorder fell behind the journal");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// What makes an exchange new: method, path and the sorted names of its query parameters.
fn exchange_key(e: &JournalEntry) -> String {
    let mut names: Vec<String> = e
        .query
        .as_deref()
        .map(standin_eval_query_names)
        .unwrap_or_default();
    names.sort();
    names.dedup();
    format!("{} {}?{}", e.method, e.relative_path, names.join("&"))
}

fn standin_eval_query_names(q: &str) -> Vec<String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').map_or(p, |(k, _)| k).to_string())
        .collect()
}

/// A stable id for an exchange key (FNV-1a, 64 bits).
fn draft_id(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("recorded-{h:016x}")
}

async fn record(app: &App, e: &JournalEntry) {
    if &*e.service == UNRESOLVED || e.error.is_some() || e.matched_route.is_some() {
        return;
    }
    let Some(key) = ServiceKey::parse(&e.service) else {
        return;
    };
    let catalog = app.catalog();
    let Some(svc) = catalog.services.get(&key) else {
        return;
    };
    if !svc.service.record.as_ref().is_some_and(|r| r.enabled) {
        return;
    }
    if e.response_body.len() < e.response_body_size {
        tracing::warn!(service = %key, path = %e.relative_path, "not recorded: the answer is larger than journal.max-body-bytes");
        return;
    }
    let exchange = exchange_key(e);
    let id = draft_id(&exchange);
    if catalog
        .routes_of(&key)
        .is_some_and(|routes| routes.contains_key(&id))
    {
        return;
    }
    let route = draft(e, id, &exchange);
    let (team, service) = (key.team.clone(), key.service.clone());
    if let Err(err) = app
        .change("recorder", |d| d.create_route(&team, &service, route, ""))
        .await
    {
        tracing::warn!(service = %key, error = %err, "could not record an exchange");
    }
}

/// Headers that describe one transfer, not the answer.
const TRANSFER_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "date",
];

fn draft(e: &JournalEntry, id: String, exchange: &str) -> Route {
    let mut query = BTreeMap::new();
    for name in e
        .query
        .as_deref()
        .map(standin_eval_query_names)
        .unwrap_or_default()
    {
        query.insert(name, StringMatcher::Present(true));
    }
    let mut headers: BTreeMap<String, HeaderValues> = BTreeMap::new();
    for (name, value) in &e.response_headers {
        let Ok(v) = value.to_str() else { continue };
        if TRANSFER_HEADERS.contains(&name.as_str()) || v.contains("<redacted>") {
            continue;
        }
        let key = title_case(name.as_str());
        match headers.remove(&key) {
            None => {
                headers.insert(key, HeaderValues::One(v.to_string()));
            }
            Some(HeaderValues::One(first)) => {
                headers.insert(key, HeaderValues::Many(vec![first, v.to_string()]));
            }
            Some(HeaderValues::Many(mut all)) => {
                all.push(v.to_string());
                headers.insert(key, HeaderValues::Many(all));
            }
        }
    }
    let body = if e.response_body.is_empty() {
        None
    } else {
        Some(match std::str::from_utf8(&e.response_body) {
            Ok(t) => ResponseBody::Text(t.to_string()),
            Err(_) => {
                use base64::Engine;
                ResponseBody::Base64(
                    base64::engine::general_purpose::STANDARD.encode(&e.response_body),
                )
            }
        })
    };
    Route {
        id,
        name: format!("{} {}", e.method, e.relative_path),
        memo: String::new(),
        priority: 0,
        enabled: false,
        times: None,
        tags: vec![RECORDED.to_string()],
        expires_at: None,
        origin: Some(Origin {
            format: "recording".to_string(),
            document: serde_json::json!({ "exchange": exchange, "journalSeq": e.seq }),
        }),
        fallback: false,
        scenario: None,
        http: Some(HttpRoute {
            request: HttpRequestMatcher {
                method: Some(StringMatcher::Equals(e.method.clone())),
                path: Some(PathMatcher::Exact(e.relative_path.clone())),
                query,
                ..Default::default()
            },
            response: HttpResponse {
                status: e.status,
                headers,
                body,
                ..Default::default()
            },
            alternatives: Vec::new(),
            sequence: None,
            forward: None,
            contract: None,
        }),
    }
}

/// `content-type` → `Content-Type`: how people write the headers they read back.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}
