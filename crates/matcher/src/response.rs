//! Compiled responses. Static responses are built into bytes and header values once; a
//! templated response keeps its text split into literal parts and request placeholders.

use crate::{CompileError, Request};
use base64::Engine;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use standin_model::{HttpResponse, ResponseBody};
use standin_template::HandlebarsTemplate;

/// The answer a matched route gives, ready to write.
#[derive(Debug)]
pub struct CompiledResponse {
    pub status: StatusCode,
    /// The name `Prefer: example=NAME` picks this answer by.
    pub name: Option<Box<str>>,
    /// A reason phrase other than the standard one.
    pub reason: Option<Bytes>,
    pub chunk_size: Option<usize>,
    pub omit_content_length: bool,
    pub content_length_override: Option<u64>,
    /// Set when the response must go out with no or a false `Content-Length`, which an
    /// HTTP library would correct: over HTTP/1 the server writes it raw and ends the body
    /// by closing the connection. Decided here, once, not per request.
    pub raw_http1: Option<RawFraming>,
    pub fault: Option<CompiledFault>,
    /// Renders the whole response per request (MockServer's MUSTACHE templates).
    pub document: Option<standin_template::MockServerTemplate>,
    /// The document template renders the request to forward, not the response.
    pub forward_template: bool,
    /// A connected client answers (MockServer's object callbacks).
    pub callback: Option<standin_model::ClientCallback>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub delay_ms: u64,
    /// A delay drawn per request, added to `delay_ms`.
    pub delay: Option<crate::CompiledDelay>,
    /// The body sent in timed pieces.
    pub pacing: Option<crate::Pacing>,
    /// Present when the response is templated: the body and header values to render.
    template: Option<Box<ResponseTemplate>>,
}

#[derive(Debug)]
struct ResponseTemplate {
    body: HandlebarsTemplate,
    headers: Vec<(HeaderName, HandlebarsTemplate)>,
}

/// A template that failed for one request: which one (`body` or a header) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderFailure {
    /// `body`, or `header NAME`.
    pub field: &'static str,
    /// `line N: why`.
    pub message: String,
}

/// A response written raw over HTTP/1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFraming {
    /// The `Content-Length` to send, true or not; none when `None`.
    pub content_length: Option<u64>,
}

/// A deliberate connection fault, compiled.
#[derive(Debug, Clone)]
pub enum CompiledFault {
    CloseAfterResponse,
    DropConnection,
    RawBytes(Bytes),
}

/// The parts of a response that depend on the request, rendered per request.
pub struct RenderedParts {
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
            let locale = match &r.template_locale {
                None => standin_template::Locale::default(),
                Some(l) => standin_template::Locale::parse(l).ok_or_else(|| {
                    CompileError::new(
                        &format!("{pointer}/templateLocale"),
                        format!("no locale \"{l}\": en and ko_KR are available"),
                    )
                })?,
            };
            let options = standin_template::TemplateOptions {
                seed: r.template_seed,
                locale,
            };
            Some(Box::new(compile_template(
                &body, &headers, &r.headers, pointer, options,
            )?))
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
            Some(standin_model::Fault::CloseAfterResponse) => {
                Some(CompiledFault::CloseAfterResponse)
            }
            Some(standin_model::Fault::DropConnection) => Some(CompiledFault::DropConnection),
            Some(standin_model::Fault::RawBytes(b)) => Some(CompiledFault::RawBytes(
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
            Some(t) => Some(
                standin_template::MockServerTemplate::compile(
                    match t.engine {
                        standin_model::TemplateEngine::Mustache => {
                            standin_template::DocumentEngine::Mustache
                        }
                        standin_model::TemplateEngine::Velocity => {
                            standin_template::DocumentEngine::Velocity
                        }
                        standin_model::TemplateEngine::Javascript => {
                            standin_template::DocumentEngine::JavaScript
                        }
                    },
                    &t.source,
                )
                .map_err(|e| {
                    CompileError::new(
                        &format!("{pointer}/documentTemplate/source"),
                        format!(
                            "invalid {} template: {e}",
                            match t.engine {
                                standin_model::TemplateEngine::Mustache => "mustache",
                                standin_model::TemplateEngine::Velocity => "velocity",
                                standin_model::TemplateEngine::Javascript => "javascript",
                            }
                        ),
                    )
                })?,
            ),
        };
        let delay = r
            .delay
            .as_ref()
            .map(|d| crate::CompiledDelay::compile(d, &format!("{pointer}/delay")))
            .transpose()?;
        let pacing = crate::Pacing::compile(r.dribble.as_ref(), r.bytes_per_second, pointer)?;
        if pacing.is_some()
            && (r.chunk_size.is_some()
                || r.omit_content_length
                || r.content_length_override.is_some())
        {
            return Err(CompileError::new(
                &format!(
                    "{pointer}/{}",
                    if r.dribble.is_some() { "dribble" } else { "bytesPerSecond" }
                ),
                "a paced body goes out with its Content-Length: leave out chunkSize, omitContentLength and contentLengthOverride".to_string(),
            ));
        }
        let raw_http1 = match (
            r.content_length_override,
            r.omit_content_length,
            r.chunk_size,
        ) {
            (Some(n), _, _) => Some(RawFraming {
                content_length: Some(n),
            }),
            (None, true, None) => Some(RawFraming {
                content_length: None,
            }),
            _ => None,
        };
        Ok(CompiledResponse {
            status,
            name: r.name.as_deref().map(Box::from),
            raw_http1,
            document,
            callback: r.callback.clone(),
            forward_template: r.document_template.as_ref().is_some_and(|t| t.forward),
            reason,
            chunk_size: r.chunk_size,
            omit_content_length: r.omit_content_length,
            content_length_override: r.content_length_override,
            fault,
            headers,
            body,
            delay_ms: r.delay_ms,
            delay,
            pacing,
            template,
        })
    }

