//! The synchronous heart of the serving path: which service, which route, what response.
//!
//! [`decide`] does no IO and never waits, so it can run on a mock worker with a small
//! budget or on the evaluation lane with the full one. Inline, running out of fuel is not
//! a failure: the caller decides again on the lane, from where the inline attempt
//! stopped. A route is claimed (its `times` counted) only when matching finished within
//! the budget, so deciding again never counts a use twice.

use crate::error::{ServeError, Stage};
use crate::io::MockBody;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri, Version, header};
use standin_matcher::{
    AnswerIndex, Budget, CompiledResponse, CompiledRoute, CompiledService, Exhausted, NearMiss,
    Outcome, Request, RouteTable,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A request as read off the connection, owned so it can cross to the lane.
#[derive(Clone)]
pub(crate) struct Incoming {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The client's address and ours.
    pub peers: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
}

impl Incoming {
    /// An empty request, left in place while the real one is lent to the lane.
    pub(crate) fn placeholder() -> Self {
        Incoming {
            method: Method::GET,
            uri: Uri::default(),
            version: Version::HTTP_11,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            peers: None,
        }
    }
}

/// Path values a route captured.
pub(crate) type PathValues = Vec<(Box<str>, String)>;

/// What the request gets.
pub(crate) struct Decision {
    /// The service the request reached, if any.
    pub service: Option<Arc<CompiledService>>,
    /// Where the path relative to the service's base path starts in the request's path
    /// (0 without a service); see [`Decision::relative`].
    pub relative_from: usize,
    pub route: Option<Arc<CompiledRoute>>,
    /// Which of the route's answers this request got (chosen once: a sequence advances
    /// once per request).
    pub answer: AnswerIndex,
    pub near_misses: Vec<NearMiss>,
    pub response: Response<MockBody>,
    pub delay_ms: u64,
    /// Set when the response is an error of standin's own.
    pub error: Option<ServeError>,
    /// A connection fault chaos chose instead of the route's answer.
    pub chaos_fault: Option<standin_matcher::CompiledFault>,
    /// No route matched and the service has an upstream: the answer comes from there.
    pub upstream: bool,
    /// The response is a real server's answer (set by the forward step).
    pub forwarded: bool,
    /// The request a forward template rendered, to send in the answer step.
    /// (Boxed: a decision is moved along the steps, and this is rarely set.)
    pub forward_request: Option<Box<standin_matcher::RenderedRequest>>,
}

impl Decision {
    /// A decision that is only a response: no route, no error, nothing more to do.
    pub(crate) fn plain(
        service: Option<Arc<CompiledService>>,
        relative_from: usize,
        response: Response<MockBody>,
    ) -> Self {
        Decision {
            service,
            relative_from,
            route: None,
            answer: AnswerIndex::default(),
            near_misses: Vec::new(),
            response,
            delay_ms: 0,
            error: None,
            chaos_fault: None,
            upstream: false,
            forwarded: false,
            forward_request: None,
        }
    }

    /// Whether the answer comes from the route's upstream.
    pub(crate) fn forwards(&self) -> bool {
        self.error.is_none()
            && (self.upstream || self.route.as_ref().is_some_and(|r| r.forward.is_some()))
    }

    /// The path relative to the service's base path (`/` when nothing is left of it).
    pub(crate) fn relative<'p>(&self, path: &'p str) -> &'p str {
        match path.get(self.relative_from..) {
            Some("") => "/",
            Some(rel) => rel,
            None => path,
        }
    }
}

/// Where a decision resumes.
pub(crate) enum Resume {
    Match,
    /// The route is chosen (and claimed); only the response is left to render.
    Render {
        route: Arc<CompiledRoute>,
        path_values: PathValues,
        answer: AnswerIndex,
    },
}

// Built once per request and moved once: boxing the large variant would cost an
// allocation per request for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Step {
    Done(Decision),
    /// The inline budget ran out; decide again with the full budget, from here.
    Again(Resume),
}

