//! standin's own failures on the serving path, kept apart from the faults a route is
//! told to inject. Each has a stable code (journal entries, error bodies, and later
//! metrics carry it) and a status.

use http::StatusCode;
use standin_matcher::Exhausted;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Whose doing an error is: what metrics and logs keep apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The request itself: a body too large, too slow or unreadable (and, outside this
    /// enum, a request for no service or no route).
    Client,
    /// A definition a user wrote: a route too costly for its budget, a template that
    /// renders nothing, an upstream that does not answer.
    Configured,
    /// standin: a full lane or upload budget (capacity), or a bug.
    Standin,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Client => "client",
            Source::Configured => "configured",
            Source::Standin => "standin",
        }
    }
}

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
    /// The evaluation lane's queue is full, or a request waited in it longer than the
    /// evaluation timeout.
    LaneFull,
    /// Matching or rendering ran out of its budget.
    OverBudget {
        route: Arc<str>,
        why: Exhausted,
        stage: Stage,
    },
    /// A response template failed to render.
    TemplateFailed { route: Arc<str>, message: String },
    /// A route's Handlebars template failed to render (`line N: why`): 500.
    RenderFailed {
        route: Arc<str>,
        field: &'static str,
        message: String,
    },
    /// standin itself failed (a bug): a panic, caught at the request boundary.
    Panic { stage: Stage, message: String },
    /// A forwarding route could not reach its upstream.
    ForwardFailed(String),
    /// The upstream did not answer within `forward.timeout-ms`.
    ForwardTimeout(String),
    /// A request no route matched could not be answered by the service's upstream (it
    /// failed, or its breaker is open) and no fallback route matched.
    UpstreamUnavailable(String),
    /// The request was forwarded by standin already and would be forwarded again.
    ForwardLoop,
    /// The service validates requests, and this one breaks its route's contract.
    RequestInvalid {
        route: Arc<str>,
        violations: Vec<standin_matcher::Violation>,
    },
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

/// Every code a [`ServeError`] can have, with whose doing it is, in the order of
/// [`ServeError::kind`]: what `/metrics` lists.
pub const SERVE_ERROR_KINDS: [(&str, Source); 14] = [
    ("body_too_large", Source::Client),
    ("body_timeout", Source::Client),
    ("body_unreadable", Source::Client),
    ("uploads_full", Source::Standin),
    ("evaluation_lane_full", Source::Standin),
    ("budget_exceeded", Source::Configured),
    ("template_failed", Source::Configured),
    ("render_failed", Source::Configured),
    ("internal_error", Source::Standin),
    ("forward_failed", Source::Configured),
    ("forward_timeout", Source::Configured),
    ("upstream_unavailable", Source::Configured),
    ("forward_loop", Source::Configured),
    ("request_invalid", Source::Client),
];

