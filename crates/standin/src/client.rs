//! `standin import` and `standin export`: clients of a running server's management API.
//!
//! `import` reads a document from a file (with the files its `$ref`s name next to it) or
//! a URL, sends it to `POST /api/v1/teams/{team}/services/{service}/import`, and prints
//! the plan's summary. `export` writes `GET .../export` to stdout or a file.

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use standin_import::{Sources, missing_files};
use std::path::Path;
use std::time::Duration;

/// The most a fetched document or an answer may hold: as much as an import takes.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// How long one request to the server or a spec URL may take.
const TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The document: a file (OpenAPI 3.x or Swagger 2.0 in JSON or YAML, WireMock
    /// mappings, a Postman collection, a HAR capture, or a standin export), a WireMock
    /// folder (with mappings/ and __files/), or an http(s) URL.
    pub source: String,
    /// The service to import into, as TEAM/SERVICE; created when it does not exist.
    #[arg(long)]
    pub service: String,
    /// auto, openapi (also Swagger 2.0), wiremock, mockserver, postman, har or native.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// keep: routes carry the path of the document's first server (/v1/pets); drop: the
    /// paths as written.
    #[arg(long, default_value = "drop")]
    pub base_path: String,
    /// Seeds the bodies generated from schemas.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The management API of the running server.
    #[arg(long, env = "STANDIN_ADMIN", default_value = "http://127.0.0.1:9090")]
    pub admin: String,
    /// Print the whole report (JSON) instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Keep the credentials a capture holds (a HAR's Set-Cookie answers).
    #[arg(long)]
    pub credentials: bool,
    /// A Postman environment file whose variables resolve {{variables}} in the collection.
    #[arg(long)]
    pub environment: Option<std::path::PathBuf>,
    /// Names the document, so that several documents can share a service (default: its
    /// title, else its file name).
    #[arg(long)]
    pub document: Option<String>,
    /// Work on this data directory directly instead of a running server (which must not
    /// be running on it: the store's lock says so).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The service to export, as TEAM/SERVICE.
    #[arg(long)]
    pub service: String,
    /// json or yaml (standin's own format, which imports again unchanged), openapi,
    /// wiremock, mockserver or postman.
    #[arg(long, default_value = "yaml")]
    pub format: String,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
    /// The management API of the running server.
    #[arg(long, env = "STANDIN_ADMIN", default_value = "http://127.0.0.1:9090")]
    pub admin: String,
}

pub(crate) type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub(crate) fn client() -> anyhow::Result<HttpClient> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")
}

pub(crate) async fn send(
    client: &HttpClient,
    method: http::Method,
    url: &str,
    body: Bytes,
    content_type: &str,
) -> anyhow::Result<(http::StatusCode, Bytes)> {
    let req = http::Request::builder()
        .method(method)
        .uri(url)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(body))
        .with_context(|| format!("{url} is not a URL"))?;
    // Who makes a change goes to standin, not to the sites documents are fetched from.
    let mut req = req;
    if req.method() != http::Method::GET {
        req.headers_mut().insert(
            "x-standin-actor",
            http::HeaderValue::from_str(&actor()).unwrap_or(http::HeaderValue::from_static("cli")),
        );
    }
    let response = tokio::time::timeout(TIMEOUT, async {
        let r = client.request(req).await?;
        let status = r.status();
        // A document (or an answer) larger than an import may be is not read to the end.
        let body = http_body_util::Limited::new(r.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                anyhow::anyhow!("the answer is larger than {MAX_BODY} bytes, or broke off: {e}")
            })?
            .to_bytes();
        anyhow::Ok((status, body))
    })
    .await
    .with_context(|| format!("{url} did not answer within {}s", TIMEOUT.as_secs()))?
    .with_context(|| format!("could not reach {url}"))?;
    Ok(response)
}

/// Who the change is recorded for: `cli:$USER`.
fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_default();
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    if user.is_empty() {
        "cli".into()
    } else {
        format!("cli:{user}")
    }
}

