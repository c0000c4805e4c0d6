//! The request journal: what each service was asked and how it answered.
//!
//! The serving path hands each entry to [`JournalWriter::record`], which never waits: it
//! tries a bounded channel and, when the channel is full, drops the entry and counts the
//! drop. One task drains the channel into a ring per service; a ring holds at most
//! `capacity_per_service` entries and evicts (and counts) the oldest. Queries read the rings
//! under a read lock that the serving path never takes.
//!
//! ```
//! # tokio_test_free::run(async {
//! use standin_journal::{Journal, JournalConfig, Query};
//! let journal = Journal::start(JournalConfig { capacity_per_service: 2, ..JournalConfig::default() });
//! for status in [200, 201, 202] {
//!     journal.writer().record(standin_journal::JournalEntry::example("t/s", status));
//! }
//! journal.flush().await;
//! let found = journal.query(&Query { service: Some("t/s".into()), ..Query::default() });
//! assert_eq!(found.iter().map(|e| e.status).collect::<Vec<_>>(), [202, 201]);
//! assert_eq!(journal.stats().evicted, 1);
//! # });
//! # mod tokio_test_free { pub fn run<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f) } }
//! ```

use bytes::Bytes;
use http::HeaderMap;
use parking_lot::RwLock;
use serde::Serialize;
use standin_matcher::{CompiledRequestMatcher, NearMiss, Request};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;
use tokio::sync::{broadcast, mpsc, oneshot};

mod usage;

pub use usage::{RouteUsageView, ServiceUsageView, Today, UsageDelta, UsageView};

/// Entries a live watcher may fall behind by before it is told how many it missed.
pub const LIVE_BACKLOG: usize = 1024;

/// Fuel for checking one journal entry against a matcher (about 25 ms of work).
pub const VERIFY_FUEL: u64 = 1_000_000;

/// The key of requests that reached no service.
pub const UNRESOLVED: &str = "";

#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// Entries kept per service; 0 turns the journal off.
    pub capacity_per_service: usize,
    /// Request body bytes kept per entry; the rest is cut and `bodyTruncated` set.
    pub max_body_bytes: usize,
    /// Entries in flight between the serving path and the journal task.
    pub channel_capacity: usize,
    /// The sequence number of the first entry. standin starts from a number derived from
    /// the time ([`seq_from_clock`]) so that numbers keep growing across restarts and an
    /// `after=SEQ` poller never misses entries.
    pub first_seq: u64,
    /// Log one line per stored entry (target `standin::access`), from the journal task.
    pub access_log: bool,
}

/// A first sequence number that exceeds any number an earlier run gave out, unless that
/// run recorded more than a thousand entries per millisecond on average: the current Unix
/// time in milliseconds, times a thousand (about 1.8e15, exact in JSON numbers).
pub fn seq_from_clock() -> u64 {
    let ms = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    ms.saturating_mul(1000).max(1)
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            capacity_per_service: 1000,
            max_body_bytes: 64 * 1024,
            channel_capacity: 16 * 1024,
            first_seq: 1,
            access_log: false,
        }
    }
}

/// One request and its outcome.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    /// Assigned when the entry is stored; increasing across all services.
    pub seq: u64,
    pub at: SystemTime,
    /// `team/service`, or [`UNRESOLVED`].
    pub service: Arc<str>,
    pub protocol: &'static str,
    pub method: String,
    /// The full path as received.
    pub path: String,
    /// The path relative to the service's base path.
    pub relative_path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub body_size: usize,
    pub matched_route: Option<Arc<str>>,
    pub near_misses: Vec<NearMiss>,
    pub status: u16,
    /// The response's headers, and its body up to `max_body_bytes`.
    pub response_headers: HeaderMap,
    pub response_body: Bytes,
    pub response_body_size: usize,
    /// The code of standin's own failure when the response was one (`budget_exceeded`,
    /// `internal_error`, ...); configured faults are not errors.
    pub error: Option<&'static str>,
    pub latency_us: u64,
    /// The response came from a real server (a forwarding route or the service's
    /// upstream): MockServer lists such exchanges as recorded expectations.
    pub forwarded: bool,
}

