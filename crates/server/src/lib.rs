//! The data plane: accepts mock traffic and answers it from the published route table.
//!
//! One port speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c); hyper-util's `auto`
//! builder tells them apart by the connection preface. Per request the handler loads the
//! current [`RouteTable`] once (an atomic load, no lock), reads the body up to a limit,
//! resolves the service, matches, and answers with pre-built bytes. It never touches the
//! store, never takes a lock the control plane holds, and hands the journal entry over
//! without waiting. Malformed requests and oversized headers are refused by hyper on that
//! connection only.

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use standin_journal::{JournalEntry, JournalWriter, UNRESOLVED};
use standin_matcher::{NearMiss, Outcome, RouteTable};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;

/// Limits and behaviour of the mock listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// The request line and headers together (HTTP/1.1), or the header list (HTTP/2).
    /// Larger ones get 431 (HTTP/1.1) or a stream reset (HTTP/2).
    pub max_header_bytes: usize,
    /// A client that has not sent its headers by then is disconnected.
    pub header_read_timeout: Duration,
    /// Whether a service's `hosts` select it by the `Host` header.
    pub host_routing: bool,
    /// How long shutdown waits for open connections.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 10 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(30),
            host_routing: true,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// What every request handler shares.
struct Ctx {
    table: Arc<ArcSwap<RouteTable>>,
    journal: JournalWriter,
    config: ServerConfig,
}

type Body = Full<Bytes>;

/// Serves mock traffic on `listener` until `shutdown` completes, then lets open
/// connections finish for up to `shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    table: Arc<ArcSwap<RouteTable>>,
    journal: JournalWriter,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let ctx = Arc::new(Ctx {
        table,
        journal,
        config,
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper needs a timer for header_read_timeout and HTTP/2 keep-alive; without one the
    // timeout silently does nothing (or panics when set explicitly).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(ctx.config.header_read_timeout)
        .max_buf_size(ctx.config.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(ctx.config.max_header_bytes as u32);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
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
        let ctx = ctx.clone();
        let service = service_fn(move |req| handle(ctx.clone(), req));
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let grace = ctx.config.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {grace:?}; closing them");
    }
}

async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let (parts, incoming) = req.into_parts();
    let body = match Limited::new(incoming, ctx.config.max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let (status, code, message) = if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the request body is larger than {} bytes",
                        ctx.config.max_body_bytes
                    ),
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    format!("the request body could not be read: {e}"),
                )
            };
            return Ok(json_error(
                status,
                serde_json::json!({ "error": code, "message": message }),
            ));
        }
    };
    let table = ctx.table.load_full();
    let host = if ctx.config.host_routing {
        parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
    } else {
        None
    };
    let path = parts.uri.path();
    let query = parts.uri.query();
    let method = parts.method.as_str();

    let mut near_misses = Vec::new();
    let mut matched_route = None;
    let (service_key, relative, response, delay) = match table.resolve(host, path) {
        None => (Arc::from(UNRESOLVED), path, no_service(method, path), 0),
        Some((svc, rel)) => {
            let rel = if rel.is_empty() { "/" } else { rel };
            let key = svc.key.clone();
            let mreq = standin_matcher::Request::new(method, rel, query, &parts.headers, &body);
            match svc.find(&mreq) {
                Outcome::Matched(m) => {
                    matched_route = Some(m.route.id.clone());
                    let r = &m.route.response;
                    let mut builder = Response::builder().status(r.status);
                    let (resp_body, rendered_headers) = match r.render(&mreq, &m.path_values) {
                        Some(rendered) => (rendered.body, Some(rendered.headers)),
                        None => (r.body.clone(), None),
                    };
                    if let Some(h) = builder.headers_mut() {
                        for (name, value) in rendered_headers.as_ref().unwrap_or(&r.headers) {
                            h.append(name.clone(), value.clone());
                        }
                    }
                    let response = builder
                        .body(Full::new(resp_body))
                        .unwrap_or_else(|_| internal_error());
                    (key, rel, response, svc.info.default_delay_ms + r.delay_ms)
                }
                Outcome::Unmatched(misses) => {
                    let response = no_route(&key, method, path, &misses);
                    near_misses = misses;
                    (key, rel, response, 0)
                }
            }
        }
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if ctx.journal.enabled() {
        let keep = body.len().min(ctx.journal.max_body_bytes());
        ctx.journal.record(JournalEntry {
            seq: 0,
            at: SystemTime::now(),
            service: service_key,
            protocol: "http",
            method: method.to_string(),
            path: path.to_string(),
            relative_path: relative.to_string(),
            query: query.map(str::to_string),
            headers: parts.headers,
            body: body.slice(..keep),
            body_size: body.len(),
            matched_route,
            near_misses,
            status: response.status().as_u16(),
            latency_us: started.elapsed().as_micros() as u64,
        });
    }
    Ok(response)
}

fn json_error(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn internal_error() -> Response<Body> {
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        serde_json::json!({ "error": "internal", "message": "the response could not be built" }),
    )
}

fn no_service(method: &str, path: &str) -> Response<Body> {
    json_error(
        StatusCode::NOT_FOUND,
        serde_json::json!({
            "error": "no_service",
            "message": format!("no service is served at {path}; services live under their base path, /{{team}}/{{service}} by default"),
            "request": { "method": method, "path": path },
        }),
    )
}

fn no_route(service: &str, method: &str, path: &str, misses: &[NearMiss]) -> Response<Body> {
    json_error(
        StatusCode::NOT_FOUND,
        serde_json::json!({
            "error": "no_route_matched",
            "message": format!("no route of {service} matched {method} {path}"),
            "service": service,
            "request": { "method": method, "path": path },
            "nearMisses": misses,
        }),
    )
}
