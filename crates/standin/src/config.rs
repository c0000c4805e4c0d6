//! Configuration: defaults, then the `--config` file, then `STANDIN_*` environment
//! variables, then flags. `standin.example.toml` at the repository root documents every key.

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Flags of `standin serve`; each can also come from the environment variable named.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML configuration file (see standin.example.toml).
    #[arg(long, env = "STANDIN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the SQLite store lives (created if missing). Default: ./standin-data
    #[arg(long, env = "STANDIN_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the mock listener (HTTP/1.1 and h2c), HOST:PORT. Default: 127.0.0.1:8080
    #[arg(long, env = "STANDIN_MOCK_ADDR", value_name = "ADDR")]
    pub mock_addr: Option<String>,
    /// Address of the management API, HOST:PORT. Default: 127.0.0.1:9090
    #[arg(long, env = "STANDIN_ADMIN_ADDR", value_name = "ADDR")]
    pub admin_addr: Option<String>,
    /// Start with an empty store even where the data directory held one whose database
    /// is now missing or empty (refused without this flag, so data is never silently lost).
    #[arg(long, env = "STANDIN_INIT")]
    pub init: bool,
    /// Load a demo team and service (once; kept afterwards like any other service).
    #[arg(long, env = "STANDIN_DEMO")]
    pub demo: bool,
    /// Worker threads serving mock traffic. Default: the number of CPUs.
    #[arg(long, env = "STANDIN_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// Journal entries kept per service; 0 turns the journal off. Default: 1000
    #[arg(long, env = "STANDIN_JOURNAL_CAPACITY", value_name = "N")]
    pub journal_capacity: Option<usize>,
    /// MockServer expectation initialization file (a JSON array) loaded at start into the
    /// default service.
    #[arg(long, env = "STANDIN_MOCKSERVER_INIT", value_name = "FILE")]
    pub mockserver_init: Option<PathBuf>,
    /// PEM certificates trusted for https forwarding upstreams, beside the web PKI roots.
    #[arg(long, env = "STANDIN_FORWARD_CA_FILE", value_name = "FILE")]
    pub forward_ca_file: Option<PathBuf>,
    /// Log filter, e.g. `info` or `standin=debug`. Default: info
    #[arg(long, env = "STANDIN_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Serve the web UI from this built directory (`ui/dist`) instead of the copy built
    /// into the binary: for working on the UI.
    #[arg(long, env = "STANDIN_UI_DIR", value_name = "DIR")]
    pub ui_dir: Option<PathBuf>,
    /// Do not count mock requests for Prometheus; `GET /metrics` answers 404.
    #[arg(long, env = "STANDIN_NO_METRICS")]
    pub no_metrics: bool,
    /// Log lines as `human` text (the default) or `json` objects, one per line.
    #[arg(long, env = "STANDIN_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log one line per mock request (target `standin::access`), written by the journal
    /// task, never by the serving path.
    #[arg(long, env = "STANDIN_ACCESS_LOG")]
    pub access_log: bool,
    /// Export one span per mock request to this OTLP/HTTP collector
    /// (`http://127.0.0.1:4318`; `/v1/traces` is added). Off when absent.
    #[arg(long, env = "STANDIN_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// `protobuf` (the default) or `json`.
    #[arg(long, env = "STANDIN_OTLP_PROTOCOL", value_name = "PROTOCOL")]
    pub otlp_protocol: Option<String>,
    /// The share of traces that start at standin to export (0 to 1; default 1). A
    /// caller's sampling decision is followed.
    #[arg(long, env = "STANDIN_TRACE_SAMPLE_RATIO", value_name = "RATIO")]
    pub trace_sample_ratio: Option<f64>,
    /// Write a backup into this directory every `backup.every` (see `standin backup`).
    #[arg(long, env = "STANDIN_BACKUP_DIR", value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
}

