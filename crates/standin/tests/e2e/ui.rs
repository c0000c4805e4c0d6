//! What the web UI needs from the running binary: "try it" through the real serving
//! pipeline, the mock listener's address, and a live event stream that does not keep the
//! process from stopping.

use crate::support::{Standin, http, json_call};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

const TRY: &str = "/api/v1/teams/demo/services/petstore/try";

#[test]
fn try_answers_from_a_draft_through_the_serving_pipeline_and_records_nothing() {
    let s = Standin::start(&["--demo"]);
    // The saved route answers without a draft.
    let (status, saved) = json_call(
        s.admin,
        "POST",
        TRY,
        Some(json!({"request": {"method": "GET", "path": "/pets/7"}})),
    );
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["matchedRoute"], "get-pet");
    assert_eq!(saved["response"]["body"], r#"{"id": "7", "name": "Pet 7"}"#);

    // A draft of the same route answers in its place: templated, with a header.
    let draft = json!({"id": "get-pet", "http": {
        "request": {"method": "GET", "path": "/pets/{id}"},
        "response": {"status": 202, "headers": {"X-Draft": "yes"},
            "body": {"text": "draft {{request.path.id}}"}, "templated": true}}});
    let (status, tried) = json_call(
        s.admin,
        "POST",
        TRY,
        Some(json!({"request": {"method": "GET", "path": "/pets/9"}, "route": draft})),
    );
    assert_eq!(status, 200, "{tried}");
    assert_eq!(tried["status"], 202);
    assert_eq!(tried["response"]["body"], "draft 9");
    assert_eq!(tried["response"]["headers"]["x-draft"], json!(["yes"]));

    // An unmatched sample shows near misses, as the journal would.
    let (_, missed) = json_call(
        s.admin,
        "POST",
        TRY,
        Some(json!({"request": {"method": "DELETE", "path": "/pets/9"}})),
    );
    assert_eq!(missed["status"], 404);
    assert_eq!(missed["matchedRoute"], serde_json::Value::Null);
    assert!(
        !missed["nearMisses"].as_array().unwrap().is_empty(),
        "{missed}"
    );

    // Nothing was saved, journaled or counted; the mock still serves the saved route.
    let r = http(s.mock, "GET", "/demo/petstore/pets/9", &[], b"");
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"id": "9", "name": "Pet 9"}"#
    );
    let (_, entries) = json_call(
        s.admin,
        "GET",
        "/api/v1/journal?service=demo/petstore",
        None,
    );
    assert_eq!(
        entries.as_array().unwrap().len(),
        1,
        "only the real request: {entries}"
    );
    let (_, usage) = json_call(s.admin, "GET", "/api/v1/usage?service=demo/petstore", None);
    assert_eq!(usage["services"][0]["requests"], 1, "{usage}");
}

#[test]
fn a_draft_that_does_not_compile_is_refused_with_its_pointer() {
    let s = Standin::start(&["--demo"]);
    let draft =
        json!({"id": "x", "http": {"request": {"path": "/p", "query": {"a": {"regex": "("}}}}});
    let (status, body) = json_call(
        s.admin,
        "POST",
        TRY,
        Some(json!({"request": {"path": "/p"}, "route": draft})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["pointer"], "/route/http/request/query/a/regex");
    let (status, body) = json_call(
        s.admin,
        "POST",
        TRY,
        Some(json!({"request": {"path": "no-slash"}})),
    );
    assert_eq!(
        (status, body["pointer"].as_str()),
        (400, Some("/request/path"))
    );
}

#[test]
fn status_names_the_mock_listener() {
    let s = Standin::start(&[]);
    let (_, status) = json_call(s.admin, "GET", "/api/v1/status", None);
    assert_eq!(status["mockListener"]["address"], s.mock.to_string());
}

#[test]
fn an_open_event_stream_does_not_hold_up_shutdown() {
    let mut s = Standin::start(&["--demo"]);
    let mut stream = TcpStream::connect(s.admin).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /api/v1/journal/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    // A request arrives on the stream as an event.
    assert_eq!(
        http(s.mock, "GET", "/demo/petstore/pets", &[], b"").status,
        200
    );
    let mut seen = String::new();
    while !seen.contains("event: entry") {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the stream ended early"
        );
        seen.push_str(&line);
    }
    assert!(
        s.terminate(Duration::from_secs(10)),
        "standin did not stop within 10 s with a watcher connected"
    );
}
