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
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use standin_journal::{JournalEntry, JournalWriter, UNRESOLVED};
use standin_matcher::{Fault, NearMiss, Outcome, RouteTable};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;

mod io;

pub use io::MockBody;

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
    /// How long a forwarding route waits for its upstream.
    pub forward_timeout: Duration,
    /// Extra certificates (PEM) trusted for https upstreams, beside the web PKI roots.
    pub forward_ca_pem: Option<Vec<u8>>,
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

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 10 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(30),
            host_routing: true,
            shutdown_grace: Duration::from_secs(5),
            forward_timeout: Duration::from_secs(30),
            forward_ca_pem: None,
        }
    }
}

/// What every request handler shares.
struct Ctx {
    table: Arc<ArcSwap<RouteTable>>,
    journal: JournalWriter,
    config: ServerConfig,
    control: Option<Arc<dyn Control>>,
    /// The client for forwarding routes; connections to upstreams are pooled.
    upstream: Upstream,
}

type Upstream = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<Bytes>,
>;

/// The forwarding client: http and https upstreams, trusting the public web PKI roots and
/// the certificates in `extra_ca_pem` (an internal CA, say).
fn upstream_client(extra_ca_pem: Option<&[u8]>) -> Upstream {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem).flatten() {
            let _ = roots.add(cert);
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports rustls' default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector)
}

/// Checks that a PEM file holds at least one certificate, for configuration errors at start.
pub fn check_ca_pem(pem: &[u8]) -> Result<usize, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    match certs {
        Ok(c) if !c.is_empty() => Ok(c.len()),
        Ok(_) => Err("no certificate in the file".into()),
        Err(e) => Err(format!("not PEM certificates: {e:?}")),
    }
}

/// Marks a request standin forwarded, so that a route forwarding to standin itself with
/// the same request is stopped instead of looping.
const FORWARDED: &str = "x-standin-forwarded";

/// A failed request ends its connection: hyper closes it, writing any raw fault bytes.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a route fault")
    }
}

impl std::error::Error for Dropped {}

/// Serves mock traffic on `listener` until `shutdown` completes, then lets open
/// connections finish for up to `shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    table: Arc<ArcSwap<RouteTable>>,
    journal: JournalWriter,
    config: ServerConfig,
    control: Option<Arc<dyn Control>>,
    shutdown: impl Future<Output = ()>,
) {
    let upstream = upstream_client(config.forward_ca_pem.as_deref());
    let ctx = Arc::new(Ctx {
        table,
        journal,
        config,
        control,
        upstream,
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
    let local_port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
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
        let slot = io::RawSlot::default();
        let conn_slot = slot.clone();
        let service =
            service_fn(move |req| handle(ctx.clone(), req, conn_slot.clone(), local_port));
        let io = TokioIo::new(io::FaultIo::new(stream, slot));
        let conn = builder.serve_connection(io, service).into_owned();
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

async fn handle(
    ctx: Arc<Ctx>,
    req: Request<Incoming>,
    slot: io::RawSlot,
    local_port: u16,
) -> Result<Response<MockBody>, Dropped> {
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
    if let Some(control) = &ctx.control
        && control.claims(&parts.method, parts.uri.path())
    {
        let req = ControlRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
            local_port,
        };
        return Ok(control.handle(req).await);
    }
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
    let mut fault = None;
    // Some(None): no Content-Length at all; Some(Some(n)): this Content-Length.
    let mut raw_framing: Option<Option<u64>> = None;
    let mut forward = None;
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
                    fault = r.fault.clone();
                    if r.omit_content_length && r.chunk_size.is_none() {
                        raw_framing = Some(None);
                    }
                    if let Some(n) = r.content_length_override {
                        raw_framing = Some(Some(n));
                    }
                    if m.route.forward.is_some() {
                        forward = Some(m.route.clone());
                    }
                    let (response, rendered_delay) = match &r.document {
                        None => (build_response(r, &mreq, &m.path_values), 0),
                        Some(t) => document_response(t, &mreq, &m.path_values),
                    };
                    (
                        key,
                        rel,
                        response,
                        svc.info.default_delay_ms + r.delay_ms + rendered_delay,
                    )
                }
                Outcome::Unmatched(misses) => {
                    let response = match svc.info.not_found {
                        standin_model::NotFound::Explain => no_route(&key, method, path, &misses),
                        standin_model::NotFound::Empty => empty(StatusCode::NOT_FOUND),
                    };
                    near_misses = misses;
                    (key, rel, response, 0)
                }
            }
        }
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let response = match forward.as_ref().and_then(|r| r.forward.as_ref()) {
        None => response,
        Some(f) => {
            forward_request(
                &ctx,
                f,
                &parts.method,
                &parts.headers,
                relative,
                query,
                body.clone(),
            )
            .await
        }
    };
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
    // A response that must go out with no or a false Content-Length is written raw over
    // HTTP/1 (hyper would frame it correctly); the connection then ends the body.
    if let Some(length) = raw_framing.filter(|_| parts.version <= http::Version::HTTP_11) {
        let _ = slot.set(raw_http1(&response, length));
        return Err(Dropped);
    }
    match fault {
        None => Ok(response),
        Some(Fault::CloseAfterResponse) => {
            let mut response = response;
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        }
        Some(Fault::DropConnection) => Err(Dropped),
        Some(Fault::RawBytes(raw)) => {
            let _ = slot.set(raw);
            Err(Dropped)
        }
    }
}

