//! Import and export through the real binary: the CLI reads a split OpenAPI document
//! from disk and sends it to a running server; the mock port then answers from it.

use crate::support::{Standin, http, json_call, run};
use serde_json::{Value, json};

const OPENAPI: &str = r#"
openapi: 3.0.3
info: {title: Orders, version: "1"}
servers: [{url: "https://orders.example.com/v2"}]
paths:
  /orders/{id}:
    get:
      operationId: getOrder
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: 'schemas/order.yaml#/Order'}
        "404":
          description: missing
          content:
            application/json:
              examples:
                plain: {value: {error: no such order}}
                polite: {value: {error: 'sorry, no such order'}}
  /orders:
    post:
      operationId: createOrder
      responses:
        "201": {description: created, content: {application/json: {example: {id: new}}}}
"#;

const ORDER: &str = "Order:\n  type: object\n  required: [id, total]\n  properties:\n    id: {type: string, format: uuid}\n    total: {type: number, minimum: 1}\n";

fn admin(s: &Standin) -> String {
    format!("http://{}", s.admin)
}

/// `standin import FILE --service SERVICE` against the running server; its stdout.
fn import_via(s: &Standin, file: &str, service: &str) -> String {
    run(&["import", file, "--service", service, "--admin", &admin(s)])
}

#[test]
fn an_openapi_file_with_external_refs_imports_through_the_cli_and_is_served() {
    let s = Standin::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("schemas")).unwrap();
    std::fs::write(dir.path().join("orders.yaml"), OPENAPI).unwrap();
    std::fs::write(dir.path().join("schemas/order.yaml"), ORDER).unwrap();
    let spec = dir.path().join("orders.yaml");
    let out = import_via(&s, spec.to_str().unwrap(), "shop/orders");
    assert!(out.contains("shop/orders: 2 created"), "{out}");

    let got = http(s.mock, "GET", "/shop/orders/orders/42", &[], b"");
    assert_eq!(got.status, 200);
    let order: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(order["id"].as_str().unwrap().len(), 36, "{order}");
    assert!(order["total"].as_f64().unwrap() >= 1.0);
    let missing = http(
        s.mock,
        "GET",
        "/shop/orders/orders/42",
        &[("Prefer", "code=404, example=polite")],
        b"",
    );
    assert_eq!(missing.status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&missing.body).unwrap(),
        json!({"error": "sorry, no such order"})
    );
    assert_eq!(
        http(s.mock, "POST", "/shop/orders/orders", &[], b"").status,
        201
    );

    // The service was created with the document's title, and the change is one event
    // per document written, under one change id.
    let (_, svc) = json_call(s.admin, "GET", "/api/v1/teams/shop/services/orders", None);
    assert_eq!(svc["name"], "Orders");
    let (_, history) = json_call(s.admin, "GET", "/api/v1/history?limit=10", None);
    let changes: std::collections::BTreeSet<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["changeId"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(changes.len(), 1, "{history}");
}

#[test]
fn a_dry_run_shows_the_plan_and_changes_nothing() {
    let s = Standin::start(&[]);
    let body = OPENAPI.replace(
        "schema: {$ref: 'schemas/order.yaml#/Order'}",
        "schema: {type: object}",
    );
    let resp = http(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services/orders/import?dryRun=true&basePath=keep",
        &[("Content-Type", "application/yaml")],
        body.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let report: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(report["summary"]["create"], 2);
    assert_eq!(report["createdService"], true);
    let (status, _) = json_call(s.admin, "GET", "/api/v1/teams/shop", None);
    assert_eq!(status, 404, "a dry run creates nothing");

    // Applied with basePath=keep, the server's /v2 is part of each path.
    let resp = http(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services/orders/import?basePath=keep",
        &[],
        body.as_bytes(),
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        http(s.mock, "GET", "/shop/orders/v2/orders/1", &[], b"").status,
        200
    );
}

#[test]
fn a_broken_document_imports_nothing_and_says_where() {
    let s = Standin::start(&[]);
    let resp = http(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services/orders/import",
        &[],
        b"openapi: 3.0.0\npaths:\n  /a: [1,\n",
    );
    assert_eq!(resp.status, 400);
    let e: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(e["error"], "invalid_document");
    assert!(e["line"].as_u64().is_some(), "{e}");
    let resp = http(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services/orders/import?format=raml",
        &[],
        b"{}",
    );
    let e: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        (resp.status, e["error"].as_str(), e["pointer"].as_str()),
        (400, Some("invalid_query"), Some("/format"))
    );
    let (status, _) = json_call(s.admin, "GET", "/api/v1/teams/shop", None);
    assert_eq!(status, 404, "nothing was created");
}

