//! An operation's responses: every documented status and named example, as standin
//! responses.

use super::{Dialect, Reader};
use crate::generate::Generator;
use crate::{ImportError, token};
use serde_json::{Map, Value};
use standin_model::{HeaderValues, HttpResponse, ResponseBody};
use std::collections::BTreeMap;

/// The answer a request gets by default, and the ones a client can pick.
pub(crate) struct Answers {
    pub(crate) default: HttpResponse,
    pub(crate) alternatives: Vec<HttpResponse>,
}

pub(crate) fn read(
    reader: &mut Reader<'_>,
    generator: &mut Generator<'_>,
    file: &str,
    pointer: &str,
    op: &Map<String, Value>,
) -> Result<Answers, ImportError> {
    let main = reader.main_file().to_string();
    let mut all: Vec<HttpResponse> = Vec::new();
    let responses = match op.get("responses") {
        Some(Value::Object(r)) => r.clone(),
        Some(_) => {
            return Err(ImportError::at(
                &main,
                &format!("{pointer}/responses"),
                "\"responses\" must be an object",
            ));
        }
        None => Map::new(),
    };
    let mut default_only = None;
    for (key, response) in &responses {
        let rp = format!("{pointer}/responses/{}", token(key));
        let status = match status(key) {
            Some(s) => s,
            None if key == "default" => {
                default_only = Some((response, rp));
                continue;
            }
            None => {
                reader.warn(
                    &main,
                    &rp,
                    format!("\"{key}\" is not a status code: skipped"),
                );
                continue;
            }
        };
        all.extend(answers(reader, generator, file, &rp, status, response)?);
    }
    if all.is_empty() {
        match default_only {
            Some((response, rp)) => {
                all.extend(answers(reader, generator, file, &rp, 200, response)?)
            }
            None => {
                reader.warn(
                    &main,
                    &format!("{pointer}/responses"),
                    "no responses are documented: the route answers 200 with no body",
                );
                all.push(HttpResponse::default());
            }
        }
    }
    let first = all
        .iter()
        .position(|r| (200..300).contains(&r.status))
        .unwrap_or(0);
    let default = all.remove(first);
    Ok(Answers {
        default,
        alternatives: all,
    })
}

/// `200`, `"404"`, and the ranges `2XX`…`5XX` (their first code).
fn status(key: &str) -> Option<u16> {
    if let Ok(n) = key.parse::<u16>() {
        return (100..=599).contains(&n).then_some(n);
    }
    let b = key.as_bytes();
    (b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx"))
        .then(|| u16::from(b[0] - b'0') * 100)
}

/// One response object: one answer per named example, or one with the single example
/// or a generated body.
fn answers(
    reader: &mut Reader<'_>,
    generator: &mut Generator<'_>,
    file: &str,
    pointer: &str,
    status: u16,
    response: &Value,
) -> Result<Vec<HttpResponse>, ImportError> {
    let main = reader.main_file().to_string();
    let (response, file) = reader
        .docs
        .deref(file, response)
        .map_err(|m| ImportError::at(&main, pointer, m))?;
    let file = file.as_str();
    let headers = headers(reader, generator, file, pointer, response);
    let bodies = match reader.dialect {
        Dialect::OpenApi3 => bodies_3(reader, generator, file, pointer, response)?,
        Dialect::Swagger2 => bodies_2(reader, generator, file, pointer, response),
    };
    Ok(bodies
        .into_iter()
        .map(|b| {
            let mut headers = headers.clone();
            if let Some(ct) = b
                .content_type
                .filter(|ct| crate::header_ok("Content-Type", ct))
            {
                headers.insert("Content-Type".to_string(), HeaderValues::One(ct));
            }
            HttpResponse {
                status,
                name: b.name,
                headers,
                body: b.body,
                ..Default::default()
            }
        })
        .collect())
}

struct Body {
    name: Option<String>,
    content_type: Option<String>,
    body: Option<ResponseBody>,
}

/// 3.x: `content` → the JSON media type if there is one, else the first.
fn bodies_3(
    reader: &mut Reader<'_>,
    generator: &mut Generator<'_>,
    file: &str,
    pointer: &str,
    response: &Value,
) -> Result<Vec<Body>, ImportError> {
    let Some(content) = response
        .get("content")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())
    else {
        return Ok(vec![Body {
            name: None,
            content_type: None,
            body: None,
        }]);
    };
    let (media, object) = content
        .iter()
        .find(|(m, _)| is_json(m))
        .or_else(|| content.iter().next())
        .expect("not empty");
    let mp = format!("{pointer}/content/{}", token(media));
    let main = reader.main_file().to_string();
    let (object, mfile) = reader
        .docs
        .deref(file, object)
        .map_err(|m| ImportError::at(&main, &mp, m))?;
    let content_type = Some(concrete(media));
    let mut out = Vec::new();
    if let Some(examples) = object.get("examples").and_then(Value::as_object) {
        for (name, example) in examples {
            let ep = format!("{mp}/examples/{}", token(name));
            let Ok((example, _)) = reader.docs.deref(&mfile, example) else {
                reader.warn(&main, &ep, "the example's $ref does not resolve: skipped");
                continue;
            };
            let value = match (example.get("value"), example.get("externalValue")) {
                (Some(v), _) => v.clone(),
                (None, Some(url)) => {
                    reader.warn(
                        &main,
                        &ep,
                        format!("externalValue {url} is not fetched: the example is skipped"),
                    );
                    continue;
                }
                (None, None) => continue,
            };
            out.push(Body {
                name: Some(name.clone()),
                content_type: content_type.clone(),
                body: body(media, value),
            });
        }
    }
    if out.is_empty() {
        let value = match object.get("example") {
            Some(v) => Some(v.clone()),
            None => object
                .get("schema")
                .map(|s| generator.value(s, &mfile, None, 0)),
        };
        if value.is_some()
            && !is_json(media)
            && !media.starts_with("text/")
            && object.get("example").is_none()
        {
            reader.warn(
                &main,
                &mp,
                format!(
                    "bodies of {media} are not generated from a schema: the answer has no body"
                ),
            );
            out.push(Body {
                name: None,
                content_type,
                body: None,
            });
        } else {
            out.push(Body {
                name: None,
                content_type,
                body: value.and_then(|v| body(media, v)),
            });
        }
    }
    Ok(out)
}

