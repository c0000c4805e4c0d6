//! What the web UI relies on: entity tags and `If-Match`, usage counts, the live event
//! stream, and serving the UI's files.

use crate::{api, assert_error, send, send_with};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use standin_journal::JournalEntry;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const R1: &str = "/api/v1/teams/pay/services/api/routes/r1";

fn route_doc(status: u16) -> String {
    json!({"http": {"request": {"method": "GET", "path": "/a"}, "response": {"status": status}}})
        .to_string()
}

#[tokio::test]
async fn a_write_against_an_old_revision_is_refused_and_changes_nothing() {
    let a = api().await;
    a.seed().await;
    let (s, h, _) = send(&a.router, "GET", R1, None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::ETAG], "\"1\"");

    // Two editors opened revision 1; the first saves.
    let first = send_with(
        &a.router,
        "PUT",
        R1,
        &[("content-type", "application/json"), ("if-match", "\"1\"")],
        route_doc(201).into_bytes(),
    )
    .await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_eq!(first.1["meta"]["revision"], 2);

    // The second is refused, with who changed it, and the route keeps the first's edit.
    let events_before = a.history().await.len();
    let second = send_with(
        &a.router,
        "PUT",
        R1,
        &[("content-type", "application/json"), ("if-match", "\"1\"")],
        route_doc(500).into_bytes(),
    )
    .await;
    assert_error(&second, StatusCode::PRECONDITION_FAILED, "conflict", None);
    assert!(
        second.1["message"].as_str().unwrap().contains("revision 2"),
        "{}",
        second.1
    );
    let patch = send_with(
        &a.router,
        "PATCH",
        R1,
        &[
            ("content-type", "application/json"),
            ("if-match", "W/\"1\""),
        ],
        br#"{"enabled": false}"#.to_vec(),
    )
    .await;
    assert_eq!(patch.0, StatusCode::PRECONDITION_FAILED, "{}", patch.1);
    let delete = send_with(&a.router, "DELETE", R1, &[("if-match", "\"1\"")], vec![]).await;
    assert_eq!(delete.0, StatusCode::PRECONDITION_FAILED, "{}", delete.1);
    let (_, now) = a.get(R1).await;
    assert_eq!(now["http"]["response"]["status"], 201);
    assert_eq!(now["enabled"], true);
    assert_eq!(a.history().await.len(), events_before, "nothing recorded");

    // At the current revision, the delete goes through; a write expecting it then fails.
    let delete = send_with(&a.router, "DELETE", R1, &[("if-match", "\"2\"")], vec![]).await;
    assert_eq!(delete.0, StatusCode::NO_CONTENT, "{}", delete.1);
    let gone = send_with(
        &a.router,
        "PUT",
        R1,
        &[("content-type", "application/json"), ("if-match", "*")],
        route_doc(200).into_bytes(),
    )
    .await;
    assert_eq!(gone.0, StatusCode::PRECONDITION_FAILED, "{}", gone.1);
    assert_eq!(a.get(R1).await.0, StatusCode::NOT_FOUND);

    let bad = send_with(
        &a.router,
        "DELETE",
        R1,
        &[("if-match", "yesterday")],
        vec![],
    )
    .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_header", None);
}

#[tokio::test]
async fn services_and_teams_carry_revisions_too() {
    let a = api().await;
    a.seed().await;
    let svc = "/api/v1/teams/pay/services/api";
    let (_, h, _) = send(&a.router, "GET", svc, None, None).await;
    assert_eq!(h[header::ETAG], "\"1\"");
    let ok = send_with(
        &a.router,
        "PATCH",
        svc,
        &[("content-type", "application/json"), ("if-match", "\"1\"")],
        br#"{"name": "Payments"}"#.to_vec(),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
    let stale = send_with(
        &a.router,
        "PUT",
        svc,
        &[("content-type", "application/json"), ("if-match", "\"1\"")],
        br#"{"slug": "api", "name": "Other"}"#.to_vec(),
    )
    .await;
    assert_error(&stale, StatusCode::PRECONDITION_FAILED, "conflict", None);
    assert_eq!(a.get(svc).await.1["name"], "Payments");

    let team = "/api/v1/teams/pay";
    let stale = send_with(
        &a.router,
        "DELETE",
        &format!("{team}?cascade=true"),
        &[("if-match", "\"9\"")],
        vec![],
    )
    .await;
    assert_error(&stale, StatusCode::PRECONDITION_FAILED, "conflict", None);
    assert_eq!(
        a.get(team).await.0,
        StatusCode::OK,
        "the team is still there"
    );
}

fn entry(service: &str, route: Option<&str>) -> JournalEntry {
    let mut e = JournalEntry::example(service, 200);
    e.matched_route = route.map(Arc::from);
    e
}

#[tokio::test]
async fn usage_counts_requests_per_service_and_route() {
    let a = api().await;
    a.seed().await;
    let w = a.app.journal().writer();
    w.record(entry("pay/api", Some("r1")));
    w.record(entry("pay/api", Some("r1")));
    w.record(entry("pay/api", None));
    w.record(entry("", None));
    let (s, u) = a.get("/api/v1/usage").await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["today"]["requests"], 4, "{u}");
    let svc = &u["services"][0];
    assert_eq!(svc["service"], "pay/api");
    assert_eq!(svc["requests"], 3);
    assert_eq!(svc["routes"][0]["route"], "r1");
    assert_eq!(svc["routes"][0]["hits"], 2);
    assert!(svc["lastAt"].is_string());
    let (s, one) = a.get("/api/v1/usage?service=pay/api").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["services"].as_array().unwrap().len(), 1);
    assert_error(
        &a.get("/api/v1/usage?service=no/such").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}

