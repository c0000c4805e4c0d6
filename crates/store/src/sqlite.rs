//! The embedded store: one SQLite file in the data directory, in WAL mode with
//! `synchronous=FULL`, so a committed transaction is on disk before `commit` returns.

use crate::{
    Batch, EventFilter, Snapshot, Store, StoreError, StoreFuture, Unreadable, entity_from,
    entity_name, kind_from, kind_name,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row, SqlitePool};
use standin_model::{ChangeEvent, ChangeKind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Schema changes, applied in order; `PRAGMA user_version` records how many ran.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: current documents and the append-only change log.
    "CREATE TABLE state (
        entity TEXT NOT NULL,
        key    TEXT NOT NULL,
        doc    TEXT NOT NULL,
        PRIMARY KEY (entity, key)
     );
     CREATE TABLE events (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        at     TEXT NOT NULL,
        actor  TEXT NOT NULL,
        kind   TEXT NOT NULL,
        entity TEXT NOT NULL,
        key    TEXT NOT NULL,
        batch  TEXT NOT NULL,
        before TEXT,
        after  TEXT
     );
     CREATE INDEX events_by_key ON events (entity, key, seq);",
    // 2: calls per service per day, written in batches off the serving path.
    "CREATE TABLE usage (
        day       TEXT NOT NULL,
        team      TEXT NOT NULL,
        service   TEXT NOT NULL,
        calls     INTEGER NOT NULL,
        last_used TEXT NOT NULL,
        PRIMARY KEY (day, team, service)
     );",
];

/// The file inside the data directory.
pub const DB_FILE: &str = "standin.db";

/// Written next to the database when a store is first created. Its presence says "this
/// directory held a store", so a database that later goes missing or is emptied is an
/// error instead of a silent fresh start.
pub const MARKER_FILE: &str = ".standin-store";

/// Locked (an advisory lock, released when the process ends, even by `kill -9`) for as
/// long as a store is open: a second process on the same directory would write behind
/// the first one's back, and its memory would no longer agree with the disk.
pub const LOCK_FILE: &str = ".standin-lock";

/// How to open the store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Start an empty store even where the marker says one existed before (`--init`).
    pub init: bool,
    /// How long a write waits for a lock held by another process before it fails.
    pub busy_timeout: Duration,
    /// Take the data directory's lock ([`LOCK_FILE`]). Only a reader that must look at a
    /// store another instance holds (a test comparing memory with the disk) goes without.
    pub lock: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            init: false,
            busy_timeout: Duration::from_secs(5),
            lock: true,
        }
    }
}

pub struct SqliteStore {
    /// Connections for reads (the load at start, history queries). In WAL mode readers
    /// never wait for the writer.
    readers: SqlitePool,
    /// The one connection that writes, taken out of the slot for the length of a commit
    /// and put back only when the commit succeeded. A commit that fails, or whose future
    /// is dropped half-way, takes its connection with it: SQLite rolls back whatever that
    /// connection left open, and the next commit starts on a fresh connection. No
    /// transaction can outlive the call that began it.
    writer: tokio::sync::Mutex<Option<SqliteConnection>>,
    options: SqliteConnectOptions,
    /// `PRAGMA max_page_count` for the writer (0: SQLite's default), so tests can make the
    /// disk fill up deterministically.
    page_limit: AtomicU64,
    /// Held for the store's life: see [`LOCK_FILE`].
    _lock: Option<std::fs::File>,
}

/// Takes the data directory's lock, without waiting.
fn lock_dir(data_dir: &Path) -> Result<std::fs::File, std::fs::TryLockError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK_FILE))
        .map_err(std::fs::TryLockError::Error)?;
    file.try_lock()?;
    Ok(file)
}

