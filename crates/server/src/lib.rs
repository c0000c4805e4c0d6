//! The data plane: accepts mock traffic and answers it from the published route table.
//!
//! One port speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c); hyper-util's `auto`
//! builder tells them apart by the connection preface. A request goes through a short
//! pipeline:
//!
//! 1. **read** the body within its size limit, its deadline and the shared in-flight byte
//!    budget ([`limits`]);
//! 2. **resolve** the service, route and response synchronously on the worker, on a
//!    small budget ([`decide`]); a request that outgrows it is decided again on the
//!    evaluation lane with the full budget ([`lane`]), so costly definitions never hold a
//!    worker;
//! 3. **answer**: wait out a configured delay, forward when the route says so;
//! 4. **record**: count a failure, journal the exchange without waiting ([`record`]);
//! 5. **deliver**: hand the response to hyper, write it raw, or inject the route's
//!    connection fault.
//!
//! Connections ([`conn`]) are capped, and a watchdog closes those that send nothing or
//! sit idle.
//!
//! It never touches the store, never takes a lock the control plane holds, and a panic
//! anywhere in it becomes a 500 for that request alone.

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use standin_journal::JournalWriter;
use standin_matcher::{Budget, CompiledFault, Exhausted, RouteTable};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

mod conn;
mod decide;
mod error;
mod forward;
mod io;
mod lane;
mod limits;
mod record;
pub mod trace;
pub mod ws;

pub use decide::document_response;
pub use error::{SERVE_ERROR_KINDS, ServeError, ServeStats, Source, Stage};
pub use forward::check_ca_pem;
pub use io::MockBody;
pub use lane::lower_priority;

use decide::{Decision, Incoming as Req, Resume, Step};

/// Limits and behaviour of the mock listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// Request bodies in flight together; a new upload beyond it gets 503.
    pub max_inflight_body_bytes: usize,
    /// The request line and headers together (HTTP/1.1), or the header list (HTTP/2).
    /// Larger ones get 431 (HTTP/1.1) or a stream reset (HTTP/2).
    pub max_header_bytes: usize,
    /// More request headers than this get 431 (HTTP/1.1).
    pub max_headers: usize,
    /// A client that has sent nothing, or not its whole header, by then is disconnected.
    pub header_read_timeout: Duration,
    /// A body that has not fully arrived by then (counted from its headers) gets 408.
    pub body_read_timeout: Duration,
    /// A connection with no request in progress and no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; one more gets 503 and is closed.
    pub max_connections: usize,
    /// Work a mock worker spends on one request before handing it to the evaluation lane.
    pub inline_fuel: u64,
    /// Work one request may cost in all (matching and rendering).
    pub evaluation_fuel: u64,
    /// Time one request's matching and rendering may take, counted from its arrival.
    pub evaluation_timeout: Duration,
    /// Threads of the evaluation lane, and requests that may wait for them.
    pub evaluation_threads: usize,
    pub evaluation_queue: usize,
    /// How much lower than the mock workers the lane's threads run (Unix nice, 0 to 19):
    /// costly evaluations then take the CPU only when mock traffic leaves it.
    pub evaluation_nice: u8,
    /// Whether a service's `hosts` select it by the `Host` header.
    pub host_routing: bool,
    /// How long shutdown waits for open connections.
    pub shutdown_grace: Duration,
    /// How long a forwarding route waits for its upstream.
    pub forward_timeout: Duration,
    /// Extra certificates (PEM) trusted for https upstreams, beside the web PKI roots.
    pub forward_ca_pem: Option<Vec<u8>>,
    /// Count every request for Prometheus (a few atomic increments each).
    pub metrics: bool,
    /// Read and pass on trace context, and hand each request's span to a sink; `None`
    /// costs nothing.
    pub tracing: Option<trace::Tracing>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 10 * 1024 * 1024,
            max_inflight_body_bytes: 256 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            inline_fuel: 40_000,
            evaluation_fuel: standin_matcher::DEFAULT_FUEL,
            evaluation_timeout: Duration::from_secs(2),
            evaluation_threads: 1,
            evaluation_queue: 64,
            evaluation_nice: 10,
            host_routing: true,
            shutdown_grace: Duration::from_secs(5),
            forward_timeout: Duration::from_secs(30),
            forward_ca_pem: None,
            metrics: true,
            tracing: None,
        }
    }
}

