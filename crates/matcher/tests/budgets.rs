//! Definitions built to be slow and bodies built to be big: every evaluation on the
//! serving path stops when its budget runs out, says so, and uses no route.

use serde_json::json;
use standin_matcher::{
    Budget, CompiledRoute, CompiledService, Exhausted, Outcome, Request, RouteCounters, ServiceInfo,
};
use standin_model::Route;
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn service(routes: serde_json::Value) -> CompiledService {
    let routes: Vec<Route> = serde_json::from_value(routes).unwrap();
    let compiled = routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Arc::new(
                CompiledRoute::compile(r, i as u64 + 1, Arc::new(RouteCounters::default()))
                    .unwrap(),
            )
        })
        .collect();
    let info = ServiceInfo::new("t", "s", "/t/s");
    CompiledService::build(info, compiled).unwrap()
}

/// An XML body of `n` elements, 33 KB at n = 2000.
fn xml_body(n: usize) -> String {
    let mut s = String::from("<r>");
    for i in 0..n {
        s.push_str(&format!("<e>{i}</e>"));
    }
    s.push_str("</r>");
    s
}

fn over_budget(outcome: Outcome<'_>) -> (String, Exhausted) {
    match outcome {
        Outcome::OverBudget { route, why } => (route.to_string(), why),
        Outcome::Matched(m) => panic!("matched {}", m.route.id),
        Outcome::Unmatched(misses) => panic!("unmatched: {misses:?}"),
    }
}

const QUADRATIC_CUBED: &str = "count(//*[count(//*[count(//*)>0])>0])>0";

#[test]
fn a_pathological_xpath_runs_out_of_fuel_and_claims_nothing() {
    let svc = service(json!([{"id": "slow", "times": 5,
        "http": {"request": {"body": {"xpath": QUADRATIC_CUBED}}}}]));
    let body = xml_body(2000);
    let headers = http::HeaderMap::new();
    let req = Request::new("POST", "/", None, &headers, body.as_bytes())
        .with_budget(Budget::new(1_000_000));
    assert_eq!(
        over_budget(svc.find(&req)),
        ("slow".to_string(), Exhausted::Fuel)
    );
    assert_eq!(svc.routes()[0].counters.served.load(Ordering::Relaxed), 0);
}

#[test]
fn not_around_an_exhausted_condition_is_not_a_match() {
    let svc = service(json!([{"id": "neg",
        "http": {"request": {"body": {"not": {"xpath": QUADRATIC_CUBED}}}}}]));
    let body = xml_body(2000);
    let headers = http::HeaderMap::new();
    let req = Request::new("POST", "/", None, &headers, body.as_bytes())
        .with_budget(Budget::new(1_000_000));
    assert_eq!(over_budget(svc.find(&req)).0, "neg");
}

#[test]
fn a_passed_deadline_stops_the_evaluation() {
    let svc = service(json!([{"id": "slow",
        "http": {"request": {"body": {"xpath": QUADRATIC_CUBED}}}}]));
    let body = xml_body(2000);
    let headers = http::HeaderMap::new();
    let req = Request::new("POST", "/", None, &headers, body.as_bytes())
        .with_budget(Budget::unlimited().with_deadline(std::time::Instant::now()));
    assert_eq!(over_budget(svc.find(&req)).1, Exhausted::Deadline);
}

#[test]
fn descendant_json_paths_are_charged_before_they_run() {
    let svc = service(json!([{"id": "deep",
        "http": {"request": {"body": {"jsonPath": {"path": "$..*..*..*..x"}}}}}]));
    // 30 levels, each with 100 siblings: `..` repeated four times would visit far more
    // nodes than the budget allows.
    let mut v = json!(1);
    for _ in 0..30 {
        let mut o = serde_json::Map::new();
        for i in 0..100 {
            o.insert(format!("k{i}"), json!(i));
        }
        o.insert("n".into(), v);
        v = serde_json::Value::Object(o);
    }
    let body = v.to_string();
    let headers = http::HeaderMap::new();
    let req = Request::new("POST", "/", None, &headers, body.as_bytes())
        .with_budget(Budget::new(1_000_000));
    assert_eq!(over_budget(svc.find(&req)).1, Exhausted::Fuel);
}

#[test]
fn partial_json_over_large_arrays_runs_out_of_fuel() {
    // Every expected element fits every actual one but the last, so pairing must try
    // many pairs.
    let expected: Vec<_> = (0..400).map(|_| json!({"a": 1})).collect();
    let svc = service(json!([{"id": "pairs",
        "http": {"request": {"body": {"jsonPartial": {"items": expected}}}}}]));
    let actual: Vec<_> = (0..4000).map(|i| json!({"a": 1, "b": i})).collect();
    let body = json!({"items": actual}).to_string();
    let headers = http::HeaderMap::new();
    let req = Request::new("POST", "/", None, &headers, body.as_bytes())
        .with_budget(Budget::new(200_000));
    assert_eq!(over_budget(svc.find(&req)).0, "pairs");
}

