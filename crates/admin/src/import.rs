//! Import into a service from a document (OpenAPI 3.x, Swagger 2.0, standin's export),
//! and export of a service.

use crate::services::{ServicePath, find_service};
use crate::{Actor, ApiError, ApiResult, ErrorBody, QueryParams};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use standin_app::{App, ServiceKey};
use standin_import::{BasePath, Format, ImportError, Options, Plan, Sources, Warning};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The largest document the import endpoint reads (GitHub's REST description is 13 MB).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// `auto` (the default), `openapi` (also Swagger 2.0), `wiremock`, `mockserver`,
    /// `postman`, `har` or `native`.
    #[serde(default)]
    format: Option<String>,
    /// `true`: return the plan and change nothing.
    #[serde(default)]
    dry_run: bool,
    /// `keep`: routes carry the path of the document's first server (`/v1/pets`);
    /// `drop` (the default): the paths as written (`/pets`).
    #[serde(default)]
    base_path: Option<String>,
    /// Seeds the bodies generated from schemas (default 0); the same seed gives the same
    /// bodies.
    #[serde(default)]
    seed: Option<u64>,
    /// `true`: the body is a bundle, `{"main": NAME, "files": {NAME: TEXT, ...}}`, for a
    /// document whose `$ref`s name other files (the CLI sends one).
    #[serde(default)]
    bundle: bool,
    /// `true`: keep the credentials a capture holds (a HAR's `Set-Cookie` answers).
    #[serde(default)]
    credentials: bool,
    /// Names the document: an import plans against the routes of the same document only,
    /// so several documents can share a service. Default: the document's title, else its
    /// file name (`body` for a document sent as the body).
    #[serde(default)]
    source: Option<String>,
}