/// Requests on the mock port that belong to the control plane (MockServer's
/// `PUT /mockserver/...` API). The data plane only asks `claims`, a cheap check on the
/// method and path; `handle` runs the work wherever the implementation chooses (the
/// control plane's own runtime), and the data plane awaits the answer.
pub trait Control: Send + Sync + 'static {
    fn claims(&self, method: &http::Method, path: &str) -> bool;
    fn handle(
        &self,
        req: ControlRequest,
    ) -> Pin<Box<dyn Future<Output = Response<MockBody>> + Send>>;

    /// Whether a WebSocket upgrade to `path` is a callback client connecting (MockServer's
    /// `/_mockserver_callback_websocket`).
    fn callback_socket(&self, _path: &str) -> bool {
        false
    }

    /// The id a connecting callback client gets; `registration` is the one it asked for.
    fn callback_id(&self, registration: Option<&str>) -> String {
        registration.unwrap_or_default().to_string()
    }

    /// Serves a connected callback client until it leaves.
    fn callback_client(
        &self,
        _id: String,
        _reader: ws::Reader,
        _writer: ws::Writer,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async {})
    }

    /// Hands a request to the callback client a route names: it answers with the
    /// response, or with a request to forward.
    fn callback_ask(
        &self,
        _callback: &standin_model::ClientCallback,
        _req: CallbackRequest,
    ) -> Pin<Box<dyn Future<Output = CallbackAnswer> + Send>> {
        Box::pin(async { CallbackAnswer::Respond(decide::empty(http::StatusCode::NOT_FOUND)) })
    }

    /// After a forward the client asked for with `responseCallback`: the upstream's
    /// answer goes to the client, whose answer is sent.
    fn callback_after_forward(
        &self,
        _callback: &standin_model::ClientCallback,
        _correlation: String,
        _forwarded: CallbackRequest,
        _upstream: CallbackResponse,
    ) -> Pin<Box<dyn Future<Output = Response<MockBody>> + Send>> {
        Box::pin(async { decide::empty(http::StatusCode::NOT_FOUND) })
    }
}

/// A request handed to a callback client, or the one it (or a forward template) asks to
/// forward, then with an absolute URI: the template crate's request document.
pub use standin_matcher::RenderedRequest as CallbackRequest;

/// An upstream's answer to a forward a callback client asked for.
#[derive(Debug, Clone)]
pub struct CallbackResponse {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl CallbackResponse {
    /// The upstream's answer as the response to send.
    pub fn into_response(self) -> Response<MockBody> {
        let mut r = Response::new(MockBody::full(self.body));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers;
        r
    }
}

/// What a callback client answered.
pub enum CallbackAnswer {
    /// The response to send.
    Respond(Response<MockBody>),
    /// A request to forward; with a correlation, the upstream's answer goes back to the
    /// client ([`Control::callback_after_forward`]).
    Forward {
        request: CallbackRequest,
        correlation: Option<String>,
    },
}

/// A control request, read whole.
pub struct ControlRequest {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The port the request arrived on (MockServer's status reports it).
    pub local_port: u16,
}

/// What the data plane serves from and reports to.
#[derive(Clone)]
pub struct Plane {
    /// The published route table.
    pub table: Arc<ArcSwap<RouteTable>>,
    pub journal: JournalWriter,
    pub stats: Arc<ServeStats>,
}

/// What every request handler shares.
struct Ctx {
    table: Arc<ArcSwap<RouteTable>>,
    journal: JournalWriter,
    stats: Arc<ServeStats>,
    config: ServerConfig,
    control: Option<Arc<dyn Control>>,
    /// Forwarding routes' client; connections to upstreams are pooled.
    forwarder: forward::Forwarder,
    uploads: Arc<limits::Uploads>,
    lane: lane::Lane,
    local_port: u16,
}

/// A failed request ends its connection: hyper closes it, writing any raw fault bytes.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped")
    }
}

impl std::error::Error for Dropped {}

