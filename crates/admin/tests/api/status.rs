//! Health and status: what is loaded, what is quarantined, and the serving counters.

use crate::api;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn health_counts_what_is_loaded() {
    let api = api().await;
    let (s, b) = api.get("/api/v1/health").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b,
        json!({"status": "ok", "teams": 0, "services": 0, "routes": 0})
    );
    api.seed().await;
    api.route(
        "pay",
        "api",
        json!({"id": "off", "enabled": false, "http": {}}),
    )
    .await;
    let (_, b) = api.get("/api/v1/health").await;
    assert_eq!(
        b,
        json!({"status": "ok", "teams": 1, "services": 1, "routes": 2}),
        "disabled routes are loaded too"
    );
    let (s, _) = api.delete("/api/v1/teams/pay/services/api").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, b) = api.get("/api/v1/health").await;
    assert_eq!(
        b,
        json!({"status": "ok", "teams": 1, "services": 0, "routes": 0})
    );
}

#[tokio::test]
async fn status_lists_quarantined_definitions_and_serving_counters() {
    let api = api().await;
    let (s, b) = api.get("/api/v1/status").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "ok");
    assert_eq!(b["quarantined"], json!([]));
    assert_eq!(b["overBudgetRoutes"], json!([]));
    assert!(b["journal"]["capacityPerService"].is_number(), "{b}");
}