impl SqliteStore {
    /// Opens (creating if needed) `standin.db` in `data_dir` and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, &OpenOptions::default()).await
    }

    pub async fn open_with(data_dir: &Path, open: &OpenOptions) -> Result<Self, StoreError> {
        let dir_error = |source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(dir_error)?;
        let lock = if open.lock {
            Some(lock_dir(data_dir).map_err(|e| match e {
                std::fs::TryLockError::WouldBlock => StoreError::InUse {
                    path: data_dir.display().to_string(),
                },
                std::fs::TryLockError::Error(e) => dir_error(e),
            })?)
        } else {
            None
        };
        check_existing(data_dir, open.init)?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(DB_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(open.busy_timeout);
        let mut writer = options.connect().await?;
        migrate(&mut writer).await?;
        std::fs::write(
            data_dir.join(MARKER_FILE),
            "This directory holds a standin store (standin.db). Do not delete standin.db alone.\n",
        )
        .map_err(dir_error)?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        Ok(SqliteStore {
            readers,
            writer: tokio::sync::Mutex::new(Some(writer)),
            options,
            page_limit: AtomicU64::new(0),
            _lock: lock,
        })
    }

    /// Writes a backup into `dir` while the store is in use (see [`crate::backup`]),
    /// through a read-only connection of its own: SQLite runs a connection's work on a
    /// thread the connection starts, which takes the priority of the thread that opens
    /// it, so a backup opened from a low-priority thread runs at that priority.
    pub async fn backup_to(
        &self,
        dir: &Path,
    ) -> Result<crate::backup::BackupFiles, crate::backup::BackupError> {
        crate::backup::backup_file(self.options.get_filename(), dir).await
    }

    async fn load_inner(&self) -> Result<Snapshot, StoreError> {
        let rows = sqlx::query("SELECT entity, key, doc FROM state")
            .fetch_all(&self.readers)
            .await?;
        let mut snapshot = Snapshot::default();
        for row in rows {
            let entity_text: String = row.try_get("entity")?;
            let key: String = row.try_get("key")?;
            let doc: String = row.try_get("doc")?;
            let parsed = entity_from(&entity_text)
                .ok_or_else(|| format!("unknown entity \"{entity_text}\""))
                .and_then(|entity| {
                    serde_json::from_str(&doc)
                        .map(|value| (entity, value))
                        .map_err(|e| e.to_string())
                });
            match parsed {
                Ok((entity, value)) => snapshot.documents.push((entity, key, value)),
                Err(error) => snapshot.unreadable.push(Unreadable {
                    entity: entity_text,
                    key,
                    error,
                }),
            }
        }
        let last_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(&self.readers)
            .await?;
        snapshot.last_seq = last_seq as u64;
        Ok(snapshot)
    }

    async fn commit_inner(&self, batch: Batch) -> Result<Vec<ChangeEvent>, StoreError> {
        let mut slot = self.writer.lock().await;
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => self.connect_writer().await?,
        };
        match write_batch(&mut conn, batch).await {
            Ok(events) => {
                *slot = Some(conn);
                Ok(events)
            }
            Err(e) => {
                // Whatever state the failure left (a COMMIT that failed keeps its
                // transaction open in SQLite), this connection is not used again.
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
                let _ = conn.close().await;
                Err(e)
            }
        }
    }

    async fn connect_writer(&self) -> Result<SqliteConnection, StoreError> {
        let mut conn = self.options.connect().await?;
        let pages = self.page_limit.load(Ordering::Relaxed);
        if pages > 0 {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA max_page_count = {pages}"
            )))
            .execute(&mut conn)
            .await?;
        }
        Ok(conn)
    }

    async fn events_inner(&self, f: EventFilter) -> Result<Vec<ChangeEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, kind, entity, key, batch, before, after FROM events
             WHERE (?1 IS NULL OR entity = ?1)
               AND (?2 IS NULL OR key = ?2 OR substr(key, 1, length(?2) + 1) = ?2 || '/')
               AND (?3 IS NULL OR seq > ?3)
               AND (?4 IS NULL OR seq < ?4)
             ORDER BY seq DESC LIMIT ?5",
        )
        .bind(f.entity.map(entity_name))
        .bind(f.key_prefix)
        .bind(f.after_seq.map(|s| s as i64))
        .bind(f.before_seq.map(|s| s as i64))
        .bind(i64::from(f.limit))
        .fetch_all(&self.readers)
        .await?;
        rows.into_iter().map(row_to_event).collect()
    }
}

/// Refuses to start a fresh store where one existed: a database that is empty (0 bytes),
/// or missing while the marker file says it was there.
fn check_existing(data_dir: &Path, init: bool) -> Result<(), StoreError> {
    let db = data_dir.join(DB_FILE);
    let size = std::fs::metadata(&db).ok().map(|m| m.len());
    let had_store = data_dir.join(MARKER_FILE).exists();
    let problem = match size {
        Some(0) => Some("is empty (0 bytes)"),
        None if had_store => Some("is missing, but this directory held a store before"),
        _ => None,
    };
    match problem {
        None => Ok(()),
        Some(problem) if !init => Err(StoreError::Missing {
            path: db.display().to_string(),
            problem,
        }),
        Some(_) => {
            if size == Some(0) {
                std::fs::remove_file(&db).map_err(|source| StoreError::DataDir {
                    path: db.display().to_string(),
                    source,
                })?;
            }
            Ok(())
        }
    }
}

