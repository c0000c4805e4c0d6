//! Route lookup cost as the number of routes grows.
//!
//! Each service holds N routes in a realistic mix: literal paths (`/items/{i}/detail`),
//! parameter paths (`/group{i}/{id}`), and some with a header condition. A lookup resolves
//! the service from the full path and finds the route, exactly as the data plane does
//! (request parsing included). The target is the route created last, the worst case for
//! servers that scan routes in order.
//!
//! Run: `cargo bench -p standin-matcher --bench lookup`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use standin_matcher::{
    CompiledRoute, CompiledService, Outcome, Request, RouteCounters, RouteTable, ServiceInfo,
};
use standin_model::Route;
use std::hint::black_box;
use std::sync::Arc;

fn route(i: usize) -> Route {
    let doc = match i % 10 {
        0..=6 => {
            serde_json::json!({"id": format!("r{i}"), "http": {"request": {"method": "GET", "path": format!("/items/{i}/detail")},
                 "response": {"body": {"json": {"ok": true}}}}})
        }
        7 | 8 => {
            serde_json::json!({"id": format!("r{i}"), "http": {"request": {"method": "GET", "path": format!("/group{i}/{{id}}")},
                 "response": {"body": {"json": {"ok": true}}}}})
        }
        _ => {
            serde_json::json!({"id": format!("r{i}"), "http": {"request": {"method": "GET", "path": format!("/items/{i}/detail"),
                 "headers": {"X-Tenant": {"regex": "t-[0-9]+"}}}, "response": {"body": {"json": {"ok": true}}}}})
        }
    };
    serde_json::from_value(doc).unwrap()
}

fn table(n: usize) -> RouteTable {
    let routes = (0..n)
        .map(|i| {
            Arc::new(
                CompiledRoute::compile(&route(i), i as u64, Arc::new(RouteCounters::default()))
                    .unwrap(),
            )
        })
        .collect();
    let info = ServiceInfo::new("team", "svc", "/team/svc");
    RouteTable::new(vec![Arc::new(
        CompiledService::build(info, routes).unwrap(),
    )])
    .unwrap()
}

/// The path of the last literal route of a table of `n` routes.
fn target(n: usize) -> String {
    let last = (0..n).rev().find(|i| i % 10 <= 6).unwrap();
    format!("/team/svc/items/{last}/detail")
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_lookup");
    let headers = http::HeaderMap::new();
    for n in [1usize, 1_000, 10_000, 100_000] {
        let table = table(n);
        let path = target(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &path, |b, path| {
            b.iter(|| {
                let (svc, rel) = table.resolve(None, black_box(path)).unwrap();
                let req = Request::new("GET", rel, None, &headers, b"");
                match svc.find(&req) {
                    Outcome::Matched(m) => black_box(m.route.id.len()),
                    Outcome::Unmatched(_) | Outcome::OverBudget { .. } => {
                        panic!("no match for {path}")
                    }
                }
            })
        });
    }
    group.finish();
}

fn unmatched(c: &mut Criterion) {
    // A 404 with near misses at 10k routes: bounded work, not a scan.
    let table = table(10_000);
    let headers = http::HeaderMap::new();
    c.bench_function("unmatched_with_near_misses/10000", |b| {
        b.iter(|| {
            let (svc, rel) = table
                .resolve(None, black_box("/team/svc/items/5/nothing"))
                .unwrap();
            let req = Request::new("GET", rel, None, &headers, b"");
            match svc.find(&req) {
                Outcome::Unmatched(m) => black_box(m.len()),
                Outcome::Matched(_) | Outcome::OverBudget { .. } => panic!("unexpected outcome"),
            }
        })
    });
}

/// A service as MockServer's API fills it: `{"httpRequest": {"method": "GET", "path":
/// "/api/item/N"}}` for N up to n, converted as `crates/mockserver/src/convert.rs` does (a
/// plain path becomes the case-insensitive regex of its text, a plain method a
/// case-insensitive equality), at the root, oldest first.
fn mockserver_table(n: usize) -> RouteTable {
    let routes = (0..n)
        .map(|i| {
            let doc = serde_json::json!({"id": format!("e{i}"), "http": {"request": {
                "method": {"equalsIgnoreCase": "GET"},
                "path": {"regex": format!("(?i){}", regex::escape(&format!("/api/item/{i}")))}},
                "response": {"status": 200, "body": {"text": "item"}}}});
            let route: Route = serde_json::from_value(doc).unwrap();
            Arc::new(
                CompiledRoute::compile(&route, i as u64, Arc::new(RouteCounters::default()))
                    .unwrap(),
            )
        })
        .collect();
    let info = ServiceInfo {
        match_order: standin_model::MatchOrder::Oldest,
        not_found: standin_model::NotFound::Empty,
        ..ServiceInfo::new("default", "default", "/")
    };
    RouteTable::new(vec![Arc::new(
        CompiledService::build(info, routes).unwrap(),
    )])
    .unwrap()
}

fn mockserver_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("mockserver_lookup");
    let headers = http::HeaderMap::new();
    for n in [1usize, 10_000] {
        let table = mockserver_table(n);
        let path = format!("/api/item/{}", n - 1);
        group.bench_with_input(BenchmarkId::from_parameter(n), &path, |b, path| {
            b.iter(|| {
                let (svc, rel) = table.resolve(None, black_box(path)).unwrap();
                let req = Request::new("GET", rel, None, &headers, b"");
                match svc.find(&req) {
                    Outcome::Matched(m) => black_box(m.route.id.len()),
                    Outcome::Unmatched(_) | Outcome::OverBudget { .. } => {
                        panic!("no match for {path}")
                    }
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookup, unmatched, mockserver_lookup);
criterion_main!(benches);
