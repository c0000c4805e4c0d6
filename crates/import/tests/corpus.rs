//! Imports real public API descriptions that nobody here wrote: the `@readme/oas-examples`
//! (OpenAPI 3.0, 3.1, Swagger 2.0 in JSON and YAML) and `@octokit/openapi` (GitHub's REST
//! API, about 13 MB) npm packages, installed by `crates/import/corpus.sh` into
//! `target/corpus`. `make test` runs that script; run alone, this test fails unless the
//! corpus is there (`STANDIN_CORPUS` names another place).
//!
//! For every document: it imports, or fails with an error that names a real defect; every
//! route compiles; every answer generated from a schema validates against that schema
//! (jsonschema); and every operation answers a request built from its path template.

use serde_json::Value;
use standin_import::{Format, Options, Sources, import, missing_files};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    let dir = std::env::var_os("STANDIN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/corpus/node_modules")
        });
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    assert!(
        dir.join("@readme/oas-examples").is_dir(),
        "the corpus is missing at {}: run crates/import/corpus.sh (make test does)",
        dir.display()
    );
    dir
}

/// The documents of @readme/oas-examples, with the files their external refs name.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for version in ["2.0", "3.0", "3.1"] {
        for kind in ["json", "yaml"] {
            let dir = root.join("@readme/oas-examples").join(version).join(kind);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_file() {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Reads a document and every file it refers to, relative to it.
pub fn sources_for(path: &Path) -> Sources {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let dir = path.parent().unwrap();
    let mut sources = Sources::single(&name, std::fs::read_to_string(path).unwrap());
    for _ in 0..8 {
        let Ok(missing) = missing_files(&sources) else {
            break;
        };
        let mut added = false;
        for m in missing {
            if let Ok(text) = std::fs::read_to_string(dir.join(&m)) {
                sources.files.insert(m, text);
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    sources
}

#[test]
fn every_readme_example_imports_or_names_its_defect() {
    let root = corpus();
    let docs = documents(&root);
    assert!(docs.len() > 100, "only {} documents found", docs.len());
    let mut imported = 0;
    let mut routes = 0;
    let mut failures = Vec::new();
    let (mut generated, mut bad) = (0, Vec::new());
    for path in &docs {
        let sources = sources_for(path);
        match import(&sources, None, &Options::default()) {
            Ok(i) => {
                assert_eq!(i.format, Format::Openapi, "{}", path.display());
                imported += 1;
                routes += i.routes.len();
                answers_every_operation(path, &i.routes);
                let (checked, invalid) = generated_bodies_validate(&sources, &i.routes, usize::MAX);
                generated += checked;
                bad.extend(invalid);
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    eprintln!(
        "{imported} of {} documents imported, {routes} routes, {generated} generated bodies checked",
        docs.len()
    );
    for f in &failures {
        eprintln!("refused: {f}");
    }
    assert!(failures.is_empty(), "{} documents refused", failures.len());
    assert!(
        generated > 50,
        "only {generated} generated bodies were checked"
    );
    let mut excused = vec![0; NO_VALID_VALUE.len()];
    bad.retain(|b| {
        match NO_VALID_VALUE
            .iter()
            .position(|(file, schema, _)| b.starts_with(&format!("{file}.")) && b.contains(schema))
        {
            Some(i) => {
                excused[i] += 1;
                false
            }
            None => true,
        }
    });
    assert!(
        bad.is_empty(),
        "{} generated bodies are invalid:\n{}",
        bad.len(),
        bad.join("\n")
    );
    for (i, (file, schema, why)) in NO_VALID_VALUE.iter().enumerate() {
        assert!(
            excused[i] > 0,
            "{file} {schema} is listed as having no valid value ({why}) but was not hit: take it off the list"
        );
    }
}

/// Schemas in the corpus that no generator can satisfy, each checked by hand. Every entry
/// must still be hit, so the list cannot outlive the documents.
const NO_VALID_VALUE: &[(&str, &str, &str)] = &[
    (
        "circular-request-bodies",
        "/paths/~1direct/post/responses/200",
        "TreeNode requires `parent`, a TreeNode: no finite value exists",
    ),
    (
        "readme-legacy",
        "/responses/400/content",
        "a oneOf of error schemas that differ only in a `default`: a value valid for one is valid for all",
    ),
    (
        "schema-deprecated",
        "/paths/~1anything/post/responses/200",
        "a oneOf of two identical $refs to StatusWrapper",
    ),
    (
        "complex-nesting",
        "/responses/200/content",
        "`metadata` is a oneOf of `{type: object}` and three identical $refs to FlatObject (only an object with wrongly typed FlatObject fields fits one branch); `multischema` likewise",
    ),
];

/// Every route compiles, and a request built from its path template (each parameter
/// replaced by a value) is answered by that route with its default answer.
fn answers_every_operation(path: &Path, routes: &[standin_model::Route]) {
    use standin_matcher::Outcome;
    let _ = path;
    let svc = service(routes);
    let headers = http::HeaderMap::new();
    for r in routes {
        let operation = r.origin.as_ref().unwrap().document["operation"]
            .as_str()
            .unwrap()
            .to_string();
        let (method, template) = operation.split_once(' ').unwrap();
        let request_path = fill(template);
        let req = standin_matcher::Request::new(method, &request_path, None, &headers, b"");
        match svc.find(&req) {
            Outcome::Matched(m) => {
                // Another operation may fit the same request (`/a/{x}` and `/a/me`, or
                // the same template twice); then it must have the same method and fit.
                if *m.route.id != *r.id {
                    let other = routes.iter().find(|o| *o.id == *m.route.id).unwrap();
                    let other_op = other.origin.as_ref().unwrap().document["operation"]
                        .as_str()
                        .unwrap();
                    assert!(
                        other_op.starts_with(method),
                        "{}: {operation} answered by {other_op}",
                        path.display()
                    );
                }
            }
            Outcome::Unmatched(misses) => panic!(
                "{}: {operation} ({request_path}) is not answered: {misses:?}",
                path.display()
            ),
            Outcome::OverBudget { .. } => panic!("{}: over budget", path.display()),
        }
    }
}

/// `/pets/{id}/x` → `/pets/id1/x`.
fn fill(template: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push_str("v1");
            }
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// Walks the document's operations; for every response whose media type has a schema
/// and no example, the route's answer with that status must validate against the
/// schema. Returns how many were checked and the failures.
fn generated_bodies_validate(
    sources: &Sources,
    routes: &[standin_model::Route],
    limit: usize,
) -> (usize, Vec<String>) {
    let doc = standin_import::parse_document(&sources.main, &sources.files[&sources.main]).unwrap();
    let swagger = doc.get("swagger").is_some();
    let draft = if doc["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1"))
    {
        jsonschema::Draft::Draft202012
    } else {
        jsonschema::Draft::Draft4
    };
    let mut checked = 0;
    let mut bad = Vec::new();
    for r in routes.iter().take(limit) {
        let origin = &r.origin.as_ref().unwrap().document;
        let op_pointer = origin["pointer"].as_str().unwrap();
        let Some(op) = doc.pointer(op_pointer) else {
            continue;
        };
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            continue;
        };
        let http = r.http.as_ref().unwrap();
        for (code, response) in responses {
            let Ok(status) = code.parse::<u16>() else {
                continue;
            };
            if response.get("$ref").is_some() {
                continue;
            }
            let schema_pointer = if swagger {
                if response.get("examples").is_some() || response.get("schema").is_none() {
                    continue;
                }
                format!("{op_pointer}/responses/{code}/schema")
            } else {
                let Some(content) = response.get("content").and_then(Value::as_object) else {
                    continue;
                };
                let Some((media, m)) = content
                    .iter()
                    .find(|(m, _)| m.contains("json") || m.as_str() == "*/*")
                else {
                    continue;
                };
                if m.get("schema").is_none()
                    || m.get("example").is_some()
                    || m.get("examples").is_some()
                    || m.get("$ref").is_some()
                {
                    continue;
                }
                format!(
                    "{op_pointer}/responses/{code}/content/{}/schema",
                    media.replace('~', "~0").replace('/', "~1")
                )
            };
            let answer = std::iter::once(&http.response)
                .chain(http.alternatives.iter())
                .find(|a| a.status == status);
            let Some(standin_model::ResponseBody::Json(body)) =
                answer.and_then(|a| a.body.as_ref())
            else {
                bad.push(format!(
                    "{}: {} {code}: no JSON body generated",
                    sources.main, r.id
                ));
                continue;
            };
            let mut root = doc.clone();
            root.as_object_mut().unwrap().insert(
                "$ref".into(),
                Value::String(format!("#{}", uri_fragment(&schema_pointer))),
            );
            let validator = match jsonschema::options()
                .with_draft(draft)
                .should_validate_formats(true)
                .build(&root)
            {
                Ok(v) => v,
                Err(e) => {
                    eprintln!(
                        "{}: {schema_pointer}: the schema does not compile here: {e}",
                        sources.main
                    );
                    continue;
                }
            };
            checked += 1;
            if let Some(e) = validator.iter_errors(body).next() {
                bad.push(format!(
                    "{}: {schema_pointer}: {e} at {} in {}",
                    sources.main,
                    e.instance_path(),
                    body.to_string().chars().take(300).collect::<String>()
                ));
            }
        }
    }
    (checked, bad)
}

#[test]
fn github_rest_api_imports() {
    let root = corpus();
    let path = root.join("@octokit/openapi/generated/api.github.com.json");
    let started = std::time::Instant::now();
    let sources = sources_for(&path);
    let i = import(&sources, None, &Options::default()).unwrap();
    eprintln!(
        "GitHub: {} routes, {} warnings in {:?} (debug build)",
        i.routes.len(),
        i.warnings.len(),
        started.elapsed()
    );
    assert!(i.routes.len() > 1000, "{} routes", i.routes.len());
    answers_every_operation(&path, &i.routes);
    // Each check compiles a validator over the whole 13 MB document: a sample.
    let (checked, bad) = generated_bodies_validate(&sources, &i.routes, 60);
    eprintln!("GitHub: {checked} generated bodies checked");
    assert!(checked > 10, "only {checked} generated bodies were checked");
    assert!(
        bad.is_empty(),
        "{} generated bodies are invalid:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// A JSON pointer as a URI fragment: everything but unreserved characters and `/`, `~`
/// percent-encoded.
fn uri_fragment(pointer: &str) -> String {
    let mut out = String::new();
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run crates/import/corpus.sh)", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// The headers a test request carries to pick one answer of a route.
fn pick(name: &str) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("x-mock-response-name", name.parse().unwrap());
    h
}

/// Every capture of `har-examples` imports, and every recorded exchange, replayed, is
/// answered with its recorded status and body.
#[test]
fn every_har_capture_replays_as_recorded() {
    let root = corpus().join("../har");
    let files = files_in(&root);
    assert!(files.len() >= 15, "{} captures", files.len());
    let mut exchanges = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let i = import(
            &Sources::single("capture.har", text.clone()),
            None,
            &Options::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(i.format, Format::Har);
        let svc = service(&i.routes);
        let doc: Value = serde_json::from_str(&text).unwrap();
        for e in doc["log"]["entries"].as_array().unwrap() {
            let req = &e["request"];
            let url = req["url"].as_str().unwrap();
            let after_host = url.split_once("://").map_or(url, |(_, r)| r);
            let target = &after_host[after_host.find('/').unwrap_or(after_host.len())..];
            let (path_part, query) = target
                .split_once('?')
                .map_or((target, None), |(p, q)| (p, Some(q)));
            let body = match &req["postData"] {
                Value::Object(p) => match p.get("text").and_then(Value::as_str) {
                    Some(t) => t.as_bytes().to_vec(),
                    None => {
                        let params: Vec<(String, String)> = p
                            .get("params")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .map(|x| {
                                (
                                    x["name"].as_str().unwrap_or("").to_string(),
                                    x["value"].as_str().unwrap_or("").to_string(),
                                )
                            })
                            .collect();
                        form_body(&params).into_bytes()
                    }
                },
                _ => Vec::new(),
            };
            let headers = http::HeaderMap::new();
            let method = req["method"].as_str().unwrap();
            let request = standin_matcher::Request::new(method, path_part, query, &headers, &body);
            let standin_matcher::Outcome::Matched(m) = svc.find(&request) else {
                panic!("{}: {method} {target} is not answered", path.display());
            };
            let answer = m.route.answer(&headers);
            assert_eq!(
                answer.status.as_u16() as u64,
                e["response"]["status"].as_u64().unwrap(),
                "{}: {target}",
                path.display()
            );
            let content = &e["response"]["content"];
            if let Some(t) = content["text"].as_str() {
                let expected = if content["encoding"] == "base64" {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.decode(t).unwrap()
                } else {
                    t.as_bytes().to_vec()
                };
                assert_eq!(
                    answer.body.as_ref(),
                    expected.as_slice(),
                    "{}: {target}",
                    path.display()
                );
            }
            exchanges += 1;
        }
    }
    eprintln!("{} captures, {exchanges} exchanges replayed", files.len());
}

fn form_body(params: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

fn service(routes: &[standin_model::Route]) -> standin_matcher::CompiledService {
    use standin_matcher::{CompiledRoute, CompiledService, ServiceInfo};
    let compiled = routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            std::sync::Arc::new(
                CompiledRoute::compile(r, i as u64 + 1, Default::default())
                    .unwrap_or_else(|e| panic!("{}: {e:?}", r.id)),
            )
        })
        .collect();
    let info = ServiceInfo::new("t", "s", "/");
    CompiledService::build(info, compiled).unwrap()
}

/// Postman collections made by Postman's own converter from the OpenAPI examples: every
/// one imports, every request answers, and every saved example is served as saved when
/// asked for by name (Postman's `x-mock-response-name`).
#[test]
fn every_postman_collection_serves_its_saved_examples() {
    let root = corpus().join("../postman");
    let files = files_in(&root);
    assert!(files.len() >= 30, "{} collections", files.len());
    let (mut routes, mut examples) = (0, 0);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let i = import(
            &Sources::single("collection.json", text.clone()),
            None,
            &Options::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(i.format, Format::Postman, "{}", path.display());
        answers_every_operation(path, &i.routes);
        let doc: Value = serde_json::from_str(&text).unwrap();
        let svc = service(&i.routes);
        for r in &i.routes {
            let item_pointer = r.origin.as_ref().unwrap().document["pointer"]
                .as_str()
                .unwrap();
            let saved = examples_of(&doc.pointer(item_pointer).unwrap()["response"]);
            let http = r.http.as_ref().unwrap();
            let compiled = svc.routes().iter().find(|c| *c.id == *r.id).unwrap();
            for a in std::iter::once(&http.response).chain(&http.alternatives) {
                let Some(name) = &a.name else { continue };
                // A name that cannot be a header value cannot be asked for by name.
                if http::HeaderValue::from_str(name).is_err() {
                    continue;
                }
                // A name two examples share picks the first; check that one only.
                if std::iter::once(&http.response)
                    .chain(&http.alternatives)
                    .find(|b| b.name.as_ref() == Some(name))
                    != Some(a)
                {
                    continue;
                }
                let got = compiled.answer(&pick(name));
                let want = saved
                    .iter()
                    .find(|(n, _, _)| n == name)
                    .unwrap_or_else(|| panic!("{}: no saved example {name}", path.display()));
                assert_eq!(
                    got.status.as_u16(),
                    want.1,
                    "{}: {} example {name}",
                    path.display(),
                    r.id
                );
                if !want.2.is_empty() {
                    assert_eq!(
                        String::from_utf8_lossy(&got.body),
                        want.2,
                        "{}: {} example {name}",
                        path.display(),
                        r.id
                    );
                }
                examples += 1;
            }
        }
        routes += i.routes.len();
    }
    eprintln!(
        "{} collections, {routes} routes, {examples} saved examples served",
        files.len()
    );
    assert!(examples > 100, "only {examples} examples were checked");
}

/// The saved examples of one request item: (name, code, body).
fn examples_of(responses: &Value) -> Vec<(String, u16, String)> {
    responses
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("").to_string(),
                r["code"].as_u64().unwrap_or(200) as u16,
                r["body"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}
