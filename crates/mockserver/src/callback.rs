//! MockServer's object callbacks: a client (the official clients' `mockWithCallback`)
//! connects to `/_mockserver_callback_websocket` on the mock port, gets an id, and creates
//! expectations whose action is `httpResponseObjectCallback` or
//! `httpForwardObjectCallback` with that id. Each request they match goes to the client as
//! an `HttpRequest` message carrying a `WebSocketCorrelationId` header; the client answers
//! with an `HttpResponse` (sent as the response) or an `HttpRequest` (forwarded; with
//! `responseCallback` the upstream's answer goes back to the client as an
//! `HttpRequestAndHttpResponse`, and its `HttpResponse` is sent), or a
//! `WebSocketErrorDTO` (404 with its message). Every message is
//! `{"type": <MockServer's class name>, "value": <the JSON as a string>}`.
//!
//! The registry is the data plane's: the control plane never holds its lock, and the lock
//! is held only to look up or change an entry.

use bytes::Bytes;
use http::{Response, StatusCode};
use parking_lot::Mutex;
use serde_json::{Value, json};
use standin_model::ClientCallback;
use standin_server::{CallbackAnswer, CallbackRequest, CallbackResponse, MockBody, ws};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The path a callback client connects to.
pub const CALLBACK_PATH: &str = "/_mockserver_callback_websocket";

/// The header that pairs a client's answer with the request it answers.
const CORRELATION: &str = "WebSocketCorrelationId";

const T_REQUEST: &str = "org.mockserver.model.HttpRequest";
const T_RESPONSE: &str = "org.mockserver.model.HttpResponse";
const T_BOTH: &str = "org.mockserver.model.HttpRequestAndHttpResponse";
const T_CLIENT_ID: &str = "org.mockserver.serialization.model.WebSocketClientIdDTO";
const T_ERROR: &str = "org.mockserver.serialization.model.WebSocketErrorDTO";

/// How long a request waits for its client's answer (MockServer waits for ever).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A client's answer to one request.
enum Reply {
    Response(Value),
    Request(Value),
    Error(String),
}

struct Pending {
    client: String,
    reply: oneshot::Sender<Reply>,
}

/// At most this many callback clients are connected at once (MockServer keeps 1,500). An
/// upgraded socket no longer counts against the mock port's connection cap, so this
/// bounds what a client that opens socket after socket can hold.
const MAX_CLIENTS: usize = 1024;

/// Removes a waiting request's entry when its wait ends, however it ends.
struct Waiting<'a> {
    pending: &'a Mutex<HashMap<String, Pending>>,
    correlation: &'a str,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.pending.lock().remove(self.correlation);
    }
}

/// The connected clients and the requests waiting for them.
pub(crate) struct Callbacks {
    clients: Mutex<HashMap<String, ws::Writer>>,
    pending: Mutex<HashMap<String, Pending>>,
    max_clients: usize,
}

impl Default for Callbacks {
    fn default() -> Self {
        Callbacks {
            clients: Mutex::default(),
            pending: Mutex::default(),
            max_clients: MAX_CLIENTS,
        }
    }
}

fn envelope(kind: &str, value: &Value) -> String {
    json!({"type": kind, "value": value.to_string()}).to_string()
}

fn empty(status: StatusCode) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::new()));
    *r.status_mut() = status;
    r
}

fn text(status: StatusCode, body: String) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

