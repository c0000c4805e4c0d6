//! The server side of the WebSocket protocol (RFC 6455), as much of it as MockServer's
//! callback clients use: the opening handshake's accept key, text messages (possibly
//! fragmented) in both directions, ping answered with pong, and close. Frames from the
//! client must be masked; a message larger than the limit closes the connection.

use base64::Engine as _;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
///
/// ```
/// // The example of RFC 6455, section 1.3.
/// assert_eq!(
///     standin_server::ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(key.trim().as_bytes());
    ctx.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(ctx.finish().as_ref())
}

/// The byte stream of an upgraded connection.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

type Io = Box<dyn Stream>;

/// Splits an upgraded connection into a reader of text messages and a writer, which may
/// be cloned and used from several tasks.
pub fn split(io: Io, max_message: usize) -> (Reader, Writer) {
    let (r, w) = tokio::io::split(io);
    let writer = Writer(Arc::new(tokio::sync::Mutex::new(w)));
    (
        Reader {
            r,
            writer: writer.clone(),
            max_message,
        },
        writer,
    )
}

/// Sends frames; clones share the connection.
#[derive(Clone)]
pub struct Writer(Arc<tokio::sync::Mutex<WriteHalf<Io>>>);

impl Writer {
    /// Sends one text message in one frame.
    pub async fn text(&self, message: &str) -> std::io::Result<()> {
        self.frame(0x1, message.as_bytes()).await
    }

    /// Sends a close frame.
    pub async fn close(&self) -> std::io::Result<()> {
        self.frame(0x8, &[]).await
    }

    async fn frame(&self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut head = Vec::with_capacity(10);
        head.push(0x80 | opcode);
        match payload.len() {
            n if n < 126 => head.push(n as u8),
            n if n <= u16::MAX as usize => {
                head.push(126);
                head.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                head.push(127);
                head.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mut w = self.0.lock().await;
        w.write_all(&head).await?;
        w.write_all(payload).await?;
        w.flush().await
    }
}

/// Reads text messages.
pub struct Reader {
    r: ReadHalf<Io>,
    writer: Writer,
    max_message: usize,
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

impl Reader {
    /// The next text message; `None` when the client closed the connection. Pings are
    /// answered, pongs ignored; a binary message is an error, as is an unmasked frame or
    /// a message over the limit.
    pub async fn next_text(&mut self) -> std::io::Result<Option<String>> {
        let mut message: Vec<u8> = Vec::new();
        let mut in_message = false;
        loop {
            let mut head = [0u8; 2];
            match self.r.read_exact(&mut head).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
            let fin = head[0] & 0x80 != 0;
            let opcode = head[0] & 0x0f;
            if head[1] & 0x80 == 0 {
                return Err(invalid("a client frame must be masked"));
            }
            let len = match head[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.r.read_exact(&mut b).await?;
                    u16::from_be_bytes(b) as u64
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.r.read_exact(&mut b).await?;
                    u64::from_be_bytes(b)
                }
                n => n as u64,
            };
            if opcode & 0x8 != 0 && (len > 125 || !fin) {
                return Err(invalid("a control frame must be short and whole"));
            }
            // A control frame (at most 125 bytes) may come between a message's fragments
            // and does not count against the message.
            let data = opcode & 0x8 == 0;
            if head[0] & 0x70 != 0 {
                return Err(invalid(
                    "reserved bits are set, and no extension was agreed",
                ));
            }
            if data && len as usize > self.max_message.saturating_sub(message.len()) {
                let _ = self.writer.close().await;
                return Err(invalid("a message is larger than the limit"));
            }
            let mut mask = [0u8; 4];
            self.r.read_exact(&mut mask).await?;
            let mut payload = vec![0u8; len as usize];
            self.r.read_exact(&mut payload).await?;
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
            match opcode {
                0x8 => {
                    let _ = self.writer.close().await;
                    return Ok(None);
                }
                0x9 => self.writer.frame(0xA, &payload).await?,
                0xA => {}
                0x1 if !in_message => {
                    message = payload;
                    in_message = true;
                }
                0x0 if in_message => message.extend_from_slice(&payload),
                0x2 => return Err(invalid("binary messages are not part of the protocol")),
                _ => return Err(invalid("a frame out of order")),
            }
            // A control frame may come between a message's fragments; only a data frame
            // with FIN ends the message.
            if in_message && fin && opcode & 0x8 == 0 {
                return String::from_utf8(message)
                    .map(Some)
                    .map_err(|_| invalid("a text message that is not UTF-8"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut f = vec![(if fin { 0x80 } else { 0 }) | opcode];
        if payload.len() < 126 {
            f.push(0x80 | payload.len() as u8);
        } else {
            f.push(0x80 | 126);
            f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    }

    #[tokio::test]
    async fn reads_fragmented_text_answers_ping_and_ends_at_close() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (mut reader, writer) = split(Box::new(server), 1 << 20);
        let (mut cr, mut cw) = tokio::io::split(client);
        let mut bytes = masked(0x1, false, b"hel");
        bytes.extend(masked(0x9, true, b"p"));
        bytes.extend(masked(0x0, true, "lo \u{1F600}".as_bytes()));
        bytes.extend(masked(0x1, true, &vec![b'x'; 300]));
        bytes.extend(masked(0x8, true, b""));
        cw.write_all(&bytes).await.unwrap();
        assert_eq!(
            reader.next_text().await.unwrap().unwrap(),
            "hello \u{1F600}"
        );
        assert_eq!(reader.next_text().await.unwrap().unwrap().len(), 300);
        assert_eq!(reader.next_text().await.unwrap(), None);
        writer.text("ok").await.unwrap();
        // Pong (with the ping's payload), close, then the text frame.
        let mut got = vec![0u8; 3 + 2 + 4];
        cr.read_exact(&mut got).await.unwrap();
        assert_eq!(got, [0x8A, 1, b'p', 0x88, 0, 0x81, 2, b'o', b'k']);
    }

    #[tokio::test]
    async fn refuses_unmasked_and_oversized_frames() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (mut reader, _w) = split(Box::new(server), 10);
        let (_cr, mut cw) = tokio::io::split(client);
        cw.write_all(&masked(0x1, true, b"this is too long"))
            .await
            .unwrap();
        assert!(reader.next_text().await.is_err());
        let (client, server) = tokio::io::duplex(1 << 16);
        let (mut reader, _w) = split(Box::new(server), 10);
        let (_cr, mut cw) = tokio::io::split(client);
        cw.write_all(&[0x81, 2, b'h', b'i']).await.unwrap();
        assert!(reader.next_text().await.is_err());
    }
}
