//! From a catalog to the table the data plane serves.
//!
//! [`prepare`] compiles the services a change touched (reusing compiled routes whose
//! revision did not change, which also keeps their counters) and assembles a new
//! [`RouteTable`]; it has no side effects, so a change can be refused after it. [`publish`]
//! then swaps the catalog and the table in. A user change runs prepare → commit → publish;
//! a load from the store (at start, or after a failed commit) runs prepare → publish, and
//! so will a replica or a restore.

use crate::catalog::{Catalog, ServiceKey};
use crate::{AppError, Quarantined};
use standin_matcher::{
    CompiledRoute, CompiledService, RouteCounters, RouteTable, ServiceInfo, TableError,
};
use standin_model::{EntityKind, ServiceRecord};
use std::collections::HashMap;
use std::sync::Arc;

/// Compiled forms kept between changes so that a change recompiles only what it touched.
#[derive(Default)]
pub(crate) struct Compiled {
    services: HashMap<ServiceKey, Arc<CompiledService>>,
    /// Route key → (revision, compiled route). The same `Arc` keeps the route's counters.
    routes: HashMap<String, (u64, Arc<CompiledRoute>)>,
}

impl Compiled {
    pub(crate) fn service_keys(&self) -> impl Iterator<Item = ServiceKey> + '_ {
        self.services.keys().cloned()
    }
}

/// What to do with a definition that does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnCompileError {
    /// Refuse the whole change, naming the field: a user is writing it.
    Refuse,
    /// Leave it out and report it: it is stored already, and must not keep the rest of
    /// the definitions from being served.
    Quarantine,
}

/// A catalog with its compiled table, ready to publish.
pub(crate) struct Prepared {
    pub(crate) catalog: Catalog,
    table: RouteTable,
    fresh: Compiled,
    touched: Vec<ServiceKey>,
    /// Definitions left out (only with [`OnCompileError::Quarantine`]).
    pub(crate) quarantined: Vec<Quarantined>,
}

/// Compiles `touched` services of `catalog` against the cache and builds the table.
/// `pointers` locate routes in the request body, for error messages.
pub(crate) fn prepare(
    cache: &Compiled,
    mut catalog: Catalog,
    touched: Vec<ServiceKey>,
    pointers: &HashMap<String, String>,
    on_error: OnCompileError,
) -> Result<Prepared, AppError> {
    let mut quarantined = Vec::new();
    let fresh = compile_services(
        &catalog,
        cache,
        &touched,
        pointers,
        on_error,
        &mut quarantined,
    )?;
    let mut services = cache.services.clone();
    for key in &touched {
        services.remove(key);
    }
    services.extend(fresh.services.iter().map(|(k, v)| (k.clone(), v.clone())));
    let table = loop {
        match build_table(&catalog, &services) {
            Ok(table) => break table,
            Err(e) if on_error == OnCompileError::Refuse => {
                return Err(AppError::Conflict(e.to_string()));
            }
            // A stored service that clashes with another (written by an older version,
            // say) is left out rather than keeping every other service from being served.
            Err(e) => {
                let key = clashing_service(&e);
                quarantined.push(Quarantined::new(
                    EntityKind::Service,
                    key.to_string(),
                    e.to_string(),
                ));
                catalog.services.remove(&key);
                catalog.routes.remove(&key);
                services.remove(&key);
            }
        }
    };
    Ok(Prepared {
        catalog,
        table,
        fresh,
        touched,
        quarantined,
    })
}

/// The second service named by a clash (the one left out).
fn clashing_service(e: &TableError) -> ServiceKey {
    let second = match e {
        TableError::DuplicateBasePath { second, .. } | TableError::DuplicateHost { second, .. } => {
            second
        }
    };
    ServiceKey::parse(second).unwrap_or_else(|| ServiceKey::new(second.as_str(), ""))
}

/// Makes `prepared` what the data plane serves and what readers see. Cannot fail.
pub(crate) fn publish(
    cache: &mut Compiled,
    catalog: &arc_swap::ArcSwap<Catalog>,
    table: &arc_swap::ArcSwap<RouteTable>,
    prepared: Prepared,
) {
    for key in &prepared.touched {
        cache.services.remove(key);
        let prefix = format!("{key}/");
        cache.routes.retain(|k, _| !k.starts_with(&prefix));
    }
    cache.services.extend(prepared.fresh.services);
    cache.routes.extend(prepared.fresh.routes);
    catalog.store(Arc::new(prepared.catalog));
    table.store(Arc::new(prepared.table));
}