/// The configuration file's shape. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    data_dir: Option<PathBuf>,
    mock_addr: Option<String>,
    admin_addr: Option<String>,
    demo: Option<bool>,
    workers: Option<usize>,
    log: Option<String>,
    mockserver_init: Option<PathBuf>,
    mockserver_api: Option<bool>,
    ui_dir: Option<PathBuf>,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    journal: FileJournal,
    #[serde(default)]
    forward: FileForward,
    #[serde(default)]
    metrics: FileMetrics,
    log_format: Option<String>,
    access_log: Option<bool>,
    #[serde(default)]
    backup: FileBackup,
    #[serde(default)]
    tracing: FileTracing,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileTracing {
    otlp_endpoint: Option<String>,
    otlp_protocol: Option<String>,
    sample_ratio: Option<f64>,
}

/// Where traces go.
#[derive(Debug, Clone)]
pub struct TracingSettings {
    pub endpoint: String,
    pub json: bool,
    pub sample_ratio: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileMetrics {
    enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileBackup {
    dir: Option<PathBuf>,
    every_minutes: Option<u64>,
    every_seconds: Option<u64>,
    keep: Option<usize>,
}

/// Scheduled backups.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every: Duration,
    /// How many backups to keep; older ones are removed after a new one is written.
    pub keep: usize,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileForward {
    ca_file: Option<PathBuf>,
    timeout_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileLimits {
    max_body_bytes: Option<usize>,
    max_inflight_body_bytes: Option<usize>,
    max_header_bytes: Option<usize>,
    max_headers: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    inline_fuel: Option<u64>,
    evaluation_fuel: Option<u64>,
    evaluation_timeout_ms: Option<u64>,
    evaluation_threads: Option<usize>,
    evaluation_queue: Option<usize>,
    evaluation_nice: Option<u8>,
    host_routing: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileJournal {
    capacity_per_service: Option<usize>,
    max_body_bytes: Option<usize>,
    channel_capacity: Option<usize>,
}

/// The configuration in force, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Allow an empty store where one existed.
    pub init: bool,
    pub mock_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub demo: bool,
    pub workers: usize,
    pub log: String,
    /// Answer MockServer's REST API on the mock listener.
    pub mockserver_api: bool,
    pub mockserver_init: Option<PathBuf>,
    /// The web UI's files on disk instead of the embedded copy.
    pub ui_dir: Option<PathBuf>,
    pub server: standin_server::ServerConfig,
    pub journal: standin_journal::JournalConfig,
    pub log_format: LogFormat,
    pub backup: Option<BackupSchedule>,
    pub tracing: Option<TracingSettings>,
}

impl Settings {
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let mut server = standin_server::ServerConfig::default();
        file.limits.apply(&mut server);
        if let Some(v) = file.forward.timeout_ms {
            server.forward_timeout = Duration::from_millis(v);
        }
        if let Some(path) = args
            .forward_ca_file
            .clone()
            .or(file.forward.ca_file.clone())
        {
            let pem = std::fs::read(&path)
                .with_context(|| format!("cannot read the forward CA file {}", path.display()))?;
            standin_server::check_ca_pem(&pem)
                .map_err(|e| anyhow::anyhow!("forward CA file {}: {e}", path.display()))?;
            server.forward_ca_pem = Some(pem);
        }
        let mut journal = standin_journal::JournalConfig {
            first_seq: standin_journal::seq_from_clock(),
            ..standin_journal::JournalConfig::default()
        };
        if let Some(v) = file.journal.capacity_per_service {
            journal.capacity_per_service = v;
        }
        if let Some(v) = file.journal.max_body_bytes {
            journal.max_body_bytes = v;
        }
        if let Some(v) = file.journal.channel_capacity {
            journal.channel_capacity = v;
        }
        if let Some(v) = args.journal_capacity {
            journal.capacity_per_service = v;
        }
        journal.access_log = args.access_log || file.access_log.unwrap_or(false);
        server.metrics = !args.no_metrics && file.metrics.enabled.unwrap_or(true);
        let log_format = match args.log_format.as_deref().or(file.log_format.as_deref()) {
            None | Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("log-format: \"{other}\" is not human or json"),
        };
        let backup = match args.backup_dir.clone().or(file.backup.dir.clone()) {
            None => None,
            Some(dir) => Some(BackupSchedule {
                dir,
                every: Duration::from_secs(
                    file.backup
                        .every_seconds
                        .unwrap_or(60 * file.backup.every_minutes.unwrap_or(60))
                        .max(1),
                ),
                keep: file.backup.keep.unwrap_or(24).max(1),
            }),
        };
        let tracing = match args
            .otlp_endpoint
            .clone()
            .or(file.tracing.otlp_endpoint.clone())
        {
            None => None,
            Some(endpoint) => {
                if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
                    bail!("otlp-endpoint: \"{endpoint}\" is not an http:// or https:// URL");
                }
                let json = match args
                    .otlp_protocol
                    .as_deref()
                    .or(file.tracing.otlp_protocol.as_deref())
                {
                    None | Some("protobuf") => false,
                    Some("json") => true,
                    Some(other) => bail!("otlp-protocol: \"{other}\" is not protobuf or json"),
                };
                let sample_ratio = args
                    .trace_sample_ratio
                    .or(file.tracing.sample_ratio)
                    .unwrap_or(1.0);
                if !(0.0..=1.0).contains(&sample_ratio) {
                    bail!("trace-sample-ratio must be from 0 to 1, not {sample_ratio}");
                }
                Some(TracingSettings {
                    endpoint,
                    json,
                    sample_ratio,
                })
            }
        };
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let settings = Settings {
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("standin-data")),
            mock_addr: address(
                "mock-addr",
                args.mock_addr.as_deref().or(file.mock_addr.as_deref()),
                "127.0.0.1:8080",
            )?,
            admin_addr: address(
                "admin-addr",
                args.admin_addr.as_deref().or(file.admin_addr.as_deref()),
                "127.0.0.1:9090",
            )?,
            init: args.init,
            demo: args.demo || file.demo.unwrap_or(false),
            workers: args.workers.or(file.workers).unwrap_or(cpus),
            log: args
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| "info".into()),
            mockserver_api: file.mockserver_api.unwrap_or(true),
            mockserver_init: args.mockserver_init.clone().or(file.mockserver_init),
            ui_dir: args.ui_dir.clone().or(file.ui_dir),
            server,
            journal,
            log_format,
            backup,
            tracing,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.mockserver_init.is_some() && !self.mockserver_api {
            bail!("mockserver-init needs mockserver-api = true");
        }
        if let Some(dir) = &self.ui_dir
            && !dir.join("index.html").is_file()
        {
            bail!(
                "ui-dir {}: no index.html there; build the UI first (make ui)",
                dir.display()
            );
        }
        if self.workers == 0 {
            bail!("workers must be at least 1");
        }
        let s = &self.server;
        if s.evaluation_threads == 0 || s.evaluation_queue == 0 || s.max_connections == 0 {
            bail!(
                "limits.evaluation-threads, limits.evaluation-queue and limits.max-connections must be at least 1"
            );
        }
        if s.max_inflight_body_bytes < s.max_body_bytes {
            bail!(
                "limits.max-inflight-body-bytes ({}) must be at least limits.max-body-bytes ({})",
                s.max_inflight_body_bytes,
                s.max_body_bytes
            );
        }
        if self.server.max_header_bytes < 1024 {
            bail!("limits.max-header-bytes must be at least 1024");
        }
        if self.mock_addr == self.admin_addr && self.mock_addr.port() != 0 {
            bail!(
                "the mock and admin listeners need different addresses (both are {})",
                self.mock_addr
            );
        }
        Ok(())
    }
}