impl Callbacks {
    /// Serves one client: registers it, tells it its id, then routes its answers to the
    /// requests waiting for them until it leaves; requests still waiting then fail.
    pub(crate) async fn serve(
        self: Arc<Self>,
        id: String,
        mut reader: ws::Reader,
        writer: ws::Writer,
    ) {
        let full = {
            let mut clients = self.clients.lock();
            // An id already connected is refused too: the new socket would take the old
            // one's requests, and the old one's leaving would end the new one's.
            let refused = clients.len() >= self.max_clients || clients.contains_key(&id);
            if !refused {
                clients.insert(id.clone(), writer.clone());
            }
            refused
        };
        if full {
            tracing::warn!(
                client = %id,
                max = self.max_clients,
                "a callback client was turned away: its id is connected already, or too many are"
            );
            let _ = writer.close().await;
            return;
        }
        // Registered before the client learns its id, so its first expectation finds it.
        let hello = envelope(T_CLIENT_ID, &json!({"clientId": id}));
        if writer.text(&hello).await.is_ok() {
            loop {
                match reader.next_text().await {
                    Ok(Some(message)) => {
                        if let Err(e) = self.route(&message) {
                            tracing::info!(client = %id, error = %e, "a callback client sent a message standin cannot read; closing it");
                            let _ = writer.close().await;
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(client = %id, error = %e, "a callback client's connection failed");
                        break;
                    }
                }
            }
        }
        self.clients.lock().remove(&id);
        // Dropping the senders fails the requests this client will never answer.
        self.pending.lock().retain(|_, p| p.client != id);
    }

    /// Hands a client's message to the request it answers.
    fn route(&self, message: &str) -> Result<(), String> {
        let env: Value = serde_json::from_str(message).map_err(|e| format!("not JSON: {e}"))?;
        let kind = env.get("type").and_then(Value::as_str).ok_or("no type")?;
        let value = env.get("value").and_then(Value::as_str).ok_or("no value")?;
        let mut value: Value = standin_eval::lenient::parse(value)
            .map_err(|e| format!("the value is not JSON: {e}"))?;
        let (correlation, reply) = match kind {
            T_RESPONSE | T_REQUEST => {
                let Some(c) = take_header(&mut value, CORRELATION) else {
                    return Ok(());
                };
                let reply = if kind == T_RESPONSE {
                    Reply::Response(value)
                } else {
                    Reply::Request(value)
                };
                (c, reply)
            }
            T_ERROR => {
                let c = value
                    .get("webSocketCorrelationId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let m = value
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (c, Reply::Error(m))
            }
            T_CLIENT_ID => return Ok(()),
            other => return Err(format!("unknown message type {other}")),
        };
        let waiting = self.pending.lock().remove(&correlation);
        if let Some(p) = waiting {
            let _ = p.reply.send(reply);
        }
        Ok(())
    }

    /// Sends `message` to the client and waits for the answer correlated by `correlation`.
    async fn exchange(&self, client: &str, correlation: &str, message: String) -> Option<Reply> {
        let writer = self.clients.lock().get(client).cloned()?;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(
            correlation.to_string(),
            Pending {
                client: client.to_string(),
                reply: tx,
            },
        );
        // Removed however this ends, the caller's going away included.
        let _waiting = Waiting {
            pending: &self.pending,
            correlation,
        };
        // Sending counts against the same limit: a client that reads nothing would
        // otherwise hold the request once its socket's buffers are full.
        tokio::time::timeout(ANSWER_TIMEOUT, async {
            writer.text(&message).await.ok()?;
            rx.await.ok()
        })
        .await
        .ok()
        .flatten()
    }

    /// The route's client answers `req`.
    pub(crate) async fn ask(&self, cb: &ClientCallback, req: CallbackRequest) -> CallbackAnswer {
        let correlation = uuid::Uuid::new_v4().to_string();
        let mut doc = crate::render::request_json(
            req.method.as_str(),
            req.uri.path(),
            req.uri.query(),
            &req.headers,
            &req.body,
        );
        add_header(&mut doc, CORRELATION, &correlation);
        let unknown = if cb.forward {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::NOT_FOUND
        };
        if !self.connected(&cb.client_id) {
            return CallbackAnswer::Respond(empty(unknown));
        }
        match self
            .exchange(&cb.client_id, &correlation, envelope(T_REQUEST, &doc))
            .await
        {
            None => {
                CallbackAnswer::Respond(text(StatusCode::GATEWAY_TIMEOUT, no_answer(&cb.client_id)))
            }
            Some(Reply::Error(m)) => CallbackAnswer::Respond(text(StatusCode::NOT_FOUND, m)),
            Some(Reply::Response(v)) => CallbackAnswer::Respond(response_from(&v).await),
            Some(Reply::Request(v)) => match forward_request(&v) {
                Ok(request) => CallbackAnswer::Forward {
                    request,
                    correlation: cb.response_callback.then_some(correlation),
                },
                Err(e) => {
                    tracing::info!(client = %cb.client_id, error = %e, "a callback client's request cannot be forwarded");
                    CallbackAnswer::Respond(empty(StatusCode::BAD_GATEWAY))
                }
            },
        }
    }

    /// After the forward: the client sees the request and the upstream's answer, and
    /// answers with the response to send.
    pub(crate) async fn after_forward(
        &self,
        cb: &ClientCallback,
        correlation: String,
        forwarded: CallbackRequest,
        upstream: CallbackResponse,
    ) -> Response<MockBody> {
        let mut request = crate::render::request_json(
            forwarded.method.as_str(),
            forwarded.uri.path(),
            forwarded.uri.query(),
            &forwarded.headers,
            &forwarded.body,
        );
        add_header(&mut request, CORRELATION, &correlation);
        let mut headers = serde_json::Map::new();
        for (name, value) in &upstream.headers {
            let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                Some(Value::Array(list)) => list.push(json!(v)),
                _ => {
                    headers.insert(name.to_string(), json!([v]));
                }
            }
        }
        let mut response = json!({
            "statusCode": upstream.status.as_u16(),
            "reasonPhrase": upstream.status.canonical_reason().unwrap_or(""),
            "headers": headers,
        });
        if !upstream.body.is_empty() {
            response["body"] = json!(String::from_utf8_lossy(&upstream.body));
        }
        let doc = json!({"httpRequest": request, "httpResponse": response});
        match self
            .exchange(&cb.client_id, &correlation, envelope(T_BOTH, &doc))
            .await
        {
            Some(Reply::Response(v)) => response_from(&v).await,
            Some(Reply::Error(m)) => text(StatusCode::NOT_FOUND, m),
            Some(Reply::Request(_)) => empty(StatusCode::BAD_GATEWAY),
            None => text(StatusCode::GATEWAY_TIMEOUT, no_answer(&cb.client_id)),
        }
    }

    fn connected(&self, client: &str) -> bool {
        self.clients.lock().contains_key(client)
    }
}

fn no_answer(client: &str) -> String {
    format!(
        "the callback client {client} left, or did not answer within {}s",
        ANSWER_TIMEOUT.as_secs()
    )
}

/// A client's `HttpResponse` as the response, after its delay.
async fn response_from(v: &Value) -> Response<MockBody> {
    match standin_template::response_document(v) {
        Ok(r) => {
            if r.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(r.delay_ms)).await;
            }
            standin_server::document_response(r)
        }
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the callback client answered with something that is not a response: {e}"),
        ),
    }
}