fn build_response(
    r: &standin_matcher::CompiledResponse,
    req: &standin_matcher::Request<'_>,
    path_values: &[(Box<str>, String)],
) -> Response<MockBody> {
    let (data, rendered_headers) = match r.render(req, path_values) {
        Some(rendered) => (rendered.body, Some(rendered.headers)),
        None => (r.body.clone(), None),
    };
    let body = match (r.chunk_size, r.omit_content_length) {
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
    if let Some(reason) = &r.reason
        && let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(reason.clone())
    {
        response.extensions_mut().insert(phrase);
    }
    response
}

/// Sends the request to the route's upstream and relays the answer (502 when the upstream
/// cannot be reached or answers too slowly).
async fn forward_request(
    ctx: &Ctx,
    f: &standin_matcher::CompiledForward,
    method: &http::Method,
    headers: &http::HeaderMap,
    path: &str,
    query: Option<&str>,
    body: Bytes,
) -> Response<MockBody> {
    let failed = |message: String| {
        json_error(
            StatusCode::BAD_GATEWAY,
            serde_json::json!({ "error": "forward_failed", "message": message }),
        )
    };
    if headers.contains_key(FORWARDED) {
        return json_error(
            StatusCode::LOOP_DETECTED,
            serde_json::json!({ "error": "forward_loop", "message": "this request was forwarded by standin and would be forwarded again" }),
        );
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let uri = match f.target(path, query, host) {
        Ok(u) => u,
        Err(e) => return failed(e),
    };
    let mut out_headers = headers.clone();
    strip_hop_by_hop(&mut out_headers);
    out_headers.remove(header::CONTENT_LENGTH);
    if let Some(a) = uri
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        out_headers.insert(header::HOST, a);
    }
    f.request_headers.apply(&mut out_headers);
    if !f.request_cookies.is_empty() {
        let mut pairs: Vec<(String, String)> = out_headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        f.request_cookies.apply(&mut pairs);
        out_headers.remove(header::COOKIE);
        let joined = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if let Ok(v) = HeaderValue::from_str(&joined)
            && !joined.is_empty()
        {
            out_headers.insert(header::COOKIE, v);
        }
    }
    out_headers.insert(FORWARDED, HeaderValue::from_static("1"));
    let mut req = Request::new(http_body_util::Full::new(f.body.clone().unwrap_or(body)));
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri.clone();
    *req.headers_mut() = out_headers;
    let answer =
        match tokio::time::timeout(ctx.config.forward_timeout, ctx.upstream.request(req)).await {
            Err(_) => {
                return failed(format!(
                    "{uri} did not answer within {:?}",
                    ctx.config.forward_timeout
                ));
            }
            Ok(Err(e)) => return failed(format!("{uri}: {e}")),
            Ok(Ok(a)) => a,
        };
    let (parts, incoming) = answer.into_parts();
    let data = match Limited::new(incoming, ctx.config.max_body_bytes)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) => return failed(format!("reading the answer of {uri}: {e}")),
    };
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(header::CONTENT_LENGTH);
    let data = match &f.response_body {
        None => data,
        Some((b, content_type)) => {
            if let Some(ct) = content_type {
                headers.insert(header::CONTENT_TYPE, ct.clone());
            }
            b.clone()
        }
    };
    f.response_headers.apply(&mut headers);
    let present: Vec<String> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| {
            v.to_str()
                .ok()
                .and_then(|t| t.split('=').next())
                .map(|n| n.trim().to_string())
        })
        .collect();
    let present: Vec<&str> = present.iter().map(String::as_str).collect();
    let (set_cookies, removed) = f.response_cookies.set_cookie_lines(&present);
    if !removed.is_empty() {
        let kept: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter(|v| {
                let name = v
                    .to_str()
                    .ok()
                    .and_then(|t| t.split('=').next())
                    .unwrap_or("")
                    .trim();
                !removed.iter().any(|r| r == name)
            })
            .cloned()
            .collect();
        headers.remove(header::SET_COOKIE);
        for v in kept {
            headers.append(header::SET_COOKIE, v);
        }
    }
    for line in set_cookies {
        if let Ok(v) = HeaderValue::from_str(&line) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    let mut response = Response::new(MockBody::full(data));
    *response.status_mut() = f.response_status.unwrap_or(parts.status);
    *response.headers_mut() = headers;
    response
}

fn strip_hop_by_hop(h: &mut http::HeaderMap) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        h.remove(name);
    }
}

/// A whole response rendered from a document template, and the delay it asks for.
fn document_response(
    t: &standin_matcher::DocumentTemplate,
    req: &standin_matcher::Request<'_>,
    path_values: &[(Box<str>, String)],
) -> (Response<MockBody>, u64) {
    match t.render(req, path_values) {
        Ok(d) => {
            let mut response = Response::new(MockBody::full(d.body));
            *response.status_mut() = d.status;
            for (name, value) in d.headers {
                response.headers_mut().append(name, value);
            }
            if let Some(phrase) = d
                .reason
                .and_then(|r| hyper::ext::ReasonPhrase::try_from(r).ok())
            {
                response.extensions_mut().insert(phrase);
            }
            (response, d.delay_ms)
        }
        // MockServer answers a template that renders no response with a bare 404.
        Err(e) => {
            tracing::warn!(error = %e, "a response template rendered no response");
            (empty(StatusCode::NOT_FOUND), 0)
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

fn empty(status: StatusCode) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// A JSON error response of the data plane.
fn json_error(status: StatusCode, body: serde_json::Value) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn no_service(method: &str, path: &str) -> Response<MockBody> {
    json_error(
        StatusCode::NOT_FOUND,
        serde_json::json!({
            "error": "no_service",
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
            "message": format!("no route of {service} matched {method} {path}"),
            "service": service,
            "request": { "method": method, "path": path },
            "nearMisses": misses,
        }),
    )
}