async fn migrate(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::TooNew {
            found: version,
            supported,
        });
    }
    if version == supported {
        return Ok(());
    }
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    for sql in &MIGRATIONS[version as usize..] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA user_version = {supported}"
    )))
    .execute(&mut *conn)
    .await?;
    sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

/// Writes the batch in one transaction. On error the transaction may still be open; the
/// caller discards the connection.
async fn write_batch(
    conn: &mut SqliteConnection,
    batch: Batch,
) -> Result<Vec<ChangeEvent>, StoreError> {
    // IMMEDIATE takes the write lock at once, so a busy database fails here and not
    // half-way through the batch.
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let mut events = Vec::with_capacity(batch.changes.len());
    for c in batch.changes {
        let entity = entity_name(c.entity);
        match (&c.kind, &c.after) {
            (ChangeKind::Delete, _) | (_, None) => {
                sqlx::query("DELETE FROM state WHERE entity = ? AND key = ?")
                    .bind(entity)
                    .bind(&c.key)
                    .execute(&mut *conn)
                    .await?;
            }
            (_, Some(doc)) => {
                sqlx::query(
                    "INSERT INTO state (entity, key, doc) VALUES (?, ?, ?)
                     ON CONFLICT (entity, key) DO UPDATE SET doc = excluded.doc",
                )
                .bind(entity)
                .bind(&c.key)
                .bind(doc.to_string())
                .execute(&mut *conn)
                .await?;
            }
        }
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO events (at, actor, kind, entity, key, batch, before, after)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        )
        .bind(&batch.at)
        .bind(&batch.actor)
        .bind(kind_name(c.kind))
        .bind(entity)
        .bind(&c.key)
        .bind(&batch.id)
        .bind(c.before.as_ref().map(|v| v.to_string()))
        .bind(c.after.as_ref().map(|v| v.to_string()))
        .fetch_one(&mut *conn)
        .await?;
        events.push(ChangeEvent {
            seq: seq as u64,
            at: batch.at.clone(),
            actor: batch.actor.clone(),
            kind: c.kind,
            entity: c.entity,
            key: c.key,
            batch: batch.id.clone(),
            before: c.before,
            after: c.after,
        });
    }
    sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
    Ok(events)
}

fn row_to_event(row: sqlx::sqlite::SqliteRow) -> Result<ChangeEvent, StoreError> {
    let entity_text: String = row.try_get("entity")?;
    let key: String = row.try_get("key")?;
    let entity = entity_from(&entity_text)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown entity {entity_text}").into()))?;
    let kind_text: String = row.try_get("kind")?;
    let kind = kind_from(&kind_text)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown change kind {kind_text}").into()))?;
    let parse = |col: &str| -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = row.try_get(col)?;
        text.map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|source| StoreError::Corrupt {
                entity,
                key: key.clone(),
                source,
            })
    };
    Ok(ChangeEvent {
        seq: row.try_get::<i64, _>("seq")? as u64,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        kind,
        entity,
        before: parse("before")?,
        after: parse("after")?,
        batch: row.try_get("batch")?,
        key: key.clone(),
    })
}

impl Store for SqliteStore {
    fn load(&self) -> StoreFuture<'_, Snapshot> {
        Box::pin(self.load_inner())
    }

    fn commit(&self, batch: Batch) -> StoreFuture<'_, Vec<ChangeEvent>> {
        Box::pin(self.commit_inner(batch))
    }

    fn events(&self, filter: EventFilter) -> StoreFuture<'_, Vec<ChangeEvent>> {
        Box::pin(self.events_inner(filter))
    }

    fn add_usage(&self, rows: Vec<crate::UsageRow>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if rows.is_empty() {
                return Ok(());
            }
            let mut slot = self.writer.lock().await;
            let mut conn = match slot.take() {
                Some(conn) => conn,
                None => self.connect_writer().await?,
            };
            match write_usage(&mut conn, rows).await {
                Ok(()) => {
                    *slot = Some(conn);
                    Ok(())
                }
                Err(e) => {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
                    let _ = conn.close().await;
                    Err(e)
                }
            }
        })
    }

    fn usage(
        &self,
        team: Option<String>,
        since_day: String,
    ) -> StoreFuture<'_, Vec<crate::UsageRow>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT day, team, service, calls, last_used FROM usage
                 WHERE day >= ?1 AND (?2 IS NULL OR team = ?2)
                 ORDER BY day, team, service",
            )
            .bind(since_day)
            .bind(team)
            .fetch_all(&self.readers)
            .await?;
            rows.into_iter()
                .map(|r| {
                    Ok(crate::UsageRow {
                        day: r.try_get("day")?,
                        team: r.try_get("team")?,
                        service: r.try_get("service")?,
                        calls: r.try_get::<i64, _>("calls")? as u64,
                        last_used: r.try_get("last_used")?,
                    })
                })
                .collect()
        })
    }
}