/// Reads the event stream until `want` events of the kind `entry` arrived (5 s at most);
/// returns their data.
async fn entries(body: &mut Body, want: usize) -> Vec<Value> {
    events(body, want)
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "entry")
        .map(|(_, v)| v)
        .collect()
}

/// Reads the event stream until `want` entries arrived (5 s at most); returns every event
/// as (kind, data).
async fn events(body: &mut Body, want: usize) -> Vec<(String, Value)> {
    let mut text = String::new();
    let mut out = Vec::new();
    let mut entries = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while entries < want {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("the stream sent the entries in time")
            .expect("the stream is open")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            let Some(kind) = event.lines().find_map(|l| l.strip_prefix("event: ")) else {
                continue; // a keep-alive comment
            };
            let data = event
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("data");
            if kind == "entry" {
                entries += 1;
            }
            out.push((kind.to_string(), serde_json::from_str(data).unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn the_live_stream_sends_a_services_new_requests_as_they_are_stored() {
    let a = api().await;
    a.seed().await;
    let w = a.app.journal().writer();
    w.record(entry("pay/api", Some("before")));
    a.app.journal().flush().await;
    let res = a
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/journal/stream?service=pay/api")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = res.into_body();
    w.record(entry("other/svc", Some("elsewhere")));
    w.record(entry("pay/api", Some("r1")));
    w.record(entry("pay/api", None));
    let got = entries(&mut body, 2).await;
    assert_eq!(
        got[0]["matchedRoute"], "r1",
        "only new entries of this service"
    );
    assert_eq!(got[1]["matchedRoute"], Value::Null);
    assert!(got[0]["seq"].as_u64() < got[1]["seq"].as_u64());

    assert_error(
        &a.get("/api/v1/journal/stream?service=no/such").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}

#[tokio::test]
async fn a_watcher_gets_at_most_its_rate_and_is_told_what_it_missed() {
    let a = api().await;
    a.seed().await;
    let res = a
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/journal/stream")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = res.into_body();
    let w = a.app.journal().writer();
    let cap = standin_admin::LIVE_MAX_PER_SECOND as usize;
    for _ in 0..cap + 50 {
        w.record(entry("pay/api", Some("r1")));
    }
    let burst = events(&mut body, cap).await;
    assert_eq!(burst.len(), cap, "the first {cap} of the burst");
    // Reading on (as a browser does) sends nothing more within this second.
    let quiet = tokio::time::timeout(Duration::from_millis(300), body.frame()).await;
    assert!(quiet.is_err(), "nothing beyond the rate: {quiet:?}");
    // The next second's first entry comes after the count of what was left out.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.record(entry("pay/api", Some("later")));
    let next = events(&mut body, 1).await;
    assert_eq!(next[0], ("lagged".to_string(), json!({"missed": 50})));
    assert_eq!(next[1].1["matchedRoute"], "later");
}

#[tokio::test]
async fn try_without_a_data_plane_says_so() {
    let a = api().await;
    a.seed().await;
    let got = a
        .post(
            "/api/v1/teams/pay/services/api/try",
            json!({"request": {"path": "/a"}}),
        )
        .await;
    assert_error(&got, StatusCode::NOT_IMPLEMENTED, "not_available", None);
}

/// A router serving the UI from `dir`, and the directory its store lives in.
async fn with_ui(dir: &std::path::Path) -> (axum::Router, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let app = crate::open_app(data.path()).await;
    let router = standin_admin::router_with(standin_admin::AdminState {
        ui: standin_admin::UiSource::Dir(dir.to_path_buf()),
        ..standin_admin::AdminState::new(app)
    });
    (router, data)
}

#[tokio::test]
async fn the_ui_is_served_from_its_directory_and_nothing_outside_it() {
    let ui = tempfile::tempdir().unwrap();
    std::fs::create_dir(ui.path().join("assets")).unwrap();
    std::fs::write(ui.path().join("index.html"), "<!doctype html><p>app</p>").unwrap();
    std::fs::write(ui.path().join("assets/app-1a2b.js"), "console.log(1)").unwrap();
    std::fs::write(ui.path().join("secret.txt"), "no").unwrap();
    let (router, _data) = with_ui(ui.path()).await;

    let (s, h, b) = send(&router, "GET", "/", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(&b[..], b"<!doctype html><p>app</p>");
    let (s, h, b) = send(&router, "GET", "/assets/app-1a2b.js", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(
        h[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(&b[..], b"console.log(1)");
    for path in [
        "/assets/../secret.txt",
        "/assets/%2e%2e/secret.txt",
        "/assets/nothing.js",
    ] {
        let (s, _, _) = send(&router, "GET", path, None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    // The API is unchanged beside the UI.
    let (s, _, _) = send(&router, "GET", "/api/v1/teams", None, None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn without_a_built_ui_the_page_says_how_to_build_it() {
    let empty = tempfile::tempdir().unwrap();
    let (router, _data) = with_ui(empty.path()).await;
    let (s, h, b) = send(&router, "GET", "/", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let page = String::from_utf8_lossy(&b);
    assert!(
        page.contains("make ui") && page.contains("/api/v1/docs/"),
        "{page}"
    );
}
