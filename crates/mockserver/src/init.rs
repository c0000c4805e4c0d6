//! Initialization files: expectations loaded at start into the default service.

use crate::*;
use standin_app::ServiceKey;

/// Loads a MockServer initialization file (a JSON array of expectations, or one) into the
/// default service. Expectations from the file replace those the file loaded last time, so
/// restarting with the same file does not duplicate them.
pub async fn load_initialization_file(app: &App, text: &str) -> Result<usize, String> {
    let file = InitializationFile::read(text)?;
    file.apply(app).await
}

/// An initialization file read and converted, not yet applied: standin checks it before
/// it applies anything at start.
pub struct InitializationFile {
    routes: Vec<standin_model::Route>,
}

impl InitializationFile {
    /// Reads and converts the expectations; an error names the first that is refused.
    pub fn read(text: &str) -> Result<Self, String> {
        Ok(InitializationFile {
            routes: initialization_routes(text)?,
        })
    }

    /// Applies the file as one change; returns how many expectations it holds.
    pub async fn apply(self, app: &App) -> Result<usize, String> {
        apply_initialization(app, self.routes).await
    }
}

fn initialization_routes(text: &str) -> Result<Vec<standin_model::Route>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let items = match v {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut routes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut c =
            convert::expectation(item, &format!("/{i}"), now_ms()).map_err(|e| e.to_string())?;
        if item.get("id").is_none() {
            // A stable id per position keeps restarts idempotent (in the echoed document
            // too, or every load would be a change).
            c.route.id = format!("init-{i}");
            if let Some(doc) = c
                .route
                .origin
                .as_mut()
                .and_then(|o| o.document.as_object_mut())
            {
                doc.insert("id".into(), Value::String(c.route.id.clone()));
            }
        }
        c.route.tags.push("mockserver-init".into());
        routes.push(c.route);
    }
    Ok(routes)
}

async fn apply_initialization(
    app: &App,
    routes: Vec<standin_model::Route>,
) -> Result<usize, String> {
    ensure_default_service(app)
        .await
        .map_err(|e| e.to_string())?;
    let count = routes.len();
    app.change(ACTOR, |d| {
        let key = ServiceKey::new(DEFAULT_TEAM, DEFAULT_SERVICE);
        let stale: Vec<String> = d
            .catalog()
            .routes_of(&key)
            .map(|m| {
                m.values()
                    .filter(|r| r.route.tags.iter().any(|t| t == "mockserver-init"))
                    .map(|r| r.route.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        for id in stale
            .iter()
            .filter(|id| !routes.iter().any(|r| &r.id == *id))
        {
            d.delete_route(DEFAULT_TEAM, DEFAULT_SERVICE, id)?;
        }
        for (i, r) in routes.into_iter().enumerate() {
            // An expectation the file loaded before, unchanged, is not a change: a restart
            // with the same file records nothing.
            let unchanged = d
                .route(DEFAULT_TEAM, DEFAULT_SERVICE, &r.id)
                .is_some_and(|stored| stored.route == r);
            if !unchanged {
                d.put_route(DEFAULT_TEAM, DEFAULT_SERVICE, r, &format!("/{i}"))?;
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(count)
}
