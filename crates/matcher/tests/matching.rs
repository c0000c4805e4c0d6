//! Data-driven matching tests: each file in `tests/fixtures/` holds route definitions and
//! requests with the outcome each must produce. See `tests/fixtures/README.md`.

use serde::Deserialize;
use standin_matcher::{
    CompiledRoute, CompiledService, Outcome, Request, RouteCounters, ServiceInfo,
};
use standin_model::Route;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    about: String,
    routes: Vec<Route>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    request: Req,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Req {
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: String,
}

fn get() -> String {
    "GET".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// The id of the route that must answer; absent means no route may match.
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    /// The response body as text (rendered when the route is templated).
    #[serde(default)]
    body: Option<String>,
    /// For unmatched requests: text that the near-miss report must contain.
    #[serde(default)]
    near_miss: Option<String>,
}

fn service(routes: &[Route]) -> CompiledService {
    let compiled = routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let c = CompiledRoute::compile(r, i as u64 + 1, Arc::new(RouteCounters::default()))
                .unwrap_or_else(|e| panic!("route {} does not compile: {e}", r.id));
            Arc::new(c)
        })
        .collect();
    let info = ServiceInfo::new("t", "s", "/t/s");
    CompiledService::build(info, compiled).expect("service builds")
}

#[track_caller]
fn check(file: &str, svc: &CompiledService, case: &Case) {
    let mut headers = http::HeaderMap::new();
    for (k, v) in &case.request.headers {
        headers.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let r = &case.request;
    let req = Request::new(
        &r.method,
        &r.path,
        r.query.as_deref(),
        &headers,
        r.body.as_bytes(),
    );
    let ctx = format!("{file}: {}", case.about);
    match (svc.find(&req), &case.expect.route) {
        (Outcome::Matched(m), Some(id)) => {
            assert_eq!(&*m.route.id, id, "{ctx}: wrong route");
            if let Some(status) = case.expect.status {
                assert_eq!(m.route.response.status.as_u16(), status, "{ctx}: status");
            }
            if let Some(body) = &case.expect.body {
                let got = match m.route.response.render(&req, &m.path_values) {
                    Some(r) => r.expect("the template renders").body,
                    None => m.route.response.body.clone(),
                };
                assert_eq!(String::from_utf8_lossy(&got), body.as_str(), "{ctx}: body");
            }
        }
        (Outcome::Matched(m), None) => panic!("{ctx}: expected no match, got route {}", m.route.id),
        (Outcome::Unmatched(misses), Some(id)) => {
            panic!("{ctx}: expected route {id}, got no match; near misses: {misses:#?}")
        }
        (Outcome::OverBudget { route, why }, _) => {
            panic!("{ctx}: ran out of budget ({why:?}) at route {route}")
        }
        (Outcome::Unmatched(misses), None) => {
            if let Some(text) = &case.expect.near_miss {
                let report = serde_json::to_string(&misses).unwrap();
                assert!(
                    report.contains(text.as_str()),
                    "{ctx}: near misses {report} lack {text:?}"
                );
            }
        }
    }
}

#[test]
fn fixtures() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut cases = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let fixture: Fixture =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        // A fresh service per case: routes with `times` count their uses.
        for case in &fixture.cases {
            let svc = service(&fixture.routes);
            check(&name, &svc, case);
            cases += 1;
        }
    }
    assert!(cases > 0);
}

#[test]
fn times_limits_serving_then_falls_through() {
    let routes: Vec<Route> = serde_json::from_str(
        r#"[{"id":"once","times":1,"priority":1,"http":{"request":{"path":"/a"},"response":{"status":201}}},
            {"id":"always","http":{"request":{"path":"/a"},"response":{"status":200}}}]"#,
    )
    .unwrap();
    let svc = service(&routes);
    let headers = http::HeaderMap::new();
    let ids: Vec<String> = (0..3)
        .map(
            |_| match svc.find(&Request::new("GET", "/a", None, &headers, b"")) {
                Outcome::Matched(m) => m.route.id.to_string(),
                Outcome::Unmatched(_) | Outcome::OverBudget { .. } => "none".into(),
            },
        )
        .collect();
    assert_eq!(ids, ["once", "always", "always"]);
}

#[test]
fn compile_errors_name_the_field() {
    let cases = [
        (
            r#"{"http":{"request":{"headers":{"X-A":{"regex":"("}}}}}"#,
            "/http/request/headers/X-A/regex",
        ),
        (
            r#"{"http":{"request":{"body":{"jsonPath":{"path":"$$"}}}}}"#,
            "/http/request/body/jsonPath/path",
        ),
        (
            r#"{"http":{"request":{"body":{"jsonSchema":{"type":"nope"}}}}}"#,
            "/http/request/body/jsonSchema",
        ),
        (
            r#"{"http":{"request":{"path":"/a/**/b"}}}"#,
            "/http/request/path",
        ),
        (
            r#"{"http":{"response":{"status":42}}}"#,
            "/http/response/status",
        ),
        (
            r#"{"http":{"response":{"templated":true,"body":{"text":"{{nosuch request.path}}"}}}}"#,
            "/http/response/body",
        ),
        (
            r#"{"http":{"response":{"templated":true,"body":{"text":"{{#if request.path}}open"}}}}"#,
            "/http/response/body",
        ),
        (
            r#"{"http":{"response":{"templated":true,"headers":{"X-A":"{{#each}}"},"body":{"text":"ok"}}}}"#,
            "/http/response/headers/X-A",
        ),
        (r#"{}"#, "/http"),
    ];
    for (doc, pointer) in cases {
        let route: Route = serde_json::from_str(doc).unwrap();
        let err = CompiledRoute::compile(&route, 1, Arc::default()).expect_err(doc);
        assert_eq!(err.pointer, pointer, "{doc}: {}", err.message);
    }
}

#[test]
fn utf8_header_and_cookie_values_are_seen() {
    let routes: Vec<Route> = serde_json::from_str(
        r#"[{"id":"h","http":{"request":{"headers":{"X-Name":"José"},"cookies":{"a":"1"}}}}]"#,
    )
    .unwrap();
    let svc = service(&routes);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-name",
        http::HeaderValue::from_bytes("José".as_bytes()).unwrap(),
    );
    headers.insert(
        "cookie",
        http::HeaderValue::from_bytes("a=1; n=José".as_bytes()).unwrap(),
    );
    assert!(matches!(
        svc.find(&Request::new("GET", "/", None, &headers, b"")),
        Outcome::Matched(_)
    ));
}

#[test]
fn exact_paths_decode_percent_escapes_like_requests() {
    let routes: Vec<Route> = serde_json::from_str(
        r#"[{"id":"e","http":{"request":{"path":{"exact":"/files/a%20b"}}}}]"#,
    )
    .unwrap();
    let svc = service(&routes);
    let headers = http::HeaderMap::new();
    assert!(matches!(
        svc.find(&Request::new("GET", "/files/a%20b", None, &headers, b"")),
        Outcome::Matched(_)
    ));
}
