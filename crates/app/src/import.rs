//! Importing a document into a service: the plan against what the service has, and
//! applying it as one recorded change.

use crate::{App, AppError, Draft, ServiceKey};
use standin_import::{Imported, Plan};
use standin_model::{ChangeEvent, Route, Service, Team};

/// What an import did, or would do.
pub struct ImportOutcome {
    pub plan: Plan,
    /// The events of the change; empty for a dry run or a plan with nothing to write.
    pub events: Vec<ChangeEvent>,
    /// The team and the service were created by this import.
    pub created_team: bool,
    pub created_service: bool,
}

impl App {
    /// Plans `imported` against the service `key` and, unless `dry_run`, applies the plan
    /// (creating the team and the service when they do not exist) as one change. Routes
    /// in conflict are left as they are; the plan lists them.
    pub async fn import(
        &self,
        actor: &str,
        key: &ServiceKey,
        imported: Imported,
        dry_run: bool,
    ) -> Result<ImportOutcome, AppError> {
        if dry_run {
            let catalog = self.catalog();
            let current = current_routes(&catalog, key);
            return Ok(ImportOutcome {
                plan: standin_import::plan(&current, &imported),
                events: Vec::new(),
                created_team: !catalog.teams.contains_key(&key.team),
                created_service: !catalog.services.contains_key(key),
            });
        }
        let ((plan, created_team, created_service), events) = self
            .change(actor, |draft| {
                apply(draft, key, &imported, &service_name(&imported))
            })
            .await?;
        Ok(ImportOutcome {
            plan,
            events,
            created_team,
            created_service,
        })
    }
}

fn service_name(imported: &Imported) -> String {
    imported.title.clone().unwrap_or_default()
}

fn apply(
    draft: &mut Draft,
    key: &ServiceKey,
    imported: &Imported,
    name: &str,
) -> Result<(Plan, bool, bool), AppError> {
    let created_team = !draft.catalog().teams.contains_key(&key.team);
    if created_team {
        draft.create_team(Team {
            slug: key.team.clone(),
            name: String::new(),
            memo: String::new(),
            tags: Vec::new(),
        })?;
    }
    let created_service = !draft.catalog().services.contains_key(key);
    if created_service {
        // Every field but these has a default. WireMock's stubs keep WireMock's order:
        // among equal priorities the newest wins.
        let order = match imported.format {
            standin_import::Format::Wiremock => "newest",
            standin_import::Format::Mockserver => "oldest",
            _ => "specific",
        };
        let service: Service = serde_json::from_value(
            serde_json::json!({"slug": key.service, "name": name, "matchOrder": order}),
        )
        .expect("a service needs only its slug");
        draft.create_service(&key.team, service)?;
    }
    let current = current_routes(draft.catalog(), key);
    let plan = standin_import::plan(&current, imported);
    for (i, route) in plan.puts().iter().enumerate() {
        draft.put_route(
            &key.team,
            &key.service,
            route.clone(),
            &format!("/routes/{i}"),
        )?;
    }
    for id in plan.deletes() {
        draft.delete_route(&key.team, &key.service, id)?;
    }
    Ok((plan, created_team, created_service))
}

fn current_routes(catalog: &crate::Catalog, key: &ServiceKey) -> Vec<Route> {
    catalog
        .routes_of(key)
        .map(|m| m.values().map(|r| r.route.clone()).collect())
        .unwrap_or_default()
}