#[test]
fn an_export_imports_again_unchanged() {
    let s = Standin::start(&["--demo"]);
    let exported = run(&[
        "export",
        "--service",
        "demo/petstore",
        "--admin",
        &admin(&s),
    ]);
    assert!(exported.starts_with("standin: 1"), "{exported}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("petstore.yaml");
    std::fs::write(&file, &exported).unwrap();
    let out = run(&[
        "import",
        file.to_str().unwrap(),
        "--service",
        "demo/petstore",
        "--admin",
        &admin(&s),
        "--json",
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["format"], "native");
    let summary = &report["summary"];
    assert_eq!(
        (summary["create"].as_u64(), summary["update"].as_u64()),
        (Some(0), Some(0)),
        "{report}"
    );
    assert!(summary["unchanged"].as_u64().unwrap() > 0);
    // Into another service, the same routes answer the same way.
    import_via(&s, file.to_str().unwrap(), "copy/petstore");
    let a = http(s.mock, "GET", "/demo/petstore/pets", &[], b"");
    let b = http(s.mock, "GET", "/copy/petstore/pets", &[], b"");
    assert_eq!((a.status, a.body), (b.status, b.body));
}

#[test]
fn a_wiremock_folder_imports_through_the_cli_and_exports_back() {
    let s = Standin::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::create_dir_all(dir.path().join("__files")).unwrap();
    std::fs::write(
        dir.path().join("mappings/a.json"),
        r#"{"request": {"method": "GET", "urlPath": "/a"}, "response": {"status": 200, "bodyFileName": "a.txt"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mappings/b.json"),
        r#"{"mappings": [{"request": {"urlPathTemplate": "/b/{id}"}, "response": {"status": 202, "jsonBody": {"b": true}}}]}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("__files/a.txt"), "from a file").unwrap();
    // A body file that is not text.
    let png: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0xfe,
    ];
    std::fs::write(dir.path().join("__files/logo.png"), png).unwrap();
    std::fs::write(
        dir.path().join("mappings/logo.json"),
        r#"{"request": {"method": "GET", "urlPath": "/logo"}, "response": {"status": 200, "bodyFileName": "logo.png", "headers": {"Content-Type": "image/png"}}}"#,
    )
    .unwrap();
    let out = import_via(&s, dir.path().to_str().unwrap(), "legacy/api");
    assert!(out.contains("3 created"), "{out}");
    assert_eq!(http(s.mock, "GET", "/legacy/api/logo", &[], b"").body, png);
    let a = http(s.mock, "GET", "/legacy/api/a", &[], b"");
    assert_eq!(
        (a.status, a.body.as_slice()),
        (200, b"from a file".as_slice())
    );
    assert_eq!(
        http(s.mock, "DELETE", "/legacy/api/b/9", &[], b"").status,
        202
    );
    let (_, svc) = json_call(s.admin, "GET", "/api/v1/teams/legacy/services/api", None);
    assert_eq!(svc["matchOrder"], "newest", "WireMock's order");
    let exported = run(&[
        "export",
        "--service",
        "legacy/api",
        "--format",
        "wiremock",
        "--admin",
        &admin(&s),
    ]);
    let doc: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(doc["mappings"].as_array().unwrap().len(), 3);
    assert_eq!(doc["meta"]["standinWarnings"], json!([]));
}

const VALIDATED: &str = r#"
openapi: 3.0.3
info: {title: Stock, version: "1"}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    put:
      operationId: putItem
      parameters:
        - {name: dryRun, in: query, schema: {type: boolean}}
        - {name: X-Request-Id, in: header, required: true, schema: {type: string, format: uuid}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Item'}
      responses:
        "200": {description: ok, content: {application/json: {example: {saved: true}}}}
components:
  schemas:
    Item:
      type: object
      required: [name, qty]
      properties:
        name: {type: string, minLength: 1}
        qty: {type: integer, minimum: 0, nullable: true}
"#;

#[test]
fn a_service_that_validates_requests_answers_400_with_each_violation() {
    let s = Standin::start(&[]);
    let resp = http(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services/stock/import",
        &[],
        VALIDATED.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let good_headers = [
        ("Content-Type", "application/json"),
        ("X-Request-Id", "1d7ea3b5-1e0c-4f5e-9a52-3d1f0c6f7a10"),
    ];
    // Validation is off by default: a bad request is answered.
    assert_eq!(
        http(s.mock, "PUT", "/shop/stock/items/0", &[], b"").status,
        200
    );
    let (status, _) = json_call(
        s.admin,
        "PATCH",
        "/api/v1/teams/shop/services/stock",
        Some(json!({"validateRequests": true})),
    );
    assert_eq!(status, 200);
    let ok = http(
        s.mock,
        "PUT",
        "/shop/stock/items/7?dryRun=true",
        &good_headers,
        br#"{"name": "bolt", "qty": null}"#,
    );
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let bad = http(
        s.mock,
        "PUT",
        "/shop/stock/items/0?dryRun=maybe",
        &[("Content-Type", "application/json")],
        br#"{"name": "", "qty": -1}"#,
    );
    assert_eq!(bad.status, 400);
    let e: Value = serde_json::from_slice(&bad.body).unwrap();
    assert_eq!(
        (
            e["error"].as_str(),
            e["source"].as_str(),
            e["route"].as_str()
        ),
        (Some("request_invalid"), Some("client"), Some("putItem"))
    );
    let found: std::collections::BTreeSet<(String, String, String)> = e["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["in"].as_str().unwrap().to_string(),
                v["name"].as_str().unwrap_or("").to_string(),
                v["pointer"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: std::collections::BTreeSet<(String, String, String)> = [
        ("path", "id", ""),
        ("query", "dryRun", ""),
        ("header", "X-Request-Id", ""),
        ("body", "", "/name"),
        ("body", "", "/qty"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(found, want, "{e}");
    let empty = http(
        s.mock,
        "PUT",
        "/shop/stock/items/7",
        &good_headers[1..],
        b"",
    );
    let e: Value = serde_json::from_slice(&empty.body).unwrap();
    assert_eq!(e["violations"][0]["message"], "a body is required", "{e}");
    // The journal keeps the refusal with its code.
    let (_, journal) = json_call(
        s.admin,
        "GET",
        "/api/v1/journal?service=shop/stock&status=400",
        None,
    );
    assert!(
        journal
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["error"] == "request_invalid"),
        "{journal}"
    );
    let (_, status) = json_call(s.admin, "GET", "/api/v1/status", None);
    assert_eq!(status["serving"]["invalidRequests"], 2);
}

/// A tiny HTTP server on loopback that answers every request with the current
/// (status, body).
fn document_server() -> (
    std::net::SocketAddr,
    std::sync::Arc<parking_lot::Mutex<(u16, String)>>,
) {
    use std::io::{Read, Write};
    let doc = std::sync::Arc::new(parking_lot::Mutex::new((200, String::new())));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let served = doc.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let (status, body) = served.lock().clone();
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, doc)
}

fn spec(version: &str, summary: &str) -> String {
    format!(
        r#"{{"openapi": "3.0.3", "info": {{"title": "Synced", "version": "{version}"}}, "paths": {{
            "/a": {{"get": {{"operationId": "getA", "summary": "{summary}", "responses": {{"200": {{"description": "ok", "content": {{"application/json": {{"example": {{"v": "{version}"}}}}}}}}}}}}}},
            "/b": {{"get": {{"operationId": "getB", "responses": {{"200": {{"description": "ok", "content": {{"application/json": {{"example": {{"b": "{version}"}}}}}}}}}}}}}}}}}}"#
    )
}

/// Polls `f` until it holds, for at most 15 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_service_synced_from_a_url_follows_new_versions_and_waits_on_conflicts() {
    let s = Standin::start(&[]);
    let (addr, doc) = document_server();
    *doc.lock() = (200, spec("1", "A"));
    let (status, _) = json_call(
        s.admin,
        "POST",
        "/api/v1/teams",
        Some(json!({"slug": "sync"})),
    );
    assert_eq!(status, 201);
    let (status, body) = json_call(
        s.admin,
        "POST",
        "/api/v1/teams/sync/services",
        Some(
            json!({"slug": "api", "sync": {"url": format!("http://{addr}/openapi.json"), "intervalSeconds": 1}}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let answer = |path: &str| -> Value {
        let r = http(s.mock, "GET", path, &[], b"");
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    };
    eventually("version 1", || answer("/sync/api/a") == json!({"v": "1"}));

    // A new version is applied on the next pull.
    *doc.lock() = (200, spec("2", "A"));
    eventually("version 2", || answer("/sync/api/a") == json!({"v": "2"}));
    let (_, st) = json_call(s.admin, "GET", "/api/v1/status", None);
    assert_eq!(st["sync"]["sync/api"]["outcome"], "applied", "{st}");

    // A document that fails changes nothing, and the status says why.
    *doc.lock() = (500, "broken".into());
    eventually("the failure", || {
        let (_, st) = json_call(s.admin, "GET", "/api/v1/status", None);
        st["sync"]["sync/api"]["outcome"] == "failed"
            && st["sync"]["sync/api"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("500")
    });
    assert_eq!(answer("/sync/api/a"), json!({"v": "2"}));

    // Someone edits getA by hand; version 3 changes it too: the plan waits for a person,
    // and nothing of it is applied (getB stays at version 2 as well).
    let (status, _) = json_call(
        s.admin,
        "PATCH",
        "/api/v1/teams/sync/services/api/routes/getA",
        Some(json!({"http": {"response": {"status": 202}}})),
    );
    assert_eq!(status, 200);
    *doc.lock() = (200, spec("3", "A, changed"));
    eventually("the conflict", || {
        let (_, st) = json_call(s.admin, "GET", "/api/v1/status", None);
        st["sync"]["sync/api"]["outcome"] == "waiting"
            && st["sync"]["sync/api"]["conflicts"][0]["id"] == "getA"
    });
    assert_eq!(answer("/sync/api/b"), json!({"b": "2"}));
    assert_eq!(http(s.mock, "GET", "/sync/api/a", &[], b"").status, 202);
}

#[test]
fn the_drift_report_names_routes_that_no_longer_keep_the_document() {
    let s = Standin::start(&[]);
    let resp = http(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services/stock/import",
        &[],
        VALIDATED.as_bytes(),
    );
    assert_eq!(resp.status, 200);
    let (status, _) = json_call(
        s.admin,
        "PATCH",
        "/api/v1/teams/shop/services/stock/routes/putItem",
        Some(json!({"http": {"response": {"body": {"json": {"saved": "yes"}}}}})),
    );
    assert_eq!(status, 200);
    let stricter = VALIDATED.replace(
        r#""200": {description: ok, content: {application/json: {example: {saved: true}}}}"#,
        r#""200": {description: ok, content: {application/json: {schema: {type: object, properties: {saved: {type: boolean}}}, example: {saved: true}}}}"#,
    );
    let resp = http(
        s.admin,
        "POST",
        "/api/v1/teams/shop/services/stock/drift",
        &[],
        stricter.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let report: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(report["checked"], 1);
    assert_eq!(report["drifted"][0]["id"], "putItem");
    assert_eq!(
        report["drifted"][0]["problems"][0]["pointer"], "/saved",
        "{report}"
    );
}

#[test]
fn the_cli_imports_into_a_data_directory_no_server_holds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let spec = dir.path().join("orders.yaml");
    std::fs::write(&spec, VALIDATED).unwrap();
    let out = run(&[
        "import",
        spec.to_str().unwrap(),
        "--service",
        "shop/stock",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(out.contains("shop/stock: 1 created"), "{out}");
    // A server started on the directory serves what was imported.
    let s = Standin::start_with_env(&[], &[], dir);
    let got = http(s.mock, "PUT", "/shop/stock/items/7", &[], b"");
    assert_eq!(got.status, 200);
    // While it runs, the directory is its alone.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
        .args([
            "import",
            spec.to_str().unwrap(),
            "--service",
            "shop/other",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("another standin process uses the data directory"),
        "{err}"
    );
}

#[test]
fn a_mockserver_expectation_file_imports_into_any_service_and_plans_a_newer_one() {
    let s = Standin::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("expectations.json");
    let v1 = json!([
        {"httpRequest": {"method": "GET", "path": "/users/1"}, "httpResponse": {"statusCode": 200, "body": "ann"}},
        {"httpRequest": {"path": "/health"}, "httpResponse": {"statusCode": 204}}
    ]);
    std::fs::write(&file, v1.to_string()).unwrap();
    let out = import_via(&s, file.to_str().unwrap(), "legacy/users");
    assert!(out.contains("legacy/users: 2 created"), "{out}");
    let got = http(s.mock, "GET", "/legacy/users/users/1", &[], b"");
    assert_eq!((got.status, got.body.as_slice()), (200, b"ann".as_slice()));
    let (_, svc) = json_call(s.admin, "GET", "/api/v1/teams/legacy/services/users", None);
    assert_eq!(svc["matchOrder"], "oldest", "MockServer's order");
    // The same file again: the ids by position make it a no-op; a newer one is a plan.
    let again = import_via(&s, file.to_str().unwrap(), "legacy/users");
    assert!(
        again.contains("0 created, 0 updated, 0 deleted, 2 unchanged"),
        "{again}"
    );
    let v2 = json!([{"httpRequest": {"method": "GET", "path": "/users/1"}, "httpResponse": {"statusCode": 200, "body": "ann v2"}}]);
    std::fs::write(&file, v2.to_string()).unwrap();
    let newer = import_via(&s, file.to_str().unwrap(), "legacy/users");
    assert!(newer.contains("0 created, 1 updated, 1 deleted"), "{newer}");
    assert_eq!(
        http(s.mock, "GET", "/legacy/users/users/1", &[], b"").body,
        b"ann v2"
    );
}
