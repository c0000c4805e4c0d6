//! The in-memory picture of every definition, shared copy-on-write.
//!
//! Readers take an `Arc<Catalog>` and never wait. A writer clones the catalog (cheap: the
//! per-service route maps are behind `Arc`s), changes its copy, and publishes the copy only
//! after the store has committed the change.

use standin_model::{EntityKind, RouteRecord, ServiceRecord, TeamRecord};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A service's identity: its team's slug and its own. Prints as `team/service`, the form
/// the API, the journal and the history use.
///
/// ```
/// use standin_app::ServiceKey;
/// let k = ServiceKey::parse("pay/cards").unwrap();
/// assert_eq!(k, ServiceKey::new("pay", "cards"));
/// assert_eq!(k.to_string(), "pay/cards");
/// assert_eq!(k.route_key("r1"), "pay/cards/r1");
/// assert!(ServiceKey::parse("pay").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    pub team: String,
    pub service: String,
}

impl ServiceKey {
    pub fn new(team: impl Into<String>, service: impl Into<String>) -> Self {
        ServiceKey {
            team: team.into(),
            service: service.into(),
        }
    }

    /// The key of a stored service.
    pub fn of(record: &ServiceRecord) -> Self {
        Self::new(&record.team, &record.service.slug)
    }

    /// Reads `team/service`; `None` when either part is missing.
    pub fn parse(text: &str) -> Option<Self> {
        let (team, service) = text.split_once('/')?;
        (!team.is_empty() && !service.is_empty() && !service.contains('/'))
            .then(|| Self::new(team, service))
    }

    /// The store key of one of the service's routes: `team/service/id`.
    pub fn route_key(&self, id: &str) -> String {
        route_key(&self.team, &self.service, id)
    }
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.team, self.service)
    }
}

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
            .range(ServiceKey::new(team, "")..)
            .take_while(move |(k, _)| k.team == team)
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

/// A stored definition that is not served: unreadable, orphaned, or not compilable. It
/// stays in the store untouched until a change writes the same key.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantined {
    /// `team`, `service`, `route`, or what the store row said.
    pub entity: String,
    pub key: String,
    pub reason: String,
}

impl Quarantined {
    pub(crate) fn new(entity: EntityKind, key: String, reason: String) -> Self {
        let entity = match entity {
            EntityKind::Team => "team",
            EntityKind::Service => "service",
            EntityKind::Route => "route",
        };
        Quarantined {
            entity: entity.to_string(),
            key,
            reason,
        }
    }
}

impl Catalog {
    /// Rebuilds the catalog from stored documents. Documents that cannot be read, or whose
    /// team or service is missing, are left out and returned, so one bad document never
    /// keeps the others from being served.
    pub(crate) fn from_documents(
        docs: Vec<(EntityKind, String, serde_json::Value)>,
    ) -> (Catalog, Vec<Quarantined>) {
        let mut c = Catalog::default();
        let mut out = Vec::new();
        let mut services = Vec::new();
        let mut routes = Vec::new();
        for (entity, key, doc) in docs {
            let unreadable = |e: serde_json::Error| {
                Quarantined::new(entity, key.clone(), format!("unreadable: {e}"))
            };
            match entity {
                EntityKind::Team => match serde_json::from_value::<TeamRecord>(doc) {
                    Ok(t) => {
                        c.teams.insert(t.team.slug.clone(), Arc::new(t));
                    }
                    Err(e) => out.push(unreadable(e)),
                },
                EntityKind::Service => match serde_json::from_value::<ServiceRecord>(doc) {
                    Ok(s) => services.push((key, s)),
                    Err(e) => out.push(unreadable(e)),
                },
                EntityKind::Route => match serde_json::from_value::<RouteRecord>(doc) {
                    Ok(r) => routes.push((key, r)),
                    Err(e) => out.push(unreadable(e)),
                },
            }
        }
        for (key, s) in services {
            if !c.teams.contains_key(&s.team) {
                let reason = format!("its team \"{}\" does not exist", s.team);
                out.push(Quarantined::new(EntityKind::Service, key, reason));
                continue;
            }
            let k = ServiceKey::of(&s);
            c.routes.entry(k.clone()).or_default();
            c.services.insert(k, Arc::new(s));
        }
        for (key, r) in routes {
            let k = ServiceKey::new(&r.team, &r.service);
            let Some(map) = c.routes.get_mut(&k) else {
                let reason = format!("its service \"{k}\" does not exist");
                out.push(Quarantined::new(EntityKind::Route, key, reason));
                continue;
            };
            c.next_route_seq = c.next_route_seq.max(r.meta.created_seq + 1);
            Arc::make_mut(map).insert(r.route.id.clone(), Arc::new(r));
        }
        c.next_route_seq = c.next_route_seq.max(1);
        (c, out)
    }

    /// Every definition, for comparing two catalogs (memory against a reload, say).
    pub fn same_definitions(&self, other: &Catalog) -> bool {
        self.teams == other.teams && self.services == other.services && self.routes == other.routes
    }
}

/// Search results across teams.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct SearchHits {
    pub teams: Vec<Arc<TeamRecord>>,
    pub services: Vec<Arc<ServiceRecord>>,
    pub routes: Vec<Arc<RouteRecord>>,
}

impl Catalog {
    /// Definitions whose slug (or id), name, memo or a tag contains `text` (case-insensitive) and that
    /// carry `tag` when given. At most `limit` of each kind.
    pub fn search(&self, text: &str, tag: Option<&str>, limit: usize) -> SearchHits {
        let needle = text.to_lowercase();
        let hit = |fields: &[&str], tags: &[String]| {
            tag.is_none_or(|t| tags.iter().any(|x| x == t))
                && (needle.is_empty()
                    || fields
                        .iter()
                        .copied()
                        .chain(tags.iter().map(String::as_str))
                        .any(|f| f.to_lowercase().contains(&needle)))
        };
        SearchHits {
            teams: self
                .teams
                .values()
                .filter(|t| hit(&[&t.team.slug, &t.team.name, &t.team.memo], &t.team.tags))
                .take(limit)
                .cloned()
                .collect(),
            services: self
                .services
                .values()
                .filter(|s| {
                    hit(
                        &[&s.service.slug, &s.service.name, &s.service.memo],
                        &s.service.tags,
                    )
                })
                .take(limit)
                .cloned()
                .collect(),
            routes: self
                .routes
                .values()
                .flat_map(|m| m.values())
                .filter(|r| hit(&[&r.route.id, &r.route.name, &r.route.memo], &r.route.tags))
                .take(limit)
                .cloned()
                .collect(),
        }
    }
}
