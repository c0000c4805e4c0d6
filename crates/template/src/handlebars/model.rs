//! WireMock's request model, built once per render from the request: `request.path`
//! (decoded, with its segments and path variables), `request.url`, `request.method`,
//! `request.query.*`, `request.headers.*` (any case), `request.cookies.*`,
//! `request.body`, `request.baseUrl`, `request.host`, `request.port`, `request.scheme`.

use super::value::{Rich, Value};
use standin_eval::Request;
use std::collections::BTreeMap;
use std::rc::Rc;

fn rich(text: Option<String>, items: Vec<Value>, named: BTreeMap<String, Value>) -> Value {
    Value::Rich(Rc::new(Rich { text, items, named }))
}

/// Values that may come once or many times (query parameters, headers, cookies).
fn values(items: Vec<&str>) -> Value {
    rich(
        None,
        items.into_iter().map(Value::str).collect(),
        BTreeMap::new(),
    )
}

pub(crate) fn request_root(req: &Request<'_>, path_values: &[(Box<str>, String)]) -> Value {
    let mut r = BTreeMap::new();
    let decoded = standin_eval::parse::percent_decode(req.path).into_owned();
    // Segments of the decoded path, as WireMock splits it.
    let segments: Vec<Value> = decoded
        .split('/')
        .filter(|s| !s.is_empty())
        .map(Value::str)
        .collect();
    let vars: BTreeMap<String, Value> = path_values
        .iter()
        .map(|(k, v)| (k.to_string(), Value::str(v.as_str())))
        .collect();
    let path = rich(Some(decoded), segments, vars);
    r.insert("path".into(), path.clone());
    r.insert("pathSegments".into(), path);
    let mut url = req.path.to_string();
    if let Some(q) = req.query {
        url.push('?');
        url.push_str(q);
    }
    r.insert("url".into(), Value::str(url));
    r.insert(
        "method".into(),
        rich(Some(req.method.to_string()), Vec::new(), BTreeMap::new()),
    );
    let mut query: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (k, v) in req.query_pairs() {
        query.entry(k.to_string()).or_default().push(v.as_ref());
    }
    r.insert(
        "query".into(),
        Value::Map(Rc::new(
            query.into_iter().map(|(k, v)| (k, values(v))).collect(),
        )),
    );
    let mut headers: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (k, v) in req.headers {
        if let Ok(v) = v.to_str() {
            headers.entry(k.as_str().to_string()).or_default().push(v);
        }
    }
    r.insert(
        "headers".into(),
        // Header names are matched in any case: keys are lower-case, and lookups too.
        rich(
            None,
            Vec::new(),
            headers.into_iter().map(|(k, v)| (k, values(v))).collect(),
        ),
    );
    let mut cookies: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (k, v) in req.cookie_pairs() {
        cookies.entry(k.to_string()).or_default().push(v);
    }
    r.insert(
        "cookies".into(),
        Value::Map(Rc::new(
            cookies.into_iter().map(|(k, v)| (k, values(v))).collect(),
        )),
    );
    r.insert(
        "body".into(),
        Value::str(String::from_utf8_lossy(req.body).as_ref()),
    );
    let host_header = req
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let (host, port) = match host_header.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.to_string()),
        _ => (host_header.to_string(), "80".to_string()),
    };
    r.insert(
        "baseUrl".into(),
        Value::str(format!("http://{host_header}")),
    );
    r.insert("host".into(), Value::str(host));
    r.insert("port".into(), Value::Int(port.parse().unwrap_or(80)));
    r.insert("scheme".into(), Value::str("http"));
    r.insert("multipart".into(), Value::Bool(false));
    let mut root = BTreeMap::new();
    root.insert("request".into(), Value::Map(Rc::new(r)));
    root.insert("parameters".into(), Value::Map(Rc::new(BTreeMap::new())));
    Value::Map(Rc::new(root))
}
