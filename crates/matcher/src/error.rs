//! Why a definition or a set of services cannot be compiled.

/// A definition that cannot be compiled, with the JSON pointer of the offending field
/// (relative to the route document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct CompileError {
    pub pointer: String,
    pub message: String,
}

impl CompileError {
    pub fn new(pointer: &str, message: String) -> Self {
        CompileError {
            pointer: pointer.to_string(),
            message,
        }
    }
}

/// Escapes a JSON pointer reference token (RFC 6901).
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Why a set of services cannot form one table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("base path {base} is used by both {first} and {second}")]
    DuplicateBasePath {
        base: String,
        first: String,
        second: String,
    },
    #[error("host {host} is claimed by both {first} and {second}")]
    DuplicateHost {
        host: String,
        first: String,
        second: String,
    },
}