impl JournalEntry {
    /// A minimal entry, for examples and tests.
    pub fn example(service: &str, status: u16) -> Self {
        JournalEntry {
            seq: 0,
            at: SystemTime::now(),
            service: Arc::from(service),
            protocol: "http",
            method: "GET".into(),
            path: "/".into(),
            relative_path: "/".into(),
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            body_size: 0,
            matched_route: None,
            near_misses: Vec::new(),
            status,
            response_headers: HeaderMap::new(),
            response_body: Bytes::new(),
            response_body_size: 0,
            error: None,
            latency_us: 0,
            forwarded: false,
        }
    }

    /// The entry as a matcher input: verification runs route matchers over the journal.
    /// Each entry gets [`VERIFY_FUEL`], so a verification over a full journal with a
    /// costly condition cannot hold the control plane for long.
    pub fn as_request(&self) -> Request<'_> {
        Request::new(
            &self.method,
            &self.relative_path,
            self.query.as_deref(),
            &self.headers,
            &self.body,
        )
        .with_budget(standin_matcher::Budget::new(VERIFY_FUEL))
    }
}

/// The JSON shape of an entry in the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryView {
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub service: Option<String>,
    pub protocol: String,
    pub request: RequestView,
    pub matched_route: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub near_misses: Vec<NearMiss>,
    pub status: u16,
    pub response: ResponseView,
    /// The code of standin's own failure, when the response was one.
    pub error: Option<String>,
    pub latency_us: u64,
}

/// The response as the journal kept it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseView {
    pub status: u16,
    /// Header name (lowercase) → values.
    pub headers: std::collections::BTreeMap<String, Vec<String>>,
    /// The body as UTF-8 text; `bodyBase64` instead when it is not text.
    pub body: Option<String>,
    pub body_base64: Option<String>,
    pub body_size: usize,
    pub body_truncated: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    pub method: String,
    pub path: String,
    pub relative_path: String,
    pub query: Option<String>,
    /// Header name (lowercase) → values.
    pub headers: std::collections::BTreeMap<String, Vec<String>>,
    /// The body as UTF-8 text; `bodyBase64` instead when it is not text.
    pub body: Option<String>,
    pub body_base64: Option<String>,
    pub body_size: usize,
    pub body_truncated: bool,
}

/// Header name (lowercase) → values.
fn header_view(headers: &HeaderMap) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (k, v) in headers {
        out.entry(k.as_str().to_string())
            .or_default()
            .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    out
}

/// A body as text when it is UTF-8, as base64 otherwise.
fn body_view(body: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(body) {
        _ if body.is_empty() => (None, None),
        Ok(t) => (Some(t.to_string()), None),
        Err(_) => (None, Some(base64_encode(body))),
    }
}

impl From<&JournalEntry> for EntryView {
    fn from(e: &JournalEntry) -> Self {
        let headers = header_view(&e.headers);
        let (body, body_base64) = body_view(&e.body);
        let (response_body, response_body_base64) = body_view(&e.response_body);
        EntryView {
            seq: e.seq,
            at: rfc3339_millis(e.at),
            service: (&*e.service != UNRESOLVED).then(|| e.service.to_string()),
            protocol: e.protocol.to_string(),
            request: RequestView {
                method: e.method.clone(),
                path: e.path.clone(),
                relative_path: e.relative_path.clone(),
                query: e.query.clone(),
                headers,
                body,
                body_base64,
                body_size: e.body_size,
                body_truncated: e.body.len() < e.body_size,
            },
            matched_route: e.matched_route.as_ref().map(|r| r.to_string()),
            near_misses: e.near_misses.clone(),
            status: e.status,
            response: ResponseView {
                status: e.status,
                headers: header_view(&e.response_headers),
                body: response_body,
                body_base64: response_body_base64,
                body_size: e.response_body_size,
                body_truncated: e.response_body.len() < e.response_body_size,
            },
            error: e.error.map(str::to_string),
            latency_us: e.latency_us,
        }
    }
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Formats a time as `2026-11-22T03:04:05.678Z`.
pub fn rfc3339_millis(t: SystemTime) -> String {
    match jiff::Timestamp::try_from(t) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::new(),
    }
}

