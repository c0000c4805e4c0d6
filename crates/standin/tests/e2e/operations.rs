//! Operations: Prometheus metrics after known traffic, the Grafana dashboard and alert
//! rules against them, health, structured and access logs, backups that restore into a
//! server answering the same, and point-in-time restore.

use crate::support::{Standin, http, json_call, run};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

fn metrics(admin: SocketAddr) -> (String, BTreeMap<String, f64>) {
    let r = http(admin, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.header("content-type")
    );
    let text = String::from_utf8(r.body).unwrap();
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse::<f64>().unwrap())
        })
        .collect();
    (text, samples)
}

fn get(s: &Standin, path: &str) -> u16 {
    http(s.mock, "GET", path, &[], b"").status
}

#[test]
fn metrics_count_known_traffic_exactly_and_forget_a_deleted_service() {
    let s = Standin::start(&["--demo"]);
    let (status, body) = json_call(
        s.admin,
        "POST",
        "/api/v1/teams/demo/services",
        Some(json!({"slug": "gone", "name": "Gone"})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _) = json_call(
        s.admin,
        "PUT",
        "/api/v1/teams/demo/services/gone/routes/hello",
        Some(json!({"http": {"request": {"path": "/hello"}, "response": {"status": 503}}})),
    );
    assert_eq!(status, 201);
    for _ in 0..3 {
        assert_eq!(get(&s, "/demo/petstore/pets"), 200);
    }
    for _ in 0..2 {
        assert_eq!(get(&s, "/demo/petstore/no-such-thing"), 404);
    }
    assert_eq!(get(&s, "/no-service-here"), 404);
    assert_eq!(get(&s, "/demo/gone/hello"), 503);

    let (_, m) = metrics(s.admin);
    let at = |k: &str| m.get(k).copied().unwrap_or_else(|| panic!("no sample {k}"));
    assert_eq!(
        at(
            r#"standin_requests_total{team="demo",service="petstore",route="list-pets",class="2xx"}"#
        ),
        3.0
    );
    assert_eq!(
        at(r#"standin_requests_total{team="demo",service="petstore",route="-",class="4xx"}"#),
        2.0
    );
    assert_eq!(
        at(r#"standin_requests_total{team="-",service="-",route="-",class="4xx"}"#),
        1.0
    );
    assert_eq!(
        at(r#"standin_requests_total{team="demo",service="gone",route="hello",class="5xx"}"#),
        1.0
    );
    assert_eq!(
        at(r#"standin_unmatched_requests_total{team="demo",service="petstore"}"#),
        2.0
    );
    assert_eq!(
        at(r#"standin_request_duration_seconds_count{team="demo",service="petstore"}"#),
        5.0
    );
    assert_eq!(
        at(r#"standin_serve_duration_seconds_bucket{team="demo",service="petstore",le="+Inf"}"#),
        5.0
    );
    assert_eq!(at("standin_teams"), 1.0);
    assert_eq!(at("standin_services"), 2.0);
    assert!(at("standin_store_commit_duration_seconds_count") >= 3.0);
    assert_eq!(
        at(r#"standin_errors_total{code="internal_error",source="standin"}"#),
        0.0
    );
    assert_eq!(at(r#"standin_build_info{version="0.1.0"}"#), 1.0);

    // A deleted service's series are gone from the next scrape; the others stay.
    let (status, _) = json_call(s.admin, "DELETE", "/api/v1/teams/demo/services/gone", None);
    assert_eq!(status, 204);
    let (text, m) = metrics(s.admin);
    assert!(!text.contains("service=\"gone\""), "{text}");
    assert_eq!(m.len(), m.len());
    assert_eq!(
        at(
            r#"standin_requests_total{team="demo",service="petstore",route="list-pets",class="2xx"}"#
        ),
        3.0
    );

    // Changing a route keeps its series (the counter does not restart).
    let (status, _) = json_call(
        s.admin,
        "PATCH",
        "/api/v1/teams/demo/services/petstore/routes/list-pets",
        Some(json!({"memo": "changed"})),
    );
    assert_eq!(status, 200);
    assert_eq!(get(&s, "/demo/petstore/pets"), 200);
    let (_, m) = metrics(s.admin);
    assert_eq!(
        m[r#"standin_requests_total{team="demo",service="petstore",route="list-pets",class="2xx"}"#],
        4.0
    );
}

/// Every metric the dashboard and the alert rules query is one `/metrics` serves.
#[test]
fn the_grafana_dashboard_and_alert_rules_query_only_metrics_that_exist() {
    let s = Standin::start(&["--demo"]);
    // An upstream, so the breaker and upstream series exist too.
    let (status, body) = json_call(
        s.admin,
        "PATCH",
        "/api/v1/teams/demo/services/petstore",
        Some(json!({"upstream": "http://127.0.0.1:9"})),
    );
    assert_eq!(status, 200, "{body}");
    get(&s, "/demo/petstore/pets");
    let (text, _) = metrics(s.admin);
    let served: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/grafana/standin.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    fn exprs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr" | "query", Value::String(e)) => out.push(e.clone()),
                        _ => exprs(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| exprs(x, out)),
            _ => {}
        }
    }
    let mut queries = Vec::new();
    exprs(&dashboard, &mut queries);
    assert!(queries.len() >= 10, "{queries:?}");
    let alerts =
        std::fs::read_to_string(root.join("deploy/prometheus/standin-alerts.yml")).unwrap();
    assert!(alerts.matches("- alert:").count() >= 5);
    let name = regex::Regex::new(r"\bstandin_[a-z_]+\b").unwrap();
    let mut missing = Vec::new();
    for q in queries.iter().map(String::as_str).chain([alerts.as_str()]) {
        for m in name.find_iter(q) {
            if !served.contains(m.as_str()) {
                missing.push(m.as_str().to_string());
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "queried but not served: {missing:?}");
}

#[test]
fn health_readiness_and_metrics_off() {
    let s = Standin::start(&["--no-metrics"]);
    let r = http(s.admin, "GET", "/healthz", &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok\n"[..]));
    let (status, body) = json_call(s.admin, "GET", "/readyz", None);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"ready": true, "store": "ok", "table": "published"})
    );
    let (status, body) = json_call(s.admin, "GET", "/metrics", None);
    assert_eq!(status, 404);
    assert_eq!(body["error"], "metrics_off");
}

#[test]
fn json_logs_and_an_access_log_line_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let s = Standin::start_via(
        &[
            "sh",
            "-c",
            &format!("exec \"$0\" \"$@\" 2>{}", log.display()),
        ],
        &["--demo", "--log-format", "json", "--access-log"],
        &[],
        tempfile::tempdir().unwrap(),
    );
    assert_eq!(get(&s, "/demo/petstore/pets?limit=2"), 200);
    // The journal task writes the line after its next drain.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let found = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("every log line is JSON"))
            .find(|v| v["target"] == "standin::access");
        if let Some(v) = found {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no access line in {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(line["status"], 200);
    assert_eq!(line["route"], "list-pets");
    assert_eq!(line["service"], "demo/petstore");
    assert_eq!(line["query"], "limit=2");
    assert_eq!(line["level"], "INFO");
}

/// The routes of a service as (method, concrete path) requests.
fn requests(s: &Standin, team: &str, service: &str) -> Vec<(String, String)> {
    let (_, routes) = json_call(
        s.admin,
        "GET",
        &format!("/api/v1/teams/{team}/services/{service}/routes"),
        None,
    );
    let param = regex::Regex::new(r"\{[^}]+\}").unwrap();
    routes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let req = &r["http"]["request"];
            let path = req["path"].as_str()?;
            let method = req["method"].as_str().unwrap_or("GET").to_string();
            Some((
                method,
                format!("/{team}/{service}{}", param.replace_all(path, "1")),
            ))
        })
        .collect()
}

fn answers(s: &Standin, reqs: &[(String, String)]) -> Vec<(u16, Vec<u8>)> {
    reqs.iter()
        .map(|(m, p)| {
            let r = http(s.mock, m, p, &[], b"");
            (r.status, r.body)
        })
        .collect()
}

fn corpus(file: &str) -> std::path::PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/corpus/node_modules/@readme/oas-examples/3.0/json")
        .join(file);
    assert!(
        p.is_file(),
        "{} is missing: run crates/import/corpus.sh (make test does)",
        p.display()
    );
    p
}

#[test]
fn a_backup_restored_onto_an_empty_directory_serves_identically() {
    let s = Standin::start(&["--demo"]);
    let admin = format!("http://{}", s.admin);
    for (file, service) in [
        ("petstore.json", "petstore-oas"),
        ("response-examples.json", "examples"),
    ] {
        run(&[
            "import",
            corpus(file).to_str().unwrap(),
            "--service",
            &format!("demo/{service}"),
            "--admin",
            &admin,
        ]);
    }
    let mut reqs = Vec::new();
    for service in ["petstore", "petstore-oas", "examples"] {
        reqs.extend(requests(&s, "demo", service));
    }
    assert!(reqs.len() > 20, "{reqs:?}");
    let before = answers(&s, &reqs);

    // Backed up while the server runs and holds the store.
    let out = tempfile::tempdir().unwrap();
    let data = s.data_dir();
    let printed = run(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--to",
        out.path().to_str().unwrap(),
    ]);
    assert!(printed.contains("backed up"), "{printed}");
    let files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for ext in ["db", "jsonl"] {
        let file = files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("data");
        let printed = run(&[
            "restore",
            "--from",
            file.to_str().unwrap(),
            "--data-dir",
            target.to_str().unwrap(),
        ]);
        assert!(printed.contains("restored"), "{printed}");
        // A second restore into the same directory is refused.
        let again = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
            .args(["restore", "--from", file.to_str().unwrap(), "--data-dir"])
            .arg(&target)
            .output()
            .unwrap();
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));
        let restored = Standin::start_with_env(&[], &[], dir);
        let after = answers(&restored, &reqs);
        for (i, (a, b)) in before.iter().zip(&after).enumerate() {
            assert_eq!(
                a, b,
                "{ext}: {} {} answered differently",
                reqs[i].0, reqs[i].1
            );
        }
    }
}

#[test]
fn scheduled_backups_write_files_and_a_failing_target_is_loud_but_harmless() {
    let out = tempfile::tempdir().unwrap();
    let s = Standin::start(&["--demo", "--backup-dir", out.path().to_str().unwrap()]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        let (_, status) = json_call(s.admin, "GET", "/api/v1/status", None);
        if status["backup"]["lastSuccess"].is_string() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let file = status["backup"]["lastFile"].as_str().unwrap();
    assert!(Path::new(file).is_file(), "{status}");
    let (_, m) = metrics(s.admin);
    assert!(m["standin_backup_last_success_timestamp_seconds"] > 1.7e9);

    // A target that is a file: the backup fails loudly, the server goes on serving.
    let blocked = tempfile::NamedTempFile::new().unwrap();
    let s = Standin::start(&["--demo", "--backup-dir", blocked.path().to_str().unwrap()]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, status) = json_call(s.admin, "GET", "/api/v1/status", None);
        if status["backup"]["failures"].as_u64() >= Some(1) {
            assert!(status["backup"]["lastError"].is_string(), "{status}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (_, m) = metrics(s.admin);
    assert!(m["standin_backup_failures_total"] >= 1.0);
    assert_eq!(get(&s, "/demo/petstore/pets"), 200);
}

fn last_seq(s: &Standin) -> u64 {
    let (_, events) = json_call(s.admin, "GET", "/api/v1/history?limit=1", None);
    events[0]["seq"].as_u64().unwrap()
}

#[test]
fn a_service_restored_to_its_third_version_serves_what_it_served_then() {
    let s = Standin::start(&[]);
    json_call(
        s.admin,
        "POST",
        "/api/v1/teams",
        Some(json!({"slug": "pay", "name": "Pay"})),
    );
    json_call(
        s.admin,
        "POST",
        "/api/v1/teams/pay/services",
        Some(json!({"slug": "cards", "name": "Cards"})),
    );
    // Five versions: each changes the answer, and version 4 adds a route, version 5
    // removes the first one.
    let mut recorded = Vec::new();
    for v in 1..=5 {
        let body = json!({"http": {"request": {"path": "/card"}, "response": {"body": {"text": format!("v{v}")}}}});
        let (status, _) = json_call(
            s.admin,
            "PUT",
            "/api/v1/teams/pay/services/cards/routes/card",
            Some(body),
        );
        assert!(status == 200 || status == 201);
        if v == 4 {
            json_call(
                s.admin,
                "PUT",
                "/api/v1/teams/pay/services/cards/routes/extra",
                Some(json!({"http": {"request": {"path": "/extra"}, "response": {"status": 202}}})),
            );
        }
        if v == 5 {
            json_call(
                s.admin,
                "DELETE",
                "/api/v1/teams/pay/services/cards/routes/card",
                None,
            );
        }
        let card = http(s.mock, "GET", "/pay/cards/card", &[], b"");
        let extra = http(s.mock, "GET", "/pay/cards/extra", &[], b"");
        recorded.push((last_seq(&s), (card.status, card.body, extra.status)));
        // Distinct times for the restore by time.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let served = |s: &Standin| {
        let card = http(s.mock, "GET", "/pay/cards/card", &[], b"");
        let extra = http(s.mock, "GET", "/pay/cards/extra", &[], b"");
        (card.status, card.body, extra.status)
    };
    assert_eq!(served(&s), recorded[4].1);

    // A dry run says what would change and changes nothing.
    let (status, plan) = json_call(
        s.admin,
        "POST",
        "/api/v1/restore",
        Some(json!({"key": "pay/cards", "at": recorded[2].0, "dryRun": true})),
    );
    assert_eq!(status, 200, "{plan}");
    let mut steps: Vec<String> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["action"].as_str().unwrap(),
                s["entity"].as_str().unwrap(),
                s["key"].as_str().unwrap()
            )
        })
        .collect();
    steps.sort();
    assert_eq!(
        steps,
        [
            "create route pay/cards/card",
            "delete route pay/cards/extra"
        ]
    );
    assert_eq!(served(&s), recorded[4].1);

    // Restore to version 3 by its event: the mock serves what it served then.
    let (status, plan) = json_call(
        s.admin,
        "POST",
        "/api/v1/restore",
        Some(json!({"key": "pay/cards", "at": recorded[2].0})),
    );
    assert_eq!(status, 200, "{plan}");
    assert!(plan["change"].is_string());
    assert_eq!(served(&s), recorded[2].1);
    assert_eq!(recorded[2].1.1, b"v3");

    // The restore is a change like any other: restoring to just before it undoes it.
    let undo_to = last_seq(&s) - plan["steps"].as_array().unwrap().len() as u64;
    let (status, _) = json_call(
        s.admin,
        "POST",
        "/api/v1/restore",
        Some(json!({"key": "pay/cards", "at": undo_to})),
    );
    assert_eq!(status, 200);
    assert_eq!(served(&s), recorded[4].1);

    // By time: the time of version 2's last event.
    let (_, ev) = json_call(
        s.admin,
        "GET",
        &format!("/api/v1/history?limit=1&before={}", recorded[1].0 + 1),
        None,
    );
    let at = ev[0]["at"].as_str().unwrap().to_string();
    let (status, plan) = json_call(
        s.admin,
        "POST",
        "/api/v1/restore",
        Some(json!({"key": "pay/cards", "at": at})),
    );
    assert_eq!(status, 200, "{plan}");
    assert_eq!(served(&s), recorded[1].1);

    // Before the first event, an unknown key, a bad time: clear 4xx, nothing changes.
    let now = last_seq(&s);
    for (body, want, pointer) in [
        (
            json!({"key": "pay/cards", "at": "2000-01-01T00:00:00Z"}),
            400,
            Some("/at"),
        ),
        (json!({"key": "nobody/nothing", "at": 1}), 404, None),
        (
            json!({"key": "pay/cards", "at": "yesterday"}),
            400,
            Some("/at"),
        ),
        (json!({"key": "pay/cards"}), 400, None),
    ] {
        let (status, err) = json_call(s.admin, "POST", "/api/v1/restore", Some(body.clone()));
        assert_eq!(status, want, "{body}: {err}");
        if let Some(p) = pointer {
            assert_eq!(err["pointer"], p, "{err}");
        }
    }
    assert_eq!(last_seq(&s), now, "nothing was recorded");
    assert_eq!(served(&s), recorded[1].1);

    // The same from the CLI.
    let admin = format!("http://{}", s.admin);
    let v5 = recorded[4].0.to_string();
    let out = run(&[
        "restore",
        "--key",
        "pay/cards",
        "--at",
        &v5,
        "--dry-run",
        "--admin",
        &admin,
    ]);
    assert!(
        out.starts_with(&format!("standin: would restore pay/cards to event {v5}")),
        "{out}"
    );
    assert!(out.contains("delete route pay/cards/card"), "{out}");
    assert_eq!(served(&s), recorded[1].1);
    let out = run(&[
        "restore",
        "--key",
        "pay/cards",
        "--at",
        &v5,
        "--admin",
        &admin,
    ]);
    assert!(out.contains("standin: restored pay/cards"), "{out}");
    assert_eq!(served(&s), recorded[4].1);
}

#[test]
fn usage_per_team_is_stored_and_survives_a_restart() {
    let s = Standin::start(&["--demo"]);
    json_call(
        s.admin,
        "POST",
        "/api/v1/teams/demo/services",
        Some(json!({"slug": "idle", "name": "Nobody calls this"})),
    );
    for _ in 0..4 {
        get(&s, "/demo/petstore/pets");
    }
    get(&s, "/demo/petstore/nothing-here");
    get(&s, "/no-service");
    let check = |s: &Standin| {
        let (status, u) = json_call(s.admin, "GET", "/api/v1/usage?team=demo&days=7", None);
        assert_eq!(status, 200, "{u}");
        let daily = u["daily"].as_array().unwrap();
        assert_eq!(daily.len(), 1, "{u}");
        assert_eq!(daily[0]["team"], "demo");
        assert_eq!(daily[0]["service"], "petstore");
        assert_eq!(daily[0]["calls"], 5, "{u}");
        let by: Vec<(String, u64, bool)> = u["byService"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["service"].as_str().unwrap().to_string(),
                    x["calls"].as_u64().unwrap(),
                    x["lastUsed"].is_string(),
                )
            })
            .collect();
        assert_eq!(
            by,
            [
                ("petstore".to_string(), 5, true),
                ("idle".to_string(), 0, false)
            ],
            "the idle service shows as unused"
        );
        assert_eq!(u["byTeam"][0]["team"], "demo");
        assert_eq!(u["byTeam"][0]["calls"], 5);
        u
    };
    check(&s);
    // Stopped cleanly, the counts not yet written go to the store; a new process reads them.
    let mut s = s;
    assert!(s.terminate(std::time::Duration::from_secs(10)));
    let s = Standin::restart(s, &[]);
    let u = check(&s);
    assert!(
        u["services"].as_array().unwrap().is_empty(),
        "the live counts start again: {u}"
    );

    for (query, want) in [("team=nobody", 404), ("days=0", 400), ("days=401", 400)] {
        let (status, _) = json_call(s.admin, "GET", &format!("/api/v1/usage?{query}"), None);
        assert_eq!(status, want, "{query}");
    }
}

/// A plain HTTP/1.1 server on loopback that records every request (head and body) and
/// answers `200` with an empty body, keeping connections open. Bounded in time.
fn recorder() -> (SocketAddr, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
                let mut out = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                loop {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    let _ = tx.send((head, body));
                    if out
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// Spans exported as OTLP JSON, flattened: (traceId, spanId, parentSpanId, attributes).
fn spans(body: &[u8]) -> Vec<(String, String, String, BTreeMap<String, Value>)> {
    let v: Value = serde_json::from_slice(body).expect("an OTLP JSON export");
    let mut out = Vec::new();
    for rs in v["resourceSpans"].as_array().into_iter().flatten() {
        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
            for s in ss["spans"].as_array().into_iter().flatten() {
                let attrs = s["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let value = a["value"]
                            .as_object()
                            .and_then(|o| o.values().next().cloned());
                        (
                            a["key"].as_str().unwrap().to_string(),
                            value.unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                let text = |k: &str| s[k].as_str().unwrap_or("").to_string();
                out.push((text("traceId"), text("spanId"), text("parentSpanId"), attrs));
            }
        }
    }
    out
}

#[test]
fn a_span_per_request_reaches_an_otlp_receiver_with_the_callers_trace_and_upstreams_see_it() {
    let (collector, exports) = recorder();
    let (upstream, upstream_requests) = recorder();
    let s = Standin::start(&[
        "--demo",
        "--otlp-endpoint",
        &format!("http://{collector}"),
        "--otlp-protocol",
        "json",
    ]);
    let (status, body) = json_call(
        s.admin,
        "PUT",
        "/api/v1/teams/demo/services/petstore/routes/real",
        Some(
            json!({"http": {"request": {"path": "/real"}, "forward": {"to": format!("http://{upstream}")}}}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let w3c = format!("00-{trace}-b7ad6b7169203331-01");
    let r = http(
        s.mock,
        "GET",
        "/demo/petstore/pets",
        &[("traceparent", &w3c)],
        b"",
    );
    assert_eq!(r.status, 200);
    // B3, multi-header, on a forwarding route: the upstream gets B3 with standin's span.
    let b3_trace = "463ac35c9f6413ad48485a3953bb6124";
    let r = http(
        s.mock,
        "GET",
        "/demo/petstore/real",
        &[
            ("X-B3-TraceId", b3_trace),
            ("X-B3-SpanId", "a2fb4a1d1a96d312"),
            ("X-B3-Sampled", "1"),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    let (head, _) = upstream_requests
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(header_of(&head, "x-b3-traceid"), Some(b3_trace), "{head}");
    assert_eq!(
        header_of(&head, "x-b3-parentspanid"),
        Some("a2fb4a1d1a96d312"),
        "{head}"
    );
    let standin_span = header_of(&head, "x-b3-spanid").unwrap().to_string();
    assert_ne!(standin_span, "a2fb4a1d1a96d312");
    // A caller that did not sample is not exported.
    let unsampled = format!("00-{}-b7ad6b7169203331-00", "1".repeat(32));
    http(
        s.mock,
        "GET",
        "/demo/petstore/pets",
        &[("traceparent", &unsampled)],
        b"",
    );

    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while seen.len() < 2 && std::time::Instant::now() < deadline {
        if let Ok((head, body)) = exports.recv_timeout(std::time::Duration::from_millis(200)) {
            assert!(head.starts_with("POST /v1/traces "), "{head}");
            assert_eq!(header_of(&head, "content-type"), Some("application/json"));
            seen.extend(spans(&body));
        }
    }
    let w3c_span = seen
        .iter()
        .find(|s| s.0 == trace)
        .unwrap_or_else(|| panic!("no span of trace {trace} in {seen:?}"));
    assert_eq!(
        w3c_span.2, "b7ad6b7169203331",
        "the caller's span is the parent"
    );
    assert_eq!(w3c_span.3["standin.service"], "demo/petstore");
    assert_eq!(w3c_span.3["standin.route"], "list-pets");
    assert_eq!(
        w3c_span.3["http.response.status_code"],
        json!("200"),
        "{:?}",
        w3c_span.3
    );
    let b3_span = seen
        .iter()
        .find(|s| s.0 == b3_trace)
        .expect("the B3 request's span");
    assert_eq!(
        b3_span.1, standin_span,
        "the upstream's parent is the exported span"
    );
    assert_eq!(b3_span.2, "a2fb4a1d1a96d312");
    std::thread::sleep(std::time::Duration::from_millis(700));
    while let Ok((_, body)) = exports.try_recv() {
        seen.extend(spans(&body));
    }
    assert!(
        !seen.iter().any(|s| s.0 == "1".repeat(32)),
        "an unsampled trace was exported"
    );
}

#[test]
fn spans_go_out_as_protobuf_by_default() {
    let (collector, exports) = recorder();
    let s = Standin::start(&[
        "--demo",
        "--otlp-endpoint",
        &format!("http://{collector}/v1/traces"),
    ]);
    let w3c = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(
        http(
            s.mock,
            "GET",
            "/demo/petstore/pets",
            &[("traceparent", w3c)],
            b""
        )
        .status,
        200
    );
    let (head, body) = exports
        .recv_timeout(std::time::Duration::from_secs(15))
        .unwrap();
    assert!(head.starts_with("POST /v1/traces "), "{head}");
    assert_eq!(
        header_of(&head, "content-type"),
        Some("application/x-protobuf")
    );
    let trace_id: Vec<u8> = (0..16)
        .map(|i| {
            u8::from_str_radix(&"4bf92f3577b34da6a3ce929d0e0e4736"[i * 2..i * 2 + 2], 16).unwrap()
        })
        .collect();
    assert!(
        body.windows(16).any(|w| w == trace_id.as_slice()),
        "the trace id is in the export"
    );
}
