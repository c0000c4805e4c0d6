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
mod error;
mod import;
mod publish;
mod restore;
mod validate;

pub use catalog::{
    Catalog, Quarantined, RouteMap, SearchHits, ServiceKey, route_key, service_key, team_key,
};
pub use draft::Draft;
pub use error::AppError;
pub use import::ImportOutcome;
pub use restore::{RestorePlan, RestorePoint, RestoreStep};
pub use validate::{MAX_NESTING, not_expired, route_warnings};

use arc_swap::ArcSwap;
use publish::{Compiled, OnCompileError, Prepared};
use standin_journal::Journal;
use standin_matcher::RouteTable;
use standin_model::ChangeEvent;
use standin_store::{Batch, EventFilter, Store};
use std::collections::HashMap;
use std::sync::Arc;

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
    /// Serializes writers and holds the compiled forms kept between changes. The data
    /// plane never sees it.
    writer: Arc<tokio::sync::Mutex<Compiled>>,
    /// Stored definitions that are not served, as of the last load.
    quarantined: ArcSwap<Vec<Quarantined>>,
    metrics: ChangeMetrics,
    published: std::sync::atomic::AtomicBool,
    /// Usage rows a failed write left, sent with the next batch.
    unsent_usage: tokio::sync::Mutex<Vec<standin_store::UsageRow>>,
}

/// How long changes take, for Prometheus.
#[derive(Debug, Default)]
pub struct ChangeMetrics {
    /// Compiling the services a change touched into a new table.
    pub compile_time: standin_matcher::Histogram,
    /// The store's commit (the transaction and its fsync).
    pub commit_time: standin_matcher::Histogram,
    /// Swapping the new catalog and table in.
    pub publish_time: standin_matcher::Histogram,
    /// Commits the store refused or failed.
    pub commit_failures: std::sync::atomic::AtomicU64,
}

impl App {
    /// Loads every stored definition, compiles it and publishes the first table. A
    /// definition that cannot be read or compiled is quarantined (see [`App::quarantined`])
    /// and everything else is served; only an unreadable store is an error.
    pub async fn open(store: Arc<dyn Store>, journal: Journal) -> Result<Self, AppError> {
        let app = App {
            inner: Arc::new(Inner {
                store,
                table: Arc::new(ArcSwap::from_pointee(RouteTable::default())),
                catalog: ArcSwap::from_pointee(Catalog::default()),
                journal,
                writer: Arc::new(tokio::sync::Mutex::new(Compiled::default())),
                quarantined: ArcSwap::from_pointee(Vec::new()),
                metrics: ChangeMetrics::default(),
                published: std::sync::atomic::AtomicBool::new(false),
                unsent_usage: tokio::sync::Mutex::new(Vec::new()),
            }),
        };
        let mut cache = app.inner.writer.lock().await;
        app.reload(&mut cache).await?;
        drop(cache);
        app.inner
            .published
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(app)
    }

    /// Hands the journal's usage counts since the last call to the store, in one batch.
    /// On failure they are kept and added to the next batch.
    pub async fn persist_usage(&self) -> Result<usize, AppError> {
        // Held across the write: a reader waits for it rather than miss the batch.
        let mut unsent = self.inner.unsent_usage.lock().await;
        let rows: Vec<standin_store::UsageRow> = self
            .inner
            .journal
            .take_usage()
            .into_iter()
            .filter_map(|d| {
                let (team, service) = d.service.split_once('/')?;
                Some(standin_store::UsageRow {
                    day: d.day,
                    team: team.to_string(),
                    service: service.to_string(),
                    calls: d.calls,
                    last_used: d.last_used,
                })
            })
            .collect();
        let mut batch = std::mem::take(&mut *unsent);
        batch.extend(rows);
        let n = batch.len();
        if let Err(e) = self.inner.store.add_usage(batch.clone()).await {
            *unsent = batch;
            return Err(e.into());
        }
        Ok(n)
    }

