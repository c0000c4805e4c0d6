//! Realistic behaviour through the real binary: scenarios under concurrent clients, the
//! scenarios API, and sequences.

use crate::support::{Standin, http, json_call};
use serde_json::json;
use std::sync::{Arc, Barrier};

const SCENARIOS: &str = "/api/v1/teams/demo/services/petstore/scenarios";

fn put_route(s: &Standin, id: &str, doc: serde_json::Value) {
    let (status, body) = json_call(
        s.admin,
        "PUT",
        &format!("/api/v1/teams/demo/services/petstore/routes/{id}"),
        Some(doc),
    );
    assert!(status == 201 || status == 200, "{body}");
}

#[test]
fn a_scenario_moves_once_per_matched_request_under_32_concurrent_clients() {
    let s = Standin::start(&["--demo"]);
    put_route(
        &s,
        "adopt",
        json!({"scenario": {"name": "adoption", "requiredState": "Started", "newState": "Adopted"},
            "http": {"request": {"method": "POST", "path": "/adopt"}, "response": {"status": 201, "body": {"text": "yours"}}}}),
    );
    put_route(
        &s,
        "taken",
        json!({"priority": -1, "http": {"request": {"method": "POST", "path": "/adopt"},
            "response": {"status": 409, "body": {"text": "taken"}}}}),
    );
    for round in 0..5 {
        let barrier = Arc::new(Barrier::new(32));
        let mock = s.mock;
        let clients: Vec<_> = (0..32)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    http(mock, "POST", "/demo/petstore/adopt", &[], b"").status
                })
            })
            .collect();
        let statuses: Vec<u16> = clients.into_iter().map(|c| c.join().unwrap()).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "round {round}: {statuses:?}"
        );
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 31);
        let (_, list) = json_call(s.admin, "GET", SCENARIOS, None);
        assert_eq!(
            list,
            json!([{"name": "adoption", "state": "Adopted", "states": ["Started", "Adopted"]}])
        );
        let (status, _) = json_call(s.admin, "DELETE", SCENARIOS, None);
        assert_eq!(status, 204);
    }
}

#[test]
fn the_scenarios_api_sets_and_resets_states_and_names_what_is_wrong() {
    let s = Standin::start(&["--demo"]);
    put_route(
        &s,
        "ship",
        json!({"scenario": {"name": "order", "requiredState": "Paid", "newState": "Shipped"},
            "http": {"request": {"method": "POST", "path": "/ship"}, "response": {"status": 200}}}),
    );
    assert_eq!(
        http(s.mock, "POST", "/demo/petstore/ship", &[], b"").status,
        404
    );
    let one = format!("{SCENARIOS}/order");
    let (status, body) = json_call(s.admin, "PUT", &one, Some(json!({"state": "Paid"})));
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("Paid")),
        "{body}"
    );
    assert_eq!(
        http(s.mock, "POST", "/demo/petstore/ship", &[], b"").status,
        200
    );
    let (_, body) = json_call(s.admin, "GET", &one, None);
    assert_eq!(body["state"], "Shipped");

    let (status, body) = json_call(s.admin, "PUT", &one, Some(json!({"state": "Lost"})));
    assert_eq!((status, body["pointer"].as_str()), (400, Some("/state")));
    assert!(
        body["message"].as_str().unwrap().contains("\"Shipped\""),
        "{body}"
    );
    let (status, _) = json_call(
        s.admin,
        "PUT",
        &format!("{SCENARIOS}/nothing"),
        Some(json!({"state": "Paid"})),
    );
    assert_eq!(status, 404);
    let (status, _) = json_call(s.admin, "DELETE", &one, None);
    assert_eq!(status, 204);
    let (_, body) = json_call(s.admin, "GET", &one, None);
    assert_eq!(body["state"], "Started");

    // Editing another route of the service keeps the scenario where it is.
    json_call(s.admin, "PUT", &one, Some(json!({"state": "Paid"})));
    put_route(
        &s,
        "other",
        json!({"http": {"request": {"path": "/other"}, "response": {"status": 204}}}),
    );
    let (_, body) = json_call(s.admin, "GET", &one, None);
    assert_eq!(
        body["state"], "Paid",
        "a change elsewhere does not reset it"
    );
}

