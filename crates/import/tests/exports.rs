//! Exports read back by standin's own readers keep every answer. The compat suite
//! (`compat/exports.test.mjs`) checks them with real consumers: MockServer, and Postman's
//! collection SDK.

use serde_json::json;
use standin_import::{Format, Options, Sources, export, import};
use standin_model::Route;

const SPEC: &str = r#"{
  "openapi": "3.0.3", "info": {"title": "Shop", "version": "1"},
  "paths": {
    "/orders/{id}": {"get": {"operationId": "getOrder", "summary": "An order", "tags": ["orders"], "responses": {
      "200": {"description": "ok", "headers": {"X-Trace": {"schema": {"type": "string"}, "example": "t-1"}},
              "content": {"application/json": {"examples": {"small": {"value": {"id": 1}}, "big": {"value": {"id": 2, "lines": [1, 2]}}}}}},
      "404": {"description": "missing", "content": {"text/plain": {"example": "no such order"}}}}}},
    "/orders": {"post": {"operationId": "createOrder", "responses": {"201": {"description": "created"}}}}
  }
}"#;

/// Every answer of every route as (id, status, name, body text).
fn answers(routes: &[Route]) -> Vec<(String, u16, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    for r in routes {
        let http = r.http.as_ref().unwrap();
        for a in std::iter::once(&http.response).chain(&http.alternatives) {
            let body = a.body.as_ref().map(|b| match b {
                standin_model::ResponseBody::Json(v) => v.to_string(),
                standin_model::ResponseBody::Text(t) => {
                    serde_json::from_str::<serde_json::Value>(t)
                        .map_or_else(|_| t.clone(), |v| v.to_string())
                }
                standin_model::ResponseBody::Base64(b) => b.clone(),
            });
            out.push((r.id.clone(), a.status, a.name.clone(), body));
        }
    }
    out
}

#[test]
fn an_openapi_export_imports_back_with_every_answer() {
    let first = import(&Sources::single("s.json", SPEC), None, &Options::default()).unwrap();
    let (doc, warnings) = export::openapi("Shop", &first.routes);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(doc["openapi"], "3.1.0");
    let again = import(
        &Sources::single("e.json", doc.to_string()),
        None,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(again.format, Format::Openapi);
    let names = |rs: &[Route]| {
        answers(rs)
            .into_iter()
            .map(|(id, s, n, b)| (id, s, n.filter(|n| n != "default"), b))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&again.routes), names(&first.routes));
    assert_eq!(again.routes[0].tags, ["orders"]);
    assert_eq!(again.routes[0].name, "An order");
}

#[test]
fn a_postman_export_imports_back_with_every_saved_example() {
    let first = import(&Sources::single("s.json", SPEC), None, &Options::default()).unwrap();
    let (doc, warnings) =
        export::postman("Shop", "http://localhost:8080/shop/orders", &first.routes);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        doc["variable"][0],
        json!({"key": "baseUrl", "value": "http://localhost:8080/shop/orders"})
    );
    let again = import(
        &Sources::single("c.json", doc.to_string()),
        None,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(again.format, Format::Postman);
    let strip = |rs: &[Route]| {
        answers(rs)
            .into_iter()
            .map(|(_, s, _, b)| (s, b))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again.routes), strip(&first.routes));
    let paths: Vec<_> = again
        .routes
        .iter()
        .map(|r| r.http.as_ref().unwrap().request.path.clone())
        .collect();
    assert_eq!(
        paths[0],
        Some(standin_model::PathMatcher::Pattern("/orders/{id}".into()))
    );
}

#[test]
fn what_a_format_cannot_hold_is_a_warning() {
    let routes: Vec<Route> = serde_json::from_value(json!([
        {"id": "re", "http": {"request": {"method": "GET", "path": {"regex": "/a/[0-9]+"}}}},
        {"id": "any", "http": {"request": {"path": "/b"}}}
    ]))
    .unwrap();
    let (doc, warnings) = export::openapi("t", &routes);
    assert_eq!(doc["paths"], json!({}));
    let pointers: Vec<_> = warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/routes/0/http/request/path",
            "/routes/1/http/request/method"
        ]
    );
}
