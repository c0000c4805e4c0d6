//! "Try it" (`POST /api/v1/teams/{team}/services/{service}/try`): a sample request
//! answered by the real serving pipeline from a preview table, never from the published
//! one.
//!
//! A second mock listener on an ephemeral loopback port serves whatever table the last
//! try put there, with a journal of its own, so a try is answered exactly as mock traffic
//! would be (matching, templates, delays, faults, forwarding) and shows up in neither the
//! service's journal nor its usage. Tries take turns: each one swaps its table in, sends
//! its request, and reads the entry the preview journal kept.

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use standin_admin::{Preview, TryRequest};
use standin_journal::{EntryView, Journal, JournalConfig, Query};
use standin_matcher::RouteTable;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The longest a try waits for its answer, delays included.
const TRY_TIMEOUT: Duration = Duration::from_secs(30);

struct PreviewServer {
    addr: SocketAddr,
    table: Arc<ArcSwap<RouteTable>>,
    journal: Journal,
    turn: tokio::sync::Mutex<()>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Starts the preview listener on the current runtime; it stops with `stop`.
pub(crate) async fn start(
    config: &standin_server::ServerConfig,
    journal_body_bytes: usize,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Preview> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let table = Arc::new(ArcSwap::from_pointee(RouteTable::default()));
    let journal = Journal::start(JournalConfig {
        capacity_per_service: 4,
        max_body_bytes: journal_body_bytes,
        ..JournalConfig::default()
    });
    let config = standin_server::ServerConfig {
        evaluation_threads: 1,
        max_connections: 16,
        ..config.clone()
    };
    let plane = standin_server::Plane {
        table: table.clone(),
        journal: journal.writer(),
        stats: Arc::new(standin_server::ServeStats::default()),
    };
    tokio::spawn(async move {
        standin_server::serve(listener, plane, config, None, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    });
    let server = Arc::new(PreviewServer {
        addr,
        table,
        journal,
        turn: tokio::sync::Mutex::new(()),
        client: Client::builder(TokioExecutor::new()).build_http(),
    });
    Ok(Arc::new(move |req: TryRequest| {
        let server = server.clone();
        Box::pin(async move { server.answer(req).await })
    }))
}

impl PreviewServer {
    async fn answer(&self, req: TryRequest) -> Result<EntryView, String> {
        let _turn = self.turn.lock().await;
        self.table.store(Arc::new(req.table));
        self.journal.clear(None).await;
        let method = http::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| format!("\"{}\" is not an HTTP method", req.method))?;
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, req.path_and_query));
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(Full::new(req.body))
            .map_err(|e| format!("the sample request cannot be sent: {e}"))?;
        // A fault (a dropped connection) is an answer too: the journal keeps what the
        // route did, which is what the user wants to see.
        let sent = tokio::time::timeout(TRY_TIMEOUT, async {
            let response = self.client.request(request).await?;
            response.into_body().collect().await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .await;
        if sent.is_err() {
            return Err(format!(
                "no answer within {} s (a delay longer than that?)",
                TRY_TIMEOUT.as_secs()
            ));
        }
        self.journal.flush().await;
        self.journal
            .query(&Query {
                limit: Some(1),
                ..Query::default()
            })
            .first()
            .map(|e| EntryView::from(&**e))
            .ok_or_else(|| match sent {
                Ok(Err(e)) => format!("the request got no answer: {e}"),
                _ => "the request got no answer".into(),
            })
    }
}
