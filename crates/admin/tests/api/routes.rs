//! Routes: create, upsert, patch, replace all routes of a service in one batch, and the
//! order routes are listed (and served) in.

use crate::{Api, api, assert_error, send, send_with};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[tokio::test]
async fn route_crud_and_upsert() {
    let api = api().await;
    api.seed().await;
    let base = "/api/v1/teams/pay/services/api/routes";

    assert_error(
        &api.post("/api/v1/teams/pay/services/zzz/routes", json!({"http": {}}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    // Without an id, one is assigned.
    let (s, b) = api
        .post(
            base,
            json!({"name": "auto", "http": {"request": {"path": "/b"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let auto_id = b["id"].as_str().expect("assigned id").to_string();
    assert!(!auto_id.is_empty());
    assert_eq!(b["team"], "pay");
    assert_eq!(b["service"], "api");
    assert_eq!(b["enabled"], true);
    assert_eq!(b["priority"], 0);
    let (s, _) = api.get(&format!("{base}/{auto_id}")).await;
    assert_eq!(s, StatusCode::OK);

    assert_error(
        &api.post(base, json!({"id": "r1", "http": {}})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );

    let (s, r1) = api.get(&format!("{base}/r1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r1["id"], "r1");
    assert_eq!(r1["http"]["request"]["method"], "GET");
    assert_eq!(r1["meta"]["revision"], 1);

    for uri in [
        format!("{base}/nope"),
        "/api/v1/teams/pay/services/zzz/routes/r1".to_string(),
        "/api/v1/teams/nope/services/api/routes/r1".to_string(),
    ] {
        assert_error(
            &api.get(&uri).await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        );
    }

    // PUT replaces an existing route: 200, revision grows, creation order kept.
    let (s, b) = api
        .put(
            &format!("{base}/r1"),
            json!({"name": "renamed", "http": {"request": {"path": "/a2"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["id"], "r1", "the id comes from the URL");
    assert_eq!(b["name"], "renamed");
    assert_eq!(b["meta"]["revision"], 2);
    assert_eq!(b["meta"]["createdSeq"], r1["meta"]["createdSeq"]);
    assert_eq!(b["meta"]["createdAt"], r1["meta"]["createdAt"]);
    assert!(
        b["http"]["request"].get("method").is_none(),
        "PUT replaces the whole route: {b}"
    );
    // The same id in body and URL is fine.
    let (s, b) = api
        .put(&format!("{base}/r1"), json!({"id": "r1", "http": {}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["meta"]["revision"], 3);

    // PUT creates a missing route: 201.
    let (s, b) = api
        .put(
            &format!("{base}/r9"),
            json!({"http": {"request": {"path": "/z"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["id"], "r9");
    assert_eq!(b["meta"]["revision"], 1);
    let (s, _) = api.get(&format!("{base}/r9")).await;
    assert_eq!(s, StatusCode::OK);

    assert_error(
        &api.put(&format!("{base}/r1"), json!({"id": "other", "http": {}}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/id"),
    );
    let (s, _) = api.get(&format!("{base}/other")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a refused PUT creates nothing");
    assert_error(
        &api.put(
            "/api/v1/teams/pay/services/zzz/routes/r1",
            json!({"http": {}}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (s, b) = api.delete(&format!("{base}/r1")).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_error(
        &api.get(&format!("{base}/r1")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.delete(&format!("{base}/r1")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let mut ids = api.route_ids("pay", "api").await;
    ids.sort();
    let mut expected = vec![auto_id, "r9".to_string()];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn replace_routes_creates_updates_and_deletes_in_one_batch() {
    let api = api().await;
    api.seed().await;
    let base = "/api/v1/teams/pay/services/api/routes";
    api.route(
        "pay",
        "api",
        json!({"id": "r2", "http": {"request": {"path": "/b"}}}),
    )
    .await;
    api.route(
        "pay",
        "api",
        json!({"id": "r3", "http": {"request": {"path": "/c"}}}),
    )
    .await;
    let (_, r1_before) = api.get(&format!("{base}/r1")).await;
    let events_before = api.history().await.len();

    let (s, b) = api
        .as_actor(
            "carol",
            "PUT",
            base,
            Some(json!([
                {"id": "r1", "name": "one", "http": {"request": {"path": "/a"}}},
                {"id": "r4", "http": {"request": {"path": "/d"}}},
                {"name": "no id", "http": {"request": {"path": "/e"}}},
            ])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let out = b.as_array().expect("array of records");
    assert_eq!(out.len(), 3);
    assert_eq!(out[0]["id"], "r1");
    assert_eq!(out[0]["name"], "one");
    assert_eq!(out[0]["meta"]["revision"], 2, "r1 was updated");
    assert_eq!(
        out[0]["meta"]["createdSeq"],
        r1_before["meta"]["createdSeq"]
    );
    assert_eq!(out[1]["id"], "r4");
    assert_eq!(out[1]["meta"]["revision"], 1, "r4 was created");
    let assigned = out[2]["id"].as_str().expect("assigned id").to_string();
    assert!(!assigned.is_empty());
    assert_eq!(out[2]["meta"]["revision"], 1);
    for r in out {
        assert_eq!(r["meta"]["updatedBy"], "carol");
    }

    let ids: BTreeSet<String> = api.route_ids("pay", "api").await.into_iter().collect();
    let expected: BTreeSet<String> = ["r1".to_string(), "r4".to_string(), assigned.clone()]
        .into_iter()
        .collect();
    assert_eq!(ids, expected);
    for gone in ["r2", "r3"] {
        let (s, _) = api.get(&format!("{base}/{gone}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{gone} was not listed");
    }

    // One batch: 2 deletes, 1 update, 2 creates, all by carol.
    let history = api.history().await;
    let batch_events = &history[..history.len() - events_before];
    assert_eq!(batch_events.len(), 5, "{batch_events:?}");
    let batch = &batch_events[0]["batch"];
    let mut kinds: Vec<(String, String)> = batch_events
        .iter()
        .map(|e| {
            assert_eq!(&e["batch"], batch, "one batch id for the whole replace");
            assert_eq!(e["actor"], "carol");
            assert_eq!(e["entity"], "route");
            (
                e["key"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    let mut expected = vec![
        ("pay/api/r1".to_string(), "update".to_string()),
        ("pay/api/r2".to_string(), "delete".to_string()),
        ("pay/api/r3".to_string(), "delete".to_string()),
        ("pay/api/r4".to_string(), "create".to_string()),
        (format!("pay/api/{assigned}"), "create".to_string()),
    ];
    expected.sort();
    assert_eq!(kinds, expected);

    // An empty list deletes everything.
    let (s, b) = api.put(base, json!([])).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b, json!([]));
    assert!(api.route_ids("pay", "api").await.is_empty());

    assert_error(
        &api.put("/api/v1/teams/pay/services/zzz/routes", json!([]))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}

#[tokio::test]
async fn replace_routes_with_an_invalid_route_changes_nothing() {
    let api = api().await;
    api.seed().await;
    let base = "/api/v1/teams/pay/services/api/routes";
    api.route(
        "pay",
        "api",
        json!({"id": "r2", "http": {"request": {"path": "/b"}}}),
    )
    .await;
    let (_, routes_before) = api.get(base).await;
    let history_before = api.history().await;

    // The third route's regex does not compile; the first would update r1 and the
    // second create r5, and r2 would be deleted.
    let bad = json!([
        {"id": "r1", "name": "changed", "http": {}},
        {"id": "r5", "http": {}},
        {"id": "r6", "http": {"request": {"headers": {"X-A": {"regex": "(["}}}}},
    ]);
    let got = api.put(base, bad).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/2/http/request/headers/X-A/regex"),
    );
    assert!(
        got.1["message"].as_str().unwrap().contains("invalid regex"),
        "{}",
        got.1
    );

    // A path regex: the pointer is under /2/http/request/path.
    let got = api
        .put(
            base,
            json!([{"id": "r1", "http": {}}, {"id": "r5", "http": {}},
                   {"id": "r6", "http": {"request": {"path": {"regex": "("}}}}]),
        )
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", None);
    let pointer = got.1["pointer"].as_str().unwrap();
    assert!(pointer.starts_with("/2/http/request/path"), "{pointer}");

    // Validation (not compilation) failures and duplicate ids also point into the list.
    assert_error(
        &api.put(base, json!([{"id": "r1", "http": {}}, {"id": "r5"}]))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/1/http"),
    );
    assert_error(
        &api.put(
            base,
            json!([{"id": "r1", "http": {}}, {"id": "x", "http": {}}, {"id": "r1", "http": {}}]),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/2/id"),
    );
    assert_error(
        &api.put(
            base,
            json!([{"id": "r1", "http": {}}, {"id": "a b", "http": {}}]),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/1/id"),
    );
    assert_error(
        &api.put(
            base,
            json!([{"id": "r1", "http": {}}, {"http": {"request": {"metod": "GET"}}}]),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/1/http/request/metod"),
    );
    assert_error(
        &api.put(base, json!({"id": "r1", "http": {}})).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/"),
    );

    let (_, routes_after) = api.get(base).await;
    assert_eq!(routes_after, routes_before, "no route changed");
    assert_eq!(api.history().await, history_before, "no event was recorded");
    let (_, health) = api.get("/api/v1/health").await;
    assert_eq!(health["routes"], 2);
}

#[tokio::test]
async fn routes_are_listed_in_match_order() {
    let api = api().await;
    api.team("t").await;
    api.service("t", json!({"slug": "s"})).await;
    // Created in this order; ids are chosen so that neither creation order nor id order
    // is the match order.
    let defs = [
        json!({"id": "m-any", "http": {}}),
        json!({"id": "k-param-old", "http": {"request": {"path": "/users/{id}"}}}),
        json!({"id": "b-lit", "http": {"request": {"path": "/users/me"}}}),
        json!({"id": "z-prio", "priority": 5, "http": {"request": {"path": "/zzz/**"}}}),
        json!({"id": "a-param-new", "http": {"request": {"path": "/users/{id}"}}}),
        json!({"id": "c-regex", "http": {"request": {"path": {"regex": "/r.*"}}}}),
        json!({"id": "a-disabled", "priority": 100, "enabled": false, "http": {}}),
        json!({"id": "d-short", "http": {"request": {"path": "/users"}}}),
        json!({"id": "n-neg", "priority": -1, "http": {"request": {"path": "/users/me"}}}),
    ];
    for d in defs {
        api.route("t", "s", d).await;
    }
    let expected = [
        "z-prio",      // highest priority, however unspecific
        "b-lit",       // /users/me: literal beats parameter
        "k-param-old", // /users/{id}, older
        "a-param-new", // /users/{id}, newer
        "d-short",     // /users: a parameter segment beats the end of the path
        "c-regex",     // regexes after patterns
        "m-any",       // no path condition
        "n-neg",       // negative priority
        "a-disabled",  // disabled routes last, whatever their priority
    ];
    assert_eq!(api.route_ids("t", "s").await, expected);

    // Updating the older twin keeps its age; re-enabling puts a route in its place.
    let (s, _) = api
        .put(
            "/api/v1/teams/t/services/s/routes/k-param-old",
            json!({"name": "updated", "http": {"request": {"path": "/users/{id}"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .put(
            "/api/v1/teams/t/services/s/routes/a-disabled",
            json!({"priority": 100, "http": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let ids = api.route_ids("t", "s").await;
    assert_eq!(ids[0], "a-disabled", "{ids:?}");
    assert_eq!(
        &ids[1..],
        [
            "z-prio",
            "b-lit",
            "k-param-old",
            "a-param-new",
            "d-short",
            "c-regex",
            "m-any",
            "n-neg"
        ]
    );
    // The table the data plane serves agrees.
    let table = api.app.table().load_full();
    let served: Vec<String> = table
        .services()
        .iter()
        .find(|s| s.info.team == "t" && s.info.slug == "s")
        .expect("service is served")
        .routes()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(served, ids);
}

async fn patch(api: &Api, uri: &str, body: Value) -> (StatusCode, Value) {
    send_with(
        &api.router,
        "PATCH",
        uri,
        &[("content-type", "application/merge-patch+json")],
        body.to_string().into_bytes(),
    )
    .await
}

#[tokio::test]
async fn patch_changes_one_field_as_one_recorded_change() {
    let api = api().await;
    api.post(
        "/api/v1/teams",
        json!({"slug": "pay", "memo": "m", "tags": ["a"]}),
    )
    .await;
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay",
        json!({"memo": "changed", "tags": null}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["memo"].clone(), b["tags"].clone()),
        (json!("changed"), json!([]))
    );
    api.post("/api/v1/teams/pay/services", json!({"slug": "api"}))
        .await;
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay/services/api",
        json!({"defaultDelayMs": 7}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["defaultDelayMs"], 7);
    let route = json!({"http": {"request": {"path": "/a"}, "response": {"status": 200, "body": {"text": "x"}}}});
    api.put("/api/v1/teams/pay/services/api/routes/r", route)
        .await;
    let (_, before) = api.get("/api/v1/history?key=pay/api/r").await;
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay/services/api/routes/r",
        json!({"enabled": false, "http": {"response": {"status": 503}}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["enabled"], false);
    assert_eq!(b["http"]["response"]["status"], 503);
    assert_eq!(
        b["http"]["response"]["body"],
        json!({"text": "x"}),
        "untouched fields stay"
    );
    assert_eq!(b["meta"]["revision"], 2);
    let (_, after) = api.get("/api/v1/history?key=pay/api/r").await;
    assert_eq!(
        after.as_array().unwrap().len(),
        before.as_array().unwrap().len() + 1
    );
    // Bad patches name the field and change nothing.
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay/services/api/routes/r",
        json!({"priority": "high"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["pointer"], "/priority");
    let (s, b) = patch(
        &api,
        "/api/v1/teams/pay/services/api/routes/r",
        json!({"id": "other"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, _) = patch(
        &api,
        "/api/v1/teams/pay/services/api/routes/nope",
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, r) = api.get("/api/v1/teams/pay/services/api/routes/r").await;
    assert_eq!(r["meta"]["revision"], 2);
}

#[tokio::test]
async fn a_route_that_has_already_expired_is_refused() {
    let api = api().await;
    api.post("/api/v1/teams", json!({"slug": "pay"})).await;
    api.post("/api/v1/teams/pay/services", json!({"slug": "api"}))
        .await;
    let (s, b) = api
        .put(
            "/api/v1/teams/pay/services/api/routes/old",
            json!({"expiresAt": "2020-01-01T00:00:00Z", "http": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["pointer"], "/expiresAt");
    let (s, b) = api
        .put(
            "/api/v1/teams/pay/services/api/routes",
            json!([{"id": "a", "http": {}}, {"id": "b", "expiresAt": "2020-01-01T00:00:00Z", "http": {}}]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["pointer"], "/1/expiresAt");
}

#[tokio::test]
async fn a_path_rewrite_that_cannot_match_gets_a_warning() {
    let api = api().await;
    api.post("/api/v1/teams", json!({"slug": "pay"})).await;
    api.post("/api/v1/teams/pay/services", json!({"slug": "cards"}))
        .await;
    let route = |regex: &str| {
        json!({"http": {"request": {"path": "/cards/{id}"}, "forward": {"to": "http://127.0.0.1:1",
            "pathRewrite": {"regex": regex, "replacement": "/v2$1"}}}})
        .to_string()
    };
    let (s, headers, _) = send(
        &api.router,
        "PUT",
        "/api/v1/teams/pay/services/cards/routes/r",
        Some(&route("^/pay/cards(/.*)")),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let warning = headers.get("warning").expect("a warning").to_str().unwrap();
    assert!(warning.contains("base path /pay/cards"), "{warning}");
    let (s, headers, _) = send(
        &api.router,
        "PUT",
        "/api/v1/teams/pay/services/cards/routes/r",
        Some(&route("^(/cards/.*)")),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers.get("warning").is_none());
}
