//! The management API calls the soak makes: creating the team, the service and the
//! routes before the run, and reading the status and journal counters after it.

use crate::http;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// The actor every change is recorded under in standin's history.
const ACTOR: &str = "soak";

/// The routes of `soak/api`, as the management API takes them: (id, document).
pub const ROUTES: &[(&str, &str)] = &[
    (
        "ok",
        r#"{"http":{"request":{"method":"GET","path":"/ok"},"response":{"status":200,"headers":{"Content-Type":"application/json"},"body":{"json":{"ok":true}}}}}"#,
    ),
    (
        "tpl",
        r#"{"http":{"request":{"method":"GET","path":"/hello/{name}"},"response":{"status":200,"templated":true,"body":{"text":"hello {{request.path.name}}"}}}}"#,
    ),
    (
        "xpath",
        r#"{"http":{"request":{"method":"POST","path":"/xpath","body":{"xpath":"count(//*[count(//*[count(//*)>0])>0])>0"}},"response":{"status":200}}}"#,
    ),
    (
        "mustache",
        r#"{"http":{"request":{"method":"GET","path":"/mustache"},"response":{"documentTemplate":{"engine":"mustache","source":"{\"statusCode\": 200, \"body\": \"{{#request.headers.entrySet}}{{#request.headers.entrySet}}{{#request.headers.entrySet}}{{key}}{{/request.headers.entrySet}}{{/request.headers.entrySet}}{{/request.headers.entrySet}}\"}"}}}}"#,
    ),
    (
        "upload",
        r#"{"http":{"request":{"method":"POST","path":"/upload","body":{"contains":"needle"}},"response":{"status":201}}}"#,
    ),
];

/// One call; the answer's status and its body as JSON (or as a JSON string when it is
/// not JSON), so that a refusal can be shown as standin worded it.
pub async fn call(
    admin: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, Value), String> {
    let mut headers = vec![("X-Standin-Actor", ACTOR), ("Connection", "close")];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let request = http::request(
        method,
        path,
        admin,
        &headers,
        body.unwrap_or("").as_bytes(),
        None,
    );
    let response = tokio::time::timeout(Duration::from_secs(30), http::once(admin, &request))
        .await
        .map_err(|_| format!("{method} {path}: no answer within 30 s"))?
        .map_err(|f| format!("{method} {path}: {}", f.label()))?;
    let value = serde_json::from_slice(&response.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&response.body).into_owned()));
    Ok((response.status, value))
}

/// Creates team `soak`, service `api` and the routes; any answer other than success
/// stops the run, since the traffic would be meaningless without them.
pub async fn set_up(admin: SocketAddr) -> Result<(), String> {
    expect(admin, "POST", "/api/v1/teams", r#"{"slug":"soak"}"#).await?;
    expect(
        admin,
        "POST",
        "/api/v1/teams/soak/services",
        r#"{"slug":"api"}"#,
    )
    .await?;
    for (id, document) in ROUTES {
        let path = format!("/api/v1/teams/soak/services/api/routes/{id}");
        expect(admin, "PUT", &path, document).await?;
    }
    Ok(())
}

async fn expect(admin: SocketAddr, method: &str, path: &str, body: &str) -> Result<(), String> {
    let (status, value) = call(admin, method, path, Some(body)).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("{method} {path} answered {status}: {value}"))
    }
}

/// GET of a JSON document, or the error as a JSON string for the report.
pub async fn get_json(admin: SocketAddr, path: &str) -> Value {
    match call(admin, "GET", path, None).await {
        Ok((200, value)) => value,
        Ok((status, value)) => serde_json::json!({ "httpStatus": status, "body": value }),
        Err(e) => Value::String(e),
    }
}