fn service_path(service: &str) -> anyhow::Result<(String, String)> {
    match service.split_once('/') {
        Some((t, s)) if !t.is_empty() && !s.is_empty() && !s.contains('/') => {
            Ok((t.into(), s.into()))
        }
        _ => bail!("--service must be TEAM/SERVICE, not \"{service}\""),
    }
}

/// A WireMock folder: every file under `mappings/` and `__files/` (or the folder itself
/// when it is `mappings/`), named relative to the folder.
fn read_folder(dir: &Path) -> anyhow::Result<Sources> {
    let root = if dir.file_name().is_some_and(|n| n == "mappings") {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    };
    let mut files = std::collections::BTreeMap::new();
    for sub in ["mappings", "__files"] {
        walk(&root.join(sub), root, &mut files)?;
    }
    let main = files
        .keys()
        .find(|n| n.starts_with("mappings/") && n.ends_with(".json"))
        .cloned()
        .with_context(|| format!("{} has no mappings/*.json", root.display()))?;
    Ok(Sources { main, files })
}

fn walk(
    dir: &Path,
    root: &Path,
    files: &mut std::collections::BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries {
        let path = e?.path();
        if path.is_dir() {
            walk(&path, root, files)?;
        } else {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            match String::from_utf8(bytes) {
                Ok(text) => {
                    files.insert(name, text);
                }
                // A body file that is not text (an image) travels in base64.
                Err(e) => {
                    use base64::Engine;
                    let b64 = base64::engine::general_purpose::STANDARD.encode(e.into_bytes());
                    files.insert(format!("{name}{}", standin_import::BINARY_SUFFIX), b64);
                }
            }
        }
    }
    Ok(())
}

/// The document and the files it refers to, read next to it.
fn read_sources(path: &Path) -> anyhow::Result<Sources> {
    if path.is_dir() {
        return read_folder(path);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "document".into());
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut sources = Sources::single(&name, text);
    loop {
        let missing = missing_files(&sources).map_err(|e| anyhow::anyhow!("{e}"))?;
        let readable: Vec<String> = missing
            .into_iter()
            .filter(|m| !m.contains("://") && !sources.files.contains_key(m))
            .collect();
        if readable.is_empty() {
            return Ok(sources);
        }
        for m in readable {
            let file = dir.join(&m);
            let text = std::fs::read_to_string(&file).with_context(|| {
                format!(
                    "reading {} (a $ref in the document names it)",
                    file.display()
                )
            })?;
            sources.files.insert(m, text);
        }
    }
}

pub fn import(args: ImportArgs) -> anyhow::Result<()> {
    let (team, service) = service_path(&args.service)?;
    let rt = runtime()?;
    rt.block_on(async {
        let client = client()?;
        let sources = read_source(&client, &args).await?;
        let report = match &args.data_dir {
            Some(dir) => import_into_store(dir, &team, &service, sources, &args).await?,
            None => import_through_server(&client, &team, &service, sources, &args).await?,
        };
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_summary(&report);
        }
        Ok(())
    })
}

/// The document (and the files it names), from a URL or the file system, with the
/// Postman environment when one is given.
async fn read_source(client: &HttpClient, args: &ImportArgs) -> anyhow::Result<Sources> {
    let mut sources = if args.source.starts_with("http://") || args.source.starts_with("https://") {
        let (status, body) = send(
            client,
            http::Method::GET,
            &args.source,
            Bytes::new(),
            "text/plain",
        )
        .await?;
        if !status.is_success() {
            bail!("{} answered {status}", args.source);
        }
        Sources::single(
            "document",
            String::from_utf8(body.to_vec()).context("the document is not UTF-8")?,
        )
    } else {
        read_sources(Path::new(&args.source))?
    };
    if let Some(env) = &args.environment {
        let text =
            std::fs::read_to_string(env).with_context(|| format!("reading {}", env.display()))?;
        sources
            .files
            .insert("environment.postman_environment.json".into(), text);
    }
    Ok(sources)
}

