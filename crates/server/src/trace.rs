//! Distributed tracing on the serving path: a request's trace context read from W3C
//! `traceparent` or B3 (single `b3` header, or the `X-B3-*` headers), a span id of
//! standin's own, the context passed on to an upstream, and the finished span handed to a
//! [`SpanSink`] (the binary's OpenTelemetry exporter). With no sink none of this runs.

use http::{HeaderMap, HeaderValue};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// How the caller sent its context, so an upstream gets it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// No context came in: the trace starts at standin (sent on as `traceparent`).
    Root,
    W3c,
    B3Single,
    B3Multi,
}

/// A request's place in a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    /// The caller's span; absent when the trace starts here.
    pub parent: Option<[u8; 8]>,
    /// standin's span for this request.
    pub span_id: [u8; 8],
    pub sampled: bool,
    pub style: Style,
}

/// One mock request's span, as the sink receives it.
#[derive(Debug, Clone)]
pub struct MockSpan {
    pub context: TraceContext,
    pub start: SystemTime,
    pub end: SystemTime,
    pub method: String,
    pub path: String,
    /// `team/service`, when a service was found.
    pub service: Option<Arc<str>>,
    pub route: Option<Arc<str>>,
    pub status: u16,
    /// The configured delay the answer waited out.
    pub delay_ms: u64,
    /// standin's own error code, when standin answered instead of a route.
    pub error: Option<&'static str>,
}

/// Where finished spans go. `record` runs on the serving path: it must not wait.
pub trait SpanSink: Send + Sync {
    fn record(&self, span: MockSpan);
}

/// Tracing as configured: the sink and the share of new traces to sample.
#[derive(Clone)]
pub struct Tracing {
    pub sink: Arc<dyn SpanSink>,
    /// Traces that start at standin are sampled with this probability (0 to 1); a
    /// caller's decision is followed.
    pub sample_ratio: f64,
}

impl std::fmt::Debug for Tracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracing")
            .field("sample_ratio", &self.sample_ratio)
            .finish_non_exhaustive()
    }
}

fn random_u64() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = STATE.load(Ordering::Relaxed);
    let base = if seed == 0 {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let _ = STATE.compare_exchange(0, t | 1, Ordering::Relaxed, Ordering::Relaxed);
        t
    } else {
        seed
    };
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(base);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn nonzero_span() -> [u8; 8] {
    loop {
        let v = random_u64();
        if v != 0 {
            return v.to_be_bytes();
        }
    }
}

fn hex_to<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out).filter(|o| o.iter().any(|b| *b != 0))
}

fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// A B3 trace id: 32 hex digits, or 16 (the high half zero).
fn b3_trace_id(s: &str) -> Option<[u8; 16]> {
    match s.len() {
        32 => hex_to::<16>(s),
        16 => hex_to::<8>(s).map(|low| {
            let mut id = [0u8; 16];
            id[8..].copy_from_slice(&low);
            id
        }),
        _ => None,
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

impl TraceContext {
    /// The caller's context (W3C first, then B3 single, then B3 multi), or a new trace
    /// sampled with `ratio`. A malformed header counts as absent, as the specifications
    /// say.
    pub fn from_headers(h: &HeaderMap, ratio: f64) -> TraceContext {
        let span_id = nonzero_span();
        if let Some(tp) = header(h, "traceparent") {
            let parts: Vec<&str> = tp.split('-').collect();
            if parts.len() >= 4
                && parts[0].len() == 2
                && parts[0] != "ff"
                && let (Some(trace_id), Some(parent), Some(flags)) = (
                    hex_to::<16>(parts[1]),
                    hex_to::<8>(parts[2]),
                    u8::from_str_radix(parts[3], 16).ok(),
                )
            {
                return TraceContext {
                    trace_id,
                    parent: Some(parent),
                    span_id,
                    sampled: flags & 1 == 1,
                    style: Style::W3c,
                };
            }
        }
        if let Some(b3) = header(h, "b3") {
            let parts: Vec<&str> = b3.split('-').collect();
            if parts.len() >= 2
                && let (Some(trace_id), Some(parent)) =
                    (b3_trace_id(parts[0]), hex_to::<8>(parts[1]))
            {
                let sampled = parts.get(2).is_none_or(|s| *s == "1" || *s == "d");
                return TraceContext {
                    trace_id,
                    parent: Some(parent),
                    span_id,
                    sampled,
                    style: Style::B3Single,
                };
            }
        }
        if let (Some(t), Some(s)) = (header(h, "x-b3-traceid"), header(h, "x-b3-spanid"))
            && let (Some(trace_id), Some(parent)) = (b3_trace_id(t), hex_to::<8>(s))
        {
            let sampled = header(h, "x-b3-flags") == Some("1")
                || header(h, "x-b3-sampled").is_none_or(|v| v == "1" || v == "true");
            return TraceContext {
                trace_id,
                parent: Some(parent),
                span_id,
                sampled,
                style: Style::B3Multi,
            };
        }
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&random_u64().to_be_bytes());
        trace_id[8..].copy_from_slice(&nonzero_span());
        let unit = (random_u64() >> 11) as f64 / (1u64 << 53) as f64;
        TraceContext {
            trace_id,
            parent: None,
            span_id,
            sampled: unit < ratio,
            style: Style::Root,
        }
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// Writes the context an upstream should see (standin's span as its parent), in the
    /// style the caller used; W3C `traceparent` when the trace starts here.
    pub fn propagate(&self, h: &mut HeaderMap) {
        let (trace, span) = (hex(&self.trace_id), hex(&self.span_id));
        let sampled = if self.sampled { "1" } else { "0" };
        let mut set = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        };
        match self.style {
            Style::Root | Style::W3c => set(
                "traceparent",
                format!(
                    "00-{trace}-{span}-{}",
                    if self.sampled { "01" } else { "00" }
                ),
            ),
            Style::B3Single => set(
                "b3",
                match self.parent {
                    Some(p) => format!("{trace}-{span}-{sampled}-{}", hex(&p)),
                    None => format!("{trace}-{span}-{sampled}"),
                },
            ),
            Style::B3Multi => {
                set("x-b3-traceid", trace);
                set("x-b3-spanid", span);
                set("x-b3-sampled", sampled.to_string());
                if let Some(p) = self.parent {
                    set("x-b3-parentspanid", hex(&p));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn w3c_b3_single_and_b3_multi_are_read_and_written_back_the_same_way() {
        let trace = "0af7651916cd43dd8448eb211c80319c";
        let cases = [
            (
                headers(&[("traceparent", &format!("00-{trace}-b7ad6b7169203331-01"))]),
                Style::W3c,
                true,
            ),
            (
                headers(&[("b3", &format!("{trace}-b7ad6b7169203331-0"))]),
                Style::B3Single,
                false,
            ),
            (
                headers(&[
                    ("x-b3-traceid", trace),
                    ("x-b3-spanid", "b7ad6b7169203331"),
                    ("x-b3-sampled", "1"),
                ]),
                Style::B3Multi,
                true,
            ),
        ];
        for (h, style, sampled) in cases {
            let c = TraceContext::from_headers(&h, 0.0);
            assert_eq!((c.style, c.sampled), (style, sampled));
            assert_eq!(c.trace_id_hex(), trace);
            assert_eq!(c.parent, Some(hex_to::<8>("b7ad6b7169203331").unwrap()));
            assert_ne!(c.span_id, c.parent.unwrap());
            let mut out = HeaderMap::new();
            c.propagate(&mut out);
            let span = hex(&c.span_id);
            match style {
                Style::W3c => {
                    assert_eq!(out["traceparent"], format!("00-{trace}-{span}-01").as_str())
                }
                Style::B3Single => assert_eq!(
                    out["b3"],
                    format!("{trace}-{span}-0-b7ad6b7169203331").as_str()
                ),
                _ => {
                    assert_eq!(out["x-b3-traceid"], trace);
                    assert_eq!(out["x-b3-spanid"], span.as_str());
                    assert_eq!(out["x-b3-parentspanid"], "b7ad6b7169203331");
                }
            }
        }
    }

    #[test]
    fn malformed_context_starts_a_new_trace() {
        for bad in [
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-xyz-b7ad6b7169203331-01",
            "garbage",
        ] {
            let c = TraceContext::from_headers(&headers(&[("traceparent", bad)]), 1.0);
            assert_eq!(
                (c.style, c.parent, c.sampled),
                (Style::Root, None, true),
                "{bad}"
            );
        }
        // A 64-bit B3 trace id is widened with zeros.
        let c = TraceContext::from_headers(
            &headers(&[("b3", "8448eb211c80319c-b7ad6b7169203331")]),
            0.0,
        );
        assert_eq!(c.trace_id_hex(), "00000000000000008448eb211c80319c");
        assert!(
            c.sampled,
            "no sampling state: the receiver decides, and standin samples"
        );
        // A new trace is sampled by the ratio.
        let none = HeaderMap::new();
        assert!(!TraceContext::from_headers(&none, 0.0).sampled);
        assert!(TraceContext::from_headers(&none, 1.0).sampled);
    }
}
