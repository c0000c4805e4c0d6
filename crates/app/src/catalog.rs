//! The in-memory picture of every definition, shared copy-on-write.
//!
//! Readers take an `Arc<Catalog>` and never wait. A writer clones the catalog (cheap: the
//! per-service route maps are behind `Arc`s), changes its copy, and publishes the copy only
//! after the store has committed the change.

use standin_model::{RouteRecord, ServiceRecord, TeamRecord};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `(team, service)`.
pub type ServiceKey = (String, String);

pub type RouteMap = BTreeMap<String, Arc<RouteRecord>>;

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub teams: BTreeMap<String, Arc<TeamRecord>>,
    pub services: BTreeMap<ServiceKey, Arc<ServiceRecord>>,
    /// Routes of each service by id; every service has an entry, possibly empty.
    pub routes: BTreeMap<ServiceKey, Arc<RouteMap>>,
    /// The creation order number the next route gets.
    pub next_route_seq: u64,
}

impl Catalog {
    pub fn services_of<'a>(
        &'a self,
        team: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ServiceRecord>> + 'a {
        self.services
            .range((team.to_string(), String::new())..)
            .take_while(move |((t, _), _)| t == team)
            .map(|(_, s)| s)
    }

    pub fn routes_of(&self, key: &ServiceKey) -> Option<&Arc<RouteMap>> {
        self.routes.get(key)
    }

    pub fn route_count(&self) -> usize {
        self.routes.values().map(|m| m.len()).sum()
    }
}

pub fn team_key(team: &str) -> String {
    team.to_string()
}

pub fn service_key(team: &str, service: &str) -> String {
    format!("{team}/{service}")
}

pub fn route_key(team: &str, service: &str, id: &str) -> String {
    format!("{team}/{service}/{id}")
}
