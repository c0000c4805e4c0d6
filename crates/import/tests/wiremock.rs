//! The WireMock reader on small inputs. Behaviour against a real WireMock is checked by
//! `compat/wiremock.test.mjs`.

use serde_json::json;
use standin_import::{Format, Options, Sources, import, plan};
use standin_model::{BodyMatcher, Fault, PathMatcher, ResponseBody, StringMatcher};

fn read(sources: &Sources) -> standin_import::Imported {
    import(sources, None, &Options::default()).unwrap()
}

#[test]
fn a_folder_with_mappings_and_body_files_imports() {
    let mut s = Sources::single(
        "mappings/orders.json",
        json!({"id": "8c5db8b0-2db4-4ad7-a99d-00000000000a", "name": "an order",
               "request": {"method": "GET", "urlPathTemplate": "/orders/{id}"},
               "response": {"status": 200, "bodyFileName": "order.json", "headers": {"Content-Type": "application/json"}}})
        .to_string(),
    );
    s.files.insert(
        "mappings/more.json".into(),
        json!({"mappings": [
            {"request": {"method": "ANY", "urlPattern": "/any/.*"}, "response": {"status": 500, "fault": "EMPTY_RESPONSE"}, "priority": 1},
            {"request": {"urlPath": "/slow"}, "response": {"status": 200, "fixedDelayMilliseconds": 40, "jsonBody": [1]}}
        ]})
        .to_string(),
    );
    s.files
        .insert("__files/order.json".into(), "{\"id\": 7}".into());
    let i = read(&s);
    assert_eq!(i.format, Format::Wiremock);
    assert_eq!(i.routes.len(), 3);
    let order = &i.routes[0];
    assert_eq!(order.id, "8c5db8b0-2db4-4ad7-a99d-00000000000a");
    assert_eq!(order.name, "an order");
    let http = order.http.as_ref().unwrap();
    assert_eq!(
        http.request.path,
        Some(PathMatcher::Pattern("/orders/{id}".into()))
    );
    assert_eq!(
        http.response.body,
        Some(ResponseBody::Text("{\"id\": 7}".into()))
    );
    // In the `mappings` array the first is the newest: it is created last.
    assert_eq!(i.routes[1].id, "wiremock-3");
    assert_eq!(i.routes[2].id, "wiremock-2");
    let any = i.routes[2].http.as_ref().unwrap();
    assert_eq!(any.request.method, None, "ANY");
    assert_eq!(any.response.fault, Some(Fault::DropConnection));
    assert_eq!(
        i.routes[2].priority, 4,
        "WireMock priority 1 is standin 5 - 1"
    );
    assert_eq!(i.routes[1].http.as_ref().unwrap().response.delay_ms, 40);
}

#[test]
fn matchers_become_conditions() {
    let s = Sources::single(
        "m.json",
        json!({"request": {"method": "POST", "url": "/a?x=1&y=two",
            "headers": {"X-A": {"equalTo": "v", "caseInsensitive": true}, "X-B": {"absent": true}},
            "cookies": {"c": {"or": [{"equalTo": "1"}, {"matches": "[a-z]+"}]}},
            "bodyPatterns": [{"equalToJson": "{\"k\": 1}", "ignoreExtraElements": true, "ignoreArrayOrder": true}, {"matchesJsonPath": {"expression": "$.n", "equalTo": "3"}}]},
            "response": {"status": 201}})
        .to_string(),
    );
    let i = read(&s);
    let rq = &i.routes[0].http.as_ref().unwrap().request;
    assert_eq!(rq.path, Some(PathMatcher::Exact("/a".into())));
    assert_eq!(rq.query["y"], StringMatcher::Equals("two".into()));
    assert_eq!(
        rq.headers["X-A"],
        StringMatcher::EqualsIgnoreCase("v".into())
    );
    assert_eq!(rq.headers["X-B"], StringMatcher::Present(false));
    assert!(matches!(&rq.cookies["c"], StringMatcher::AnyOf(v) if v.len() == 2));
    let Some(BodyMatcher::AllOf(all)) = &rq.body else {
        panic!("{:?}", rq.body)
    };
    assert_eq!(all[0], BodyMatcher::JsonPartial(json!({"k": 1})));
    assert!(matches!(&all[1], BodyMatcher::JsonPath(jp) if jp.equals == Some(json!(3))));
}