/// Serves mock traffic on `listener` until `shutdown` completes, then lets open
/// connections finish for up to `shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    plane: Plane,
    config: ServerConfig,
    control: Option<Arc<dyn Control>>,
    shutdown: impl Future<Output = ()>,
) {
    let ctx = Arc::new(Ctx {
        forwarder: forward::Forwarder {
            client: forward::upstream_client(config.forward_ca_pem.as_deref()),
            timeout: config.forward_timeout,
            max_body_bytes: config.max_body_bytes,
        },
        uploads: limits::Uploads::new(config.max_inflight_body_bytes),
        lane: lane::Lane::start(
            config.evaluation_threads,
            config.evaluation_queue,
            config.evaluation_nice,
        ),
        local_port: listener.local_addr().map(|a| a.port()).unwrap_or(0),
        table: plane.table,
        journal: plane.journal,
        stats: plane.stats,
        config,
        control,
    });
    let builder = conn::connection_builder(&ctx.config);
    let slots = Arc::new(Semaphore::new(ctx.config.max_connections));
    let (closing_tx, closing) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            ctx.stats
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
            tokio::spawn(conn::refuse(stream, ctx.config.max_connections));
            continue;
        };
        let state = io::ConnState::new(stream.local_addr().ok().map(|local| (peer, local)));
        let raw = io::RawSlot::default();
        let (c, s, r) = (ctx.clone(), state.clone(), raw.clone());
        let service = service_fn(move |req| handle(c.clone(), req, s.clone(), r.clone()));
        let io = TokioIo::new(io::FaultIo::new(stream, raw, state.clone()));
        let conn = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let watch = conn::Watch {
            stats: ctx.stats.clone(),
            state,
            closing: closing.clone(),
            first_byte: ctx.config.header_read_timeout,
            idle: ctx.config.idle_timeout,
        };
        tokio::spawn(async move {
            watch.run(conn, |c| c.graceful_shutdown()).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let grace = ctx.config.shutdown_grace;
    let all = u32::try_from(ctx.config.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {grace:?}; closing them");
    }
}

/// Turns a panic while polling the inner future into [`ServeError::Panic`], for the
/// asynchronous steps of our own (forwarding). The synchronous steps are wrapped in
/// [`guarded`]; a panic anywhere else (hyper, tokio) is contained by tokio's task and
/// costs only its connection.
struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
    stage: Stage,
}

