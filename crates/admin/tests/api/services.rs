//! Services: create, read, replace and delete, within a team.

use crate::{api, assert_error};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn service_crud() {
    let api = api().await;
    api.team("pay").await;
    api.team("ops").await;

    assert_error(
        &api.post("/api/v1/teams/nope/services", json!({"slug": "api"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (s, created) = api
        .post(
            "/api/v1/teams/pay/services",
            json!({"slug": "api", "memo": "the API"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["team"], "pay");
    assert_eq!(created["slug"], "api");
    assert_eq!(created["name"], "api");
    assert_eq!(created["meta"]["revision"], 1);

    // The same slug in another team is another service.
    let (s, b) = api
        .post("/api/v1/teams/ops/services", json!({"slug": "api"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["team"], "ops");

    assert_error(
        &api.post("/api/v1/teams/pay/services", json!({"slug": "api"}))
            .await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );

    let (s, b) = api.get("/api/v1/teams/pay/services/api").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, created);
    for uri in [
        "/api/v1/teams/pay/services/zzz",
        "/api/v1/teams/nope/services/api",
    ] {
        assert_error(
            &api.get(uri).await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        );
    }

    let (s, b) = api
        .put(
            "/api/v1/teams/pay/services/api",
            json!({"slug": "api", "name": "API", "basePath": "/payments/", "hosts": ["Pay.Example"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["name"], "API");
    assert_eq!(b["basePath"], "/payments", "the base path is normalized");
    assert_eq!(b["hosts"], json!(["pay.example"]), "hosts are lowercased");
    assert_eq!(b["memo"], "");
    assert_eq!(b["meta"]["revision"], 2);
    assert_eq!(b["meta"]["createdAt"], created["meta"]["createdAt"]);
    let (_, read) = api.get("/api/v1/teams/pay/services/api").await;
    assert_eq!(read, b);

    assert_error(
        &api.put("/api/v1/teams/pay/services/api", json!({"slug": "api2"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/slug"),
    );
    assert_error(
        &api.put("/api/v1/teams/pay/services/zzz", json!({"slug": "zzz"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (s, _) = api.delete("/api/v1/teams/pay/services/api").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(
        &api.get("/api/v1/teams/pay/services/api").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &api.delete("/api/v1/teams/pay/services/api").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let (s, _) = api.get("/api/v1/teams/ops/services/api").await;
    assert_eq!(s, StatusCode::OK, "the other team's service stays");
}