/// A document and the files its `$ref`s name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Bundle {
    main: String,
    files: BTreeMap<String, String>,
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportReport {
    dry_run: bool,
    #[schema(value_type = String)]
    format: Format,
    service: String,
    created_team: bool,
    created_service: bool,
    summary: Summary,
    #[schema(value_type = Object)]
    plan: Plan,
    #[schema(value_type = Vec<Object>)]
    warnings: Vec<Warning>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Summary {
    create: usize,
    update: usize,
    delete: usize,
    unchanged: usize,
    kept: usize,
    conflicts: usize,
    warnings: usize,
}

/// Imports a document into a service, creating the team and the service when they do not
/// exist. The body is the document itself, JSON or YAML (any `Content-Type`), or a bundle
/// with `bundle=true`. Routes come with a plan against what the service has: routes to
/// create, update and delete, those unchanged, and those edited by hand since an earlier
/// import, which are kept (`kept`, or `conflicts` when the document changed them too).
/// Applying the plan is one recorded change; a document with an error imports nothing.
#[utoipa::path(post, path = "/api/v1/teams/{team}/services/{service}/import", tag = "import", params(ServicePath, ImportQuery),
    request_body(content = String, description = "The document (OpenAPI 3.x or Swagger 2.0 in JSON or YAML, or a standin export), or a bundle", content_type = "application/yaml"),
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn import(
    State(app): State<App>,
    Actor(actor): Actor,
    Path((team, service)): Path<(String, String)>,
    QueryParams(q): QueryParams<ImportQuery>,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    let format =
        Format::parse(q.format.as_deref().unwrap_or("")).map_err(|m| query_error("/format", m))?;
    let base_path = match q.base_path.as_deref() {
        None | Some("drop") => BasePath::Drop,
        Some("keep") => BasePath::Keep,
        Some(other) => {
            return Err(query_error(
                "/basePath",
                format!("\"{other}\" is not a base path mode: keep or drop"),
            ));
        }
    };
    let sources = read_sources(body, q.bundle).await?;
    let options = Options {
        base_path,
        seed: q.seed.unwrap_or(0),
        credentials: q.credentials,
        source: q.source.clone(),
    };
    let imported = reading(move || read_document(&sources, format, &options)).await?;
    let key = ServiceKey::new(&team, &service);
    let format = imported.format;
    let warnings = imported.warnings.clone();
    let outcome = app.import(&actor, &key, imported, q.dry_run).await?;
    let p = &outcome.plan;
    Ok(Json(ImportReport {
        dry_run: q.dry_run,
        format,
        service: key.to_string(),
        created_team: outcome.created_team,
        created_service: outcome.created_service,
        summary: Summary {
            create: p.create.len(),
            update: p.update.len(),
            delete: p.delete.len(),
            unchanged: p.unchanged.len(),
            kept: p.kept.len(),
            conflicts: p.conflicts.len(),
            warnings: warnings.len(),
        },
        plan: outcome.plan,
        warnings,
    }))
}

/// The document in a request body (or, with `bundle`, the documents).
async fn read_sources(body: Body, bundle: bool) -> ApiResult<Sources> {
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("a document may have at most {MAX_IMPORT_BYTES} bytes"),
            )
        })?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!(
                "the document is not UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(if bundle {
        let b: Bundle = crate::parse_json(text.as_bytes())?;
        Sources {
            main: b.main,
            files: b.files,
        }
    } else {
        Sources::single("body", text)
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DriftQuery {
    /// `true`: the body is a bundle, as for an import.
    #[serde(default)]
    bundle: bool,
}

/// The drift report: which of the service's routes no longer keep the OpenAPI or Swagger
/// document in the body. A route is checked against the operation an import recorded
/// for it (else its method and path template): each answer's status must be documented,
/// and a JSON body must be valid against its status's response schema. Changes nothing.
#[utoipa::path(post, path = "/api/v1/teams/{team}/services/{service}/drift", tag = "import", params(ServicePath, DriftQuery),
    request_body(content = String, description = "The current document (OpenAPI 3.x or Swagger 2.0, JSON or YAML)", content_type = "application/yaml"),
    responses((status = 200, description = "checked, unknown (routes that are no operation of the document) and drifted (each with its problems)", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn drift(
    State(app): State<App>,
    Path((team, service)): Path<(String, String)>,
    QueryParams(q): QueryParams<DriftQuery>,
    body: Body,
) -> ApiResult<Json<standin_import::Drift>> {
    find_service(&app, &team, &service)?;
    let sources = read_sources(body, q.bundle).await?;
    let routes: Vec<_> = app
        .catalog()
        .routes_of(&ServiceKey::new(&team, &service))
        .map(|m| m.values().map(|r| r.route.clone()).collect())
        .unwrap_or_default();
    let report = reading(move || standin_import::drift(&sources, &routes)).await?;
    Ok(Json(report))
}

/// Reads a document in any format: MockServer expectations through the mockserver
/// crate (which knows their shapes), the others through the import crate.
pub fn read_document(
    sources: &Sources,
    format: Option<Format>,
    options: &Options,
) -> Result<standin_import::Imported, ImportError> {
    let mockserver = match format {
        Some(f) => f == Format::Mockserver,
        None => sources
            .files
            .get(&sources.main)
            .and_then(|text| standin_import::parse_document(&sources.main, text).ok())
            .is_some_and(|doc| standin_import::detect(&doc) == Some(Format::Mockserver)),
    };
    if !mockserver {
        return standin_import::import(sources, format, options);
    }
    let text = sources
        .files
        .get(&sources.main)
        .map(String::as_str)
        .unwrap_or("");
    let doc = standin_import::parse_document(&sources.main, text)?;
    standin_mockserver::import::read(&sources.main, &doc)
}

/// Runs a reader off the admin runtime's threads (a large document takes a while).
async fn reading<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ImportError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                e.to_string(),
            )
        })?
        .map_err(import_error)
}

fn query_error(pointer: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid_query(pointer, message)
}

fn import_error(e: ImportError) -> ApiError {
    let mut err = ApiError::new(StatusCode::BAD_REQUEST, "invalid_document", e.to_string());
    err.body.pointer = Some(if e.pointer.is_empty() {
        "/".into()
    } else {
        e.pointer.clone()
    });
    err.body.line = e.line;
    err.body.column = e.column;
    err
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// `json` (the default) or `yaml`: standin's own format, which imports again
    /// unchanged; `openapi` (3.1), `wiremock` (`{"mappings": [...]}`), `mockserver` (the
    /// expectations `PUT /mockserver/expectation` takes) or `postman` (a v2.1 collection).
    #[serde(default)]
    format: Option<String>,
    /// For `postman`: the collection's `{{baseUrl}}` (default
    /// `http://localhost:8080` and the service's base path).
    #[serde(default)]
    base_url: Option<String>,
}

