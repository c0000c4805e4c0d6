//! Errors of the management API and how they read: a stable `error` code, a message that
//! says what to fix, and where (JSON pointer, line and column) when the input is at fault.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use standin_app::AppError;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable, machine-readable: `invalid_json`, `invalid_field`, `not_found`, `conflict`,
    /// `not_verified`, `store_failure`, ...
    pub error: &'static str,
    pub message: String,
    /// JSON pointer (RFC 6901) to the offending field in the request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error,
                message: message.into(),
                pointer: None,
                line: None,
                column: None,
            },
        }
    }

    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "invalid_field", message);
        e.body.pointer = Some(pointer.into());
        e
    }

    /// A query parameter is wrong; `pointer` names it (`/service`).
    pub fn invalid_query(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::invalid(pointer, message);
        e.body.error = "invalid_query";
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { pointer, message } => {
                let pointer = if pointer.is_empty() {
                    "/".to_string()
                } else {
                    pointer
                };
                ApiError::invalid(pointer, message)
            }
            AppError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            AppError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            AppError::Stale(m) => ApiError::new(StatusCode::PRECONDITION_FAILED, "conflict", m),
            AppError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store_failure",
                    format!("the change was not saved: {e}"),
                )
            }
            AppError::Internal(m) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", m)
            }
        }
    }
}

/// Query parameters parsed with errors in the same JSON shape as every other error.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|e| {
                let pointer = pointer_of(e.path());
                let pointer = if pointer.is_empty() {
                    "/".to_string()
                } else {
                    pointer
                };
                let mut err =
                    ApiError::invalid(pointer, format!("invalid query string: {}", e.inner()));
                err.body.error = "invalid_query";
                err
            })
    }
}

/// A JSON request body parsed with errors that point at the problem.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        json_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "body_too_large"
            } else {
                "body_unreadable"
            };
            ApiError::new(e.status(), code, e.body_text())
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Bodies are JSON. No `Content-Type`, `application/json`, any `+json` type, and curl's
/// default for `-d` (`application/x-www-form-urlencoded`) are read as JSON; anything else
/// (`text/plain`, XML, multipart) is refused rather than guessed at.
fn json_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = text.split(';').next().unwrap_or("").trim();
    let ok = essence == "application/json"
        || essence.ends_with("+json")
        || essence == "application/x-www-form-urlencoded";
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("the body must be JSON (Content-Type: application/json), not \"{essence}\""),
        ))
    }
}

/// Refuses writes that a browser sends on another site's behalf (CSRF): a request whose
/// `Origin` names another host than the one it was sent to, or that the browser marks
/// `Sec-Fetch-Site: cross-site`. Reads, and clients that are not browsers (curl sends no
/// `Origin`), pass.
pub(crate) async fn same_origin_writes(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{Method, header};
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = req.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    let origin_host = origin.map(|o| o.split_once("://").map_or(o, |(_, rest)| rest));
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    let foreign = match (origin_host, host) {
        (Some("null"), _) => true,
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !safe && (foreign || cross_site) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            format!(
                "writes from another site's page are refused (Origin {}); use the API from the standin UI, a script or curl",
                origin.unwrap_or("absent")
            ),
        )
        .into_response();
    }
    next.run(req).await
}

/// Parses JSON, reporting syntax errors by line and column and type errors by JSON pointer.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_positional_struct::<T>(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = pointer_of(e.path());
        describe(e.into_inner(), path)
    })?;
    de.end().map_err(|e| describe(e, String::new()))?;
    Ok(value)
}

fn describe(inner: serde_json::Error, path: String) -> ApiError {
    let (line, column) = (inner.line(), inner.column());
    let mut err = match inner.classify() {
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {}", strip_position(&inner)),
        ),
        serde_json::error::Category::Data => {
            let message = strip_position(&inner);
            // serde reports an unknown field at its parent; point at the field itself.
            // serde_path_to_error includes the key itself in some positions and not in
            // others, so add it only when it is missing.
            let pointer = match unknown_field(&message).map(standin_matcher::escape_pointer) {
                Some(field) if !path.ends_with(&format!("/{field}")) => format!("{path}/{field}"),
                _ => path,
            };
            let pointer = if pointer.is_empty() {
                "/".to_string()
            } else {
                pointer
            };
            ApiError::invalid(pointer, message)
        }
    };
    if line > 0 {
        err.body.line = Some(line);
        err.body.column = Some(column);
    }
    err
}

/// serde's derived structs also accept a JSON array of their fields in order. The API
/// documents objects, so a top-level array where an object is expected is refused (a body
/// that is meant to be an array, like a bulk route replacement, is left alone).
fn refuse_positional_struct<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), ApiError> {
    let expects_array = std::any::type_name::<T>().starts_with("alloc::vec::Vec<");
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') && !expects_array {
        return Err(ApiError::invalid(
            "/",
            "expected a JSON object, found an array",
        ));
    }
    Ok(())
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                out.push_str(&format!("/{}", standin_matcher::escape_pointer(key)))
            }
            Segment::Enum { variant } => {
                out.push_str(&format!("/{}", standin_matcher::escape_pointer(variant)))
            }
            Segment::Unknown => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use standin_model::Route;

    fn err(text: &str) -> ErrorBody {
        parse_json::<Route>(text.as_bytes()).unwrap_err().body
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let e = err("{\n  \"name\": \"x\",\n  oops\n}");
        assert_eq!(e.error, "invalid_json");
        assert_eq!((e.line, e.column), (Some(3), Some(3)));
        assert!(!e.message.contains("at line"), "{}", e.message);
    }

    #[test]
    fn unknown_fields_point_at_the_field() {
        let e = err(r#"{"http": {"request": {"metod": "GET"}}}"#);
        assert_eq!(e.pointer.as_deref(), Some("/http/request/metod"));
        let e = err(r#"{"name": "x", "colour": "red"}"#);
        assert_eq!(e.pointer.as_deref(), Some("/colour"));
        let e = err(r#"{"http": {"request": {"method": "GET", "metod": "GET"}}}"#);
        assert_eq!(e.error, "invalid_field");
        assert_eq!(e.pointer.as_deref(), Some("/http/request/metod"));
        assert!(e.message.contains("unknown field `metod`"), "{}", e.message);
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let e = err(r#"{"http": {"response": {"status": "200"}}}"#);
        assert_eq!(e.pointer.as_deref(), Some("/http/response/status"));
        let e = err(r#"{"http": {"request": {"headers": {"X-A": {"present": "yes"}}}}}"#);
        assert_eq!(
            e.pointer.as_deref(),
            Some("/http/request/headers/X-A/present")
        );
        let e = err(r#"{"http": {"request": {"body": {"jsonPath": {"path": 1}}}}}"#);
        assert_eq!(
            e.pointer.as_deref(),
            Some("/http/request/body/jsonPath/path")
        );
    }

    #[test]
    fn an_array_is_not_a_document() {
        let e = err(r#"["id", "name"]"#);
        assert_eq!(
            (e.error, e.pointer.as_deref()),
            ("invalid_field", Some("/"))
        );
        assert!(parse_json::<Vec<Route>>(b"[]").is_ok());
    }

    #[test]
    fn trailing_garbage_is_invalid_json() {
        let e = err(r#"{"name": "x"} x"#);
        assert_eq!(e.error, "invalid_json");
    }
}
