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
    /// Expectations that were refused, each with its place in the file and why.
    pub refused: Vec<Refused>,
    /// How many expectations the file holds.
    pub total: usize,
}

/// An expectation of an initialization file that was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refused {
    /// Its position in the file's array (0 for a file with one expectation).
    pub index: usize,
    /// Where in it the problem is (a JSON pointer into the file).
    pub pointer: String,
    pub reason: String,
}

impl InitializationFile {
    /// Reads and converts the expectations. A file that is not JSON is an error; an
    /// expectation that is refused is listed in [`InitializationFile::refused`] and the
    /// others load.
    pub fn read(text: &str) -> Result<Self, String> {
        let v: Value = crate::lenient::parse(text).map_err(|e| format!("not JSON: {e}"))?;
        let items = match v {
            Value::Array(items) => items,
            other => vec![other],
        };
        let mut routes = Vec::new();
        let mut refused = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match convert::expectation(item, &format!("/{i}"), now_ms()) {
                Ok(mut c) => {
                    if item.get("id").is_none() {
                        // A stable id per position keeps restarts idempotent (in the
                        // echoed document too, or every load would be a change).
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
                Err(e) => refused.push(Refused {
                    index: i,
                    pointer: e.pointer.clone(),
                    reason: e.message.clone(),
                }),
            }
        }
        Ok(InitializationFile {
            routes,
            refused,
            total: items.len(),
        })
    }

    /// Applies the expectations that were read as one change; returns how many loaded.
    pub async fn apply(self, app: &App) -> Result<usize, String> {
        apply_initialization(app, self.routes).await
    }
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
