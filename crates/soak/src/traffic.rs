//! The traffic classes. Each runs as its own tokio tasks until the end of the run and
//! returns what it counted; only the well-behaved client's latencies are the
//! measurement, everything else is there to make its life hard.

use crate::http::{self, Conn, Failure, Response, ResponseReader};
use crate::tally::{Latencies, Outcomes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};

/// How many connections of each class run at once.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub well_behaved: usize,
    pub hello: usize,
    pub xpath: usize,
    pub mustache: usize,
    pub idle: usize,
    pub uploads: usize,
    pub large: usize,
    pub slow: usize,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            well_behaved: 4,
            hello: 1,
            xpath: 4,
            mustache: 2,
            idle: 500,
            uploads: 100,
            large: 1,
            slow: 2,
        }
    }

    pub fn smoke() -> Plan {
        Plan {
            xpath: 2,
            mustache: 1,
            idle: 100,
            uploads: 20,
            slow: 1,
            ..Plan::full()
        }
    }

    /// The well-behaved client alone.
    pub fn calm() -> Plan {
        Plan {
            xpath: 0,
            mustache: 0,
            idle: 0,
            uploads: 0,
            large: 0,
            slow: 0,
            ..Plan::full()
        }
    }

    /// Connections the tool holds open at most at one time: one per loop, plus the one
    /// the admin calls use.
    pub fn max_connections(&self) -> usize {
        self.well_behaved
            + self.hello
            + self.xpath
            + self.mustache
            + self.idle
            + self.uploads
            + self.large
            + self.slow
            + 1
    }
}

/// The total length the unfinished uploads declare, and how much of it they send.
pub const UPLOAD_DECLARED: usize = 8_000_000;
pub const UPLOAD_SENT: usize = 7_900_000;
/// The size of each write of a streamed body.
const WRITE_PIECE: usize = 64 * 1024;
/// How long a request head takes to dribble out, per byte.
const SLOW_GAP: Duration = Duration::from_millis(50);
/// Idle connections reconnect this long after the server closed them.
const IDLE_RECONNECT: Duration = Duration::from_millis(200);
/// A well-behaved request that takes longer than this is a failure, not a latency.
const WELL_BEHAVED_LIMIT: Duration = Duration::from_secs(2);
/// The abusive requests get far longer: their answers come after the evaluation
/// timeout or the body timeout, and a queue may come before that.
const ABUSIVE_LIMIT: Duration = Duration::from_secs(15);

/// Every request the run sends, built once.
pub struct Requests {
    pub ok: Vec<u8>,
    pub hello: Vec<u8>,
    pub xpath: Vec<u8>,
    pub mustache: Vec<u8>,
    pub upload_head: Vec<u8>,
    /// 8,000,000 bytes of `x` ending in `needle`: the unfinished uploads send its first
    /// 7,900,000 bytes, the large-body loop all of it. The needle is at the very end so
    /// that the `contains` condition has to look at the whole body.
    pub upload_body: Vec<u8>,
    /// A head that arrives well within the header-read timeout even at one byte per
    /// 50 ms, and one that cannot (about 8 s at that pace against a 5 s timeout).
    pub slow_short: Vec<u8>,
    pub slow_long: Vec<u8>,
}

impl Requests {
    pub fn new(mock: SocketAddr) -> Requests {
        let mut xml = String::from("<r>");
        for i in 0..2000 {
            xml.push_str(&format!("<e>{i}</e>"));
        }
        xml.push_str("</r>");
        let names: Vec<String> = (0..90).map(|i| format!("X-H{i}")).collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        let mut upload_body = vec![b'x'; UPLOAD_DECLARED];
        upload_body[UPLOAD_DECLARED - 6..].copy_from_slice(b"needle");
        let slow_short = http::request("GET", "/soak/api/ok", mock, &[], b"", None);
        // Padding brings the long head to 160 bytes: 8 s at 50 ms a byte.
        let bare = http::request("GET", "/soak/api/ok", mock, &[("X-Slow", "")], b"", None);
        let pad = "p".repeat(160usize.saturating_sub(bare.len()));
        let slow_long = http::request(
            "GET",
            "/soak/api/ok",
            mock,
            &[("X-Slow", pad.as_str())],
            b"",
            None,
        );
        Requests {
            ok: http::request("GET", "/soak/api/ok", mock, &[], b"", None),
            hello: http::request("GET", "/soak/api/hello/x", mock, &[], b"", None),
            xpath: http::request(
                "POST",
                "/soak/api/xpath",
                mock,
                &[("Content-Type", "application/xml")],
                xml.as_bytes(),
                None,
            ),
            mustache: http::request("GET", "/soak/api/mustache", mock, &many, b"", None),
            upload_head: http::request(
                "POST",
                "/soak/api/upload",
                mock,
                &[("Content-Type", "text/plain")],
                b"",
                Some(UPLOAD_DECLARED),
            ),
            upload_body,
            slow_short,
            slow_long,
        }
    }
}

