//! A route ready to match and answer, and its counters.

use crate::{CompileError, CompiledForward, CompiledRequestMatcher, CompiledResponse};
use standin_model::Route;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-route counters that outlive table rebuilds while the route is unchanged.
#[derive(Debug, Default)]
pub struct RouteCounters {
    /// Requests this route answered.
    pub served: AtomicU64,
    /// Requests whose matching or rendering ran out of budget on this route.
    pub over_budget: AtomicU64,
    /// The next answer of a sequence (in order), or the random generator's state.
    pub(crate) sequence: AtomicU64,
}

/// A route ready to match and answer.
#[derive(Debug)]
pub struct CompiledRoute {
    pub id: Arc<str>,
    pub name: String,
    pub priority: i32,
    pub created_seq: u64,
    pub(crate) specificity: (u8, Vec<u8>),
    pub request: CompiledRequestMatcher,
    pub response: CompiledResponse,
    /// The answers a client can pick with `Prefer` ([`CompiledRoute::answer`]).
    pub alternatives: Box<[CompiledResponse]>,
    /// Send the request on to a real server instead of answering with `response`.
    pub forward: Option<CompiledForward>,
    /// What a valid request looks like, checked when the service validates requests.
    pub contract: Option<crate::CompiledContract>,
    pub times: Option<u64>,
    /// Milliseconds since the Unix epoch after which the route no longer matches.
    pub expires_at_ms: Option<u64>,
    pub counters: Arc<RouteCounters>,
    /// Its Prometheus series, which outlive changes to the route (unlike `counters`).
    pub metrics: Arc<crate::RouteMetrics>,
    /// The route's step in a scenario of its service (bound when the service is built).
    pub scenario: Option<standin_model::ScenarioStep>,
    /// Served only when the service's upstream fails.
    pub fallback: bool,
    /// Answers that take turns; `response` is not used when there is one.
    sequence: Option<Sequence>,
}

/// A compiled [`standin_model::ResponseSequence`].
#[derive(Debug)]
struct Sequence {
    mode: standin_model::SequenceMode,
    responses: Box<[CompiledResponse]>,
    /// Running sums of the weights (random mode), the last being the total.
    cumulative: Box<[u64]>,
    /// Where the random order starts: the route's seed, or the time it was compiled.
    seed: u64,
}

/// Where a request's answer is among a route's answers: the response, then the
/// alternatives, then the sequence's entries. Chosen once per request
/// ([`CompiledRoute::choose`]), so a sequence advances once however often the answer is
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnswerIndex(usize);

impl CompiledRoute {
    /// Compiles a route definition; errors point into the route document.
    pub fn compile(
        route: &Route,
        created_seq: u64,
        counters: Arc<RouteCounters>,
    ) -> Result<Self, CompileError> {
        let http = route.http.as_ref().ok_or_else(|| {
            CompileError::new(
                "/http",
                "a route needs exactly one protocol section; today that is \"http\"".to_string(),
            )
        })?;
        let request = CompiledRequestMatcher::compile(&http.request, "/http/request")?;
        let response = CompiledResponse::compile(&http.response, "/http/response")?;
        let alternatives = http
            .alternatives
            .iter()
            .enumerate()
            .map(|(i, a)| CompiledResponse::compile(a, &format!("/http/alternatives/{i}")))
            .collect::<Result<Box<[_]>, _>>()?;
        let forward = http
            .forward
            .as_ref()
            .map(|f| CompiledForward::compile(f, "/http/forward"))
            .transpose()?;
        let contract = http
            .contract
            .as_ref()
            .map(|c| crate::CompiledContract::compile(c, "/http/contract"))
            .transpose()?;
        let sequence = http
            .sequence
            .as_ref()
            .map(|q| compile_sequence(q, http))
            .transpose()?;
        if let Some(step) = &route.scenario {
            check_scenario(step)?;
        }
        let expires_at_ms = match &route.expires_at {
            None => None,
            Some(t) => Some(
                t.parse::<jiff::Timestamp>()
                    .map_err(|e| {
                        CompileError::new(
                            "/expiresAt",
                            format!("\"{t}\" is not an RFC 3339 time: {e}"),
                        )
                    })?
                    .as_millisecond()
                    .max(0) as u64,
            ),
        };
        Ok(CompiledRoute {
            id: Arc::from(route.id.as_str()),
            name: route.name.clone(),
            priority: route.priority,
            created_seq,
            specificity: request.path.specificity(),
            request,
            response,
            alternatives,
            forward,
            contract,
            times: route.times,
            expires_at_ms,
            counters,
            metrics: Arc::default(),
            scenario: route.scenario.clone(),
            fallback: route.fallback,
            sequence,
        })
    }