impl<F, T> Future for CatchUnwind<F>
where
    F: Future<Output = Result<T, ServeError>>,
{
    type Output = Result<T, ServeError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let stage = self.stage;
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                let error = ServeError::Panic {
                    stage,
                    message: panic_message(&*panic),
                };
                tracing::error!(error = %error.message(), "the serving path panicked");
                Poll::Ready(Err(error))
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Sets the flag when dropped: the handler's future was dropped (the client went away)
/// or finished, and work on the lane for it can stop.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

async fn handle(
    ctx: Arc<Ctx>,
    req: Request<Incoming>,
    conn: Arc<io::ConnState>,
    raw: io::RawSlot,
) -> Result<Response<MockBody>, Dropped> {
    let _in_flight = conn.request();
    let started = Instant::now();
    if let Some(control) = &ctx.control
        && req.method() == http::Method::GET
        && control.callback_socket(req.uri().path())
        && req
            .headers()
            .get(header::UPGRADE)
            .is_some_and(|u| u.as_bytes().eq_ignore_ascii_case(b"websocket"))
    {
        return Ok(callback_upgrade(&ctx, control.clone(), req));
    }
    let (parts, incoming) = req.into_parts();
    let deadline = tokio::time::Instant::now() + ctx.config.body_read_timeout;
    let read = limits::read_body(
        incoming,
        &parts.headers,
        &ctx.uploads,
        ctx.config.max_body_bytes,
        deadline,
    )
    .await;
    // The reservation is held until the request is answered: the body is in memory.
    let (body, _held) = match read {
        Ok(read) => read,
        Err(e) => {
            ctx.stats.count(&e);
            let mut response = decide::error_response(&e);
            if ctx.config.metrics {
                ctx.stats.unrouted.count(response.status().as_u16());
            }
            // The rest of the body is not read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(response);
        }
    };
    if let Some(control) = &ctx.control
        && control.claims(&parts.method, parts.uri.path())
    {
        let req = ControlRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
            local_port: ctx.local_port,
        };
        return Ok(control.handle(req).await);
    }
    let traced = ctx.config.tracing.as_ref().map(|t| {
        (
            trace::TraceContext::from_headers(&parts.headers, t.sample_ratio),
            std::time::SystemTime::now()
                .checked_sub(started.elapsed())
                .unwrap_or_else(std::time::SystemTime::now),
        )
    });
    // The request and the decision stay in this future; the steps borrow them. The
    // common path (decided inline, no delay, no forward) makes no further async call.
    let mut inc = Req {
        method: parts.method,
        uri: parts.uri,
        version: parts.version,
        headers: parts.headers,
        body,
        peers: conn.peers,
    };
    let mut d = match resolve_inline(&ctx, &inc) {
        Ok(d) => d,
        Err((table, resume)) => on_the_lane(&ctx, &mut inc, table, resume, started).await?,
    };
    let callback = d
        .route
        .as_ref()
        .filter(|_| d.error.is_none() && d.chaos_fault.is_none())
        .and_then(|r| r.answer_at(d.answer).callback.clone());
    if d.delay_ms > 0 || d.forwards() {
        answer(&ctx, &inc, &mut d, traced.as_ref().map(|t| &t.0)).await;
    }
    if let Some(cb) = callback {
        ask_client(&ctx, &inc, &mut d, &cb).await;
    }
    if let Some(fr) = d.forward_request.take().filter(|_| d.error.is_none()) {
        forward_rendered(&ctx, &inc, &mut d, *fr).await;
    }
    if let (Some((context, at)), Some(t)) = (traced, &ctx.config.tracing)
        && context.sampled
    {
        t.sink.record(trace::MockSpan {
            context,
            start: at,
            end: std::time::SystemTime::now(),
            method: inc.method.to_string(),
            path: inc.uri.path().to_string(),
            service: d.service.as_ref().map(|s| s.key.clone()),
            route: d.route.as_ref().map(|r| r.id.clone()),
            status: d.response.status().as_u16(),
            delay_ms: d.delay_ms,
            error: d.error.as_ref().map(ServeError::code),
        });
    }
    record(&ctx, &mut inc, &d, started);
    match guarded(Stage::Serving, || deliver(&inc, d, &raw)) {
        Ok(delivered) => delivered,
        Err(e) => {
            ctx.stats.count(&e);
            Ok(decide::error_response(&e))
        }
    }
}

/// Step 1: which service and route, and the response it renders, decided inline within
/// a small budget. A request that needs more comes back with where to resume, and is
/// decided again on the evaluation lane ([`on_the_lane`]).
fn resolve_inline(ctx: &Ctx, inc: &Req) -> Result<Decision, (Arc<RouteTable>, Resume)> {
    let table = ctx.table.load_full();
    let inline = Budget::new(ctx.config.inline_fuel);
    let step = guarded(Stage::Matching, || {
        decide::decide(
            &table,
            inc,
            ctx.config.host_routing,
            inline,
            Resume::Match,
            true,
        )
    });
    match step {
        Ok(Step::Done(d)) => Ok(d),
        Ok(Step::Again(resume)) => Err((table, resume)),
        Err(e) => Ok(failed(e)),
    }
}

/// Step 2: what only time and the network add: the route's delay, then its upstream's
/// answer for a forwarding route.
async fn answer(ctx: &Ctx, inc: &Req, d: &mut Decision, trace: Option<&trace::TraceContext>) {
    if d.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(d.delay_ms)).await;
    }
    if d.forwards() {
        forward(ctx, inc, d, trace).await;
    }
}

