//! The application core against a real SQLite store in a temporary directory.

use serde_json::json;
use standin_app::ServiceKey;
use standin_app::{App, AppError};
use standin_journal::{Journal, JournalConfig};
use standin_matcher::{Outcome, Request};
use standin_model::{ChangeKind, Route, Service, Team};
use standin_store::{EventFilter, SqliteStore};
use std::path::Path;
use std::sync::Arc;

async fn open(dir: &Path) -> App {
    let store = SqliteStore::open(dir).await.unwrap();
    App::open(Arc::new(store), Journal::start(JournalConfig::default()))
        .await
        .unwrap()
}

fn team(slug: &str) -> Team {
    serde_json::from_value(json!({ "slug": slug })).unwrap()
}

fn service(slug: &str) -> Service {
    serde_json::from_value(json!({ "slug": slug })).unwrap()
}

fn route(v: serde_json::Value) -> Route {
    serde_json::from_value(v).unwrap()
}

/// Which route id answers `GET path` from the published table, if any.
fn serve(app: &App, path: &str) -> Option<String> {
    let table = app.table().load_full();
    let (svc, rel) = table.resolve(None, path)?;
    let headers = http::HeaderMap::new();
    match svc.find(&Request::new("GET", rel, None, &headers, b"")) {
        Outcome::Matched(m) => Some(m.route.id.to_string()),
        Outcome::Unmatched(_) | Outcome::OverBudget { .. } => None,
    }
}

async fn seed(app: &App) {
    app.change("alice", |d| {
        d.create_team(team("pay"))?;
        d.create_service("pay", service("api"))?;
        d.create_route(
            "pay",
            "api",
            route(json!({"id": "r1", "http": {"request": {"path": "/a"}}})),
            "",
        )
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_committed_route_is_served_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    assert_eq!(serve(&app, "/pay/api/a").as_deref(), Some("r1"));
    assert_eq!(serve(&app, "/pay/api/b"), None);
}

#[tokio::test]
async fn every_change_is_an_event_with_actor_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    app.change("bob", |d| {
        d.put_route(
            "pay",
            "api",
            route(json!({"id": "r1", "name": "renamed", "http": {}})),
            "",
        )
    })
    .await
    .unwrap();
    let events = app
        .history(EventFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let summary: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.key.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (ChangeKind::Update, "pay/api/r1", "bob"),
            (ChangeKind::Create, "pay/api/r1", "alice"),
            (ChangeKind::Create, "pay/api", "alice"),
            (ChangeKind::Create, "pay", "alice"),
        ]
    );
    assert_eq!(events[0].before.as_ref().unwrap()["meta"]["revision"], 1);
    assert_eq!(events[0].after.as_ref().unwrap()["meta"]["revision"], 2);
    assert_eq!(events[0].after.as_ref().unwrap()["name"], "renamed");
    assert_eq!(
        events[0].batch.len(),
        36,
        "a uuid groups the events of one change"
    );
}

