//! Teams: create, read, replace, rename refusals, delete with and without cascade.

use crate::{api, assert_error, strings};
use axum::http::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn team_crud() {
    let api = api().await;

    let created = api
        .as_actor(
            "alice",
            "POST",
            "/api/v1/teams",
            Some(json!({"slug": "pay", "name": "Payments", "memo": "money", "tags": ["core"]})),
        )
        .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    let t = &created.1;
    assert_eq!(t["slug"], "pay");
    assert_eq!(t["name"], "Payments");
    assert_eq!(t["memo"], "money");
    assert_eq!(t["tags"], json!(["core"]));
    assert_eq!(t["meta"]["revision"], 1);
    assert_eq!(t["meta"]["updatedBy"], "alice");
    assert_eq!(t["meta"]["createdAt"], t["meta"]["updatedAt"]);

    // The name defaults to the slug.
    let (s, b) = api.post("/api/v1/teams", json!({"slug": "ops"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["name"], "ops");
    assert_eq!(b["meta"]["updatedBy"], "anonymous");

    let (s, b) = api.get("/api/v1/teams/pay").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, created.1, "read returns what create returned");

    let (s, b) = api
        .as_actor(
            "bob",
            "PUT",
            "/api/v1/teams/pay",
            Some(json!({"slug": "pay", "name": "Payments 2"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["name"], "Payments 2");
    assert_eq!(b["memo"], "", "PUT replaces: an absent memo is cleared");
    assert_eq!(b["tags"], json!([]));
    assert_eq!(b["meta"]["revision"], 2);
    assert_eq!(b["meta"]["updatedBy"], "bob");
    assert_eq!(b["meta"]["createdAt"], t["meta"]["createdAt"]);
    let (_, read) = api.get("/api/v1/teams/pay").await;
    assert_eq!(read, b);
    let (_, b) = api
        .put(
            "/api/v1/teams/pay",
            json!({"slug": "pay", "name": "Payments 3"}),
        )
        .await;
    assert_eq!(b["meta"]["revision"], 3);

    assert_error(
        &api.post("/api/v1/teams", json!({"slug": "pay"})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );
    assert_error(
        &api.get("/api/v1/teams/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.put("/api/v1/teams/nope", json!({"slug": "nope"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.put("/api/v1/teams/pay", json!({"slug": "pay2"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/slug"),
    );
    let (_, still) = api.get("/api/v1/teams/pay").await;
    assert_eq!(
        still["meta"]["revision"], 3,
        "a refused rename changes nothing"
    );
    assert_error(
        &api.get("/api/v1/teams/pay2").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (s, b) = api.delete("/api/v1/teams/ops").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(b, Value::Null, "204 has no body");
    assert_error(
        &api.get("/api/v1/teams/ops").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.delete("/api/v1/teams/ops").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let (_, list) = api.get("/api/v1/teams").await;
    assert_eq!(strings(&list, "slug"), ["pay"]);
}

#[tokio::test]
async fn deleting_a_team_with_services_needs_cascade() {
    let api = api().await;
    api.seed().await;
    api.service("pay", json!({"slug": "web"})).await;
    api.route("pay", "web", json!({"id": "w1", "http": {}}))
        .await;
    api.team("ops").await;
    api.service("ops", json!({"slug": "svc"})).await;
    let before = api.history().await;

    let got = api.delete("/api/v1/teams/pay").await;
    assert_error(&got, StatusCode::CONFLICT, "conflict", None);
    let message = got.1["message"].as_str().unwrap();
    assert!(message.contains("cascade"), "{message}");
    assert!(
        message.contains("api") && message.contains("web"),
        "{message}"
    );
    let explicit = api.delete("/api/v1/teams/pay?cascade=false").await;
    assert_error(&explicit, StatusCode::CONFLICT, "conflict", None);
    assert_eq!(
        api.history().await,
        before,
        "a refused delete changes nothing"
    );
    let (s, _) = api.get("/api/v1/teams/pay/services/api/routes/r1").await;
    assert_eq!(s, StatusCode::OK);

    let (s, b) = api
        .as_actor("alice", "DELETE", "/api/v1/teams/pay?cascade=true", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    for uri in [
        "/api/v1/teams/pay",
        "/api/v1/teams/pay/services",
        "/api/v1/teams/pay/services/api",
        "/api/v1/teams/pay/services/web",
        "/api/v1/teams/pay/services/api/routes",
        "/api/v1/teams/pay/services/api/routes/r1",
    ] {
        let (s, b) = api.get(uri).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}: {b}");
    }
    let (_, services) = api.get("/api/v1/services").await;
    assert_eq!(strings(&services, "team"), ["ops"]);
    let (_, health) = api.get("/api/v1/health").await;
    assert_eq!(
        (&health["teams"], &health["services"], &health["routes"]),
        (&json!(1), &json!(1), &json!(0))
    );

    // One batch: both routes, both services and the team, in that order of dependency.
    let (_, events) = api.get("/api/v1/history?key=pay&limit=5").await;
    let events = events.as_array().unwrap();
    assert!(
        events
            .iter()
            .all(|e| e["kind"] == "delete" && e["actor"] == "alice")
    );
    assert!(events.iter().all(|e| e["batch"] == events[0]["batch"]));
    let mut keys: Vec<&str> = events.iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys[0], "pay", "the team goes last (newest)");
    keys.sort();
    assert_eq!(
        keys,
        ["pay", "pay/api", "pay/api/r1", "pay/web", "pay/web/w1"]
    );

    // A team without services needs no cascade; the slug can be reused afterwards.
    let (s, _) = api.delete("/api/v1/teams/ops/services/svc").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api.delete("/api/v1/teams/ops").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    api.team("pay").await;
    let (_, b) = api.get("/api/v1/teams/pay/services").await;
    assert_eq!(b, json!([]), "a recreated team starts empty");
}

#[tokio::test]
async fn put_takes_the_slug_from_the_url() {
    let api = api().await;
    api.post("/api/v1/teams", json!({"slug": "pay"})).await;
    let (s, b) = api.put("/api/v1/teams/pay", json!({"memo": "new"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["slug"], "pay");
    assert_eq!(b["memo"], "new");
    api.post("/api/v1/teams/pay/services", json!({"slug": "api"}))
        .await;
    let (s, b) = api
        .put(
            "/api/v1/teams/pay/services/api",
            json!({"defaultDelayMs": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["defaultDelayMs"], 5);
    let (s, b) = api.put("/api/v1/teams/pay", json!({"slug": "other"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["pointer"], "/slug");
    let (s, b) = api.post("/api/v1/teams", json!({"memo": "no slug"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a new team needs a slug: {b}");
    assert_eq!(b["pointer"], "/slug");
}

#[tokio::test]
async fn the_team_slug_mockserver_is_reserved() {
    let api = api().await;
    let (s, b) = api
        .post("/api/v1/teams", json!({"slug": "mockserver"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b["message"].as_str().unwrap().contains("reserved"), "{b}");
}
