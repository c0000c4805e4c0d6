//! Handlebars templates through the mock port: WireMock's helpers render, a template that
//! fails answers 500 naming the route, the template and the line (and is journaled), and
//! a template that explodes is stopped by its budget.

use crate::support::{Standin, http, json_call};
use serde_json::{Value, json};

fn put(s: &Standin, id: &str, response: Value) -> (u16, Value) {
    json_call(
        s.admin,
        "PUT",
        &format!("/api/v1/teams/demo/services/petstore/routes/{id}"),
        Some(json!({"http": {"request": {"path": format!("/{id}")}, "response": response}})),
    )
}

#[test]
fn wiremock_helpers_render_through_the_mock_port() {
    let s = Standin::start(&["--demo"]);
    let template = "{{#with (parseJson request.body)}}{{upper name}} has {{size items}} items: \
        {{#each items}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}{{/with}} \
        | id={{jsonPath request.body '$.id'}} | q={{request.query.tag.[1]}} \
        | {{math 6 '*' 7}} | {{#eq request.headers.X-Mode.[0] 'fast'}}fast{{else}}slow{{/eq}}";
    let (status, body) = put(
        &s,
        "t",
        json!({"templated": true, "headers": {"X-Echo": "{{request.query.tag}}"},
            "body": {"text": template}}),
    );
    assert_eq!(status, 201, "{body}");
    let r = http(
        s.mock,
        "POST",
        "/demo/petstore/t?tag=a&tag=b",
        &[("X-Mode", "fast"), ("Content-Type", "application/json")],
        br#"{"id": 7, "name": "ana", "items": ["x", "y"]}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "ANA has 2 items: x, y | id=7 | q=b | 42 | fast"
    );
    assert_eq!(r.header("x-echo"), Some("a"));
}

#[test]
fn a_template_that_fails_answers_500_naming_route_template_and_line() {
    let s = Standin::start(&["--demo"]);
    let (status, _) = put(
        &s,
        "broken",
        json!({"templated": true, "body": {"text": "line one\n{{base64 request.body decode=true}}"}}),
    );
    assert_eq!(status, 201);
    let r = http(
        s.mock,
        "POST",
        "/demo/petstore/broken",
        &[],
        b"%%% not base64",
    );
    assert_eq!(r.status, 500);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["error"], "render_failed");
    assert_eq!(body["route"], "broken");
    assert_eq!(body["template"], "body");
    assert!(
        body["message"].as_str().unwrap().contains("line 2"),
        "{body}"
    );
    let (_, entries) = json_call(
        s.admin,
        "GET",
        "/api/v1/journal?service=demo/petstore&limit=1",
        None,
    );
    assert_eq!(entries[0]["error"], "render_failed");

    // A template that does not compile is refused on save, with its pointer and line.
    let (status, body) = put(
        &s,
        "bad",
        json!({"templated": true, "body": {"text": "ok\n\n{{nosuch request.body}}"}}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["pointer"], "/http/response/body");
    assert!(
        body["message"].as_str().unwrap().contains("line 3"),
        "{body}"
    );
}

#[test]
fn a_template_that_explodes_is_stopped_by_its_budget() {
    let s = Standin::start(&["--demo"]);
    // 100,000 × 100,000 iterations: stopped long before.
    let (status, _) = put(
        &s,
        "boom",
        json!({"templated": true, "body": {"text":
            "{{#each (range 1 100000)}}{{#each (range 1 100000)}}xxxxxxxxxx{{/each}}{{/each}}"}}),
    );
    assert_eq!(status, 201);
    let r = http(s.mock, "GET", "/demo/petstore/boom", &[], b"");
    assert_eq!(r.status, 500, "{}", String::from_utf8_lossy(&r.body));
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        body["error"] == "budget_exceeded" || body["error"] == "render_failed",
        "{body}"
    );
    // Loops that write nothing are stopped too: by their work, not their output.
    let (status, _) = put(
        &s,
        "spin",
        json!({"templated": true, "body": {"text":
            "{{#each (range 1 100000)}}{{#each (range 1 100000)}}{{/each}}{{/each}}"}}),
    );
    assert_eq!(status, 201);
    let r = http(s.mock, "GET", "/demo/petstore/spin", &[], b"");
    assert_eq!(r.status, 500, "{}", String::from_utf8_lossy(&r.body));
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["error"], "budget_exceeded", "{body}");
    // The server goes on answering.
    assert_eq!(
        http(s.mock, "GET", "/demo/petstore/pets", &[], b"").status,
        200
    );
}

#[test]
fn a_json_body_template_must_render_to_json() {
    let s = Standin::start(&["--demo"]);
    let (status, _) = put(
        &s,
        "card",
        json!({"templated": true, "headers": {"Content-Type": "application/json"},
            "body": {"text": "{\"name\": \"{{request.query.name}}\"}"}}),
    );
    assert_eq!(status, 201);
    let r = http(s.mock, "GET", "/demo/petstore/card?name=Ana", &[], b"");
    assert_eq!(String::from_utf8_lossy(&r.body), r#"{"name": "Ana"}"#);
    // A value that breaks the quoting: the template's failure, named, not broken JSON.
    let r = http(s.mock, "GET", "/demo/petstore/card?name=a%22b", &[], b"");
    assert_eq!(r.status, 500);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["error"], "render_failed");
    assert!(
        body["message"].as_str().unwrap().contains("not JSON"),
        "{body}"
    );
}

#[test]
fn fake_data_in_korean_with_a_seed_repeats_per_request() {
    let s = Standin::start(&["--demo"]);
    let (status, body) = put(
        &s,
        "people",
        json!({"templated": true, "templateSeed": 7, "templateLocale": "ko_KR",
            "headers": {"Content-Type": "application/json"},
            "body": {"json": {"name": "{{fake 'name.fullName'}}",
                "phone": "{{fake 'phoneNumber.cellPhone'}}",
                "address": "{{fake 'address.fullAddress'}}",
                "id": "{{randomValue type='UUID'}}"}}}),
    );
    assert_eq!(status, 201, "{body}");
    let call = |q: &str| {
        let r = http(
            s.mock,
            "GET",
            &format!("/demo/petstore/people?{q}"),
            &[],
            b"",
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice::<Value>(&r.body).unwrap()
    };
    let a = call("n=1");
    assert!(
        a["name"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)),
        "{a}"
    );
    assert!(a["phone"].as_str().unwrap().starts_with("010-"), "{a}");
    assert_eq!(a, call("n=1"), "the same request, the same answer");
    assert_ne!(a, call("n=2"), "another request, other values");

    // A locale nobody has is refused on save with its pointer.
    let (status, body) = put(
        &s,
        "people",
        json!({"templated": true, "templateLocale": "tlh", "body": {"text": "x"}}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("/templateLocale"), "{body}");
}
