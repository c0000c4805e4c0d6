//! Connection-level pieces: an IO wrapper that can replace the HTTP response with raw
//! bytes (for injected faults), and a response body sent in fixed-size chunks.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Raw bytes a handler wants written instead of a response. Set at most once per
/// connection; the connection then ends.
pub(crate) type RawSlot = Arc<OnceLock<Bytes>>;

/// What the connection watchdog needs to know about one connection.
#[derive(Debug)]
pub(crate) struct ConnState {
    opened: Instant,
    /// Milliseconds after `opened` of the first byte read or the end of the last request.
    /// (A response body still being written after its handler returned does not count:
    /// an idle close is graceful and lets that response finish.)
    last_active_ms: AtomicU64,
    /// Whether the client has sent anything at all.
    read_any: AtomicBool,
    /// Requests being answered; a connection is idle only when there are none.
    in_flight: AtomicUsize,
    /// The client's address and ours (MockServer's templates show them).
    pub(crate) peers: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
}

impl ConnState {
    pub(crate) fn new(peers: Option<(std::net::SocketAddr, std::net::SocketAddr)>) -> Arc<Self> {
        Arc::new(ConnState {
            opened: Instant::now(),
            last_active_ms: AtomicU64::new(0),
            read_any: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            peers,
        })
    }

    fn touch(&self) {
        let ms = self.opened.elapsed().as_millis() as u64;
        self.last_active_ms.store(ms, Ordering::Relaxed);
    }

    pub(crate) fn read_any(&self) -> bool {
        self.read_any.load(Ordering::Relaxed)
    }

    /// How long nothing has moved and no request has been in progress.
    pub(crate) fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        let last = Duration::from_millis(self.last_active_ms.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }

    /// Marks a request in progress until the guard is dropped.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// A request in progress on a connection.
pub(crate) struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Wraps a connection's socket. When a handler fills the slot and fails the request, hyper
/// ends the connection: a shutdown, or simply dropping the socket, first writes the raw
/// bytes.
pub(crate) struct FaultIo {
    inner: TcpStream,
    slot: RawSlot,
    written: usize,
    state: Arc<ConnState>,
}

impl FaultIo {
    pub(crate) fn new(inner: TcpStream, slot: RawSlot, state: Arc<ConnState>) -> Self {
        FaultIo {
            inner,
            slot,
            written: 0,
            state,
        }
    }
}

impl Drop for FaultIo {
    fn drop(&mut self) {
        // hyper drops the IO after a failed request without shutting it down. The socket is
        // still open here: write what is left without blocking (fault payloads are small;
        // whatever the kernel will not take at once is lost, as on a broken connection).
        if let Some(raw) = self.slot.get() {
            while self.written < raw.len() {
                match self.inner.try_write(&raw[self.written..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.written += n,
                }
            }
        }
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        // Only the first byte is noted here: afterwards activity is a request in progress
        // (noted when it starts and ends), which costs no clock read per read or write.
        if buf.filled().len() > before && !self.state.read_any() {
            self.state.read_any.store(true, Ordering::Relaxed);
            self.state.touch();
        }
        result
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(raw) = this.slot.get() {
            while this.written < raw.len() {
                match Pin::new(&mut this.inner).poll_write(cx, &raw[this.written..]) {
                    Poll::Ready(Ok(0)) => break,
                    Poll::Ready(Ok(n)) => this.written += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            if Pin::new(&mut this.inner).poll_flush(cx).is_pending() {
                return Poll::Pending;
            }
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A response body: whole (with Content-Length) or in chunks (chunked encoding).
pub enum MockBody {
    Full(Option<Bytes>),
    Chunked {
        data: Bytes,
        chunk: usize,
    },
    /// Pieces of `chunk` bytes, `interval` apart, on a timer (no thread waits); the
    /// length is known, so it still goes out with its Content-Length.
    Paced {
        data: Bytes,
        chunk: usize,
        interval: std::time::Duration,
        wait: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

impl MockBody {
    pub fn full(b: Bytes) -> Self {
        MockBody::Full(Some(b))
    }

    pub fn paced(data: Bytes, chunk: usize, interval: std::time::Duration) -> Self {
        MockBody::Paced {
            data,
            chunk: chunk.max(1),
            interval,
            wait: None,
        }
    }

    /// Up to `keep` bytes of the body for a record of it: shared when the whole body fits
    /// (the body is standin's own: a route's bytes, or a rendered or forwarded answer),
    /// copied when only a prefix is kept.
    pub fn shared(&self, keep: usize) -> Bytes {
        let all = match self {
            MockBody::Full(data) => data.clone().unwrap_or_default(),
            MockBody::Chunked { data, .. } | MockBody::Paced { data, .. } => data.clone(),
        };
        if all.len() <= keep {
            all
        } else {
            Bytes::copy_from_slice(&all[..keep])
        }
    }

    /// The bytes not yet sent.
    pub fn bytes(&self) -> &[u8] {
        match self {
            MockBody::Full(data) => data.as_deref().unwrap_or_default(),
            MockBody::Chunked { data, .. } | MockBody::Paced { data, .. } => data,
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let next = match this {
            MockBody::Full(data) => data.take().filter(|d| !d.is_empty()),
            MockBody::Chunked { data, chunk } => {
                let n = (*chunk).min(data.len());
                (n > 0).then(|| data.split_to(n))
            }
            MockBody::Paced {
                data,
                chunk,
                interval,
                wait,
            } => {
                if let Some(w) = wait {
                    if w.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    *wait = None;
                }
                let n = (*chunk).min(data.len());
                let piece = (n > 0).then(|| data.split_to(n));
                if !data.is_empty() {
                    *wait = Some(Box::pin(tokio::time::sleep(*interval)));
                }
                piece
            }
        };
        Poll::Ready(next.map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            MockBody::Full(data) => data.as_ref().is_none_or(|d| d.is_empty()),
            MockBody::Chunked { data, .. } | MockBody::Paced { data, .. } => data.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            // Unknown length: hyper sends HTTP/1.1 bodies chunked.
            MockBody::Chunked { .. } => SizeHint::default(),
            MockBody::Paced { data, .. } => SizeHint::with_exact(data.len() as u64),
        }
    }
}
