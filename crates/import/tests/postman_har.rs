//! The Postman and HAR readers on small inputs; `tests/corpus.rs` runs them on real ones.

use serde_json::json;
use standin_import::{Format, Options, Sources, import};
use standin_model::{BodyMatcher, PathMatcher, ResponseBody, StringMatcher};

#[test]
fn a_postman_collection_resolves_variables_from_its_environment() {
    let collection = json!({
        "info": {"name": "Shop", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "variable": [{"key": "version", "value": "v1"}, {"key": "greeting", "value": "from the collection"}],
        "item": [{"name": "orders", "item": [{
            "name": "Get order",
            "request": {"method": "get", "url": {"raw": "{{baseUrl}}/{{version}}/orders/:id", "host": ["{{baseUrl}}"], "path": ["{{version}}", "orders", ":id"]}},
            "response": [
                {"name": "found", "code": 200, "header": [{"key": "Content-Type", "value": "application/json"}, {"key": "Content-Length", "value": "99"}], "body": "{\"greeting\": \"{{greeting}}\"}"},
                {"name": "missing", "code": 404, "body": ""}
            ]
        }]}, {"name": "ping", "request": "https://api.example.com/ping"}]
    });
    let env = json!({"name": "dev", "_postman_variable_scope": "environment", "values": [{"key": "greeting", "value": "from the environment", "enabled": true}]});
    let mut s = Sources::single("shop.postman_collection.json", collection.to_string());
    s.files
        .insert("dev.postman_environment.json".into(), env.to_string());
    let i = import(&s, None, &Options::default()).unwrap();
    assert_eq!(i.format, Format::Postman);
    assert_eq!(i.title.as_deref(), Some("Shop"));
    let order = &i.routes[0];
    assert_eq!(order.tags, ["orders"]);
    let http = order.http.as_ref().unwrap();
    assert_eq!(
        http.request.method,
        Some(StringMatcher::Equals("GET".into()))
    );
    assert_eq!(
        http.request.path,
        Some(PathMatcher::Pattern("/v1/orders/{id}".into()))
    );
    assert_eq!(
        http.response.body,
        Some(ResponseBody::Text(
            "{\"greeting\": \"from the environment\"}".into()
        ))
    );
    assert!(
        !http.response.headers.contains_key("Content-Length"),
        "transfer headers are left out"
    );
    assert_eq!(
        (
            http.alternatives[0].status,
            http.alternatives[0].name.as_deref()
        ),
        (404, Some("missing"))
    );
    let ping = &i.routes[1];
    assert_eq!(
        ping.http.as_ref().unwrap().request.path,
        Some(PathMatcher::Pattern("/ping".into()))
    );
    assert_eq!(
        i.warnings.len(),
        1,
        "the request without a saved example: {:?}",
        i.warnings
    );
    assert_eq!(i.warnings[0].pointer, "/item/1/response");
}

#[test]
fn a_har_capture_becomes_one_route_per_distinct_exchange_without_credentials() {
    let entry = |url: &str, status: u16, text: &str| {
        json!({"request": {"method": "POST", "url": url, "headers": [{"name": "Authorization", "value": "Bearer secret"}],
                           "cookies": [{"name": "sid", "value": "s3cret"}],
                           "postData": {"mimeType": "application/json", "text": "{\"q\": 1}"}},
               "response": {"status": status, "statusText": "", "headers": [{"name": "Content-Type", "value": "application/json"}, {"name": "Set-Cookie", "value": "sid=new"}, {"name": "Content-Encoding", "value": "gzip"}],
                            "content": {"size": text.len(), "mimeType": "application/json", "text": text}}})
    };
    let har = json!({"log": {"version": "1.2", "entries": [
        entry("https://api.example.com/search?page=2&tag=a&tag=b", 200, "{\"hits\": 1}"),
        entry("https://api.example.com/search?tag=a&tag=b&page=2", 200, "{\"hits\": 2}"),
        entry("https://api.example.com/search?page=3", 503, "")
    ]}});
    let i = import(
        &Sources::single("c.har", har.to_string()),
        None,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(i.format, Format::Har);
    assert_eq!(i.routes.len(), 2, "the same request twice is one route");
    let first = i.routes[0].http.as_ref().unwrap();
    assert_eq!(
        first.request.path,
        Some(PathMatcher::Exact("/search".into()))
    );
    assert_eq!(
        first.request.query["tag"],
        StringMatcher::AllOf(vec![
            StringMatcher::Equals("a".into()),
            StringMatcher::Equals("b".into())
        ])
    );
    assert_eq!(first.request.body, Some(BodyMatcher::Json(json!({"q": 1}))));
    assert!(first.request.headers.is_empty() && first.request.cookies.is_empty());
    assert_eq!(first.alternatives[0].name.as_deref(), Some("#2"));
    assert_eq!(
        first.alternatives[0].body,
        Some(ResponseBody::Text("{\"hits\": 2}".into()))
    );
    assert!(!first.response.headers.contains_key("Set-Cookie"));
    assert!(!first.response.headers.contains_key("Content-Encoding"));
    let text = serde_json::to_string(&i.routes).unwrap();
    assert!(
        !text.contains("secret") && !text.contains("s3cret") && !text.contains("sid=new"),
        "no credential is kept: {text}"
    );
    assert!(i.warnings.iter().any(|w| w.message.contains("Set-Cookie")));
    assert_eq!(i.routes[0].tags, ["api.example.com"]);
    // A token in the query and a password in a login body are not kept either.
    let login = json!({"log": {"version": "1.2", "entries": [{"request": {"method": "POST",
        "url": "https://user:pw@api.example.com/login?access_token=abc&page=1",
        "postData": {"mimeType": "application/json", "text": "{\"user\": \"ann\", \"password\": \"hunter2\"}"}},
        "response": {"status": 200, "content": {"mimeType": "application/json", "text": "{}"}}}]}});
    let i = import(
        &Sources::single("c.har", login.to_string()),
        None,
        &Options::default(),
    )
    .unwrap();
    let text = serde_json::to_string(&i.routes).unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("abc") && !text.contains("user:pw"),
        "{text}"
    );
    assert_eq!(
        i.routes[0].http.as_ref().unwrap().request.query["page"],
        StringMatcher::Equals("1".into())
    );
    // Asked for, Set-Cookie stays.
    let kept = import(
        &Sources::single("c.har", har.to_string()),
        None,
        &Options {
            credentials: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(
        kept.routes[0]
            .http
            .as_ref()
            .unwrap()
            .response
            .headers
            .contains_key("Set-Cookie")
    );
}