impl FileLimits {
    fn apply(&self, server: &mut standin_server::ServerConfig) {
        let ms = |v: Option<u64>, into: &mut Duration| {
            if let Some(v) = v {
                *into = Duration::from_millis(v);
            }
        };
        let set = |v: Option<usize>, into: &mut usize| {
            if let Some(v) = v {
                *into = v;
            }
        };
        set(self.max_body_bytes, &mut server.max_body_bytes);
        set(
            self.max_inflight_body_bytes,
            &mut server.max_inflight_body_bytes,
        );
        set(self.max_header_bytes, &mut server.max_header_bytes);
        set(self.max_headers, &mut server.max_headers);
        set(self.max_connections, &mut server.max_connections);
        set(self.evaluation_threads, &mut server.evaluation_threads);
        set(self.evaluation_queue, &mut server.evaluation_queue);
        ms(self.header_read_timeout_ms, &mut server.header_read_timeout);
        ms(self.body_read_timeout_ms, &mut server.body_read_timeout);
        ms(self.idle_timeout_ms, &mut server.idle_timeout);
        ms(self.evaluation_timeout_ms, &mut server.evaluation_timeout);
        if let Some(v) = self.inline_fuel {
            server.inline_fuel = v;
        }
        if let Some(v) = self.evaluation_fuel {
            server.evaluation_fuel = v;
        }
        if let Some(v) = self.host_routing {
            server.host_routing = v;
        }
        if let Some(v) = self.evaluation_nice {
            server.evaluation_nice = v.min(19);
        }
    }
}

