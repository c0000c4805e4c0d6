//! The mock port's limits on the real binary: what an abusive or careless client can
//! hold (connections, memory, a worker) is bounded, and a client that exceeds a limit
//! gets a clear answer while everyone else is served.

use crate::support::{Standin, http, json_call};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn start_with(config: &str) -> Standin {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("standin.toml");
    std::fs::write(&path, config).unwrap();
    let s = Standin::start(&["--demo", "--config", path.to_str().unwrap()]);
    // Keep the config file's directory alive as long as the test.
    std::mem::forget(dir);
    s
}

fn demo_ok(s: &Standin) {
    let r = http(s.mock, "GET", "/demo/petstore/pets", &[], b"");
    assert_eq!(r.status, 200, "a well-behaved client is served");
}

/// Reads until the peer closes; returns what arrived and how long it took.
fn until_closed(mut c: TcpStream, within: Duration) -> (String, Duration) {
    c.set_read_timeout(Some(within)).unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let s = start_with("[limits]\nheader-read-timeout-ms = 400\n");
    let silent = TcpStream::connect(s.mock).unwrap();
    let (got, _) = until_closed(silent, Duration::from_secs(10));
    assert_eq!(got, "", "closed without an answer");
    demo_ok(&s);
    let (_, status) = json_call(s.admin, "GET", "/api/v1/status", None);
    assert!(
        status["serving"]["connectionsIdleClosed"].as_u64() >= Some(1),
        "{status}"
    );
}

#[test]
fn a_body_that_does_not_arrive_in_time_gets_408() {
    let s = start_with("[limits]\nbody-read-timeout-ms = 400\n");
    let mut c = TcpStream::connect(s.mock).unwrap();
    c.write_all(
        b"POST /demo/petstore/pets HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
    )
    .unwrap();
    let (got, _) = until_closed(c, Duration::from_secs(10));
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("body_timeout"), "{got}");
    demo_ok(&s);
}

/// Uploads stalled just short of their length hold the in-flight budget, not unbounded
/// memory: the next upload is refused at once with 503.
#[test]
fn stalled_uploads_hold_the_inflight_budget_and_the_next_gets_503() {
    let s = start_with("[limits]\nmax-body-bytes = 1000000\nmax-inflight-body-bytes = 2000000\n");
    let stall = |n: usize| {
        let mut c = TcpStream::connect(s.mock).unwrap();
        let head =
            format!("POST /demo/petstore/pets HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\n\r\n");
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&vec![b'x'; n - 10]).unwrap();
        c
    };
    let _a = stall(900_000);
    let _b = stall(900_000);
    // Let the server read what was sent.
    std::thread::sleep(Duration::from_millis(300));
    let r = http(
        s.mock,
        "POST",
        "/demo/petstore/pets",
        &[],
        &vec![b'y'; 400_000],
    );
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["error"], "uploads_full");
    demo_ok(&s);
}

#[test]
fn connections_beyond_the_cap_get_503() {
    let s = start_with("[limits]\nmax-connections = 4\n");
    let held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = TcpStream::connect(s.mock).unwrap();
            c.write_all(b"GET /demo/petstore/pets HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            crate::support::read_one_response(&mut c);
            c
        })
        .collect();
    let extra = TcpStream::connect(s.mock).unwrap();
    let (got, _) = until_closed(extra, Duration::from_secs(10));
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.contains("too_many_connections"), "{got}");
    drop(held);
    // Slots come back once connections close.
    let started = Instant::now();
    loop {
        let r = crate::support::raw(
            s.mock,
            b"GET /demo/petstore/pets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if r.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{r}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn more_than_the_header_count_limit_gets_431() {
    let s = start_with("[limits]\nmax-headers = 20\n");
    let mut req = String::from("GET /demo/petstore/pets HTTP/1.1\r\nHost: x\r\n");
    for i in 0..25 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    let r = crate::support::raw(s.mock, req.as_bytes());
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    demo_ok(&s);
}

/// An XPath built to be slow: the request gets a 500 naming the route and the budget
/// within the evaluation timeout, the journal records it, the status lists the route, and
/// everyone else is served meanwhile.
#[test]
fn a_pathological_xpath_is_stopped_named_and_journaled() {
    let s = start_with("[limits]\nevaluation-timeout-ms = 1500\n");
    let route = json!({"http": {"request": {"method": "POST", "path": "/slow",
        "body": {"xpath": "count(//*[count(//*[count(//*)>0])>0])>0"}}}});
    let (st, b) = json_call(
        s.admin,
        "PUT",
        "/api/v1/teams/demo/services/petstore/routes/slow",
        Some(route),
    );
    assert_eq!(st, 201, "{b}");
    let mut body = String::from("<r>");
    for i in 0..2000 {
        body.push_str(&format!("<e>{i}</e>"));
    }
    body.push_str("</r>");
    let started = Instant::now();
    let slow = {
        let addr = s.mock;
        let body = body.clone();
        std::thread::spawn(move || http(addr, "POST", "/demo/petstore/slow", &[], body.as_bytes()))
    };
    std::thread::sleep(Duration::from_millis(100));
    demo_ok(&s);
    let r = slow.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.status, 500, "{}", String::from_utf8_lossy(&r.body));
    let answer: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(answer["error"], "budget_exceeded");
    assert_eq!(answer["route"], "slow");
    let (_, entries) = json_call(
        s.admin,
        "GET",
        "/api/v1/journal?service=demo/petstore&status=500",
        None,
    );
    assert_eq!(entries[0]["error"], "budget_exceeded", "{entries}");
    let (_, status) = json_call(s.admin, "GET", "/api/v1/status", None);
    assert_eq!(
        status["overBudgetRoutes"][0]["route"], "demo/petstore/slow",
        "{status}"
    );
    assert!(
        status["serving"]["overBudget"].as_u64() >= Some(1),
        "{status}"
    );
}

#[test]
fn an_emptied_database_keeps_standin_from_starting_unless_init() {
    let dir = Standin::stop(Standin::start(&["--demo"]));
    let data = dir.path().join("data");
    std::fs::write(data.join("standin.db"), b"").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
        .args([
            "serve",
            "--mock-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is empty (0 bytes)") && err.contains("--init"),
        "{err}"
    );
    let s = Standin::start_with_env(&["--demo", "--init"], &[], dir);
    demo_ok(&s);
}
