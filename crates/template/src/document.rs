//! MockServer's response templates, which render a whole response document per request (its
//! `httpResponseTemplate`): the template produces the JSON of a MockServer `httpResponse`,
//! which becomes the status, headers and body sent.

use crate::mustache;
use crate::velocity::VelocityTemplate;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use serde_json::{Map, Value, json};
use standin_eval::Request;
use standin_eval::lenient::BODY_FIELDS;

/// A parsed template.
#[derive(Debug)]
pub struct MockServerTemplate {
    engine: Engine,
}

#[derive(Debug)]
enum Engine {
    Mustache(Vec<mustache::Node>),
    Velocity(VelocityTemplate),
    JavaScript,
}

/// The template languages of MockServer's `httpResponseTemplate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentEngine {
    Mustache,
    Velocity,
    /// Not run: rendering fails, so the request gets MockServer 8.0's bare 404.
    JavaScript,
}

/// What a template produced for one request.
pub struct RenderedResponse {
    pub status: StatusCode,
    pub reason: Option<Bytes>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub delay_ms: u64,
}

impl MockServerTemplate {
    /// Parses a template; the error says what is wrong and where.
    pub fn compile(engine: DocumentEngine, source: &str) -> Result<Self, String> {
        Ok(MockServerTemplate {
            engine: match engine {
                DocumentEngine::Mustache => Engine::Mustache(mustache::parse(source)?),
                DocumentEngine::Velocity => Engine::Velocity(VelocityTemplate::compile(source)?),
                DocumentEngine::JavaScript => Engine::JavaScript,
            },
        })
    }

    /// Renders the template for `req`. An error means the template produced something that
    /// is not a response document; the server answers 500 and says why.
    pub fn render(
        &self,
        req: &Request<'_>,
        path_values: &[(Box<str>, String)],
    ) -> Result<RenderedResponse, String> {
        response_from(&self.document(req, path_values)?)
    }

    /// Renders a forward template (`httpForwardTemplate`): its output is the JSON of the
    /// MockServer `httpRequest` to send.
    pub fn render_request(
        &self,
        req: &Request<'_>,
        path_values: &[(Box<str>, String)],
    ) -> Result<RenderedRequest, String> {
        request_document(&self.document(req, path_values)?)
    }

    /// The template's output, read as MockServer reads it.
    fn document(
        &self,
        req: &Request<'_>,
        path_values: &[(Box<str>, String)],
    ) -> Result<Value, String> {
        let budget = req.budget();
        let text = match &self.engine {
            Engine::Mustache(nodes) => {
                let body = if budget.spend_bytes(req.body.len(), 4) {
                    serde_json::from_slice(req.body).ok()
                } else {
                    None
                };
                mustache::render(
                    nodes,
                    &context(req, path_values),
                    body,
                    &String::from_utf8_lossy(req.body),
                    budget,
                )?
            }
            Engine::Velocity(t) => t.render(&context(req, path_values), budget)?,
            Engine::JavaScript => {
                return Err("JavaScript templates are not run by standin; MockServer 8.0 without a JavaScript engine answers 404 too".into());
            }
        };
        // The output is read as MockServer reads it: Jackson with every relaxation on.
        let doc: Value = standin_eval::lenient::parse(&text).map_err(|e| {
            format!(
                "the template did not render JSON ({e}): {}",
                standin_eval::parse::ellipsize(&text)
            )
        })?;
        Ok(doc)
    }
}

