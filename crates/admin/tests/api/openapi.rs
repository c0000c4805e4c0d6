//! The OpenAPI document: it describes every route the router serves, the checked-in copy
//! (docs/openapi.json) is current, every document field is in the docs, and the docs page.

use crate::{api, send};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

const EXPECTED_PATHS: &[(&str, &[&str])] = &[
    ("/api/v1/health", &["get"]),
    ("/api/v1/status", &["get"]),
    ("/api/v1/teams", &["get", "post"]),
    ("/api/v1/teams/{team}", &["delete", "get", "patch", "put"]),
    ("/api/v1/services", &["get"]),
    ("/api/v1/teams/{team}/services", &["get", "post"]),
    (
        "/api/v1/teams/{team}/services/{service}",
        &["delete", "get", "patch", "put"],
    ),
    (
        "/api/v1/teams/{team}/services/{service}/routes",
        &["get", "post", "put"],
    ),
    (
        "/api/v1/teams/{team}/services/{service}/routes/{id}",
        &["delete", "get", "patch", "put"],
    ),
    ("/api/v1/teams/{team}/services/{service}/import", &["post"]),
    ("/api/v1/teams/{team}/services/{service}/export", &["get"]),
    ("/api/v1/teams/{team}/services/{service}/drift", &["post"]),
    ("/api/v1/search", &["get"]),
    ("/api/v1/history", &["get"]),
    ("/api/v1/restore", &["post"]),
    ("/api/v1/journal", &["delete", "get"]),
    ("/api/v1/journal/verify", &["post"]),
    ("/api/v1/journal/stats", &["get"]),
    ("/api/v1/journal/stream", &["get"]),
    ("/api/v1/usage", &["get"]),
    ("/api/v1/teams/{team}/services/{service}/try", &["post"]),
    (
        "/api/v1/teams/{team}/services/{service}/routes/accept",
        &["post"],
    ),
    (
        "/api/v1/teams/{team}/services/{service}/scenarios",
        &["delete", "get"],
    ),
    (
        "/api/v1/teams/{team}/services/{service}/scenarios/{name}",
        &["delete", "get", "put"],
    ),
];

#[tokio::test]
async fn openapi_document_describes_every_route() {
    let api = api().await;
    api.seed().await;
    let (s, doc) = api.get("/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert_eq!(
        doc,
        serde_json::to_value(standin_admin::openapi()).unwrap(),
        "the served document is the generated one"
    );

    let paths = doc["paths"].as_object().expect("paths");
    let documented: Vec<(String, Vec<String>)> = paths
        .iter()
        .map(|(p, ops)| {
            let mut methods: Vec<String> = ops
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| {
                    ["get", "put", "post", "delete", "patch", "head", "options"]
                        .contains(&k.as_str())
                })
                .cloned()
                .collect();
            methods.sort();
            (p.clone(), methods)
        })
        .collect();
    let mut expected: Vec<(String, Vec<String>)> = EXPECTED_PATHS
        .iter()
        .map(|(p, m)| (p.to_string(), m.iter().map(|s| s.to_string()).collect()))
        .collect();
    expected.sort();
    let mut documented_sorted = documented.clone();
    documented_sorted.sort();
    assert_eq!(documented_sorted, expected);

    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["responses"].is_object(), "{method} {path} has responses");
            assert!(op["tags"].is_array(), "{method} {path} has a tag");
        }
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in ["ErrorBody", "Team", "Service", "Route", "ChangeEvent"] {
        assert!(schemas.contains_key(name), "schema {name} is documented");
    }

    // Every documented operation is served (the router answers, not its fallback).
    for (path, methods) in &documented {
        let uri = path
            .replace("{team}", "pay")
            .replace("{service}", "api")
            .replace("{id}", "r1");
        for method in methods {
            let m = method.to_uppercase();
            let body = matches!(m.as_str(), "POST" | "PUT").then_some("{}");
            if uri.ends_with("/stream") {
                // An event stream does not end: its status and type are the answer.
                let res = api
                    .router
                    .clone()
                    .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::OK, "{m} {uri}");
                continue;
            }
            let (s, _, bytes) = send(&api.router, &m, &uri, body, None).await;
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{m} {uri}");
            assert!(
                !(s == StatusCode::NOT_FOUND && bytes.is_empty()),
                "{m} {uri} is not routed"
            );
        }
    }
    // And the router has no fallback answer for what is not documented.
    let (s, _, _) = send(&api.router, "GET", "/api/v1/nope", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = send(&api.router, "PATCH", "/api/v1/teams", None, None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn docs_page_and_api_redirect() {
    let api = api().await;
    let (s, headers, body) = send(&api.router, "GET", "/api/v1/docs/", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = String::from_utf8_lossy(&body).to_lowercase();
    assert!(html.contains("<html") && html.contains("swagger"), "{html}");

    // `/` is the web UI now (see live.rs); `/api` leads to the docs.
    let (s, headers, _) = send(&api.router, "GET", "/api", None, None).await;
    assert!(s.is_redirection(), "{s}");
    assert_eq!(headers[header::LOCATION], "/api/v1/docs/");
}

/// Every field a user can write in a route, service or forward is named in docs/api.md,
/// and every request condition in docs/matching.md. The field lists come from the
/// generated OpenAPI document, so a new field without documentation fails here.
#[test]
fn every_field_of_the_documents_is_documented() {
    let doc = serde_json::to_value(standin_admin::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let read = |name: &str| {
        std::fs::read_to_string(format!("{}/../../docs/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    };
    let api_md = read("api.md");
    let matching_md = read("matching.md");
    let mut missing = Vec::new();
    for (schema, text, file) in [
        ("Route", &api_md, "api.md"),
        ("HttpRoute", &api_md, "api.md"),
        ("HttpResponse", &api_md, "api.md"),
        ("Forward", &api_md, "api.md"),
        ("Service", &api_md, "api.md"),
        ("HttpRequestMatcher", &matching_md, "matching.md"),
    ] {
        let fields = schemas[schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema {schema}"));
        for field in fields.keys() {
            if !text.contains(&format!("`{field}`")) && !text.contains(&format!("\"{field}\"")) {
                missing.push(format!("{schema}.{field} in docs/{file}"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

/// docs/openapi.json is the document the code generates, byte for byte (as `standin
/// openapi` prints it), so that readers and client generators see the API as it is served
/// and a change to the API shows up in review as a change to that file.
#[test]
fn the_checked_in_openapi_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let generated = standin_admin::openapi()
        .to_pretty_json()
        .expect("the document serializes")
        + "\n";
    let checked_in = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read docs/openapi.json ({e}); run `make openapi`"));
    if checked_in != generated {
        let line = checked_in
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| checked_in.lines().count().min(generated.lines().count()))
            + 1;
        panic!(
            "docs/openapi.json differs from the document the code generates (first at line \
             {line}); run `make openapi` and commit the result"
        );
    }
}
