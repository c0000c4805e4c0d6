//! The embedded store: one SQLite file in the data directory, in WAL mode with
//! `synchronous=FULL`, so a committed transaction is on disk before `commit` returns.

use crate::{
    Batch, EventFilter, Snapshot, Store, StoreError, StoreFuture, entity_from, entity_name,
    kind_from, kind_name,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use standin_model::{ChangeEvent, ChangeKind};
use std::path::Path;
use std::time::Duration;

/// Schema changes, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
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
];

/// The file inside the data directory.
pub const DB_FILE: &str = "standin.db";

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `standin.db` in `data_dir` and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(DB_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut *tx)
            .await?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::TooNew {
                found: version,
                supported,
            });
        }
        for sql in &MIGRATIONS[version as usize..] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA user_version = {supported}"
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_inner(&self) -> Result<Snapshot, StoreError> {
        let rows = sqlx::query("SELECT entity, key, doc FROM state")
            .fetch_all(&self.pool)
            .await?;
        let mut documents = Vec::with_capacity(rows.len());
        for row in rows {
            let entity: String = row.try_get("entity")?;
            let key: String = row.try_get("key")?;
            let doc: String = row.try_get("doc")?;
            let Some(entity) = entity_from(&entity) else {
                continue;
            };
            let value = serde_json::from_str(&doc).map_err(|source| StoreError::Corrupt {
                entity,
                key: key.clone(),
                source,
            })?;
            documents.push((entity, key, value));
        }
        let last_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(Snapshot {
            documents,
            last_seq: last_seq as u64,
        })
    }

    async fn commit_inner(&self, batch: Batch) -> Result<Vec<ChangeEvent>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut events = Vec::with_capacity(batch.changes.len());
        for c in batch.changes {
            let entity = entity_name(c.entity);
            match (&c.kind, &c.after) {
                (ChangeKind::Delete, _) | (_, None) => {
                    sqlx::query("DELETE FROM state WHERE entity = ? AND key = ?")
                        .bind(entity)
                        .bind(&c.key)
                        .execute(&mut *tx)
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
                    .execute(&mut *tx)
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
            .fetch_one(&mut *tx)
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
        tx.commit().await?;
        Ok(events)
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
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(row_to_event).collect()
    }
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
}

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
    async fn commits_survive_reopen_with_their_events() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path()).await.unwrap();
            let events = store
                .commit(batch(vec![
                    put("a", json!({"slug": "a"})),
                    put("b", json!({"slug": "b"})),
                ]))
                .await
                .unwrap();
            assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
            let del = Change {
                kind: ChangeKind::Delete,
                entity: EntityKind::Team,
                key: "a".into(),
                before: Some(json!({"slug": "a"})),
                after: None,
            };
            store.commit(batch(vec![del])).await.unwrap();
        }
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let snap = store.load().await.unwrap();
        assert_eq!(snap.documents.len(), 1);
        assert_eq!(snap.documents[0].1, "b");
        assert_eq!(snap.last_seq, 3);
        let history = store
            .events(EventFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            history.iter().map(|e| (e.seq, e.kind)).collect::<Vec<_>>(),
            [
                (3, ChangeKind::Delete),
                (2, ChangeKind::Create),
                (1, ChangeKind::Create)
            ]
        );
        assert_eq!(history[0].before, Some(json!({"slug": "a"})));
    }

    #[tokio::test]
    async fn key_prefix_filters_by_whole_segments() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        store
            .commit(batch(vec![
                put("t", json!({})),
                put("t/s", json!({})),
                put("t/s/r", json!({})),
                put("tt/s", json!({})),
            ]))
            .await
            .unwrap();
        let keys = |events: Vec<ChangeEvent>| events.into_iter().map(|e| e.key).collect::<Vec<_>>();
        let f = EventFilter {
            key_prefix: Some("t".into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(keys(store.events(f).await.unwrap()), ["t/s/r", "t/s", "t"]);
        let f = EventFilter {
            key_prefix: Some("t/s".into()),
            after_seq: Some(2),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(keys(store.events(f).await.unwrap()), ["t/s/r"]);
    }

    #[tokio::test]
    async fn a_failed_batch_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        store.commit(batch(vec![put("a", json!(1))])).await.unwrap();
        // Drop the events table behind the store's back so the second insert of the batch fails.
        sqlx::raw_sql("ALTER TABLE events RENAME TO gone")
            .execute(&store.pool)
            .await
            .unwrap();
        let result = store.commit(batch(vec![put("b", json!(2))])).await;
        assert!(result.is_err());
        sqlx::raw_sql("ALTER TABLE gone RENAME TO events")
            .execute(&store.pool)
            .await
            .unwrap();
        let snap = store.load().await.unwrap();
        assert_eq!(
            snap.documents.len(),
            1,
            "the state change of the failed batch was rolled back"
        );
    }
}