    /// Picks the answer for a request: a sequence's next entry, or what `Prefer` asks for
    /// ([`CompiledRoute::answer`]). Advances a sequence: call once per request.
    pub fn choose(&self, headers: &http::HeaderMap) -> AnswerIndex {
        let first_sequence = 1 + self.alternatives.len();
        if let Some(q) = &self.sequence {
            return AnswerIndex(first_sequence + q.next(&self.counters.sequence));
        }
        if self.alternatives.is_empty() {
            return AnswerIndex(0);
        }
        let picked = self.preferred(headers);
        AnswerIndex(
            std::iter::once(&self.response)
                .chain(self.alternatives.iter())
                .position(|r| std::ptr::eq(r, picked))
                .unwrap_or(0),
        )
    }

    /// The answer at `at` (from [`CompiledRoute::choose`]).
    pub fn answer_at(&self, at: AnswerIndex) -> &CompiledResponse {
        let i = at.0;
        if i == 0 {
            return &self.response;
        }
        if let Some(a) = self.alternatives.get(i - 1) {
            return a;
        }
        self.sequence
            .as_ref()
            .and_then(|q| q.responses.get(i - 1 - self.alternatives.len()))
            .unwrap_or(&self.response)
    }

    /// The answer a request asks for: with `Prefer` (Prism's `code=404`, `example=name`,
    /// separated by commas or semicolons) or Postman's `x-mock-response-code` and
    /// `x-mock-response-name`, the first of the default response and the alternatives that
    /// has the status and the name asked for. Without alternatives, or when none fits, the
    /// default response. Only routes with alternatives read the headers.
    ///
    /// ```
    /// # use standin_matcher::CompiledRoute;
    /// let route: standin_model::Route = serde_json::from_value(serde_json::json!({
    ///     "id": "r", "http": {"response": {"status": 200},
    ///     "alternatives": [{"status": 404, "name": "missing"}, {"status": 404, "name": "gone"}]}})).unwrap();
    /// let r = CompiledRoute::compile(&route, 1, Default::default()).unwrap();
    /// let pick = |k: &str, v: &str| {
    ///     let mut h = http::HeaderMap::new();
    ///     h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    ///     let a = r.answer(&h);
    ///     (a.status.as_u16(), a.name.as_deref().map(str::to_string))
    /// };
    /// assert_eq!(pick("prefer", "code=404").0, 404);
    /// assert_eq!(pick("prefer", "example=gone").1.as_deref(), Some("gone"));
    /// assert_eq!(pick("x-mock-response-name", "gone").1.as_deref(), Some("gone"));
    /// assert_eq!(pick("prefer", "code=500").0, 200, "no such answer: the default");
    /// assert_eq!(r.answer(&http::HeaderMap::new()).status.as_u16(), 200);
    /// ```
    pub fn answer(&self, headers: &http::HeaderMap) -> &CompiledResponse {
        self.answer_at(self.choose(headers))
    }

    /// The answer `Prefer` and Postman's headers ask for, among the response and the
    /// alternatives.
    fn preferred(&self, headers: &http::HeaderMap) -> &CompiledResponse {
        if self.alternatives.is_empty() {
            return &self.response;
        }
        let mut code = None;
        let mut example = None;
        if let Some(prefer) = headers.get("prefer").and_then(|p| p.to_str().ok()) {
            for part in prefer.split([',', ';']) {
                match part.trim().split_once('=') {
                    Some((k, v)) if k.trim().eq_ignore_ascii_case("code") => {
                        code = v.trim().trim_matches('"').parse::<u16>().ok();
                    }
                    Some((k, v)) if k.trim().eq_ignore_ascii_case("example") => {
                        example = Some(v.trim().trim_matches('"'));
                    }
                    _ => {}
                }
            }
        }
        if let Some(n) = headers
            .get("x-mock-response-name")
            .and_then(|v| v.to_str().ok())
        {
            example = Some(n.trim());
        }
        if let Some(c) = headers
            .get("x-mock-response-code")
            .and_then(|v| v.to_str().ok())
        {
            code = c.trim().parse::<u16>().ok();
        }
        if code.is_none() && example.is_none() {
            return &self.response;
        }
        std::iter::once(&self.response)
            .chain(self.alternatives.iter())
            .find(|r| {
                code.is_none_or(|c| r.status.as_u16() == c)
                    && example.is_none_or(|e| r.name.as_deref() == Some(e))
            })
            .unwrap_or(&self.response)
    }

