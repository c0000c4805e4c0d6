//! The application core against a real SQLite store in a temporary directory.

use serde_json::json;
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
        Outcome::Unmatched(_) => None,
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
            .routes_of(&("pay".into(), "api".into()))
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
        .routes_of(&("pay".into(), "api".into()))
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
        .routes_of(&("pay".into(), "api".into()))
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
                d.create_route("pay", "api", route(json!({"id": "x"})), "")
                    .map(drop)
            }),
            "/http",
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
            .routes_of(&("pay".into(), "api".into()))
            .unwrap()["r1"]
            .route
            .enabled
    );
}
