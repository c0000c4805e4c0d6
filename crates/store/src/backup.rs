//! Backups and restores of a SQLite store.
//!
//! A backup is two files with one name: `standin-<time>.db`, a self-contained SQLite
//! database written by `VACUUM INTO` while the server runs (a consistent snapshot of one
//! read transaction; the server keeps serving and committing), and `standin-<time>.jsonl`,
//! the same documents and events as JSON lines that any store can load. The JSON lines
//! are read back from the snapshot just written, so the two always agree.
//!
//! A restore fills an empty data directory from either file. A file written by a newer
//! schema is refused with both versions named.

use crate::StoreError;
use crate::sqlite::{DB_FILE, MARKER_FILE, MIGRATIONS};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The first line of a JSON-lines backup names its format.
pub const JSONL_FORMAT: &str = "standin-backup";

/// The files one backup wrote.
#[derive(Debug, Clone)]
pub struct BackupFiles {
    pub database: PathBuf,
    pub jsonl: PathBuf,
    pub documents: u64,
    pub events: u64,
    pub last_seq: u64,
}

/// What a restore loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub documents: u64,
    pub events: u64,
    pub last_seq: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {message}")]
    Format {
        path: String,
        line: usize,
        message: String,
    },
    #[error(
        "{path} was written by a newer standin (schema version {found}); this one reads up to version {supported}"
    )]
    TooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error(
        "{path} is not empty (it holds {what}); restore into an empty directory, or move what is there away"
    )]
    NotEmpty { path: String, what: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A name for files written now: `standin-20261130T101500.123Z`, sortable.
pub fn stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "standin-{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Writes a backup of the database at `db` into `dir` (created if missing) through a
/// connection of its own: `VACUUM INTO` a temporary name, renamed when complete, then the
/// JSON lines read from that snapshot.
pub(crate) async fn write(
    conn: &mut SqliteConnection,
    dir: &Path,
) -> Result<BackupFiles, BackupError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = stamp();
    let database = dir.join(format!("{name}.db"));
    let partial = dir.join(format!("{name}.db.partial"));
    let jsonl = dir.join(format!("{name}.jsonl"));
    let _ = std::fs::remove_file(&partial);
    sqlx::query("VACUUM INTO ?1")
        .bind(partial.display().to_string())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    sync_file(&partial)?;
    std::fs::rename(&partial, &database).map_err(io(&database))?;
    let (documents, events, last_seq) = export_jsonl(&database, &jsonl).await?;
    sync_dir(dir);
    Ok(BackupFiles {
        database,
        jsonl,
        documents,
        events,
        last_seq,
    })
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

async fn open_read_only(path: &Path) -> Result<SqliteConnection, BackupError> {
    Ok(SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(StoreError::from)?)
}

/// Writes the documents and events of the database at `db` as JSON lines.
async fn export_jsonl(db: &Path, to: &Path) -> Result<(u64, u64, u64), BackupError> {
    let mut conn = open_read_only(db).await?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut conn)
        .await
        .map_err(StoreError::from)?;
    let state = sqlx::query("SELECT entity, key, doc FROM state ORDER BY entity, key")
        .fetch_all(&mut conn)
        .await
        .map_err(StoreError::from)?;
    let events = sqlx::query(
        "SELECT seq, at, actor, kind, entity, key, batch, before, after FROM events ORDER BY seq",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(StoreError::from)?;
    let last_seq = events
        .last()
        .map_or(0, |r| r.try_get::<i64, _>("seq").unwrap_or(0)) as u64;
    let partial = to.with_extension("jsonl.partial");
    let file = std::fs::File::create(&partial).map_err(io(&partial))?;
    let mut out = std::io::BufWriter::new(file);
    let parse = |text: Option<String>| -> serde_json::Value {
        text.and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    let mut lines = vec![serde_json::json!({
        "format": JSONL_FORMAT,
        "schemaVersion": version,
        "documents": state.len(),
        "events": events.len(),
        "lastSeq": last_seq,
    })];
    for r in &state {
        lines.push(serde_json::json!({"document": {
            "entity": r.try_get::<String, _>("entity").map_err(StoreError::from)?,
            "key": r.try_get::<String, _>("key").map_err(StoreError::from)?,
            "doc": parse(r.try_get("doc").map_err(StoreError::from)?),
        }}));
    }
    for r in &events {
        lines.push(serde_json::json!({"event": {
            "seq": r.try_get::<i64, _>("seq").map_err(StoreError::from)?,
            "at": r.try_get::<String, _>("at").map_err(StoreError::from)?,
            "actor": r.try_get::<String, _>("actor").map_err(StoreError::from)?,
            "kind": r.try_get::<String, _>("kind").map_err(StoreError::from)?,
            "entity": r.try_get::<String, _>("entity").map_err(StoreError::from)?,
            "key": r.try_get::<String, _>("key").map_err(StoreError::from)?,
            "batch": r.try_get::<String, _>("batch").map_err(StoreError::from)?,
            "before": parse(r.try_get("before").map_err(StoreError::from)?),
            "after": parse(r.try_get("after").map_err(StoreError::from)?),
        }}));
    }
    for line in lines {
        serde_json::to_writer(&mut out, &line).map_err(|e| io(&partial)(e.into()))?;
        out.write_all(b"\n").map_err(io(&partial))?;
    }
    out.into_inner()
        .map_err(|e| io(&partial)(e.into_error()))?
        .sync_all()
        .map_err(io(&partial))?;
    std::fs::rename(&partial, to).map_err(io(to))?;
    let _ = conn.close().await;
    Ok((state.len() as u64, events.len() as u64, last_seq))
}

/// Writes a backup of the store in `data_dir` without taking its lock: a running server
/// keeps serving and committing (SQLite's WAL lets a reader take a consistent snapshot).
pub async fn backup_data_dir(data_dir: &Path, to: &Path) -> Result<BackupFiles, BackupError> {
    backup_file(&data_dir.join(DB_FILE), to).await
}

/// Writes a backup of the database file `db` through a read-only connection of its own.
pub(crate) async fn backup_file(db: &Path, to: &Path) -> Result<BackupFiles, BackupError> {
    if !db.is_file() {
        return Err(BackupError::Io {
            path: db.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no store here"),
        });
    }
    let mut conn = open_read_only(db).await?;
    let files = write(&mut conn, to).await;
    let _ = conn.close().await;
    files
}

/// Fills the empty `data_dir` from a backup: a `.db` snapshot or a `.jsonl` export.
pub async fn restore(from: &Path, data_dir: &Path) -> Result<Restored, BackupError> {
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    for name in [DB_FILE, MARKER_FILE] {
        if data_dir.join(name).exists() {
            return Err(BackupError::NotEmpty {
                path: data_dir.display().to_string(),
                what: name.to_string(),
            });
        }
    }
    let supported = MIGRATIONS.len() as i64;
    let jsonl = from.extension().is_some_and(|e| e == "jsonl");
    let target = data_dir.join(DB_FILE);
    if jsonl {
        restore_jsonl(from, &target, supported).await?;
    } else {
        let mut conn = open_read_only(from).await?;
        let found: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| BackupError::Format {
                path: from.display().to_string(),
                line: 0,
                message: format!("not a standin SQLite snapshot: {e}"),
            })?;
        let _ = conn.close().await;
        if found > supported {
            return Err(BackupError::TooNew {
                path: from.display().to_string(),
                found,
                supported,
            });
        }
        let partial = target.with_extension("db.partial");
        std::fs::copy(from, &partial).map_err(io(from))?;
        sync_file(&partial)?;
        std::fs::rename(&partial, &target).map_err(io(&target))?;
    }
    // Opening it as a store brings an older schema up to date and checks it reads.
    let store = crate::SqliteStore::open(data_dir).await?;
    let snapshot = crate::Store::load(&store).await?;
    let events: i64 = {
        let mut conn = open_read_only(&target).await?;
        sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&mut conn)
            .await
            .map_err(StoreError::from)?
    };
    Ok(Restored {
        documents: snapshot.documents.len() as u64,
        events: events as u64,
        last_seq: snapshot.last_seq,
    })
}

