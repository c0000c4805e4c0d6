//! Response templates: compiled once when a route is published, rendered per request
//! against the request context ([`standin_eval::Request`], built once per request), and
//! bounded in work (the request's budget) and in output.
//!
//! Two engines:
//! - [`HandlebarsTemplate`], Handlebars with WireMock's request model and helpers: a
//!   route's `templated` body and headers (`{{request.path.id}}`, `{{jsonPath request.body
//!   '$.id'}}`), so a WireMock stub's template renders unchanged;
//! - [`MockServerTemplate`], MockServer's `httpResponseTemplate` with `MUSTACHE` or
//!   `VELOCITY`: it renders the JSON of a whole MockServer response. It, [`mustache`] and
//!   [`velocity`] are the only code here that knows MockServer's shapes.
//!
//! Nothing here reaches files, the environment or the network.

mod document;
mod handlebars;
mod mustache;
mod velocity;

pub use document::{
    DocumentEngine, MockServerTemplate, RenderedRequest, RenderedResponse, request_document,
    response_document, title_case,
};
pub use handlebars::{
    FAKE_KEYS, HandlebarsTemplate, Locale, MAX_OUTPUT, RenderError, TemplateOptions,
};

/// A template that does not compile, with the JSON pointer of the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct TemplateError {
    pub pointer: String,
    pub message: String,
}

impl TemplateError {
    pub fn new(pointer: &str, message: String) -> Self {
        TemplateError {
            pointer: pointer.to_string(),
            message,
        }
    }
}