/// Opens a callback client's WebSocket: answers 101 and, once hyper hands over the
/// connection, serves the client there (the connection no longer counts as a request
/// connection).
fn callback_upgrade(
    ctx: &Arc<Ctx>,
    control: Arc<dyn Control>,
    mut req: Request<Incoming>,
) -> Response<MockBody> {
    let headers = req.headers();
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        let mut r = decide::empty(http::StatusCode::UPGRADE_REQUIRED);
        r.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return r;
    }
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
    else {
        return decide::empty(http::StatusCode::BAD_REQUEST);
    };
    let accept = ws::accept_key(key);
    let id = control.callback_id(
        headers
            .get("x-client-registration-id")
            .and_then(|v| v.to_str().ok()),
    );
    let on = hyper::upgrade::on(&mut req);
    let max = ctx.config.max_body_bytes;
    let client_id = id.clone();
    tokio::spawn(async move {
        match on.await {
            Ok(upgraded) => {
                let (reader, writer) = ws::split(Box::new(TokioIo::new(upgraded)), max);
                control.callback_client(client_id, reader, writer).await;
            }
            Err(e) => tracing::debug!(error = %e, "a callback client's upgrade failed"),
        }
    });
    let mut r = decide::empty(http::StatusCode::SWITCHING_PROTOCOLS);
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-client-registration-id", v);
    }
    r
}

/// Sends the request a forward template rendered.
async fn forward_rendered(ctx: &Ctx, inc: &Req, d: &mut Decision, fr: CallbackRequest) {
    match ctx.forwarder.send_raw(&fr, &inc.headers).await {
        Ok(upstream) => {
            d.forwarded = true;
            d.response = upstream.into_response();
        }
        Err(e) => {
            d.response = decide::error_response(&e);
            d.error = Some(e);
        }
    }
}

/// The callback client a route names answers the request, or names a request to
/// forward (and, with `responseCallback`, answers once more with the upstream's answer).
async fn ask_client(ctx: &Ctx, inc: &Req, d: &mut Decision, cb: &standin_model::ClientCallback) {
    let Some(control) = ctx.control.clone() else {
        d.response = decide::empty(http::StatusCode::NOT_FOUND);
        return;
    };
    let question = CallbackRequest {
        method: inc.method.clone(),
        uri: inc.uri.clone(),
        headers: inc.headers.clone(),
        body: inc.body.clone(),
    };
    match control.callback_ask(cb, question).await {
        CallbackAnswer::Respond(r) => d.response = r,
        CallbackAnswer::Forward {
            request,
            correlation,
        } => match ctx.forwarder.send_raw(&request, &inc.headers).await {
            Ok(upstream) => {
                d.forwarded = true;
                d.response = match correlation {
                    Some(c) => {
                        control
                            .callback_after_forward(cb, c, request, upstream)
                            .await
                    }
                    None => upstream.into_response(),
                };
            }
            Err(e) => {
                d.response = decide::error_response(&e);
                d.error = Some(e);
            }
        },
    }
}

/// Step 3: counts the failure, if any, and journals the exchange (never waiting: the
/// journal drops an entry rather than block).
fn record(ctx: &Ctx, inc: &mut Req, d: &Decision, started: Instant) {
    if let Some(e) = &d.error {
        ctx.stats.count(e);
    }
    if ctx.config.metrics {
        count(ctx, d, started);
    }
    if ctx.journal.enabled() {
        ctx.journal
            .record(record::journal_entry(ctx, inc, d, started));
    }
}

