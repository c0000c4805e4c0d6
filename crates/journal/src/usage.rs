//! Who uses what: requests per service and per route, counted by the journal task as it
//! stores entries, so the serving path pays nothing for it.
//!
//! Counts live in memory since the process started. "Today" is the UTC calendar day of the
//! newest entry counted; the first entry of a new day starts the daily counts again.

use crate::{JournalEntry, UNRESOLVED, rfc3339_millis};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

/// What the journal task keeps.
#[derive(Debug)]
pub(crate) struct Usage {
    since: SystemTime,
    /// The UTC day `today` counts, in days since the Unix epoch (a number, so counting
    /// an entry formats nothing).
    day: u64,
    today: u64,
    services: HashMap<Arc<str>, ServiceUsage>,
    /// Calls per (day, service) not yet handed to the store ([`Usage::take_pending`]).
    pending: HashMap<(u64, Arc<str>), (u64, SystemTime)>,
}

/// Calls to one service on one UTC day, counted since the last hand-over to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// `team/service`.
    pub service: String,
    pub calls: u64,
    /// RFC 3339.
    pub last_used: String,
}

#[derive(Debug, Default)]
struct ServiceUsage {
    requests: u64,
    today: u64,
    last_at: Option<SystemTime>,
    routes: HashMap<Arc<str>, RouteUsage>,
}

#[derive(Debug, Default)]
struct RouteUsage {
    hits: u64,
    last_at: Option<SystemTime>,
}

fn utc_day(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

fn day_text(day: u64) -> String {
    jiff::Timestamp::from_second((day * 86_400) as i64)
        .map(|ts| ts.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

impl Usage {
    pub(crate) fn new() -> Self {
        let now = SystemTime::now();
        Usage {
            since: now,
            day: utc_day(now),
            today: 0,
            services: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Counts one stored entry.
    pub(crate) fn count(&mut self, e: &JournalEntry) {
        let day = utc_day(e.at);
        if day > self.day {
            self.day = day;
            self.today = 0;
            for s in self.services.values_mut() {
                s.today = 0;
            }
        }
        self.today += 1;
        if &*e.service == UNRESOLVED {
            return;
        }
        let p = self
            .pending
            .entry((day, e.service.clone()))
            .or_insert((0, e.at));
        p.0 += 1;
        p.1 = p.1.max(e.at);
        let s = self.services.entry(e.service.clone()).or_default();
        s.requests += 1;
        s.today += 1;
        s.last_at = s.last_at.max(Some(e.at));
        if let Some(route) = &e.matched_route {
            let r = s.routes.entry(route.clone()).or_default();
            r.hits += 1;
            r.last_at = r.last_at.max(Some(e.at));
        }
    }

    /// The calls counted since the last take, emptied (`take`) or left in place.
    pub(crate) fn pending(&mut self, take: bool) -> Vec<UsageDelta> {
        let rows = self
            .pending
            .iter()
            .map(|((day, service), (calls, last))| UsageDelta {
                day: day_text(*day),
                service: service.to_string(),
                calls: *calls,
                last_used: rfc3339_millis(*last),
            })
            .collect();
        if take {
            self.pending.clear();
        }
        rows
    }

    /// The counts as the API shows them, for one service or all.
    pub(crate) fn view(&self, service: Option<&str>) -> UsageView {
        let mut services: Vec<ServiceUsageView> = self
            .services
            .iter()
            .filter(|(k, _)| service.is_none_or(|s| s == &***k))
            .map(|(k, s)| {
                let mut routes: Vec<RouteUsageView> = s
                    .routes
                    .iter()
                    .map(|(id, r)| RouteUsageView {
                        route: id.to_string(),
                        hits: r.hits,
                        last_at: r.last_at.map(rfc3339_millis),
                    })
                    .collect();
                routes.sort_by(|a, b| a.route.cmp(&b.route));
                ServiceUsageView {
                    service: k.to_string(),
                    requests: s.requests,
                    today: s.today,
                    last_at: s.last_at.map(rfc3339_millis),
                    routes,
                }
            })
            .collect();
        services.sort_by(|a, b| a.service.cmp(&b.service));
        UsageView {
            since: rfc3339_millis(self.since),
            today: Today {
                date: day_text(self.day),
                requests: self.today,
            },
            services,
        }
    }
}

/// Requests counted since the server started (`GET /api/v1/usage`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    /// When counting started (RFC 3339).
    pub since: String,
    pub today: Today,
    /// Services that were called, by key.
    pub services: Vec<ServiceUsageView>,
}

/// Every request of the current UTC day, services or not.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Today {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub requests: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceUsageView {
    /// `team/service`.
    pub service: String,
    pub requests: u64,
    /// Requests on the current UTC day.
    pub today: u64,
    /// The last request (RFC 3339).
    pub last_at: Option<String>,
    /// Routes that answered, with how often and when last.
    pub routes: Vec<RouteUsageView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteUsageView {
    pub route: String,
    pub hits: u64,
    pub last_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(service: &str, route: Option<&str>, at: SystemTime) -> JournalEntry {
        let mut e = JournalEntry::example(service, 200);
        e.matched_route = route.map(Arc::from);
        e.at = at;
        e
    }

    #[test]
    fn counts_services_routes_and_the_day() {
        let mut u = Usage::new();
        let t0 = SystemTime::now();
        u.count(&entry("a/b", Some("r1"), t0));
        u.count(&entry("a/b", Some("r1"), t0 + Duration::from_secs(1)));
        u.count(&entry("a/b", None, t0));
        u.count(&entry(UNRESOLVED, None, t0));
        let v = u.view(None);
        assert_eq!(v.today.requests, 4, "unresolved requests count for the day");
        assert_eq!(v.services.len(), 1);
        let s = &v.services[0];
        assert_eq!((s.requests, s.today), (3, 3));
        assert_eq!(s.routes.len(), 1);
        assert_eq!(s.routes[0].hits, 2);
        assert_eq!(
            s.routes[0].last_at.as_deref(),
            Some(rfc3339_millis(t0 + Duration::from_secs(1)).as_str()),
            "the newest time wins"
        );
        assert!(u.view(Some("x/y")).services.is_empty());
    }

    #[test]
    fn a_new_day_starts_the_daily_counts_again() {
        let mut u = Usage::new();
        let now = SystemTime::now();
        u.count(&entry("a/b", None, now));
        u.count(&entry("a/b", None, now + Duration::from_secs(86_400)));
        let v = u.view(None);
        assert_eq!(v.today.requests, 1);
        assert_eq!(v.services[0].today, 1);
        assert_eq!(v.services[0].requests, 2, "the total keeps counting");
        assert_eq!(
            v.today.date,
            day_text(utc_day(now + Duration::from_secs(86_400)))
        );
        assert_eq!(day_text(20_422), "2025-11-30");
    }
}
