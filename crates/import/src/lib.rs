//! Readers of the formats teams already have: a document goes in; routes, warnings with
//! their locations, and a plan against the routes a service has come out.
//!
//! This crate does no IO. A caller that has files (the CLI) or a request body (the admin
//! API) hands their text over as [`Sources`]; references to files that are not there are
//! errors that name them, and [`missing_files`] lists them so that a caller with a file
//! system can add them and try again. Applying a plan is the app's business: it is one
//! recorded change.
//!
//! Formats: OpenAPI 3.0 and 3.1 and Swagger 2.0 ([`openapi`]), WireMock stub mappings
//! ([`wiremock`]), Postman collections, HAR captures, standin's own export ([`native`]). MockServer expectations are read by the `mockserver` crate.

pub mod export;
pub mod generate;
mod har;
pub mod native;
pub mod openapi;
pub mod plan;
mod postman;
mod refs;
mod text;
pub mod wiremock;

pub use openapi::drift::{Drift, DriftedRoute, Problem, drift};
pub use plan::{Plan, PlanEntry, RouteDiff, plan};
pub use refs::missing_files;
pub use text::{line_of, parse_document};

use serde::Serialize;
use standin_model::Route;
use std::collections::BTreeMap;

/// The text of a document and of the files it refers to, by name. Names are paths
/// relative to nothing in particular: a reference is resolved against the name of the
/// file it appears in (`schemas/pet.yaml` next to `openapi.yaml`). A data file that is not
/// text (a WireMock body file that is an image) is given in standard base64 under its
/// name followed by [`BINARY_SUFFIX`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub main: String,
    pub files: BTreeMap<String, String>,
}

impl Sources {
    /// One document, with no files beside it.
    pub fn single(name: &str, text: impl Into<String>) -> Self {
        let mut files = BTreeMap::new();
        files.insert(name.to_string(), text.into());
        Sources {
            main: name.to_string(),
            files,
        }
    }
}

/// The most route documents one import may make, serialized.
pub const MAX_ROUTE_BYTES: usize = 256 * 1024 * 1024;

/// Appended to the name of a data file given in base64 because it is not text.
pub const BINARY_SUFFIX: &str = ".base64";

/// The format of a document, as asked for or as detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// OpenAPI 3.x or Swagger 2.0.
    Openapi,
    /// standin's own export of a service.
    Native,
    /// WireMock stub mappings.
    Wiremock,
    /// A Postman collection (v2.0, v2.1).
    Postman,
    /// A HAR 1.2 capture.
    Har,
    /// MockServer expectations. Detected here; read by the `mockserver` crate, which
    /// knows MockServer's shapes.
    Mockserver,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Openapi => "openapi",
            Format::Native => "native",
            Format::Wiremock => "wiremock",
            Format::Postman => "postman",
            Format::Har => "har",
            Format::Mockserver => "mockserver",
        }
    }

    /// The format a request asks for; `auto` and absent are `None`.
    pub fn parse(s: &str) -> Result<Option<Format>, String> {
        match s {
            "" | "auto" => Ok(None),
            "openapi" | "swagger" => Ok(Some(Format::Openapi)),
            "native" | "standin" => Ok(Some(Format::Native)),
            "wiremock" => Ok(Some(Format::Wiremock)),
            "postman" => Ok(Some(Format::Postman)),
            "har" => Ok(Some(Format::Har)),
            "mockserver" => Ok(Some(Format::Mockserver)),
            other => Err(format!(
                "\"{other}\" is not a format standin imports: auto, openapi (also Swagger 2.0), wiremock, mockserver, postman, har or native"
            )),
        }
    }
}

/// Whether an OpenAPI document's server base path (`/v1` in `https://api.example.com/v1`)
/// becomes part of each route's path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BasePath {
    /// Routes are the document's paths as written (`/pets`), as Prism serves them.
    #[default]
    Drop,
    /// Routes carry the base path (`/v1/pets`).
    Keep,
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub base_path: BasePath,
    /// Seeds the bodies generated from schemas; the same seed gives the same bodies.
    pub seed: u64,
    /// Keep credentials a capture holds (HAR's `Set-Cookie` answers); left out by default.
    pub credentials: bool,
    /// Names the document (see [`Imported::source`]).
    pub source: Option<String>,
}

/// What a reader made of a document.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub format: Format,
    /// The document's own title, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Which document the routes came from (`Options::source`, else the title, else the
    /// file name), kept in each route's origin: an import plans against the routes of the
    /// same document only, so two documents can share a service.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    pub routes: Vec<Route>,
    pub warnings: Vec<Warning>,
}

/// Something a reader could not carry over, and where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub file: String,
    /// JSON pointer into `file`.
    pub pointer: String,
    pub message: String,
}

/// Why a document imports nothing.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{file}{}: {message}", location(.pointer, .line, .column))]
pub struct ImportError {
    pub file: String,
    /// JSON pointer into `file`, when the document parsed.
    pub pointer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
}

fn location(pointer: &str, line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" line {l} column {c}"),
        (Some(l), None) => format!(" line {l}"),
        _ if pointer.is_empty() => String::new(),
        _ => format!(" at {pointer}"),
    }
}

