//! End-to-end tests: the real `standin` binary on loopback ports chosen by the OS.

// These tests are plain threads driving a separate process: sleeping one blocks no
// runtime.
#![allow(clippy::disallowed_methods)]

mod behaviour;
mod durability;
mod forward;
mod import;
mod limits;
mod mockserver;
mod operations;
mod support;
mod templates;
mod ui;

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::{Standin, http, json_call};

#[test]
fn the_demo_answers_right_after_start() {
    let s = Standin::start(&["--demo"]);
    let r = http(s.mock, "GET", "/demo/petstore/pets", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let pets: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(pets[0]["name"], "Rex");
    let r = http(s.mock, "GET", "/demo/petstore/pets/7", &[], b"");
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"id": "7", "name": "Pet 7"}"#
    );
}

#[test]
fn a_route_created_through_the_api_is_served_at_once() {
    let s = Standin::start(&[]);
    assert_eq!(
        json_call(
            s.admin,
            "POST",
            "/api/v1/teams",
            Some(json!({"slug": "pay"}))
        )
        .0,
        201
    );
    assert_eq!(
        json_call(
            s.admin,
            "POST",
            "/api/v1/teams/pay/services",
            Some(json!({"slug": "cards"}))
        )
        .0,
        201
    );
    let route = json!({"id": "r", "http": {"request": {"method": "GET", "path": "/cards/{id}"}, "response": {"status": 200, "body": {"text": "card"}}}});
    assert_eq!(
        json_call(
            s.admin,
            "POST",
            "/api/v1/teams/pay/services/cards/routes",
            Some(route)
        )
        .0,
        201
    );
    // No polling and no sleep: the acknowledgement means the route is published.
    let r = http(s.mock, "GET", "/pay/cards/cards/9", &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"card"[..]));
    assert_eq!(
        json_call(
            s.admin,
            "DELETE",
            "/api/v1/teams/pay/services/cards/routes/r",
            None
        )
        .0,
        204
    );
    assert_eq!(
        http(s.mock, "GET", "/pay/cards/cards/9", &[], b"").status,
        404
    );
}

#[test]
fn acknowledged_changes_survive_kill_9() {
    let mut s = Standin::start(&[]);
    json_call(s.admin, "POST", "/api/v1/teams", Some(json!({"slug": "t"})));
    json_call(
        s.admin,
        "POST",
        "/api/v1/teams/t/services",
        Some(json!({"slug": "s"})),
    );
    for i in 0..40 {
        let route = json!({"id": format!("r{i}"), "http": {"request": {"path": format!("/item/{i}")}, "response": {"body": {"text": format!("item {i}")}}}});
        let (status, _) = json_call(
            s.admin,
            "POST",
            "/api/v1/teams/t/services/s/routes",
            Some(route),
        );
        assert_eq!(status, 201);
    }
    // The last write was just acknowledged; kill the process without any chance to flush.
    s.kill_9();
    let s = Standin::restart(s, &[]);
    for i in 0..40 {
        let r = http(s.mock, "GET", &format!("/t/s/item/{i}"), &[], b"");
        assert_eq!(
            (r.status, String::from_utf8_lossy(&r.body).to_string()),
            (200, format!("item {i}"))
        );
    }
    let (_, history) = json_call(s.admin, "GET", "/api/v1/history?key=t/s&limit=1000", None);
    assert_eq!(
        history.as_array().unwrap().len(),
        41,
        "one event per route plus the service"
    );
}

#[test]
fn the_journal_stays_under_its_cap() {
    let s = Standin::start(&["--demo", "--journal-capacity", "25"]);
    for _ in 0..120 {
        assert_eq!(
            http(s.mock, "GET", "/demo/petstore/pets", &[], b"").status,
            200
        );
    }
    let (_, stats) = json_call(s.admin, "GET", "/api/v1/journal/stats", None);
    assert_eq!(stats["retained"], 25);
    assert_eq!(
        stats["recorded"].as_u64().unwrap() + stats["dropped"].as_u64().unwrap(),
        120
    );
    assert_eq!(
        stats["evicted"].as_u64().unwrap(),
        stats["recorded"].as_u64().unwrap() - 25
    );
    let (_, entries) = json_call(
        s.admin,
        "GET",
        "/api/v1/journal?service=demo/petstore&limit=1000",
        None,
    );
    assert_eq!(entries.as_array().unwrap().len(), 25);
}