    /// Stored usage from `since_day` on (and what is not stored yet), for one team or all.
    pub async fn usage_rows(
        &self,
        team: Option<&str>,
        since_day: &str,
    ) -> Result<Vec<standin_store::UsageRow>, AppError> {
        // Taken first: a batch being written is in the store once this is held.
        let unsent = self.inner.unsent_usage.lock().await;
        let mut rows = self
            .inner
            .store
            .usage(team.map(str::to_string), since_day.to_string())
            .await?;
        // Held until the journal's pending counts are read too, so no batch is in flight.
        let waiting = unsent.clone();
        let pending = self
            .inner
            .journal
            .pending_usage()
            .into_iter()
            .filter_map(|d| {
                let (t, s) = d.service.split_once('/')?;
                Some(standin_store::UsageRow {
                    day: d.day,
                    team: t.to_string(),
                    service: s.to_string(),
                    calls: d.calls,
                    last_used: d.last_used,
                })
            });
        let pending: Vec<_> = pending.collect();
        drop(unsent);
        for p in waiting.into_iter().chain(pending) {
            if team.is_some_and(|t| t != p.team) || p.day.as_str() < since_day {
                continue;
            }
            match rows
                .iter_mut()
                .find(|r| r.day == p.day && r.team == p.team && r.service == p.service)
            {
                Some(r) => {
                    r.calls += p.calls;
                    r.last_used = r.last_used.clone().max(p.last_used);
                }
                None => rows.push(p),
            }
        }
        rows.sort_by(|a, b| (&a.day, &a.team, &a.service).cmp(&(&b.day, &b.team, &b.service)));
        Ok(rows)
    }

