//! Lists with their counts, search across teams, and the change history (filters,
//! paging, and its survival across a restart).

use crate::{Api, api, assert_error, call, open_app, seqs, strings};
use axum::http::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn changes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let app = open_app(dir.path()).await;
        let router = standin_admin::router(app);
        for (uri, body) in [
            ("/api/v1/teams", json!({"slug": "pay"})),
            ("/api/v1/teams/pay/services", json!({"slug": "api"})),
            (
                "/api/v1/teams/pay/services/api/routes",
                json!({"id": "r1", "http": {}}),
            ),
        ] {
            let (s, b) = call(&router, "POST", uri, Some(&body.to_string()), None).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
        }
    }
    let router = standin_admin::router(open_app(dir.path()).await);
    let (s, b) = call(
        &router,
        "GET",
        "/api/v1/teams/pay/services/api/routes/r1",
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, h) = call(&router, "GET", "/api/v1/history", None, None).await;
    assert_eq!(seqs(&h), [3, 2, 1]);
}

/// Three teams: pay (api with 2 routes, web with none), ops (svc with 1 route), empty.
async fn landscape(api: &Api) {
    let (s, b) = api
        .post(
            "/api/v1/teams",
            json!({"slug": "pay", "name": "Payments", "memo": "Handles the money"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = api
        .post("/api/v1/teams", json!({"slug": "ops", "tags": ["beta"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    api.team("empty").await;
    api.service("pay", json!({"slug": "api", "name": "Payment API"}))
        .await;
    api.service("pay", json!({"slug": "web", "basePath": "/w/"}))
        .await;
    api.service(
        "ops",
        json!({"slug": "svc", "memo": "The LEDGER service", "tags": ["stable"]}),
    )
    .await;
    api.route(
        "pay",
        "api",
        json!({"id": "get-ledger", "name": "Get ledger", "tags": ["beta"], "http": {}}),
    )
    .await;
    api.route(
        "pay",
        "api",
        json!({"id": "r2", "memo": "refunds", "http": {"request": {"path": "/refunds"}}}),
    )
    .await;
    api.route("ops", "svc", json!({"id": "ping", "http": {}}))
        .await;
}

fn by<'a>(list: &'a Value, field: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[field] == value)
        .unwrap_or_else(|| panic!("no {field}={value} in {list}"))
}

#[tokio::test]
async fn lists_carry_counts_and_base_paths() {
    let api = api().await;
    landscape(&api).await;

    let (s, teams) = api.get("/api/v1/teams").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(teams.as_array().unwrap().len(), 3);
    for (slug, services, routes) in [("pay", 2, 2), ("ops", 1, 1), ("empty", 0, 0)] {
        let t = by(&teams, "slug", slug);
        assert_eq!(t["serviceCount"], services, "{t}");
        assert_eq!(t["routeCount"], routes, "{t}");
        assert_eq!(t["meta"]["revision"], 1, "records are flattened in: {t}");
    }
    assert_eq!(by(&teams, "slug", "pay")["name"], "Payments");

    let (s, all) = api.get("/api/v1/services").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let svc = by(&all, "slug", "svc");
    assert_eq!(svc["team"], "ops");
    assert_eq!(svc["effectiveBasePath"], "/ops/svc");
    assert_eq!(svc["routeCount"], 1);

    let (s, pay) = api.get("/api/v1/teams/pay/services").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(strings(&pay, "slug"), ["api", "web"]);
    let api_svc = by(&pay, "slug", "api");
    assert_eq!(
        api_svc["effectiveBasePath"], "/pay/api",
        "default /{{team}}/{{service}}"
    );
    assert!(api_svc.get("basePath").is_none(), "{api_svc}");
    assert_eq!(api_svc["routeCount"], 2);
    assert_eq!(api_svc["name"], "Payment API");
    let web = by(&pay, "slug", "web");
    assert_eq!(web["basePath"], "/w");
    assert_eq!(web["effectiveBasePath"], "/w");
    assert_eq!(web["routeCount"], 0);

    let (s, b) = api.get("/api/v1/teams/empty/services").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!([]));
    assert_error(
        &api.get("/api/v1/teams/nope/services").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    // Counts follow changes.
    let (s, _) = api.delete("/api/v1/teams/pay/services/api/routes/r2").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, teams) = api.get("/api/v1/teams").await;
    assert_eq!(by(&teams, "slug", "pay")["routeCount"], 1);
    let (_, pay) = api.get("/api/v1/teams/pay/services").await;
    assert_eq!(by(&pay, "slug", "api")["routeCount"], 1);

    let (s, health) = api.get("/api/v1/health").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        health,
        json!({"status": "ok", "teams": 3, "services": 3, "routes": 2})
    );
}

#[tokio::test]
async fn search_finds_by_text_and_tag_across_teams() {
    let api = api().await;
    landscape(&api).await;
    let search = |q: &'static str| {
        let api = &api;
        async move {
            let (s, b) = api.get(&format!("/api/v1/search?{q}")).await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            let keys = |kind: &str, f: &dyn Fn(&Value) -> String| -> Vec<String> {
                b[kind].as_array().unwrap().iter().map(f).collect()
            };
            (
                keys("teams", &|t| t["slug"].as_str().unwrap().to_string()),
                keys("services", &|s| {
                    format!(
                        "{}/{}",
                        s["team"].as_str().unwrap(),
                        s["slug"].as_str().unwrap()
                    )
                }),
                keys("routes", &|r| {
                    format!(
                        "{}/{}/{}",
                        r["team"].as_str().unwrap(),
                        r["service"].as_str().unwrap(),
                        r["id"].as_str().unwrap()
                    )
                }),
            )
        }
    };
    type Hits = (Vec<String>, Vec<String>, Vec<String>);
    fn hits(t: &[&str], s: &[&str], r: &[&str]) -> Hits {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        (v(t), v(s), v(r))
    }

    // Name, memo (case-insensitive) and slug/id, across teams.
    assert_eq!(
        search("q=ledger").await,
        hits(&[], &["ops/svc"], &["pay/api/get-ledger"])
    );
    assert_eq!(
        search("q=LeDgEr").await,
        hits(&[], &["ops/svc"], &["pay/api/get-ledger"])
    );
    assert_eq!(search("q=money").await, hits(&["pay"], &[], &[]));
    assert_eq!(search("q=refund").await, hits(&[], &[], &["pay/api/r2"]));
    assert_eq!(search("q=payment").await, hits(&["pay"], &["pay/api"], &[]));
    assert_eq!(search("q=zzz").await, hits(&[], &[], &[]));
    // Tags filter, alone and with text.
    assert_eq!(
        search("tag=beta").await,
        hits(&["ops"], &[], &["pay/api/get-ledger"])
    );
    assert_eq!(
        search("q=ledger&tag=beta").await,
        hits(&[], &[], &["pay/api/get-ledger"])
    );
    assert_eq!(
        search("q=ledger&tag=stable").await,
        hits(&[], &["ops/svc"], &[])
    );
    assert_eq!(
        search("tag=bet").await,
        hits(&[], &[], &[]),
        "tags match whole"
    );
    // Free text also finds tags, in part.
    assert_eq!(
        search("q=bet").await,
        hits(&["ops"], &[], &["pay/api/get-ledger"])
    );
    // Empty text matches all; limit caps each kind.
    let (t, s, r) = search("q=").await;
    assert_eq!((t.len(), s.len(), r.len()), (3, 3, 3));
    let (t, s, r) = search("limit=1").await;
    assert_eq!((t.len(), s.len(), r.len()), (1, 1, 1));
}

#[tokio::test]
async fn history_records_who_changed_what() {
    let api = api().await;
    let routes = "/api/v1/teams/pay/services/api/routes";
    let steps: Vec<(Option<&str>, &str, String, Option<Value>)> = vec![
        (
            Some("alice"),
            "POST",
            "/api/v1/teams".into(),
            Some(json!({"slug": "pay"})),
        ),
        (
            Some("alice"),
            "POST",
            "/api/v1/teams".into(),
            Some(json!({"slug": "payx"})),
        ),
        (
            None,
            "POST",
            "/api/v1/teams/pay/services".into(),
            Some(json!({"slug": "api"})),
        ),
        (
            None,
            "POST",
            "/api/v1/teams/payx/services".into(),
            Some(json!({"slug": "api"})),
        ),
        (
            Some("bob"),
            "POST",
            routes.into(),
            Some(json!({"id": "r1", "name": "first", "http": {}})),
        ),
        (
            Some("carol"),
            "PUT",
            format!("{routes}/r1"),
            Some(json!({"name": "second", "http": {}})),
        ),
        (Some("dave"), "DELETE", format!("{routes}/r1"), None),
    ];
    for (actor, method, uri, body) in steps {
        let body = body.map(|b| b.to_string());
        let (s, b) = call(&api.router, method, &uri, body.as_deref(), actor).await;
        assert!(s.is_success(), "{method} {uri}: {s} {b}");
    }

    let (s, h) = api.get("/api/v1/history?key=pay/api").await;
    assert_eq!(s, StatusCode::OK, "{h}");
    let events = h.as_array().unwrap();
    let summary: Vec<(&str, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["kind"].as_str().unwrap(),
                e["entity"].as_str().unwrap(),
                e["key"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("dave", "delete", "route", "pay/api/r1"),
            ("carol", "update", "route", "pay/api/r1"),
            ("bob", "create", "route", "pay/api/r1"),
            ("anonymous", "create", "service", "pay/api"),
        ],
        "newest first; payx/api and the team itself are not under pay/api"
    );
    let s = seqs(&h);
    assert!(s.windows(2).all(|w| w[0] > w[1]), "{s:?}");

    let (delete, update, create) = (&events[0], &events[1], &events[2]);
    assert_eq!(delete["after"], Value::Null);
    assert_eq!(delete["before"]["name"], "second");
    assert_eq!(update["before"]["name"], "first");
    assert_eq!(update["before"]["meta"]["revision"], 1);
    assert_eq!(update["after"]["name"], "second");
    assert_eq!(update["after"]["meta"]["revision"], 2);
    assert_eq!(update["after"]["meta"]["updatedBy"], "carol");
    assert_eq!(create["before"], Value::Null);
    assert_eq!(create["after"]["id"], "r1");
    assert_eq!(create["after"]["team"], "pay");
    assert!(
        create["at"].as_str().is_some_and(|t| t.contains('T')),
        "{create}"
    );
    assert_ne!(
        create["batch"], update["batch"],
        "separate requests, separate batches"
    );

    // key=pay takes whole segments: payx is not included.
    let (_, h) = api.get("/api/v1/history?key=pay").await;
    let keys = strings(&h, "key");
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(
        keys.iter().all(|k| k == "pay" || k.starts_with("pay/")),
        "{keys:?}"
    );

    // Entity filter.
    let (_, h) = api.get("/api/v1/history?entity=route").await;
    assert_eq!(strings(&h, "entity"), ["route", "route", "route"]);
    let (_, h) = api.get("/api/v1/history?entity=team").await;
    assert_eq!(strings(&h, "key"), ["payx", "pay"]);
    let (_, h) = api.get("/api/v1/history?entity=service&key=payx").await;
    assert_eq!(strings(&h, "key"), ["payx/api"]);
    assert_error(
        &api.get("/api/v1/history?entity=bogus").await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("/entity"),
    );

    // Paging.
    let (_, all) = api.get("/api/v1/history").await;
    let all = seqs(&all);
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "{all:?}");
    let (_, page1) = api.get("/api/v1/history?limit=3").await;
    assert_eq!(seqs(&page1), all[..3]);
    let (_, page2) = api
        .get(&format!("/api/v1/history?limit=3&before={}", all[2]))
        .await;
    assert_eq!(seqs(&page2), all[3..6]);
    let (_, page3) = api
        .get(&format!("/api/v1/history?limit=3&before={}", all[5]))
        .await;
    assert_eq!(seqs(&page3), all[6..]);
    let (_, newer) = api.get(&format!("/api/v1/history?after={}", all[2])).await;
    assert_eq!(seqs(&newer), all[..2]);
    let (_, window) = api
        .get(&format!(
            "/api/v1/history?after={}&before={}",
            all[5], all[1]
        ))
        .await;
    assert_eq!(seqs(&window), all[2..5]);
    let (_, none) = api.get("/api/v1/history?limit=0").await;
    assert_eq!(none, json!([]));
    let (_, newest) = api.get(&format!("/api/v1/history?after={}", all[0])).await;
    assert_eq!(newest, json!([]));
}
