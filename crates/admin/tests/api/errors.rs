//! Input handling: malformed and invalid bodies (the table is `bad_input.json`), query
//! strings (`bad_query.json`), the actor header, content types, cross-origin writes, body
//! size, and unknown URLs or methods.

use crate::{Api, api, assert_error, call, send_with, strings};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

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

/// The requests in `bad_input.json` are each refused with a status, a stable error code,
/// the JSON pointer of what is wrong and a message that says why; none of them changes
/// anything. They run against a seeded catalog so that conflicts and updates have
/// something to collide with.
#[tokio::test]
async fn bad_input_is_refused_with_a_pointer_and_changes_nothing() {
    let api = api().await;
    api.seed().await;
    api.service("pay", json!({"slug": "web", "hosts": ["web.example"]}))
        .await;
    refuse_all(&api, include_str!("bad_input.json")).await;
    let (_, r) = api.get("/api/v1/teams/pay/services/api/routes/r1").await;
    assert_eq!(r["meta"]["revision"], 1);
}

/// One request from a table of refusals, and the refusal it must get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refusal {
    /// What the case shows, for the reader and the failure message.
    about: String,
    method: String,
    path: String,
    /// The body, sent as this JSON; no body when absent.
    #[serde(default)]
    body: Option<Value>,
    status: u16,
    error: String,
    /// The JSON pointer the error must name, or null when it must name none.
    pointer: Option<String>,
    /// Text the message must contain; empty when any message will do.
    contains: String,
}

/// Sends every request of `table` (a JSON list of [`Refusal`]s) and checks each answer,
/// and that the change log after each one is the change log before the first.
async fn refuse_all(api: &Api, table: &str) {
    let cases: Vec<Refusal> = serde_json::from_str(table).expect("a list of refusals");
    assert!(!cases.is_empty(), "the table has cases");
    let before = api.history().await;
    for case in &cases {
        let body = case.body.as_ref().map(Value::to_string);
        let got = call(&api.router, &case.method, &case.path, body.as_deref(), None).await;
        check(case, &got, &before, &api.history().await);
    }
}

#[track_caller]
fn check(
    case: &Refusal,
    (status, answer): &(StatusCode, Value),
    before: &[Value],
    after: &[Value],
) {
    let body = case.body.as_ref().map(Value::to_string).unwrap_or_default();
    let request = format!("{} ({} {} {body})", case.about, case.method, case.path);
    assert_eq!(status.as_u16(), case.status, "{request}: {answer}");
    assert_eq!(answer["error"], case.error.as_str(), "{request}: {answer}");
    match &case.pointer {
        Some(pointer) => assert_eq!(answer["pointer"], pointer.as_str(), "{request}: {answer}"),
        None => assert!(
            answer.get("pointer").is_none(),
            "{request}: no pointer expected: {answer}"
        ),
    }
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "{request}: an error says what is wrong: {answer}"
    );
    assert!(
        message.contains(&case.contains),
        "{request}: the message should contain {:?}: {answer}",
        case.contains
    );
    assert_eq!(
        after, before,
        "{request}: a refused request left a change behind"
    );
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

#[tokio::test]
async fn bad_query_strings_get_json_errors_naming_the_parameter() {
    let api = api().await;
    refuse_all(&api, include_str!("bad_query.json")).await;
}

#[tokio::test]
async fn an_array_is_not_a_team() {
    let api = api().await;
    let got = api.raw("POST", "/api/v1/teams", r#"["x"]"#).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("/"));
    assert_eq!(api.get("/api/v1/teams").await.1, serde_json::json!([]));
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
async fn unknown_urls_and_wrong_methods_answer_in_the_error_shape() {
    let api = api().await;
    let (s, b) = api.get("/api/v1/nothing-here").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["error"], "no_such_endpoint");
    let (s, b) = call(&api.router, "DELETE", "/api/v1/search", None, None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{b}");
    assert_eq!(b["error"], "method_not_allowed");
}