/// Filters for [`Journal::query`]. Every given filter must hold.
#[derive(Default)]
pub struct Query {
    /// `team/service`; [`UNRESOLVED`] for requests that reached no service.
    pub service: Option<String>,
    pub method: Option<String>,
    /// The relative path contains this text.
    pub path_contains: Option<String>,
    pub status: Option<u16>,
    /// `true`: only matched requests; `false`: only unmatched ones.
    pub matched: Option<bool>,
    pub route: Option<String>,
    /// Only entries with a greater sequence number.
    pub after_seq: Option<u64>,
    /// Conditions the request must satisfy, as a route's request matcher would check them.
    pub matcher: Option<CompiledRequestMatcher>,
    /// Newest first, at most this many (all when `None`).
    pub limit: Option<usize>,
}

impl Query {
    fn accepts(&self, e: &JournalEntry) -> bool {
        self.method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
            && self
                .path_contains
                .as_ref()
                .is_none_or(|p| e.relative_path.contains(p.as_str()))
            && self.status.is_none_or(|s| s == e.status)
            && self.matched.is_none_or(|m| m == e.matched_route.is_some())
            && self
                .route
                .as_ref()
                .is_none_or(|r| e.matched_route.as_deref() == Some(r.as_str()))
            && self.after_seq.is_none_or(|s| e.seq > s)
            && self
                .matcher
                .as_ref()
                .is_none_or(|m| m.matches(&e.as_request()))
    }
}

/// Counters describing what the journal kept and lost.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JournalStats {
    pub recorded: u64,
    /// Entries the serving path could not hand over because the channel was full.
    pub dropped: u64,
    /// Entries pushed out of a full ring by newer ones.
    pub evicted: u64,
    pub retained: u64,
    pub capacity_per_service: u64,
}

type Predicate = Box<dyn Fn(&JournalEntry) -> bool + Send>;

enum Msg {
    Entry(Box<JournalEntry>),
    Flush(oneshot::Sender<()>),
    Clear(Option<String>, oneshot::Sender<()>),
    /// Removes the entries of a service for which the predicate holds.
    ClearWhere(String, Predicate, oneshot::Sender<()>),
}

struct Shared {
    rings: RwLock<HashMap<Arc<str>, VecDeque<Arc<JournalEntry>>>>,
    /// Wakes the journal task at once (for flush and clear); entries never do.
    wake: tokio::sync::Notify,
    recorded: AtomicU64,
    dropped: AtomicU64,
    evicted: AtomicU64,
    config: JournalConfig,
    /// Stored entries for live watchers (`GET /api/v1/journal/stream`); sent only while
    /// someone watches, by the journal task, never by the serving path.
    live: broadcast::Sender<Arc<JournalEntry>>,
    usage: RwLock<usage::Usage>,
}

/// The serving path's handle: cheap to clone, never blocks.
#[derive(Clone)]
pub struct JournalWriter {
    tx: Option<mpsc::Sender<Msg>>,
    shared: Arc<Shared>,
}

impl JournalWriter {
    /// Whether entries are kept at all; the server skips building them when not.
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// The request body bytes an entry keeps.
    pub fn max_body_bytes(&self) -> usize {
        self.shared.config.max_body_bytes
    }

