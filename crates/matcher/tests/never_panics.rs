//! Property: matching any request against any table of routes, and rendering the winner,
//! never panics. Routes and requests are drawn from the shapes users write (patterns with
//! parameters and rest segments, regexes, path values, methods, headers, bodies) and from
//! the shapes that broke before (fewer segments than the pattern, empty paths, odd
//! percent escapes).

use proptest::prelude::*;
use serde_json::{Value, json};
use standin_matcher::{
    Budget, CompiledRoute, CompiledService, Outcome, Request, RouteCounters, ServiceInfo,
};
use standin_model::Route;
use std::sync::Arc;

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("users".to_string()),
        Just("orders".to_string()),
        Just("{id}".to_string()),
        Just("{name}".to_string()),
        Just("*".to_string()),
        "[a-z0-9]{1,3}",
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 0..4), prop::bool::ANY).prop_map(|(segs, rest)| {
        let mut p: String = segs.iter().map(|s| format!("/{s}")).collect();
        if rest {
            p.push_str("/{*rest}");
        }
        if p.is_empty() {
            p.push('/');
        }
        p
    })
}

fn string_matcher() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[a-z0-9]{0,4}".prop_map(Value::from),
        "[a-z0-9.*+]{1,5}".prop_map(|r| json!({"regex": r})),
        prop::bool::ANY.prop_map(|p| json!({"present": p})),
        "[a-z]{0,3}".prop_map(|c| json!({"contains": c})),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|m| json!({"not": m})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|l| json!({"anyOf": l})),
            inner.prop_map(|m| json!({"each": m})),
        ]
    })
}

fn body_matcher() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[a-z{}\":0-9]{0,8}".prop_map(|t| json!({"equals": t})),
        "[a-z]{0,3}".prop_map(|t| json!({"contains": t})),
        Just(json!({"json": {"a": 1}})),
        Just(json!({"jsonPartial": {"a": [1, {"b": 2}]}})),
        Just(json!({"jsonPath": {"path": "$..a"}})),
        Just(json!({"jsonPath": {"path": "$.a[0]", "equals": 1}})),
        Just(json!({"jsonSchema": {"type": "object", "required": ["a"]}})),
        Just(json!({"xml": "<a><b>1</b></a>"})),
        Just(json!({"xpath": "/a/b[. > 0]"})),
        Just(json!({"form": {"a": "1"}})),
    ];
    leaf.prop_recursive(2, 4, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|m| json!({"not": m})),
            prop::collection::vec(inner, 1..3).prop_map(|l| json!({"allOf": l})),
        ]
    })
}

fn route(i: usize) -> impl Strategy<Value = Value> {
    let path = prop_oneof![
        3 => pattern().prop_map(Value::from),
        1 => Just(json!({"regex": "/orders/(?P<n>[0-9]+)"})),
        1 => pattern().prop_map(|p| json!({"not": p})),
        1 => Just(Value::Null),
    ];
    (
        path,
        prop::option::of(string_matcher()),
        prop::option::of(string_matcher()),
        prop::option::of(string_matcher()),
        prop::option::of(body_matcher()),
        prop::option::of(prop_oneof![Just("GET"), Just("post"), Just("PURGE")]),
        prop::bool::ANY,
        prop::option::of(1u64..3),
    )
        .prop_map(move |(path, value, header, query, body, method, templated, times)| {
            let mut request = serde_json::Map::new();
            if !path.is_null() {
                request.insert("path".into(), path);
            }
            if let Some(m) = method {
                request.insert("method".into(), json!(m));
            }
            if let Some(v) = value {
                request.insert("pathValues".into(), json!({"id": v.clone(), "rest": v}));
            }
            if let Some(h) = header {
                request.insert("headers".into(), json!({"x-h": h}));
            }
            if let Some(q) = query {
                request.insert("query".into(), json!({"q": q}));
            }
            if let Some(b) = body {
                request.insert("body".into(), b);
            }
            let response = if templated {
                json!({"status": 200, "templated": true,
                       "body": {"text": "{{request.path.id}} {{request.query.q}} {{request.headers.x-h}} {{request.body}}"}})
            } else {
                json!({"status": 201, "body": {"text": "ok"}})
            };
            let mut r = json!({"id": format!("r{i}"), "http": {"request": request, "response": response}});
            if let Some(t) = times {
                r["times"] = json!(t);
            }
            r
        })
}

fn table() -> impl Strategy<Value = Vec<Value>> {
    (1usize..8).prop_flat_map(|n| (0..n).map(route).collect::<Vec<_>>())
}

fn request_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_string()),
        Just(String::new()),
        Just("/orders/55x".to_string()),
        prop::collection::vec(
            prop_oneof![
                "[a-z0-9]{0,3}",
                Just("users".to_string()),
                Just("%".to_string()),
                Just("%2".to_string()),
                Just("%ff".to_string()),
                Just("é".to_string()),
            ],
            0..5
        )
        .prop_map(|segs| segs.iter().map(|s| format!("/{s}")).collect()),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(br#"{"a": 1}"#.to_vec()),
        Just(br#"{"a": [1, {"b": 2}, {"b": 3}]}"#.to_vec()),
        Just(b"<a><b>1</b></a>".to_vec()),
        Just(b"a=1&b=2".to_vec()),
        prop::collection::vec(any::<u8>(), 0..16),
    ]
}

fn compile(routes: &[Value]) -> Option<CompiledService> {
    let compiled: Vec<_> = routes
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let r: Route = serde_json::from_value(v.clone()).ok()?;
            CompiledRoute::compile(&r, i as u64, Arc::new(RouteCounters::default()))
                .ok()
                .map(Arc::new)
        })
        .collect();
    let info = ServiceInfo::new("t", "s", "/t/s");
    CompiledService::build(info, compiled).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn matching_and_rendering_never_panic(
        routes in table(),
        method in prop_oneof![Just("GET"), Just("POST"), Just("get"), Just("PURGE")],
        path in request_path(),
        query in prop::option::of("[a-z=&%+]{0,8}"),
        header in prop::option::of("[ -~]{0,6}"),
        body in body(),
        fuel in prop_oneof![Just(50u64), Just(5_000), Just(u64::MAX)],
    ) {
        let Some(svc) = compile(&routes) else { return Ok(()) };
        let mut headers = http::HeaderMap::new();
        if let Some(h) = header.as_deref().and_then(|h| http::HeaderValue::from_str(h).ok()) {
            headers.insert("x-h", h);
        }
        for _ in 0..2 {
            let req = Request::new(method, &path, query.as_deref(), &headers, &body)
                .with_budget(Budget::new(fuel));
            match svc.find(&req) {
                Outcome::Matched(m) => {
                    let _ = m.route.response.render(&req, &m.path_values);
                }
                Outcome::Unmatched(misses) => {
                    prop_assert!(misses.len() <= standin_matcher::NEAR_MISS_LIMIT);
                }
                Outcome::OverBudget { .. } => prop_assert!(req.budget().is_exhausted()),
            }
        }
    }
}
