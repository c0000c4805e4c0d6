//! Forwarding to an https upstream: a real TLS server on loopback with its own CA.

use crate::support::{Standin, http, json_call};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Starts a TLS server for `localhost` that answers every request with `secure hello`.
/// Returns its address and the PEM of the CA that signed its certificate.
fn tls_upstream() -> (SocketAddr, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            // Bounded: a few connections, each within a few seconds.
            for _ in 0..8 {
                let Ok(Ok((stream, _))) = tokio::time::timeout(Duration::from_secs(30), listener.accept()).await else { return };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(Ok(mut tls)) = tokio::time::timeout(Duration::from_secs(5), acceptor.accept(stream)).await else { return };
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tokio::time::timeout(Duration::from_secs(5), tls.read(&mut chunk)).await {
                            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                            _ => return,
                        }
                    }
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nsecure hello").await;
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    (addr, ca.pem())
}

fn forward_route(s: &Standin, port: u16) {
    json_call(s.admin, "POST", "/api/v1/teams", Some(json!({"slug": "t"})));
    json_call(
        s.admin,
        "POST",
        "/api/v1/teams/t/services",
        Some(json!({"slug": "s"})),
    );
    let route = json!({"id": "f", "http": {"request": {"path": "/real/**"}, "forward": {"to": format!("https://localhost:{port}")}}});
    assert_eq!(
        json_call(
            s.admin,
            "POST",
            "/api/v1/teams/t/services/s/routes",
            Some(route)
        )
        .0,
        201
    );
}

#[test]
fn https_upstreams_are_verified_against_the_configured_ca() {
    let (upstream, ca_pem) = tls_upstream();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();

    let trusting = Standin::start(&["--forward-ca-file", ca_file.to_str().unwrap()]);
    forward_route(&trusting, upstream.port());
    let r = http(trusting.mock, "GET", "/t/s/real/thing", &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"secure hello"[..]));

    // MockServer's httpForward with scheme HTTPS goes the same way.
    let expectation = json!({"httpRequest": {"path": "/via-mockserver"}, "httpForward": {"host": "localhost", "port": upstream.port(), "scheme": "HTTPS"}});
    let put = http(
        trusting.mock,
        "PUT",
        "/mockserver/expectation",
        &[],
        expectation.to_string().as_bytes(),
    );
    assert_eq!(put.status, 201, "{}", String::from_utf8_lossy(&put.body));
    let r = http(trusting.mock, "GET", "/via-mockserver", &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"secure hello"[..]));

    // Without the CA the upstream's certificate is not trusted: 502, not a silent pass.
    let doubting = Standin::start(&[]);
    forward_route(&doubting, upstream.port());
    let r = http(doubting.mock, "GET", "/t/s/real/thing", &[], b"");
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    assert!(String::from_utf8_lossy(&r.body).contains("forward_failed"));
}

#[test]
fn a_bad_ca_file_stops_start_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ca.pem");
    std::fs::write(&file, "not a certificate").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
        .args([
            "serve",
            "--mock-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--forward-ca-file",
        ])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("forward CA file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_upstream_that_does_not_answer_is_a_504_after_the_forward_timeout() {
    // An upstream that accepts and then says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let (conn, _) = silent.accept().unwrap();
        std::thread::park_timeout(std::time::Duration::from_secs(10));
        drop(conn);
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("standin.toml");
    std::fs::write(&config, "[forward]\ntimeout-ms = 300\n").unwrap();
    let s = Standin::start(&["--config", config.to_str().unwrap()]);
    json_call(s.admin, "POST", "/api/v1/teams", Some(json!({"slug": "t"})));
    json_call(
        s.admin,
        "POST",
        "/api/v1/teams/t/services",
        Some(json!({"slug": "s"})),
    );
    let route = json!({"id": "f", "http": {"request": {"path": "/slow"}, "forward": {"to": format!("http://127.0.0.1:{port}")}}});
    let created = json_call(
        s.admin,
        "POST",
        "/api/v1/teams/t/services/s/routes",
        Some(route),
    );
    assert_eq!(created.0, 201);

    let r = http(s.mock, "GET", "/t/s/slow", &[], b"");
    assert_eq!(r.status, 504, "{}", String::from_utf8_lossy(&r.body));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["error"], "forward_timeout");
    assert_eq!(body["source"], "configured");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("forward.timeout-ms"),
        "{body}"
    );
    let status = json_call(s.admin, "GET", "/api/v1/status", None).1;
    assert_eq!(status["serving"]["forwardFailures"], 1, "{status}");
    held.thread().unpark();
    held.join().unwrap();
}