impl ServeError {
    /// The index of this error's code in [`SERVE_ERROR_KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            ServeError::BodyTooLarge { .. } => 0,
            ServeError::BodyTimeout => 1,
            ServeError::BodyUnreadable(_) => 2,
            ServeError::UploadsFull { .. } => 3,
            ServeError::LaneFull => 4,
            ServeError::OverBudget { .. } => 5,
            ServeError::TemplateFailed { .. } => 6,
            ServeError::RenderFailed { .. } => 7,
            ServeError::Panic { .. } => 8,
            ServeError::ForwardFailed(_) => 9,
            ServeError::ForwardTimeout(_) => 10,
            ServeError::UpstreamUnavailable(_) => 11,
            ServeError::ForwardLoop => 12,
            ServeError::RequestInvalid { .. } => 13,
        }
    }

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
            ServeError::RenderFailed { .. } => "render_failed",
            ServeError::Panic { .. } => "internal_error",
            ServeError::ForwardFailed(_) => "forward_failed",
            ServeError::ForwardTimeout(_) => "forward_timeout",
            ServeError::UpstreamUnavailable(_) => "upstream_unavailable",
            ServeError::ForwardLoop => "forward_loop",
            ServeError::RequestInvalid { .. } => "request_invalid",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServeError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ServeError::BodyUnreadable(_) | ServeError::RequestInvalid { .. } => {
                StatusCode::BAD_REQUEST
            }
            ServeError::UploadsFull { .. } | ServeError::LaneFull => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            // MockServer answers a template that renders no response with a bare 404.
            ServeError::TemplateFailed { .. } => StatusCode::NOT_FOUND,
            ServeError::OverBudget { .. }
            | ServeError::Panic { .. }
            | ServeError::RenderFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ServeError::ForwardFailed(_) => StatusCode::BAD_GATEWAY,
            ServeError::ForwardTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ServeError::UpstreamUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::ForwardLoop => StatusCode::LOOP_DETECTED,
        }
    }

    /// Whose doing it is.
    pub fn source(&self) -> Source {
        match self {
            ServeError::BodyTooLarge { .. }
            | ServeError::BodyTimeout
            | ServeError::BodyUnreadable(_)
            | ServeError::RequestInvalid { .. } => Source::Client,
            ServeError::OverBudget { .. }
            | ServeError::TemplateFailed { .. }
            | ServeError::RenderFailed { .. }
            | ServeError::ForwardFailed(_)
            | ServeError::ForwardTimeout(_)
            | ServeError::UpstreamUnavailable(_)
            | ServeError::ForwardLoop => Source::Configured,
            ServeError::UploadsFull { .. } | ServeError::LaneFull | ServeError::Panic { .. } => {
                Source::Standin
            }
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
            ServeError::RenderFailed {
                route,
                field,
                message,
            } => format!("the template of route \"{route}\" ({field}) failed at {message}"),
            ServeError::Panic { stage, message } => format!(
                "standin failed while {} this request (a bug; it has been logged): {message}",
                stage.as_str()
            ),
            ServeError::ForwardFailed(m) | ServeError::ForwardTimeout(m) => m.clone(),
            ServeError::UpstreamUnavailable(m) => {
                format!("{m}, and no fallback route matched the request")
            }
            ServeError::ForwardLoop => {
                "this request was forwarded by standin and would be forwarded again".into()
            }
            ServeError::RequestInvalid { route, violations } => format!(
                "the request breaks the contract of route \"{route}\" ({} violation{}; the service validates requests)",
                violations.len(),
                if violations.len() == 1 { "" } else { "s" }
            ),
        }
    }

    /// The JSON error body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "error": self.code(),
            "message": self.message(),
            "source": self.source().as_str(),
        });
        if let ServeError::OverBudget { route, why, .. } = self {
            body["route"] = serde_json::json!(route.as_ref());
            body["budget"] = serde_json::json!(why.as_str());
        }
        if let ServeError::RenderFailed { route, field, .. } = self {
            body["route"] = serde_json::json!(route.as_ref());
            body["template"] = serde_json::json!(field);
        }
        if let ServeError::RequestInvalid { route, violations } = self {
            body["route"] = serde_json::json!(route.as_ref());
            body["violations"] = serde_json::json!(violations);
        }
        body
    }
}

/// Counts of what the data plane refused or failed at, for `GET /api/v1/status` (and
/// metrics). Plain atomics: counting costs the serving path an increment.
#[derive(Debug, Default)]
pub struct ServeStats {
    /// Panics caught at the request boundary (standin's bugs).
    pub panics: AtomicU64,
    /// Requests whose evaluation ran out of fuel or time.
    pub over_budget: AtomicU64,
    /// Requests handed to the evaluation lane.
    pub lane_runs: AtomicU64,
    /// Requests refused because the evaluation lane was full.
    pub lane_full: AtomicU64,
    /// Uploads refused because request bodies in flight held their budget.
    pub uploads_full: AtomicU64,
    /// Bodies that did not arrive in time.
    pub body_timeouts: AtomicU64,
    /// Bodies over the size limit.
    pub bodies_too_large: AtomicU64,
    /// Response templates that rendered no response (answered 404, as MockServer does).
    pub template_failures: AtomicU64,
    /// Forwarding routes whose upstream failed, timed out or looped.
    pub forward_failures: AtomicU64,
    /// Requests refused for breaking their route's contract.
    pub invalid_requests: AtomicU64,
    /// Connections refused at the connection cap.
    pub connections_refused: AtomicU64,
    /// Connections closed for sending nothing or sitting idle.
    pub connections_idle_closed: AtomicU64,
    /// Answers given before a service was found (no service, an unreadable body), by
    /// status class.
    pub unrouted: standin_matcher::StatusCounts,
    /// Every error by kind (the index of [`SERVE_ERROR_KINDS`]).
    pub by_kind: [AtomicU64; SERVE_ERROR_KINDS.len()],
}

