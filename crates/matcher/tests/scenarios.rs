//! Scenarios (state machines of a service) and sequences (answers that take turns).

use standin_matcher::{
    CompiledRoute, CompiledService, Outcome, Request, RouteCounters, ServiceInfo,
};
use standin_model::Route;
use std::sync::Arc;

fn info() -> ServiceInfo {
    ServiceInfo::new("t", "s", "/t/s")
}

fn compile(doc: serde_json::Value, seq: u64) -> Arc<CompiledRoute> {
    let route: Route = serde_json::from_value(doc).unwrap();
    Arc::new(CompiledRoute::compile(&route, seq, Arc::new(RouteCounters::default())).unwrap())
}

fn service(routes: Vec<serde_json::Value>) -> CompiledService {
    let compiled = routes
        .into_iter()
        .enumerate()
        .map(|(i, r)| compile(r, i as u64 + 1))
        .collect();
    CompiledService::build(info(), compiled).unwrap()
}

/// The id of the route that answers, or `None`.
fn hit(svc: &CompiledService, method: &str, path: &str) -> Option<String> {
    let headers = http::HeaderMap::new();
    let req = Request::new(method, path, None, &headers, b"");
    match svc.find(&req) {
        Outcome::Matched(m) => Some(m.route.id.to_string()),
        _ => None,
    }
}

/// An order that is created, then paid, then shipped; `GET /order` tells the state.
fn order_flow() -> Vec<serde_json::Value> {
    let step = |id: &str, method: &str, path: &str, from: Option<&str>, to: Option<&str>| {
        let mut scenario = serde_json::json!({"name": "order"});
        if let Some(f) = from {
            scenario["requiredState"] = f.into();
        }
        if let Some(t) = to {
            scenario["newState"] = t.into();
        }
        serde_json::json!({"id": id, "scenario": scenario,
            "http": {"request": {"method": method, "path": path}, "response": {"status": 200}}})
    };
    vec![
        step("create", "POST", "/order", Some("Started"), Some("Created")),
        step("pay", "POST", "/order/pay", Some("Created"), Some("Paid")),
        step("ship", "POST", "/order/ship", Some("Paid"), Some("Shipped")),
        step("show-new", "GET", "/order", Some("Created"), None),
        step("show-paid", "GET", "/order", Some("Paid"), None),
        step("show-any", "GET", "/order", None, None),
        step("cancel", "DELETE", "/order", None, Some("Started")),
    ]
}

#[test]
fn a_scenario_moves_through_its_states_and_routes_match_only_in_theirs() {
    let svc = service(order_flow());
    let order = svc.scenarios().get("order").unwrap().clone();
    assert_eq!(order.state(), "Started");
    assert_eq!(order.states(), ["Started", "Created", "Paid", "Shipped"]);
    assert_eq!(
        hit(&svc, "POST", "/order/pay"),
        None,
        "not before it is created"
    );
    assert_eq!(hit(&svc, "GET", "/order").as_deref(), Some("show-any"));
    assert_eq!(hit(&svc, "POST", "/order").as_deref(), Some("create"));
    assert_eq!(order.state(), "Created");
    assert_eq!(hit(&svc, "POST", "/order"), None, "created once");
    assert_eq!(hit(&svc, "GET", "/order").as_deref(), Some("show-new"));
    assert_eq!(hit(&svc, "POST", "/order/pay").as_deref(), Some("pay"));
    assert_eq!(hit(&svc, "GET", "/order").as_deref(), Some("show-paid"));
    assert_eq!(hit(&svc, "POST", "/order/ship").as_deref(), Some("ship"));
    assert_eq!(order.state(), "Shipped");
    // A step without a required state works in any state.
    assert_eq!(hit(&svc, "DELETE", "/order").as_deref(), Some("cancel"));
    assert_eq!(order.state(), "Started");
    assert!(order.set("Paid"));
    assert!(!order.set("Lost"), "only states the routes mention");
    assert_eq!(hit(&svc, "POST", "/order/ship").as_deref(), Some("ship"));
    order.reset();
    assert_eq!(order.state(), "Started");
}

#[test]
fn an_unmatched_request_says_which_state_the_scenario_is_in() {
    let svc = service(order_flow());
    let headers = http::HeaderMap::new();
    let req = Request::new("POST", "/order/pay", None, &headers, b"");
    let Outcome::Unmatched(misses) = svc.find(&req) else {
        panic!("pay must not match before create");
    };
    let pay = misses.iter().find(|m| m.route_id == "pay").unwrap();
    assert_eq!(
        pay.failed,
        ["scenario \"order\" is in state \"Started\", the route needs \"Created\""]
    );
}