/// Counts the request in its route's and service's series: atomics only.
fn count(ctx: &Ctx, d: &Decision, started: Instant) {
    let status = d.response.status().as_u16();
    let Some(service) = &d.service else {
        ctx.stats.unrouted.count(status);
        return;
    };
    let m = &service.metrics;
    let total = started.elapsed();
    m.total_time.observe(total);
    m.serve_time
        .observe(total.saturating_sub(Duration::from_millis(d.delay_ms)));
    match &d.route {
        Some(route) => route.metrics.responses.count(status),
        None => {
            m.unrouted.count(status);
            if !matches!(
                d.error,
                Some(
                    ServeError::OverBudget { .. } | ServeError::LaneFull | ServeError::Panic { .. }
                )
            ) {
                m.unmatched.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if matches!(
        d.error,
        Some(
            ServeError::ForwardFailed(_)
                | ServeError::ForwardTimeout(_)
                | ServeError::UpstreamUnavailable(_)
        )
    ) && d.upstream
    {
        m.upstream_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Decides again on the evaluation lane with the full budget. The lane borrows the
/// request for the while (it is put back when the lane is done).
async fn on_the_lane(
    ctx: &Arc<Ctx>,
    inc: &mut Req,
    table: Arc<RouteTable>,
    resume: Resume,
    started: Instant,
) -> Result<Decision, Dropped> {
    let host_routing = ctx.config.host_routing;
    // Past this point the request is shared with the lane, and the lane learns when the
    // client goes away (this future is dropped).
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let shared = Arc::new(std::mem::replace(inc, Req::placeholder()));
    // The evaluation's own deadline counts from when it starts, so a request that waited
    // behind costly ones is not blamed for their time; waiting longer than the timeout
    // is the lane being full.
    let fuel = ctx.config.evaluation_fuel;
    let timeout = ctx.config.evaluation_timeout;
    let waited_too_long = started + timeout;
    let cancelled = cancel.0.clone();
    let job_inc = shared.clone();
    ctx.stats.lane_runs.fetch_add(1, Ordering::Relaxed);
    let job = ctx.lane.run(move || {
        let now = Instant::now();
        if now > waited_too_long {
            return Err(ServeError::LaneFull);
        }
        let budget = Budget::new(fuel)
            .with_deadline(now + timeout)
            .with_cancel(cancelled);
        let stage = match resume {
            Resume::Match => Stage::Matching,
            Resume::Render { .. } => Stage::Rendering,
        };
        guarded(stage, || {
            decide::decide(&table, &job_inc, host_routing, budget, resume, false)
        })
    });
    let decision = match job {
        Err(lane::Full) => failed(ServeError::LaneFull),
        Ok(rx) => match rx.await {
            Ok(Ok(Step::Done(d))) => d,
            // Only an inline attempt asks to go again.
            Ok(Ok(Step::Again(_))) | Err(_) => failed(ServeError::Panic {
                stage: Stage::Matching,
                message: "the evaluation lane gave no answer".into(),
            }),
            Ok(Err(e)) => failed(e),
        },
    };
    drop(cancel);
    if let Some(ServeError::OverBudget {
        why: Exhausted::Cancelled,
        ..
    }) = &decision.error
    {
        // The client is gone; there is nobody to answer, and nothing failed.
        return Err(Dropped);
    }
    // The job has finished and dropped its share, so this is the only one left.
    *inc = Arc::try_unwrap(shared).unwrap_or_else(|s| (*s).clone());
    Ok(decision)
}

/// Runs `f`, turning a panic into [`ServeError::Panic`].
fn guarded<T>(stage: Stage, f: impl FnOnce() -> T) -> Result<T, ServeError> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let e = ServeError::Panic {
            stage,
            message: panic_message(&*panic),
        };
        tracing::error!(error = %e.message(), "the serving path panicked");
        e
    })
}

/// A decision that is an error of standin's own, for no particular service.
fn failed(e: ServeError) -> Decision {
    let response = decide::error_response(&e);
    Decision {
        error: Some(e),
        ..Decision::plain(None, 0, response)
    }
}

/// Sends the request on for a forwarding route, replacing the decided response with the
/// upstream's answer or the failure.
async fn forward(ctx: &Ctx, inc: &Req, d: &mut Decision, trace: Option<&trace::TraceContext>) {
    if d.upstream {
        return to_upstream(ctx, inc, d, trace).await;
    }
    let Some(route) = d.route.clone() else {
        return;
    };
    let Some(f) = route.forward.as_ref() else {
        return;
    };
    let sent = CatchUnwind {
        inner: Box::pin(
            ctx.forwarder
                .send(f, inc, d.relative(inc.uri.path()), trace),
        ),
        stage: Stage::Serving,
    };
    match sent.await {
        Ok(r) => {
            d.response = r;
            d.forwarded = true;
        }
        Err(e) => {
            d.response = decide::error_response(&e);
            d.error = Some(e);
        }
    }
}

/// Sends a request no route matched to the service's upstream, behind its breaker; when
/// the upstream fails (an error, a timeout, a 5xx) or the breaker is open, a fallback
/// route answers, or 503 when the service has none that matches.
async fn to_upstream(ctx: &Ctx, inc: &Req, d: &mut Decision, trace: Option<&trace::TraceContext>) {
    let Some(svc) = d.service.clone() else { return };
    let Some(up) = svc.info.upstream.clone() else {
        return;
    };
    let failure = if up.breaker.allow() {
        let sent = CatchUnwind {
            inner: Box::pin(ctx.forwarder.send(
                &up.forward,
                inc,
                d.relative(inc.uri.path()),
                trace,
            )),
            stage: Stage::Serving,
        };
        match sent.await {
            Ok(r) if !r.status().is_server_error() => {
                up.breaker.success();
                d.response = r;
                d.forwarded = true;
                d.near_misses.clear();
                return;
            }
            Ok(r) => {
                up.breaker.failure();
                format!("the upstream {} answered {}", up.url, r.status().as_u16())
            }
            Err(e) => {
                up.breaker.failure();
                e.message()
            }
        }
    } else {
        format!(
            "the upstream {} is failing; its circuit breaker is open, so it is not called for now",
            up.url
        )
    };
    // The fallback routes, matched against the request as any route is.
    let rel = d.relative(inc.uri.path()).to_string();
    let req = standin_matcher::Request::new(
        inc.method.as_str(),
        &rel,
        inc.uri.query(),
        &inc.headers,
        &inc.body,
    )
    .with_budget(Budget::new(ctx.config.evaluation_fuel));
    let fallback = svc.find_fallback(&req).map(|m| {
        let answer = m.route.choose(&inc.headers);
        let response = decide::build_response(m.route.answer_at(answer), &req, &m.path_values);
        (m.route.clone(), answer, response)
    });
    match fallback {
        Some((route, answer, Ok(response))) => {
            d.route = Some(route);
            d.answer = answer;
            d.response = response;
            d.near_misses.clear();
        }
        _ => {
            let e = ServeError::UpstreamUnavailable(failure);
            d.response = decide::error_response(&e);
            d.error = Some(e);
        }
    }
}

/// Step 4: hands the response to hyper, writes it raw when its framing is deliberately
/// wrong, or injects the route's fault.
fn deliver(inc: &Req, d: Decision, raw: &io::RawSlot) -> Result<Response<MockBody>, Dropped> {
    let Some(route) = d.route.as_ref().filter(|_| d.error.is_none()) else {
        return Ok(d.response);
    };
    let r = route.answer_at(d.answer);
    if let Some(fault) = &d.chaos_fault {
        return match fault {
            CompiledFault::CloseAfterResponse => {
                let mut response = d.response;
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                Ok(response)
            }
            _ => Err(Dropped),
        };
    }
    if let Some(framing) = r
        .raw_http1
        .filter(|_| inc.version <= http::Version::HTTP_11)
    {
        let _ = raw.set(raw_http1(&d.response, framing.content_length));
        return Err(Dropped);
    }
    match &r.fault {
        None => Ok(d.response),
        Some(CompiledFault::CloseAfterResponse) => {
            let mut response = d.response;
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        }
        Some(CompiledFault::DropConnection) => Err(Dropped),
        Some(CompiledFault::RawBytes(bytes)) => {
            let _ = raw.set(bytes.clone());
            Err(Dropped)
        }
    }
}

/// The response as HTTP/1.1 bytes with the given Content-Length (none when `None`).
fn raw_http1(response: &Response<MockBody>, length: Option<u64>) -> Bytes {
    let status = response.status();
    let reason = response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", status.as_u16()).into_bytes();
    for (name, value) in response.headers() {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(n) = length {
        out.extend_from_slice(format!("content-length: {n}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(response.body().bytes());
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_deciding_is_a_500_with_a_code() {
        let e = guarded(Stage::Matching, || -> u8 { panic!("boom") }).unwrap_err();
        assert_eq!(e.code(), "internal_error");
        assert!(e.message().contains("boom"), "{}", e.message());
        let d = failed(e);
        assert_eq!(d.response.status(), 500);
        let body: serde_json::Value = serde_json::from_slice(d.response.body().bytes()).unwrap();
        assert_eq!(body["error"], "internal_error");
    }

    #[tokio::test]
    async fn a_panic_in_an_async_step_is_a_serve_error() {
        let step = CatchUnwind {
            inner: Box::pin(async {
                if true {
                    panic!("in forwarding");
                }
                Ok::<u8, ServeError>(1)
            }),
            stage: Stage::Serving,
        };
        let e = step.await.unwrap_err();
        assert_eq!(e.code(), "internal_error");
        assert!(e.message().contains("in forwarding"), "{}", e.message());
    }
}
