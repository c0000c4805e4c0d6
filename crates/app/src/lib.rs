//! The control plane's core: every change to teams, services and routes goes through here.
//!
//! A change is validated, applied to a copy of the [`Catalog`], compiled (only the services
//! it touches; unchanged routes reuse their compiled form), committed to the store together
//! with its change events, and only then published: the catalog copy replaces the old one
//! and a new [`RouteTable`] is swapped in for the data plane. A change that fails at any step
//! leaves nothing behind. Writers are serialized by one async mutex that the data plane
//! never sees; readers load `Arc` snapshots and never wait.

mod catalog;
pub mod demo;
mod draft;
mod validate;

pub use catalog::{Catalog, RouteMap, ServiceKey, route_key, service_key, team_key};
pub use draft::Draft;

use arc_swap::ArcSwap;
use standin_journal::Journal;
use standin_matcher::{
    CompiledRoute, CompiledService, RouteCounters, RouteTable, ServiceInfo, TableError,
};
use standin_model::{ChangeEvent, RouteRecord, ServiceRecord, TeamRecord};
use standin_store::{Batch, EventFilter, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

/// Why a change or a query was refused.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is wrong; `pointer` is a JSON pointer into the request body.
    #[error("{pointer}: {message}")]
    Invalid { pointer: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// The data plane's view: the table it reads on every request.
pub type SharedTable = Arc<ArcSwap<RouteTable>>;

/// A handle to the application; cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    table: SharedTable,
    catalog: ArcSwap<Catalog>,
    journal: Journal,
    writer: tokio::sync::Mutex<Compiled>,
}

/// Compiled forms kept between changes so that a change recompiles only what it touched.
#[derive(Default)]
struct Compiled {
    services: HashMap<ServiceKey, Arc<CompiledService>>,
    /// Route key → (revision, compiled route). The same `Arc` keeps the route's counters.
    routes: HashMap<String, (u64, Arc<CompiledRoute>)>,
}

impl App {
    /// Loads every stored definition, compiles it and publishes the first table.
    pub async fn open(store: Arc<dyn Store>, journal: Journal) -> Result<Self, AppError> {
        let snapshot = store.load().await?;
        let catalog = draft::catalog_from_documents(snapshot.documents)?;
        let mut compiled = Compiled::default();
        let keys: Vec<ServiceKey> = catalog.services.keys().cloned().collect();
        let fresh = compile_services(&catalog, &compiled, &keys, &HashMap::new(), false)?;
        compiled.merge(fresh);
        let table = build_table(&catalog, &compiled.services)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        tracing::info!(
            teams = catalog.teams.len(),
            services = catalog.services.len(),
            routes = catalog.route_count(),
            last_event = snapshot.last_seq,
            "loaded definitions"
        );
        Ok(App {
            inner: Arc::new(Inner {
                store,
                table: Arc::new(ArcSwap::from_pointee(table)),
                catalog: ArcSwap::from_pointee(catalog),
                journal,
                writer: tokio::sync::Mutex::new(compiled),
            }),
        })
    }

    /// The table the data plane serves from.
    pub fn table(&self) -> SharedTable {
        self.inner.table.clone()
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// The current definitions. Never waits for a writer.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner.catalog.load_full()
    }

    /// Reads the change log, newest first.
    pub async fn history(&self, filter: EventFilter) -> Result<Vec<ChangeEvent>, AppError> {
        Ok(self.inner.store.events(filter).await?)
    }

    /// Applies `op` to a draft of the catalog and, if it succeeds and everything it changed
    /// compiles, commits and publishes the result. Returns `op`'s value and the events.
    pub async fn change<T>(
        &self,
        actor: &str,
        op: impl FnOnce(&mut Draft) -> Result<T, AppError>,
    ) -> Result<(T, Vec<ChangeEvent>), AppError> {
        let mut compiled = self.inner.writer.lock().await;
        let mut draft = Draft::new((*self.inner.catalog.load_full()).clone(), actor);
        let value = op(&mut draft)?;
        let (catalog, changes, touched, pointers) = draft.finish();
        if changes.is_empty() {
            return Ok((value, Vec::new()));
        }
        let fresh = compile_services(&catalog, &compiled, &touched, &pointers, true)?;
        let mut services = compiled.services.clone();
        for key in &touched {
            services.remove(key);
        }
        services.extend(fresh.services.iter().map(|(k, v)| (k.clone(), v.clone())));
        let table =
            build_table(&catalog, &services).map_err(|e| AppError::Conflict(e.to_string()))?;

        let batch = Batch {
            actor: actor.to_string(),
            at: now(),
            id: uuid::Uuid::now_v7().to_string(),
            changes,
        };
        let events = self.inner.store.commit(batch).await?;

        // Committed: publish. Nothing below can fail.
        for key in &touched {
            compiled.services.remove(key);
            let prefix = format!("{}/{}/", key.0, key.1);
            compiled.routes.retain(|k, _| !k.starts_with(&prefix));
        }
        compiled.merge(fresh);
        self.inner.catalog.store(Arc::new(catalog));
        self.inner.table.store(Arc::new(table));
        Ok((value, events))
    }
}

impl Compiled {
    fn merge(&mut self, other: Compiled) {
        self.services.extend(other.services);
        self.routes.extend(other.routes);
    }
}

/// Compiles the given services from the catalog, reusing compiled routes whose revision is
/// unchanged. With `strict`, a route that does not compile fails the whole call (a change
/// must not be accepted); without, it is logged and left out (a stored route must not keep
/// standin from starting).
fn compile_services(
    catalog: &Catalog,
    cache: &Compiled,
    keys: &[ServiceKey],
    pointers: &HashMap<String, String>,
    strict: bool,
) -> Result<Compiled, AppError> {
    let mut out = Compiled::default();
    for key in keys {
        let Some(service) = catalog.services.get(key) else {
            continue;
        };
        let mut routes = Vec::new();
        // Disabled routes stay in the catalog but are not served.
        let enabled = catalog
            .routes_of(key)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(|(_, r)| r.route.enabled);
        for (id, record) in enabled {
            let rkey = route_key(&key.0, &key.1, id);
            let compiled = match cache.routes.get(&rkey) {
                Some((rev, c)) if *rev == record.meta.revision => c.clone(),
                _ => match CompiledRoute::compile(
                    &record.route,
                    record.meta.created_seq,
                    Arc::new(RouteCounters::default()),
                ) {
                    Ok(c) => Arc::new(c),
                    Err(e) if strict => {
                        let prefix = pointers.get(&rkey).cloned().unwrap_or_default();
                        return Err(AppError::invalid(
                            format!("{prefix}{}", e.pointer),
                            e.message,
                        ));
                    }
                    Err(e) => {
                        tracing::error!(route = %rkey, error = %e, "stored route does not compile; it is not served");
                        continue;
                    }
                },
            };
            out.routes
                .insert(rkey, (record.meta.revision, compiled.clone()));
            routes.push(compiled);
        }
        let built = CompiledService::build(service_info(service), routes)
            .map_err(|e| AppError::invalid(e.pointer, e.message))?;
        out.services.insert(key.clone(), Arc::new(built));
    }
    Ok(out)
}

fn service_info(s: &ServiceRecord) -> ServiceInfo {
    ServiceInfo {
        team: s.team.clone(),
        slug: s.service.slug.clone(),
        base_path: s.service.effective_base_path(&s.team),
        hosts: s
            .service
            .hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        default_delay_ms: s.service.default_delay_ms,
        match_order: s.service.match_order,
        not_found: s.service.not_found,
    }
}

fn build_table(
    catalog: &Catalog,
    services: &HashMap<ServiceKey, Arc<CompiledService>>,
) -> Result<RouteTable, TableError> {
    RouteTable::new(
        catalog
            .services
            .keys()
            .filter_map(|k| services.get(k).cloned())
            .collect(),
    )
}

/// The current time as RFC 3339.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
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