fn compile_services(
    catalog: &Catalog,
    cache: &Compiled,
    keys: &[ServiceKey],
    pointers: &HashMap<String, String>,
    on_error: OnCompileError,
    quarantined: &mut Vec<Quarantined>,
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
            let rkey = key.route_key(id);
            let compiled = match cache.routes.get(&rkey) {
                Some((rev, c)) if *rev == record.meta.revision => c.clone(),
                previous => match CompiledRoute::compile(
                    &record.route,
                    record.meta.created_seq,
                    Arc::new(RouteCounters::default()),
                ) {
                    // A changed route keeps its Prometheus series.
                    Ok(mut c) => {
                        if let Some((_, p)) = previous {
                            c.metrics = p.metrics.clone();
                        }
                        Arc::new(c)
                    }
                    Err(e) if on_error == OnCompileError::Refuse => {
                        let prefix = pointers.get(&rkey).cloned().unwrap_or_default();
                        return Err(AppError::invalid(
                            format!("{prefix}{}", e.pointer),
                            e.message,
                        ));
                    }
                    Err(e) => {
                        tracing::error!(route = %rkey, error = %e, "stored route does not compile; it is not served");
                        quarantined.push(Quarantined::new(
                            EntityKind::Route,
                            rkey,
                            format!("does not compile: {e}"),
                        ));
                        continue;
                    }
                },
            };
            out.routes
                .insert(rkey, (record.meta.revision, compiled.clone()));
            routes.push(compiled);
        }
        match CompiledService::build(service_info(service), routes) {
            Ok(mut built) => {
                // Scenarios keep their states across changes to the service.
                if let Some(previous) = cache.services.get(key) {
                    built.carry_scenarios(previous, true);
                    built.metrics = previous.metrics.clone();
                    // The same upstream keeps its breaker's state.
                    if let (Some(old), Some(new)) = (&previous.info.upstream, &built.info.upstream)
                        && old.url == new.url
                        && previous.info.upstream_settings == built.info.upstream_settings
                    {
                        built.info.upstream = Some(old.clone());
                    }
                }
                out.services.insert(key.clone(), Arc::new(built));
            }
            Err(e) if on_error == OnCompileError::Refuse => {
                return Err(AppError::invalid(e.pointer, e.message));
            }
            Err(e) => quarantined.push(Quarantined::new(
                EntityKind::Service,
                key.to_string(),
                format!("does not compile: {e}"),
            )),
        }
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
        // Checked when the service was saved (validate::service).
        default_delay: s
            .service
            .default_delay
            .as_ref()
            .and_then(|d| standin_matcher::CompiledDelay::compile(d, "/defaultDelay").ok()),
        // Checked when the service was saved, as the delay.
        chaos: s
            .service
            .chaos
            .as_ref()
            .and_then(|c| standin_matcher::CompiledChaos::compile(c).ok().flatten())
            .map(Arc::new),
        // Checked when the service was saved (validate::service).
        upstream_settings: s.service.breaker.clone(),
        record: s.service.record.as_ref().is_some_and(|r| r.enabled),
        upstream: s.service.upstream.as_ref().and_then(|u| {
            standin_matcher::Upstream::compile(u, &s.service.breaker.clone().unwrap_or_default())
                .ok()
                .map(Arc::new)
        }),
        match_order: s.service.match_order,
        not_found: s.service.not_found,
        validate_requests: s.service.validate_requests,
        redact_headers: s
            .service
            .redacted_headers()
            .iter()
            .filter_map(|h| http::HeaderName::from_bytes(h.as_bytes()).ok())
            .collect(),
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

/// A table with one service of `catalog` alone, with `draft` in place of its route of the
/// same id (or added): what "try it" answers from before a route is saved. Nothing is
/// stored or published. Errors in the draft name fields under `/route`.
pub(crate) fn preview_table(
    catalog: &Catalog,
    published: Option<&CompiledService>,
    key: &ServiceKey,
    draft: Option<standin_model::Route>,
) -> Result<RouteTable, AppError> {
    let service = catalog
        .services
        .get(key)
        .ok_or_else(|| AppError::NotFound(format!("service \"{key}\" does not exist")))?;
    let mut records: Vec<(u64, standin_model::Route)> = catalog
        .routes_of(key)
        .into_iter()
        .flat_map(|m| m.values())
        .map(|r| (r.meta.created_seq, r.route.clone()))
        .collect();
    let draft_id = match draft {
        None => None,
        Some(mut route) => {
            if route.id.is_empty() {
                route.id = "draft".into();
            }
            crate::validate::route(&mut route, "/route")?;
            let id = route.id.clone();
            match records.iter_mut().find(|(_, r)| r.id == id) {
                Some(slot) => slot.1 = route,
                None => records.push((catalog.next_route_seq, route)),
            }
            Some(id)
        }
    };
    let mut routes = Vec::new();
    for (seq, route) in records.iter().filter(|(_, r)| r.enabled) {
        match CompiledRoute::compile(route, *seq, Arc::new(RouteCounters::default())) {
            Ok(c) => routes.push(Arc::new(c)),
            Err(e) if draft_id.as_deref() == Some(route.id.as_str()) => {
                return Err(AppError::invalid(format!("/route{}", e.pointer), e.message));
            }
            // A stored route that does not compile is not served either.
            Err(_) => {}
        }
    }
    let mut built = CompiledService::build(service_info(service), routes)
        .map_err(|e| AppError::invalid(e.pointer, e.message))?;
    // A try sees the scenarios where they are, and moves only its own copies.
    if let Some(p) = published {
        built.carry_scenarios(p, false);
    }
    RouteTable::new(vec![Arc::new(built)]).map_err(|e| AppError::Internal(e.to_string()))
}