/// The request as MockServer templates see it, plus its helper values.
fn context(req: &Request<'_>, path_values: &[(Box<str>, String)]) -> Value {
    // HTTP/1.1 reaches us with lower-cased names; MockServer shows the client's spelling,
    // which is Title-Case for nearly every client, so names are shown that way (lookups
    // ignore case either way).
    let mut headers: Map<String, Value> = Map::new();
    for (name, value) in req.headers {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let key = title_case(name.as_str());
        match headers.get_mut(&key) {
            Some(Value::Array(list)) => list.push(json!(text)),
            _ => {
                headers.insert(key, json!([text]));
            }
        }
    }
    // MockServer adds `content-length: 0` to a request without a body before templating.
    if req.body.is_empty() && !req.headers.contains_key(http::header::CONTENT_LENGTH) {
        headers.insert("content-length".into(), json!(["0"]));
    }
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in req.query_pairs() {
        match query.get_mut(k.as_ref()) {
            Some(Value::Array(list)) => list.push(json!(v)),
            _ => {
                query.insert(k.to_string(), json!([v]));
            }
        }
    }
    let path_params: Map<String, Value> = path_values
        .iter()
        .map(|(k, v)| (k.to_string(), json!([v])))
        .collect();
    let cookies: Map<String, Value> = req
        .cookie_pairs()
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let now = jiff::Timestamp::now();
    let seed = now.as_nanosecond() as u64;
    json!({
        "request": {
            "method": req.method,
            "path": req.path,
            "pathParameters": path_params,
            "queryStringParameters": query,
            "headers": headers,
            "cookies": cookies,
            "body": String::from_utf8_lossy(req.body),
            "remoteAddress": req.peers.map(|(r, _)| r.to_string()),
            "localAddress": req.peers.map(|(_, l)| l.to_string()),
            "keepAlive": !req.headers.get_all(http::header::CONNECTION).iter().any(|v| v.to_str().is_ok_and(|v| v.eq_ignore_ascii_case("close"))),
            "secure": false,
        },
        "now_iso_8601": now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "now_epoch": now.as_second(),
        "now_rfc_1123": now.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        "uuid": uuid_like(seed),
        "rand_int_10": mix(seed) % 10,
        "rand_int_100": mix(seed.rotate_left(17)) % 100,
        "rand_bytes_16": random_base64(seed ^ 16, 16),
        "rand_bytes_32": random_base64(seed ^ 32, 32),
        "rand_bytes_64": random_base64(seed ^ 64, 64),
        "rand_bytes_128": random_base64(seed ^ 128, 128),
    })
}

