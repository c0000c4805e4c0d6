//! The management API in process: the real router over an `App` backed by SQLite in a
//! temporary directory, driven with `tower::ServiceExt::oneshot`.
//!
//! This file holds the harness every test shares; the tests live in one module per
//! resource, so a change to one resource's behaviour is read and reviewed in one place.

mod errors;
mod journal;
mod live;
mod openapi;
mod routes;
mod search_and_history;
mod services;
mod status;
mod teams;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use standin_app::App;
use standin_journal::{Journal, JournalConfig};
use standin_store::SqliteStore;
use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

/// A router over a fresh app; the temporary directory lives as long as this does.
struct Api {
    router: Router,
    app: App,
    _dir: TempDir,
}

async fn open_app(dir: &Path) -> App {
    let store = SqliteStore::open(dir).await.expect("open store");
    App::open(Arc::new(store), Journal::start(JournalConfig::default()))
        .await
        .expect("open app")
}

async fn api() -> Api {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open_app(dir.path()).await;
    Api {
        router: standin_admin::router(app.clone()),
        app,
        _dir: dir,
    }
}

/// Sends one request and returns the raw response.
async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
    actor: Option<&str>,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(actor) = actor {
        req = req.header("x-standin-actor", actor);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, headers, bytes)
}

/// Sends one request; the body comes back as JSON (`Null` when empty).
async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
    actor: Option<&str>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = send(router, method, uri, body, actor).await;
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {uri} -> {status}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, value)
}

impl Api {
    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        call(&self.router, "GET", uri, None, None).await
    }
    async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        call(&self.router, "POST", uri, Some(&body.to_string()), None).await
    }
    async fn put(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        call(&self.router, "PUT", uri, Some(&body.to_string()), None).await
    }
    async fn delete(&self, uri: &str) -> (StatusCode, Value) {
        call(&self.router, "DELETE", uri, None, None).await
    }
    async fn raw(&self, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        call(&self.router, method, uri, Some(body), None).await
    }
    async fn as_actor(
        &self,
        actor: &str,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|b| b.to_string());
        call(&self.router, method, uri, body.as_deref(), Some(actor)).await
    }

    async fn team(&self, slug: &str) {
        let (s, b) = self.post("/api/v1/teams", json!({ "slug": slug })).await;
        assert_eq!(s, StatusCode::CREATED, "create team {slug}: {b}");
    }
    async fn service(&self, team: &str, body: Value) {
        let (s, b) = self
            .post(&format!("/api/v1/teams/{team}/services"), body.clone())
            .await;
        assert_eq!(s, StatusCode::CREATED, "create service {body}: {b}");
    }
    async fn route(&self, team: &str, service: &str, body: Value) -> Value {
        let (s, b) = self
            .post(
                &format!("/api/v1/teams/{team}/services/{service}/routes"),
                body.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "create route {body}: {b}");
        b
    }
    /// Team `pay`, service `pay/api`, route `pay/api/r1` (GET /a).
    async fn seed(&self) {
        self.team("pay").await;
        self.service("pay", json!({"slug": "api"})).await;
        self.route(
            "pay",
            "api",
            json!({"id": "r1", "http": {"request": {"method": "GET", "path": "/a"}}}),
        )
        .await;
    }
    /// The whole change log, newest first.
    async fn history(&self) -> Vec<Value> {
        let (s, b) = self.get("/api/v1/history?limit=1000").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b.as_array().expect("history is an array").clone()
    }
    async fn route_ids(&self, team: &str, service: &str) -> Vec<String> {
        let (s, b) = self
            .get(&format!("/api/v1/teams/{team}/services/{service}/routes"))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        strings(&b, "id")
    }
}

/// `field` of every element of a JSON array.
fn strings(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| {
            x[field]
                .as_str()
                .unwrap_or_else(|| panic!("no string {field} in {x}"))
                .to_string()
        })
        .collect()
}

fn seqs(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x["seq"].as_u64().expect("seq"))
        .collect()
}

/// Asserts an error response: status, stable code and (when given) the JSON pointer.
#[track_caller]
fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str, pointer: Option<&str>) {
    let (s, b) = got;
    assert_eq!(*s, status, "{b}");
    assert_eq!(b["error"], code, "{b}");
    assert!(
        b["message"].as_str().is_some_and(|m| !m.is_empty()),
        "an error says what is wrong: {b}"
    );
    if let Some(p) = pointer {
        assert_eq!(b["pointer"], p, "{b}");
    }
}

/// Sends a request with the given headers and body, through the whole router.
async fn send_with(
    router: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