#[test]
fn verification_counts_what_the_mock_received() {
    let s = Standin::start(&["--demo"]);
    for _ in 0..3 {
        http(s.mock, "GET", "/demo/petstore/pets/1", &[], b"");
    }
    let verify = |count: Value| {
        json_call(
            s.admin,
            "POST",
            "/api/v1/journal/verify",
            Some(
                json!({"service": "demo/petstore", "request": {"method": "GET", "path": "/pets/{id}"}, "count": count}),
            ),
        )
    };
    assert_eq!(verify(json!({"exactly": 3})).0, 200);
    let (status, body) = verify(json!({"atLeast": 4}));
    assert_eq!(status, 406);
    assert!(
        body["message"].as_str().unwrap().contains("found 3"),
        "{body}"
    );
    assert_eq!(verify(json!({"atMost": 2})).0, 406);
}

#[test]
fn an_unmatched_request_gets_near_misses() {
    let s = Standin::start(&["--demo"]);
    let r = http(
        s.mock,
        "POST",
        "/demo/petstore/pets",
        &[("Content-Type", "application/json")],
        br#"{"nom": 1}"#,
    );
    assert_eq!(r.status, 404);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["error"], "no_route_matched");
    assert_eq!(body["nearMisses"][0]["routeId"], "create-pet");
    let failed = body["nearMisses"][0]["failed"][0].as_str().unwrap();
    assert!(failed.contains("JSON Schema"), "{body}");
    // It says which keyword failed and why: the required property that is missing.
    assert!(
        failed.contains("required") && failed.contains("\"name\""),
        "{failed}"
    );
    let r = http(s.mock, "GET", "/nobody/here", &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap()["error"],
        "no_service"
    );
}

#[test]
fn bad_requests_do_not_disturb_other_connections() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("limits.toml");
    std::fs::write(
        &config,
        "[limits]\nmax-body-bytes = 1024\nmax-header-bytes = 4096\n",
    )
    .unwrap();
    let s = Standin::start(&["--demo", "--config", config.to_str().unwrap()]);

    // A keep-alive connection that stays open through everything below.
    let mut keep = TcpStream::connect(s.mock).unwrap();
    keep.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = b"GET /demo/petstore/pets HTTP/1.1\r\nHost: x\r\n\r\n";
    keep.write_all(request).unwrap();
    assert!(support::read_one_response(&mut keep).starts_with("HTTP/1.1 200"));

    // Garbage instead of HTTP.
    let mut junk = TcpStream::connect(s.mock).unwrap();
    junk.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    junk.write_all(b"\x16\x03\x01 this is not http\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let _ = junk.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 400"),
        "{reply}"
    );

    // Headers over the limit.
    let big = format!(
        "GET /demo/petstore/pets HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let r = support::raw(s.mock, big.as_bytes());
    assert!(r.starts_with("HTTP/1.1 431"), "{}", &r[..r.len().min(200)]);

    // A body over the limit.
    let r = http(
        s.mock,
        "POST",
        "/demo/petstore/pets",
        &[("Content-Type", "application/json")],
        &vec![b'x'; 5000],
    );
    assert_eq!(r.status, 413);

    // The first connection is still fine.
    keep.write_all(request).unwrap();
    assert!(support::read_one_response(&mut keep).starts_with("HTTP/1.1 200"));
}

