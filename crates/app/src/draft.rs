//! A draft: a private copy of the catalog that one change edits, recording an event for
//! every document it creates, updates or deletes.

use crate::catalog::{Catalog, RouteMap, ServiceKey, route_key, service_key, team_key};
use crate::{AppError, now, validate};
use standin_model::{
    ChangeKind, EntityKind, Meta, Route, RouteRecord, Service, ServiceRecord, Team, TeamRecord,
};
use standin_store::Change;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

pub struct Draft {
    catalog: Catalog,
    changes: Vec<Change>,
    touched: BTreeSet<ServiceKey>,
    /// Route key → where the route sits in the request body, for error pointers.
    pointers: HashMap<String, String>,
    now: String,
    actor: String,
}

/// What a draft produced: the edited catalog, the changes to commit, the services whose
/// routes must be recompiled, and where each route sits in the request body.
pub(crate) struct Drafted {
    pub(crate) catalog: Catalog,
    pub(crate) changes: Vec<Change>,
    pub(crate) touched: Vec<ServiceKey>,
    pub(crate) pointers: HashMap<String, String>,
}

fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("records serialize")
}

impl Draft {
    pub(crate) fn new(catalog: Catalog, actor: &str) -> Self {
        Draft {
            catalog,
            changes: Vec::new(),
            touched: BTreeSet::new(),
            pointers: HashMap::new(),
            now: now(),
            actor: actor.to_string(),
        }
    }

    pub(crate) fn finish(self) -> Drafted {
        Drafted {
            catalog: self.catalog,
            changes: self.changes,
            touched: self.touched.into_iter().collect(),
            pointers: self.pointers,
        }
    }

