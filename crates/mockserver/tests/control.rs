//! The MockServer control API in process, against a real SQLite store.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use standin_app::App;
use standin_app::ServiceKey;
use standin_journal::{Journal, JournalConfig, JournalEntry};
use standin_matcher::{Outcome, Request};
use standin_mockserver::dispatch;
use standin_server::ControlRequest;
use standin_store::SqliteStore;
use std::sync::Arc;

struct Env {
    app: App,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let app = App::open(Arc::new(store), Journal::start(JournalConfig::default()))
        .await
        .unwrap();
    Env { app, _dir: dir }
}

impl Env {
    async fn put(&self, path: &str, body: &str) -> (StatusCode, String) {
        self.put_with(path, body, &[]).await
    }

    async fn put_with(
        &self,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, String) {
        self.put_bytes(path, body.as_bytes(), headers).await
    }

    async fn put_bytes(
        &self,
        path: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let req = ControlRequest {
            method: Method::PUT,
            uri: path.parse().unwrap(),
            headers: h,
            body: Bytes::copy_from_slice(body),
            local_port: 1080,
        };
        let resp = dispatch(&self.app, req).await;
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn recorded(&self) -> usize {
        json(&self.put("/retrieve?type=requests", "").await.1)
            .as_array()
            .unwrap()
            .len()
    }

    /// Serves a request from the published table and journals it, as the data plane does.
    fn serve(&self, method: &str, path: &str) -> (u16, String) {
        let table = self.app.table().load_full();
        let headers = HeaderMap::new();
        let (svc, rel) = table.resolve(None, path).expect("a service answers");
        let rel = if rel.is_empty() { "/" } else { rel };
        let req = Request::new(method, rel, None, &headers, b"");
        let (status, body, route) = match svc.find(&req) {
            Outcome::Matched(m) => (
                m.route.response.status.as_u16(),
                String::from_utf8_lossy(&m.route.response.body).into_owned(),
                Some(m.route.id.clone()),
            ),
            Outcome::Unmatched(_) | Outcome::OverBudget { .. } => (404, String::new(), None),
        };
        let mut e = JournalEntry::example(&svc.key, status);
        e.method = method.into();
        e.path = path.into();
        e.relative_path = rel.into();
        e.matched_route = route;
        e.response_body = Bytes::from(body.clone());
        e.response_body_size = body.len();
        self.app.journal().writer().record(e);
        (status, body)
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn an_expectation_becomes_a_route_served_at_the_root() {
    let env = env().await;
    let (status, body) = env.put("/mockserver/expectation", r#"{"httpRequest": {"method": "GET", "path": "/simple"}, "httpResponse": {"body": "hi"}}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    let echo = json(&body);
    let id = echo[0]["id"].as_str().unwrap().to_string();
    assert_eq!(echo[0]["httpRequest"]["path"], "/simple");
    assert_eq!(env.serve("GET", "/simple"), (200, "hi".into()));
    assert_eq!(env.serve("POST", "/simple").0, 404);
    let catalog = env.app.catalog();
    let route = &catalog
        .routes_of(&ServiceKey::new("default", "default"))
        .unwrap()[&id];
    assert_eq!(route.route.origin.as_ref().unwrap().format, "mockserver");
    assert_eq!(route.meta.updated_by, "mockserver-api");
}

#[tokio::test]
async fn the_same_id_replaces_and_arrays_are_accepted() {
    let env = env().await;
    let one = r#"[{"id": "a", "httpRequest": {"path": "/a"}, "httpResponse": {"body": "1"}}, {"id": "b", "httpRequest": {"path": "/b"}, "httpResponse": {"body": "2"}}]"#;
    assert_eq!(env.put("/expectation", one).await.0, StatusCode::CREATED);
    let again =
        r#"{"id": "a", "httpRequest": {"path": "/a"}, "httpResponse": {"body": "changed"}}"#;
    assert_eq!(
        env.put("/mockserver/expectation", again).await.0,
        StatusCode::CREATED
    );
    assert_eq!(env.serve("GET", "/a"), (200, "changed".into()));
    assert_eq!(env.app.catalog().route_count(), 2);
}

#[tokio::test]
async fn priority_then_age_decide_not_specificity() {
    let env = env().await;
    env.put(
        "/expectation",
        r#"{"httpRequest": {"path": "/p/.*"}, "httpResponse": {"body": "regex, older"}}"#,
    )
    .await;
    env.put(
        "/expectation",
        r#"{"httpRequest": {"path": "/p/x"}, "httpResponse": {"body": "literal, newer"}}"#,
    )
    .await;
    assert_eq!(env.serve("GET", "/p/x").1, "regex, older");
    env.put(
        "/expectation",
        r#"{"priority": 5, "httpRequest": {"path": "/p/x"}, "httpResponse": {"body": "high"}}"#,
    )
    .await;
    assert_eq!(env.serve("GET", "/p/x").1, "high");
}

#[tokio::test]
async fn verify_counts_received_requests() {
    let env = env().await;
    env.put(
        "/expectation",
        r#"{"id": "e", "httpRequest": {"path": "/v"}, "httpResponse": {}}"#,
    )
    .await;
    env.serve("GET", "/v");
    env.serve("GET", "/v");
    let ok = env
        .put(
            "/mockserver/verify",
            r#"{"httpRequest": {"path": "/v"}, "times": {"atLeast": 2, "atMost": 2}}"#,
        )
        .await;
    assert_eq!(ok, (StatusCode::ACCEPTED, String::new()));
    let (status, text) = env
        .put(
            "/mockserver/verify",
            r#"{"httpRequest": {"path": "/v"}, "times": {"atLeast": 3}}"#,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert!(
        text.starts_with("Request not found at least 3 times, expected:<"),
        "{text}"
    );
    let (status, text) = env
        .put("/verify", r#"{"httpRequest": {"path": "/v"}}"#)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_ACCEPTABLE,
        "no times means exactly once"
    );
    assert!(text.starts_with("Request not found exactly once"), "{text}");
    assert_eq!(
        env.put(
            "/verify",
            r#"{"expectationId": {"id": "e"}, "times": {"atLeast": 2}}"#
        )
        .await
        .0,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn verify_sequence_needs_the_order() {
    let env = env().await;
    env.put(
        "/expectation",
        r#"{"httpRequest": {"path": "/.*"}, "httpResponse": {}}"#,
    )
    .await;
    for p in ["/a", "/b", "/c"] {
        env.serve("GET", p);
    }
    let ok = env
        .put(
            "/mockserver/verifySequence",
            r#"{"httpRequests": [{"path": "/a"}, {"path": "/c"}]}"#,
        )
        .await;
    assert_eq!(ok.0, StatusCode::ACCEPTED);
    let (status, text) = env
        .put(
            "/mockserver/verifySequence",
            r#"{"httpRequests": [{"path": "/c"}, {"path": "/a"}]}"#,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert!(text.starts_with("Request sequence not found"), "{text}");
}

#[tokio::test]
async fn retrieve_requests_and_active_expectations() {
    let env = env().await;
    env.put("/expectation", r#"{"id": "t", "httpRequest": {"path": "/t"}, "httpResponse": {}, "times": {"remainingTimes": 3, "unlimited": false}}"#).await;
    env.serve("GET", "/t");
    env.serve("GET", "/other");
    let (status, body) = env
        .put(
            "/mockserver/retrieve?type=REQUESTS&format=JSON",
            r#"{"path": "/t"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let requests = json(&body);
    assert_eq!(requests.as_array().unwrap().len(), 1);
    assert_eq!(requests[0]["path"], "/t");
    let (_, body) = env
        .put("/mockserver/retrieve?type=active_expectations", "")
        .await;
    let active = json(&body);
    assert_eq!(active[0]["id"], "t");
    assert_eq!(active[0]["times"]["remainingTimes"], 2);
    let (status, text) = env.put("/mockserver/retrieve?type=nope", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("active_expectations"), "{text}");
    let (_, logs) = env.put("/mockserver/retrieve?type=logs", "").await;
    assert_eq!(
        logs.matches("------------------------------------").count(),
        1,
        "{logs}"
    );
}

#[tokio::test]
async fn clear_by_path_and_type_and_reset() {
    let env = env().await;
    env.put("/expectation", r#"[{"id": "a", "httpRequest": {"path": "/a"}, "httpResponse": {}}, {"id": "b", "httpRequest": {"path": "/b"}, "httpResponse": {}}]"#).await;
    env.serve("GET", "/a");
    env.serve("GET", "/b");
    assert_eq!(
        env.put("/mockserver/clear?type=expectations", r#"{"path": "/a"}"#)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(env.serve("GET", "/a").0, 404);
    assert_eq!(env.serve("GET", "/b").0, 200);
    // The log was kept by type=expectations; now clear the log only.
    assert_eq!(env.recorded().await, 4);
    assert_eq!(
        env.put("/mockserver/clear?type=log", r#"{"path": "/b"}"#)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(env.recorded().await, 2);
    assert_eq!(
        env.serve("GET", "/b").0,
        200,
        "expectations survive type=log"
    );
    assert_eq!(
        env.put("/mockserver/clear", r#"{"id": "b"}"#).await.0,
        StatusCode::OK
    );
    assert_eq!(env.serve("GET", "/b").0, 404);
    env.put(
        "/expectation",
        r#"{"httpRequest": {"path": "/z"}, "httpResponse": {}}"#,
    )
    .await;
    assert_eq!(env.put("/mockserver/reset", "").await.0, StatusCode::OK);
    assert_eq!(env.app.catalog().route_count(), 0);
    assert_eq!(env.recorded().await, 0);
    assert_eq!(
        env.put("/clear?type=bogus", "").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_header_puts_expectations_in_another_service() {
    let env = env().await;
    env.app
        .change("t", |d| {
            d.create_team(serde_json::from_value(json!({"slug": "pay"})).unwrap())?;
            d.create_service(
                "pay",
                serde_json::from_value(json!({"slug": "api"})).unwrap(),
            )
        })
        .await
        .unwrap();
    let body = r#"{"httpRequest": {"path": "/card"}, "httpResponse": {"body": "card"}}"#;
    assert_eq!(
        env.put_with("/expectation", body, &[("X-Standin-Service", "pay/api")])
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(env.serve("GET", "/pay/api/card"), (200, "card".into()));
    assert!(
        !env.app
            .catalog()
            .services
            .contains_key(&ServiceKey::new("default", "default")),
        "the default service was not needed"
    );
    assert_eq!(
        env.put_with("/expectation", body, &[("X-Standin-Service", "pay/nope")])
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn refusals_are_400_with_a_reason_and_apply_nothing() {
    let env = env().await;
    let cases = [
        (
            r#"{"httpRequest": {"path": "/v"}, "httpResponseTemplate": {"templateType": "HANDLEBARS", "template": "x"}}"#,
            "MUSTACHE",
        ),
        (
            r#"[{"httpRequest": {"path": "/ok"}}, {"httpRequest": {"body": {"type": "XML_SCHEMA", "xmlSchema": "<x/>"}}}]"#,
            "/1/httpRequest/body/xmlSchema",
        ),
        (
            r#"{"httpRequest": {"path": "/v"}, "httpResponse": {"statusCode": "x"}}"#,
            "statusCode",
        ),
        (r#"{not json"#, "incorrect json format"),
        ("", "empty"),
    ];
    for (body, needle) in cases {
        let (status, text) = env.put("/mockserver/expectation", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(text.contains(needle), "{body}: {text}");
    }
    assert_eq!(env.app.catalog().route_count(), 0);
}

#[tokio::test]
async fn status_reports_the_port() {
    let env = env().await;
    let (status, body) = env.put("/mockserver/status", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["ports"], json!([1080]));
}

#[tokio::test]
async fn an_initialization_file_loads_once_however_often_it_is_applied() {
    let env = env().await;
    let file = r#"[{"httpRequest": {"path": "/init"}, "httpResponse": {"body": "from file"}}, {"id": "named", "httpRequest": {"path": "/named"}, "httpResponse": {}}]"#;
    assert_eq!(
        standin_mockserver::load_initialization_file(&env.app, file)
            .await
            .unwrap(),
        2
    );
    let events = || async {
        env.app
            .history(standin_store::EventFilter {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .len()
    };
    let before = events().await;
    assert_eq!(
        standin_mockserver::load_initialization_file(&env.app, file)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        events().await,
        before,
        "an unchanged file records no change"
    );
    let revision = env
        .app
        .catalog()
        .routes_of(&ServiceKey::new("default", "default"))
        .unwrap()["named"]
        .meta
        .revision;
    assert_eq!(revision, 1, "and bumps no revision");
    assert_eq!(env.app.catalog().route_count(), 2);
    assert_eq!(env.serve("GET", "/init"), (200, "from file".into()));
    let shorter = r#"[{"httpRequest": {"path": "/init"}, "httpResponse": {"body": "v2"}}]"#;
    standin_mockserver::load_initialization_file(&env.app, shorter)
        .await
        .unwrap();
    assert_eq!(
        env.app.catalog().route_count(),
        1,
        "expectations dropped from the file go"
    );
    assert!(
        standin_mockserver::load_initialization_file(&env.app, "{oops")
            .await
            .is_err()
    );
}

/// A clear whose body is not UTF-8 used to read as empty, which means "clear all".
#[tokio::test]
async fn a_clear_with_a_body_that_is_not_utf8_clears_nothing() {
    let env = env().await;
    let (s, _) = env
        .put(
            "/mockserver/expectation",
            r#"{"httpRequest": {"path": "/a"}, "httpResponse": {}}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, text) = env.put_bytes("/mockserver/clear", b"\xff\xfe{}", &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("UTF-8"), "{text}");
    assert_eq!(env.app.catalog().route_count(), 1);
}

/// A time to live past the year 9999 wrapped around and expired at once.
#[tokio::test]
async fn an_enormous_time_to_live_never_expires() {
    let env = env().await;
    let (s, _) = env
        .put(
            "/mockserver/expectation",
            r#"{"httpRequest": {"path": "/ttl"}, "httpResponse": {"statusCode": 203}, "timeToLive": {"timeUnit": "DAYS", "timeToLive": 1e300}}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(env.serve("GET", "/ttl").0, 203);
}

#[tokio::test]
async fn an_unreadable_actor_is_refused_before_anything_changes() {
    let env = env().await;
    let long = "a".repeat(201);
    for actor in [long.as_str(), " "] {
        let (s, text) = env
            .put_with(
                "/mockserver/expectation",
                r#"{"httpRequest": {"path": "/a"}}"#,
                &[("x-standin-actor", actor)],
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("X-Standin-Actor"), "{text}");
    }
    assert_eq!(env.app.catalog().route_count(), 0);
}

/// An expectation nested deeper than the store can read back was accepted, and the next
/// start failed. It is refused now, with the pointer of the deepest point.
#[tokio::test]
async fn an_expectation_nested_too_deep_is_refused() {
    let env = env().await;
    // 110 levels parse (serde_json reads 128); stored with the route's own nesting they
    // were beyond what the store could read back.
    let mut matcher = serde_json::json!("x");
    for _ in 0..110 {
        matcher = serde_json::json!({ "a": matcher });
    }
    let body = serde_json::json!({
        "httpRequest": {"path": "/deep", "body": {"type": "JSON", "json": matcher}},
        "httpResponse": {}
    });
    let (s, text) = env.put("/mockserver/expectation", &body.to_string()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("deeper than 100"), "{text}");
    assert_eq!(env.app.catalog().route_count(), 0);
}

/// `retrieve?type=request_responses` returned only each response's status.
#[tokio::test]
async fn request_responses_include_the_response() {
    let env = env().await;
    env.put(
        "/mockserver/expectation",
        r#"{"httpRequest": {"path": "/rr"}, "httpResponse": {"statusCode": 201, "body": "made"}}"#,
    )
    .await;
    assert_eq!(env.serve("GET", "/rr").0, 201);
    let (s, text) = env
        .put("/mockserver/retrieve?type=request_responses", "")
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let list = json(&text);
    let response = &list[0]["httpResponse"];
    assert_eq!(response["statusCode"], 201);
    assert_eq!(response["reasonPhrase"], "Created");
    assert_eq!(response["body"]["string"], "made", "{response}");
}

#[tokio::test]
async fn unsupported_endpoints_say_so_by_name() {
    let env = env().await;
    for endpoint in ["bind", "stop"] {
        let (s, text) = env.put(&format!("/mockserver/{endpoint}"), "{}").await;
        assert_eq!(s, StatusCode::NOT_IMPLEMENTED, "{endpoint}");
        assert!(text.contains(&format!("/mockserver/{endpoint}")), "{text}");
    }
}

#[tokio::test]
async fn openapi_expectations_refuse_what_they_cannot_read() {
    let env = env().await;
    for (body, says) in [
        ("{}", "specUrlOrPayload"),
        (
            r#"{"specUrlOrPayload": "https://example.com/openapi.json"}"#,
            "is a URL or a file",
        ),
        (
            r#"{"specUrlOrPayload": {"openapi": "3.0.0", "paths": []}}"#,
            "/paths",
        ),
        (
            r#"{"specUrlOrPayload": {"openapi": "3.0.0", "paths": {}}, "operationsAndResponses": {"x": "ok"}}"#,
            "needs a status code",
        ),
    ] {
        let (s, text) = env.put("/mockserver/openapi", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(text.contains(says), "{body}: {text}");
    }
}
