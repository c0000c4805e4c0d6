//! Point-in-time restore: the documents under a key (one route, one service, one team, or
//! everything) as they were at an event or a time, rebuilt from the events alone and
//! applied as one new recorded change, so a restore can itself be undone.

use crate::catalog::ServiceKey;
use crate::{App, AppError, Draft};
use serde::Serialize;
use standin_model::{ChangeEvent, EntityKind, RouteRecord, ServiceRecord, TeamRecord};
use standin_store::EventFilter;
use std::collections::BTreeMap;

/// Where to go back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestorePoint {
    /// Just after this event.
    Seq(u64),
    /// The last event at or before this time.
    Time(jiff::Timestamp),
}

/// One document a restore changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStep {
    /// `team`, `service` or `route`.
    pub entity: String,
    pub key: String,
    /// `create`, `update` or `delete`.
    pub action: String,
}

/// What a restore did, or would do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestorePlan {
    pub key: String,
    /// The last event the restored state includes.
    pub to_seq: u64,
    /// When that event happened.
    pub to_time: String,
    pub steps: Vec<RestoreStep>,
    /// The change's id (absent for a dry run or when nothing changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    pub dry_run: bool,
}

fn word(e: EntityKind) -> &'static str {
    match e {
        EntityKind::Team => "team",
        EntityKind::Service => "service",
        EntityKind::Route => "route",
    }
}

/// A document's content, without its bookkeeping: what a restore compares and writes.
#[derive(Debug, Clone, PartialEq)]
enum Doc {
    Team(TeamRecord),
    Service(Box<ServiceRecord>),
    Route(Box<RouteRecord>),
}

impl Doc {
    fn read(entity: EntityKind, v: &serde_json::Value) -> Result<Doc, String> {
        let v = v.clone();
        match entity {
            EntityKind::Team => serde_json::from_value(v).map(Doc::Team),
            EntityKind::Service => serde_json::from_value(v).map(|s| Doc::Service(Box::new(s))),
            EntityKind::Route => serde_json::from_value(v).map(|r| Doc::Route(Box::new(r))),
        }
        .map_err(|e| e.to_string())
    }

    fn same_content(&self, other: &Doc) -> bool {
        match (self, other) {
            (Doc::Team(a), Doc::Team(b)) => a.team == b.team,
            (Doc::Service(a), Doc::Service(b)) => a.team == b.team && a.service == b.service,
            (Doc::Route(a), Doc::Route(b)) => {
                a.team == b.team && a.service == b.service && a.route == b.route
            }
            _ => false,
        }
    }
}

/// Entity order for writing: teams before their services before their routes.
fn rank(e: EntityKind) -> u8 {
    match e {
        EntityKind::Team => 0,
        EntityKind::Service => 1,
        EntityKind::Route => 2,
    }
}

impl App {
    /// Every event under `key` (all when empty), oldest first.
    async fn events_under(&self, key: &str) -> Result<Vec<ChangeEvent>, AppError> {
        let mut all = Vec::new();
        let mut before = None;
        loop {
            let page = self
                .history(EventFilter {
                    key_prefix: (!key.is_empty()).then(|| key.to_string()),
                    before_seq: before,
                    limit: 10_000,
                    ..Default::default()
                })
                .await?;
            let last = page.last().map(|e| e.seq);
            let n = page.len();
            all.extend(page);
            match last {
                Some(seq) if n == 10_000 => before = Some(seq),
                _ => break,
            }
        }
        all.reverse();
        Ok(all)
    }