    /// Takes one use of the route. Fails only when `times` is set and used up; the check
    /// and the count are one atomic step, so concurrent requests never exceed `times`.
    pub(crate) fn claim(&self) -> bool {
        if self.expired() {
            return false;
        }
        let served = &self.counters.served;
        match self.times {
            None => {
                served.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(limit) => served
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < limit).then_some(n + 1)
                })
                .is_ok(),
        }
    }

    pub(crate) fn expired(&self) -> bool {
        self.expires_at_ms.is_some_and(|at| now_ms() >= at)
    }

    pub(crate) fn exhausted(&self) -> bool {
        self.times
            .is_some_and(|t| self.counters.served.load(Ordering::Relaxed) >= t)
    }

    pub(crate) fn order_key(&self, order: standin_model::MatchOrder) -> impl Ord + '_ {
        use standin_model::MatchOrder;
        let specificity = match order {
            MatchOrder::Specific => Some(&self.specificity),
            MatchOrder::Oldest | MatchOrder::Newest => None,
        };
        // Newest first: the creation order negated (it never reaches i64::MAX).
        let age = match order {
            MatchOrder::Newest => -(self.created_seq.min(i64::MAX as u64) as i64),
            MatchOrder::Specific | MatchOrder::Oldest => {
                self.created_seq.min(i64::MAX as u64) as i64
            }
        };
        (
            std::cmp::Reverse(self.priority),
            std::cmp::Reverse(specificity),
            age,
            &self.id,
        )
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Sequence {
    /// The index of the next entry.
    fn next(&self, state: &AtomicU64) -> usize {
        use standin_model::SequenceMode;
        let n = self.responses.len();
        match self.mode {
            SequenceMode::InOrder => {
                // Stops counting at the last entry, so the counter cannot wrap around.
                let taken = state
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |i| {
                        Some((i + 1).min(n as u64))
                    })
                    .unwrap_or(0);
                (taken as usize).min(n - 1)
            }
            SequenceMode::Cycle => (state.fetch_add(1, Ordering::AcqRel) % n as u64) as usize,
            SequenceMode::Random => {
                // splitmix64 over an atomic state: a repeatable order for a given seed, and
                // no lock between concurrent requests.
                let x = self
                    .seed
                    .wrapping_add(state.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::AcqRel))
                    .wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                let total = *self.cumulative.last().unwrap_or(&1);
                let roll = z % total;
                self.cumulative.partition_point(|&c| c <= roll)
            }
        }
    }
}

fn compile_sequence(
    q: &standin_model::ResponseSequence,
    http: &standin_model::HttpRoute,
) -> Result<Sequence, CompileError> {
    use standin_model::SequenceMode;
    if q.responses.is_empty() {
        return Err(CompileError::new(
            "/http/sequence/responses",
            "a sequence needs at least one response".to_string(),
        ));
    }
    if !http.alternatives.is_empty() {
        return Err(CompileError::new(
            "/http/alternatives",
            "a route answers either from a sequence or from alternatives picked with Prefer, not both".to_string(),
        ));
    }
    if http.response != standin_model::HttpResponse::default() {
        return Err(CompileError::new(
            "/http/response",
            "with a sequence, the answers are its responses: leave response out".to_string(),
        ));
    }
    if !q.weights.is_empty() {
        if q.mode != SequenceMode::Random {
            return Err(CompileError::new(
                "/http/sequence/weights",
                "weights apply to mode \"random\" only".to_string(),
            ));
        }
        if q.weights.len() != q.responses.len() {
            return Err(CompileError::new(
                "/http/sequence/weights",
                format!(
                    "{} weights for {} responses: give one per response",
                    q.weights.len(),
                    q.responses.len()
                ),
            ));
        }
        if let Some(i) = q.weights.iter().position(|w| *w == 0) {
            return Err(CompileError::new(
                &format!("/http/sequence/weights/{i}"),
                "a weight is at least 1".to_string(),
            ));
        }
    }
    if q.seed.is_some() && q.mode != SequenceMode::Random {
        return Err(CompileError::new(
            "/http/sequence/seed",
            "a seed applies to mode \"random\" only".to_string(),
        ));
    }
    let responses = q
        .responses
        .iter()
        .enumerate()
        .map(|(i, r)| CompiledResponse::compile(r, &format!("/http/sequence/responses/{i}")))
        .collect::<Result<Box<[_]>, _>>()?;
    let mut total = 0u64;
    let cumulative = (0..responses.len())
        .map(|i| {
            total += u64::from(q.weights.get(i).copied().unwrap_or(1));
            total
        })
        .collect();
    let seed = q.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    Ok(Sequence {
        mode: q.mode,
        responses,
        cumulative,
        seed,
    })
}

fn check_scenario(step: &standin_model::ScenarioStep) -> Result<(), CompileError> {
    let name_ok = |s: &str| !s.trim().is_empty() && s.len() <= 128;
    if !name_ok(&step.name) {
        return Err(CompileError::new(
            "/scenario/name",
            "a scenario needs a name (1 to 128 characters)".to_string(),
        ));
    }
    for (field, state) in [
        ("requiredState", &step.required_state),
        ("newState", &step.new_state),
    ] {
        if let Some(s) = state
            && !name_ok(s)
        {
            return Err(CompileError::new(
                &format!("/scenario/{field}"),
                "a state name is 1 to 128 characters".to_string(),
            ));
        }
    }
    Ok(())
}
