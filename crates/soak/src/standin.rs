//! The standin process under test: its configuration, starting it (pinned to CPU 0 when
//! `taskset` is available), reading its memory from `/proc`, and stopping it with
//! SIGTERM.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The limits the soak runs standin with. The configuration file is generated from
/// these values, and the memory bound is computed from the same values, so the two
/// cannot drift apart.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: u64,
    pub max_inflight_body_bytes: u64,
    pub max_connections: u64,
    pub header_read_timeout_ms: u64,
    pub body_read_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub evaluation_timeout_ms: u64,
    pub journal_capacity_per_service: u64,
    pub journal_max_body_bytes: u64,
    /// Not set in the file: standin's default `limits.max-header-bytes`, which is also
    /// how far hyper lets a connection's read buffer grow.
    pub max_header_bytes: u64,
    /// Not set in the file: standin's default `limits.evaluation-queue`.
    pub evaluation_queue: u64,
}

pub const LIMITS: Limits = Limits {
    max_body_bytes: 8_388_608,
    max_inflight_body_bytes: 67_108_864,
    max_connections: 4000,
    header_read_timeout_ms: 5000,
    body_read_timeout_ms: 5000,
    idle_timeout_ms: 10_000,
    evaluation_timeout_ms: 1000,
    journal_capacity_per_service: 1000,
    journal_max_body_bytes: 65_536,
    max_header_bytes: 64 * 1024,
    evaluation_queue: 64,
};

impl Limits {
    /// The configuration file standin is started with.
    pub fn toml(&self) -> String {
        format!(
            "[limits]\n\
             max-body-bytes = {}\n\
             max-inflight-body-bytes = {}\n\
             max-connections = {}\n\
             header-read-timeout-ms = {}\n\
             body-read-timeout-ms = {}\n\
             idle-timeout-ms = {}\n\
             evaluation-timeout-ms = {}\n\
             [journal]\n\
             capacity-per-service = {}\n\
             max-body-bytes = {}\n",
            self.max_body_bytes,
            self.max_inflight_body_bytes,
            self.max_connections,
            self.header_read_timeout_ms,
            self.body_read_timeout_ms,
            self.idle_timeout_ms,
            self.evaluation_timeout_ms,
            self.journal_capacity_per_service,
            self.journal_max_body_bytes,
        )
    }
}

/// A running standin.
pub struct Standin {
    child: Child,
    pub pid: u32,
    pub mock: SocketAddr,
    pub admin: SocketAddr,
    /// The temporary directory holding the configuration, the store and the log.
    pub dir: PathBuf,
    pub stderr_path: PathBuf,
    /// The command line it was started with, for the report.
    pub command: String,
}

/// How standin reacted to SIGTERM.
#[derive(Debug, Clone)]
pub struct Stopped {
    pub signal_sent: bool,
    /// Whether it exited within the grace period of its own accord.
    pub exited_in_time: bool,
    pub after_ms: u128,
    /// Its exit status as the OS reported it (`exit status: 0`, `signal: 9`, ...).
    pub status: String,
}

/// Whether `taskset` can be run here.
pub fn taskset_available() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Standin {
    /// Writes the configuration into a fresh temporary directory, starts standin, and
    /// waits for it to announce both listeners.
    pub fn start(binary: &Path, pin_cpu: Option<u32>) -> Result<Standin, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("standin-soak-{}-{nanos}", std::process::id()));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let config = dir.join("standin.toml");
        std::fs::write(&config, LIMITS.toml())
            .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let stderr_path = dir.join("standin.stderr");
        let stderr = std::fs::File::create(&stderr_path)
            .map_err(|e| format!("creating {}: {e}", stderr_path.display()))?;

        let serve_args: Vec<String> = vec![
            "serve".into(),
            "--data-dir".into(),
            data.display().to_string(),
            "--mock-addr".into(),
            "127.0.0.1:0".into(),
            "--admin-addr".into(),
            "127.0.0.1:0".into(),
            "--log".into(),
            "warn".into(),
            "--workers".into(),
            "1".into(),
            "--config".into(),
            config.display().to_string(),
        ];
        // taskset execs standin in place, so the child's pid is standin's own and
        // /proc/PID and kill reach standin, not a wrapper.
        let mut argv: Vec<String> = Vec::new();
        if let Some(cpu) = pin_cpu {
            argv.extend(["taskset".into(), "-c".into(), cpu.to_string()]);
        }
        argv.push(binary.display().to_string());
        argv.extend(serve_args);
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", argv[0]))?;
        let pid = child.id();

        // standin prints only its two announcements; a thread forwards them and then keeps
        // draining the pipe so that a later line can never block standin on a full pipe.
        let stdout = child
            .stdout
            .take()
            .ok_or("standin's stdout was not captured")?;
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });

        let mut mock = None;
        let mut admin = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        while mock.is_none() || admin.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "standin did not announce both listeners within 30 s; its stderr:\n{}",
                        std::fs::read_to_string(&stderr_path).unwrap_or_default()
                    ));
                }
            };
            if let Some(a) = announced(&line, "standin: mock listener on http://") {
                mock = Some(a);
            } else if let Some(a) = announced(&line, "standin: admin API on http://") {
                admin = Some(a);
            }
        }
        Ok(Standin {
            child,
            pid,
            mock: mock.ok_or("no mock address")?,
            admin: admin.ok_or("no admin address")?,
            dir,
            stderr_path,
            command: argv.join(" "),
        })
    }

    /// Whether the process has exited (without reaping it for good: the status is kept).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// Sends SIGTERM through `kill` (the tool has no libc binding by choice) and waits up
    /// to `grace` for standin to exit. If it does not, it is killed, so no process is
    /// left behind, and the report says so.
    pub fn stop(&mut self, grace: Duration) -> Stopped {
        if let Some(status) = self.exited() {
            return Stopped {
                signal_sent: false,
                exited_in_time: false,
                after_ms: 0,
                status: format!("had already exited: {status}"),
            };
        }
        let started = Instant::now();
        let signal_sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = started + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Stopped {
                    signal_sent,
                    exited_in_time: true,
                    after_ms: started.elapsed().as_millis(),
                    status: status.to_string(),
                };
            }
            // Called from spawn_blocking: this thread is the tool's own, not a runtime
            // worker's.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let status = self
            .child
            .wait()
            .map_or_else(|e| e.to_string(), |s| s.to_string());
        Stopped {
            signal_sent,
            exited_in_time: false,
            after_ms: started.elapsed().as_millis(),
            status: format!("killed after {grace:?} without exiting: {status}"),
        }
    }
}