/// What a keep-alive loop counted: outcomes by label, and the latencies of the
/// responses that were as expected.
#[derive(Debug, Default)]
pub struct LoopResult {
    pub outcomes: Outcomes,
    pub latencies: Latencies,
}

/// The label the judge gives a response that is exactly what the client wanted.
pub const OK: &str = "ok";

/// Whether a loop stops at the end of the run in the middle of a request (abuse, whose
/// unfinished work is of no interest) or finishes the request it is in (the measured
/// client, so that no sample is lost at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtEnd {
    Abandon,
    Finish,
}

/// A closed loop on one keep-alive connection: send, read the whole response, judge it,
/// repeat. A failed or closed connection is replaced.
pub async fn keep_alive_loop(
    mock: SocketAddr,
    requests: Arc<Requests>,
    pick: fn(&Requests) -> &[u8],
    judge: fn(&Response) -> String,
    limit: Duration,
    (start, end): (Instant, Instant),
    at_end: AtEnd,
) -> LoopResult {
    let mut result = LoopResult::default();
    let mut conn: Option<Conn> = None;
    let request = pick(&requests);
    while Instant::now() < end {
        let mut c = match conn.take() {
            Some(c) => c,
            None => match timeout(limit, Conn::connect(mock)).await {
                Ok(Ok(c)) => c,
                Ok(Err(f)) => {
                    result.outcomes.add(f.label(), Duration::ZERO);
                    sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(_) => {
                    result.outcomes.add("connect timeout", limit);
                    continue;
                }
            },
        };
        let started = Instant::now();
        let exchange = timeout(limit, c.exchange(request));
        let answer = match at_end {
            AtEnd::Finish => exchange.await,
            AtEnd::Abandon => match timeout_at(end, exchange).await {
                Ok(answer) => answer,
                Err(_) => break,
            },
        };
        let took = started.elapsed();
        match answer {
            Ok(Ok(response)) => {
                let label = judge(&response);
                if label == OK {
                    result.latencies.record(took, started - start);
                }
                result.outcomes.add(label, took);
                if !response.closes() {
                    conn = Some(c);
                }
            }
            Ok(Err(f)) => result.outcomes.add(f.label(), took),
            Err(_) => result
                .outcomes
                .add(format!("no response within {limit:?}"), took),
        }
    }
    result
}

pub fn judge_ok(r: &Response) -> String {
    if r.status == 200 && is_ok_body(&r.body) {
        OK.into()
    } else {
        format!("unexpected {} {}", r.label(), preview(&r.body))
    }
}

fn is_ok_body(body: &[u8]) -> bool {
    // The exact bytes first, so the common case costs no JSON parsing.
    body == br#"{"ok":true}"#
        || serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v.get("ok") == Some(&serde_json::Value::Bool(true)))
}

pub fn judge_hello(r: &Response) -> String {
    if r.status == 200 && r.body == b"hello x" {
        OK.into()
    } else {
        format!("unexpected {} {}", r.label(), preview(&r.body))
    }
}

/// Abusive answers are counted by their status and error code; the report compares
/// them with the expected ones.
pub fn judge_label(r: &Response) -> String {
    r.label()
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(80)]);
    format!("{text:?}")
}

pub fn pick_ok(r: &Requests) -> &[u8] {
    &r.ok
}
pub fn pick_hello(r: &Requests) -> &[u8] {
    &r.hello
}
pub fn pick_xpath(r: &Requests) -> &[u8] {
    &r.xpath
}
pub fn pick_mustache(r: &Requests) -> &[u8] {
    &r.mustache
}

/// What happened first while a request was still going out.
enum First {
    /// The server answered (or closed) before the request was fully written.
    Answered(Result<Response, Failure>),
    /// The request was written, or writing it failed.
    Written(std::io::Result<()>),
    TimedOut,
}