/// `user-agent` → `User-Agent`.
pub fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next().map_or(String::new(), |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn mix(mut x: u64) -> u64 {
    // splitmix64: spreads the clock's nanoseconds into unrelated-looking numbers.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn random_base64(seed: u64, n: usize) -> String {
    let bytes: Vec<u8> = (0..n as u64)
        .map(|i| mix(seed.wrapping_add(i)) as u8)
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn uuid_like(seed: u64) -> String {
    let (a, b) = (mix(seed), mix(seed ^ 0x5555_5555_5555_5555));
    uuid_v4(((a as u128) << 64) | b as u128)
}

/// 128 random bits as a version 4 UUID.
pub(crate) fn uuid_v4(v: u128) -> String {
    let v = (v & !(0xf000u128 << 64)) | (0x4000u128 << 64); // version 4
    let v = (v & !(0xc000u128 << 48)) | (0x8000u128 << 48); // RFC 4122 variant
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The fields of a MockServer `httpResponse`; MockServer refuses a rendered response with
/// any other.
const RESPONSE_FIELDS: &[&str] = &[
    "statusCode",
    "reasonPhrase",
    "headers",
    "cookies",
    "body",
    "delay",
    "connectionOptions",
];

/// A body object as MockServer's body reader reads it: a valid `type`, or a field that
/// names a body kind, makes it a typed body; otherwise it is JSON.
fn typed_body(b: &Map<String, Value>) -> Result<(Bytes, Option<String>), String> {
    let field = |name: &str| {
        b.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let kind = field("type")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
        .filter(|t| BODY_FIELDS.iter().any(|(_, k)| k == t) || t == "PARAMETERS")
        .or_else(|| {
            // `{"type": "unknown", …}` is not typed, and not read by its other fields.
            (field("type").is_none())
                .then(|| standin_eval::lenient::implied_body_type(b))
                .flatten()
                .map(str::to_string)
        });
    let ct = field("contentType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    Ok(match kind.as_deref() {
        None => (
            Bytes::from(crate::handlebars::jackson_pretty(&Value::Object(b.clone()))),
            Some("application/json; charset=utf-8".into()),
        ),
        Some("JSON") => (
            Bytes::from(text(field("json"))),
            Some(ct.unwrap_or_else(|| "application/json; charset=utf-8".into())),
        ),
        Some("XML") => (
            Bytes::from(text(field("xml"))),
            Some(ct.unwrap_or_else(|| "application/xml; charset=utf-8".into())),
        ),
        Some("BINARY") => (
            base64::engine::general_purpose::STANDARD
                .decode(text(field("base64Bytes")))
                .map(Bytes::from)
                .map_err(|e| format!("invalid base64Bytes: {e}"))?,
            ct,
        ),
        Some(k) => {
            let name = BODY_FIELDS
                .iter()
                .find(|(_, kind)| *kind == k)
                .map_or("string", |(f, _)| *f);
            (Bytes::from(text(field(name))), ct)
        }
    })
}

/// A MockServer `httpResponse` document as a response.
/// The longest delay a rendered response (or a callback client's answer) may ask for.
const MAX_RENDERED_DELAY_MS: u64 = 3_600_000;

/// A MockServer `httpResponse` document (a callback client's answer, say) as a response.
pub fn response_document(doc: &Value) -> Result<RenderedResponse, String> {
    response_from(doc)
}

fn response_from(doc: &Value) -> Result<RenderedResponse, String> {
    let obj = doc
        .as_object()
        .ok_or("the template must render a JSON object (a MockServer httpResponse)")?;
    if let Some(unknown) = obj.keys().find(|k| !RESPONSE_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "\"{unknown}\" is not a field of a MockServer response"
        ));
    }
    let status = match obj.get("statusCode") {
        None | Some(Value::Null) => StatusCode::OK,
        Some(v) => v
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| format!("statusCode {v} is not an HTTP status code"))?,
    };
    let mut headers = Vec::new();
    fn push(
        headers: &mut Vec<(HeaderName, HeaderValue)>,
        name: &str,
        value: &str,
    ) -> Result<(), String> {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("\"{name}\" is not a header name"))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| format!("\"{value}\" is not a valid value for header {name}"))?;
        headers.push((n, v));
        Ok(())
    }
    for (name, values) in named_values(obj.get("headers")) {
        for v in values {
            push(&mut headers, &name, &v)?;
        }
    }
    for (name, values) in named_values(obj.get("cookies")) {
        if let Some(v) = values.first() {
            push(&mut headers, "set-cookie", &format!("{name}={v}"))?;
        }
    }
    let (body, content_type) = match obj.get("body") {
        None => (Bytes::new(), None),
        Some(Value::String(s)) => (Bytes::from(s.clone()), None),
        Some(Value::Object(b)) => typed_body(b)?,
        Some(Value::Array(_)) => (
            Bytes::from(crate::handlebars::jackson_pretty(&obj["body"])),
            Some("application/json; charset=utf-8".into()),
        ),
        Some(other) => return Err(format!("body {other} is not a response body")),
    };
    if let Some(ct) = content_type
        && !headers.iter().any(|(n, _)| n == http::header::CONTENT_TYPE)
    {
        push(&mut headers, "content-type", &ct)?;
    }
    let delay_ms = obj
        .get("delay")
        .and_then(|d| {
            let value = d.get("value")?.as_f64()?;
            let factor = match d
                .get("timeUnit")
                .and_then(Value::as_str)
                .unwrap_or("MILLISECONDS")
                .to_ascii_uppercase()
                .as_str()
            {
                "MICROSECONDS" => 1e-3,
                "SECONDS" => 1e3,
                "MINUTES" => 60e3,
                _ => 1.0,
            };
            // A delay computed from the request is capped at an hour.
            Some(((value * factor).max(0.0) as u64).min(MAX_RENDERED_DELAY_MS))
        })
        .unwrap_or(0);
    let reason = obj
        .get("reasonPhrase")
        .and_then(Value::as_str)
        .map(|r| Bytes::from(r.to_string()));
    Ok(RenderedResponse {
        status,
        reason,
        headers,
        body,
        delay_ms,
    })
}

