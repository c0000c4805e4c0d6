//! `standin`: the composition root. Parses the command line and configuration, opens the
//! store, and runs the two planes on their own runtimes:
//!
//! - the control plane (store, application core, journal task, management API) on one
//!   dedicated thread with a current-thread runtime, so an fsync or a large import never
//!   occupies a thread that serves mocks;
//! - the data plane (the mock listener) on a multi-thread runtime with `--workers` threads.
//!
//! On start it prints one line per listener to stdout (`standin: mock listener on
//! http://ADDR`, `standin: admin API on http://ADDR`); logs go to stderr.

mod backup;
mod client;
mod config;
mod metrics;
mod otel;
mod preview;
mod recording;
mod sync;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{ServeArgs, Settings};
use standin_app::App;
use standin_journal::Journal;
use standin_store::SqliteStore;
use std::io::Write;
use std::sync::Arc;
use tokio::sync::watch;

/// standin: a shared mock server for teams and services.
///
/// Teams own services; services own routes (stubs). Mock traffic is served on one port
/// (HTTP/1.1 and h2c), the management API on another (JSON under /api/v1, interactive
/// docs at /api/v1/docs).
#[derive(Debug, Parser)]
#[command(name = "standin", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the mock listener and the management API.
    ///
    /// Definitions are stored in DATA_DIR/standin.db (SQLite) and survive restarts; every
    /// change is recorded in the history. Try `standin serve --demo`, then
    /// `curl http://127.0.0.1:8080/demo/petstore/pets`.
    Serve(Box<ServeArgs>),
    /// Print the management API's OpenAPI document (JSON) and exit.
    Openapi,
    /// Import routes into a service of a running server from an OpenAPI 3.x or Swagger
    /// 2.0 document (a file, with the files its $refs name, or a URL) or a standin
    /// export. Prints the plan: routes created, updated, deleted, unchanged, and those
    /// edited by hand since an earlier import, which are kept.
    Import(client::ImportArgs),
    /// Export a service of a running server in standin's own format (YAML or JSON).
    Export(client::ExportArgs),
    /// Back up a store: a SQLite snapshot (`.db`) and a portable JSON-lines export
    /// (`.jsonl`) of every document and event. A running server may hold the store.
    Backup(backup::BackupArgs),
    /// Fill an empty data directory from a backup (`.db` or `.jsonl`).
    Restore(backup::RestoreArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(Settings::resolve(&args)?),
        Command::Openapi => {
            let doc = standin_admin::openapi()
                .to_pretty_json()
                .context("serializing the OpenAPI document")?;
            print_quietly(&doc)
        }
        Command::Import(args) => client::import(args),
        Command::Export(args) => client::export(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
    }
}

/// Prints to stdout; a reader that went away (`standin openapi | head`) is not an error.
fn print_quietly(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

fn init_logging(filter: &str, format: config::LogFormat, access: bool) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let mut filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("invalid log filter {filter:?}"))?;
    if access {
        // Turned on, the access log is written whatever level the rest logs at.
        filter = filter.add_directive("standin::access=info".parse()?);
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        config::LogFormat::Human => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        // One JSON object per line, fields flattened, for ELK-style pipelines.
        config::LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    Ok(())
}

/// How much lower than the mock workers the control plane's blocking threads run (nice).
pub(crate) const CONTROL_NICE: u8 = 10;

/// What the control plane hands the data plane once it is ready.
struct Ready {
    plane: standin_server::Plane,
    control: Option<Arc<dyn standin_server::Control>>,
    tracing: Option<standin_server::trace::Tracing>,
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    init_logging(
        &settings.log,
        settings.log_format,
        settings.journal.access_log,
    )?;
    // Both ports are taken before anything is loaded or applied: a start that fails
    // because a port is in use changes nothing (no demo, no initialization file).
    let mock_listener = bind(settings.mock_addr, "mock traffic")?;
    let admin_listener = bind(settings.admin_addr, "the admin API")?;
    let mock_address = mock_listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<Ready>>();