#[tokio::test]
async fn a_bad_route_in_a_bulk_replace_applies_nothing_and_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    let before = app
        .history(EventFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let routes = vec![
        route(json!({"id": "ok", "http": {"request": {"path": "/ok"}}})),
        route(json!({"id": "bad", "http": {"request": {"headers": {"X": {"regex": "(["}}}}})),
    ];
    let err = app
        .change("alice", |d| d.replace_routes("pay", "api", routes))
        .await
        .unwrap_err();
    match err {
        AppError::Invalid { pointer, message } => {
            assert_eq!(pointer, "/1/http/request/headers/X/regex");
            assert!(message.contains("invalid regex"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(
        serve(&app, "/pay/api/a").as_deref(),
        Some("r1"),
        "the route the replace would delete is still served"
    );
    assert_eq!(serve(&app, "/pay/api/ok"), None);
    assert!(
        app.catalog()
            .routes_of(&ServiceKey::new("pay", "api"))
            .unwrap()
            .contains_key("r1")
    );
    let after = app
        .history(EventFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(before, after, "no event was recorded");
}

#[tokio::test]
async fn duplicates_and_base_path_clashes_are_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    let dup = app
        .change("a", |d| d.create_team(team("pay")))
        .await
        .unwrap_err();
    assert!(matches!(dup, AppError::Conflict(_)), "{dup:?}");
    let dup = app
        .change("a", |d| d.create_service("pay", service("api")))
        .await
        .unwrap_err();
    assert!(matches!(dup, AppError::Conflict(_)), "{dup:?}");
    let clash: Service =
        serde_json::from_value(json!({"slug": "other", "basePath": "/pay/api/"})).unwrap();
    let err = app
        .change("a", |d| d.create_service("pay", clash))
        .await
        .unwrap_err();
    match err {
        AppError::Conflict(m) => assert!(m.contains("/pay/api"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(app.catalog().services.len(), 1);
}

#[tokio::test]
async fn state_and_order_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let app = open(dir.path()).await;
        seed(&app).await;
        app.change("a", |d| {
            d.create_route(
                "pay",
                "api",
                route(json!({"id": "r2", "http": {"request": {"path": "/a"}}})),
                "",
            )
        })
        .await
        .unwrap();
    }
    let app = open(dir.path()).await;
    assert_eq!(
        serve(&app, "/pay/api/a").as_deref(),
        Some("r1"),
        "the older of two equal routes still wins"
    );
    let r2 = app
        .catalog()
        .routes_of(&ServiceKey::new("pay", "api"))
        .unwrap()["r2"]
        .clone();
    assert_eq!(r2.meta.created_seq, 2);
    app.change("a", |d| {
        d.create_route("pay", "api", route(json!({"id": "r3", "http": {}})), "")
    })
    .await
    .unwrap();
    let r3 = app
        .catalog()
        .routes_of(&ServiceKey::new("pay", "api"))
        .unwrap()["r3"]
        .clone();
    assert_eq!(
        r3.meta.created_seq, 3,
        "creation order continues after a restart"
    );
}

#[tokio::test]
async fn unchanged_routes_keep_their_counters_and_changed_ones_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    app.change("a", |d| {
        d.create_route(
            "pay",
            "api",
            route(json!({"id": "once", "times": 1, "http": {"request": {"path": "/once"}}})),
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(serve(&app, "/pay/api/once").as_deref(), Some("once"));
    assert_eq!(serve(&app, "/pay/api/once"), None);
    // A change to another route of the same service must not reset this one.
    app.change("a", |d| {
        d.put_route(
            "pay",
            "api",
            route(json!({"id": "r1", "memo": "x", "http": {"request": {"path": "/a"}}})),
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(serve(&app, "/pay/api/once"), None);
    // Changing the route itself starts its count again.
    app.change("a", |d| {
        d.put_route(
            "pay",
            "api",
            route(json!({"id": "once", "times": 1, "http": {"request": {"path": "/once"}}})),
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(serve(&app, "/pay/api/once").as_deref(), Some("once"));
}

#[tokio::test]
async fn deleting_a_team_with_services_needs_cascade() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    let err = app
        .change("a", |d| d.delete_team("pay", false))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    app.change("a", |d| d.delete_team("pay", true))
        .await
        .unwrap();
    assert!(app.catalog().teams.is_empty());
    assert_eq!(serve(&app, "/pay/api/a"), None);
    let events = app
        .history(EventFilter {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.key.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::Delete, "pay"),
            (ChangeKind::Delete, "pay/api"),
            (ChangeKind::Delete, "pay/api/r1")
        ]
    );
}

/// A change to try, boxed so that different operations fit in one table.
type Op = Box<dyn FnOnce(&mut standin_app::Draft) -> Result<(), AppError> + Send>;

#[tokio::test]
async fn invalid_documents_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    let cases: Vec<(Op, &str)> = vec![
        (
            Box::new(|d| d.create_team(team("Bad Slug")).map(drop)),
            "/slug",
        ),
        (
            Box::new(|d| {
                d.create_service(
                    "pay",
                    serde_json::from_value(json!({"slug": "s", "basePath": "x"})).unwrap(),
                )
                .map(drop)
            }),
            "/basePath",
        ),
        (
            Box::new(|d| {
                d.create_service(
                    "pay",
                    serde_json::from_value(json!({"slug": "s", "upstream": "ftp://x"})).unwrap(),
                )
                .map(drop)
            }),
            "/upstream",
        ),
        (
            Box::new(|d| {
                d.create_route("pay", "api", route(json!({"id": "a/b", "http": {}})), "")
                    .map(drop)
            }),
            "/id",
        ),
        (
            Box::new(|d| {
                d.create_route("pay", "api", route(json!({"id": "..", "http": {}})), "")
                    .map(drop)
            }),
            "/id",
        ),
        (
            Box::new(|d| {
                d.create_route("pay", "api", route(json!({"id": "x"})), "")
                    .map(drop)
            }),
            "/http",
        ),
        (
            Box::new(|d| {
                d.create_service(
                    "pay",
                    serde_json::from_value(json!({"slug": "s", "redactHeaders": ["bad header"]}))
                        .unwrap(),
                )
                .map(drop)
            }),
            "/redactHeaders/0",
        ),
    ];
    for (op, pointer) in cases {
        match app.change("a", op).await {
            Err(AppError::Invalid { pointer: p, .. }) => assert_eq!(p, pointer),
            other => panic!("expected Invalid at {pointer}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn demo_is_created_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    assert!(standin_app::demo::ensure(&app).await.unwrap());
    assert!(!standin_app::demo::ensure(&app).await.unwrap());
    assert_eq!(
        serve(&app, "/demo/petstore/pets").as_deref(),
        Some("list-pets")
    );
    assert_eq!(
        serve(&app, "/demo/petstore/pets/404").as_deref(),
        Some("get-missing-pet")
    );
    assert_eq!(
        serve(&app, "/demo/petstore/pets/7").as_deref(),
        Some("get-pet")
    );
}

#[tokio::test]
async fn disabled_routes_are_kept_but_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    app.change("a", |d| {
        d.put_route(
            "pay",
            "api",
            route(json!({"id": "r1", "enabled": false, "http": {"request": {"path": "/a"}}})),
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(serve(&app, "/pay/api/a"), None);
    assert!(
        !app.catalog()
            .routes_of(&ServiceKey::new("pay", "api"))
            .unwrap()["r1"]
            .route
            .enabled
    );
}

/// Route ids the published table serves, by service.
fn served(app: &App) -> Vec<(String, Vec<String>)> {
    let table = app.table().load_full();
    let mut out: Vec<(String, Vec<String>)> = table
        .services()
        .iter()
        .map(|s| {
            let mut ids: Vec<String> = s.routes().iter().map(|r| r.id.to_string()).collect();
            ids.sort();
            (s.key.to_string(), ids)
        })
        .collect();
    out.sort();
    out
}

/// Memory (catalog and table) equals what a fresh load of the store gives.
async fn assert_memory_is_the_store(app: &App, dir: &Path, context: &str) {
    app.settled().await;
    // A second look at the store `app` holds: without the directory's lock.
    let options = standin_store::OpenOptions {
        lock: false,
        ..standin_store::OpenOptions::default()
    };
    let store = SqliteStore::open_with(dir, &options).await.unwrap();
    let fresh = App::open(Arc::new(store), Journal::start(JournalConfig::default()))
        .await
        .unwrap();
    assert!(
        app.catalog().same_definitions(&fresh.catalog()),
        "{context}: the catalog in memory differs from the store"
    );
    assert_eq!(
        served(app),
        served(&fresh),
        "{context}: the served table differs"
    );
}

/// A client that goes away mid-change drops the `change` future at an arbitrary await
/// point. Whatever the point, memory must equal the store afterwards.
#[tokio::test]
async fn a_change_cancelled_at_any_point_leaves_memory_equal_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    let mut completed = 0;
    for polls in 0..60 {
        let id = format!("c{polls}");
        let mut fut = Box::pin(app.change("cancel", |d| {
            d.create_service("pay", service(&format!("s{polls}")))?;
            d.create_route(
                "pay",
                "api",
                route(json!({"id": id, "http": {"request": {"path": format!("/c/{polls}")}}})),
                "",
            )
        }));
        let mut done = false;
        for _ in 0..polls {
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            if fut.as_mut().poll(&mut cx).is_ready() {
                done = true;
                break;
            }
            // The commit runs on SQLite's worker thread; give it time to move on so the
            // drop points spread over the whole commit.
            tokio::time::sleep(std::time::Duration::from_micros(150)).await;
        }
        completed += usize::from(done);
        drop(fut);
        assert_memory_is_the_store(&app, dir.path(), &format!("dropped after {polls} polls")).await;
    }
    assert!(completed > 0, "some changes completed before being dropped");
    assert!(
        completed < 60,
        "some changes were dropped before completing"
    );
    // A cancelled service delete is also all or nothing, and later writes into the
    // service survive a restart.
    for polls in 0..8 {
        let slug = format!("s{polls}");
        let mut fut = Box::pin(app.change("cancel", |d| d.delete_service("pay", &slug)));
        for _ in 0..polls {
            let waker = std::task::Waker::noop();
            if fut
                .as_mut()
                .poll(&mut std::task::Context::from_waker(waker))
                .is_ready()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_micros(150)).await;
        }
        drop(fut);
    }
    assert_memory_is_the_store(&app, dir.path(), "after cancelled deletes").await;
}

#[tokio::test]
async fn a_document_nested_too_deep_is_refused_with_its_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    let mut deep = json!("x");
    for _ in 0..110 {
        deep = json!({ "a": deep });
    }
    let doc = json!({"id": "deep", "http": {"request": {"body": {"json": deep}}}});
    let err = app
        .change("a", |d| d.create_route("pay", "api", route(doc), "/0"))
        .await
        .unwrap_err();
    match err {
        AppError::Invalid { pointer, message } => {
            assert!(
                pointer.starts_with("/0/http/request/body/json/a/a/"),
                "{pointer}"
            );
            assert!(message.contains("deeper than 100"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        app.catalog()
            .routes_of(&ServiceKey::new("pay", "api"))
            .unwrap()
            .get("deep")
            .is_none()
    );
}

/// One stored document that cannot be read (here: nested past the reader's limit, as an
/// older standin could write) must not keep the rest from being served.
#[tokio::test]
async fn start_quarantines_bad_documents_and_serves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    {
        let app = open(dir.path()).await;
        seed(&app).await;
    }
    let deep = format!("{}1{}", "[".repeat(130), "]".repeat(130));
    let bad_route = json!({"team": "pay", "service": "api", "id": "bad", "http": {"request": {"path": "/bad"}},
        "meta": {"createdSeq": 9, "revision": 1, "createdAt": "x", "updatedAt": "x", "updatedBy": "x"}})
    .to_string()
    .replace("\"/bad\"", r#"{"regex": "("}"#);
    let orphan = json!({"team": "pay", "service": "gone", "id": "o", "http": {},
        "meta": {"createdSeq": 10, "revision": 1, "createdAt": "x", "updatedAt": "x", "updatedBy": "x"}});
    let pool = sqlx_pool(dir.path()).await;
    for (entity, key, doc) in [
        ("route", "pay/api/deep", format!("{{\"x\": {deep}}}")),
        ("route", "pay/api/bad", bad_route),
        ("route", "pay/gone/o", orphan.to_string()),
    ] {
        sqlx::query("INSERT INTO state (entity, key, doc) VALUES (?, ?, ?)")
            .bind(entity)
            .bind(key)
            .bind(doc)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let app = open(dir.path()).await;
    assert_eq!(serve(&app, "/pay/api/a").as_deref(), Some("r1"));
    let mut q: Vec<(String, String)> = app
        .quarantined()
        .iter()
        .map(|q| (q.key.clone(), q.reason.clone()))
        .collect();
    q.sort();
    let keys: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["pay/api/bad", "pay/api/deep", "pay/gone/o"]);
    assert!(q[0].1.contains("does not compile"), "{}", q[0].1);
    assert!(q[1].1.contains("recursion limit"), "{}", q[1].1);
    assert!(q[2].1.contains("does not exist"), "{}", q[2].1);
    // Writing the key replaces the bad document and lifts the quarantine.
    app.change("a", |d| {
        d.put_route(
            "pay",
            "api",
            route(json!({"id": "bad", "http": {"request": {"path": "/bad"}}})),
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(app.quarantined().len(), 2);
    assert_eq!(serve(&app, "/pay/api/bad").as_deref(), Some("bad"));
}

async fn sqlx_pool(dir: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.join(standin_store::DB_FILE).display()
    ))
    .await
    .unwrap()
}

/// [F] `"get"` was accepted and could never match: requests carry `GET`.
#[tokio::test]
async fn standard_methods_are_stored_upper_case() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await;
    seed(&app).await;
    let (record, _) = app
        .change("a", |d| {
            d.create_route(
                "pay",
                "api",
                route(json!({"id": "m", "http": {"request": {"method": "get", "path": "/m"}}})),
                "",
            )?;
            d.create_route(
                "pay",
                "api",
                route(json!({"id": "x", "http": {"request": {"method": {"anyOf": ["post", "purge"]}, "path": "/x"}}})),
                "",
            )
        })
        .await
        .unwrap();
    assert_eq!(serve(&app, "/pay/api/m").as_deref(), Some("m"));
    let method = serde_json::to_value(&record.route.http.as_ref().unwrap().request.method).unwrap();
    assert_eq!(
        method,
        json!({"anyOf": ["POST", "purge"]}),
        "extension methods stay as written"
    );
}
