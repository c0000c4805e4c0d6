//! A deliberately small HTTP/1.1 client over a tokio `TcpStream`.
//!
//! The soak test needs to do things a polished client refuses or hides: send a request
//! head one byte at a time, stream a body and stop halfway, read a response while the
//! request body is still being written, and tell a clean close from a reset. So requests
//! are plain bytes built by [`request`], and [`ResponseReader`] reads one response at a
//! time from any `AsyncRead`, framed by Content-Length, chunked encoding, or the end of
//! the connection.

use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response head larger than this is treated as malformed, so a misbehaving server
/// cannot make the tool buffer without end.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A body larger than this is treated as malformed for the same reason; standin's
/// answers in this test are all small.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How much the reader asks the socket for at a time.
const READ_CHUNK: usize = 16 * 1024;

/// One HTTP response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names are lower-cased so lookups need no case folding.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header (the name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server said it will close the connection after this response.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The `error` field of a JSON error body, which is how standin names its own
    /// refusals (`budget_exceeded`, `uploads_full`, ...).
    pub fn error_code(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        value.get("error")?.as_str().map(str::to_string)
    }

    /// A short label for counting outcomes: the status, and standin's error code when
    /// the body carries one.
    pub fn label(&self) -> String {
        match self.error_code() {
            Some(code) => format!("{} {code}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// Why no response was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The connection could not be opened.
    Connect(io::ErrorKind),
    /// The server closed the connection cleanly before sending any byte of a response.
    Closed,
    /// The connection was reset (RST) before a whole response arrived.
    Reset,
    /// Writing the request failed because the server had gone away.
    WriteFailed(io::ErrorKind),
    /// The connection ended in the middle of a response.
    Truncated,
    /// Another I/O error while reading.
    Io(io::ErrorKind),
    /// The bytes were not an HTTP/1.1 response this reader understands.
    Malformed(&'static str),
    /// No whole response arrived within the time the caller allowed.
    Timeout,
}

impl Failure {
    /// A short label for counting outcomes.
    pub fn label(&self) -> String {
        match self {
            Failure::Connect(kind) => format!("connect failed ({kind:?})"),
            Failure::Closed => "closed without response".into(),
            Failure::Reset => "reset without response".into(),
            Failure::WriteFailed(kind) => format!("write failed ({kind:?})"),
            Failure::Truncated => "truncated response".into(),
            Failure::Io(kind) => format!("read error ({kind:?})"),
            Failure::Malformed(why) => format!("malformed response ({why})"),
            Failure::Timeout => "timeout".into(),
        }
    }

    fn from_read(e: &io::Error) -> Failure {
        match e.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Failure::Reset,
            kind => Failure::Io(kind),
        }
    }
}

/// Builds a request head, and the body after it when one is given. `Content-Length` is
/// written for every method that carries a body and when `declared_length` asks for a
/// length other than the body's own (an upload that will stop short of it).
pub fn request(
    method: &str,
    path: &str,
    host: SocketAddr,
    headers: &[(&str, &str)],
    body: &[u8],
    declared_length: Option<usize>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    let length = declared_length.unwrap_or(body.len());
    if length > 0 || matches!(method, "POST" | "PUT" | "PATCH") {
        out.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Reads responses one at a time, keeping bytes that arrived past the end of one
/// response for the next (a keep-alive connection can deliver them together).
#[derive(Debug, Default)]
pub struct ResponseReader {
    buf: Vec<u8>,
}

impl ResponseReader {
    /// Reads one whole response. Interim 1xx responses are skipped, since none of the
    /// requests this tool sends asks for one and a final status is what is counted.
    pub async fn read<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> Result<Response, Failure> {
        loop {
            let response = self.read_one(r).await?;
            if !(100..200).contains(&response.status) || response.status == 101 {
                return Ok(response);
            }
        }
    }

    async fn read_one<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> Result<Response, Failure> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, 0, b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                return Err(Failure::Malformed("head too large"));
            }
            if self.fill(r).await? == 0 {
                return Err(if self.buf.is_empty() {
                    Failure::Closed
                } else {
                    Failure::Truncated
                });
            }
        };
        let (status, headers) = parse_head(&self.buf[..head_end])?;
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = match response.header("content-length") {
            Some(v) => Some(
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| Failure::Malformed("bad content-length"))?,
            ),
            None => None,
        };
        // A response to HEAD, and 204 and 304, have no body whatever they declare; this
        // tool sends no HEAD, so only the statuses need checking.
        let bodiless = status == 204 || status == 304 || (100..200).contains(&status);
        let consumed = if bodiless {
            head_end
        } else if chunked {
            self.read_chunked(r, head_end, &mut response.body).await?
        } else if let Some(n) = length {
            if n > MAX_BODY_BYTES {
                return Err(Failure::Malformed("body too large"));
            }
            self.need(r, head_end + n).await?;
            response
                .body
                .extend_from_slice(&self.buf[head_end..head_end + n]);
            head_end + n
        } else {
            // No framing: the body runs to the end of the connection.
            while self.fill(r).await? > 0 {
                if self.buf.len() - head_end > MAX_BODY_BYTES {
                    return Err(Failure::Malformed("body too large"));
                }
            }
            response.body.extend_from_slice(&self.buf[head_end..]);
            self.buf.len()
        };
        self.buf.drain(..consumed);
        Ok(response)
    }

    /// Decodes a chunked body that starts at `at`; returns where the message ends.
    async fn read_chunked<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        mut at: usize,
        body: &mut Vec<u8>,
    ) -> Result<usize, Failure> {
        loop {
            let line_end = self.find_line(r, at).await?;
            let line = std::str::from_utf8(&self.buf[at..line_end])
                .map_err(|_| Failure::Malformed("bad chunk size"))?;
            // Chunk extensions (`;name=value`) carry nothing this tool needs.
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| Failure::Malformed("bad chunk size"))?;
            at = line_end + 2;
            if size == 0 {
                // Trailer fields, if any, end with an empty line.
                loop {
                    let end = self.find_line(r, at).await?;
                    let empty = end == at;
                    at = end + 2;
                    if empty {
                        return Ok(at);
                    }
                }
            }
            if body.len() + size > MAX_BODY_BYTES {
                return Err(Failure::Malformed("body too large"));
            }
            self.need(r, at + size + 2).await?;
            body.extend_from_slice(&self.buf[at..at + size]);
            if &self.buf[at + size..at + size + 2] != b"\r\n" {
                return Err(Failure::Malformed("chunk not followed by CRLF"));
            }
            at += size + 2;
        }
    }

    /// The index of the CRLF that ends the line starting at `from`, reading as needed.
    async fn find_line<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        from: usize,
    ) -> Result<usize, Failure> {
        loop {
            if let Some(i) = find(&self.buf, from, b"\r\n") {
                return Ok(i);
            }
            if self.buf.len() - from > MAX_HEAD_BYTES {
                return Err(Failure::Malformed("line too long"));
            }
            if self.fill(r).await? == 0 {
                return Err(Failure::Truncated);
            }
        }
    }

    /// Reads until at least `len` bytes are buffered.
    async fn need<R: AsyncRead + Unpin>(&mut self, r: &mut R, len: usize) -> Result<(), Failure> {
        while self.buf.len() < len {
            if self.fill(r).await? == 0 {
                return Err(Failure::Truncated);
            }
        }
        Ok(())
    }

    /// One read from the socket, appended to the buffer; 0 means the peer closed.
    async fn fill<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> Result<usize, Failure> {
        self.buf.reserve(READ_CHUNK);
        r.read_buf(&mut self.buf)
            .await
            .map_err(|e| Failure::from_read(&e))
    }
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn parse_head(head: &[u8]) -> Result<(u16, Vec<(String, String)>), Failure> {
    let text = std::str::from_utf8(head).map_err(|_| Failure::Malformed("head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(Failure::Malformed("not an HTTP/1.x status line"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(Failure::Malformed("bad status code"))?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or(Failure::Malformed("header line without a colon"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok((status, headers))
}

/// A keep-alive connection that sends whole requests and reads whole responses.
pub struct Conn {
    stream: TcpStream,
    reader: ResponseReader,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn, Failure> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| Failure::Connect(e.kind()))?;
        // Requests are written in one piece; Nagle's delay would only add latency.
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            reader: ResponseReader::default(),
        })
    }

    /// Writes `request` and reads the response to it.
    pub async fn exchange(&mut self, request: &[u8]) -> Result<Response, Failure> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| Failure::WriteFailed(e.kind()))?;
        self.reader.read(&mut self.stream).await
    }
}