impl ServeStats {
    /// Counts one failure of the given kind.
    pub fn count(&self, e: &ServeError) {
        self.by_kind[e.kind()].fetch_add(1, Ordering::Relaxed);
        let counter = match e {
            ServeError::Panic { .. } => &self.panics,
            ServeError::OverBudget { .. } => &self.over_budget,
            ServeError::LaneFull => &self.lane_full,
            ServeError::UploadsFull { .. } => &self.uploads_full,
            ServeError::BodyTimeout => &self.body_timeouts,
            ServeError::BodyTooLarge { .. } => &self.bodies_too_large,
            ServeError::TemplateFailed { .. } | ServeError::RenderFailed { .. } => {
                &self.template_failures
            }
            ServeError::ForwardFailed(_)
            | ServeError::ForwardTimeout(_)
            | ServeError::UpstreamUnavailable(_)
            | ServeError::ForwardLoop => &self.forward_failures,
            ServeError::RequestInvalid { .. } => &self.invalid_requests,
            ServeError::BodyUnreadable(_) => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as a JSON object (for the status endpoint).
    pub fn snapshot(&self) -> serde_json::Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "panics": n(&self.panics),
            "overBudget": n(&self.over_budget),
            "laneRuns": n(&self.lane_runs),
            "laneFull": n(&self.lane_full),
            "uploadsFull": n(&self.uploads_full),
            "bodyTimeouts": n(&self.body_timeouts),
            "bodiesTooLarge": n(&self.bodies_too_large),
            "templateFailures": n(&self.template_failures),
            "forwardFailures": n(&self.forward_failures),
            "invalidRequests": n(&self.invalid_requests),
            "connectionsRefused": n(&self.connections_refused),
            "connectionsIdleClosed": n(&self.connections_idle_closed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table `/metrics` lists agrees with each error's own code and source.
    #[test]
    fn every_kind_has_its_code_and_source_in_the_table() {
        let route: Arc<str> = Arc::from("r");
        let all = [
            ServeError::BodyTooLarge { limit: 1 },
            ServeError::BodyTimeout,
            ServeError::BodyUnreadable(String::new()),
            ServeError::UploadsFull { limit: 1 },
            ServeError::LaneFull,
            ServeError::OverBudget {
                route: route.clone(),
                why: Exhausted::Fuel,
                stage: Stage::Matching,
            },
            ServeError::TemplateFailed {
                route: route.clone(),
                message: String::new(),
            },
            ServeError::RenderFailed {
                route: route.clone(),
                field: "body",
                message: String::new(),
            },
            ServeError::Panic {
                stage: Stage::Serving,
                message: String::new(),
            },
            ServeError::ForwardFailed(String::new()),
            ServeError::ForwardTimeout(String::new()),
            ServeError::UpstreamUnavailable(String::new()),
            ServeError::ForwardLoop,
            ServeError::RequestInvalid {
                route,
                violations: Vec::new(),
            },
        ];
        let mut seen = [false; SERVE_ERROR_KINDS.len()];
        for e in &all {
            assert_eq!(SERVE_ERROR_KINDS[e.kind()], (e.code(), e.source()), "{e:?}");
            seen[e.kind()] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