impl ImportError {
    pub(crate) fn at(file: &str, pointer: &str, message: impl Into<String>) -> Self {
        ImportError {
            file: file.to_string(),
            pointer: pointer.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// Reads `sources` in `format` (detected when `None`). An error in a YAML file carries
/// the line of the value its pointer names, when it can be found.
pub fn import(
    sources: &Sources,
    format: Option<Format>,
    options: &Options,
) -> Result<Imported, ImportError> {
    let mut imported = read(sources, format, options).map_err(|mut e| {
        if e.line.is_none()
            && let Some(text) = sources.files.get(&e.file)
        {
            e.line = line_of(text, &e.pointer);
        }
        e
    })?;
    imported.source = options
        .source
        .clone()
        .or_else(|| imported.title.clone())
        .unwrap_or_else(|| sources.main.clone());
    for r in &mut imported.routes {
        if let Some(o) = r.origin.as_mut()
            && let serde_json::Value::Object(d) = &mut o.document
        {
            d.insert(
                plan::SOURCE.into(),
                serde_json::Value::String(imported.source.clone()),
            );
        }
    }
    Ok(imported)
}

fn read(
    sources: &Sources,
    format: Option<Format>,
    options: &Options,
) -> Result<Imported, ImportError> {
    let docs = refs::Docs::parse(sources)?;
    let main = docs.main();
    let format = match format {
        Some(f) => f,
        None => detect(main).ok_or_else(|| {
            ImportError::at(
                &sources.main,
                "",
                "not a format standin knows: an OpenAPI document has \"openapi\" (3.x) or \"swagger\" (2.0) at the top, WireMock mappings \"request\" and \"response\" or \"mappings\", a Postman collection \"info\" and \"item\", a HAR \"log\", a standin export \"standin\"",
            )
        })?,
    };
    match format {
        Format::Openapi => openapi::read(&docs, options),
        Format::Native => native::read(&sources.main, main),
        Format::Wiremock => wiremock::read(&docs),
        Format::Postman => postman::read(&docs),
        Format::Har => har::read(&sources.main, main, options),
        Format::Mockserver => Err(ImportError::at(
            &sources.main,
            "",
            "MockServer expectations are read by the mockserver crate (the import API and CLI do)",
        )),
    }
}

/// The format a parsed document is in, judged by its top-level keys.
pub fn detect(doc: &serde_json::Value) -> Option<Format> {
    let expectation = |v: &serde_json::Value| {
        v.as_object().is_some_and(|o| {
            [
                "httpRequest",
                "httpResponse",
                "httpForward",
                "httpError",
                "httpResponseTemplate",
                "httpOverrideForwardedRequest",
            ]
            .iter()
            .any(|k| o.contains_key(*k))
        })
    };
    if let Some(items) = doc.as_array() {
        return (!items.is_empty() && items.iter().all(expectation)).then_some(Format::Mockserver);
    }
    if expectation(doc) {
        return Some(Format::Mockserver);
    }
    let o = doc.as_object()?;
    if o.contains_key("openapi") || o.contains_key("swagger") {
        Some(Format::Openapi)
    } else if o.contains_key("standin") {
        Some(Format::Native)
    } else if wiremock::looks_like(doc) {
        Some(Format::Wiremock)
    } else if har::looks_like(doc) {
        Some(Format::Har)
    } else if postman::looks_like(doc) {
        Some(Format::Postman)
    } else {
        None
    }
}

/// Headers of a recorded or saved response that describe its transfer, not its content:
/// a recording stores the content decoded, and standin frames what it sends itself.
pub(crate) const TRANSFER_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "connection",
    "keep-alive",
];

/// Whether `name: value` can be sent as an HTTP header (a token name; a value without
/// control characters other than tab). Documents hold headers that cannot (Chrome's
/// newline-joined `set-cookie` in a HAR): they are left out rather than refusing the route.
pub(crate) fn header_ok(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        && value
            .bytes()
            .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Adds a header value, keeping earlier values of the same name; a header that cannot be
/// sent is left out (false).
pub(crate) fn push_header(
    headers: &mut std::collections::BTreeMap<String, standin_model::HeaderValues>,
    name: &str,
    value: String,
) -> bool {
    use standin_model::HeaderValues;
    if !header_ok(name, &value) {
        return false;
    }
    match headers.get_mut(name) {
        Some(HeaderValues::One(first)) => {
            let first = std::mem::take(first);
            headers.insert(name.to_string(), HeaderValues::Many(vec![first, value]));
        }
        Some(HeaderValues::Many(all)) => all.push(value),
        None => {
            headers.insert(name.to_string(), HeaderValues::One(value));
        }
    }
    true
}

/// A standin path pattern as a regex over the whole path: `{name}` and `*` one segment,
/// `**` and `{*name}` any remainder, other text literal. For formats that have regex
/// paths but no wildcards (WireMock, MockServer).
///
/// ```
/// assert_eq!(standin_import::pattern_regex("/a/*/b.c/**"), r"/a/[^/]+/b\.c/.*");
/// ```
pub fn pattern_regex(p: &str) -> String {
    p.split('/')
        .map(|seg| match seg {
            "**" => ".*".to_string(),
            "*" => "[^/]+".to_string(),
            s if s.starts_with("{*") => ".*".to_string(),
            s if s.starts_with('{') && s.ends_with('}') => "[^/]+".to_string(),
            s => regex_syntax::escape(s),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Route ids already taken by one import, and the next number to try for each base.
#[derive(Default)]
pub(crate) struct Ids {
    used: std::collections::HashSet<String>,
    next: std::collections::HashMap<String, usize>,
}

impl Ids {
    /// `base`, or `base-2`, `base-3`, ... the first not taken. Linear in the repeats of a
    /// base however many there are.
    pub(crate) fn unique(&mut self, base: String) -> String {
        if self.used.insert(base.clone()) {
            return base;
        }
        let n = self.next.entry(base.clone()).or_insert(2);
        loop {
            let candidate = format!("{base}-{n}");
            *n += 1;
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
        }
    }

    pub(crate) fn insert(&mut self, id: String) -> bool {
        self.used.insert(id)
    }
}

/// Escapes one JSON pointer token.
pub(crate) fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