async fn import_through_server(
    client: &HttpClient,
    team: &str,
    service: &str,
    sources: Sources,
    args: &ImportArgs,
) -> anyhow::Result<Value> {
    let bundle = sources.files.len() > 1;
    let body = if bundle {
        serde_json::to_vec(&serde_json::json!({"main": sources.main, "files": sources.files}))?
    } else {
        sources.files[&sources.main].clone().into_bytes()
    };
    let url = format!(
        "{}/api/v1/teams/{team}/services/{service}/import?format={}&dryRun={}&basePath={}&seed={}&bundle={bundle}&credentials={}{}",
        args.admin.trim_end_matches('/'),
        args.format,
        args.dry_run,
        args.base_path,
        args.seed,
        args.credentials,
        args.document.as_ref().map_or(String::new(), |s: &String| {
            format!(
                "&source={}",
                form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
            )
        })
    );
    let files = sources.files.len();
    let progress = Progress::start(format!(
        "sending {} bytes ({files} file{}) to {}",
        body.len(),
        if files == 1 { "" } else { "s" },
        args.admin
    ));
    let sent = send(
        client,
        http::Method::POST,
        &url,
        Bytes::from(body),
        "application/yaml",
    )
    .await;
    progress.done();
    let (status, body) = sent?;
    let report: Value = serde_json::from_slice(&body)
        .with_context(|| format!("{url} answered {status} with something that is not JSON"))?;
    if !status.is_success() {
        bail!("{}", describe_error(&report));
    }
    Ok(report)
}

