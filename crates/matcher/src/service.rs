//! A service's routes in match order, the index that finds candidates, and the search for
//! the winner (or the near misses).

use crate::CompileError;
use crate::path::{self, CompiledPath, PathIndex};
use crate::route::CompiledRoute;
use crate::scenario::{Binding, Scenarios};
use http::HeaderName;
use serde::Serialize;
use standin_eval::{Budget, Exhausted, Request};
use std::sync::Arc;

/// The service fields the data plane needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceInfo {
    pub team: String,
    pub slug: String,
    /// Normalized: leading slash, no trailing slash, `/` for the root.
    pub base_path: String,
    /// Lowercase host names without port.
    pub hosts: Vec<String>,
    pub default_delay_ms: u64,
    /// A delay drawn per request for every response of the service.
    pub default_delay: Option<crate::CompiledDelay>,
    /// Failures on purpose (`None` when off).
    pub chaos: Option<Arc<crate::CompiledChaos>>,
    /// Where requests no route matches go.
    pub upstream: Option<Arc<crate::Upstream>>,
    /// The breaker settings the upstream was built with.
    pub upstream_settings: Option<standin_model::Breaker>,
    /// Record mode: every request goes to the upstream.
    pub record: bool,
    pub match_order: standin_model::MatchOrder,
    pub not_found: standin_model::NotFound,
    /// Headers whose values the journal keeps only as `<redacted>`.
    pub redact_headers: Vec<HeaderName>,
    /// Check requests against their route's contract.
    pub validate_requests: bool,
}

/// A service's routes in match order, with the index that finds candidates.
#[derive(Debug)]
pub struct CompiledService {
    pub info: ServiceInfo,
    /// `team/service`, built once for journal entries.
    pub key: Arc<str>,
    routes: Vec<Arc<CompiledRoute>>,
    index: PathIndex,
    regexes: path::RegexIndex,
    regex_routes: Vec<u32>,
    scan_routes: Vec<u32>,
    scenarios: Scenarios,
    /// Each route's scenario step (by position in `routes`), bound to `scenarios`.
    bindings: Vec<Option<Binding>>,
    /// Its Prometheus series, handed on to the service's next compiled form.
    pub metrics: Arc<crate::ServiceMetrics>,
}

impl ServiceInfo {
    /// A service of `team` at `base_path` with every other setting at its default (no
    /// hosts, delays, chaos or upstream): what tests and benchmarks build.
    pub fn new(team: &str, slug: &str, base_path: &str) -> Self {
        ServiceInfo {
            team: team.into(),
            slug: slug.into(),
            base_path: base_path.into(),
            hosts: Vec::new(),
            default_delay_ms: 0,
            default_delay: None,
            chaos: None,
            upstream: None,
            upstream_settings: None,
            record: false,
            match_order: Default::default(),
            not_found: Default::default(),
            redact_headers: Vec::new(),
            validate_requests: false,
        }
    }
}

/// How many near misses a 404 lists.
pub const NEAR_MISS_LIMIT: usize = 5;

/// Near-miss reports check body conditions only on bodies up to this size, so an
/// unmatched large request costs no more than a matched one.
pub(crate) const NEAR_MISS_BODY_LIMIT: usize = 64 * 1024;

/// Fuel for the near-miss search of one unmatched request.
pub(crate) const NEAR_MISS_FUEL: u64 = 2_000_000;

/// The result of matching a request against a service.
pub enum Outcome<'t> {
    Matched(Match<'t>),
    Unmatched(Vec<NearMiss>),
    /// The budget ran out while checking `route`: neither a match nor a miss, and no
    /// route was used.
    OverBudget {
        route: Arc<str>,
        why: Exhausted,
    },
}

pub struct Match<'t> {
    pub route: &'t Arc<CompiledRoute>,
    /// Values captured by the path: `{name}` segments or named regex groups.
    pub path_values: Vec<(Box<str>, String)>,
}

/// A route that almost matched, and the conditions that failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NearMiss {
    pub route_id: String,
    pub route_name: String,
    pub failed: Vec<String>,
}