    /// Whether a table has been published (true once [`App::open`] returned).
    pub fn is_published(&self) -> bool {
        self.inner
            .published
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// How long changes took.
    pub fn change_metrics(&self) -> &ChangeMetrics {
        &self.inner.metrics
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

    /// A table serving one service alone, with `draft` in place of (or beside) its saved
    /// routes: "try it" before saving. Nothing is stored or published.
    pub fn preview(
        &self,
        key: &ServiceKey,
        draft: Option<standin_model::Route>,
    ) -> Result<RouteTable, AppError> {
        let table = self.inner.table.load();
        let published = table
            .services()
            .iter()
            .find(|s| s.info.team == key.team && s.info.slug == key.service);
        publish::preview_table(&self.catalog(), published.map(|s| &**s), key, draft)
    }

    /// Stored definitions that are not served, and why.
    pub fn quarantined(&self) -> Arc<Vec<Quarantined>> {
        self.inner.quarantined.load_full()
    }

    /// Reads the change log, newest first.
    pub async fn history(&self, filter: EventFilter) -> Result<Vec<ChangeEvent>, AppError> {
        Ok(self.inner.store.events(filter).await?)
    }

    /// Waits until no change is in flight.
    pub async fn settled(&self) {
        drop(self.inner.writer.lock().await);
    }

    /// Applies `op` to a draft of the catalog and, if it succeeds and everything it changed
    /// compiles, commits and publishes the result. Returns `op`'s value and the events.
    ///
    /// Until the commit starts, dropping the returned future abandons the change. From
    /// then on the change runs in a task of its own: a caller that goes away (a client
    /// that disconnects) cannot stop it between the commit and the publish, so memory
    /// never disagrees with the store.
    pub async fn change<T>(
        &self,
        actor: &str,
        op: impl FnOnce(&mut Draft) -> Result<T, AppError>,
    ) -> Result<(T, Vec<ChangeEvent>), AppError> {
        let mut cache = self.inner.writer.clone().lock_owned().await;
        let mut draft = Draft::new((*self.catalog()).clone(), actor);
        let value = op(&mut draft)?;
        let drafted = draft.finish();
        if drafted.changes.is_empty() {
            return Ok((value, Vec::new()));
        }
        let compiling = std::time::Instant::now();
        let prepared = publish::prepare(
            &cache,
            drafted.catalog,
            drafted.touched,
            &drafted.pointers,
            OnCompileError::Refuse,
        )?;
        self.inner.metrics.compile_time.observe(compiling.elapsed());
        let batch = Batch {
            actor: actor.to_string(),
            at: now(),
            id: uuid::Uuid::now_v7().to_string(),
            changes: drafted.changes,
        };
        let app = self.clone();
        let unit = tokio::spawn(async move {
            let result = app.commit_and_publish(&mut cache, batch, prepared).await;
            drop(cache);
            result
        });
        match unit.await {
            Ok(result) => result.map(|events| (value, events)),
            Err(e) => {
                // The unit panicked or its runtime is stopping. Whatever it did, memory
                // is made to agree with the store again.
                tracing::error!(error = %e, "a change did not finish; reloading the definitions");
                let mut cache = self.inner.writer.lock().await;
                self.reload_or_keep(&mut cache).await;
                Err(AppError::Internal(format!(
                    "the change did not finish: {e}"
                )))
            }
        }
    }

    async fn commit_and_publish(
        &self,
        cache: &mut Compiled,
        batch: Batch,
        prepared: Prepared,
    ) -> Result<Vec<ChangeEvent>, AppError> {
        let written: Vec<(String, String)> = batch
            .changes
            .iter()
            .map(|c| (entity_word(c.entity).to_string(), c.key.clone()))
            .collect();
        let committing = std::time::Instant::now();
        let committed = self.inner.store.commit(batch).await;
        let m = &self.inner.metrics;
        m.commit_time.observe(committing.elapsed());
        match committed {
            Ok(events) => {
                let publishing = std::time::Instant::now();
                publish::publish(cache, &self.inner.catalog, &self.inner.table, prepared);
                m.publish_time.observe(publishing.elapsed());
                self.unquarantine(&written);
                Ok(events)
            }
            Err(e) => {
                // A failed commit may still have reached the disk (an fsync that failed
                // after the write, say): what the store holds is the truth.
                tracing::error!(error = %e, "a commit failed; reloading the definitions from the store");
                m.commit_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.reload_or_keep(cache).await;
                Err(AppError::Store(e))
            }
        }
    }

    async fn reload_or_keep(&self, cache: &mut Compiled) {
        if let Err(e) = self.reload(cache).await {
            tracing::error!(error = %e, "reloading from the store failed; serving the definitions from before the change");
        }
    }

    /// Reads every definition from the store and publishes it, reusing compiled routes
    /// whose revision did not change.
    async fn reload(&self, cache: &mut Compiled) -> Result<(), AppError> {
        let snapshot = self.inner.store.load().await?;
        let (catalog, mut quarantined) = Catalog::from_documents(snapshot.documents);
        quarantined.extend(snapshot.unreadable.into_iter().map(|u| Quarantined {
            entity: u.entity,
            key: u.key,
            reason: format!("unreadable: {}", u.error),
        }));
        let mut keys: Vec<ServiceKey> = catalog.services.keys().cloned().collect();
        keys.extend(cache.service_keys());
        keys.sort();
        keys.dedup();
        let mut prepared = publish::prepare(
            cache,
            catalog,
            keys,
            &HashMap::new(),
            OnCompileError::Quarantine,
        )?;
        quarantined.append(&mut prepared.quarantined);
        for q in &quarantined {
            tracing::error!(entity = %q.entity, key = %q.key, reason = %q.reason, "a stored definition is quarantined: it is kept in the store but not served");
        }
        tracing::info!(
            teams = prepared.catalog.teams.len(),
            services = prepared.catalog.services.len(),
            routes = prepared.catalog.route_count(),
            quarantined = quarantined.len(),
            last_event = snapshot.last_seq,
            "loaded definitions"
        );
        publish::publish(cache, &self.inner.catalog, &self.inner.table, prepared);
        self.inner.quarantined.store(Arc::new(quarantined));
        Ok(())
    }

    /// A change that wrote a quarantined key replaced the bad document.
    fn unquarantine(&self, written: &[(String, String)]) {
        let current = self.inner.quarantined.load();
        if current.is_empty() {
            return;
        }
        let kept: Vec<Quarantined> = current
            .iter()
            .filter(|q| !written.iter().any(|(e, k)| *e == q.entity && *k == q.key))
            .cloned()
            .collect();
        self.inner.quarantined.store(Arc::new(kept));
    }
}

fn entity_word(e: standin_model::EntityKind) -> &'static str {
    match e {
        standin_model::EntityKind::Team => "team",
        standin_model::EntityKind::Service => "service",
        standin_model::EntityKind::Route => "route",
    }
}

/// The current time as RFC 3339.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}