#[test]
fn each_transition_happens_exactly_once_under_concurrent_requests() {
    // 32 threads race to create the order; one wins, the others get the fallback route.
    let mut routes = order_flow();
    routes.push(serde_json::json!({"id": "already", "priority": -1,
        "http": {"request": {"method": "POST", "path": "/order"}, "response": {"status": 409}}}));
    for _ in 0..50 {
        let svc = Arc::new(service(routes.clone()));
        let barrier = Arc::new(std::sync::Barrier::new(32));
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let (svc, barrier) = (svc.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    hit(&svc, "POST", "/order").unwrap()
                })
            })
            .collect();
        let got: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(got.iter().filter(|r| *r == "create").count(), 1, "{got:?}");
        assert_eq!(got.iter().filter(|r| *r == "already").count(), 31);
        assert_eq!(svc.scenarios().get("order").unwrap().state(), "Created");
    }
}

#[test]
fn states_survive_a_rebuild_of_the_service() {
    let before = service(order_flow());
    hit(&before, "POST", "/order");
    // The same scenario states: the state object is shared, so the old table and the new
    // one can never disagree.
    let mut after = service(order_flow());
    after.carry_scenarios(&before, true);
    assert_eq!(after.scenarios().get("order").unwrap().state(), "Created");
    assert!(Arc::ptr_eq(
        after.scenarios().get("order").unwrap(),
        before.scenarios().get("order").unwrap()
    ));
    assert_eq!(hit(&after, "POST", "/order/pay").as_deref(), Some("pay"));
    assert_eq!(before.scenarios().get("order").unwrap().state(), "Paid");

    // A preview copies: moving its state leaves the served one where it is.
    let mut preview = service(order_flow());
    preview.carry_scenarios(&after, false);
    assert_eq!(
        hit(&preview, "POST", "/order/ship").as_deref(),
        Some("ship")
    );
    assert_eq!(after.scenarios().get("order").unwrap().state(), "Paid");
}

fn sequence_route(sequence: serde_json::Value) -> Arc<CompiledRoute> {
    compile(
        serde_json::json!({"id": "q", "http": {"request": {"path": "/q"}, "sequence": sequence}}),
        1,
    )
}

fn statuses(route: &CompiledRoute, n: usize) -> Vec<u16> {
    let h = http::HeaderMap::new();
    (0..n)
        .map(|_| route.answer_at(route.choose(&h)).status.as_u16())
        .collect()
}

#[test]
fn sequences_answer_in_order_then_repeat_the_last_or_cycle() {
    let three = serde_json::json!([{"status": 201}, {"status": 202}, {"status": 203}]);
    let in_order = sequence_route(serde_json::json!({"responses": three}));
    assert_eq!(statuses(&in_order, 5), [201, 202, 203, 203, 203]);
    let cycle = sequence_route(serde_json::json!({"mode": "cycle", "responses": three}));
    assert_eq!(statuses(&cycle, 7), [201, 202, 203, 201, 202, 203, 201]);
}

#[test]
fn random_sequences_follow_their_weights_and_repeat_with_a_seed() {
    let doc = serde_json::json!({"mode": "random", "seed": 7, "weights": [3, 1],
        "responses": [{"status": 200}, {"status": 500}]});
    let a = statuses(&sequence_route(doc.clone()), 10_000);
    let b = statuses(&sequence_route(doc), 10_000);
    assert_eq!(a, b, "the same seed gives the same order");
    let errors = a.iter().filter(|s| **s == 500).count();
    // 1 in 4 expected; 10,000 draws put it within ±3% almost surely.
    assert!((2200..2800).contains(&errors), "{errors} of 10000");
}

#[test]
fn bad_sequences_and_scenarios_are_refused_with_their_pointer() {
    let refuse = |doc: serde_json::Value, pointer: &str| {
        let route: Route = serde_json::from_value(doc).unwrap();
        let err = CompiledRoute::compile(&route, 1, Default::default()).unwrap_err();
        assert_eq!(err.pointer, pointer, "{}", err.message);
    };
    let seq = |s: serde_json::Value| serde_json::json!({"http": {"sequence": s}});
    refuse(
        seq(serde_json::json!({"responses": []})),
        "/http/sequence/responses",
    );
    refuse(
        seq(serde_json::json!({"mode": "random", "weights": [1], "responses": [{}, {}]})),
        "/http/sequence/weights",
    );
    refuse(
        seq(serde_json::json!({"mode": "random", "weights": [1, 0], "responses": [{}, {}]})),
        "/http/sequence/weights/1",
    );
    refuse(
        seq(serde_json::json!({"weights": [1, 1], "responses": [{}, {}]})),
        "/http/sequence/weights",
    );
    refuse(
        serde_json::json!({"http": {"response": {"status": 201}, "sequence": {"responses": [{}]}}}),
        "/http/response",
    );
    refuse(
        serde_json::json!({"scenario": {"name": " "}, "http": {}}),
        "/scenario/name",
    );
    refuse(
        serde_json::json!({"scenario": {"name": "a", "newState": ""}, "http": {}}),
        "/scenario/newState",
    );
}
