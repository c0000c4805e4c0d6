//! The demo team and service that `standin serve --demo` loads, so a newcomer has
//! something to curl at once: `curl localhost:8080/demo/petstore/pets`.

use crate::{App, AppError};
use standin_model::{Route, Service, Team};

/// The demo's routes, as a user would write them.
pub const ROUTES: &str = r#"[
  {
    "id": "list-pets",
    "name": "List pets",
    "memo": "Every pet in the store.",
    "tags": ["demo"],
    "http": {
      "request": { "method": "GET", "path": "/pets" },
      "response": {
        "status": 200,
        "body": { "json": [ { "id": 1, "name": "Rex", "kind": "dog" }, { "id": 2, "name": "Tom", "kind": "cat" } ] }
      }
    }
  },
  {
    "id": "get-pet",
    "name": "Get a pet",
    "memo": "Echoes the id from the path.",
    "tags": ["demo"],
    "http": {
      "request": { "method": "GET", "path": "/pets/{id}" },
      "response": {
        "status": 200,
        "headers": { "Content-Type": "application/json" },
        "body": { "text": "{\"id\": \"{{request.path.id}}\", \"name\": \"Pet {{request.path.id}}\"}" },
        "templated": true
      }
    }
  },
  {
    "id": "get-missing-pet",
    "name": "Pet 404",
    "priority": 1,
    "tags": ["demo"],
    "http": {
      "request": { "method": "GET", "path": "/pets/404" },
      "response": { "status": 404, "body": { "json": { "error": "no such pet" } } }
    }
  },
  {
    "id": "create-pet",
    "name": "Create a pet",
    "tags": ["demo"],
    "http": {
      "request": {
        "method": "POST",
        "path": "/pets",
        "headers": { "Content-Type": { "contains": "json" } },
        "body": { "jsonSchema": { "type": "object", "required": ["name"], "properties": { "name": { "type": "string" } } } }
      },
      "response": { "status": 201, "body": { "json": { "created": true } }, "delayMs": 50 }
    }
  }
]"#;

/// Creates the demo team, service and routes unless the team `demo` exists already.
/// Returns whether anything was created.
pub async fn ensure(app: &App) -> Result<bool, AppError> {
    if app.catalog().teams.contains_key("demo") {
        return Ok(false);
    }
    let routes: Vec<Route> = serde_json::from_str(ROUTES).expect("the demo routes parse");
    app.change("standin-demo", |d| {
        d.create_team(Team {
            slug: "demo".into(),
            name: "Demo team".into(),
            memo: "Created by `standin serve --demo`. Delete it when you no longer need it.".into(),
            tags: vec!["demo".into()],
        })?;
        d.create_service(
            "demo",
            Service {
                slug: "petstore".into(),
                name: "Pet store".into(),
                memo: "A tiny pet store: `GET /demo/petstore/pets`, `GET /demo/petstore/pets/7`, `POST /demo/petstore/pets`.".into(),
                base_path: None,
                hosts: Vec::new(),
                upstream: None,
                breaker: None,
                default_delay_ms: 0,
                default_delay: None,
                match_order: Default::default(),
                not_found: Default::default(),
                redact_headers: None,
                validate_requests: false,
                sync: None,
                chaos: None,
                record: None,
                tags: vec!["demo".into()],
            },
        )?;
        d.replace_routes("demo", "petstore", routes)
    })
    .await?;
    Ok(true)
}
