//! Backups: snapshot files written while the server runs, on a schedule or on demand.

use std::sync::atomic::AtomicU64;

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