async fn restore_jsonl(from: &Path, target: &Path, supported: i64) -> Result<(), BackupError> {
    let path = from.display().to_string();
    let bad = |line: usize, message: String| BackupError::Format {
        path: path.clone(),
        line,
        message,
    };
    let file = std::fs::File::open(from).map_err(io(from))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let head: serde_json::Value = match lines.next() {
        Some(l) => serde_json::from_str(&l.map_err(io(from))?)
            .map_err(|e| bad(1, format!("not JSON: {e}")))?,
        None => return Err(bad(1, "the file is empty".into())),
    };
    if head["format"] != JSONL_FORMAT {
        return Err(bad(
            1,
            format!("the first line must be {{\"format\": \"{JSONL_FORMAT}\", ...}}"),
        ));
    }
    let found = head["schemaVersion"]
        .as_i64()
        .ok_or_else(|| bad(1, "schemaVersion is missing".into()))?;
    if found > supported {
        return Err(BackupError::TooNew {
            path: path.clone(),
            found,
            supported,
        });
    }
    let partial = target.with_extension("db.partial");
    let _ = std::fs::remove_file(&partial);
    let mut conn = SqliteConnectOptions::new()
        .filename(&partial)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .map_err(StoreError::from)?;
    for sql in &MIGRATIONS[..found.max(0) as usize] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut conn)
            .await
            .map_err(StoreError::from)?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA user_version = {found}"
    )))
    .execute(&mut conn)
    .await
    .map_err(StoreError::from)?;
    let mut tx = conn.begin().await.map_err(StoreError::from)?;
    let text = |v: &serde_json::Value, n: usize, field: &str| -> Result<String, BackupError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad(n, format!("{field} must be a string")))
    };
    let doc = |v: &serde_json::Value| (!v.is_null()).then(|| v.to_string());
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.map_err(io(from))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| bad(n, format!("not JSON: {e}")))?;
        if let Some(d) = v.get("document") {
            sqlx::query("INSERT INTO state (entity, key, doc) VALUES (?1, ?2, ?3)")
                .bind(text(&d["entity"], n, "/document/entity")?)
                .bind(text(&d["key"], n, "/document/key")?)
                .bind(doc(&d["doc"]).ok_or_else(|| bad(n, "/document/doc is missing".into()))?)
                .execute(&mut *tx)
                .await
                .map_err(|e| bad(n, e.to_string()))?;
        } else if let Some(e) = v.get("event") {
            sqlx::query(
                "INSERT INTO events (seq, at, actor, kind, entity, key, batch, before, after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .bind(
                e["seq"]
                    .as_i64()
                    .ok_or_else(|| bad(n, "/event/seq must be a number".into()))?,
            )
            .bind(text(&e["at"], n, "/event/at")?)
            .bind(text(&e["actor"], n, "/event/actor")?)
            .bind(text(&e["kind"], n, "/event/kind")?)
            .bind(text(&e["entity"], n, "/event/entity")?)
            .bind(text(&e["key"], n, "/event/key")?)
            .bind(text(&e["batch"], n, "/event/batch")?)
            .bind(doc(&e["before"]))
            .bind(doc(&e["after"]))
            .execute(&mut *tx)
            .await
            .map_err(|err| bad(n, err.to_string()))?;
        } else {
            return Err(bad(n, "a line holds a \"document\" or an \"event\"".into()));
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    let _ = conn.close().await;
    sync_file(&partial)?;
    std::fs::rename(&partial, target).map_err(io(target))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_787), (2026, 11, 30));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let s = stamp();
        assert!(s.starts_with("standin-20") && s.ends_with('Z'), "{s}");
    }
}
