//! WireMock's templates, rendered by our Handlebars engine, against what a real WireMock
//! 3.13.2 answered (`tests/cases/handlebars/*.json`, recorded by
//! `compat/wiremock-templates/oracle.mjs`; the format is in that folder's README).
//!
//! Every case must agree, except those listed in `known_differences.json` with the reason;
//! a listed case that starts agreeing fails the test too, so the list stays true.

use serde::Deserialize;
use standin_template::HandlebarsTemplate;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Case {
    name: String,
    template: String,
    request: Req,
    #[serde(default, rename = "urlPathTemplate")]
    url_path_template: Option<String>,
    #[serde(default)]
    expected: Option<String>,
    #[serde(default)]
    shape: Option<String>,
    #[serde(default)]
    status: Option<u16>,
}

#[derive(Deserialize)]
struct Req {
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    body: String,
}

fn get() -> String {
    "GET".into()
}

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/handlebars");

/// The headers the oracle's client sent beside the case's own.
fn headers(req: &Req) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in &req.headers {
        let name = http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        match v {
            serde_json::Value::Array(vs) => {
                for v in vs {
                    h.append(name.clone(), v.as_str().unwrap().parse().unwrap());
                }
            }
            v => {
                h.append(name, v.as_str().unwrap().parse().unwrap());
            }
        }
    }
    if !h.contains_key(http::header::HOST) {
        h.insert(http::header::HOST, "127.0.0.1:8080".parse().unwrap());
    }
    h.insert(http::header::CONNECTION, "close".parse().unwrap());
    let bodyless = ["GET", "HEAD", "DELETE", "OPTIONS"].contains(&req.method.as_str());
    if !req.body.is_empty() || !bodyless {
        h.insert(http::header::CONTENT_LENGTH, req.body.len().into());
    }
    h
}

/// Path variables of a WireMock path template (`/users/{id}`).
fn path_values(template: &str, path: &str) -> Vec<(Box<str>, String)> {
    let t: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let p: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    t.iter()
        .zip(p.iter())
        .filter_map(|(t, p)| {
            let name = t.strip_prefix('{')?.strip_suffix('}')?;
            Some((
                Box::from(name),
                standin_eval::parse::percent_decode(p).into_owned(),
            ))
        })
        .collect()
}

/// What our engine gives: `Ok(body)` or `Err(message)` (a compile or render failure).
fn run(c: &Case) -> Result<String, String> {
    let t = HandlebarsTemplate::compile(&c.template, "/body").map_err(|e| e.message)?;
    let h = headers(&c.request);
    let (path, query) = match c.request.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (c.request.path.as_str(), None),
    };
    let req = standin_eval::Request::new(
        &c.request.method,
        path,
        query,
        &h,
        c.request.body.as_bytes(),
    );
    let values = c
        .url_path_template
        .as_deref()
        .map(|t| path_values(t, path))
        .unwrap_or_default();
    t.render(&req, &values).map_err(|e| e.to_string())
}

/// Whether our answer agrees with WireMock's.
fn agrees(c: &Case, got: &Result<String, String>) -> bool {
    // WireMock failed the render (500): so must we, whatever the text.
    if c.status.is_some_and(|s| s >= 500) {
        return got.is_err();
    }
    let Ok(body) = got else { return false };
    match (&c.expected, &c.shape) {
        (Some(e), _) => body == e,
        (None, Some(s)) => regex::Regex::new(s).unwrap().is_match(body),
        (None, None) => false,
    }
}

#[test]
fn templates_render_as_wiremock_renders_them() {
    let known: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(format!("{CASES}/known_differences.json")).unwrap_or("{}".into()),
    )
    .unwrap();
    let mut files: Vec<_> = std::fs::read_dir(CASES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json") && !p.ends_with("known_differences.json")
        })
        .collect();
    files.sort();
    let (mut total, mut passed) = (0, 0);
    let mut wrong = Vec::new();
    let mut now_agree = Vec::new();
    for file in files {
        let group = file.file_stem().unwrap().to_string_lossy().to_string();
        let cases: Vec<Case> =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for c in cases {
            total += 1;
            let key = format!("{group}: {}", c.name);
            let got = run(&c);
            let ok = agrees(&c, &got);
            if ok {
                passed += 1;
            }
            match (ok, known.contains_key(&key)) {
                (true, true) => now_agree.push(key),
                (false, false) => wrong.push(format!(
                    "{key}\n    template: {:?}\n    wiremock: {:?}\n    standin:  {:?}",
                    c.template,
                    c.expected.as_deref().or(c.shape.as_deref()),
                    got
                )),
                _ => {}
            }
        }
    }
    println!("{passed} of {total} WireMock template cases agree");
    assert!(
        wrong.is_empty(),
        "{} case(s) differ from WireMock and are not listed as known differences:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        now_agree.is_empty(),
        "listed as known differences but agree now (remove them from the list): {now_agree:?}"
    );
}
