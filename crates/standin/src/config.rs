//! Configuration: defaults, then the `--config` file, then `STANDIN_*` environment
//! variables, then flags. `standin.example.toml` at the repository root documents every key.

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
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
    /// Address of the mock listener (HTTP/1.1 and h2c). Default: 127.0.0.1:8080
    #[arg(long, env = "STANDIN_MOCK_ADDR", value_name = "ADDR")]
    pub mock_addr: Option<SocketAddr>,
    /// Address of the management API. Default: 127.0.0.1:9090
    #[arg(long, env = "STANDIN_ADMIN_ADDR", value_name = "ADDR")]
    pub admin_addr: Option<SocketAddr>,
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
}

/// The configuration file's shape. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    data_dir: Option<PathBuf>,
    mock_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    demo: Option<bool>,
    workers: Option<usize>,
    log: Option<String>,
    mockserver_init: Option<PathBuf>,
    mockserver_api: Option<bool>,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    journal: FileJournal,
    #[serde(default)]
    forward: FileForward,
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
    max_header_bytes: Option<usize>,
    header_read_timeout_ms: Option<u64>,
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
    pub mock_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub demo: bool,
    pub workers: usize,
    pub log: String,
    /// Answer MockServer's REST API on the mock listener.
    pub mockserver_api: bool,
    pub mockserver_init: Option<PathBuf>,
    pub server: standin_server::ServerConfig,
    pub journal: standin_journal::JournalConfig,
}

impl Settings {
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let mut server = standin_server::ServerConfig::default();
        if let Some(v) = file.limits.max_body_bytes {
            server.max_body_bytes = v;
        }
        if let Some(v) = file.limits.max_header_bytes {
            server.max_header_bytes = v;
        }
        if let Some(v) = file.limits.header_read_timeout_ms {
            server.header_read_timeout = Duration::from_millis(v);
        }
        if let Some(v) = file.limits.host_routing {
            server.host_routing = v;
        }
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
        let mut journal = standin_journal::JournalConfig::default();
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
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let settings = Settings {
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("standin-data")),
            mock_addr: args
                .mock_addr
                .or(file.mock_addr)
                .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid")),
            admin_addr: args
                .admin_addr
                .or(file.admin_addr)
                .unwrap_or_else(|| "127.0.0.1:9090".parse().expect("valid")),
            demo: args.demo || file.demo.unwrap_or(false),
            workers: args.workers.or(file.workers).unwrap_or(cpus),
            log: args
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| "info".into()),
            mockserver_api: file.mockserver_api.unwrap_or(true),
            mockserver_init: args.mockserver_init.clone().or(file.mockserver_init),
            server,
            journal,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.mockserver_init.is_some() && !self.mockserver_api {
            bail!("mockserver-init needs mockserver-api = true");
        }
        if self.workers == 0 {
            bail!("workers must be at least 1");
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