/// Removes the header `name` (any case; map or list form) and returns its first value.
fn take_header(doc: &mut Value, name: &str) -> Option<String> {
    let first = |v: &Value| match v {
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    match doc.get_mut("headers")? {
        Value::Object(o) => {
            let key = o.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone();
            o.remove(&key).as_ref().and_then(first)
        }
        Value::Array(list) => {
            let i = list.iter().position(|h| {
                h.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })?;
            let h = list.remove(i);
            h.get("values").or_else(|| h.get("value")).and_then(first)
        }
        _ => None,
    }
}

fn add_header(doc: &mut Value, name: &str, value: &str) {
    if let Some(obj) = doc.as_object_mut() {
        let headers = obj.entry("headers").or_insert_with(|| json!({}));
        if let Some(h) = headers.as_object_mut() {
            h.insert(name.to_string(), json!([value]));
        }
    }
}

/// The request a client asked to forward (MockServer's `HttpRequest` JSON).
fn forward_request(v: &Value) -> Result<CallbackRequest, String> {
    standin_template::request_document(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clients_beyond_the_cap_are_closed_at_once() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let callbacks = Arc::new(Callbacks {
            max_clients: 1,
            ..Callbacks::default()
        });
        let connect = |id: &str| {
            let (client, server) = tokio::io::duplex(1 << 16);
            let (r, w) = ws::split(Box::new(server), 1 << 20);
            (client, callbacks.clone().serve(id.to_string(), r, w))
        };
        let (mut first, serving) = connect("a");
        let first_task = tokio::spawn(serving);
        let mut hello = [0u8; 2];
        first.read_exact(&mut hello).await.unwrap();
        assert_eq!(hello[0], 0x81, "the first client gets its id");
        let (mut second, serving) = connect("b");
        tokio::time::timeout(Duration::from_secs(5), serving)
            .await
            .expect("the second client is turned away at once");
        let mut close = [0u8; 2];
        second.read_exact(&mut close).await.unwrap();
        assert_eq!(close, [0x88, 0]);
        assert!(callbacks.connected("a") && !callbacks.connected("b"));
        // The first client leaves: its place is free again.
        first.write_all(&[0x88, 0x80, 0, 0, 0, 0]).await.unwrap();
        first_task.await.unwrap();
        assert!(!callbacks.connected("a"));
    }

    #[test]
    fn the_correlation_header_is_taken_from_either_form() {
        let mut map = json!({"headers": {"websocketcorrelationid": ["c1"], "X": ["y"]}});
        assert_eq!(take_header(&mut map, CORRELATION).as_deref(), Some("c1"));
        assert_eq!(map["headers"], json!({"X": ["y"]}));
        let mut list = json!({"headers": [{"name": "WebSocketCorrelationId", "values": ["c2"]}]});
        assert_eq!(take_header(&mut list, CORRELATION).as_deref(), Some("c2"));
        assert_eq!(list["headers"], json!([]));
    }

    #[test]
    fn a_forward_goes_to_the_socket_address_or_the_host() {
        let r = forward_request(&json!({
            "method": "POST", "path": "/up", "queryStringParameters": {"a": ["1 2"]},
            "headers": {"Host": ["example.com"], "X-A": ["b"]}, "cookies": {"c": "d"},
            "socketAddress": {"host": "127.0.0.1", "port": 9, "scheme": "HTTP"},
            "body": {"type": "JSON", "json": {"k": 1}}
        }))
        .unwrap();
        assert_eq!(r.uri.to_string(), "http://127.0.0.1:9/up?a=1%202");
        assert_eq!(r.headers["x-a"], "b");
        assert_eq!(r.headers["cookie"], "c=d");
        assert_eq!(&r.body[..], br#"{"k":1}"#);
        let r = forward_request(
            &json!({"path": "/p", "headers": [{"name": "Host", "values": ["h:81"]}]}),
        )
        .unwrap();
        assert_eq!(r.uri.to_string(), "http://h:81/p");
        assert!(forward_request(&json!({"path": "/p"})).is_err());
    }
}