/// Decides the answer to `inc`. `inline` marks the worker's own attempt, whose running
/// out of fuel means "again, on the lane" rather than "over budget".
pub(crate) fn decide(
    table: &RouteTable,
    inc: &Incoming,
    host_routing: bool,
    budget: Budget,
    resume: Resume,
    inline: bool,
) -> Step {
    let path = inc.uri.path();
    let Some((svc, rel)) = table.resolve(host(inc, host_routing), path) else {
        return Step::Done(Decision::plain(
            None,
            0,
            no_service(inc.method.as_str(), path),
        ));
    };
    let relative_from = path.len() - rel.len();
    // Chaos's rate limit counts each request once: on the worker's own attempt.
    if inline
        && let Some(chaos) = &svc.info.chaos
        && !chaos.admit()
    {
        let mut response = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            serde_json::json!({
                "error": "rate_limited",
                "source": "configured",
                "message": format!("{} answers a limited number of requests a second (its chaos settings); retry after a second", svc.key),
            }),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Step::Done(Decision::plain(Some(svc.clone()), relative_from, response));
    }
    let rel = if rel.is_empty() { "/" } else { rel };
    let req = Request::new(
        inc.method.as_str(),
        rel,
        inc.uri.query(),
        &inc.headers,
        &inc.body,
    )
    .with_budget(budget)
    .with_peers(inc.peers);
    let decided = |route, answer, near_misses, response, delay_ms, error| {
        Step::Done(Decision {
            route,
            answer,
            near_misses,
            delay_ms,
            error,
            ..Decision::plain(Some(svc.clone()), relative_from, response)
        })
    };
    let failed = |route: Option<Arc<CompiledRoute>>, error: ServeError| {
        decided(
            route,
            AnswerIndex::default(),
            Vec::new(),
            error_response(&error),
            0,
            Some(error),
        )
    };
    // After work that spends the budget: decide again with the full budget on the lane,
    // or answer that the budget ran out. Clones only when it stops the request.
    let ran_out = |route: &Arc<CompiledRoute>,
                   path_values: &standin_eval::PathValues,
                   answer: AnswerIndex,
                   stage| {
        let why = req.budget().exhausted()?;
        if inline && why == Exhausted::Fuel {
            return Some(Step::Again(Resume::Render {
                route: route.clone(),
                path_values: path_values.clone(),
                answer,
            }));
        }
        let error = over_budget(Some(route), why, stage);
        Some(failed(Some(route.clone()), error))
    };
    // The answer comes from the service's upstream (the forward step); the near misses
    // stay for the journal until it answers.
    let upstream = |near_misses| {
        Step::Done(Decision {
            near_misses,
            upstream: true,
            ..Decision::plain(
                Some(svc.clone()),
                relative_from,
                empty(StatusCode::BAD_GATEWAY),
            )
        })
    };
    // Record mode: the real service answers everything, and the recorder turns what the
    // journal keeps of it into draft routes.
    if svc.info.record && svc.info.upstream.is_some() && matches!(resume, Resume::Match) {
        return upstream(Vec::new());
    }
    let (route, path_values, answer) = match resume {
        Resume::Render {
            route,
            path_values,
            answer,
        } => (route, path_values, answer),
        Resume::Match => match svc.find(&req) {
            Outcome::Matched(m) => {
                let answer = m.route.choose(&inc.headers);
                (m.route.clone(), m.path_values, answer)
            }
            // The real service answers what the mocks do not.
            Outcome::Unmatched(misses) if svc.info.upstream.is_some() => {
                return upstream(misses);
            }
            Outcome::Unmatched(misses) => {
                let response = match svc.info.not_found {
                    standin_model::NotFound::Explain => {
                        no_route(&svc.key, inc.method.as_str(), path, &misses)
                    }
                    standin_model::NotFound::Empty => empty(StatusCode::NOT_FOUND),
                };
                return decided(None, AnswerIndex::default(), misses, response, 0, None);
            }
            Outcome::OverBudget { route, why } => {
                if inline && why == Exhausted::Fuel {
                    return Step::Again(Resume::Match);
                }
                let route = svc.routes().iter().find(|r| r.id == route).cloned();
                let error = over_budget(route.as_ref(), why, Stage::Matching);
                return failed(route, error);
            }
        },
    };
    if svc.info.validate_requests
        && let Some(contract) = &route.contract
    {
        let violations = contract.check(&req, &path_values);
        // A body too large for this budget reads as "not JSON": no blame on the client.
        if let Some(step) = ran_out(&route, &path_values, answer, Stage::Matching) {
            return step;
        }
        if !violations.is_empty() {
            let error = ServeError::RequestInvalid {
                route: route.id.clone(),
                violations,
            };
            return failed(Some(route), error);
        }
    }
    let r = route.answer_at(answer);
    let mut forward_request = None;
    let (response, rendered_delay, failure) = match &r.document {
        // A forward template renders the request to send; what it cannot render is 502,
        // as MockServer answers.
        Some(t) if r.forward_template => match t.render_request(&req, &path_values) {
            Ok(fr) => {
                forward_request = Some(Box::new(fr));
                (empty(StatusCode::BAD_GATEWAY), 0, None)
            }
            Err(message) => {
                let failure = (!req.budget().is_exhausted()).then(|| ServeError::TemplateFailed {
                    route: route.id.clone(),
                    message,
                });
                (empty(StatusCode::BAD_GATEWAY), 0, failure)
            }
        },
        None => match build_response(r, &req, &path_values) {
            Ok(response) => (response, 0, None),
            Err(f) => {
                let error = ServeError::RenderFailed {
                    route: route.id.clone(),
                    field: f.field,
                    message: f.message,
                };
                (error_response(&error), 0, Some(error))
            }
        },
        Some(t) => match t.render(&req, &path_values) {
            Ok(d) => {
                let delay = d.delay_ms;
                (document_response(d), delay, None)
            }
            Err(message) => {
                // MockServer answers a template that renders no response with a bare 404;
                // a template cut short by its budget is standin's own failure.
                let failure = (!req.budget().is_exhausted()).then(|| ServeError::TemplateFailed {
                    route: route.id.clone(),
                    message,
                });
                (empty(StatusCode::NOT_FOUND), 0, failure)
            }
        },
    };
    if let Some(step) = ran_out(&route, &path_values, answer, Stage::Rendering) {
        return step;
    }
    if let Some(f) = &failure {
        tracing::warn!(error = %f.message(), "a response template rendered no response");
    }
    let drawn = |d: &Option<standin_matcher::CompiledDelay>| d.as_ref().map_or(0, |d| d.sample());
    let delay = svc
        .info
        .default_delay_ms
        .saturating_add(drawn(&svc.info.default_delay))
        .saturating_add(r.delay_ms)
        .saturating_add(drawn(&r.delay))
        .saturating_add(rendered_delay);
    let Some(chaos) = svc.info.chaos.as_ref().filter(|_| failure.is_none()) else {
        let step = decided(
            Some(route.clone()),
            answer,
            Vec::new(),
            response,
            delay,
            failure,
        );
        return match step {
            Step::Done(mut d) => {
                d.forward_request = forward_request;
                Step::Done(d)
            }
            other => other,
        };
    };
    // Chaos, rolled once per answered request: an error status or a connection fault in
    // place of the answer, and extra latency.
    let effect = chaos.roll(&route.id);
    let response = match effect.status {
        Some(status) => json_error(
            status,
            serde_json::json!({
                "error": "chaos",
                "source": "configured",
                "message": format!("{} answered {} on purpose (its chaos settings)", svc.key, status.as_u16()),
                "route": route.id.as_ref(),
            }),
        ),
        None => response,
    };
    Step::Done(Decision {
        route: Some(route.clone()),
        answer,
        delay_ms: delay + effect.extra_delay_ms,
        forward_request: forward_request.filter(|_| effect.fault.is_none()),
        chaos_fault: effect.fault,
        ..Decision::plain(Some(svc.clone()), relative_from, response)
    })
}