impl CompiledService {
    /// Orders the routes and builds the index.
    pub fn build(
        info: ServiceInfo,
        mut routes: Vec<Arc<CompiledRoute>>,
    ) -> Result<Self, CompileError> {
        let order = info.match_order;
        routes.sort_by(|a, b| a.order_key(order).cmp(&b.order_key(order)));
        let mut index = PathIndex::default();
        let mut regex_src = Vec::new();
        let mut regex_routes = Vec::new();
        let mut scan_routes = Vec::new();
        for (i, r) in routes.iter().enumerate() {
            let i = i as u32;
            match &r.request.path {
                CompiledPath::Pattern(p) => index.insert(p, i),
                CompiledPath::Regex(re) => {
                    regex_src.push((i, re.user()));
                    regex_routes.push(i);
                }
                CompiledPath::Any | CompiledPath::Not(_) => scan_routes.push(i),
            }
        }
        let regexes = path::RegexIndex::build(&regex_src).map_err(|e| {
            CompileError::new(
                "/http/request/path/regex",
                format!("the service's path regexes do not fit in one set: {e}"),
            )
        })?;

        let (scenarios, bindings) = Scenarios::build(routes.iter().map(|r| r.scenario.as_ref()));
        Ok(CompiledService {
            key: Arc::from(format!("{}/{}", info.team, info.slug)),
            info,
            routes,
            index,
            regexes,
            regex_routes,
            scan_routes,
            scenarios,
            bindings,
            metrics: Arc::default(),
        })
    }

    /// The service's scenarios and their current states.
    pub fn scenarios(&self) -> &Scenarios {
        &self.scenarios
    }

    /// Takes over the scenario states of the same service before a change (shared where
    /// the states are unchanged), or copies them (`share` false: a preview must not move
    /// the served states).
    pub fn carry_scenarios(&mut self, previous: &CompiledService, share: bool) {
        self.scenarios
            .carry(&previous.scenarios, &mut self.bindings, share);
    }

    /// Takes route `i`'s scenario step, if it has one.
    fn enter(&self, i: usize) -> bool {
        self.bindings[i].as_ref().is_none_or(Binding::enter)
    }

    /// Routes in match order.
    pub fn routes(&self) -> &[Arc<CompiledRoute>] {
        &self.routes
    }