    /// Renders the templated parts for this request; `None` when the response is static.
    pub fn render(
        &self,
        req: &Request<'_>,
        path_values: &[(Box<str>, String)],
    ) -> Option<Result<RenderedParts, RenderFailure>> {
        let t = self.template.as_ref()?;
        Some(render_parts(t, &self.headers, req, path_values))
    }
}

fn render_parts(
    t: &ResponseTemplate,
    static_headers: &[(HeaderName, HeaderValue)],
    req: &Request<'_>,
    path_values: &[(Box<str>, String)],
) -> Result<RenderedParts, RenderFailure> {
    let body = t.body.render(req, path_values).map_err(|e| RenderFailure {
        field: "body",
        message: e.to_string(),
    })?;
    let mut headers = Vec::with_capacity(static_headers.len());
    for (name, value) in static_headers {
        match t.headers.iter().find(|(n, _)| n == name) {
            Some((_, tpl)) => {
                let text = tpl.render(req, path_values).map_err(|e| RenderFailure {
                    field: "a header",
                    message: e.to_string(),
                })?;
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
    // A body template under a JSON Content-Type must still be JSON once rendered: a value
    // that broke the quoting is the template's failure, not the client's surprise.
    let json = headers.iter().any(|(n, v)| {
        n == http::header::CONTENT_TYPE
            && v.to_str().is_ok_and(|v| {
                let v = v.to_ascii_lowercase();
                v.starts_with("application/json") || v.contains("+json")
            })
    });
    if json
        && !body.trim().is_empty()
        && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&body)
    {
        return Err(RenderFailure {
            field: "body",
            message: format!("the rendered body is not JSON (its Content-Type says JSON): {e}"),
        });
    }
    Ok(RenderedParts {
        body: Bytes::from(body),
        headers,
    })
}

fn compile_template(
    body: &[u8],
    headers: &[(HeaderName, HeaderValue)],
    written: &std::collections::BTreeMap<String, standin_model::HeaderValues>,
    pointer: &str,
    options: standin_template::TemplateOptions,
) -> Result<ResponseTemplate, CompileError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        CompileError::new(
            &format!("{pointer}/body"),
            "a templated body must be UTF-8 text".to_string(),
        )
    })?;
    let body = text_template(text, &format!("{pointer}/body"))?.with_options(options);
    let mut out = Vec::new();
    for (name, value) in headers {
        let v = std::str::from_utf8(value.as_bytes()).unwrap_or_default();
        if v.contains("{{") {
            // The pointer names the header as the document writes it.
            let key = written
                .keys()
                .find(|k| k.eq_ignore_ascii_case(name.as_str()))
                .map_or(name.as_str(), String::as_str);
            let hp = format!("{pointer}/headers/{}", crate::escape_pointer(key));
            out.push((name.clone(), text_template(v, &hp)?.with_options(options)));
        }
    }
    Ok(ResponseTemplate { body, headers: out })
}

fn text_template(text: &str, pointer: &str) -> Result<HandlebarsTemplate, CompileError> {
    HandlebarsTemplate::compile(text, pointer).map_err(|e| CompileError::new(&e.pointer, e.message))
}
