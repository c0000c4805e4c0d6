//! Why a change or a query was refused.

use standin_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is wrong; `pointer` is a JSON pointer into the request body.
    #[error("{pointer}: {message}")]
    Invalid { pointer: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The definition is not at the revision the writer expected (`If-Match`).
    #[error("{0}")]
    Stale(String),
    /// The store refused the commit; nothing of the change was applied, in memory or on
    /// disk (memory was reloaded from the store to make sure).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// standin itself failed (a bug); the definitions were reloaded from the store.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}
