//! What the journal keeps of an exchange: the request and the response, with credentials
//! redacted.

use crate::Ctx;
use crate::decide::{Decision, Incoming as Req};
use crate::error::ServeError;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, header};
use standin_journal::{JournalEntry, UNRESOLVED};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// The journal entry: the request (its headers taken, not copied; its body copied up to
/// the kept bytes, since a slice would keep hyper's whole read buffer alive), and the
/// response.
pub(crate) fn journal_entry(
    ctx: &Ctx,
    inc: &mut Req,
    d: &Decision,
    started: Instant,
) -> JournalEntry {
    let keep = ctx.journal.max_body_bytes();
    let redact: &[HeaderName] = d
        .service
        .as_ref()
        .map_or(&[], |s| s.info.redact_headers.as_slice());
    let response_body = d.response.body().shared(keep);
    let response_body_size = d.response.body().bytes().len();
    let mut headers = std::mem::take(&mut inc.headers);
    redact_in_place(&mut headers, redact);
    let mut response_headers = d.response.headers().clone();
    redact_in_place(&mut response_headers, redact);
    let path = inc.uri.path();
    JournalEntry {
        seq: 0,
        at: SystemTime::now(),
        service: d
            .service
            .as_ref()
            .map_or_else(|| Arc::from(UNRESOLVED), |s| s.key.clone()),
        protocol: "http",
        method: inc.method.to_string(),
        path: path.to_string(),
        relative_path: d.relative(path).to_string(),
        query: inc.uri.query().map(str::to_string),
        headers,
        body: Bytes::copy_from_slice(&inc.body[..inc.body.len().min(keep)]),
        body_size: inc.body.len(),
        matched_route: d.route.as_ref().map(|r| r.id.clone()),
        near_misses: d.near_misses.clone(),
        status: d.response.status().as_u16(),
        response_headers,
        response_body,
        response_body_size,
        error: d.error.as_ref().map(ServeError::code),
        latency_us: started.elapsed().as_micros() as u64,
        forwarded: d.forwarded,
    }
}

/// Replaces the values of `names` present in `headers`. One pass over the (few) headers
/// finds out whether there is anything to do, so the usual request without credentials
/// costs no lookups.
fn redact_in_place(headers: &mut http::HeaderMap, names: &[HeaderName]) {
    if names.is_empty() || !headers.keys().any(|k| names.contains(k)) {
        return;
    }
    for name in names {
        if headers.contains_key(name) {
            let hidden: Vec<HeaderValue> = headers
                .get_all(name)
                .iter()
                .map(|v| hide(name, v))
                .collect();
            headers.remove(name);
            for v in hidden {
                headers.append(name.clone(), v);
            }
        }
    }
}

const REDACTED: &str = "<redacted>";

fn hide(name: &HeaderName, value: &HeaderValue) -> HeaderValue {
    let cookie_like = name == header::COOKIE || name == header::SET_COOKIE;
    let text = value.to_str().unwrap_or("");
    if !cookie_like || text.is_empty() {
        return HeaderValue::from_static(REDACTED);
    }
    let separator = if name == header::COOKIE { ";" } else { "\u{0}" };
    let kept: Vec<String> = text
        .split(separator)
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) => format!("{}={REDACTED}", k.trim()),
            None => REDACTED.to_string(),
        })
        .collect();
    HeaderValue::from_str(&kept.join("; ")).unwrap_or(HeaderValue::from_static(REDACTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted_and_cookie_names_kept() {
        let mut h = http::HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer secret"),
        );
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("session=abc; theme=dark"),
        );
        h.insert("x-other", HeaderValue::from_static("kept"));
        let mut out = h.clone();
        redact_in_place(&mut out, &[header::AUTHORIZATION, header::COOKIE]);
        assert_eq!(out[header::AUTHORIZATION], "<redacted>");
        assert_eq!(out[header::COOKIE], "session=<redacted>; theme=<redacted>");
        assert_eq!(out["x-other"], "kept");
    }
}
