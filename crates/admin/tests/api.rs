//! The management API in process: the real router over an `App` backed by SQLite in a
//! temporary directory, driven with `tower::ServiceExt::oneshot`.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use standin_app::App;
use standin_journal::{Journal, JournalConfig, JournalEntry};
use standin_store::SqliteStore;
use std::collections::BTreeSet;
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

// ---------------------------------------------------------------------------------------
// 1. CRUD
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn team_crud() {
    let api = api().await;

    let created = api
        .as_actor(
            "alice",
            "POST",
            "/api/v1/teams",
            Some(json!({"slug": "pay", "name": "Payments", "memo": "money", "tags": ["core"]})),
        )
        .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    let t = &created.1;
    assert_eq!(t["slug"], "pay");
    assert_eq!(t["name"], "Payments");
    assert_eq!(t["memo"], "money");
    assert_eq!(t["tags"], json!(["core"]));
    assert_eq!(t["meta"]["revision"], 1);
    assert_eq!(t["meta"]["updatedBy"], "alice");
    assert_eq!(t["meta"]["createdAt"], t["meta"]["updatedAt"]);

    // The name defaults to the slug.
    let (s, b) = api.post("/api/v1/teams", json!({"slug": "ops"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["name"], "ops");
    assert_eq!(b["meta"]["updatedBy"], "anonymous");

    let (s, b) = api.get("/api/v1/teams/pay").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, created.1, "read returns what create returned");

    let (s, b) = api
        .as_actor(
            "bob",
            "PUT",
            "/api/v1/teams/pay",
            Some(json!({"slug": "pay", "name": "Payments 2"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["name"], "Payments 2");
    assert_eq!(b["memo"], "", "PUT replaces: an absent memo is cleared");
    assert_eq!(b["tags"], json!([]));
    assert_eq!(b["meta"]["revision"], 2);
    assert_eq!(b["meta"]["updatedBy"], "bob");
    assert_eq!(b["meta"]["createdAt"], t["meta"]["createdAt"]);
    let (_, read) = api.get("/api/v1/teams/pay").await;
    assert_eq!(read, b);
    let (_, b) = api
        .put(
            "/api/v1/teams/pay",
            json!({"slug": "pay", "name": "Payments 3"}),
        )
        .await;
    assert_eq!(b["meta"]["revision"], 3);

    assert_error(
        &api.post("/api/v1/teams", json!({"slug": "pay"})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );
    assert_error(
        &api.get("/api/v1/teams/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.put("/api/v1/teams/nope", json!({"slug": "nope"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.put("/api/v1/teams/pay", json!({"slug": "pay2"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/slug"),
    );
    let (_, still) = api.get("/api/v1/teams/pay").await;
    assert_eq!(
        still["meta"]["revision"], 3,
        "a refused rename changes nothing"
    );
    assert_error(
        &api.get("/api/v1/teams/pay2").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (s, b) = api.delete("/api/v1/teams/ops").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(b, Value::Null, "204 has no body");
    assert_error(
        &api.get("/api/v1/teams/ops").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.delete("/api/v1/teams/ops").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let (_, list) = api.get("/api/v1/teams").await;
    assert_eq!(strings(&list, "slug"), ["pay"]);
}

#[tokio::test]
async fn service_crud() {
    let api = api().await;
    api.team("pay").await;
    api.team("ops").await;

    assert_error(
        &api.post("/api/v1/teams/nope/services", json!({"slug": "api"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (s, created) = api
        .post(
            "/api/v1/teams/pay/services",
            json!({"slug": "api", "memo": "the API"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["team"], "pay");
    assert_eq!(created["slug"], "api");
    assert_eq!(created["name"], "api");
    assert_eq!(created["meta"]["revision"], 1);

    // The same slug in another team is another service.
    let (s, b) = api
        .post("/api/v1/teams/ops/services", json!({"slug": "api"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["team"], "ops");

    assert_error(
        &api.post("/api/v1/teams/pay/services", json!({"slug": "api"}))
            .await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );

    let (s, b) = api.get("/api/v1/teams/pay/services/api").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, created);
    for uri in [
        "/api/v1/teams/pay/services/zzz",
        "/api/v1/teams/nope/services/api",
    ] {
        assert_error(
            &api.get(uri).await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        );
    }

    let (s, b) = api
        .put(
            "/api/v1/teams/pay/services/api",
            json!({"slug": "api", "name": "API", "basePath": "/payments/", "hosts": ["Pay.Example"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["name"], "API");
    assert_eq!(b["basePath"], "/payments", "the base path is normalized");
    assert_eq!(b["hosts"], json!(["pay.example"]), "hosts are lowercased");
    assert_eq!(b["memo"], "");
    assert_eq!(b["meta"]["revision"], 2);
    assert_eq!(b["meta"]["createdAt"], created["meta"]["createdAt"]);
    let (_, read) = api.get("/api/v1/teams/pay/services/api").await;
    assert_eq!(read, b);

    assert_error(
        &api.put("/api/v1/teams/pay/services/api", json!({"slug": "api2"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/slug"),
    );
    assert_error(
        &api.put("/api/v1/teams/pay/services/zzz", json!({"slug": "zzz"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (s, _) = api.delete("/api/v1/teams/pay/services/api").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(
        &api.get("/api/v1/teams/pay/services/api").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.delete("/api/v1/teams/pay/services/api").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let (s, _) = api.get("/api/v1/teams/ops/services/api").await;
    assert_eq!(s, StatusCode::OK, "the other team's service stays");
}

#[tokio::test]
async fn route_crud_and_upsert() {
    let api = api().await;
    api.seed().await;
    let base = "/api/v1/teams/pay/services/api/routes";

    assert_error(
        &api.post("/api/v1/teams/pay/services/zzz/routes", json!({"http": {}}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    // Without an id, one is assigned.
    let (s, b) = api
        .post(
            base,
            json!({"name": "auto", "http": {"request": {"path": "/b"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let auto_id = b["id"].as_str().expect("assigned id").to_string();
    assert!(!auto_id.is_empty());
    assert_eq!(b["team"], "pay");
    assert_eq!(b["service"], "api");
    assert_eq!(b["enabled"], true);
    assert_eq!(b["priority"], 0);
    let (s, _) = api.get(&format!("{base}/{auto_id}")).await;
    assert_eq!(s, StatusCode::OK);

    assert_error(
        &api.post(base, json!({"id": "r1", "http": {}})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );

    let (s, r1) = api.get(&format!("{base}/r1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r1["id"], "r1");
    assert_eq!(r1["http"]["request"]["method"], "GET");
    assert_eq!(r1["meta"]["revision"], 1);

    for uri in [
        format!("{base}/nope"),
        "/api/v1/teams/pay/services/zzz/routes/r1".to_string(),
        "/api/v1/teams/nope/services/api/routes/r1".to_string(),
    ] {
        assert_error(
            &api.get(&uri).await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        );
    }

    // PUT replaces an existing route: 200, revision grows, creation order kept.
    let (s, b) = api
        .put(
            &format!("{base}/r1"),
            json!({"name": "renamed", "http": {"request": {"path": "/a2"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["id"], "r1", "the id comes from the URL");
    assert_eq!(b["name"], "renamed");
    assert_eq!(b["meta"]["revision"], 2);
    assert_eq!(b["meta"]["createdSeq"], r1["meta"]["createdSeq"]);
    assert_eq!(b["meta"]["createdAt"], r1["meta"]["createdAt"]);
    assert!(
        b["http"]["request"].get("method").is_none(),
        "PUT replaces the whole route: {b}"
    );
    // The same id in body and URL is fine.
    let (s, b) = api
        .put(&format!("{base}/r1"), json!({"id": "r1", "http": {}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["meta"]["revision"], 3);

    // PUT creates a missing route: 201.
    let (s, b) = api
        .put(
            &format!("{base}/r9"),
            json!({"http": {"request": {"path": "/z"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["id"], "r9");
    assert_eq!(b["meta"]["revision"], 1);
    let (s, _) = api.get(&format!("{base}/r9")).await;
    assert_eq!(s, StatusCode::OK);

    assert_error(
        &api.put(&format!("{base}/r1"), json!({"id": "other", "http": {}}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/id"),
    );
    let (s, _) = api.get(&format!("{base}/other")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a refused PUT creates nothing");
    assert_error(
        &api.put(
            "/api/v1/teams/pay/services/zzz/routes/r1",
            json!({"http": {}}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (s, b) = api.delete(&format!("{base}/r1")).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_error(
        &api.get(&format!("{base}/r1")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.delete(&format!("{base}/r1")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let mut ids = api.route_ids("pay", "api").await;
    ids.sort();
    let mut expected = vec![auto_id, "r9".to_string()];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn changes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let app = open_app(dir.path()).await;
        let router = standin_admin::router(app);
        for (uri, body) in [
            ("/api/v1/teams", json!({"slug": "pay"})),
            ("/api/v1/teams/pay/services", json!({"slug": "api"})),
            (
                "/api/v1/teams/pay/services/api/routes",
                json!({"id": "r1", "http": {}}),
            ),
        ] {
            let (s, b) = call(&router, "POST", uri, Some(&body.to_string()), None).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
        }
    }
    let router = standin_admin::router(open_app(dir.path()).await);
    let (s, b) = call(
        &router,
        "GET",
        "/api/v1/teams/pay/services/api/routes/r1",
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, h) = call(&router, "GET", "/api/v1/history", None, None).await;
    assert_eq!(seqs(&h), [3, 2, 1]);
}

// ---------------------------------------------------------------------------------------
// 2. Replacing all routes of a service
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn replace_routes_creates_updates_and_deletes_in_one_batch() {
    let api = api().await;
    api.seed().await;
    let base = "/api/v1/teams/pay/services/api/routes";
    api.route(
        "pay",
        "api",
        json!({"id": "r2", "http": {"request": {"path": "/b"}}}),
    )
    .await;
    api.route(
        "pay",
        "api",
        json!({"id": "r3", "http": {"request": {"path": "/c"}}}),
    )
    .await;
    let (_, r1_before) = api.get(&format!("{base}/r1")).await;
    let events_before = api.history().await.len();

    let (s, b) = api
        .as_actor(
            "carol",
            "PUT",
            base,
            Some(json!([
                {"id": "r1", "name": "one", "http": {"request": {"path": "/a"}}},
                {"id": "r4", "http": {"request": {"path": "/d"}}},
                {"name": "no id", "http": {"request": {"path": "/e"}}},
            ])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let out = b.as_array().expect("array of records");
    assert_eq!(out.len(), 3);
    assert_eq!(out[0]["id"], "r1");
    assert_eq!(out[0]["name"], "one");
    assert_eq!(out[0]["meta"]["revision"], 2, "r1 was updated");
    assert_eq!(
        out[0]["meta"]["createdSeq"],
        r1_before["meta"]["createdSeq"]
    );
    assert_eq!(out[1]["id"], "r4");
    assert_eq!(out[1]["meta"]["revision"], 1, "r4 was created");
    let assigned = out[2]["id"].as_str().expect("assigned id").to_string();
    assert!(!assigned.is_empty());
    assert_eq!(out[2]["meta"]["revision"], 1);
    for r in out {
        assert_eq!(r["meta"]["updatedBy"], "carol");
    }

    let ids: BTreeSet<String> = api.route_ids("pay", "api").await.into_iter().collect();
    let expected: BTreeSet<String> = ["r1".to_string(), "r4".to_string(), assigned.clone()]
        .into_iter()
        .collect();
    assert_eq!(ids, expected);
    for gone in ["r2", "r3"] {
        let (s, _) = api.get(&format!("{base}/{gone}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{gone} was not listed");
    }

    // One batch: 2 deletes, 1 update, 2 creates, all by carol.
    let history = api.history().await;
    let batch_events = &history[..history.len() - events_before];
    assert_eq!(batch_events.len(), 5, "{batch_events:?}");
    let batch = &batch_events[0]["batch"];
    let mut kinds: Vec<(String, String)> = batch_events
        .iter()
        .map(|e| {
            assert_eq!(&e["batch"], batch, "one batch id for the whole replace");
            assert_eq!(e["actor"], "carol");
            assert_eq!(e["entity"], "route");
            (
                e["key"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    let mut expected = vec![
        ("pay/api/r1".to_string(), "update".to_string()),
        ("pay/api/r2".to_string(), "delete".to_string()),
        ("pay/api/r3".to_string(), "delete".to_string()),
        ("pay/api/r4".to_string(), "create".to_string()),
        (format!("pay/api/{assigned}"), "create".to_string()),
    ];
    expected.sort();
    assert_eq!(kinds, expected);

    // An empty list deletes everything.
    let (s, b) = api.put(base, json!([])).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b, json!([]));
    assert!(api.route_ids("pay", "api").await.is_empty());

    assert_error(
        &api.put("/api/v1/teams/pay/services/zzz/routes", json!([]))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}

#[tokio::test]
async fn replace_routes_with_an_invalid_route_changes_nothing() {
    let api = api().await;
    api.seed().await;
    let base = "/api/v1/teams/pay/services/api/routes";
    api.route(
        "pay",
        "api",
        json!({"id": "r2", "http": {"request": {"path": "/b"}}}),
    )
    .await;
    let (_, routes_before) = api.get(base).await;
    let history_before = api.history().await;

    // The third route's regex does not compile; the first would update r1 and the
    // second create r5, and r2 would be deleted.
    let bad = json!([
        {"id": "r1", "name": "changed", "http": {}},
        {"id": "r5", "http": {}},
        {"id": "r6", "http": {"request": {"headers": {"X-A": {"regex": "(["}}}}},
    ]);
    let got = api.put(base, bad).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/2/http/request/headers/X-A/regex"),
    );
    assert!(
        got.1["message"].as_str().unwrap().contains("invalid regex"),
        "{}",
        got.1
    );

    // A path regex: the pointer is under /2/http/request/path.
    let got = api
        .put(
            base,
            json!([{"id": "r1", "http": {}}, {"id": "r5", "http": {}},
                   {"id": "r6", "http": {"request": {"path": {"regex": "("}}}}]),
        )
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", None);
    let pointer = got.1["pointer"].as_str().unwrap();
    assert!(pointer.starts_with("/2/http/request/path"), "{pointer}");

    // Validation (not compilation) failures and duplicate ids also point into the list.
    assert_error(
        &api.put(base, json!([{"id": "r1", "http": {}}, {"id": "r5"}]))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/1/http"),
    );
    assert_error(
        &api.put(
            base,
            json!([{"id": "r1", "http": {}}, {"id": "x", "http": {}}, {"id": "r1", "http": {}}]),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/2/id"),
    );
    assert_error(
        &api.put(
            base,
            json!([{"id": "r1", "http": {}}, {"id": "a b", "http": {}}]),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/1/id"),
    );
    assert_error(
        &api.put(
            base,
            json!([{"id": "r1", "http": {}}, {"http": {"request": {"metod": "GET"}}}]),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/1/http/request/metod"),
    );
    assert_error(
        &api.put(base, json!({"id": "r1", "http": {}})).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/"),
    );

    let (_, routes_after) = api.get(base).await;
    assert_eq!(routes_after, routes_before, "no route changed");
    assert_eq!(api.history().await, history_before, "no event was recorded");
    let (_, health) = api.get("/api/v1/health").await;
    assert_eq!(health["routes"], 2);
}

// ---------------------------------------------------------------------------------------
// 3. Bad input
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn syntax_errors_give_line_and_column() {
    let api = api().await;
    let got = api
        .raw("POST", "/api/v1/teams", "{\n  \"slug\": \"x\",\n  oops\n}")
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json", None);
    assert_eq!(got.1["line"], 3, "{}", got.1);
    assert_eq!(got.1["column"], 3, "{}", got.1);
    assert!(got.1.get("pointer").is_none(), "{}", got.1);
    let message = got.1["message"].as_str().unwrap();
    assert!(
        !message.contains("at line"),
        "position is in fields: {message}"
    );

    for body in ["", "{\"slug\": \"x\"", "{\"slug\": \"x\"} trailing", "nope"] {
        let got = api.raw("POST", "/api/v1/teams", body).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json", None);
        assert!(got.1["line"].is_u64(), "{body:?}: {}", got.1);
    }
    let (_, teams) = api.get("/api/v1/teams").await;
    assert_eq!(teams, json!([]));
}

#[tokio::test]
async fn bad_input_is_refused_with_a_pointer_and_changes_nothing() {
    let api = api().await;
    api.seed().await;
    api.service("pay", json!({"slug": "web", "hosts": ["web.example"]}))
        .await;
    let history_before = api.history().await;

    let teams = "/api/v1/teams";
    let services = "/api/v1/teams/pay/services";
    let routes = "/api/v1/teams/pay/services/api/routes";
    let r1 = "/api/v1/teams/pay/services/api/routes/r1";
    // (method, uri, body, status, error, pointer, text the message contains)
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, u16, &str, &str, &str)] = &[
        // Unknown fields point at the field.
        ("POST", teams, r#"{"slug":"x","nmae":"X"}"#, 400, "invalid_field", "/nmae", "unknown field `nmae`"),
        ("POST", services, r#"{"slug":"x","basepath":"/x"}"#, 400, "invalid_field", "/basepath", "unknown field `basepath`"),
        ("POST", routes, r#"{"http":{"request":{"metod":"GET"}}}"#, 400, "invalid_field", "/http/request/metod", "unknown field `metod`"),
        ("POST", routes, r#"{"http":{"response":{"body":{"json":{}},"statsu":1}}}"#, 400, "invalid_field", "/http/response/statsu", "unknown field `statsu`"),
        ("POST", routes, r#"{"http":{"request":{"body":{"jsonPath":{"path":"$.a","eq":1}}}}}"#, 400, "invalid_field", "/http/request/body/jsonPath/eq", "unknown field `eq`"),
        // Wrong types point at the value.
        ("POST", teams, r#"{"slug":5}"#, 400, "invalid_field", "/slug", "invalid type"),
        ("POST", teams, r#"{"slug":"x","tags":"a"}"#, 400, "invalid_field", "/tags", "invalid type"),
        ("POST", teams, r#"{"slug":"x","tags":["a",1]}"#, 400, "invalid_field", "/tags/1", "invalid type"),
        ("POST", services, r#"{"slug":"x","defaultDelayMs":-1}"#, 400, "invalid_field", "/defaultDelayMs", ""),
        ("POST", routes, r#"{"http":{"response":{"status":"200"}}}"#, 400, "invalid_field", "/http/response/status", "invalid type"),
        ("POST", routes, r#"{"priority":"high","http":{}}"#, 400, "invalid_field", "/priority", "invalid type"),
        ("POST", routes, r#"{"http":{"request":{"headers":{"X-A":{"present":"yes"}}}}}"#, 400, "invalid_field", "/http/request/headers/X-A/present", "expected a boolean"),
        ("POST", routes, r#"{"http":{"request":{"body":{"jsonPath":{"path":1}}}}}"#, 400, "invalid_field", "/http/request/body/jsonPath/path", "invalid type"),
        ("POST", routes, r#"{"http":{"request":{"method":{"equals":"GET","regex":"G"}}}}"#, 400, "invalid_field", "/http/request/method", "exactly one key"),
        ("POST", teams, r#"{"name":"x"}"#, 400, "invalid_field", "/slug", "required"),
        ("POST", teams, r#""pay""#, 400, "invalid_field", "/", "invalid type"),
        // Matchers that do not compile name the field and say why.
        ("POST", routes, r#"{"http":{"request":{"headers":{"X-A":{"regex":"(["}}}}}"#, 400, "invalid_field", "/http/request/headers/X-A/regex", "invalid regex"),
        ("POST", routes, r#"{"http":{"request":{"method":{"regex":"("}}}}"#, 400, "invalid_field", "/http/request/method/regex", "invalid regex"),
        ("POST", routes, r#"{"http":{"request":{"query":{"q":{"not":{"regex":"("}}}}}}"#, 400, "invalid_field", "/http/request/query/q/not/regex", "invalid regex"),
        ("POST", routes, r#"{"http":{"request":{"cookies":{"a/b":{"anyOf":["x",{"regex":")"}]}}}}}"#, 400, "invalid_field", "/http/request/cookies/a~1b/anyOf/1/regex", "invalid regex"),
        ("POST", routes, r#"{"http":{"request":{"body":{"regex":"("}}}}"#, 400, "invalid_field", "/http/request/body/regex", "invalid regex"),
        ("POST", routes, r#"{"http":{"request":{"body":{"allOf":[{"contains":"a"},{"regex":"("}]}}}}"#, 400, "invalid_field", "/http/request/body/allOf/1/regex", "invalid regex"),
        ("POST", routes, r#"{"http":{"request":{"body":{"jsonPath":{"path":"$$"}}}}}"#, 400, "invalid_field", "/http/request/body/jsonPath/path", "invalid JSONPath"),
        ("POST", routes, r#"{"http":{"request":{"body":{"not":{"jsonPath":{"path":"$.["}}}}}}"#, 400, "invalid_field", "/http/request/body/not/jsonPath/path", "invalid JSONPath"),
        ("POST", routes, r#"{"http":{"request":{"body":{"jsonSchema":{"type":"nope"}}}}}"#, 400, "invalid_field", "/http/request/body/jsonSchema", "invalid JSON Schema"),
        ("POST", routes, r#"{"http":{"request":{"path":"/a/**/b"}}}"#, 400, "invalid_field", "/http/request/path", "last segment"),
        ("POST", routes, r#"{"http":{"request":{"path":"/a{b}"}}}"#, 400, "invalid_field", "/http/request/path", "parameter"),
        ("POST", routes, r#"{"http":{"request":{"headers":{"bad header":"x"}}}}"#, 400, "invalid_field", "/http/request/headers/bad header", "not a valid header name"),
        ("POST", routes, r#"{"http":{"response":{"status":42}}}"#, 400, "invalid_field", "/http/response/status", ""),
        ("PUT", r1, r#"{"http":{"request":{"body":{"jsonSchema":{"type":"nope"}}}}}"#, 400, "invalid_field", "/http/request/body/jsonSchema", "invalid JSON Schema"),
        // Definition rules.
        ("POST", routes, r#"{"name":"no protocol"}"#, 400, "invalid_field", "/http", "protocol"),
        ("POST", routes, r#"{"id":"a/b","http":{}}"#, 400, "invalid_field", "/id", "not a route id"),
        ("POST", routes, r#"{"id":"r2","tags":[""],"http":{}}"#, 400, "invalid_field", "/tags/0", "tag"),
        ("POST", routes, r#"{"http":{"response":{"delayMs":600001}}}"#, 400, "invalid_field", "/http/response/delayMs", "600000"),
        ("POST", teams, r#"{"slug":"Pay Team"}"#, 400, "invalid_field", "/slug", "lowercase"),
        ("POST", teams, r#"{"slug":"-pay"}"#, 400, "invalid_field", "/slug", "start or end"),
        ("POST", teams, r#"{"slug":""}"#, 400, "invalid_field", "/slug", "1 to 63"),
        ("POST", services, r#"{"slug":"API"}"#, 400, "invalid_field", "/slug", "lowercase"),
        ("POST", services, r#"{"slug":"x","basePath":"x"}"#, 400, "invalid_field", "/basePath", "start with '/'"),
        ("POST", services, r#"{"slug":"x","basePath":"/a?b"}"#, 400, "invalid_field", "/basePath", "plain path"),
        ("POST", services, r#"{"slug":"x","hosts":["ok.example","bad host"]}"#, 400, "invalid_field", "/hosts/1", "host name"),
        ("POST", services, r#"{"slug":"x","upstream":"ftp://a"}"#, 400, "invalid_field", "/upstream", "http"),
        ("POST", services, r#"{"slug":"x","defaultDelayMs":600001}"#, 400, "invalid_field", "/defaultDelayMs", "600000"),
        ("PUT", "/api/v1/teams/pay", r#"{"slug":"pay2"}"#, 400, "invalid_field", "/slug", "cannot be renamed"),
        ("PUT", "/api/v1/teams/pay/services/api", r#"{"slug":"api2"}"#, 400, "invalid_field", "/slug", "cannot be renamed"),
        ("PUT", r1, r#"{"id":"r2","http":{}}"#, 400, "invalid_field", "/id", "differs"),
        // Duplicates.
        ("POST", teams, r#"{"slug":"pay"}"#, 409, "conflict", "", "already exists"),
        ("POST", services, r#"{"slug":"api"}"#, 409, "conflict", "", "already exists"),
        ("POST", routes, r#"{"id":"r1","http":{}}"#, 409, "conflict", "", "already exists"),
        // Services that would be served at the same place.
        ("POST", services, r#"{"slug":"x","basePath":"/pay/api/"}"#, 409, "conflict", "", "base path /pay/api"),
        ("PUT", "/api/v1/teams/pay/services/web", r#"{"slug":"web","basePath":"/pay/api"}"#, 409, "conflict", "", "base path /pay/api"),
        ("POST", services, r#"{"slug":"x","hosts":["WEB.example"]}"#, 409, "conflict", "", "web.example"),
    ];
    let mut failures = Vec::new();
    for &(method, uri, body, status, error, pointer, contains) in cases {
        let (s, b) = api.raw(method, uri, body).await;
        let ok = s.as_u16() == status
            && b["error"] == error
            && (pointer.is_empty() && b.get("pointer").is_none() || b["pointer"] == pointer)
            && b["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty() && m.contains(contains));
        if !ok {
            failures.push(format!(
                "{method} {uri} {body}\n  expected {status} {error} {pointer:?} ~{contains:?}\n  got      {s} {b}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    assert_eq!(
        api.history().await,
        history_before,
        "no refused request left a change behind"
    );
    let (_, r) = api.get(r1).await;
    assert_eq!(r["meta"]["revision"], 1);
}

#[tokio::test]
async fn the_actor_header_is_checked() {
    let api = api().await;
    for bad in ["   ", "Jos\u{e9}", &"x".repeat(201)] {
        let got = api
            .as_actor(bad, "POST", "/api/v1/teams", Some(json!({"slug": "x"})))
            .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_header", None);
    }
    let (s, b) = api
        .as_actor(
            "  eve  ",
            "POST",
            "/api/v1/teams",
            Some(json!({"slug": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["meta"]["updatedBy"], "eve", "the actor is trimmed");
    let long = "y".repeat(200);
    let (s, b) = api
        .as_actor(
            &long,
            "PUT",
            "/api/v1/teams/x",
            Some(json!({"slug": "x", "memo": "changed"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "200 characters are allowed: {b}");
    let actors = strings(&Value::Array(api.history().await), "actor");
    assert_eq!(
        actors,
        [long.as_str(), "eve"],
        "refused requests changed nothing"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Deleting a team
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_team_with_services_needs_cascade() {
    let api = api().await;
    api.seed().await;
    api.service("pay", json!({"slug": "web"})).await;
    api.route("pay", "web", json!({"id": "w1", "http": {}}))
        .await;
    api.team("ops").await;
    api.service("ops", json!({"slug": "svc"})).await;
    let before = api.history().await;

    let got = api.delete("/api/v1/teams/pay").await;
    assert_error(&got, StatusCode::CONFLICT, "conflict", None);
    let message = got.1["message"].as_str().unwrap();
    assert!(message.contains("cascade"), "{message}");
    assert!(
        message.contains("api") && message.contains("web"),
        "{message}"
    );
    let explicit = api.delete("/api/v1/teams/pay?cascade=false").await;
    assert_error(&explicit, StatusCode::CONFLICT, "conflict", None);
    assert_eq!(
        api.history().await,
        before,
        "a refused delete changes nothing"
    );
    let (s, _) = api.get("/api/v1/teams/pay/services/api/routes/r1").await;
    assert_eq!(s, StatusCode::OK);

    let (s, b) = api
        .as_actor("alice", "DELETE", "/api/v1/teams/pay?cascade=true", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    for uri in [
        "/api/v1/teams/pay",
        "/api/v1/teams/pay/services",
        "/api/v1/teams/pay/services/api",
        "/api/v1/teams/pay/services/web",
        "/api/v1/teams/pay/services/api/routes",
        "/api/v1/teams/pay/services/api/routes/r1",
    ] {
        let (s, b) = api.get(uri).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}: {b}");
    }
    let (_, services) = api.get("/api/v1/services").await;
    assert_eq!(strings(&services, "team"), ["ops"]);
    let (_, health) = api.get("/api/v1/health").await;
    assert_eq!(
        (&health["teams"], &health["services"], &health["routes"]),
        (&json!(1), &json!(1), &json!(0))
    );

    // One batch: both routes, both services and the team, in that order of dependency.
    let (_, events) = api.get("/api/v1/history?key=pay&limit=5").await;
    let events = events.as_array().unwrap();
    assert!(
        events
            .iter()
            .all(|e| e["kind"] == "delete" && e["actor"] == "alice")
    );
    assert!(events.iter().all(|e| e["batch"] == events[0]["batch"]));
    let mut keys: Vec<&str> = events.iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys[0], "pay", "the team goes last (newest)");
    keys.sort();
    assert_eq!(
        keys,
        ["pay", "pay/api", "pay/api/r1", "pay/web", "pay/web/w1"]
    );

    // A team without services needs no cascade; the slug can be reused afterwards.
    let (s, _) = api.delete("/api/v1/teams/ops/services/svc").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api.delete("/api/v1/teams/ops").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    api.team("pay").await;
    let (_, b) = api.get("/api/v1/teams/pay/services").await;
    assert_eq!(b, json!([]), "a recreated team starts empty");
}

// ---------------------------------------------------------------------------------------
// 5. Lists and search
// ---------------------------------------------------------------------------------------

/// Three teams: pay (api with 2 routes, web with none), ops (svc with 1 route), empty.
async fn landscape(api: &Api) {
    let (s, b) = api
        .post(
            "/api/v1/teams",
            json!({"slug": "pay", "name": "Payments", "memo": "Handles the money"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = api
        .post("/api/v1/teams", json!({"slug": "ops", "tags": ["beta"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    api.team("empty").await;
    api.service("pay", json!({"slug": "api", "name": "Payment API"}))
        .await;
    api.service("pay", json!({"slug": "web", "basePath": "/w/"}))
        .await;
    api.service(
        "ops",
        json!({"slug": "svc", "memo": "The LEDGER service", "tags": ["stable"]}),
    )
    .await;
    api.route(
        "pay",
        "api",
        json!({"id": "get-ledger", "name": "Get ledger", "tags": ["beta"], "http": {}}),
    )
    .await;
    api.route(
        "pay",
        "api",
        json!({"id": "r2", "memo": "refunds", "http": {"request": {"path": "/refunds"}}}),
    )
    .await;
    api.route("ops", "svc", json!({"id": "ping", "http": {}}))
        .await;
}

fn by<'a>(list: &'a Value, field: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[field] == value)
        .unwrap_or_else(|| panic!("no {field}={value} in {list}"))
}

#[tokio::test]
async fn lists_carry_counts_and_base_paths() {
    let api = api().await;
    landscape(&api).await;

    let (s, teams) = api.get("/api/v1/teams").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(teams.as_array().unwrap().len(), 3);
    for (slug, services, routes) in [("pay", 2, 2), ("ops", 1, 1), ("empty", 0, 0)] {
        let t = by(&teams, "slug", slug);
        assert_eq!(t["serviceCount"], services, "{t}");
        assert_eq!(t["routeCount"], routes, "{t}");
        assert_eq!(t["meta"]["revision"], 1, "records are flattened in: {t}");
    }
    assert_eq!(by(&teams, "slug", "pay")["name"], "Payments");

    let (s, all) = api.get("/api/v1/services").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let svc = by(&all, "slug", "svc");
    assert_eq!(svc["team"], "ops");
    assert_eq!(svc["effectiveBasePath"], "/ops/svc");
    assert_eq!(svc["routeCount"], 1);

    let (s, pay) = api.get("/api/v1/teams/pay/services").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(strings(&pay, "slug"), ["api", "web"]);
    let api_svc = by(&pay, "slug", "api");
    assert_eq!(
        api_svc["effectiveBasePath"], "/pay/api",
        "default /{{team}}/{{service}}"
    );
    assert!(api_svc.get("basePath").is_none(), "{api_svc}");
    assert_eq!(api_svc["routeCount"], 2);
    assert_eq!(api_svc["name"], "Payment API");
    let web = by(&pay, "slug", "web");
    assert_eq!(web["basePath"], "/w");
    assert_eq!(web["effectiveBasePath"], "/w");
    assert_eq!(web["routeCount"], 0);

    let (s, b) = api.get("/api/v1/teams/empty/services").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!([]));
    assert_error(
        &api.get("/api/v1/teams/nope/services").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    // Counts follow changes.
    let (s, _) = api.delete("/api/v1/teams/pay/services/api/routes/r2").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, teams) = api.get("/api/v1/teams").await;
    assert_eq!(by(&teams, "slug", "pay")["routeCount"], 1);
    let (_, pay) = api.get("/api/v1/teams/pay/services").await;
    assert_eq!(by(&pay, "slug", "api")["routeCount"], 1);

    let (s, health) = api.get("/api/v1/health").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        health,
        json!({"status": "ok", "teams": 3, "services": 3, "routes": 2})
    );
}

#[tokio::test]
async fn search_finds_by_text_and_tag_across_teams() {
    let api = api().await;
    landscape(&api).await;
    let search = |q: &'static str| {
        let api = &api;
        async move {
            let (s, b) = api.get(&format!("/api/v1/search?{q}")).await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            let keys = |kind: &str, f: &dyn Fn(&Value) -> String| -> Vec<String> {
                b[kind].as_array().unwrap().iter().map(f).collect()
            };
            (
                keys("teams", &|t| t["slug"].as_str().unwrap().to_string()),
                keys("services", &|s| {
                    format!(
                        "{}/{}",
                        s["team"].as_str().unwrap(),
                        s["slug"].as_str().unwrap()
                    )
                }),
                keys("routes", &|r| {
                    format!(
                        "{}/{}/{}",
                        r["team"].as_str().unwrap(),
                        r["service"].as_str().unwrap(),
                        r["id"].as_str().unwrap()
                    )
                }),
            )
        }
    };
    type Hits = (Vec<String>, Vec<String>, Vec<String>);
    fn hits(t: &[&str], s: &[&str], r: &[&str]) -> Hits {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        (v(t), v(s), v(r))
    }

    // Name, memo (case-insensitive) and slug/id, across teams.
    assert_eq!(
        search("q=ledger").await,
        hits(&[], &["ops/svc"], &["pay/api/get-ledger"])
    );
    assert_eq!(
        search("q=LeDgEr").await,
        hits(&[], &["ops/svc"], &["pay/api/get-ledger"])
    );
    assert_eq!(search("q=money").await, hits(&["pay"], &[], &[]));
    assert_eq!(search("q=refund").await, hits(&[], &[], &["pay/api/r2"]));
    assert_eq!(search("q=payment").await, hits(&["pay"], &["pay/api"], &[]));
    assert_eq!(search("q=zzz").await, hits(&[], &[], &[]));
    // Tags filter, alone and with text.
    assert_eq!(
        search("tag=beta").await,
        hits(&["ops"], &[], &["pay/api/get-ledger"])
    );
    assert_eq!(
        search("q=ledger&tag=beta").await,
        hits(&[], &[], &["pay/api/get-ledger"])
    );
    assert_eq!(
        search("q=ledger&tag=stable").await,
        hits(&[], &["ops/svc"], &[])
    );
    assert_eq!(
        search("tag=bet").await,
        hits(&[], &[], &[]),
        "tags match whole"
    );
    // Free text also finds tags, in part.
    assert_eq!(
        search("q=bet").await,
        hits(&["ops"], &[], &["pay/api/get-ledger"])
    );
    // Empty text matches all; limit caps each kind.
    let (t, s, r) = search("q=").await;
    assert_eq!((t.len(), s.len(), r.len()), (3, 3, 3));
    let (t, s, r) = search("limit=1").await;
    assert_eq!((t.len(), s.len(), r.len()), (1, 1, 1));
}

// ---------------------------------------------------------------------------------------
// 6. Route order
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn routes_are_listed_in_match_order() {
    let api = api().await;
    api.team("t").await;
    api.service("t", json!({"slug": "s"})).await;
    // Created in this order; ids are chosen so that neither creation order nor id order
    // is the match order.
    let defs = [
        json!({"id": "m-any", "http": {}}),
        json!({"id": "k-param-old", "http": {"request": {"path": "/users/{id}"}}}),
        json!({"id": "b-lit", "http": {"request": {"path": "/users/me"}}}),
        json!({"id": "z-prio", "priority": 5, "http": {"request": {"path": "/zzz/**"}}}),
        json!({"id": "a-param-new", "http": {"request": {"path": "/users/{id}"}}}),
        json!({"id": "c-regex", "http": {"request": {"path": {"regex": "/r.*"}}}}),
        json!({"id": "a-disabled", "priority": 100, "enabled": false, "http": {}}),
        json!({"id": "d-short", "http": {"request": {"path": "/users"}}}),
        json!({"id": "n-neg", "priority": -1, "http": {"request": {"path": "/users/me"}}}),
    ];
    for d in defs {
        api.route("t", "s", d).await;
    }
    let expected = [
        "z-prio",      // highest priority, however unspecific
        "b-lit",       // /users/me: literal beats parameter
        "k-param-old", // /users/{id}, older
        "a-param-new", // /users/{id}, newer
        "d-short",     // /users: a parameter segment beats the end of the path
        "c-regex",     // regexes after patterns
        "m-any",       // no path condition
        "n-neg",       // negative priority
        "a-disabled",  // disabled routes last, whatever their priority
    ];
    assert_eq!(api.route_ids("t", "s").await, expected);

    // Updating the older twin keeps its age; re-enabling puts a route in its place.
    let (s, _) = api
        .put(
            "/api/v1/teams/t/services/s/routes/k-param-old",
            json!({"name": "updated", "http": {"request": {"path": "/users/{id}"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .put(
            "/api/v1/teams/t/services/s/routes/a-disabled",
            json!({"priority": 100, "http": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let ids = api.route_ids("t", "s").await;
    assert_eq!(ids[0], "a-disabled", "{ids:?}");
    assert_eq!(
        &ids[1..],
        [
            "z-prio",
            "b-lit",
            "k-param-old",
            "a-param-new",
            "d-short",
            "c-regex",
            "m-any",
            "n-neg"
        ]
    );
    // The table the data plane serves agrees.
    let table = api.app.table().load_full();
    let served: Vec<String> = table
        .services()
        .iter()
        .find(|s| s.info.team == "t" && s.info.slug == "s")
        .expect("service is served")
        .routes()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(served, ids);
}

// ---------------------------------------------------------------------------------------
// 7. History
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn history_records_who_changed_what() {
    let api = api().await;
    let routes = "/api/v1/teams/pay/services/api/routes";
    let steps: Vec<(Option<&str>, &str, String, Option<Value>)> = vec![
        (
            Some("alice"),
            "POST",
            "/api/v1/teams".into(),
            Some(json!({"slug": "pay"})),
        ),
        (
            Some("alice"),
            "POST",
            "/api/v1/teams".into(),
            Some(json!({"slug": "payx"})),
        ),
        (
            None,
            "POST",
            "/api/v1/teams/pay/services".into(),
            Some(json!({"slug": "api"})),
        ),
        (
            None,
            "POST",
            "/api/v1/teams/payx/services".into(),
            Some(json!({"slug": "api"})),
        ),
        (
            Some("bob"),
            "POST",
            routes.into(),
            Some(json!({"id": "r1", "name": "first", "http": {}})),
        ),
        (
            Some("carol"),
            "PUT",
            format!("{routes}/r1"),
            Some(json!({"name": "second", "http": {}})),
        ),
        (Some("dave"), "DELETE", format!("{routes}/r1"), None),
    ];
    for (actor, method, uri, body) in steps {
        let body = body.map(|b| b.to_string());
        let (s, b) = call(&api.router, method, &uri, body.as_deref(), actor).await;
        assert!(s.is_success(), "{method} {uri}: {s} {b}");
    }

    let (s, h) = api.get("/api/v1/history?key=pay/api").await;
    assert_eq!(s, StatusCode::OK, "{h}");
    let events = h.as_array().unwrap();
    let summary: Vec<(&str, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["kind"].as_str().unwrap(),
                e["entity"].as_str().unwrap(),
                e["key"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("dave", "delete", "route", "pay/api/r1"),
            ("carol", "update", "route", "pay/api/r1"),
            ("bob", "create", "route", "pay/api/r1"),
            ("anonymous", "create", "service", "pay/api"),
        ],
        "newest first; payx/api and the team itself are not under pay/api"
    );
    let s = seqs(&h);
    assert!(s.windows(2).all(|w| w[0] > w[1]), "{s:?}");

    let (delete, update, create) = (&events[0], &events[1], &events[2]);
    assert_eq!(delete["after"], Value::Null);
    assert_eq!(delete["before"]["name"], "second");
    assert_eq!(update["before"]["name"], "first");
    assert_eq!(update["before"]["meta"]["revision"], 1);
    assert_eq!(update["after"]["name"], "second");
    assert_eq!(update["after"]["meta"]["revision"], 2);
    assert_eq!(update["after"]["meta"]["updatedBy"], "carol");
    assert_eq!(create["before"], Value::Null);
    assert_eq!(create["after"]["id"], "r1");
    assert_eq!(create["after"]["team"], "pay");
    assert!(
        create["at"].as_str().is_some_and(|t| t.contains('T')),
        "{create}"
    );
    assert_ne!(
        create["batch"], update["batch"],
        "separate requests, separate batches"
    );

    // key=pay takes whole segments: payx is not included.
    let (_, h) = api.get("/api/v1/history?key=pay").await;
    let keys = strings(&h, "key");
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(
        keys.iter().all(|k| k == "pay" || k.starts_with("pay/")),
        "{keys:?}"
    );

    // Entity filter.
    let (_, h) = api.get("/api/v1/history?entity=route").await;
    assert_eq!(strings(&h, "entity"), ["route", "route", "route"]);
    let (_, h) = api.get("/api/v1/history?entity=team").await;
    assert_eq!(strings(&h, "key"), ["payx", "pay"]);
    let (_, h) = api.get("/api/v1/history?entity=service&key=payx").await;
    assert_eq!(strings(&h, "key"), ["payx/api"]);
    assert_error(
        &api.get("/api/v1/history?entity=bogus").await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/entity"),
    );

    // Paging.
    let (_, all) = api.get("/api/v1/history").await;
    let all = seqs(&all);
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "{all:?}");
    let (_, page1) = api.get("/api/v1/history?limit=3").await;
    assert_eq!(seqs(&page1), all[..3]);
    let (_, page2) = api
        .get(&format!("/api/v1/history?limit=3&before={}", all[2]))
        .await;
    assert_eq!(seqs(&page2), all[3..6]);
    let (_, page3) = api
        .get(&format!("/api/v1/history?limit=3&before={}", all[5]))
        .await;
    assert_eq!(seqs(&page3), all[6..]);
    let (_, newer) = api.get(&format!("/api/v1/history?after={}", all[2])).await;
    assert_eq!(seqs(&newer), all[..2]);
    let (_, window) = api
        .get(&format!(
            "/api/v1/history?after={}&before={}",
            all[5], all[1]
        ))
        .await;
    assert_eq!(seqs(&window), all[2..5]);
    let (_, none) = api.get("/api/v1/history?limit=0").await;
    assert_eq!(none, json!([]));
    let (_, newest) = api.get(&format!("/api/v1/history?after={}", all[0])).await;
    assert_eq!(newest, json!([]));
}

// ---------------------------------------------------------------------------------------
// 8. Journal
// ---------------------------------------------------------------------------------------

fn entry(
    service: &str,
    method: &str,
    path: &str,
    status: u16,
    route: Option<&str>,
) -> JournalEntry {
    let mut e = JournalEntry::example(service, status);
    e.method = method.to_string();
    e.relative_path = path.to_string();
    e.path = if service.is_empty() {
        path.to_string()
    } else {
        format!("/{service}{path}")
    };
    e.matched_route = route.map(Arc::from);
    e
}

/// Five entries, seq 1 to 5.
/// Creates the services the recorded entries belong to: the journal API answers only
/// for services that exist.
async fn journal_services(app: &App) {
    for (team, service) in [("pay", "api"), ("ops", "svc")] {
        app.change("t", |d| {
            if !d.catalog().teams.contains_key(team) {
                d.create_team(serde_json::from_value(json!({"slug": team})).unwrap())?;
            }
            d.create_service(
                team,
                serde_json::from_value(json!({"slug": service})).unwrap(),
            )
        })
        .await
        .unwrap();
    }
}

fn record_journal(app: &App) {
    let w = app.journal().writer();
    let mut e1 = entry("pay/api", "GET", "/users/1", 200, Some("r1"));
    e1.headers.insert("x-trace", "a".parse().unwrap());
    e1.query = Some("x=1".into());
    w.record(e1);
    let mut e2 = entry("pay/api", "POST", "/users", 201, Some("r2"));
    e2.body = Bytes::from_static(br#"{"name":"ann","age":3}"#);
    e2.body_size = e2.body.len();
    w.record(e2);
    let mut e3 = entry("pay/api", "GET", "/missing", 404, None);
    e3.body = Bytes::from_static(b"\xff");
    e3.body_size = 10;
    w.record(e3);
    w.record(entry("ops/svc", "GET", "/ping", 200, Some("p")));
    w.record(entry("", "GET", "/nowhere", 404, None));
}

#[tokio::test]
async fn journal_queries_and_stats() {
    let api = api().await;
    journal_services(&api.app).await;
    record_journal(&api.app);

    let (s, all) = api.get("/api/v1/journal").await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(seqs(&all), [5, 4, 3, 2, 1], "newest first");

    let find = |seq: u64| -> &Value {
        all.as_array()
            .unwrap()
            .iter()
            .find(|e| e["seq"] == seq)
            .unwrap()
    };
    let e1 = find(1);
    assert_eq!(e1["service"], "pay/api");
    assert_eq!(e1["protocol"], "http");
    assert_eq!(e1["status"], 200);
    assert_eq!(e1["matchedRoute"], "r1");
    assert_eq!(e1["request"]["method"], "GET");
    assert_eq!(e1["request"]["path"], "/pay/api/users/1");
    assert_eq!(e1["request"]["relativePath"], "/users/1");
    assert_eq!(e1["request"]["query"], "x=1");
    assert_eq!(e1["request"]["headers"]["x-trace"], json!(["a"]));
    assert_eq!(e1["request"]["body"], Value::Null);
    assert!(e1["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{e1}");
    let e2 = find(2);
    assert_eq!(e2["request"]["body"], r#"{"name":"ann","age":3}"#);
    assert_eq!(e2["request"]["bodyTruncated"], false);
    let e3 = find(3);
    assert_eq!(e3["matchedRoute"], Value::Null);
    assert_eq!(e3["request"]["body"], Value::Null);
    assert_eq!(e3["request"]["bodyBase64"], "/w==");
    assert_eq!(e3["request"]["bodySize"], 10);
    assert_eq!(e3["request"]["bodyTruncated"], true);
    assert_eq!(
        find(5)["service"],
        Value::Null,
        "unresolved requests have no service"
    );

    let cases: &[(&str, &[u64])] = &[
        ("service=pay/api", &[3, 2, 1]),
        ("service=pay%2Fapi", &[3, 2, 1]),
        ("service=ops/svc", &[4]),
        ("service=", &[5]),
        ("method=post", &[2]),
        ("service=pay/api&method=GET", &[3, 1]),
        ("status=404", &[5, 3]),
        ("status=200&service=pay/api", &[1]),
        ("matched=false", &[5, 3]),
        ("matched=true", &[4, 2, 1]),
        ("matched=true&service=pay/api", &[2, 1]),
        ("route=r1", &[1]),
        ("path=users", &[2, 1]),
        ("after=3", &[5, 4]),
        ("limit=2", &[5, 4]),
        ("limit=2&service=pay/api", &[3, 2]),
        ("limit=0", &[]),
    ];
    for (q, expected) in cases {
        let (s, b) = api.get(&format!("/api/v1/journal?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {b}");
        assert_eq!(seqs(&b), *expected, "{q}");
    }

    // A service that does not exist is a mistake, not an empty journal.
    let (s, b) = api.get("/api/v1/journal?service=nope/x").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert!(b["message"].as_str().unwrap().contains("nope/x"), "{b}");

    let (s, stats) = api.get("/api/v1/journal/stats").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        stats,
        json!({"recorded": 5, "dropped": 0, "evicted": 0, "retained": 5, "capacityPerService": 1000})
    );

    // Clearing one service leaves the others.
    let (s, b) = api.delete("/api/v1/journal?service=pay/api").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, b) = api.get("/api/v1/journal?service=pay/api").await;
    assert_eq!(b, json!([]));
    let (_, b) = api.get("/api/v1/journal").await;
    assert_eq!(seqs(&b), [5, 4]);
    let (_, stats) = api.get("/api/v1/journal/stats").await;
    assert_eq!(stats["retained"], 2);
    assert_eq!(
        stats["recorded"], 5,
        "recorded counts everything ever stored"
    );

    // Entries recorded after a clear get fresh, larger sequence numbers.
    api.app
        .journal()
        .writer()
        .record(entry("pay/api", "GET", "/again", 200, None));
    let (_, b) = api.get("/api/v1/journal?service=pay/api").await;
    assert_eq!(seqs(&b), [6]);

    // Forgetting every team's entries must be asked for by name.
    let (s, b) = api.delete("/api/v1/journal").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"], "invalid_query");
    assert_eq!(b["pointer"], "/service");
    let (_, b) = api.get("/api/v1/journal").await;
    assert_eq!(seqs(&b), [6, 5, 4], "nothing was cleared");
    let (s, b) = api.delete("/api/v1/journal?service=nope/x").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, _) = api.delete("/api/v1/journal?all=true").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, b) = api.get("/api/v1/journal").await;
    assert_eq!(b, json!([]));
    let (_, stats) = api.get("/api/v1/journal/stats").await;
    assert_eq!(stats["retained"], 0);
}

#[tokio::test]
async fn journal_verification() {
    let api = api().await;
    journal_services(&api.app).await;
    record_journal(&api.app);
    let verify = |body: Value| {
        let api = &api;
        async move {
            call(
                &api.router,
                "POST",
                "/api/v1/journal/verify",
                Some(&body.to_string()),
                None,
            )
            .await
        }
    };

    // (body, status, verified, count, message contains)
    let cases: Vec<(Value, StatusCode, bool, u64, &str)> = vec![
        (
            json!({"service": "pay/api", "request": {"method": "GET"}, "count": {"exactly": 2}}),
            StatusCode::OK,
            true,
            2,
            "expected exactly 2 matching request(s) to pay/api, found 2",
        ),
        (
            json!({"service": "pay/api", "request": {"method": "GET"}, "count": {"exactly": 3}}),
            StatusCode::NOT_ACCEPTABLE,
            false,
            2,
            "expected exactly 3 matching request(s) to pay/api, found 2",
        ),
        (
            json!({"service": "pay/api"}),
            StatusCode::OK,
            true,
            3,
            "at least 1",
        ),
        (
            json!({"service": "nope/x"}),
            StatusCode::NOT_ACCEPTABLE,
            false,
            0,
            "expected at least 1 matching request(s) to nope/x, found 0",
        ),
        (
            json!({"service": "pay/api", "request": {"path": "/users/{id}"}, "count": {"atLeast": 2}}),
            StatusCode::NOT_ACCEPTABLE,
            false,
            1,
            "at least 2",
        ),
        (
            json!({"service": "pay/api", "request": {"path": "/users/{id}"}, "count": {"atMost": 0}}),
            StatusCode::NOT_ACCEPTABLE,
            false,
            1,
            "at most 0",
        ),
        (
            json!({"service": "pay/api", "request": {"method": "DELETE"}, "count": {"atMost": 0}}),
            StatusCode::OK,
            true,
            0,
            "at most 0",
        ),
        (
            json!({"service": "pay/api", "request": {"body": {"jsonPartial": {"name": "ann"}}},
                   "count": {"atLeast": 1, "atMost": 1}}),
            StatusCode::OK,
            true,
            1,
            "between 1 and 1",
        ),
        (
            json!({"service": "pay/api", "request": {"headers": {"X-Trace": "a"}},
                   "count": {"exactly": 1}}),
            StatusCode::OK,
            true,
            1,
            "exactly 1",
        ),
        (
            json!({"service": "pay/api", "request": {"method": {"regex": "P.*"}},
                   "count": {"atLeast": 2, "atMost": 5}}),
            StatusCode::NOT_ACCEPTABLE,
            false,
            1,
            "between 2 and 5",
        ),
        (
            json!({"service": "", "request": {"path": "/nowhere"}, "count": {"exactly": 1}}),
            StatusCode::OK,
            true,
            1,
            "exactly 1",
        ),
    ];
    for (body, status, verified, count, message) in cases {
        let (s, b) = verify(body.clone()).await;
        assert_eq!(s, status, "{body}: {b}");
        assert_eq!(b["verified"], verified, "{body}: {b}");
        assert_eq!(b["count"], count, "{body}: {b}");
        let m = b["message"].as_str().unwrap_or_default();
        assert!(m.contains(message), "{body}: {m}");
    }

    let bad: Vec<(Value, &str)> = vec![
        (
            json!({"service": "pay/api", "count": {"exactly": 1, "atLeast": 1}}),
            "/count",
        ),
        (
            json!({"service": "pay/api", "count": {"exactly": 1, "atMost": 1}}),
            "/count",
        ),
        (
            json!({"service": "pay/api", "count": {"atLeast": 3, "atMost": 1}}),
            "/count",
        ),
        (
            json!({"service": "pay/api", "request": {"path": {"regex": "("}}}),
            "/request/path",
        ),
        (
            json!({"service": "pay/api", "request": {"headers": {"X-A": {"regex": "(["}}}}),
            "/request/headers/X-A/regex",
        ),
        (
            json!({"service": "pay/api", "request": {"body": {"jsonPath": {"path": "$$"}}}}),
            "/request/body/jsonPath/path",
        ),
        (
            json!({"service": "pay/api", "request": {"metod": "GET"}}),
            "/request/metod",
        ),
        (
            json!({"service": "pay/api", "count": {"exact": 1}}),
            "/count/exact",
        ),
        (json!({"service": "pay/api", "cnt": {}}), "/cnt"),
        (
            json!({"service": "pay/api", "count": {"atLeast": -1}}),
            "/count/atLeast",
        ),
        (json!({"request": {}}), "/"),
    ];
    for (body, pointer) in bad {
        let got = verify(body.clone()).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{body}: {}", got.1);
        assert_eq!(got.1["error"], "invalid_field", "{body}: {}", got.1);
        let p = got.1["pointer"].as_str().unwrap_or_default();
        assert!(
            p.starts_with(pointer),
            "{body}: pointer {p}, expected {pointer}"
        );
    }
    let got = api
        .raw("POST", "/api/v1/journal/verify", "{\"service\": ")
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json", None);

    // Verification reads the journal as it is now.
    let (s, _) = api.delete("/api/v1/journal?service=pay/api").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = verify(json!({"service": "pay/api", "count": {"exactly": 0}})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["count"], 0);
}

// ---------------------------------------------------------------------------------------
// 9. OpenAPI, docs, health
// ---------------------------------------------------------------------------------------

const EXPECTED_PATHS: &[(&str, &[&str])] = &[
    ("/api/v1/health", &["get"]),
    ("/api/v1/status", &["get"]),
    ("/api/v1/teams", &["get", "post"]),
    ("/api/v1/teams/{team}", &["delete", "get", "patch", "put"]),
    ("/api/v1/services", &["get"]),
    ("/api/v1/teams/{team}/services", &["get", "post"]),
    (
        "/api/v1/teams/{team}/services/{service}",
        &["delete", "get", "patch", "put"],
    ),
    (
        "/api/v1/teams/{team}/services/{service}/routes",
        &["get", "post", "put"],
    ),
    (
        "/api/v1/teams/{team}/services/{service}/routes/{id}",
        &["delete", "get", "patch", "put"],
    ),
    ("/api/v1/search", &["get"]),
    ("/api/v1/history", &["get"]),
    ("/api/v1/journal", &["delete", "get"]),
    ("/api/v1/journal/verify", &["post"]),
    ("/api/v1/journal/stats", &["get"]),
];

#[tokio::test]
async fn openapi_document_describes_every_route() {
    let api = api().await;
    api.seed().await;
    let (s, doc) = api.get("/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert_eq!(
        doc,
        serde_json::to_value(standin_admin::openapi()).unwrap(),
        "the served document is the generated one"
    );

    let paths = doc["paths"].as_object().expect("paths");
    let documented: Vec<(String, Vec<String>)> = paths
        .iter()
        .map(|(p, ops)| {
            let mut methods: Vec<String> = ops
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| {
                    ["get", "put", "post", "delete", "patch", "head", "options"]
                        .contains(&k.as_str())
                })
                .cloned()
                .collect();
            methods.sort();
            (p.clone(), methods)
        })
        .collect();
    let mut expected: Vec<(String, Vec<String>)> = EXPECTED_PATHS
        .iter()
        .map(|(p, m)| (p.to_string(), m.iter().map(|s| s.to_string()).collect()))
        .collect();
    expected.sort();
    let mut documented_sorted = documented.clone();
    documented_sorted.sort();
    assert_eq!(documented_sorted, expected);

    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["responses"].is_object(), "{method} {path} has responses");
            assert!(op["tags"].is_array(), "{method} {path} has a tag");
        }
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in ["ErrorBody", "Team", "Service", "Route", "ChangeEvent"] {
        assert!(schemas.contains_key(name), "schema {name} is documented");
    }

    // Every documented operation is served (the router answers, not its fallback).
    for (path, methods) in &documented {
        let uri = path
            .replace("{team}", "pay")
            .replace("{service}", "api")
            .replace("{id}", "r1");
        for method in methods {
            let m = method.to_uppercase();
            let body = matches!(m.as_str(), "POST" | "PUT").then_some("{}");
            let (s, _, bytes) = send(&api.router, &m, &uri, body, None).await;
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{m} {uri}");
            assert!(
                !(s == StatusCode::NOT_FOUND && bytes.is_empty()),
                "{m} {uri} is not routed"
            );
        }
    }
    // And the router has no fallback answer for what is not documented.
    let (s, _, _) = send(&api.router, "GET", "/api/v1/nope", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = send(&api.router, "PATCH", "/api/v1/teams", None, None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn docs_page_and_root_redirect() {
    let api = api().await;
    let (s, headers, body) = send(&api.router, "GET", "/api/v1/docs/", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = String::from_utf8_lossy(&body).to_lowercase();
    assert!(html.contains("<html") && html.contains("swagger"), "{html}");

    let (s, headers, _) = send(&api.router, "GET", "/", None, None).await;
    assert!(s.is_redirection(), "{s}");
    assert_eq!(headers[header::LOCATION], "/api/v1/docs/");
}

#[tokio::test]
async fn health_counts_what_is_loaded() {
    let api = api().await;
    let (s, b) = api.get("/api/v1/health").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b,
        json!({"status": "ok", "teams": 0, "services": 0, "routes": 0})
    );
    api.seed().await;
    api.route(
        "pay",
        "api",
        json!({"id": "off", "enabled": false, "http": {}}),
    )
    .await;
    let (_, b) = api.get("/api/v1/health").await;
    assert_eq!(
        b,
        json!({"status": "ok", "teams": 1, "services": 1, "routes": 2}),
        "disabled routes are loaded too"
    );
    let (s, _) = api.delete("/api/v1/teams/pay/services/api").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, b) = api.get("/api/v1/health").await;
    assert_eq!(
        b,
        json!({"status": "ok", "teams": 1, "services": 0, "routes": 0})
    );
}

#[tokio::test]
async fn bad_query_strings_get_json_errors_naming_the_parameter() {
    let api = api().await;
    let cases = [
        ("GET", "/api/v1/history?limit=abc", "/limit"),
        ("GET", "/api/v1/journal?status=abc", "/status"),
        ("DELETE", "/api/v1/teams/pay?cascade=yes", "/cascade"),
        ("GET", "/api/v1/search?limit=-1", "/limit"),
    ];
    for (method, uri, pointer) in cases {
        let got = call(&api.router, method, uri, None, None).await;
        assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "invalid_query",
            Some(pointer),
        );
    }
}

#[tokio::test]
async fn an_array_is_not_a_team() {
    let api = api().await;
    let got = api.raw("POST", "/api/v1/teams", r#"["x"]"#).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("/"));
    assert_eq!(api.get("/api/v1/teams").await.1, serde_json::json!([]));
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

#[tokio::test]
async fn bodies_are_json_and_text_or_xml_is_refused() {
    let api = api().await;
    let team = br#"{"slug": "a"}"#.to_vec();
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
    ] {
        let (s, b) = send_with(
            &api.router,
            "POST",
            "/api/v1/teams",
            &[("content-type", ct)],
            team.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}: {b}");
        assert_eq!(b["error"], "unsupported_media_type");
    }
    assert!(api.app.catalog().teams.is_empty(), "nothing was applied");
    // curl -d sends form-urlencoded; no type at all and +json types are JSON too.
    for (i, ct) in [
        "application/x-www-form-urlencoded",
        "application/merge-patch+json",
        "",
    ]
    .iter()
    .enumerate()
    {
        let body = format!(r#"{{"slug": "t{i}"}}"#).into_bytes();
        let headers: &[(&str, &str)] = if ct.is_empty() {
            &[]
        } else {
            &[("content-type", ct)]
        };
        let (s, b) = send_with(&api.router, "POST", "/api/v1/teams", headers, body).await;
        assert_eq!(s, StatusCode::CREATED, "{ct}: {b}");
    }
}

/// A page on another site must not be able to change mocks through the browser of
/// someone who can reach the admin API (a CSRF "simple request").
#[tokio::test]
async fn writes_from_another_origin_are_refused() {
    let api = api().await;
    let team = br#"{"slug": "a"}"#.to_vec();
    let cases: &[&[(&str, &str)]] = &[
        &[
            ("host", "localhost:9090"),
            ("origin", "http://evil.example"),
            ("content-type", "text/plain"),
        ],
        &[("host", "localhost:9090"), ("origin", "null")],
        &[("host", "localhost:9090"), ("sec-fetch-site", "cross-site")],
    ];
    for headers in cases {
        let (s, b) = send_with(&api.router, "POST", "/api/v1/teams", headers, team.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{headers:?}: {b}");
        assert_eq!(b["error"], "cross_origin");
    }
    assert!(api.app.catalog().teams.is_empty());
    // The same origin, and reads from anywhere, pass.
    let same = [
        ("host", "localhost:9090"),
        ("origin", "http://localhost:9090"),
    ];
    let (s, _) = send_with(&api.router, "POST", "/api/v1/teams", &same, team).await;
    assert_eq!(s, StatusCode::CREATED);
    let read = [
        ("host", "localhost:9090"),
        ("origin", "http://evil.example"),
    ];
    let (s, _) = send_with(&api.router, "GET", "/api/v1/teams", &read, Vec::new()).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn an_oversized_body_is_body_too_large() {
    let api = api().await;
    let big = vec![b' '; 3 * 1024 * 1024];
    let (s, b) = send_with(
        &api.router,
        "POST",
        "/api/v1/teams",
        &[("content-type", "application/json")],
        big,
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["error"], "body_too_large");
}

#[tokio::test]
async fn status_lists_quarantined_definitions_and_serving_counters() {
    let api = api().await;
    let (s, b) = api.get("/api/v1/status").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "ok");
    assert_eq!(b["quarantined"], json!([]));
    assert_eq!(b["overBudgetRoutes"], json!([]));
    assert!(b["journal"]["capacityPerService"].is_number(), "{b}");
}

#[tokio::test]
async fn unknown_urls_and_wrong_methods_answer_in_the_error_shape() {
    let api = api().await;
    let (s, b) = api.get("/api/v1/nothing-here").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["error"], "no_such_endpoint");
    let (s, b) = call(&api.router, "DELETE", "/api/v1/search", None, None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{b}");
    assert_eq!(b["error"], "method_not_allowed");
}

#[tokio::test]
async fn put_takes_the_slug_from_the_url() {
    let api = api().await;
    api.post("/api/v1/teams", json!({"slug": "pay"})).await;
    let (s, b) = api.put("/api/v1/teams/pay", json!({"memo": "new"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["slug"], "pay");
    assert_eq!(b["memo"], "new");
    api.post("/api/v1/teams/pay/services", json!({"slug": "api"}))
        .await;
    let (s, b) = api
        .put(
            "/api/v1/teams/pay/services/api",
            json!({"defaultDelayMs": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["defaultDelayMs"], 5);
    let (s, b) = api.put("/api/v1/teams/pay", json!({"slug": "other"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["pointer"], "/slug");
    let (s, b) = api.post("/api/v1/teams", json!({"memo": "no slug"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a new team needs a slug: {b}");
    assert_eq!(b["pointer"], "/slug");
}

async fn patch(api: &Api, uri: &str, body: Value) -> (StatusCode, Value) {
    send_with(
        &api.router,
        "PATCH",
        uri,
        &[("content-type", "application/merge-patch+json")],
        body.to_string().into_bytes(),
    )
    .await
}

#[tokio::test]
async fn patch_changes_one_field_as_one_recorded_change() {
    let api = api().await;
    api.post(
        "/api/v1/teams",
        json!({"slug": "pay", "memo": "m", "tags": ["a"]}),
    )
    .await;
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay",
        json!({"memo": "changed", "tags": null}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["memo"].clone(), b["tags"].clone()),
        (json!("changed"), json!([]))
    );
    api.post("/api/v1/teams/pay/services", json!({"slug": "api"}))
        .await;
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay/services/api",
        json!({"defaultDelayMs": 7}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["defaultDelayMs"], 7);
    let route = json!({"http": {"request": {"path": "/a"}, "response": {"status": 200, "body": {"text": "x"}}}});
    api.put("/api/v1/teams/pay/services/api/routes/r", route)
        .await;
    let (_, before) = api.get("/api/v1/history?key=pay/api/r").await;
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay/services/api/routes/r",
        json!({"enabled": false, "http": {"response": {"status": 503}}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["enabled"], false);
    assert_eq!(b["http"]["response"]["status"], 503);
    assert_eq!(
        b["http"]["response"]["body"],
        json!({"text": "x"}),
        "untouched fields stay"
    );
    assert_eq!(b["meta"]["revision"], 2);
    let (_, after) = api.get("/api/v1/history?key=pay/api/r").await;
    assert_eq!(
        after.as_array().unwrap().len(),
        before.as_array().unwrap().len() + 1
    );
    // Bad patches name the field and change nothing.
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay/services/api/routes/r",
        json!({"priority": "high"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["pointer"], "/priority");
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay/services/api/routes/r",
        json!({"id": "other"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, _) = patch(
        &api,
        "/api/v1/teams/pay/services/api/routes/nope",
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, r) = api.get("/api/v1/teams/pay/services/api/routes/r").await;
    assert_eq!(r["meta"]["revision"], 2);
}

#[tokio::test]
async fn a_route_that_has_already_expired_is_refused() {
    let api = api().await;
    api.post("/api/v1/teams", json!({"slug": "pay"})).await;
    api.post("/api/v1/teams/pay/services", json!({"slug": "api"}))
        .await;
    let (s, b) = api
        .put(
            "/api/v1/teams/pay/services/api/routes/old",
            json!({"expiresAt": "2020-01-01T00:00:00Z", "http": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["pointer"], "/expiresAt");
    let (s, b) = api
        .put(
            "/api/v1/teams/pay/services/api/routes",
            json!([{"id": "a", "http": {}}, {"id": "b", "expiresAt": "2020-01-01T00:00:00Z", "http": {}}]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["pointer"], "/1/expiresAt");
}

#[tokio::test]
async fn the_team_slug_mockserver_is_reserved() {
    let api = api().await;
    let (s, b) = api
        .post("/api/v1/teams", json!({"slug": "mockserver"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b["message"].as_str().unwrap().contains("reserved"), "{b}");
}

/// Every field a user can write in a route, service or forward is named in docs/api.md,
/// and every request condition in docs/matching.md. The field lists come from the
/// generated OpenAPI document, so a new field without documentation fails here.
#[test]
fn every_field_of_the_documents_is_documented() {
    let doc = serde_json::to_value(standin_admin::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let read = |name: &str| {
        std::fs::read_to_string(format!("{}/../../docs/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    };
    let api_md = read("api.md");
    let matching_md = read("matching.md");
    let mut missing = Vec::new();
    for (schema, text, file) in [
        ("Route", &api_md, "api.md"),
        ("HttpRoute", &api_md, "api.md"),
        ("HttpResponse", &api_md, "api.md"),
        ("Forward", &api_md, "api.md"),
        ("Service", &api_md, "api.md"),
        ("HttpRequestMatcher", &matching_md, "matching.md"),
    ] {
        let fields = schemas[schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema {schema}"));
        for field in fields.keys() {
            if !text.contains(&format!("`{field}`")) && !text.contains(&format!("\"{field}\"")) {
                missing.push(format!("{schema}.{field} in docs/{file}"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

#[tokio::test]
async fn a_path_rewrite_that_cannot_match_gets_a_warning() {
    let api = api().await;
    api.post("/api/v1/teams", json!({"slug": "pay"})).await;
    api.post("/api/v1/teams/pay/services", json!({"slug": "cards"}))
        .await;
    let route = |regex: &str| {
        json!({"http": {"request": {"path": "/cards/{id}"}, "forward": {"to": "http://127.0.0.1:1",
            "pathRewrite": {"regex": regex, "replacement": "/v2$1"}}}})
        .to_string()
    };
    let (s, headers, _) = send(
        &api.router,
        "PUT",
        "/api/v1/teams/pay/services/cards/routes/r",
        Some(&route("^/pay/cards(/.*)")),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let warning = headers.get("warning").expect("a warning").to_str().unwrap();
    assert!(warning.contains("base path /pay/cards"), "{warning}");
    let (s, headers, _) = send(
        &api.router,
        "PUT",
        "/api/v1/teams/pay/services/cards/routes/r",
        Some(&route("^(/cards/.*)")),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers.get("warning").is_none());
}