    /// Restores the documents under `key` (`team`, `team/service`, `team/service/route`,
    /// or empty for everything) to how they were at `at`, as one change by `actor`; with
    /// `dry_run`, only says what would change.
    pub async fn restore(
        &self,
        actor: &str,
        key: &str,
        at: RestorePoint,
        dry_run: bool,
    ) -> Result<RestorePlan, AppError> {
        let key = key.trim_matches('/');
        let events = self.events_under(key).await?;
        let Some(first) = events.first() else {
            return Err(AppError::NotFound(if key.is_empty() {
                "nothing has been recorded yet: there is nothing to restore".into()
            } else {
                format!("no change was ever recorded under \"{key}\"")
            }));
        };
        let parsed_at = |e: &ChangeEvent| e.at.parse::<jiff::Timestamp>().ok();
        let included = |e: &ChangeEvent| match &at {
            RestorePoint::Seq(s) => e.seq <= *s,
            RestorePoint::Time(t) => parsed_at(e).is_some_and(|a| a <= *t),
        };
        let Some(last) = events.iter().rev().find(|e| included(e)) else {
            let what = match &at {
                RestorePoint::Seq(s) => format!("event {s}"),
                RestorePoint::Time(t) => t.to_string(),
            };
            return Err(AppError::invalid(
                "/at",
                format!(
                    "{what} is before the first change under \"{}\" (event {} at {}): there is no state to go back to",
                    if key.is_empty() { "*" } else { key },
                    first.seq,
                    first.at
                ),
            ));
        };
        let (to_seq, to_time) = (last.seq, last.at.clone());
        // The state at the point: each document's newest event up to it.
        let mut then: BTreeMap<(u8, String), (EntityKind, Option<serde_json::Value>)> =
            BTreeMap::new();
        for e in &events {
            let slot = then
                .entry((rank(e.entity), e.key.clone()))
                .or_insert((e.entity, None));
            if e.seq <= to_seq {
                slot.1 = e.after.clone();
            }
        }
        let catalog = self.catalog();
        let now_doc = |entity: EntityKind, k: &str| -> Option<Doc> {
            match entity {
                EntityKind::Team => catalog.teams.get(k).map(|t| Doc::Team((**t).clone())),
                EntityKind::Service => ServiceKey::parse(k)
                    .and_then(|sk| catalog.services.get(&sk))
                    .map(|s| Doc::Service(Box::new((**s).clone()))),
                EntityKind::Route => {
                    let mut parts = k.splitn(3, '/');
                    let (t, s, id) = (parts.next()?, parts.next()?, parts.next()?);
                    catalog
                        .routes_of(&ServiceKey::new(t, s))
                        .and_then(|m| m.get(id))
                        .map(|r| Doc::Route(Box::new((**r).clone())))
                }
            }
        };
        let mut writes = Vec::new();
        let mut deletes = Vec::new();
        let mut steps = Vec::new();
        for ((_, k), (entity, doc)) in &then {
            let target = doc
                .as_ref()
                .map(|v| Doc::read(*entity, v))
                .transpose()
                .map_err(|e| {
                    AppError::Internal(format!(
                        "the recorded {} {k} is unreadable: {e}",
                        word(*entity)
                    ))
                })?;
            let current = now_doc(*entity, k);
            let action = match (&current, &target) {
                (None, None) => continue,
                (Some(c), Some(t)) if c.same_content(t) => continue,
                (None, Some(_)) => "create",
                (Some(_), Some(_)) => "update",
                (Some(_), None) => "delete",
            };
            steps.push(RestoreStep {
                entity: word(*entity).into(),
                key: k.clone(),
                action: action.into(),
            });
            match target {
                Some(t) => writes.push((t, current.is_some())),
                None => deletes.push(current.expect("a delete has a current document")),
            }
        }
        let mut plan = RestorePlan {
            key: key.to_string(),
            to_seq,
            to_time,
            steps,
            change: None,
            dry_run,
        };
        if dry_run || plan.steps.is_empty() {
            return Ok(plan);
        }
        // Deletes run routes first, then services, then teams.
        deletes.reverse();
        let (_, events) = self
            .change(actor, move |d: &mut Draft| {
                for (doc, exists) in writes {
                    apply(d, doc, exists)?;
                }
                for doc in deletes {
                    match doc {
                        Doc::Route(r) => d.delete_route(&r.team, &r.service, &r.route.id)?,
                        Doc::Service(s) => {
                            // Its routes were restored away above, or go with it.
                            if d.catalog()
                                .services
                                .contains_key(&ServiceKey::new(&s.team, &s.service.slug))
                            {
                                d.delete_service(&s.team, &s.service.slug)?
                            }
                        }
                        Doc::Team(t) => {
                            if d.catalog().teams.contains_key(&t.team.slug) {
                                d.delete_team(&t.team.slug, true)?
                            }
                        }
                    }
                }
                Ok(())
            })
            .await?;
        plan.change = events.first().map(|e| e.batch.clone());
        Ok(plan)
    }
}

fn apply(d: &mut Draft, doc: Doc, exists: bool) -> Result<(), AppError> {
    match (doc, exists) {
        (Doc::Team(t), false) => d.create_team(t.team).map(drop),
        (Doc::Team(t), true) => {
            let slug = t.team.slug.clone();
            d.update_team(&slug, t.team).map(drop)
        }
        (Doc::Service(s), false) => {
            let s = *s;
            d.create_service(&s.team, s.service).map(drop)
        }
        (Doc::Service(s), true) => {
            let s = *s;
            let slug = s.service.slug.clone();
            d.update_service(&s.team, &slug, s.service).map(drop)
        }
        (Doc::Route(r), _) => {
            let r = *r;
            d.put_route(&r.team, &r.service, r.route, "/route")
                .map(drop)
        }
    }
}