/// `--data-dir`: opens the store itself (refused while a server holds it), imports, and
/// commits, as the server would.
async fn import_into_store(
    dir: &Path,
    team: &str,
    service: &str,
    sources: Sources,
    args: &ImportArgs,
) -> anyhow::Result<Value> {
    let store = standin_store::SqliteStore::open(dir)
        .await
        .with_context(|| format!("opening the store in {}", dir.display()))?;
    let journal = standin_journal::Journal::start(standin_journal::JournalConfig::default());
    let app = standin_app::App::open(std::sync::Arc::new(store), journal)
        .await
        .context("loading definitions")?;
    let format = standin_import::Format::parse(&args.format).map_err(|m| anyhow::anyhow!(m))?;
    let options = standin_import::Options {
        base_path: match args.base_path.as_str() {
            "keep" => standin_import::BasePath::Keep,
            "drop" => standin_import::BasePath::Drop,
            other => bail!("--base-path must be keep or drop, not \"{other}\""),
        },
        seed: args.seed,
        credentials: args.credentials,
        source: args.document.clone(),
    };
    let progress = Progress::start(format!("importing into {}", dir.display()));
    let imported = tokio::task::spawn_blocking(move || {
        standin_admin::read_document(&sources, format, &options)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let warnings = imported.warnings.clone();
    let key = standin_app::ServiceKey::new(team, service);
    let outcome = app.import(&actor(), &key, imported, args.dry_run).await?;
    progress.done();
    let p = &outcome.plan;
    Ok(serde_json::json!({
        "dryRun": args.dry_run,
        "service": key.to_string(),
        "createdTeam": outcome.created_team,
        "createdService": outcome.created_service,
        "summary": {
            "create": p.create.len(), "update": p.update.len(), "delete": p.delete.len(),
            "unchanged": p.unchanged.len(), "kept": p.kept.len(), "conflicts": p.conflicts.len(),
            "warnings": warnings.len(),
        },
        "plan": p,
        "warnings": warnings,
    }))
}

/// A line on stderr that counts the seconds of a long step, when stderr is a terminal.
struct Progress {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Progress {
    fn start(what: String) -> Self {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            eprintln!("standin: {what}");
            return Progress { stop: None };
        }
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            loop {
                eprint!(
                    "\rstandin: {what} ... {:.0} s",
                    started.elapsed().as_secs_f64()
                );
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    _ = &mut rx => break,
                }
            }
            eprintln!(
                "\rstandin: {what} ... done in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        });
        Progress { stop: Some(tx) }
    }

    fn done(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn describe_error(e: &Value) -> String {
    let mut s = e["message"]
        .as_str()
        .unwrap_or("the import failed")
        .to_string();
    if let Some(code) = e["error"].as_str() {
        s = format!("{code}: {s}");
    }
    s
}

fn print_summary(r: &Value) {
    let s = &r["summary"];
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    let verb = if r["dryRun"] == Value::Bool(true) {
        "would be"
    } else {
        "were"
    };
    println!(
        "{}: {} created, {} updated, {} deleted, {} unchanged, {} kept (edited by hand), {} conflicts {verb} planned; {} warnings",
        r["service"].as_str().unwrap_or(""),
        n("create"),
        n("update"),
        n("delete"),
        n("unchanged"),
        n("kept"),
        n("conflicts"),
        n("warnings"),
    );
    for c in r["plan"]["conflicts"].as_array().into_iter().flatten() {
        println!(
            "  conflict: {} ({}): {}",
            c["id"].as_str().unwrap_or(""),
            c["operation"].as_str().unwrap_or(""),
            c["reason"].as_str().unwrap_or("")
        );
    }
    for w in r["warnings"].as_array().into_iter().flatten().take(20) {
        println!(
            "  warning: {}: {}",
            w["pointer"].as_str().unwrap_or(""),
            w["message"].as_str().unwrap_or("")
        );
    }
}

pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let (team, service) = service_path(&args.service)?;
    let rt = runtime()?;
    rt.block_on(async {
        let client = client()?;
        let url = format!(
            "{}/api/v1/teams/{team}/services/{service}/export?format={}",
            args.admin.trim_end_matches('/'),
            args.format
        );
        let (status, body) = send(
            &client,
            http::Method::GET,
            &url,
            Bytes::new(),
            "application/json",
        )
        .await?;
        if !status.is_success() {
            let e: Value = serde_json::from_slice(&body).unwrap_or_default();
            bail!("{}", describe_error(&e));
        }
        match &args.output {
            Some(path) => std::fs::write(path, &body)
                .with_context(|| format!("writing {}", path.display()))?,
            None => crate::print_quietly(String::from_utf8_lossy(&body).trim_end())?,
        }
        Ok(())
    })
}

/// `standin restore --key KEY --at WHEN`: a point-in-time restore on a running server.
pub fn restore_point(key: &str, at: &str, dry_run: bool, admin: &str) -> anyhow::Result<()> {
    let at: Value = match at.parse::<u64>() {
        Ok(seq) => Value::from(seq),
        Err(_) => Value::from(at),
    };
    let body = serde_json::json!({"key": key, "at": at, "dryRun": dry_run});
    runtime()?.block_on(async {
        let client = client()?;
        let url = format!("{}/api/v1/restore", admin.trim_end_matches('/'));
        let (status, body) = send(
            &client,
            http::Method::POST,
            &url,
            Bytes::from(body.to_string()),
            "application/json",
        )
        .await?;
        let plan: Value = serde_json::from_slice(&body)
            .with_context(|| format!("{url} answered {status} with something that is not JSON"))?;
        if !status.is_success() {
            bail!("{}", describe_error(&plan));
        }
        let steps = plan["steps"].as_array().cloned().unwrap_or_default();
        let verb = if dry_run { "would restore" } else { "restored" };
        let key = if key.is_empty() || key == "*" {
            "everything"
        } else {
            key
        };
        println!(
            "standin: {verb} {key} to event {} ({}): {} change{}",
            plan["toSeq"],
            plan["toTime"].as_str().unwrap_or(""),
            steps.len(),
            if steps.len() == 1 { "" } else { "s" }
        );
        for s in steps {
            println!(
                "  {} {} {}",
                s["action"].as_str().unwrap_or(""),
                s["entity"].as_str().unwrap_or(""),
                s["key"].as_str().unwrap_or("")
            );
        }
        Ok(())
    })
}