#[test]
fn a_sequence_answers_in_turn_through_the_mock_port() {
    let s = Standin::start(&["--demo"]);
    put_route(
        &s,
        "flaky",
        json!({"http": {"request": {"path": "/flaky"}, "sequence": {"mode": "cycle",
            "responses": [{"status": 503}, {"status": 503}, {"status": 200, "body": {"text": "ok"}}]}}}),
    );
    let got: Vec<u16> = (0..6)
        .map(|_| http(s.mock, "GET", "/demo/petstore/flaky", &[], b"").status)
        .collect();
    assert_eq!(got, [503, 503, 200, 503, 503, 200]);
    // A bad sequence is refused with its pointer.
    let (status, body) = json_call(
        s.admin,
        "PUT",
        "/api/v1/teams/demo/services/petstore/routes/bad",
        Some(json!({"http": {"sequence": {"responses": []}}})),
    );
    assert_eq!(
        (status, body["pointer"].as_str()),
        (400, Some("/http/sequence/responses"))
    );
}

/// Reads a whole HTTP/1.1 response on a fresh connection; the time to its last byte and
/// the raw text.
fn timed_get(mock: std::net::SocketAddr, path: &str) -> (std::time::Duration, String) {
    use std::io::{Read, Write};
    let started = std::time::Instant::now();
    let mut c = std::net::TcpStream::connect(mock).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    (
        started.elapsed(),
        String::from_utf8_lossy(&out).into_owned(),
    )
}

#[test]
fn delays_are_drawn_per_request_and_bodies_can_be_paced() {
    let s = Standin::start(&["--demo"]);
    put_route(
        &s,
        "slow",
        json!({"http": {"request": {"path": "/slow"},
            "response": {"delay": {"uniform": {"min": 200, "max": 250}}, "body": {"text": "late"}}}}),
    );
    let (took, raw) = timed_get(s.mock, "/demo/petstore/slow");
    assert!(raw.ends_with("late"), "{raw}");
    assert!(took >= std::time::Duration::from_millis(200), "{took:?}");

    // Four pieces over 300 ms, with the body's Content-Length.
    put_route(
        &s,
        "drip",
        json!({"http": {"request": {"path": "/drip"},
            "response": {"dribble": {"chunks": 4, "durationMs": 300}, "body": {"text": "aaaabbbbccccdddd"}}}}),
    );
    let (took, raw) = timed_get(s.mock, "/demo/petstore/drip");
    assert!(raw.contains("content-length: 16"), "{raw}");
    assert!(raw.ends_with("aaaabbbbccccdddd"), "{raw}");
    assert!(took >= std::time::Duration::from_millis(290), "{took:?}");

    // 500 bytes at 1,000 bytes a second: five pieces 100 ms apart.
    put_route(
        &s,
        "narrow",
        json!({"http": {"request": {"path": "/narrow"},
            "response": {"bytesPerSecond": 1000, "body": {"text": "x".repeat(500)}}}}),
    );
    let (took, raw) = timed_get(s.mock, "/demo/petstore/narrow");
    assert!(raw.ends_with(&"x".repeat(500)), "{raw}");
    assert!(took >= std::time::Duration::from_millis(390), "{took:?}");

    // Out of range: refused with the pointer.
    let (status, body) = json_call(
        s.admin,
        "PUT",
        "/api/v1/teams/demo/services/petstore/routes/bad",
        Some(json!({"http": {"response": {"delay": {"uniform": {"min": 9, "max": 3}}}}})),
    );
    assert_eq!(
        (status, body["pointer"].as_str()),
        (400, Some("/http/response/delay/uniform/min"))
    );
    let (status, body) = json_call(
        s.admin,
        "PATCH",
        "/api/v1/teams/demo/services/petstore",
        Some(json!({"defaultDelay": {"lognormal": {"median": 10, "sigma": 9}}})),
    );
    assert_eq!(
        (status, body["pointer"].as_str()),
        (400, Some("/defaultDelay/lognormal/sigma"))
    );
}

