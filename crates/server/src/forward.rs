//! Forwarding: a route that sends the request on to a real service and relays its
//! answer, with edits to the path, headers, query, cookies and body on the way.

use crate::error::ServeError;
use crate::io::MockBody;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

pub(crate) type Upstream = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<Bytes>,
>;

/// The forwarding client: http and https upstreams, trusting the public web PKI roots and
/// the certificates in `extra_ca_pem` (an internal CA, say).
pub(crate) fn upstream_client(extra_ca_pem: Option<&[u8]>) -> Upstream {
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

/// Sends the request to the route's upstream and relays the answer (502 when the upstream
/// cannot be reached or answers too slowly).
/// The forwarding client with its limits.
pub(crate) struct Forwarder {
    pub(crate) client: Upstream,
    pub(crate) timeout: Duration,
    /// Larger upstream answers are refused.
    pub(crate) max_body_bytes: usize,
}

impl Forwarder {
    /// Sends `inc` (its `path` relative to the service) to `f`'s upstream.
    pub(crate) async fn send(
        &self,
        f: &standin_matcher::CompiledForward,
        inc: &crate::decide::Incoming,
        path: &str,
        trace: Option<&crate::trace::TraceContext>,
    ) -> Result<Response<MockBody>, ServeError> {
        let (method, headers, query, body) =
            (&inc.method, &inc.headers, inc.uri.query(), inc.body.clone());
        let failed = |message: String| Err(ServeError::ForwardFailed(message));
        if headers.contains_key(FORWARDED) {
            return Err(ServeError::ForwardLoop);
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
        // The upstream's parent span is standin's; a route's own header edits still win.
        if let Some(t) = trace {
            t.propagate(&mut out_headers);
        }
        f.request_headers.apply(&mut out_headers);
        f.edit_request_cookies(&mut out_headers);
        out_headers.insert(FORWARDED, HeaderValue::from_static("1"));
        let mut req = Request::new(http_body_util::Full::new(f.body.clone().unwrap_or(body)));
        *req.method_mut() = method.clone();
        *req.uri_mut() = uri.clone();
        *req.headers_mut() = out_headers;
        let (status, mut headers, data) = self.exchange(req).await?;
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
        f.edit_response_cookies(&mut headers);
        let mut response = Response::new(MockBody::full(data));
        *response.status_mut() = f.response_status.unwrap_or(status);
        *response.headers_mut() = headers;
        Ok(response)
    }

    /// Sends a request a forward template or a callback client made (its URI is
    /// absolute), as it is apart from hop-by-hop headers; the answer comes back whole.
    /// A request standin already forwarded (`incoming` says so) is not forwarded again:
    /// one that forwards to standin's own address would loop.
    pub(crate) async fn send_raw(
        &self,
        r: &crate::CallbackRequest,
        incoming: &http::HeaderMap,
    ) -> Result<crate::CallbackResponse, ServeError> {
        if incoming.contains_key(FORWARDED) || r.headers.contains_key(FORWARDED) {
            return Err(ServeError::ForwardLoop);
        }
        let mut headers = r.headers.clone();
        strip_hop_by_hop(&mut headers);
        headers.remove(header::CONTENT_LENGTH);
        if let Some(a) = r
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            headers.insert(header::HOST, a);
        }
        headers.insert(FORWARDED, HeaderValue::from_static("1"));
        let mut req = Request::new(http_body_util::Full::new(r.body.clone()));
        *req.method_mut() = r.method.clone();
        *req.uri_mut() = r.uri.clone();
        *req.headers_mut() = headers;
        let (status, headers, body) = self.exchange(req).await?;
        Ok(crate::CallbackResponse {
            status,
            headers,
            body,
        })
    }

    /// One request to an upstream within the timeout, its answer read within the size
    /// limit, hop-by-hop headers and the length removed.
    async fn exchange(
        &self,
        req: Request<http_body_util::Full<Bytes>>,
    ) -> Result<(http::StatusCode, http::HeaderMap, Bytes), ServeError> {
        let uri = req.uri().clone();
        let failed = |message: String| Err(ServeError::ForwardFailed(message));
        let timeout = self.timeout;
        let answer = match tokio::time::timeout(timeout, self.client.request(req)).await {
            Err(_) => {
                return Err(ServeError::ForwardTimeout(format!(
                    "{uri} did not answer within {timeout:?} (forward.timeout-ms)"
                )));
            }
            Ok(Err(e)) => return failed(format!("{uri}: {e}")),
            Ok(Ok(a)) => a,
        };
        let (parts, incoming) = answer.into_parts();
        let data = match Limited::new(incoming, self.max_body_bytes).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => return failed(format!("reading the answer of {uri}: {e}")),
        };
        let mut headers = parts.headers;
        strip_hop_by_hop(&mut headers);
        headers.remove(header::CONTENT_LENGTH);
        Ok((parts.status, headers, data))
    }
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