/// Exports a service: in standin's own format (JSON or YAML), fit to keep in a repository
/// and to import again (`format=native`) with nothing changed; or as OpenAPI 3.1,
/// WireMock mappings, MockServer expectations or a Postman collection. What another
/// format cannot express is left out and counted in `X-Standin-Export-Warnings` (and
/// listed in the document where the format has room: `x-standin-warnings` in OpenAPI,
/// `meta.standinWarnings` for WireMock).
#[utoipa::path(get, path = "/api/v1/teams/{team}/services/{service}/export", tag = "import", params(ServicePath, ExportQuery),
    responses((status = 200, description = "The export", content_type = "application/json"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn export(
    State(app): State<App>,
    Path((team, service)): Path<(String, String)>,
    QueryParams(q): QueryParams<ExportQuery>,
) -> ApiResult<axum::response::Response> {
    let format = q.format.as_deref().unwrap_or("json");
    let record = find_service(&app, &team, &service)?;
    let catalog = app.catalog();
    let key = ServiceKey::new(&team, &service);
    let mut records: Vec<_> = catalog
        .routes_of(&key)
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    // Creation order: an import of the export creates them in the same order.
    records.sort_by_key(|r| r.meta.created_seq);
    let routes: Vec<_> = records.iter().map(|r| r.route.clone()).collect();
    let title = if record.service.name.is_empty() {
        key.to_string()
    } else {
        record.service.name.clone()
    };
    let (text, warnings, ext) = match format {
        "json" | "native" | "yaml" => {
            let yaml = format == "yaml";
            let export = standin_import::native::Export {
                standin: standin_import::native::VERSION,
                team: team.clone(),
                service: record.service.clone(),
                routes,
            };
            (
                standin_import::native::write(&export, yaml),
                0,
                if yaml { "yaml" } else { "json" },
            )
        }
        "wiremock" => {
            let (mut doc, warnings) = standin_import::wiremock::export(&routes);
            let n = warnings.len();
            doc["meta"] = serde_json::json!({ "total": routes.len(), "standinWarnings": warnings });
            (pretty(&doc), n, "json")
        }
        "openapi" => {
            let (mut doc, warnings) = standin_import::export::openapi(&title, &routes);
            let n = warnings.len();
            if n > 0 {
                doc["x-standin-warnings"] =
                    serde_json::to_value(&warnings).expect("warnings serialize");
            }
            (pretty(&doc), n, "json")
        }
        "postman" => {
            let base_path = record.service.effective_base_path(&team);
            let base_url = q.base_url.clone().unwrap_or_else(|| {
                format!(
                    "http://localhost:8080{}",
                    if base_path == "/" {
                        ""
                    } else {
                        base_path.as_str()
                    }
                )
            });
            let (doc, warnings) = standin_import::export::postman(&title, &base_url, &routes);
            (pretty(&doc), warnings.len(), "json")
        }
        "mockserver" => {
            let mut lost = 0;
            let list: Vec<serde_json::Value> = routes
                .iter()
                .map(|r| {
                    let (e, l) = standin_mockserver::export::expectation(r);
                    lost += l.len();
                    e
                })
                .collect();
            (pretty(&serde_json::Value::Array(list)), lost, "json")
        }
        other => {
            return Err(query_error(
                "/format",
                format!(
                    "\"{other}\" is not an export format: json, yaml, openapi, wiremock, mockserver or postman"
                ),
            ));
        }
    };
    let content_type = if ext == "yaml" {
        "application/yaml"
    } else {
        "application/json"
    };
    let file = format!("{team}-{service}-{format}.{ext}");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (
                header::HeaderName::from_static("x-standin-export-warnings"),
                warnings.to_string(),
            ),
        ],
        text,
    )
        .into_response())
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialize");
    s.push('\n');
    s
}