#[test]
fn what_has_no_counterpart_is_a_warning_with_its_pointer() {
    let s = Sources::single(
        "m.json",
        json!({"mappings": [{"requiredScenarioState": "Started",
            "request": {"urlPath": "/a", "headers": {"X-D": {"before": "now"}}},
            "response": {"status": 200, "delayDistribution": {"type": "uniform", "lower": 10, "upper": 30}}}]})
        .to_string(),
    );
    let i = read(&s);
    let pointers: Vec<&str> = i.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/mappings/0/request/headers/X-D/before",
            "/mappings/0/response/delayDistribution",
            "/mappings/0/scenarioName",
        ]
    );
    assert_eq!(
        i.routes[0].http.as_ref().unwrap().response.delay_ms,
        20,
        "the uniform's middle"
    );
    assert!(
        i.routes[0].scenario.is_none(),
        "states without a scenario name"
    );
}

#[test]
fn scenario_fields_become_the_routes_scenario_step() {
    let s = Sources::single(
        "m.json",
        json!({"mappings": [{"scenarioName": "cart", "requiredScenarioState": "Started",
            "newScenarioState": "Full", "request": {"urlPath": "/cart"}, "response": {"status": 201}}]})
        .to_string(),
    );
    let i = read(&s);
    assert!(i.warnings.is_empty(), "{:?}", i.warnings);
    let step = i.routes[0].scenario.as_ref().unwrap();
    assert_eq!(
        (
            step.name.as_str(),
            step.required_state.as_deref(),
            step.new_state.as_deref()
        ),
        ("cart", Some("Started"), Some("Full"))
    );
}

#[test]
fn broken_mappings_import_nothing() {
    let cases = [
        (
            json!({"request": {"urlPath": "/a"}, "response": {"bodyFileName": "missing.json"}}),
            "/response/bodyFileName",
        ),
        (
            json!({"request": {"url": "/a", "urlPath": "/a"}, "response": {}}),
            "/request",
        ),
        (
            json!({"request": {"urlPath": "/a"}, "response": {"status": "ok"}}),
            "/response/status",
        ),
        (
            json!({"mappings": [{"id": "x", "request": {}, "response": {}}, {"id": "x", "request": {}, "response": {}}]}),
            "/mappings/1/id",
        ),
        (
            json!({"request": {"urlPath": "/a", "headers": {"X": {}}}, "response": {}}),
            "/request/headers/X",
        ),
    ];
    for (doc, pointer) in cases {
        let e = import(
            &Sources::single("m.json", doc.to_string()),
            None,
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!(e.pointer, pointer, "{doc}: {e}");
    }
}

#[test]
fn the_export_reads_back_as_the_same_routes() {
    let s = Sources::single(
        "m.json",
        json!({"mappings": [
            {"id": "11111111-1111-4111-8111-111111111111", "request": {"method": "GET", "urlPathTemplate": "/u/{id}", "queryParameters": {"q": {"contains": "x"}}}, "response": {"status": 200, "jsonBody": {"a": 1}, "headers": {"Content-Type": "application/json"}}},
            {"id": "22222222-2222-4222-8222-222222222222", "request": {"method": "POST", "urlPathPattern": "/p/[0-9]+", "bodyPatterns": [{"matchesXPath": "/a"}]}, "response": {"status": 202, "body": "ok", "fixedDelayMilliseconds": 5}, "priority": 3}
        ]})
        .to_string(),
    );
    let first = read(&s);
    let (exported, warnings) = standin_import::wiremock::export(&first.routes);
    assert!(warnings.is_empty(), "{warnings:?}");
    let again = read(&Sources::single("m.json", exported.to_string()));
    let strip = |rs: &[standin_model::Route]| -> Vec<_> {
        rs.iter()
            .map(|r| (r.id.clone(), r.priority, r.http.clone()))
            .collect()
    };
    assert_eq!(strip(&first.routes), strip(&again.routes));
    // Imported again into the service that has them: nothing to do (the origins differ,
    // but a route's fingerprint leaves its origin out).
    let p = plan(&first.routes, &again);
    assert_eq!(p.unchanged.len(), 2);
    assert!(p.is_empty());
}
