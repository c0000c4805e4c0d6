//! Reading request bodies within bounds: a size limit per request, a deadline, and a
//! byte budget shared by every body in flight, so memory stays bounded whatever the
//! clients do (100 uploads stalled just short of the limit hold the budget, not 1 GB).

use crate::error::ServeError;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::time::Instant;

/// The bytes of request bodies in flight, against a limit.
#[derive(Debug)]
pub(crate) struct Uploads {
    used: AtomicUsize,
    limit: usize,
}

/// Bytes held by one request body; given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    uploads: Arc<Uploads>,
    bytes: usize,
}

impl Uploads {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Uploads {
            used: AtomicUsize::new(0),
            limit,
        })
    }

    fn take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|t| *t <= self.limit)
            })
            .is_ok()
    }

    pub(crate) fn reserve(self: &Arc<Self>, n: usize) -> Option<Reservation> {
        self.take(n).then(|| Reservation {
            uploads: self.clone(),
            bytes: n,
        })
    }
}

impl Reservation {
    fn grow_to(&mut self, total: usize) -> bool {
        if total <= self.bytes {
            return true;
        }
        let more = total - self.bytes;
        if !self.uploads.take(more) {
            return false;
        }
        self.bytes = total;
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.uploads.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Reads the whole body by `deadline`, holding its bytes against `uploads`. A declared
/// Content-Length is reserved before the first byte is read.
pub(crate) async fn read_body(
    mut body: Incoming,
    headers: &HeaderMap,
    uploads: &Arc<Uploads>,
    max_body_bytes: usize,
    deadline: Instant,
) -> Result<(Bytes, Reservation), ServeError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let too_large = ServeError::BodyTooLarge {
        limit: max_body_bytes,
    };
    if declared > max_body_bytes {
        return Err(too_large);
    }
    let full = ServeError::UploadsFull {
        limit: uploads.limit,
    };
    let mut held = uploads.reserve(declared).ok_or_else(|| full.clone())?;
    // Most requests have no body: nothing to wait for, no timer to set.
    if hyper::body::Body::is_end_stream(&body) {
        return Ok((Bytes::new(), held));
    }
    let read = async {
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ServeError::BodyUnreadable(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            total += data.len();
            if total > max_body_bytes {
                return Err(too_large.clone());
            }
            if !held.grow_to(total) {
                return Err(full.clone());
            }
            chunks.push(data);
        }
        Ok(join(chunks, total))
    };
    match tokio::time::timeout_at(deadline, read).await {
        Ok(Ok(bytes)) => Ok((bytes, held)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ServeError::BodyTimeout),
    }
}

/// One `Bytes` from the chunks, copying only when there are several.
fn join(mut chunks: Vec<Bytes>, total: usize) -> Bytes {
    match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut out = BytesMut::with_capacity(total);
            for c in chunks {
                out.extend_from_slice(&c);
            }
            out.freeze()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let uploads = Uploads::new(100);
        let a = uploads.reserve(60).unwrap();
        assert!(uploads.reserve(50).is_none(), "60 + 50 exceeds 100");
        let mut b = uploads.reserve(40).unwrap();
        assert!(!b.grow_to(41));
        drop(a);
        assert!(b.grow_to(100));
        assert_eq!(uploads.used.load(Ordering::Relaxed), 100);
        drop(b);
        assert_eq!(uploads.used.load(Ordering::Relaxed), 0);
    }
}
