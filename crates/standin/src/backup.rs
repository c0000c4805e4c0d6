//! Backups: `standin backup` and `standin restore`, and the server's schedule. A backup
//! runs on a thread of its own at a lower priority, so neither the mock workers nor the
//! control plane (which drains the journal) wait for it.

use crate::config::BackupSchedule;
use anyhow::Context as _;
use standin_store::SqliteStore;
use standin_store::backup::BackupFiles;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

/// What the last backups did, for `/metrics` and `GET /api/v1/status`.
#[derive(Debug, Default)]
pub struct BackupStatus {
    pub failures: AtomicU64,
    /// Unix seconds of the last backup that finished; 0 before the first.
    pub last_success: AtomicU64,
    /// The last failure's message, cleared by a success.
    pub last_error: parking_lot::Mutex<Option<String>>,
    /// The last snapshot file written.
    pub last_file: parking_lot::Mutex<Option<String>>,
}

impl BackupStatus {
    pub fn view(&self, schedule: Option<&BackupSchedule>) -> serde_json::Value {
        let Some(s) = schedule else {
            return serde_json::Value::Null;
        };
        serde_json::json!({
            "dir": s.dir.display().to_string(),
            "everyMinutes": s.every.as_secs() / 60,
            "keep": s.keep,
            "lastSuccess": match self.last_success.load(Ordering::Relaxed) {
                0 => serde_json::Value::Null,
                t => jiff::Timestamp::from_second(t as i64)
                    .map(|t| serde_json::Value::String(t.to_string()))
                    .unwrap_or_default(),
            },
            "lastFile": *self.last_file.lock(),
            "failures": self.failures.load(Ordering::Relaxed),
            "lastError": *self.last_error.lock(),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The directory to write the backup into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// The data directory of the store to back up; a running server may hold it.
    #[arg(
        long,
        env = "STANDIN_DATA_DIR",
        value_name = "DIR",
        default_value = "standin-data"
    )]
    pub data_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A backup to fill an empty data directory from: the `.db` snapshot or the `.jsonl`
    /// export (with --data-dir).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "at"], requires = "data_dir")]
    pub from: Option<PathBuf>,
    /// An empty (or missing) data directory to fill.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Point-in-time restore on a running server: `team`, `team/service`,
    /// `team/service/routeId`, or `*` for everything.
    #[arg(long, requires = "at")]
    pub key: Option<String>,
    /// The time (RFC 3339) or event sequence number to go back to.
    #[arg(long, requires = "key")]
    pub at: Option<String>,
    /// Only show what a point-in-time restore would change.
    #[arg(long, requires = "key")]
    pub dry_run: bool,
    /// The running server's admin API, for a point-in-time restore.
    #[arg(long, env = "STANDIN_ADMIN", default_value = "http://127.0.0.1:9090")]
    pub admin: String,
}

/// `standin backup`.
pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let files = crate::client::runtime()?
        .block_on(standin_store::backup::backup_data_dir(
            &args.data_dir,
            &args.to,
        ))
        .with_context(|| format!("backing up {}", args.data_dir.display()))?;
    println!(
        "standin: backed up {} documents and {} events (up to event {}) to\n  {}\n  {}",
        files.documents,
        files.events,
        files.last_seq,
        files.database.display(),
        files.jsonl.display()
    );
    Ok(())
}

/// `standin restore`.
pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let (from, data_dir) = match (args.from, args.data_dir, args.key, args.at) {
        (_, _, Some(key), Some(at)) => {
            return crate::client::restore_point(&key, &at, args.dry_run, &args.admin);
        }
        (Some(from), Some(dir), _, _) => (from, dir),
        _ => anyhow::bail!(
            "say what to restore: --from FILE --data-dir DIR (a backup into an empty directory), or --key KEY --at WHEN (a point in time, on a running server)"
        ),
    };
    let r = crate::client::runtime()?
        .block_on(standin_store::backup::restore(&from, &data_dir))
        .with_context(|| format!("restoring {}", from.display()))?;
    println!(
        "standin: restored {} documents and {} events (up to event {}) into {}; start it with `standin serve --data-dir {}`",
        r.documents,
        r.events,
        r.last_seq,
        data_dir.display(),
        data_dir.display()
    );
    Ok(())
}

/// Backs the store up every `schedule.every` (the first right away), keeping the newest
/// `schedule.keep`, until `stop`.
pub async fn run(
    store: Arc<SqliteStore>,
    schedule: BackupSchedule,
    status: Arc<BackupStatus>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(schedule.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let (store, dir) = (store.clone(), schedule.dir.clone());
        let spawned = std::thread::Builder::new()
            .name("standin-backup".into())
            .spawn(move || {
                standin_server::lower_priority(crate::CONTROL_NICE);
                let result = crate::client::runtime()
                    .map_err(|e| format!("{e:#}"))
                    .and_then(|rt| {
                        rt.block_on(store.backup_to(&dir))
                            .map_err(|e| e.to_string())
                    });
                let _ = done_tx.send(result);
            });
        let result = match spawned {
            Ok(_) => done_rx
                .await
                .unwrap_or_else(|_| Err("the backup thread stopped".into())),
            Err(e) => Err(format!("cannot start the backup thread: {e}")),
        };
        record(&status, &schedule, result);
    }
}

fn record(status: &BackupStatus, schedule: &BackupSchedule, result: Result<BackupFiles, String>) {
    match result {
        Ok(files) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            status.last_success.store(now, Ordering::Relaxed);
            *status.last_file.lock() = Some(files.database.display().to_string());
            *status.last_error.lock() = None;
            tracing::info!(file = %files.database.display(), documents = files.documents, events = files.events, "backup written");
            prune(&schedule.dir, schedule.keep);
        }
        Err(e) => {
            status.failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(dir = %schedule.dir.display(), error = %e, "backup failed; the server goes on serving");
            *status.last_error.lock() = Some(e);
        }
    }
}

/// Removes all but the newest `keep` backups (both files of each) in `dir`, and the
/// pieces of backups older than the newest that never finished (a process stopped while
/// writing one).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let all: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("standin-"))
        .collect();
    let mut names: Vec<&String> = all.iter().filter(|n| n.ends_with(".db")).collect();
    // The names are timestamps: sorted is oldest first.
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for name in &names[..excess] {
        let _ = std::fs::remove_file(dir.join(name));
        let _ = std::fs::remove_file(dir.join(name.replace(".db", ".jsonl")));
    }
    if let Some(newest) = names.last() {
        let stamp = newest.trim_end_matches(".db");
        for n in all.iter().filter(|n| n.contains(".partial")) {
            if n.as_str() < stamp {
                let _ = std::fs::remove_file(dir.join(n));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_and_clears_pieces_of_older_unfinished_backups() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "standin-20261130T100000.000Z.db",
            "standin-20261130T100000.000Z.jsonl",
            "standin-20261130T100500.000Z.db.partial",
            "standin-20261130T100500.000Z.db.partial-journal",
            "standin-20261130T101000.000Z.db",
            "standin-20261130T101000.000Z.jsonl",
            "standin-20261130T102000.000Z.db",
            "standin-20261130T102000.000Z.jsonl",
            "standin-20261130T103000.000Z.db.partial",
            "notes.txt",
        ];
        for n in names {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        prune(dir.path(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "notes.txt",
                "standin-20261130T101000.000Z.db",
                "standin-20261130T101000.000Z.jsonl",
                "standin-20261130T102000.000Z.db",
                "standin-20261130T102000.000Z.jsonl",
                // Newer than the newest finished one: maybe still being written.
                "standin-20261130T103000.000Z.db.partial",
            ]
        );
    }
}