/// `{"name": ["a"]}`, `{"name": "a"}` or `[{"name": .., "values": [..]}]` as pairs.
fn named_values(v: Option<&Value>) -> Vec<(String, Vec<String>)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let list = |v: &Value| match v {
        Value::Array(a) => a.iter().map(text).collect(),
        other => vec![text(other)],
    };
    match v {
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), list(v))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| {
                let name = i.get("name")?.as_str()?.to_string();
                let values = i
                    .get("values")
                    .or_else(|| i.get("value"))
                    .map(list)
                    .unwrap_or_default();
                Some((name, values))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A request a template (or a callback client) asks to send.
#[derive(Debug, Clone)]
pub struct RenderedRequest {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// `{"name": ["a"]}`, `{"name": "a"}` or `[{"name": …, "values": […]}]` as pairs.
fn request_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let values = |v: &Value| match v {
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>(),
        other => vec![text(other)],
    };
    match v {
        Some(Value::Object(o)) => o
            .iter()
            .flat_map(|(k, v)| values(v).into_iter().map(move |x| (k.clone(), x)))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| {
                let name = i.get("name")?.as_str()?.to_string();
                let vs = i.get("values").or_else(|| i.get("value")).map(values)?;
                Some(
                    vs.into_iter()
                        .map(move |x| (name.clone(), x))
                        .collect::<Vec<_>>(),
                )
            })
            .flatten()
            .collect(),
        _ => Vec::new(),
    }
}

