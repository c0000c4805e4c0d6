//! standin's own failures on the serving path, kept apart from the faults a route is
//! told to inject. Each has a stable code (journal entries, error bodies, and later
//! metrics carry it) and a status.

use http::StatusCode;
use standin_matcher::Exhausted;
use std::sync::Arc;

/// Why the data plane answered with an error of its own (not a configured response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeError {
    /// The request body is larger than `limits.max-body-bytes`.
    BodyTooLarge { limit: usize },
    /// The body did not arrive within `limits.body-read-timeout-ms`.
    BodyTimeout,
    /// The body could not be read (the client broke the framing or went away).
    BodyUnreadable(String),
    /// Request bodies in flight already hold `limits.max-inflight-body-bytes`.
    UploadsFull { limit: usize },
    /// The evaluation lane's queue is full.
    LaneFull,
    /// Matching or rendering ran out of its budget.
    OverBudget {
        route: Arc<str>,
        why: Exhausted,
        stage: Stage,
    },
    /// A response template failed to render.
    TemplateFailed { route: Arc<str>, message: String },
    /// standin itself failed (a bug): a panic, caught at the request boundary.
    Panic { stage: Stage, message: String },
    /// A forwarding route could not reach its upstream.
    ForwardFailed(String),
    /// The request was forwarded by standin already and would be forwarded again.
    ForwardLoop,
}

/// Where on the serving path a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Matching,
    Rendering,
    Serving,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Matching => "matching",
            Stage::Rendering => "rendering",
            Stage::Serving => "serving",
        }
    }
}

impl ServeError {
    /// The stable code, as in error bodies and journal entries.
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::BodyTooLarge { .. } => "body_too_large",
            ServeError::BodyTimeout => "body_timeout",
            ServeError::BodyUnreadable(_) => "body_unreadable",
            ServeError::UploadsFull { .. } => "uploads_full",
            ServeError::LaneFull => "evaluation_lane_full",
            ServeError::OverBudget { .. } => "budget_exceeded",
            ServeError::TemplateFailed { .. } => "template_failed",
            ServeError::Panic { .. } => "internal_error",
            ServeError::ForwardFailed(_) => "forward_failed",
            ServeError::ForwardLoop => "forward_loop",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServeError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ServeError::BodyUnreadable(_) => StatusCode::BAD_REQUEST,
            ServeError::UploadsFull { .. } | ServeError::LaneFull => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ServeError::OverBudget { .. }
            | ServeError::TemplateFailed { .. }
            | ServeError::Panic { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ServeError::ForwardFailed(_) => StatusCode::BAD_GATEWAY,
            ServeError::ForwardLoop => StatusCode::LOOP_DETECTED,
        }
    }

    /// What to tell the client: what happened and what to do about it.
    pub fn message(&self) -> String {
        match self {
            ServeError::BodyTooLarge { limit } => {
                format!("the request body is larger than {limit} bytes (limits.max-body-bytes)")
            }
            ServeError::BodyTimeout => {
                "the request body did not arrive in time (limits.body-read-timeout-ms)".into()
            }
            ServeError::BodyUnreadable(e) => format!("the request body could not be read: {e}"),
            ServeError::UploadsFull { limit } => format!(
                "request bodies in flight already hold {limit} bytes (limits.max-inflight-body-bytes); retry shortly"
            ),
            ServeError::LaneFull => {
                "too many requests need long evaluations at once; retry shortly".into()
            }
            ServeError::OverBudget { route, why, stage } => format!(
                "route \"{route}\" ran out of its evaluation budget ({}) while {}; simplify its conditions or templates, or raise limits.evaluation-fuel / limits.evaluation-timeout-ms",
                why.as_str(),
                stage.as_str()
            ),
            ServeError::TemplateFailed { route, message } => {
                format!("the response template of route \"{route}\" failed: {message}")
            }
            ServeError::Panic { stage, message } => format!(
                "standin failed while {} this request (a bug; it has been logged): {message}",
                stage.as_str()
            ),
            ServeError::ForwardFailed(m) => m.clone(),
            ServeError::ForwardLoop => {
                "this request was forwarded by standin and would be forwarded again".into()
            }
        }
    }

    /// The JSON error body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "error": self.code(), "message": self.message() });
        if let ServeError::OverBudget { route, why, .. } = self {
            body["route"] = serde_json::json!(route.as_ref());
            body["budget"] = serde_json::json!(why.as_str());
        }
        body
    }
}