/// One request on a connection of its own, closed afterwards: what the admin calls use.
pub async fn once(addr: SocketAddr, request: &[u8]) -> Result<Response, Failure> {
    let mut conn = Conn::connect(addr).await?;
    conn.exchange(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse_all(bytes: &[u8]) -> Vec<Result<Response, Failure>> {
        let mut reader = ResponseReader::default();
        let mut src = bytes;
        let mut out = Vec::new();
        loop {
            let r = reader.read(&mut src).await;
            let done = matches!(r, Err(Failure::Closed));
            out.push(r);
            if done || out.len() > 10 {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn content_length_and_keep_alive_responses_are_split_correctly() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        let out = parse_all(wire).await;
        let first = out[0].as_ref().unwrap();
        assert_eq!((first.status, first.body.as_slice()), (200, &b"abc"[..]));
        assert_eq!(out[1].as_ref().unwrap().status, 404);
        assert!(matches!(out[2], Err(Failure::Closed)));
    }

    #[tokio::test]
    async fn chunked_bodies_with_extensions_and_trailers_are_decoded() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        let out = parse_all(wire).await;
        assert_eq!(out[0].as_ref().unwrap().body, b"hello world");
        assert!(matches!(out[1], Err(Failure::Closed)));
    }

    #[tokio::test]
    async fn interim_responses_are_skipped_and_errors_are_labelled() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Internal Server Error\r\ncontent-length: 29\r\n\r\n{\"error\":\"budget_exceeded\"}  ";
        let out = parse_all(wire).await;
        assert_eq!(out[0].as_ref().unwrap().label(), "500 budget_exceeded");
    }

    #[tokio::test]
    async fn a_response_cut_short_is_truncated_and_a_body_to_eof_is_read() {
        let cut = parse_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc").await;
        assert_eq!(cut[0].as_ref().unwrap_err(), &Failure::Truncated);
        let eof = parse_all(b"HTTP/1.1 200 OK\r\n\r\nto the end").await;
        assert_eq!(eof[0].as_ref().unwrap().body, b"to the end");
    }

    #[test]
    fn requests_declare_their_length() {
        let host: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let r = request("POST", "/u", host, &[("X-A", "1")], b"", Some(8));
        assert_eq!(
            r,
            b"POST /u HTTP/1.1\r\nHost: 127.0.0.1:80\r\nX-A: 1\r\nContent-Length: 8\r\n\r\n"
        );
        let g = request("GET", "/", host, &[], b"", None);
        assert_eq!(g, b"GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n");
    }
}
