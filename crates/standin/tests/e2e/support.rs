//! Starting the binary and talking to it: a blocking HTTP/1.1 client small enough to read,
//! and hyper for HTTP/2.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_standin");
const TIMEOUT: Duration = Duration::from_secs(20);

/// A running `standin serve` on ports the OS picked, killed when dropped.
pub struct Standin {
    child: Child,
    pub mock: SocketAddr,
    pub admin: SocketAddr,
    dir: tempfile::TempDir,
}

impl Standin {
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[], tempfile::tempdir().unwrap())
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)], dir: tempfile::TempDir) -> Self {
        Self::start_via(&[], args, env, dir)
    }

    /// Starts the binary through a wrapper command line (`wrapper` then the binary and its
    /// arguments), e.g. `sh -c 'exec prlimit ... "$0" "$@"'`.
    pub fn start_via(
        wrapper: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
        dir: tempfile::TempDir,
    ) -> Self {
        let data: PathBuf = dir.path().join("data");
        let mut cmd = match wrapper.split_first() {
            None => Command::new(BIN),
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(BIN);
                c
            }
        };
        cmd.args([
            "serve",
            "--mock-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--workers",
            "2",
        ])
        .arg("--data-dir")
        .arg(&data)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the standin binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut mock, mut admin) = (None, None);
        while mock.is_none() || admin.is_none() {
            let line = rx
                .recv_timeout(TIMEOUT)
                .expect("standin announces its listeners");
            let addr = |prefix: &str| {
                line.strip_prefix(prefix)
                    .map(|a| a.parse::<SocketAddr>().unwrap())
            };
            mock = mock.or(addr("standin: mock listener on http://"));
            admin = admin.or(addr("standin: admin API on http://"));
        }
        Standin {
            child,
            mock: mock.unwrap(),
            admin: admin.unwrap(),
            dir,
        }
    }

    /// The data directory this server runs on.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts again on the same data directory.
    pub fn restart(mut old: Standin, args: &[&str]) -> Self {
        let _ = old.child.kill();
        let _ = old.child.wait();
        let dir = std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap());
        Self::start_with_env(args, &[], dir)
    }

    /// Kills the process and hands back its temporary directory (with `data/`).
    pub fn stop(mut old: Standin) -> tempfile::TempDir {
        let _ = old.child.kill();
        let _ = old.child.wait();
        std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap())
    }

    /// The process id, for signals and resource limits.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit; whether it did.
    pub fn terminate(&mut self, within: Duration) -> bool {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().expect("wait").is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    parse(&raw_bytes(addr, &bytes))
}

fn raw_bytes(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Sends raw bytes and returns whatever came back, as text.
pub fn raw(addr: SocketAddr, request: &[u8]) -> String {
    String::from_utf8_lossy(&raw_bytes(addr, request)).into_owned()
}

fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Reads exactly one response (with Content-Length) from a keep-alive connection.
pub fn read_one_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

/// A JSON request to the admin API; returns the status and the parsed body (Null if empty).
pub fn json_call(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    raw_json(addr, method, path, &text)
}

pub fn raw_json(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let r = http(
        addr,
        method,
        path,
        &[
            ("Content-Type", "application/json"),
            ("X-Standin-Actor", "e2e"),
        ],
        body.as_bytes(),
    );
    let value = if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    };
    (r.status, value)
}

/// GET over HTTP/2 with prior knowledge.
pub async fn h2c_get(addr: SocketAddr, path: &str) -> (u16, http::Version, Vec<u8>) {
    use http_body_util::{BodyExt, Empty};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get(format!("http://{addr}{path}"))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let (status, version) = (resp.status().as_u16(), resp.version());
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, version, body)
}

/// Runs the binary to completion and returns its stdout.
pub fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "standin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
