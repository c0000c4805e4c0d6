//! The placeholder language: `{{request.path.NAME}}`, `{{request.query.NAME}}`,
//! `{{request.headers.NAME}}`, `{{request.method}}`, `{{request.url}}`,
//! `{{request.body}}`. It uses WireMock's names, so the Handlebars engine that comes later
//! renders the same templates.

use crate::TemplateError;
use http::HeaderName;
use standin_eval::Request;

/// Text with `{{request.…}}` placeholders, parsed once.
///
/// ```
/// use standin_template::TextTemplate;
/// let t = TextTemplate::compile("user {{request.path.id}} via {{request.method}}", "/body").unwrap();
/// let headers = http::HeaderMap::new();
/// let req = standin_eval::Request::new("GET", "/users/7", None, &headers, b"");
/// let values = vec![("id".into(), "7".to_string())];
/// assert_eq!(t.render(&req, &values), "user 7 via GET");
/// ```
#[derive(Debug)]
pub struct TextTemplate {
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Lit(String),
    PathValue(String),
    Query(String),
    Header(HeaderName),
    Method,
    Url,
    Body,
}

impl TextTemplate {
    /// Parses `text`; an error carries `pointer` (the field the text came from).
    pub fn compile(text: &str, pointer: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| {
                TemplateError::new(
                    pointer,
                    "a template placeholder \"{{\" is not closed by \"}}\"".to_string(),
                )
            })?;
            parts.push(Self::placeholder(after[..end].trim(), pointer)?);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(TextTemplate { parts })
    }

    fn placeholder(expr: &str, pointer: &str) -> Result<Part, TemplateError> {
        let unsupported = || {
            TemplateError::new(
                pointer,
                format!(
                    "unsupported template expression \"{{{{{expr}}}}}\"; supported: request.path.NAME, request.query.NAME, request.headers.NAME, request.method, request.url, request.body"
                ),
            )
        };
        let part = match expr {
            "request.method" => Part::Method,
            "request.url" => Part::Url,
            "request.body" => Part::Body,
            _ => {
                let (kind, name) = expr
                    .strip_prefix("request.")
                    .and_then(|x| x.split_once('.'))
                    .ok_or_else(unsupported)?;
                match kind {
                    "path" => Part::PathValue(name.to_string()),
                    "query" => Part::Query(name.to_string()),
                    "headers" => Part::Header(
                        HeaderName::from_bytes(name.as_bytes()).map_err(|_| unsupported())?,
                    ),
                    _ => return Err(unsupported()),
                }
            }
        };
        Ok(part)
    }

    /// Renders for one request. Output is bounded by the request: every placeholder is a
    /// part of it; the work spends from the request's budget, and rendering stops (with
    /// what it has) when the budget is gone.
    pub fn render(&self, req: &Request<'_>, path_values: &[(Box<str>, String)]) -> String {
        let mut out = String::new();
        for part in &self.parts {
            // Output is bounded by the parts and the request; spend for what each adds.
            let before = out.len();
            match part {
                Part::Lit(l) => out.push_str(l),
                Part::PathValue(n) => {
                    if let Some((_, v)) = path_values.iter().find(|(k, _)| k.as_ref() == n) {
                        out.push_str(v);
                    }
                }
                Part::Query(n) => {
                    if let Some(v) = req.query_values(n).first() {
                        out.push_str(v);
                    }
                }
                Part::Header(n) => {
                    if let Some(v) = req
                        .headers
                        .get(n)
                        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
                    {
                        out.push_str(v);
                    }
                }
                Part::Method => out.push_str(req.method),
                Part::Url => {
                    out.push_str(req.path);
                    if let Some(q) = req.query {
                        out.push('?');
                        out.push_str(q);
                    }
                }
                Part::Body => out.push_str(&String::from_utf8_lossy(req.body)),
            }
            if !req.budget().spend_bytes(out.len() - before, 64) {
                break;
            }
        }
        out
    }
}