#[test]
fn nested_mustache_sections_over_many_headers_stop_at_the_budget() {
    let source = "{{#request.headers.entrySet}}{{#request.headers.entrySet}}{{#request.headers.entrySet}}{{key}}{{/request.headers.entrySet}}{{/request.headers.entrySet}}{{/request.headers.entrySet}}";
    let svc = service(json!([{"id": "tpl",
        "http": {"response": {"documentTemplate": {"engine": "mustache", "source": source}}}}]));
    let mut headers = http::HeaderMap::new();
    for i in 0..90 {
        headers.insert(
            http::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
            http::HeaderValue::from_static("v"),
        );
    }
    let req = Request::new("GET", "/", None, &headers, b"").with_budget(Budget::new(500_000));
    let Outcome::Matched(m) = svc.find(&req) else {
        panic!("the route matches")
    };
    let template = m.route.response.document.as_ref().unwrap();
    let err = template.render(&req, &m.path_values).err().unwrap();
    assert!(err.contains("budget"), "{err}");
    assert_eq!(req.budget().exhausted(), Some(Exhausted::Fuel));
}

/// 300 routes without a path whose body condition is a regex: an unmatched 9 MB request
/// must not evaluate them all on its body for the near-miss report.
#[test]
fn near_misses_do_not_scan_large_bodies() {
    let routes: Vec<_> = (0..300)
        .map(|i| json!({"id": format!("r{i}"), "http": {"request": {"body": {"regex": format!("nope{i}.*")}}}}))
        .collect();
    let svc = service(json!(routes));
    let body = vec![b'x'; 9 * 1024 * 1024];
    let headers = http::HeaderMap::new();
    let req =
        Request::new("POST", "/", None, &headers, &body).with_budget(Budget::new(1_000_000_000));
    let Outcome::Unmatched(misses) = svc.find(&req) else {
        panic!("no route matches")
    };
    assert!(misses[0].failed[0].contains("not checked"), "{misses:?}");
    let spent = req.budget().spent();
    // Matching the 300 regexes on the body is paid once (the match attempt itself); the
    // report adds nothing for the body.
    assert!(spent < 300 * (body.len() as u64 / 32 + 2), "spent {spent}");
}

/// [F] A route with `pathValues` and a request with fewer segments made the near-miss
/// report index a segment the path did not have.
#[test]
fn path_values_on_a_shorter_path_are_a_near_miss_not_a_panic() {
    let svc = service(json!([
        {"id": "user", "http": {"request": {"path": "/users/{id}", "pathValues": {"id": {"regex": "[0-9]+"}}}}},
        {"id": "rest", "http": {"request": {"path": "/files/{*rest}", "pathValues": {"rest": {"regex": "a.*"}}}}}
    ]));
    let headers = http::HeaderMap::new();
    for path in ["/x", "/", "/users", "/file"] {
        let req = Request::new("GET", path, None, &headers, b"");
        let Outcome::Unmatched(misses) = svc.find(&req) else {
            panic!("{path}: no route matches")
        };
        let report = serde_json::to_string(&misses).unwrap();
        assert!(!report.contains("path value"), "{path}: {report}");
    }
    // `/files` fits `/files/{*rest}` with an empty rest: that failure is real.
    let req = Request::new("GET", "/files", None, &headers, b"");
    let Outcome::Unmatched(misses) = svc.find(&req) else {
        panic!("no route matches")
    };
    assert!(
        misses[0].failed[0].starts_with("path value \"rest\""),
        "{misses:?}"
    );
}

/// [F] Near misses for `GET /orders/55x`: the regex route the user aimed at is listed,
/// and a pattern route whose path does not fit reports no path-value failure.
#[test]
fn near_misses_include_regex_routes_and_only_real_failures() {
    let svc = service(json!([
        {"id": "user", "http": {"request": {"path": "/users/{id}", "pathValues": {"id": {"regex": "[0-9]+"}}}}},
        {"id": "order", "http": {"request": {"path": {"regex": "/orders/(?P<n>[0-9]+)"}}}}
    ]));
    let headers = http::HeaderMap::new();
    let req = Request::new("GET", "/orders/55x", None, &headers, b"");
    let Outcome::Unmatched(misses) = svc.find(&req) else {
        panic!("no route matches")
    };
    let ids: Vec<&str> = misses.iter().map(|m| m.route_id.as_str()).collect();
    assert!(ids.contains(&"order"), "{misses:?}");
    let report = serde_json::to_string(&misses).unwrap();
    assert!(!report.contains("path value"), "{report}");
}