    /// The catalog as the draft has it so far.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn meta(&self, previous: Option<&Meta>, created_seq: u64) -> Meta {
        Meta {
            created_seq: previous.map_or(created_seq, |m| m.created_seq),
            revision: previous.map_or(1, |m| m.revision + 1),
            created_at: previous.map_or_else(|| self.now.clone(), |m| m.created_at.clone()),
            updated_at: self.now.clone(),
            updated_by: self.actor.clone(),
        }
    }

    fn record(
        &mut self,
        entity: EntityKind,
        key: String,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) {
        let kind = match (&before, &after) {
            (None, _) => ChangeKind::Create,
            (Some(_), Some(_)) => ChangeKind::Update,
            (Some(_), None) => ChangeKind::Delete,
        };
        self.changes.push(Change {
            kind,
            entity,
            key,
            before,
            after,
        });
    }

    fn require_team(&self, team: &str) -> Result<&Arc<TeamRecord>, AppError> {
        self.catalog
            .teams
            .get(team)
            .ok_or_else(|| AppError::NotFound(format!("team \"{team}\" does not exist")))
    }

    fn require_service(&self, team: &str, service: &str) -> Result<&Arc<ServiceRecord>, AppError> {
        self.require_team(team)?;
        self.catalog
            .services
            .get(&ServiceKey::new(team, service))
            .ok_or_else(|| {
                AppError::NotFound(format!("service \"{team}/{service}\" does not exist"))
            })
    }

    pub fn create_team(&mut self, mut team: Team) -> Result<Arc<TeamRecord>, AppError> {
        validate::team(&mut team)?;
        if self.catalog.teams.contains_key(&team.slug) {
            return Err(AppError::Conflict(format!(
                "team \"{}\" already exists",
                team.slug
            )));
        }
        self.put_team(team, None)
    }

    /// Replaces a team's fields. The slug cannot change.
    pub fn update_team(&mut self, slug: &str, mut team: Team) -> Result<Arc<TeamRecord>, AppError> {
        if team.slug.is_empty() {
            team.slug = slug.to_string();
        }
        validate::same_slug(slug, &team.slug)?;
        validate::team(&mut team)?;
        let previous = self.require_team(slug)?.clone();
        if previous.team == team {
            return Ok(previous);
        }
        self.put_team(team, Some(previous))
    }

    fn put_team(
        &mut self,
        team: Team,
        previous: Option<Arc<TeamRecord>>,
    ) -> Result<Arc<TeamRecord>, AppError> {
        let record = Arc::new(TeamRecord {
            meta: self.meta(previous.as_ref().map(|p| &p.meta), 0),
            team,
        });
        let slug = record.team.slug.clone();
        let doc = validate::storable::<TeamRecord>(to_json(&*record), "")?;
        self.record(
            EntityKind::Team,
            team_key(&slug),
            previous.map(|p| to_json(&*p)),
            Some(doc),
        );
        self.catalog.teams.insert(slug, record.clone());
        Ok(record)
    }

    /// Deletes a team. With `cascade` its services and their routes go too; without, a team
    /// that still has services is refused.
    pub fn delete_team(&mut self, slug: &str, cascade: bool) -> Result<(), AppError> {
        self.require_team(slug)?;
        let services: Vec<String> = self
            .catalog
            .services_of(slug)
            .map(|s| s.service.slug.clone())
            .collect();
        if !services.is_empty() && !cascade {
            return Err(AppError::Conflict(format!(
                "team \"{slug}\" still has {} service(s) ({}); delete them first or pass cascade=true",
                services.len(),
                services.join(", ")
            )));
        }
        for s in services {
            self.delete_service(slug, &s)?;
        }
        let previous = self.catalog.teams.remove(slug).expect("checked above");
        self.record(
            EntityKind::Team,
            team_key(slug),
            Some(to_json(&*previous)),
            None,
        );
        Ok(())
    }

    pub fn create_service(
        &mut self,
        team: &str,
        mut service: Service,
    ) -> Result<Arc<ServiceRecord>, AppError> {
        validate::service(&mut service)?;
        self.require_team(team)?;
        let key = ServiceKey::new(team, &service.slug);
        if self.catalog.services.contains_key(&key) {
            return Err(AppError::Conflict(format!(
                "service \"{team}/{}\" already exists",
                service.slug
            )));
        }
        self.catalog.routes.insert(key, Arc::new(RouteMap::new()));
        self.put_service(team, service, None)
    }

    /// Replaces a service's fields; its routes stay. The slug cannot change.
    pub fn update_service(
        &mut self,
        team: &str,
        slug: &str,
        mut service: Service,
    ) -> Result<Arc<ServiceRecord>, AppError> {
        if service.slug.is_empty() {
            service.slug = slug.to_string();
        }
        validate::same_slug(slug, &service.slug)?;
        validate::service(&mut service)?;
        let previous = self.require_service(team, slug)?.clone();
        if previous.service == service {
            return Ok(previous);
        }
        self.put_service(team, service, Some(previous))
    }

    fn put_service(
        &mut self,
        team: &str,
        service: Service,
        previous: Option<Arc<ServiceRecord>>,
    ) -> Result<Arc<ServiceRecord>, AppError> {
        let record = Arc::new(ServiceRecord {
            team: team.to_string(),
            meta: self.meta(previous.as_ref().map(|p| &p.meta), 0),
            service,
        });
        let key = ServiceKey::new(team, &record.service.slug);
        let doc = validate::storable::<ServiceRecord>(to_json(&*record), "")?;
        self.record(
            EntityKind::Service,
            service_key(team, &key.service),
            previous.map(|p| to_json(&*p)),
            Some(doc),
        );
        self.catalog.services.insert(key.clone(), record.clone());
        self.touched.insert(key);
        Ok(record)
    }

    /// Deletes a service and all its routes.
    pub fn delete_service(&mut self, team: &str, slug: &str) -> Result<(), AppError> {
        self.require_service(team, slug)?;
        let key = ServiceKey::new(team, slug);
        let ids: Vec<String> = self
            .catalog
            .routes_of(&key)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.delete_route(team, slug, &id)?;
        }
        let previous = self.catalog.services.remove(&key).expect("checked above");
        self.catalog.routes.remove(&key);
        self.record(
            EntityKind::Service,
            service_key(team, slug),
            Some(to_json(&*previous)),
            None,
        );
        self.touched.insert(key);
        Ok(())
    }

    /// Creates a route; refuses an id that exists. `pointer` locates the route in the
    /// request body for error messages (empty for a body that is the route itself).
    pub fn create_route(
        &mut self,
        team: &str,
        service: &str,
        route: Route,
        pointer: &str,
    ) -> Result<Arc<RouteRecord>, AppError> {
        if !route.id.is_empty() && self.route(team, service, &route.id).is_some() {
            return Err(AppError::Conflict(format!(
                "route \"{}\" already exists in \"{team}/{service}\"",
                route.id
            )));
        }
        Ok(self.put_route(team, service, route, pointer)?.0)
    }

    /// Creates or replaces the route with the route's id (assigning one when empty).
    /// Returns the record and whether it was created.
    pub fn put_route(
        &mut self,
        team: &str,
        service: &str,
        mut route: Route,
        pointer: &str,
    ) -> Result<(Arc<RouteRecord>, bool), AppError> {
        self.require_service(team, service)?;
        if route.id.is_empty() {
            route.id = uuid::Uuid::now_v7().to_string();
        }
        validate::route(&mut route, pointer)?;
        let key = ServiceKey::new(team, service);
        let previous = self.route(team, service, &route.id).cloned();

        let seq = self.catalog.next_route_seq;
        if previous.is_none() {
            self.catalog.next_route_seq += 1;
        }
        let record = Arc::new(RouteRecord {
            team: team.to_string(),
            service: service.to_string(),
            meta: self.meta(previous.as_ref().map(|p| &p.meta), seq),
            route,
        });
        let rkey = route_key(team, service, &record.route.id);
        let doc = validate::storable::<RouteRecord>(to_json(&*record), pointer)?;
        self.pointers.insert(rkey.clone(), pointer.to_string());
        self.record(
            EntityKind::Route,
            rkey,
            previous.as_ref().map(|p| to_json(&**p)),
            Some(doc),
        );
        let map = self.catalog.routes.entry(key.clone()).or_default();
        Arc::make_mut(map).insert(record.route.id.clone(), record.clone());
        self.touched.insert(key);
        Ok((record, previous.is_none()))
    }

    pub fn delete_route(&mut self, team: &str, service: &str, id: &str) -> Result<(), AppError> {
        self.require_service(team, service)?;
        let key = ServiceKey::new(team, service);
        let map = self.catalog.routes.entry(key.clone()).or_default();
        let previous = Arc::make_mut(map).remove(id).ok_or_else(|| {
            AppError::NotFound(format!(
                "route \"{id}\" does not exist in \"{team}/{service}\""
            ))
        })?;
        self.record(
            EntityKind::Route,
            route_key(team, service, id),
            Some(to_json(&*previous)),
            None,
        );
        self.touched.insert(key);
        Ok(())
    }

    /// Makes the service's routes exactly `routes`: routes with a known id are updated,
    /// others created, and routes not listed deleted. Ids must be unique in the list.
    pub fn replace_routes(
        &mut self,
        team: &str,
        service: &str,
        routes: Vec<Route>,
    ) -> Result<Vec<Arc<RouteRecord>>, AppError> {
        self.require_service(team, service)?;
        let mut seen = BTreeMap::new();
        for (i, r) in routes.iter().enumerate() {
            if !r.id.is_empty()
                && let Some(first) = seen.insert(r.id.clone(), i)
            {
                return Err(AppError::invalid(
                    format!("/{i}/id"),
                    format!("id \"{}\" is also used by /{first}", r.id),
                ));
            }
        }
        let key = ServiceKey::new(team, service);
        let existing: Vec<String> = self
            .catalog
            .routes_of(&key)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for id in existing.iter().filter(|id| !seen.contains_key(*id)) {
            self.delete_route(team, service, id)?;
        }
        let mut out = Vec::with_capacity(routes.len());
        for (i, r) in routes.into_iter().enumerate() {
            out.push(self.put_route(team, service, r, &format!("/{i}"))?.0);
        }
        Ok(out)
    }

    pub fn route(&self, team: &str, service: &str, id: &str) -> Option<&Arc<RouteRecord>> {
        self.catalog
            .routes_of(&ServiceKey::new(team, service))
            .and_then(|m| m.get(id))
    }
}