    /// Hands the entry over without waiting; counts it as dropped when the channel is full.
    pub fn record(&self, entry: JournalEntry) {
        if let Some(tx) = &self.tx
            && tx.try_send(Msg::Entry(Box::new(entry))).is_err()
        {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The journal: the writer for the serving path and queries for the control plane.
#[derive(Clone)]
pub struct Journal {
    writer: JournalWriter,
}

impl Journal {
    /// Starts the journal task on the current tokio runtime.
    pub fn start(config: JournalConfig) -> Self {
        let shared = Arc::new(Shared {
            rings: RwLock::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            recorded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            config: config.clone(),
            live: broadcast::channel(LIVE_BACKLOG).0,
            usage: RwLock::new(usage::Usage::new()),
        });
        let tx = (config.capacity_per_service > 0).then(|| {
            let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
            tokio::spawn(drain(rx, shared.clone()));
            tx
        });
        Journal {
            writer: JournalWriter { tx, shared },
        }
    }

    pub fn writer(&self) -> JournalWriter {
        self.writer.clone()
    }

    fn shared(&self) -> &Shared {
        &self.writer.shared
    }

    /// Waits until every entry handed over before this call is stored, so a query right
    /// after a response sees that response's request.
    pub async fn flush(&self) {
        if let Some(tx) = &self.writer.tx {
            let (done, wait) = oneshot::channel();
            if tx.send(Msg::Flush(done)).await.is_ok() {
                self.shared().wake.notify_one();
                let _ = wait.await;
            }
        }
    }

    /// Removes the entries of one service, or of all when `service` is `None`. Entries
    /// handed over before the call are removed too.
    pub async fn clear(&self, service: Option<&str>) {
        if let Some(tx) = &self.writer.tx {
            let (done, wait) = oneshot::channel();
            if tx
                .send(Msg::Clear(service.map(str::to_string), done))
                .await
                .is_ok()
            {
                let _ = wait.await;
            }
        }
    }

    /// Removes the entries of `service` whose request satisfies `matcher`.
    pub async fn clear_matching(&self, service: &str, matcher: CompiledRequestMatcher) {
        self.clear_where(service, move |e| matcher.matches(&e.as_request()))
            .await;
    }

    /// Removes the entries of `service` for which `predicate` holds.
    pub async fn clear_where(
        &self,
        service: &str,
        predicate: impl Fn(&JournalEntry) -> bool + Send + 'static,
    ) {
        if let Some(tx) = &self.writer.tx {
            let (done, wait) = oneshot::channel();
            if tx
                .send(Msg::ClearWhere(
                    service.to_string(),
                    Box::new(predicate),
                    done,
                ))
                .await
                .is_ok()
            {
                self.shared().wake.notify_one();
                let _ = wait.await;
            }
        }
    }

    /// Matching entries, newest first. Call [`Journal::flush`] first to include requests
    /// answered a moment ago.
    pub fn query(&self, q: &Query) -> Vec<Arc<JournalEntry>> {
        let rings = self.shared().rings.read();
        let mut out: Vec<Arc<JournalEntry>> = match &q.service {
            Some(s) => rings
                .get(s.as_str())
                .map(|r| r.iter().filter(|e| q.accepts(e)).cloned().collect())
                .unwrap_or_default(),
            None => rings
                .values()
                .flat_map(|r| r.iter().filter(|e| q.accepts(e)).cloned())
                .collect(),
        };
        drop(rings);
        out.sort_unstable_by_key(|e| std::cmp::Reverse(e.seq));
        if let Some(limit) = q.limit {
            out.truncate(limit);
        }
        out
    }

    /// How many entries satisfy `q` (its `limit` is ignored).
    pub fn count(&self, q: &Query) -> usize {
        let rings = self.shared().rings.read();
        let count = |r: &VecDeque<Arc<JournalEntry>>| r.iter().filter(|e| q.accepts(e)).count();
        match &q.service {
            Some(s) => rings.get(s.as_str()).map(count).unwrap_or(0),
            None => rings.values().map(count).sum(),
        }
    }

    /// Entries as they are stored, from now on. A receiver that falls more than
    /// [`LIVE_BACKLOG`] entries behind gets `Lagged` with the count it missed.
    pub fn watch(&self) -> broadcast::Receiver<Arc<JournalEntry>> {
        self.shared().live.subscribe()
    }

    /// Requests per service and route since the start, for one service or all. Counted
    /// only while the journal is on.
    pub fn usage(&self, service: Option<&str>) -> UsageView {
        self.shared().usage.read().view(service)
    }

    /// Calls per service and day counted since the last take, for the store; emptied.
    pub fn take_usage(&self) -> Vec<UsageDelta> {
        self.shared().usage.write().pending(true)
    }

    /// What [`Journal::take_usage`] would return, left in place.
    pub fn pending_usage(&self) -> Vec<UsageDelta> {
        self.shared().usage.write().pending(false)
    }

    pub fn stats(&self) -> JournalStats {
        let s = self.shared();
        JournalStats {
            recorded: s.recorded.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            evicted: s.evicted.load(Ordering::Relaxed),
            retained: s.rings.read().values().map(|r| r.len() as u64).sum(),
            capacity_per_service: s.config.capacity_per_service as u64,
        }
    }
}

/// How often the journal task collects entries when nobody asks for them sooner.
const DRAIN_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

async fn drain(mut rx: mpsc::Receiver<Msg>, shared: Arc<Shared>) {
    // The task polls with `try_recv` instead of waiting in `recv`: a receiver waiting in
    // `recv` is woken by every send, which under load means a cross-thread wake-up per
    // request on the serving path. Polling on a short tick costs nothing per request;
    // flush and clear wake the task explicitly so they still answer at once.
    let mut tick = tokio::time::interval(DRAIN_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut state = DrainState {
        seq: shared.config.first_seq.saturating_sub(1),
        cap: shared.config.capacity_per_service,
    };
    let mut batch = Vec::with_capacity(256);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shared.wake.notified() => {}
        }
        loop {
            match rx.try_recv() {
                Ok(msg) => {
                    batch.push(msg);
                    if batch.len() == batch.capacity() {
                        state.store(&shared, &mut batch);
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    state.store(&shared, &mut batch);
                    return;
                }
            }
        }
        state.store(&shared, &mut batch);
    }
}

/// One access-log line: what was asked, what answered, how it went.
fn access_line(e: &JournalEntry) {
    tracing::info!(
        target: "standin::access",
        service = %e.service,
        method = %e.method,
        path = %e.path,
        query = e.query.as_deref().unwrap_or(""),
        route = e.matched_route.as_deref().unwrap_or("-"),
        status = e.status,
        error = e.error.unwrap_or("-"),
        latency_us = e.latency_us,
        "request"
    );
}

struct DrainState {
    seq: u64,
    cap: usize,
}

impl DrainState {
    /// Applies a batch of messages under one acquisition of the rings' lock.
    fn store(&mut self, shared: &Shared, batch: &mut Vec<Msg>) {
        if batch.is_empty() {
            return;
        }
        let watched = shared.live.receiver_count() > 0 || shared.config.access_log;
        let mut fresh = Vec::new();
        let mut rings = shared.rings.write();
        let mut usage = shared.usage.write();
        for msg in batch.drain(..) {
            match msg {
                Msg::Entry(mut e) => {
                    self.seq += 1;
                    e.seq = self.seq;
                    let cap = self.cap;
                    let ring = rings
                        .entry(e.service.clone())
                        .or_insert_with(|| VecDeque::with_capacity(cap.min(1024)));
                    if ring.len() >= cap {
                        ring.pop_front();
                        shared.evicted.fetch_add(1, Ordering::Relaxed);
                    }
                    usage.count(&e);
                    let e: Arc<JournalEntry> = Arc::from(e);
                    if watched {
                        fresh.push(e.clone());
                    }
                    ring.push_back(e);
                    shared.recorded.fetch_add(1, Ordering::Relaxed);
                }
                Msg::Flush(done) => {
                    let _ = done.send(());
                }
                Msg::ClearWhere(service, predicate, done) => {
                    if let Some(ring) = rings.get_mut(service.as_str()) {
                        ring.retain(|e| !predicate(e));
                    }
                    let _ = done.send(());
                }
                Msg::Clear(service, done) => {
                    match service {
                        Some(s) => {
                            rings.remove(s.as_str());
                        }
                        None => rings.clear(),
                    }
                    let _ = done.send(());
                }
            }
        }
        drop(usage);
        drop(rings);
        if shared.config.access_log {
            for e in &fresh {
                access_line(e);
            }
        }
        if shared.live.receiver_count() == 0 {
            return;
        }
        for e in fresh {
            // No receivers left (the last watcher went away) is not an error.
            let _ = shared.live.send(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn watchers_see_stored_entries_in_order_and_are_told_what_they_missed() {
        rt().block_on(async {
            let j = Journal::start(JournalConfig::default());
            j.writer().record(JournalEntry::example("a/b", 200));
            j.flush().await;
            let mut live = j.watch();
            for status in [201, 202] {
                j.writer().record(JournalEntry::example("a/b", status));
            }
            j.flush().await;
            let first = live.recv().await.unwrap();
            let second = live.recv().await.unwrap();
            assert_eq!(
                (first.status, second.status),
                (201, 202),
                "only new entries"
            );
            assert!(first.seq < second.seq);
            for _ in 0..LIVE_BACKLOG + 5 {
                j.writer().record(JournalEntry::example("a/b", 200));
            }
            j.flush().await;
            match live.recv().await {
                Err(broadcast::error::RecvError::Lagged(n)) => assert_eq!(n, 5),
                other => panic!("expected a lag report, got {other:?}"),
            }
            assert_eq!(
                j.usage(Some("a/b")).services[0].requests,
                3 + LIVE_BACKLOG as u64 + 5
            );
        });
    }

    #[test]
    fn stays_under_its_cap_and_counts_evictions() {
        rt().block_on(async {
            let j = Journal::start(JournalConfig {
                capacity_per_service: 10,
                ..Default::default()
            });
            for i in 0..25 {
                j.writer()
                    .record(JournalEntry::example("a/b", 200 + (i % 3)));
            }
            j.flush().await;
            let stats = j.stats();
            assert_eq!(stats.retained, 10);
            assert_eq!(stats.evicted, 15);
            assert_eq!(stats.recorded, 25);
            let newest = j.query(&Query {
                limit: Some(1),
                ..Default::default()
            });
            assert_eq!(newest[0].seq, 25, "the oldest are dropped, the newest kept");
        });
    }

    #[test]
    fn a_full_channel_drops_and_counts_instead_of_waiting() {
        // A current-thread runtime that never yields: the drain task cannot run, so the
        // channel fills up and further records must return at once.
        rt().block_on(async {
            let j = Journal::start(JournalConfig {
                capacity_per_service: 100,
                channel_capacity: 4,
                ..Default::default()
            });
            for _ in 0..10 {
                j.writer().record(JournalEntry::example("a/b", 200));
            }
            assert_eq!(j.stats().dropped, 6);
            j.flush().await;
            assert_eq!(j.stats().retained, 4);
        });
    }

    #[test]
    fn rings_are_per_service_and_clear_is_scoped() {
        rt().block_on(async {
            let j = Journal::start(JournalConfig {
                capacity_per_service: 2,
                ..Default::default()
            });
            for s in ["a/x", "a/x", "a/x", "b/y"] {
                j.writer().record(JournalEntry::example(s, 200));
            }
            j.flush().await;
            assert_eq!(
                j.count(&Query {
                    service: Some("a/x".into()),
                    ..Default::default()
                }),
                2
            );
            assert_eq!(
                j.count(&Query {
                    service: Some("b/y".into()),
                    ..Default::default()
                }),
                1
            );
            j.clear(Some("a/x")).await;
            assert_eq!(j.count(&Query::default()), 1);
        });
    }

    #[test]
    fn disabled_journal_keeps_nothing() {
        rt().block_on(async {
            let j = Journal::start(JournalConfig {
                capacity_per_service: 0,
                ..Default::default()
            });
            assert!(!j.writer().enabled());
            j.writer().record(JournalEntry::example("a/b", 200));
            j.flush().await;
            assert_eq!(j.stats().retained, 0);
        });
    }

    #[test]
    fn times_format_as_rfc3339() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_000_000_000_123);
        assert_eq!(rfc3339_millis(t), "2001-09-09T01:46:40.123Z");
        assert_eq!(
            rfc3339_millis(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64_encode(b"\xff"), "/w==");
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_encode(b"abc"), "YWJj");
    }
}
