//! The web UI at `/`: a single-page app built from `ui/` and embedded at compile time
//! (see `build.rs`), or read from a directory given with `--ui-dir` (for UI development).
//! The app routes with the URL's fragment, so the server serves only `/`, `/index.html`
//! and the files under `/assets/`.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// Where the UI's files come from.
#[derive(Debug, Clone, Default)]
pub enum UiSource {
    /// The files embedded at build time (none when `ui/dist` did not exist).
    #[default]
    Embedded,
    /// A built UI on disk, read per request.
    Dir(PathBuf),
}

impl UiSource {
    /// Whether the UI can be served at all.
    pub fn available(&self) -> bool {
        match self {
            UiSource::Embedded => !ASSETS.is_empty(),
            UiSource::Dir(dir) => dir.join("index.html").is_file(),
        }
    }

    async fn file(&self, path: &str) -> Option<Vec<u8>> {
        match self {
            UiSource::Embedded => ASSETS
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, b)| b.to_vec()),
            UiSource::Dir(dir) => {
                // Only plain names below the directory: no `..`, no absolute paths.
                let rel = path.trim_start_matches('/');
                if rel
                    .split('/')
                    .any(|c| c.is_empty() || c == "." || c == "..")
                {
                    return None;
                }
                tokio::fs::read(dir.join(rel)).await.ok()
            }
        }
    }
}

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>standin</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>standin</h1>
<p>This build of standin has no web UI. Build it from a checkout with <code>make ui</code> and
rebuild standin (<code>make run</code> does both), or serve a built UI with
<code>standin serve --ui-dir ui/dist</code>.</p>
<p>The management API works without it: see <a href="/api/v1/docs/">/api/v1/docs/</a>.</p>
</body></html>
"#;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn serve_file(ui: &UiSource, path: &str, immutable: bool) -> Response {
    match ui.file(path).await {
        Some(bytes) => {
            let mut r = bytes.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(if immutable {
                    // Vite names assets by their content's hash.
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                }),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        None => (
            StatusCode::NOT_FOUND,
            format!("{path} is not a file of the web UI"),
        )
            .into_response(),
    }
}

/// `/` and `/index.html`: the app, or how to build it.
pub(crate) async fn index(State(ui): State<UiSource>) -> Response {
    if !ui.available() {
        return Html(NOT_BUILT).into_response();
    }
    serve_file(&ui, "/index.html", false).await
}

/// `/assets/...`: the app's scripts, styles and images.
pub(crate) async fn asset(State(ui): State<UiSource>, Path(path): Path<String>) -> Response {
    serve_file(&ui, &format!("/assets/{path}"), true).await
}

/// `/favicon.svg`, the one top-level file besides the page.
pub(crate) async fn favicon(State(ui): State<UiSource>) -> Response {
    serve_file(&ui, "/favicon.svg", false).await
}
