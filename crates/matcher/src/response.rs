//! Compiled responses. Static responses are built into bytes and header values once; a
//! templated response keeps its text split into literal parts and request placeholders.

use crate::{CompileError, Request};
use base64::Engine;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use standin_model::{HttpResponse, ResponseBody};

/// The answer a matched route gives, ready to write.
#[derive(Debug)]
pub struct CompiledResponse {
    pub status: StatusCode,
    /// A reason phrase other than the standard one.
    pub reason: Option<Bytes>,
    pub chunk_size: Option<usize>,
    pub omit_content_length: bool,
    pub content_length_override: Option<u64>,
    pub fault: Option<Fault>,
    /// Renders the whole response per request (MockServer's MUSTACHE templates).
    pub document: Option<crate::DocumentTemplate>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub delay_ms: u64,
    /// Present when the response is templated: the body and header values to render.
    template: Option<Box<ResponseTemplate>>,
}

#[derive(Debug)]
struct ResponseTemplate {
    body: Template,
    headers: Vec<(HeaderName, Template)>,
}

/// A deliberate connection fault, compiled.
#[derive(Debug, Clone)]
pub enum Fault {
    CloseAfterResponse,
    DropConnection,
    RawBytes(Bytes),
}

/// The parts of a response that depend on the request, rendered per request.
pub struct Rendered {
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl CompiledResponse {
    pub(crate) fn compile(r: &HttpResponse, pointer: &str) -> Result<Self, CompileError> {
        let status = StatusCode::from_u16(r.status)
            .ok()
            .filter(|s| s.as_u16() >= 100)
            .ok_or_else(|| {
                CompileError::new(
                    &format!("{pointer}/status"),
                    format!("{} is not an HTTP status code (100-999)", r.status),
                )
            })?;
        let (body, json) = match &r.body {
            None => (Bytes::new(), false),
            Some(ResponseBody::Text(t)) => (Bytes::from(t.clone()), false),
            Some(ResponseBody::Json(v)) => {
                (Bytes::from(serde_json::to_vec(v).unwrap_or_default()), true)
            }
            Some(ResponseBody::Base64(b)) => (
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map(Bytes::from)
                    .map_err(|e| {
                        CompileError::new(
                            &format!("{pointer}/body/base64"),
                            format!("invalid base64: {e}"),
                        )
                    })?,
                false,
            ),
        };
        let mut headers = Vec::new();
        let mut has_content_type = false;
        for (name, values) in &r.headers {
            let hp = format!("{pointer}/headers/{}", crate::escape_pointer(name));
            let hn = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                CompileError::new(&hp, format!("\"{name}\" is not a valid header name"))
            })?;
            has_content_type |= hn == http::header::CONTENT_TYPE;
            for v in values.values() {
                let hv = HeaderValue::from_str(v).map_err(|_| {
                    CompileError::new(
                        &hp,
                        format!("header value \"{v}\" has characters not allowed in a header"),
                    )
                })?;
                headers.push((hn.clone(), hv));
            }
        }
        if json && !has_content_type {
            headers.push((
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ));
        }
        let template = if r.templated {
            Some(Box::new(compile_template(&body, &headers, pointer)?))
        } else {
            None
        };
        let reason = match &r.reason {
            None => None,
            Some(text)
                if text
                    .bytes()
                    .all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) =>
            {
                Some(Bytes::from(text.clone()))
            }
            Some(_) => {
                return Err(CompileError::new(
                    &format!("{pointer}/reason"),
                    "a reason phrase is visible ASCII, spaces and tabs".to_string(),
                ));
            }
        };
        if r.chunk_size == Some(0) {
            return Err(CompileError::new(
                &format!("{pointer}/chunkSize"),
                "must be at least 1".to_string(),
            ));
        }
        let fault = match &r.fault {
            None => None,
            Some(standin_model::Fault::CloseAfterResponse) => Some(Fault::CloseAfterResponse),
            Some(standin_model::Fault::DropConnection) => Some(Fault::DropConnection),
            Some(standin_model::Fault::RawBytes(b)) => Some(Fault::RawBytes(
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map(Bytes::from)
                    .map_err(|e| {
                        CompileError::new(
                            &format!("{pointer}/fault/rawBytes"),
                            format!("invalid base64: {e}"),
                        )
                    })?,
            )),
        };
        let document = match &r.document_template {
            None => None,
            Some(t) => Some(crate::DocumentTemplate::parse(&t.source).map_err(|e| {
                CompileError::new(
                    &format!("{pointer}/documentTemplate/source"),
                    format!("invalid mustache template: {e}"),
                )
            })?),
        };
        Ok(CompiledResponse {
            status,
            document,
            reason,
            chunk_size: r.chunk_size,
            omit_content_length: r.omit_content_length,
            content_length_override: r.content_length_override,
            fault,
            headers,
            body,
            delay_ms: r.delay_ms,
            template,
        })
    }

    /// Renders the templated parts for this request; `None` when the response is static.
    pub fn render(
        &self,
        req: &Request<'_>,
        path_values: &[(Box<str>, String)],
    ) -> Option<Rendered> {
        let t = self.template.as_ref()?;
        let body = Bytes::from(t.body.render(req, path_values));
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            match t.headers.iter().find(|(n, _)| n == name) {
                Some((_, tpl)) => {
                    let text = tpl.render(req, path_values);
                    // A rendered value that is not a legal header value falls back to the
                    // unrendered one rather than failing the response.
                    headers.push((
                        name.clone(),
                        HeaderValue::from_str(&text).unwrap_or_else(|_| value.clone()),
                    ));
                }
                None => headers.push((name.clone(), value.clone())),
            }
        }
        Some(Rendered { body, headers })
    }
}

fn compile_template(
    body: &[u8],
    headers: &[(HeaderName, HeaderValue)],
    pointer: &str,
) -> Result<ResponseTemplate, CompileError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        CompileError::new(
            &format!("{pointer}/body"),
            "a templated body must be UTF-8 text".to_string(),
        )
    })?;
    let body = Template::parse(text, &format!("{pointer}/body"))?;
    let mut out = Vec::new();
    for (name, value) in headers {
        let v = std::str::from_utf8(value.as_bytes()).unwrap_or_default();
        if v.contains("{{") {
            let hp = format!("{pointer}/headers/{}", crate::escape_pointer(name.as_str()));
            out.push((name.clone(), Template::parse(v, &hp)?));
        }
    }
    Ok(ResponseTemplate { body, headers: out })
}

/// Text with `{{request.…}}` placeholders, parsed once.
#[derive(Debug)]
struct Template {
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

impl Template {
    fn parse(text: &str, pointer: &str) -> Result<Self, CompileError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| {
                CompileError::new(
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
        Ok(Template { parts })
    }

    fn placeholder(expr: &str, pointer: &str) -> Result<Part, CompileError> {
        let unsupported = || {
            CompileError::new(
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

    fn render(&self, req: &Request<'_>, path_values: &[(Box<str>, String)]) -> String {
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