    fn candidates(&self, req: &Request<'_>) -> Vec<u32> {
        let mut out = Vec::with_capacity(8);
        self.index.collect(req.segments(), &mut out);
        self.regexes.collect(req.path, &mut out);
        out.extend_from_slice(&self.scan_routes);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Finds the route that answers `req`, or explains why none does, spending from the
    /// request's budget. A route is used (its `times` counted) only when every condition
    /// held within the budget.
    pub fn find<'t>(&'t self, req: &Request<'_>) -> Outcome<'t> {
        let budget = req.budget();
        let candidates = self.candidates(req);
        for &i in &candidates {
            let route = &self.routes[i as usize];
            if route.fallback {
                continue;
            }
            let holds = route.request.matches_beyond_path(req, budget)
                && path_check(route, req)
                && route.request.path_values_hold(req, budget);
            // Checked before anything is claimed: a condition cut short (under `not`, say)
            // may have answered true.
            if let Some(why) = budget.exhausted() {
                return Outcome::OverBudget {
                    route: route.id.clone(),
                    why,
                };
            }
            if holds && self.enter(i as usize) {
                if !route.claim() {
                    if let Some(b) = &self.bindings[i as usize] {
                        b.undo();
                    }
                    continue;
                }
                let path_values = route
                    .request
                    .path
                    .captures(req.segments(), req.path)
                    .unwrap_or_default();
                return Outcome::Matched(Match { route, path_values });
            }
        }
        Outcome::Unmatched(self.near_misses(req, candidates))
    }

    /// The fallback route that answers `req` when the upstream failed, in match order.
    pub fn find_fallback<'t>(&'t self, req: &Request<'_>) -> Option<Match<'t>> {
        let budget = req.budget();
        self.routes.iter().filter(|r| r.fallback).find_map(|route| {
            // Not found through the path index: the whole path is checked here.
            let holds = route.request.path.matches(req.segments(), req.path)
                && route.request.matches_beyond_path(req, budget)
                && route.request.path_values_hold(req, budget);
            (holds && route.claim()).then(|| Match {
                route,
                path_values: route
                    .request
                    .path
                    .captures(req.segments(), req.path)
                    .unwrap_or_default(),
            })
        })
    }

    /// The routes closest to matching, on a budget of their own: running out shortens
    /// the report, it never fails the request.
    fn near_misses(&self, req: &Request<'_>, mut candidates: Vec<u32>) -> Vec<NearMiss> {
        let budget = Budget::new(NEAR_MISS_FUEL.min(req.budget().remaining()));
        // Routes whose path matched come first; when there are few, routes whose pattern
        // or regex shares the longest prefix with the request are the next closest.
        if candidates.len() < NEAR_MISS_LIMIT {
            let mut closest = Vec::new();
            self.index
                .closest(req.segments(), NEAR_MISS_LIMIT, &mut closest);
            candidates.extend(closest);
            candidates.extend(self.closest_regexes(req.path, &budget));
            candidates.sort_unstable();
            candidates.dedup();
        }
        // Closest first: fewest failed conditions, then most conditions that held.
        let mut scored: Vec<(usize, std::cmp::Reverse<usize>, NearMiss)> = Vec::new();
        for &i in &candidates {
            if budget.is_exhausted() {
                break;
            }
            let route = &self.routes[i as usize];
            if route.fallback {
                continue;
            }
            let mut failed = route.request.failures(req, &budget);
            let held = route.request.condition_count().saturating_sub(failed.len());
            let scenario = self.bindings[i as usize]
                .as_ref()
                .and_then(Binding::mismatch);
            if let Some(why) = scenario.filter(|_| failed.is_empty()) {
                failed.push(why);
            } else if failed.is_empty() && route.expired() {
                failed.push("expired".to_string());
            } else if failed.is_empty() && route.exhausted() {
                failed.push(format!(
                    "already served its {} time(s)",
                    route.times.unwrap_or_default()
                ));
            }
            scored.push((
                failed.len(),
                std::cmp::Reverse(held),
                NearMiss {
                    route_id: route.id.to_string(),
                    route_name: route.name.clone(),
                    failed,
                },
            ));
        }
        scored.sort_by_key(|(f, h, _)| (*f, *h));
        scored
            .into_iter()
            .take(NEAR_MISS_LIMIT)
            .map(|(_, _, m)| m)
            .collect()
    }

    /// Regex routes whose required literal prefix shares the most characters with `path`.
    fn closest_regexes(&self, path: &str, budget: &Budget) -> Vec<u32> {
        let folded: String = path.chars().map(path::fold).collect();
        let mut ranked: Vec<(usize, u32)> = self
            .regex_routes
            .iter()
            .filter(|_| budget.spend(1))
            .filter_map(|&i| {
                let CompiledPath::Regex(r) = &self.routes[i as usize].request.path else {
                    return None;
                };
                let prefix = path::required_prefix(r.user())?;
                let shared = prefix
                    .bytes()
                    .zip(folded.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                (shared > 1).then_some((shared, i))
            })
            .collect();
        ranked.sort_by_key(|(shared, i)| (std::cmp::Reverse(*shared), *i));
        ranked
            .into_iter()
            .take(NEAR_MISS_LIMIT)
            .map(|(_, i)| i)
            .collect()
    }
}

/// Candidates from the trie already match their pattern; regex and `not` paths are checked.
fn path_check(route: &CompiledRoute, req: &Request<'_>) -> bool {
    match &route.request.path {
        CompiledPath::Pattern(_) | CompiledPath::Any => true,
        CompiledPath::Regex(_) | CompiledPath::Not(_) => {
            route.request.path.matches(req.segments(), req.path)
        }
    }
}
