//! WireMock's request model, built once per render from the request: `request.path`
//! (decoded, with its segments and path variables), `request.url`, `request.method`,
//! `request.query.*`, `request.headers.*` (any case), `request.cookies.*`,
//! `request.body`, `request.baseUrl`, `request.host`, `request.port`, `request.scheme`.

use super::parse::{Call, Node, Operand};
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

/// Which parts of the request model a template reads, found when it is compiled, so a
/// render builds only those (parsing every header and cookie for a template that reads
/// one query parameter would cost more than the rest of the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Needs(u16);

const PATH: u16 = 1;
const URL: u16 = 2;
const METHOD: u16 = 4;
const QUERY: u16 = 8;
const HEADERS: u16 = 16;
const COOKIES: u16 = 32;
const BODY: u16 = 64;
const HOST: u16 = 128;
const ALL: u16 = u16::MAX;

impl Needs {
    pub(crate) fn of(nodes: &[Node]) -> Self {
        let mut n = 0;
        walk(nodes, &mut n);
        Needs(n)
    }

    fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
}

fn walk(nodes: &[Node], n: &mut u16) {
    for node in nodes {
        match node {
            Node::Text(_) => {}
            Node::Expr(c, _) => call(c, n),
            Node::Block(b) => {
                call(&b.call, n);
                walk(&b.body, n);
                walk(&b.inverse, n);
            }
        }
    }
}

fn call(c: &Call, n: &mut u16) {
    for o in std::iter::once(&c.head)
        .chain(c.params.iter())
        .chain(c.hash.iter().map(|(_, o)| o))
    {
        match o {
            Operand::Sub(s) => call(s, n),
            Operand::Path(p) => {
                let first = p.parts.first().map(String::as_str);
                let second = p.parts.get(1).map(String::as_str);
                *n |= match (p.data, first, second) {
                    // The whole model, or the root: build everything.
                    (true, Some("root"), _) | (false, None, _) => ALL,
                    (false, Some("request"), None) => ALL,
                    (false, Some("request"), Some(field)) => match field {
                        "path" | "pathSegments" => PATH,
                        "url" => URL,
                        "method" => METHOD,
                        "query" => QUERY,
                        "headers" => HEADERS,
                        "cookies" => COOKIES,
                        "body" => BODY,
                        "baseUrl" | "host" | "port" | "scheme" => HOST,
                        _ => 0,
                    },
                    _ => 0,
                };
            }
            _ => {}
        }
    }
}

pub(crate) fn request_root(
    req: &Request<'_>,
    path_values: &[(Box<str>, String)],
    needs: Needs,
) -> Value {
    let mut r = BTreeMap::new();
    if needs.has(PATH) {
        path_model(req, path_values, &mut r);
    }
    if needs.has(URL) {
        let mut url = req.path.to_string();
        if let Some(q) = req.query {
            url.push('?');
            url.push_str(q);
        }
        r.insert("url".into(), Value::str(url));
    }
    if needs.has(METHOD) {
        r.insert(
            "method".into(),
            rich(Some(req.method.to_string()), Vec::new(), BTreeMap::new()),
        );
    }
    if needs.has(QUERY) {
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
    }
    if needs.has(HEADERS) {
        headers_model(req, &mut r);
    }
    if needs.has(COOKIES) {
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
    }
    if needs.has(BODY) {
        r.insert(
            "body".into(),
            Value::str(String::from_utf8_lossy(req.body).as_ref()),
        );
    }
    if needs.has(HOST) {
        host_model(req, &mut r);
    }
    r.insert("multipart".into(), Value::Bool(false));
    let mut root = BTreeMap::new();
    root.insert("request".into(), Value::Map(Rc::new(r)));
    root.insert("parameters".into(), Value::Map(Rc::new(BTreeMap::new())));
    Value::Map(Rc::new(root))
}

fn path_model(
    req: &Request<'_>,
    path_values: &[(Box<str>, String)],
    r: &mut BTreeMap<String, Value>,
) {
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
}

fn headers_model(req: &Request<'_>, r: &mut BTreeMap<String, Value>) {
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
}

fn host_model(req: &Request<'_>, r: &mut BTreeMap<String, Value>) {
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
}