/// A listen address: `HOST:PORT`, where HOST may be a name (`localhost:8080`).
fn address(key: &str, given: Option<&str>, default: &str) -> anyhow::Result<SocketAddr> {
    let text = given.unwrap_or(default);
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    let resolved = text.to_socket_addrs().with_context(|| {
        format!("{key}: \"{text}\" is not HOST:PORT (for example 127.0.0.1:8080 or localhost:8080)")
    })?;
    let all: Vec<SocketAddr> = resolved.collect();
    // Prefer IPv4, as `localhost` usually means 127.0.0.1 to the people typing it.
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| anyhow::anyhow!("{key}: \"{text}\" resolves to no address"))
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "mock-addr = \"127.0.0.1:7000\"\nadmin-addr = \"127.0.0.1:7001\"\n[journal]\ncapacity-per-service = 5\n").unwrap();
        let args = ServeArgs {
            config: Some(path),
            admin_addr: Some("127.0.0.1:7002".parse().unwrap()),
            ..Default::default()
        };
        let s = Settings::resolve(&args).unwrap();
        assert_eq!(s.mock_addr.port(), 7000, "from the file");
        assert_eq!(s.admin_addr.port(), 7002, "the flag wins");
        assert_eq!(s.journal.capacity_per_service, 5);
        assert_eq!(s.data_dir, PathBuf::from("standin-data"), "default");
    }

    /// [F] `--mock-addr localhost:8080` was refused as invalid syntax.
    #[test]
    fn listen_addresses_may_name_a_host() {
        let args = ServeArgs {
            mock_addr: Some("localhost:7100".into()),
            admin_addr: Some("127.0.0.1:7101".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&args).unwrap();
        assert_eq!(s.mock_addr, "127.0.0.1:7100".parse().unwrap());
        let bad = ServeArgs {
            mock_addr: Some("localhost".into()),
            ..Default::default()
        };
        let err = format!("{:#}", Settings::resolve(&bad).unwrap_err());
        assert!(
            err.contains("mock-addr") && err.contains("HOST:PORT"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "mock-adr = \"127.0.0.1:7000\"\n").unwrap();
        let err = Settings::resolve(&ServeArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `mock-adr`"),
            "{err:#}"
        );
    }

    /// Every key the parser accepts is documented in the example file (as a setting or a
    /// commented-out one).
    #[test]
    fn the_example_file_names_every_key() {
        let example = include_str!("../../../standin.example.toml");
        let source = include_str!("config.rs");
        let mut missing = Vec::new();
        for block in [
            "struct FileConfig",
            "struct FileLimits",
            "struct FileJournal",
            "struct FileForward",
            "struct FileMetrics",
            "struct FileBackup",
            "struct FileTracing",
        ] {
            let start = source.find(block).unwrap();
            let body = &source[start..start + source[start..].find("\n}").unwrap()];
            for line in body.lines().skip(1) {
                let Some((field, _)) = line.trim().split_once(':') else {
                    continue;
                };
                if field.starts_with("//") || field.starts_with('#') || field.contains(' ') {
                    continue;
                }
                let key = field.replace('_', "-");
                let documented = example.lines().any(|l| {
                    let l = l.trim_start_matches(['#', ' ']);
                    l.starts_with(&format!("{key} =")) || l.starts_with(&format!("[{key}]"))
                });
                if !documented {
                    missing.push(key);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "not in standin.example.toml: {missing:?}"
        );
    }

    #[test]
    fn the_example_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../standin.example.toml");
        let s = Settings::resolve(&ServeArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.mock_addr.port(), 8080);
    }
}
