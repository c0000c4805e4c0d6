//! Connections: how hyper is set up, the answer at the connection cap, and the watchdog
//! that closes connections that send nothing or sit idle.

use crate::ServerConfig;
use crate::error::ServeStats;
use crate::io;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

/// hyper's own limit on request headers.
const HYPER_MAX_HEADERS: usize = 100;

pub(crate) fn connection_builder(config: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper needs a timer for header_read_timeout and HTTP/2 keep-alive; without one the
    // timeout silently does nothing (or panics when set explicitly).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192));
    // hyper parses up to 100 headers into a stack array; any explicit limit makes it
    // allocate and zero the slots on every request (about a thousand instructions), so
    // the limit is set only when it differs.
    if config.max_headers != HYPER_MAX_HEADERS {
        builder.http1().max_headers(config.max_headers);
    }
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(config.max_header_bytes as u32);
    builder
}

/// Answers a connection over the cap with 503 and closes it.
pub(crate) async fn refuse(mut stream: tokio::net::TcpStream, cap: usize) {
    let body = serde_json::json!({
        "error": "too_many_connections",
        "source": "standin",
        "message": format!("standin already has {cap} connections open (limits.max-connections); retry shortly"),
    })
    .to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Watches one connection: closes it when the client sends nothing within
/// `first_byte`, when it has been idle for `idle`, and at shutdown (gracefully: a request
/// in progress is finished).
pub(crate) struct Watch {
    pub stats: Arc<ServeStats>,
    pub state: Arc<io::ConnState>,
    pub closing: watch::Receiver<bool>,
    pub first_byte: Duration,
    pub idle: Duration,
}

impl Watch {
    pub(crate) async fn run<C, E>(mut self, conn: C, shut_down: impl Fn(Pin<&mut C>))
    where
        C: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        tokio::pin!(conn);
        let tick = self
            .first_byte
            .min(self.idle)
            .max(Duration::from_millis(100))
            / 4;
        let mut stopping = false;
        loop {
            tokio::select! {
                ended = conn.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = self.closing.changed(), if !stopping => {
                    shut_down(conn.as_mut());
                    stopping = true;
                }
                () = tokio::time::sleep(tick), if !stopping => {
                    let idle = self.state.idle_for();
                    if !self.state.read_any() && idle >= self.first_byte {
                        // Nothing was ever sent: there is nothing to finish.
                        self.stats.connections_idle_closed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    if idle >= self.idle {
                        self.stats.connections_idle_closed.fetch_add(1, Ordering::Relaxed);
                        shut_down(conn.as_mut());
                        stopping = true;
                    }
                }
            }
        }
    }
}
