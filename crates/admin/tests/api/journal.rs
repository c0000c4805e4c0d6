//! The request journal: queries, statistics, clearing, and verification.

use crate::{api, assert_error, call, seqs};
use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::{Value, json};
use standin_app::App;
use standin_journal::JournalEntry;
use std::sync::Arc;

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

/// Records five entries, seq 1 to 5.
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