fn host(inc: &Incoming, host_routing: bool) -> Option<&str> {
    if !host_routing {
        return None;
    }
    inc.headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| inc.uri.authority().map(|a| a.as_str()))
}

/// Records the failure on the route (the API lists routes that ran out) and builds the
/// error.
fn over_budget(route: Option<&Arc<CompiledRoute>>, why: Exhausted, stage: Stage) -> ServeError {
    let id = match route {
        Some(r) => {
            r.counters.over_budget.fetch_add(1, Ordering::Relaxed);
            r.id.clone()
        }
        None => Arc::from(""),
    };
    ServeError::OverBudget {
        route: id,
        why,
        stage,
    }
}

pub(crate) fn build_response(
    r: &CompiledResponse,
    req: &Request<'_>,
    path_values: &[(Box<str>, String)],
) -> Result<Response<MockBody>, standin_matcher::RenderFailure> {
    let (data, rendered_headers) = match r.render(req, path_values) {
        Some(rendered) => {
            let rendered = rendered?;
            (rendered.body, Some(rendered.headers))
        }
        None => (r.body.clone(), None),
    };
    let body = match (r.chunk_size, r.omit_content_length) {
        _ if r.pacing.is_some() => {
            let (chunk, interval) = r.pacing.map(|p| p.plan(data.len())).unwrap_or_default();
            MockBody::paced(data, chunk, interval)
        }
        (Some(chunk), _) => MockBody::Chunked { data, chunk },
        (None, true) => MockBody::Chunked {
            chunk: data.len().max(1),
            data,
        },
        (None, false) => MockBody::full(data),
    };
    let mut response = Response::new(body);
    *response.status_mut() = r.status;
    let headers = response.headers_mut();
    for (name, value) in rendered_headers.as_ref().unwrap_or(&r.headers) {
        headers.append(name.clone(), value.clone());
    }
    set_reason(&mut response, r.reason.clone());
    Ok(response)
}