    let control_settings = settings.clone();
    let control = std::thread::Builder::new()
        .name("standin-control".into())
        .spawn(move || {
            // The control plane's blocking threads, where documents are read (a 13 MB
            // import), run below the mock workers: on a busy core they wait for mock
            // traffic rather than share the core evenly with it. The control thread itself
            // stays at normal priority: it drains the journal, and a starved drain would
            // fill the journal's channel under load.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .on_thread_start(|| standin_server::lower_priority(CONTROL_NICE))
                .build()
                .context("starting the control runtime")?;
            rt.block_on(control_plane(
                control_settings,
                admin_listener,
                mock_address,
                ready_tx,
                stop_rx,
            ))
        })?;

    let ready = match ready_rx.recv() {
        Ok(Ok(ready)) => ready,
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return control
                .join()
                .map_err(|_| anyhow::anyhow!("the control plane panicked"))?
                .and(Err(anyhow::anyhow!("the control plane stopped")));
        }
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.workers)
        .thread_name("standin-mock")
        .enable_all()
        .build()
        .context("starting the mock runtime")?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::from_std(mock_listener)
            .context("serving the mock listener")?;
        announce(&format!(
            "mock listener on http://{}",
            listener.local_addr()?
        ));
        if settings.demo {
            announce(&format!(
                "try: curl http://{}/demo/petstore/pets",
                listener.local_addr()?
            ));
        }
        let mut config = settings.server.clone();
        config.tracing = ready.tracing;
        standin_server::serve(
            listener,
            ready.plane,
            config,
            ready.control,
            shutdown_signal(),
        )
        .await;
        anyhow::Ok(())
    });
    let _ = stop_tx.send(true);
    let control_result = control
        .join()
        .map_err(|_| anyhow::anyhow!("the control plane panicked"))?;
    result.and(control_result)
}

/// Binds a listening socket, ready to hand to a tokio runtime.
fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on {addr} for {what}"))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

