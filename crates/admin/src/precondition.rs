//! Optimistic concurrency: `ETag` on reads and writes, `If-Match` on writes.
//!
//! A definition's entity tag is its `meta.revision` (`"3"`). A write that carries
//! `If-Match` goes through only when the definition still has that revision; otherwise it
//! is refused with 412 and nothing changes, so an editor that opened revision 3 cannot
//! silently overwrite someone else's revision 4. The check runs inside the change, against
//! the same state the write applies to. Without `If-Match`, writes behave as before.

use crate::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use standin_app::AppError;
use standin_model::Meta;

/// The revision a write expects, from `If-Match` (`"3"`, `W/"3"` or `3`); `Any` for `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfMatch {
    Absent,
    Any,
    Revision(u64),
}

impl IfMatch {
    /// Refuses the write when the definition is not at the expected revision. `current`
    /// is `None` when the definition does not exist.
    pub(crate) fn check(self, what: &str, current: Option<&Meta>) -> Result<(), AppError> {
        match (self, current) {
            (IfMatch::Absent, _) => Ok(()),
            (IfMatch::Any | IfMatch::Revision(_), None) => Err(AppError::Stale(format!(
                "{what} no longer exists (If-Match expected it to)"
            ))),
            (IfMatch::Any, Some(_)) => Ok(()),
            (IfMatch::Revision(want), Some(meta)) if meta.revision == want => Ok(()),
            (IfMatch::Revision(want), Some(meta)) => Err(AppError::Stale(format!(
                "{what} changed since revision {want}: it is at revision {} (changed by \"{}\" at {}); reload it, or save without If-Match to overwrite",
                meta.revision, meta.updated_by, meta.updated_at
            ))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch::Absent);
        };
        let text = value.to_str().unwrap_or("").trim();
        if text == "*" {
            return Ok(IfMatch::Any);
        }
        let tag = text.strip_prefix("W/").unwrap_or(text);
        let tag = tag
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(tag);
        tag.parse().map(IfMatch::Revision).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_header",
                format!(
                    "If-Match: \"{text}\" is not an entity tag of standin (a revision, like \"3\", or *)"
                ),
            )
        })
    }
}

/// A JSON answer with the definition's revision as its `ETag`.
pub(crate) struct Tagged<T>(pub StatusCode, pub u64, pub T);

impl<T: IntoResponse> IntoResponse for Tagged<T> {
    fn into_response(self) -> Response {
        let mut response = (self.0, self.2).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", self.1)) {
            response.headers_mut().insert(header::ETAG, v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(revision: u64) -> Meta {
        Meta {
            created_seq: 1,
            revision,
            created_at: "2026-11-30T00:00:00Z".into(),
            updated_at: "2026-11-30T01:00:00Z".into(),
            updated_by: "ana".into(),
        }
    }

    #[test]
    fn a_write_goes_through_only_at_the_expected_revision() {
        assert!(IfMatch::Absent.check("route", None).is_ok());
        assert!(IfMatch::Revision(2).check("route", Some(&meta(2))).is_ok());
        assert!(IfMatch::Any.check("route", Some(&meta(7))).is_ok());
        let stale = IfMatch::Revision(2).check("route \"a\"", Some(&meta(3)));
        match stale {
            Err(AppError::Stale(m)) => {
                assert!(m.contains("revision 3") && m.contains("\"ana\""), "{m}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            IfMatch::Any.check("route", None),
            Err(AppError::Stale(_))
        ));
    }
}