/// A whole response rendered from a document template.
/// A rendered MockServer response document (a template's, a callback client's) as the
/// response to send, its reason phrase included.
pub fn document_response(d: standin_matcher::RenderedResponse) -> Response<MockBody> {
    let mut response = Response::new(MockBody::full(d.body));
    *response.status_mut() = d.status;
    for (name, value) in d.headers {
        response.headers_mut().append(name, value);
    }
    set_reason(&mut response, d.reason);
    response
}

/// Sets the status line's reason phrase: the route's own, or none for a status without a
/// standard one (hyper would otherwise write `<none>`).
fn set_reason(response: &mut Response<MockBody>, reason: Option<Bytes>) {
    let phrase = match reason {
        Some(r) => hyper::ext::ReasonPhrase::try_from(r).ok(),
        None if response.status().canonical_reason().is_none() => {
            Some(hyper::ext::ReasonPhrase::from_static(b""))
        }
        None => None,
    };
    if let Some(p) = phrase {
        response.extensions_mut().insert(p);
    }
}

pub(crate) fn empty(status: StatusCode) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// A JSON error response of the data plane.
pub(crate) fn json_error(status: StatusCode, body: serde_json::Value) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn error_response(e: &ServeError) -> Response<MockBody> {
    json_error(e.status(), e.body())
}

fn no_service(method: &str, path: &str) -> Response<MockBody> {
    json_error(
        StatusCode::NOT_FOUND,
        serde_json::json!({
            "error": "no_service",
            "source": "client",
            "message": format!("no service is served at {path}; services live under their base path, /{{team}}/{{service}} by default"),
            "request": { "method": method, "path": path },
        }),
    )
}

fn no_route(service: &str, method: &str, path: &str, misses: &[NearMiss]) -> Response<MockBody> {
    json_error(
        StatusCode::NOT_FOUND,
        serde_json::json!({
            "error": "no_route_matched",
            "source": "client",
            "message": format!("no route of {service} matched {method} {path}"),
            "service": service,
            "request": { "method": method, "path": path },
            "nearMisses": misses,
        }),
    )
}