async fn control_plane(
    settings: Settings,
    admin_listener: std::net::TcpListener,
    mock_address: std::net::SocketAddr,
    ready: std::sync::mpsc::Sender<anyhow::Result<Ready>>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let started = async {
        // Read and check the initialization file before anything is applied.
        let init = match &settings.mockserver_init {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let file = standin_mockserver::InitializationFile::read(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                Some((path, file))
            }
        };
        let open = standin_store::OpenOptions {
            init: settings.init,
            ..standin_store::OpenOptions::default()
        };
        let store = SqliteStore::open_with(&settings.data_dir, &open)
            .await
            .with_context(|| format!("opening the store in {}", settings.data_dir.display()))?;
        let journal = Journal::start(settings.journal.clone());
        let store = Arc::new(store);
        let app = App::open(store.clone(), journal.clone())
            .await
            .context("loading definitions")?;
        if settings.demo
            && standin_app::demo::ensure(&app)
                .await
                .context("creating the demo")?
        {
            tracing::info!("created the demo team and service");
        }
        let mut init_report = serde_json::Value::Null;
        if let Some((path, file)) = init {
            let (refused, total) = (file.refused.clone(), file.total);
            for r in &refused {
                tracing::warn!(file = %path.display(), index = r.index, pointer = %r.pointer, reason = %r.reason, "an expectation of the MockServer initialization file was refused; the others are loaded");
            }
            let n = file
                .apply(&app)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            tracing::info!(expectations = n, refused = refused.len(), file = %path.display(), "loaded the MockServer initialization file");
            init_report = serde_json::json!({
                "file": path.display().to_string(),
                "expectations": total,
                "loaded": n,
                "refused": refused,
            });
        }
        let listener =
            tokio::net::TcpListener::from_std(admin_listener).context("serving the admin API")?;
        anyhow::Ok((app, journal, listener, store, init_report))
    };
    let (app, journal, listener, store, init_report) = match started.await {
        Ok(parts) => parts,
        Err(e) => {
            let text = format!("{e:#}");
            let _ = ready.send(Err(e));
            anyhow::bail!("{text}");
        }
    };
    announce(&format!("admin API on http://{}", listener.local_addr()?));
    let control: Option<Arc<dyn standin_server::Control>> = if settings.mockserver_api {
        Some(standin_mockserver::MockServerApi::new(
            app.clone(),
            tokio::runtime::Handle::current(),
        ))
    } else {
        None
    };
    let (tracing, tracer_provider) = match &settings.tracing {
        None => (None, None),
        Some(t) => {
            let (sink, provider) =
                otel::start(&t.endpoint, t.json, tokio::runtime::Handle::current())?;
            tracing::info!(endpoint = %t.endpoint, "exporting a span per mock request over OTLP/HTTP");
            (
                Some(standin_server::trace::Tracing {
                    sink: Arc::new(sink),
                    sample_ratio: t.sample_ratio,
                }),
                Some(provider),
            )
        }
    };
    let stats = Arc::new(standin_server::ServeStats::default());
    let backups = Arc::new(backup::BackupStatus::default());
    let _ = ready.send(Ok(Ready {
        plane: standin_server::Plane {
            table: app.table(),
            journal: journal.writer(),
            stats: stats.clone(),
        },
        control,
        tracing,
    }));
    let metrics = settings.server.metrics.then(|| {
        metrics::source(metrics::Sources {
            app: app.clone(),
            journal: journal.clone(),
            serving: stats.clone(),
            backup: backups.clone(),
        })
    });
    let serving: standin_admin::StatusSource = Arc::new(move || stats.snapshot());
    let states = sync::SyncStates::default();
    let sync_view = states.clone();
    let sync_status: standin_admin::StatusSource =
        Arc::new(move || serde_json::to_value(&*sync_view.lock()).unwrap_or_default());
    tokio::spawn(sync::run(app.clone(), states, stop.clone()));
    tokio::spawn(recording::run(app.clone(), stop.clone()));
    tokio::spawn(persist_usage(app.clone(), stop.clone()));
    if let Some(schedule) = settings.backup.clone() {
        tokio::spawn(backup::run(store, schedule, backups.clone(), stop.clone()));
    }
    let backup_view = backups.clone();
    let schedule = settings.backup.clone();
    let backup_status: standin_admin::StatusSource =
        Arc::new(move || backup_view.view(schedule.as_ref()));
    let preview = preview::start(
        &settings.server,
        settings.journal.max_body_bytes.max(64 * 1024),
        stop.clone(),
    )
    .await
    .context("starting the preview listener for \"try it\"")?;
    standin_admin::serve_with(
        listener,
        standin_admin::AdminState {
            serving,
            sync: sync_status,
            mock_address: Some(mock_address.to_string()),
            preview: Some(preview),
            metrics,
            backup: backup_status,
            initialization: Arc::new(move || init_report.clone()),
            ui: match &settings.ui_dir {
                Some(dir) => standin_admin::UiSource::Dir(dir.clone()),
                None => standin_admin::UiSource::Embedded,
            },
            ..standin_admin::AdminState::new(app.clone())
        },
        async move {
            let _ = stop.wait_for(|s| *s).await;
        },
    )
    .await
    .context("admin API")?;
    // The last spans, exported while this runtime still runs the exporter's requests.
    if let Some(provider) = tracer_provider {
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
    // The last usage counts, once the mock listener has stopped.
    app.journal().flush().await;
    if let Err(e) = app.persist_usage().await {
        tracing::warn!(error = %e, "the last usage counts could not be stored");
    }
    Ok(())
}

/// How often usage counts go from the journal to the store.
const USAGE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Writes usage counts to the store in batches, off the serving path.
async fn persist_usage(app: App, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(USAGE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if let Err(e) = app.persist_usage().await {
            tracing::warn!(error = %e, "usage counts could not be stored; they are kept for the next try");
        }
    }
}

fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "standin: {line}");
    let _ = out.flush();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