#[test]
fn h2c_with_prior_knowledge_is_served_on_the_same_port() {
    let s = Standin::start(&["--demo"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, version, body) = rt.block_on(support::h2c_get(s.mock, "/demo/petstore/pets"));
    assert_eq!(status, 200);
    assert_eq!(version, http::Version::HTTP_2);
    assert!(body.starts_with(b"[{\"id\":1"));
}

#[test]
fn admin_errors_name_the_field() {
    let s = Standin::start(&[]);
    let (status, body) = support::raw_json(
        s.admin,
        "POST",
        "/api/v1/teams",
        "{\n \"slug\": \"a\",\n oops }",
    );
    assert_eq!(status, 400);
    assert_eq!(
        (
            body["error"].as_str(),
            body["line"].as_u64(),
            body["column"].as_u64()
        ),
        (Some("invalid_json"), Some(3), Some(2))
    );
    let (status, body) = json_call(
        s.admin,
        "POST",
        "/api/v1/teams",
        Some(json!({"slug": "a", "colour": "red"})),
    );
    assert_eq!((status, body["pointer"].as_str()), (400, Some("/colour")));
}

#[test]
fn help_explains_each_command() {
    let out = support::run(&["--help"]);
    assert!(out.contains("serve") && out.contains("openapi"), "{out}");
    let out = support::run(&["serve", "--help"]);
    for flag in [
        "--data-dir",
        "--mock-addr",
        "--admin-addr",
        "--config",
        "--demo",
        "STANDIN_DATA_DIR",
    ] {
        assert!(out.contains(flag), "serve --help lacks {flag}:\n{out}");
    }
}

#[test]
fn environment_variables_configure_serve() {
    let dir = tempfile::tempdir().unwrap();
    let s = Standin::start_with_env(
        &[],
        &[("STANDIN_DEMO", "true"), ("STANDIN_JOURNAL_CAPACITY", "3")],
        dir,
    );
    let (_, stats) = json_call(s.admin, "GET", "/api/v1/journal/stats", None);
    assert_eq!(stats["capacityPerService"], 3);
    assert_eq!(
        http(s.mock, "GET", "/demo/petstore/pets", &[], b"").status,
        200
    );
}

#[test]
fn the_openapi_command_prints_the_served_document() {
    let printed: Value = serde_json::from_str(&support::run(&["openapi"])).unwrap();
    let s = Standin::start(&[]);
    let (status, served) = json_call(s.admin, "GET", "/api/v1/openapi.json", None);
    assert_eq!(status, 200);
    assert_eq!(printed, served);
    assert!(printed["paths"]["/api/v1/teams/{team}/services/{service}/routes"]["put"].is_object());
}

/// The journal keeps the response too, and keeps credentials out.
#[test]
fn the_journal_keeps_responses_and_redacts_credentials() {
    let s = Standin::start(&["--demo"]);
    let r = http(
        s.mock,
        "GET",
        "/demo/petstore/pets",
        &[
            ("Authorization", "Bearer secret-token"),
            ("Cookie", "session=abc; theme=dark"),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    let (_, entries) = json_call(
        s.admin,
        "GET",
        "/api/v1/journal?service=demo/petstore",
        None,
    );
    let e = &entries[0];
    assert_eq!(
        e["request"]["headers"]["authorization"],
        json!(["<redacted>"])
    );
    assert_eq!(
        e["request"]["headers"]["cookie"],
        json!(["session=<redacted>; theme=<redacted>"])
    );
    assert!(!entries.to_string().contains("secret-token"));
    assert_eq!(e["response"]["status"], 200);
    assert!(
        e["response"]["body"].as_str().unwrap().contains("Rex"),
        "{e}"
    );
    assert_eq!(
        e["response"]["headers"]["content-type"],
        json!(["application/json"])
    );
}

/// [F] A status without a standard reason phrase went out as `299 <none>`.
#[test]
fn a_non_standard_status_has_an_empty_or_given_reason() {
    let s = Standin::start(&["--demo"]);
    for (id, response, line) in [
        ("plain", json!({"status": 299}), "HTTP/1.1 299 \r\n"),
        (
            "named",
            json!({"status": 299, "reason": "Fine"}),
            "HTTP/1.1 299 Fine\r\n",
        ),
    ] {
        let route = json!({"http": {"request": {"path": format!("/{id}")}, "response": response}});
        let (st, b) = json_call(
            s.admin,
            "PUT",
            &format!("/api/v1/teams/demo/services/petstore/routes/{id}"),
            Some(route),
        );
        assert_eq!(st, 201, "{b}");
        let raw = support::raw(
            s.mock,
            format!("GET /demo/petstore/{id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        assert!(raw.starts_with(line), "{raw:?}");
    }
}

/// [F] `standin openapi | head` panicked on the broken pipe.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_standin"))
        .arg("openapi")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then close the pipe as `head -c 1` would.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// [F] A start that failed later (the admin port was taken) had already applied the
/// initialization file and the demo. Ports are bound first now, so it applies nothing.
#[test]
fn a_start_that_fails_on_a_taken_port_applies_nothing() {
    let first = Standin::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let init = dir.path().join("init.json");
    std::fs::write(&init, r#"[{"httpRequest": {"path": "/x"}}]"#).unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["serve", "--demo", "--mock-addr", "127.0.0.1:0"])
        .arg("--admin-addr")
        .arg(first.admin.to_string())
        .arg("--data-dir")
        .arg(&data)
        .arg("--mockserver-init")
        .arg(&init)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on"), "{err}");
    assert!(!data.join("standin.db").exists(), "nothing was stored");
}

/// [F] Journal sequence numbers restarted at 1 after a restart, so an `after=SEQ`
/// poller missed entries.
#[test]
fn journal_sequence_numbers_keep_growing_across_a_restart() {
    let s = Standin::start(&["--demo"]);
    let seq = |s: &Standin| {
        assert_eq!(
            http(s.mock, "GET", "/demo/petstore/pets", &[], b"").status,
            200
        );
        let (_, e) = json_call(
            s.admin,
            "GET",
            "/api/v1/journal?service=demo/petstore&limit=1",
            None,
        );
        e[0]["seq"].as_u64().unwrap()
    };
    let before = seq(&s);
    let s = Standin::restart(s, &["--demo"]);
    let after = seq(&s);
    assert!(after > before, "{after} after {before}");
    let (_, polled) = json_call(
        s.admin,
        "GET",
        &format!("/api/v1/journal?service=demo/petstore&after={before}"),
        None,
    );
    assert_eq!(polled.as_array().unwrap().len(), 1, "{polled}");
}