impl Drop for Standin {
    /// A tool that fails halfway must not leave a standin running.
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn announced(line: &str, prefix: &str) -> Option<SocketAddr> {
    line.trim().strip_prefix(prefix)?.trim().parse().ok()
}

/// What the soak reads from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStatus {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    /// A zombie (`Z`) has exited but has not been reaped yet.
    pub zombie: bool,
}

pub fn proc_status(pid: u32) -> Option<ProcStatus> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut s = ProcStatus::default();
    for line in text.lines() {
        let kib = || {
            line.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        if line.starts_with("VmRSS:") {
            s.rss_kib = kib();
        } else if line.starts_with("VmHWM:") {
            s.hwm_kib = kib();
        } else if let Some(state) = line.strip_prefix("State:") {
            s.zombie = state.trim_start().starts_with('Z');
        }
    }
    Some(s)
}

/// The CPUs a process may run on, as `/proc/PID/status` lists them.
pub fn cpus_allowed(pid: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
}

/// CPU time used so far, in clock ticks, by a process and by each of its threads
/// (summed by thread name, since tokio names all its workers alike).
#[derive(Debug, Clone, Default)]
pub struct CpuTicks {
    pub process: u64,
    pub threads: BTreeMap<String, u64>,
}

/// Reads `/proc/PID/stat` and `/proc/PID/task/*/stat` (`pid` may be `self`).
pub fn cpu_ticks(pid: &str) -> CpuTicks {
    let mut ticks = CpuTicks {
        process: std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| stat_ticks(&s))
            .map_or(0, |(_, t)| t),
        threads: BTreeMap::new(),
    };
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let Ok(text) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            if let Some((name, t)) = stat_ticks(&text) {
                *ticks.threads.entry(name).or_default() += t;
            }
        }
    }
    ticks
}

/// The name and user + system time from a `stat` line. The name is in parentheses and
/// may itself contain spaces or parentheses, so the fields are counted from the last `)`.
fn stat_ticks(text: &str) -> Option<(String, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// Clock ticks per second for the times in `/proc/*/stat`. Asked of `getconf`, as the tool
/// has no libc binding; Linux uses 100 practically everywhere, the fallback.
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(100)
}

/// What standin wrote to stderr (`--log warn`: warnings, errors, panics).
#[derive(Debug, Clone, Default)]
pub struct StderrSummary {
    pub lines: usize,
    pub warnings: usize,
    pub errors: usize,
    /// The first lines, so the report shows what kind of messages they were.
    pub head: Vec<String>,
}

pub fn summarize_stderr(path: &Path, keep: usize) -> StderrSummary {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut s = StderrSummary::default();
    for line in text.lines() {
        s.lines += 1;
        if line.contains(" WARN ") {
            s.warnings += 1;
        }
        if line.contains(" ERROR ") || line.contains("panicked") {
            s.errors += 1;
        }
        if s.head.len() < keep {
            s.head.push(line.to_string());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_parsed() {
        assert_eq!(
            announced(
                "standin: mock listener on http://127.0.0.1:4321",
                "standin: mock listener on http://"
            ),
            Some("127.0.0.1:4321".parse().unwrap())
        );
        assert_eq!(
            announced("standin: try: curl", "standin: admin API on http://"),
            None
        );
    }

    #[test]
    fn stat_lines_give_the_name_and_cpu_time() {
        let line = "42 (standin-eval-0) S 1 42 42 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 1 0 1 1 1";
        assert_eq!(stat_ticks(line), Some(("standin-eval-0".into(), 280)));
        let odd = "7 (a) b) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1";
        assert_eq!(stat_ticks(odd), Some(("a) b".into(), 11)));
    }

    #[test]
    fn the_configuration_has_the_documented_keys() {
        let toml = LIMITS.toml();
        assert!(toml.contains("max-inflight-body-bytes = 67108864\n"));
        assert!(toml.contains("[journal]\ncapacity-per-service = 1000\nmax-body-bytes = 65536\n"));
    }
}
