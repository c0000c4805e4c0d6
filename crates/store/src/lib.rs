//! Durable storage of definitions and of every change made to them.
//!
//! The store keeps two things: the current state (one JSON document per team, service and
//! route) and the append-only change log. [`Store::commit`] writes a batch of changes to
//! both in one transaction and returns only after the transaction is durable, so an
//! acknowledged change survives a crash. The store knows documents and events, not what
//! they mean: validation, ordering and compilation belong to `standin-app`.
//!
//! The serving path never calls the store. State is read once at start ([`Store::load`])
//! and the data plane is fed from memory after that.

pub mod backup;
mod sqlite;

pub use sqlite::{DB_FILE, MARKER_FILE, OpenOptions, SqliteStore};

use standin_model::{ChangeEvent, ChangeKind, EntityKind};
use std::future::Future;
use std::pin::Pin;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("stored document {entity:?} {key} is unreadable: {source}")]
    Corrupt {
        entity: EntityKind,
        key: String,
        source: serde_json::Error,
    },
    #[error(
        "the database schema version {found} is newer than this standin understands ({supported})"
    )]
    TooNew { found: i64, supported: i64 },
    #[error(
        "the database {path} {problem}; restore it from a backup, or start with --init to begin with an empty store"
    )]
    Missing { path: String, problem: &'static str },
    #[error(
        "another standin process uses the data directory {path} (it holds {path}/.standin-lock); stop it, or talk to it through its management API"
    )]
    InUse { path: String },
}

/// One change to one document.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: ChangeKind,
    pub entity: EntityKind,
    pub key: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Changes that are applied together or not at all.
#[derive(Debug, Clone)]
pub struct Batch {
    pub actor: String,
    /// RFC 3339.
    pub at: String,
    pub id: String,
    pub changes: Vec<Change>,
}

/// Every stored document, as read at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub documents: Vec<(EntityKind, String, serde_json::Value)>,
    /// Rows that could not be read as a document. They stay in the store untouched; the
    /// application reports them and serves everything else.
    pub unreadable: Vec<Unreadable>,
    /// The sequence number of the newest event, 0 when there is none.
    pub last_seq: u64,
}

/// A stored row that is not a readable document.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub entity: String,
    pub key: String,
    pub error: String,
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub entity: Option<EntityKind>,
    /// Events whose key equals this or starts with it followed by `/`.
    pub key_prefix: Option<String>,
    pub after_seq: Option<u64>,
    pub before_seq: Option<u64>,
    pub limit: u32,
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What the application needs from a store. SQLite implements it today; PostgreSQL will.
pub trait Store: Send + Sync + 'static {
    fn load(&self) -> StoreFuture<'_, Snapshot>;
    /// Applies the batch and appends its events atomically; returns the stored events.
    fn commit(&self, batch: Batch) -> StoreFuture<'_, Vec<ChangeEvent>>;
    fn events(&self, filter: EventFilter) -> StoreFuture<'_, Vec<ChangeEvent>>;
    /// Adds calls to the per-day usage counts (creating rows as needed) in one
    /// transaction; a later `last_used` replaces an earlier one.
    fn add_usage(&self, rows: Vec<UsageRow>) -> StoreFuture<'_, ()>;
    /// Usage rows from `since_day` (`YYYY-MM-DD`) on, for one team or all, by day.
    fn usage(&self, team: Option<String>, since_day: String) -> StoreFuture<'_, Vec<UsageRow>>;
}

/// Calls to one service on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub team: String,
    pub service: String,
    pub calls: u64,
    /// RFC 3339: the last call that day.
    pub last_used: String,
}

pub(crate) fn entity_name(e: EntityKind) -> &'static str {
    match e {
        EntityKind::Team => "team",
        EntityKind::Service => "service",
        EntityKind::Route => "route",
    }
}

pub(crate) fn entity_from(s: &str) -> Option<EntityKind> {
    match s {
        "team" => Some(EntityKind::Team),
        "service" => Some(EntityKind::Service),
        "route" => Some(EntityKind::Route),
        _ => None,
    }
}

pub(crate) fn kind_name(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Create => "create",
        ChangeKind::Update => "update",
        ChangeKind::Delete => "delete",
    }
}

pub(crate) fn kind_from(s: &str) -> Option<ChangeKind> {
    match s {
        "create" => Some(ChangeKind::Create),
        "update" => Some(ChangeKind::Update),
        "delete" => Some(ChangeKind::Delete),
        _ => None,
    }
}