async fn write_usage(
    conn: &mut SqliteConnection,
    rows: Vec<crate::UsageRow>,
) -> Result<(), StoreError> {
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO usage (day, team, service, calls, last_used) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (day, team, service) DO UPDATE SET
               calls = calls + excluded.calls,
               last_used = max(last_used, excluded.last_used)",
        )
        .bind(r.day)
        .bind(r.team)
        .bind(r.service)
        .bind(r.calls as i64)
        .bind(r.last_used)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

// What every store must do is tested once for all of them, in tests/contract.rs. These
// tests reach into SQLite itself, to provoke a fault or to plant a row the store would
// never write.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::Change;
    use serde_json::json;
    use standin_model::EntityKind;

    fn batch(changes: Vec<Change>) -> Batch {
        Batch {
            actor: "tester".into(),
            at: "2026-11-22T00:00:00Z".into(),
            id: "b1".into(),
            changes,
        }
    }

    fn put(key: &str, doc: serde_json::Value) -> Change {
        Change {
            kind: ChangeKind::Create,
            entity: EntityKind::Team,
            key: key.into(),
            before: None,
            after: Some(doc),
        }
    }

    #[tokio::test]
    async fn a_failed_batch_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        store.commit(batch(vec![put("a", json!(1))])).await.unwrap();
        // Drop the events table behind the store's back so the second insert of the batch fails.
        sqlx::raw_sql("ALTER TABLE events RENAME TO gone")
            .execute(&store.readers)
            .await
            .unwrap();
        let result = store.commit(batch(vec![put("b", json!(2))])).await;
        assert!(result.is_err());
        sqlx::raw_sql("ALTER TABLE gone RENAME TO events")
            .execute(&store.readers)
            .await
            .unwrap();
        let snap = store.load().await.unwrap();
        assert_eq!(
            snap.documents.len(),
            1,
            "the state change of the failed batch was rolled back"
        );
    }

    fn big(key: &str, kb: usize) -> Change {
        put(key, json!({ "memo": "x".repeat(kb * 1024) }))
    }

    async fn keys_after_reopen(dir: &Path) -> Vec<String> {
        let store = SqliteStore::open(dir).await.unwrap();
        let mut keys: Vec<String> = store
            .load()
            .await
            .unwrap()
            .documents
            .into_iter()
            .map(|d| d.1)
            .collect();
        keys.sort();
        keys
    }

    /// A COMMIT that fails keeps its transaction open in SQLite (a deferred foreign key
    /// does this deterministically). The connection must not carry it into later commits,
    /// or they are acknowledged inside a transaction that never ends.
    #[tokio::test]
    async fn a_failed_commit_leaves_no_transaction_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE parent (id TEXT PRIMARY KEY);
             CREATE TABLE child (p TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TRIGGER doom AFTER INSERT ON events WHEN NEW.actor = 'doomed'
             BEGIN INSERT INTO child VALUES ('missing'); END;",
        )
        .execute(&store.readers)
        .await
        .unwrap();
        let mut doomed = batch(vec![put("lost", json!(1))]);
        doomed.actor = "doomed".into();
        let err = store.commit(doomed).await.unwrap_err();
        assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
        for key in ["a", "b", "c"] {
            store.commit(batch(vec![put(key, json!(1))])).await.unwrap();
        }
        drop(store);
        assert_eq!(keys_after_reopen(dir.path()).await, ["a", "b", "c"]);
    }

    /// Disk full, made deterministic with `max_page_count`: the writes that fail are
    /// refused, and once there is room again every acknowledged write is durable.
    #[tokio::test]
    async fn after_the_disk_fills_and_frees_every_acknowledged_write_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        store.page_limit.store(40, Ordering::Relaxed);
        *store.writer.lock().await = None;
        let mut acknowledged = Vec::new();
        let mut failures = 0;
        for i in 0..40 {
            let key = format!("k{i:02}");
            match store.commit(batch(vec![big(&key, 20)])).await {
                Ok(_) => acknowledged.push(key),
                Err(e) => {
                    assert!(e.to_string().contains("full"), "{e}");
                    failures += 1;
                }
            }
            if failures == 3 {
                break;
            }
        }
        assert_eq!(failures, 3, "the page limit was reached");
        store.page_limit.store(0, Ordering::Relaxed);
        for i in 0..5 {
            let key = format!("later{i}");
            store.commit(batch(vec![big(&key, 20)])).await.unwrap();
            acknowledged.push(key);
        }
        drop(store);
        acknowledged.sort();
        assert_eq!(keys_after_reopen(dir.path()).await, acknowledged);
    }

    /// A second store on a directory another holds is refused, and allowed once the
    /// first is closed.
    #[tokio::test]
    async fn one_store_at_a_time_holds_a_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = SqliteStore::open(dir.path()).await.unwrap();
        let second = SqliteStore::open(dir.path()).await.err().expect("refused");
        assert!(matches!(second, StoreError::InUse { .. }), "{second}");
        assert!(
            second.to_string().contains("another standin process"),
            "{second}"
        );
        drop(first);
        SqliteStore::open(dir.path())
            .await
            .expect("free again once the first is closed");
    }

    /// Another process holding the write lock makes a commit fail after the busy timeout;
    /// the next commit, once the lock is free, succeeds and is kept.
    #[tokio::test]
    async fn a_busy_database_fails_one_commit_and_not_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let open = OpenOptions {
            busy_timeout: Duration::from_millis(50),
            ..OpenOptions::default()
        };
        let store = SqliteStore::open_with(dir.path(), &open).await.unwrap();
        let mut other = store.options.connect().await.unwrap();
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap();
        let err = store
            .commit(batch(vec![put("a", json!(1))]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("locked"), "{err}");
        sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
        store.commit(batch(vec![put("b", json!(1))])).await.unwrap();
        drop(store);
        assert_eq!(keys_after_reopen(dir.path()).await, ["b"]);
    }

    /// A commit whose future is dropped half-way must not leave its transaction open for
    /// the next commit.
    #[tokio::test]
    async fn a_commit_dropped_half_way_does_not_poison_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        for polls in 1..12 {
            let key = format!("dropped{polls:02}");
            let mut fut = std::pin::pin!(store.commit(batch(vec![big(&key, 8)])));
            for _ in 0..polls {
                let waker = std::task::Waker::noop();
                let _ = fut
                    .as_mut()
                    .poll(&mut std::task::Context::from_waker(waker));
                tokio::task::yield_now().await;
            }
        }
        store.commit(batch(vec![put("z", json!(1))])).await.unwrap();
        drop(store);
        let keys = keys_after_reopen(dir.path()).await;
        assert!(keys.contains(&"z".to_string()), "{keys:?}");
    }

    #[tokio::test]
    async fn an_emptied_or_lost_database_is_an_error_unless_init() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        store.commit(batch(vec![put("a", json!(1))])).await.unwrap();
        // Closed before the files are touched: a pool dropped closes its connections in
        // the background, and a closing connection may still write to the database.
        store.readers.close().await;
        if let Some(c) = store.writer.lock().await.take() {
            let _ = sqlx::Connection::close(c).await;
        }
        drop(store);
        let db = dir.path().join(DB_FILE);
        for f in ["standin.db-wal", "standin.db-shm"] {
            let _ = std::fs::remove_file(dir.path().join(f));
        }
        std::fs::write(&db, b"").unwrap();
        let err = SqliteStore::open(dir.path()).await.err().unwrap();
        assert!(err.to_string().contains("is empty (0 bytes)"), "{err}");
        assert!(err.to_string().contains("--init"), "{err}");
        std::fs::remove_file(&db).unwrap();
        let err = SqliteStore::open(dir.path()).await.err().unwrap();
        assert!(err.to_string().contains("is missing"), "{err}");
        let init = OpenOptions {
            init: true,
            ..OpenOptions::default()
        };
        let store = SqliteStore::open_with(dir.path(), &init).await.unwrap();
        assert!(store.load().await.unwrap().documents.is_empty());
    }

    #[tokio::test]
    async fn an_unreadable_row_is_reported_and_the_rest_loads() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        store
            .commit(batch(vec![put("good", json!({}))]))
            .await
            .unwrap();
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        sqlx::query("INSERT INTO state (entity, key, doc) VALUES ('team', 'deep', ?), ('widget', 'w', '{}')")
            .bind(deep)
            .execute(&store.readers)
            .await
            .unwrap();
        let snap = store.load().await.unwrap();
        assert_eq!(snap.documents.len(), 1);
        let mut bad: Vec<(String, String)> = snap
            .unreadable
            .iter()
            .map(|u| (u.key.clone(), u.error.clone()))
            .collect();
        bad.sort();
        assert_eq!(bad[0].0, "deep");
        assert!(bad[0].1.contains("recursion limit"), "{}", bad[0].1);
        assert_eq!(bad[1].0, "w");
        assert!(bad[1].1.contains("unknown entity"), "{}", bad[1].1);
    }
}