/// 2.0: `examples` by MIME type, else `schema`, sent as the operation's first JSON
/// `produces` type.
fn bodies_2(
    reader: &mut Reader<'_>,
    generator: &mut Generator<'_>,
    file: &str,
    pointer: &str,
    response: &Value,
) -> Vec<Body> {
    let main = reader.main_file().to_string();
    if let Some(examples) = response.get("examples").and_then(Value::as_object)
        && let Some((media, value)) = examples
            .iter()
            .find(|(m, _)| is_json(m))
            .or_else(|| examples.iter().next())
    {
        return vec![Body {
            name: None,
            content_type: Some(concrete(media)),
            body: body(media, value.clone()),
        }];
    }
    match response.get("schema") {
        Some(schema) => {
            let value = generator.value(schema, file, None, 0);
            let media = "application/json";
            if schema.get("type").and_then(Value::as_str) == Some("file") {
                reader.warn(
                    &main,
                    &format!("{pointer}/schema"),
                    "a file response has no body to generate",
                );
                return vec![Body {
                    name: None,
                    content_type: None,
                    body: None,
                }];
            }
            vec![Body {
                name: None,
                content_type: Some(media.to_string()),
                body: body(media, value),
            }]
        }
        None => vec![Body {
            name: None,
            content_type: None,
            body: None,
        }],
    }
}

/// The documented response headers with their example or a generated value.
fn headers(
    reader: &mut Reader<'_>,
    generator: &mut Generator<'_>,
    file: &str,
    _pointer: &str,
    response: &Value,
) -> BTreeMap<String, HeaderValues> {
    let mut out = BTreeMap::new();
    let Some(headers) = response.get("headers").and_then(Value::as_object) else {
        return out;
    };
    for (name, header) in headers {
        if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("content-length")
        {
            continue;
        }
        let Ok((header, hfile)) = reader.docs.deref(file, header) else {
            continue;
        };
        let value = match (header.get("example"), header.get("schema"), reader.dialect) {
            (Some(v), _, _) => v.clone(),
            (None, Some(s), _) => generator.value(s, &hfile, Some(name), 0),
            (None, None, Dialect::Swagger2) => generator.value(header, &hfile, Some(name), 0),
            (None, None, Dialect::OpenApi3) => continue,
        };
        let text = match value {
            Value::String(s) => s,
            Value::Null => continue,
            other => other.to_string(),
        };
        if crate::header_ok(name, &text) {
            out.insert(name.clone(), HeaderValues::One(text));
        }
    }
    out
}

fn is_json(media: &str) -> bool {
    let m = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    m == "application/json" || m.ends_with("+json") || m == "*/*" || m == "application/*"
}

/// A media range (`application/*`, `*/*`) is not a Content-Type: JSON is sent then.
fn concrete(media: &str) -> String {
    if media.contains('*') {
        "application/json".to_string()
    } else {
        media.to_string()
    }
}

fn body(media: &str, value: Value) -> Option<ResponseBody> {
    if value.is_null() && !is_json(media) {
        return None;
    }
    Some(if is_json(media) {
        ResponseBody::Json(value)
    } else {
        match value {
            Value::String(s) => ResponseBody::Text(s),
            other => ResponseBody::Text(other.to_string()),
        }
    })
}