#[test]
fn delays_are_timers_not_threads() {
    // Two worker threads (the test harness's setting); 40 requests that each wait 500 ms
    // finish together, not two at a time.
    let s = Standin::start(&["--demo"]);
    put_route(
        &s,
        "wait",
        json!({"http": {"request": {"path": "/wait"}, "response": {"delay": {"fixed": 500}}}}),
    );
    let started = std::time::Instant::now();
    let mock = s.mock;
    let clients: Vec<_> = (0..40)
        .map(|_| {
            std::thread::spawn(move || http(mock, "GET", "/demo/petstore/wait", &[], b"").status)
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), 200);
    }
    // Two at a time they would take 10 s.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn chaos_is_switched_on_the_service_without_touching_routes() {
    let s = Standin::start(&["--demo"]);
    let svc = "/api/v1/teams/demo/services/petstore";
    let (_, history_before) = json_call(
        s.admin,
        "GET",
        "/api/v1/history?key=demo/petstore/&entity=route&limit=1000",
        None,
    );
    // Every answer of one route becomes a 503.
    let (status, body) = json_call(
        s.admin,
        "PATCH",
        svc,
        Some(
            json!({"chaos": {"rules": [{"routes": ["list-pets"], "probability": 1, "status": 503}]}}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let r = http(s.mock, "GET", "/demo/petstore/pets", &[], b"");
    assert_eq!(r.status, 503);
    let b: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (b["error"].as_str(), b["source"].as_str()),
        (Some("chaos"), Some("configured"))
    );
    assert_eq!(
        http(s.mock, "GET", "/demo/petstore/pets/1", &[], b"").status,
        200,
        "other routes are untouched"
    );

    // A connection fault: a real client sees the connection close with no answer.
    json_call(
        s.admin,
        "PATCH",
        svc,
        Some(json!({"chaos": {"rules": [{"probability": 1, "fault": "dropConnection"}]}})),
    );
    let raw = crate::support::raw(
        s.mock,
        b"GET /demo/petstore/pets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(raw.is_empty(), "no response: {raw:?}");

    // A rate limit: the fourth request within a second gets 429 with Retry-After.
    json_call(
        s.admin,
        "PATCH",
        svc,
        Some(json!({"chaos": {"rules": null, "requestsPerSecond": 3}})),
    );
    let statuses: Vec<(u16, Option<String>)> = (0..8)
        .map(|_| {
            let r = http(s.mock, "GET", "/demo/petstore/pets", &[], b"");
            (r.status, r.header("retry-after").map(str::to_string))
        })
        .collect();
    assert!(
        statuses.iter().filter(|(s, _)| *s == 200).count() <= 6,
        "{statuses:?}"
    );
    let limited: Vec<_> = statuses.iter().filter(|(s, _)| *s == 429).collect();
    assert!(!limited.is_empty(), "{statuses:?}");
    assert!(limited.iter().all(|(_, ra)| ra.as_deref() == Some("1")));

    // Off: the settings stay, nothing applies.
    json_call(
        s.admin,
        "PATCH",
        svc,
        Some(json!({"chaos": {"enabled": false}})),
    );
    assert!((0..10).all(|_| http(s.mock, "GET", "/demo/petstore/pets", &[], b"").status == 200));
    let (_, service) = json_call(s.admin, "GET", svc, None);
    assert_eq!(service["chaos"]["requestsPerSecond"], 3);

    // Not one route was edited for any of it.
    let (_, history_after) = json_call(
        s.admin,
        "GET",
        "/api/v1/history?key=demo/petstore/&entity=route&limit=1000",
        None,
    );
    assert_eq!(history_before, history_after);

    let (status, body) = json_call(
        s.admin,
        "PATCH",
        svc,
        Some(json!({"chaos": {"rules": [{"probability": 2, "status": 500}]}})),
    );
    assert_eq!(
        (status, body["pointer"].as_str()),
        (400, Some("/chaos/rules/0/probability"))
    );
}

/// A stand-in for the real service: answers `legacy PATH` on its port until stopped.
struct Legacy {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Legacy {
    fn start(port: u16) -> (Self, u16) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut c, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .unwrap();
                let mut buf = [0u8; 4096];
                let n = c.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split(' ').nth(1).unwrap_or("?").to_string();
                let body = format!("legacy {path}");
                let _ = write!(
                    c,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Upstream: legacy\r\nSet-Cookie: session=secret\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (
            Legacy {
                stop,
                thread: Some(thread),
            },
            port,
        )
    }
}

impl Drop for Legacy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Team `shop` and its service `slug` in front of the real service on `port`, with one more
/// service setting.
fn shop_service(s: &Standin, slug: &str, port: u16, setting: &str, value: serde_json::Value) {
    json_call(
        s.admin,
        "POST",
        "/api/v1/teams",
        Some(json!({"slug": "shop"})),
    );
    let mut service = json!({"slug": slug, "upstream": format!("http://127.0.0.1:{port}")});
    service[setting] = value;
    let (status, body) = json_call(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services",
        Some(service),
    );
    assert_eq!(status, 201, "{body}");
}

#[test]
fn unmatched_requests_reach_the_upstream_and_a_fallback_covers_its_failures() {
    let (legacy, port) = Legacy::start(0);
    let s = Standin::start(&[]);
    shop_service(
        &s,
        "orders",
        port,
        "breaker",
        json!({"consecutiveFailures": 2, "openMs": 400}),
    );
    let routes = "/api/v1/teams/shop/services/orders/routes";
    json_call(
        s.admin,
        "POST",
        routes,
        Some(
            json!({"id": "new", "http": {"request": {"path": "/orders/new"}, "response": {"body": {"text": "mocked"}}}}),
        ),
    );
    json_call(
        s.admin,
        "POST",
        routes,
        Some(
            json!({"id": "safety", "fallback": true, "http": {"request": {"path": "/orders/**"},
            "response": {"status": 200, "body": {"text": "fallback"}}}}),
        ),
    );
    let get = |path: &str| {
        let r = http(s.mock, "GET", &format!("/shop/orders{path}"), &[], b"");
        (r.status, String::from_utf8_lossy(&r.body).into_owned())
    };
    let breaker = || {
        let (_, st) = json_call(s.admin, "GET", "/api/v1/status", None);
        st["upstreams"][0]["breaker"].as_str().unwrap().to_string()
    };
    // The mocked endpoint, and the rest from the real service (the fallback waits).
    assert_eq!(get("/orders/new"), (200, "mocked".into()));
    assert_eq!(get("/orders/7"), (200, "legacy /orders/7".into()));
    assert_eq!(breaker(), "closed");

    // The real service goes down: the fallback answers, and the breaker opens.
    drop(legacy);
    assert_eq!(get("/orders/7"), (200, "fallback".into()));
    assert_eq!(get("/orders/8"), (200, "fallback".into()));
    assert_eq!(breaker(), "open");
    // Open: not even tried (no fallback matches /other, so 503 names the breaker).
    let (status, body) = get("/other");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("upstream_unavailable") && body.contains("breaker"),
        "{body}"
    );

    // It comes back on the same port; after the open time one probe closes the breaker.
    let (_legacy, _) = Legacy::start(port);
    std::thread::sleep(std::time::Duration::from_millis(450));
    assert_eq!(get("/orders/9"), (200, "legacy /orders/9".into()));
    assert_eq!(breaker(), "closed");

    let (status, body) = json_call(
        s.admin,
        "PATCH",
        "/api/v1/teams/shop/services/orders",
        Some(json!({"breaker": {"consecutiveFailures": 0}})),
    );
    assert_eq!(
        (status, body["pointer"].as_str()),
        (400, Some("/breaker/consecutiveFailures"))
    );
}

#[test]
fn a_recording_against_a_real_upstream_replays_the_same_answers() {
    let (legacy, port) = Legacy::start(0);
    let s = Standin::start(&[]);
    shop_service(&s, "stock", port, "record", json!({"enabled": true}));
    let get = |method: &str, path: &str| {
        let r = http(s.mock, method, &format!("/shop/stock{path}"), &[], b"");
        (r.status, String::from_utf8_lossy(&r.body).into_owned())
    };
    let originals = [
        get("GET", "/items/1?a=1&b=2"),
        get("GET", "/items/2"),
        get("POST", "/items/1"),
    ];
    assert_eq!(originals[0], (200, "legacy /items/1?a=1&b=2".into()));
    // The same method, path and query names: not a new exchange.
    get("GET", "/items/1?b=9&a=3");

    // The recorder works beside the serving path: wait for its three drafts.
    let routes = "/api/v1/teams/shop/services/stock/routes";
    let mut drafts = Vec::new();
    for _ in 0..100 {
        let (_, list) = json_call(s.admin, "GET", routes, None);
        drafts = list.as_array().unwrap().clone();
        if drafts.len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(drafts.len(), 3, "{drafts:?}");
    for d in &drafts {
        assert_eq!(d["enabled"], false);
        assert_eq!(d["tags"], json!(["recorded"]));
        let headers = &d["http"]["response"]["headers"];
        assert_eq!(headers["X-Upstream"], "legacy", "{d}");
        assert!(
            headers.get("Set-Cookie").is_none(),
            "secrets are not recorded: {d}"
        );
    }

    let (status, accepted) = json_call(s.admin, "POST", &format!("{routes}/accept"), None);
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted.as_array().unwrap().len(), 3);

    // Without the real service and out of record mode, the mock answers as it did.
    drop(legacy);
    json_call(
        s.admin,
        "PATCH",
        "/api/v1/teams/shop/services/stock",
        Some(json!({"record": {"enabled": false}})),
    );
    assert_eq!(get("GET", "/items/1?a=1&b=2"), originals[0]);
    assert_eq!(get("GET", "/items/2"), originals[1]);
    assert_eq!(get("POST", "/items/1"), originals[2]);

    let (status, body) = json_call(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services",
        Some(json!({"slug": "norecord", "record": {"enabled": true}})),
    );
    assert_eq!((status, body["pointer"].as_str()), (400, Some("/record")));
}