/// Sends `head` and then `body` in pieces of `piece` bytes with `gap` between pieces,
/// while reading the response at the same time, so that an early answer (503 to an
/// upload, a close to a slow head) is seen at once rather than after a write error.
/// When the whole request is written it waits for the answer until `limit`.
async fn send_streaming(
    mock: SocketAddr,
    head: &[u8],
    body: &[u8],
    piece: usize,
    gap: Duration,
    limit: Duration,
) -> Result<Response, Failure> {
    let deadline = Instant::now() + limit;
    let mut stream = TcpStream::connect(mock)
        .await
        .map_err(|e| Failure::Connect(e.kind()))?;
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.split();
    let mut reader = ResponseReader::default();
    let read = reader.read(&mut rd);
    tokio::pin!(read);
    let write = async {
        for (i, part) in head.chunks(piece).chain(body.chunks(piece)).enumerate() {
            if i > 0 && !gap.is_zero() {
                sleep(gap).await;
            }
            wr.write_all(part).await?;
        }
        Ok(())
    };
    let first = tokio::select! {
        answer = &mut read => First::Answered(answer),
        written = write => First::Written(written),
        () = sleep_until(deadline) => First::TimedOut,
    };
    match first {
        First::Answered(answer) => answer,
        First::TimedOut => Err(Failure::Timeout),
        First::Written(Ok(())) => timeout_at(deadline, &mut read)
            .await
            .unwrap_or(Err(Failure::Timeout)),
        // The server went away while the request was going out; what it said before
        // leaving may still be readable.
        First::Written(Err(e)) => match timeout(Duration::from_secs(1), &mut read).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(Failure::Closed | Failure::Reset)) | Err(_) => {
                Err(Failure::WriteFailed(e.kind()))
            }
            Ok(Err(other)) => Err(other),
        },
    }
}

/// Uploads that declare 8,000,000 bytes, send 7,900,000 and stall; or, with `complete`,
/// send all of it. Each attempt uses a new connection, since standin closes the
/// connection after refusing or timing out a body.
pub async fn upload_loop(
    mock: SocketAddr,
    requests: Arc<Requests>,
    complete: bool,
    retry_pause: Duration,
    end: Instant,
) -> Outcomes {
    let mut outcomes = Outcomes::default();
    let body = if complete {
        &requests.upload_body[..]
    } else {
        &requests.upload_body[..UPLOAD_SENT]
    };
    while Instant::now() < end {
        let started = Instant::now();
        let attempt = send_streaming(
            mock,
            &requests.upload_head,
            body,
            WRITE_PIECE,
            Duration::ZERO,
            ABUSIVE_LIMIT,
        );
        let Ok(answer) = timeout_at(end, attempt).await else {
            break;
        };
        let refused = match &answer {
            Ok(r) => r.status == 503,
            Err(Failure::Connect(_)) => true,
            Err(_) => false,
        };
        outcomes.add(
            answer.map_or_else(|f| f.label(), |r| r.label()),
            started.elapsed(),
        );
        if refused && timeout_at(end, sleep(retry_pause)).await.is_err() {
            break;
        }
    }
    outcomes
}

/// Slowloris: request heads one byte every 50 ms, alternating a head short enough to
/// complete within the header-read timeout and one that cannot.
pub async fn slow_loop(mock: SocketAddr, requests: Arc<Requests>, end: Instant) -> Outcomes {
    let mut outcomes = Outcomes::default();
    let mut long = false;
    while Instant::now() < end {
        let (name, head) = if long {
            ("long head", &requests.slow_long)
        } else {
            ("short head", &requests.slow_short)
        };
        long = !long;
        let started = Instant::now();
        let attempt = send_streaming(mock, head, b"", 1, SLOW_GAP, ABUSIVE_LIMIT);
        let Ok(answer) = timeout_at(end, attempt).await else {
            break;
        };
        let label = answer.map_or_else(|f| f.label(), |r| r.label());
        outcomes.add(
            format!("{name} ({} bytes): {label}", head.len()),
            started.elapsed(),
        );
    }
    outcomes
}

/// Connections that send nothing. When standin closes one, it is counted and replaced
/// 200 ms later.
pub async fn idle_loop(mock: SocketAddr, retry_pause: Duration, end: Instant) -> Outcomes {
    let mut outcomes = Outcomes::default();
    while Instant::now() < end {
        let started = Instant::now();
        let mut stream = match timeout_at(end, TcpStream::connect(mock)).await {
            Err(_) => break,
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                outcomes.add(Failure::Connect(e.kind()).label(), started.elapsed());
                if timeout_at(end, sleep(retry_pause)).await.is_err() {
                    break;
                }
                continue;
            }
        };
        let mut buf = [0u8; 4096];
        let Ok(read) = timeout_at(end, stream.read(&mut buf)).await else {
            break;
        };
        let label = match read {
            Ok(0) => "closed by server".to_string(),
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                let first = text.lines().next().unwrap_or("").to_string();
                format!("server sent bytes: {first}")
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                "reset by server".to_string()
            }
            Err(e) => format!("read error ({:?})", e.kind()),
        };
        outcomes.add(label, started.elapsed());
        drop(stream);
        if timeout_at(end, sleep(IDLE_RECONNECT)).await.is_err() {
            break;
        }
    }
    outcomes
}

pub fn well_behaved_limit() -> Duration {
    WELL_BEHAVED_LIMIT
}

pub fn abusive_limit() -> Duration {
    ABUSIVE_LIMIT
}