/// A MockServer `HttpRequest` document (a forward template's output, a callback client's
/// answer) as a request to send, with an absolute URI: to its `socketAddress`,
/// or else to its `Host` header (port 443 when `secure`, 80 otherwise).
pub fn request_document(v: &Value) -> Result<RenderedRequest, String> {
    let method = v.get("method").and_then(Value::as_str).unwrap_or("GET");
    let method = http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let path = v.get("path").and_then(Value::as_str).unwrap_or("/");
    let mut headers = HeaderMap::new();
    for (n, val) in request_pairs(v.get("headers")) {
        let (Ok(n), Ok(val)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(&val),
        ) else {
            return Err(format!("the header {n}: {val} is not valid"));
        };
        headers.append(n, val);
    }
    let cookies: Vec<String> = request_pairs(v.get("cookies"))
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !cookies.is_empty()
        && let Ok(c) = HeaderValue::from_str(&cookies.join("; "))
    {
        headers.append(http::header::COOKIE, c);
    }
    let secure = v.get("secure").and_then(Value::as_bool) == Some(true);
    let (scheme, authority) = match v.get("socketAddress") {
        Some(sa) => {
            let host = sa
                .get("host")
                .and_then(Value::as_str)
                .unwrap_or("localhost");
            let scheme = match sa.get("scheme").and_then(Value::as_str) {
                Some(s) if s.eq_ignore_ascii_case("https") => "https",
                _ => "http",
            };
            let port = sa
                .get("port")
                .and_then(Value::as_u64)
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            (scheme, format!("{host}:{port}"))
        }
        None => {
            let host = headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .ok_or("neither socketAddress nor a Host header says where to forward")?;
            let scheme = if secure { "https" } else { "http" };
            let authority = if host.contains(':') {
                host.to_string()
            } else {
                format!("{host}:{}", if secure { 443 } else { 80 })
            };
            (scheme, authority)
        }
    };
    let query: Vec<String> = request_pairs(v.get("queryStringParameters"))
        .into_iter()
        .map(|(k, v)| format!("{}={}", percent_encode(&k), percent_encode(&v)))
        .collect();
    let uri = if query.is_empty() {
        format!("{scheme}://{authority}{path}")
    } else {
        format!("{scheme}://{authority}{path}?{}", query.join("&"))
    };
    let uri: Uri = uri.parse().map_err(|e| format!("{uri}: {e}"))?;
    let body = match v.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(Value::Object(o)) => {
            let field = |k: &str| o.get(k);
            if let Some(b) = field("base64Bytes").and_then(Value::as_str) {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map(Bytes::from)
                    .map_err(|e| format!("base64Bytes: {e}"))?
            } else if let Some(j) = field("json") {
                Bytes::from(match j {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            } else if let Some(s) = field("string")
                .or_else(|| field("xml"))
                .and_then(Value::as_str)
            {
                Bytes::from(s.to_string())
            } else {
                Bytes::from(Value::Object(o.clone()).to_string())
            }
        }
        Some(other) => Bytes::from(other.to_string()),
    };
    Ok(RenderedRequest {
        method,
        uri,
        headers,
        body,
    })
}

/// Percent-encodes all but the unreserved characters of RFC 3986.
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_response_from_the_request() {
        let t = MockServerTemplate::compile(
            DocumentEngine::Mustache,
            r#"{"statusCode": 201, "headers": {"X-Method": ["{{ request.method }}"]}, "body": "{{ request.path }} {{ request.queryStringParameters.q.0 }} {{ request.headers.host.0 }}"}"#,
        )
        .unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "example".parse().unwrap());
        let req = Request::new("POST", "/a", Some("q=1"), &headers, b"");
        let r = t.render(&req, &[]).unwrap();
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.headers[0].1, "POST");
        assert_eq!(&r.body[..], b"/a 1 example");
    }

    #[test]
    fn a_template_that_renders_no_json_is_an_error() {
        let t =
            MockServerTemplate::compile(DocumentEngine::Mustache, "not json {{request.method}}")
                .unwrap();
        let headers = http::HeaderMap::new();
        assert!(
            t.render(&Request::new("GET", "/", None, &headers, b""), &[])
                .is_err()
        );
    }

    #[test]
    fn output_is_read_leniently_and_checked_as_a_response() {
        let headers = http::HeaderMap::new();
        let req = Request::new("GET", "/", None, &headers, b"");
        let render = |t: &str| {
            MockServerTemplate::compile(DocumentEngine::Velocity, t)
                .unwrap()
                .render(&req, &[])
        };
        let r = render(
            "{'statusCode': 201, body: 'line\none', /* note */ 'headers': {'a': 'b',},} and more",
        )
        .unwrap();
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(&r.body[..], b"line\none");
        for bad in [
            "{'statusCode': '201'}",
            "{'status': 201}",
            "{'body': 5}",
            "{'body': null}",
            "[1]",
            "plain",
        ] {
            assert!(render(bad).is_err(), "{bad}");
        }
        let r = render("{'body': {'a': 1, 'b': [1, 2]}}").unwrap();
        assert_eq!(&r.body[..], b"{\n  \"a\" : 1,\n  \"b\" : [ 1, 2 ]\n}");
        let r = render("{'body': {'xml': '<x/>', 'other': 1}}").unwrap();
        assert_eq!(&r.body[..], b"<x/>");
        assert_eq!(r.headers[0].1, "application/xml; charset=utf-8");
        let r = render("{'body': {'a': 1, 'type': 'STRING'}}").unwrap();
        assert!(r.body.is_empty());
        let r = render("{'body': {'a': 1, 'not': true}}").unwrap();
        assert_eq!(&r.body[..], b"{\n  \"a\" : 1,\n  \"not\" : true\n}");
    }

    #[test]
    fn uuids_have_version_4_and_the_rfc_variant() {
        let u = uuid_like(12345);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(["8", "9", "a", "b"].contains(&&u[19..20]), "{u}");
    }
}
