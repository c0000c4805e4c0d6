//! The one parser of each part of a request that matching, templates, the MockServer API
//! and forwarding read: path segments and percent escapes, query strings and form bodies,
//! and the `Cookie` header.

use http::HeaderMap;
use std::borrow::Cow;

/// Splits a path into its non-empty segments: repeated and trailing slashes do not count.
pub fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Splits and percent-decodes a request path. Allocates only for segments with `%`.
pub fn decoded_segments(path: &str) -> Vec<Cow<'_, str>> {
    segments(path).map(percent_decode).collect()
}

pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Splits a query string (or an `application/x-www-form-urlencoded` body) into decoded
/// name/value pairs, in order; `+` is a space.
///
/// ```
/// let pairs = standin_eval::parse::query_pairs("a=1&b=x+y&a=%32");
/// assert_eq!(pairs[1], ("b".into(), "x y".into()));
/// assert_eq!(pairs.len(), 3);
/// ```
pub fn query_pairs(q: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        Cow::Owned(percent_decode(&s.replace('+', " ")).into_owned())
    } else {
        percent_decode(s)
    }
}

/// Every cookie of every `Cookie` header, as `(name, value)`, in order.
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.insert(http::header::COOKIE, "a=1; b=2".parse().unwrap());
/// assert_eq!(standin_eval::parse::cookie_pairs(&h), [("a", "1"), ("b", "2")]);
/// ```
pub fn cookie_pairs(headers: &HeaderMap) -> Vec<(&str, &str)> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .collect()
}

/// The cookie name a `Set-Cookie` line sets.
///
/// ```
/// assert_eq!(standin_eval::parse::set_cookie_name(b"sid=1; Path=/"), Some("sid"));
/// ```
pub fn set_cookie_name(line: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(line).ok()?;
    Some(text.split_once('=')?.0.trim())
}

/// Text cut to about 120 bytes for messages, with an ellipsis when cut.
pub fn ellipsize(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_truncated_escapes() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
