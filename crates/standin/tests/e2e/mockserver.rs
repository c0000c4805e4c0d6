//! MockServer's API on the real mock listener: what only shows on the wire.

use crate::support::{Standin, http, raw};
use serde_json::json;

fn expect(s: &Standin, expectation: serde_json::Value) {
    let r = http(
        s.mock,
        "PUT",
        "/mockserver/expectation",
        &[("Content-Type", "application/json")],
        expectation.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn expectations_are_served_at_the_root_with_a_bare_404() {
    let s = Standin::start(&[]);
    expect(
        &s,
        json!({"httpRequest": {"method": "GET", "path": "/simple"}, "httpResponse": {"statusCode": 200, "body": "some_response_body"}}),
    );
    let r = http(s.mock, "GET", "/simple", &[], b"");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"some_response_body"[..])
    );
    let r = http(s.mock, "GET", "/not-there", &[], b"");
    assert_eq!((r.status, r.body.len()), (404, 0));
    let r = http(s.mock, "PUT", "/status", &[], b"");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["ports"][0],
        s.mock.port()
    );
}

#[test]
fn reason_phrase_and_chunks_reach_the_wire() {
    let s = Standin::start(&[]);
    expect(
        &s,
        json!({"httpRequest": {"path": "/teapot"}, "httpResponse": {"statusCode": 418, "reasonPhrase": "Short And Stout", "body": "abcdef", "connectionOptions": {"chunkSize": 2}}}),
    );
    let text = raw(
        s.mock,
        b"GET /teapot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        text.starts_with("HTTP/1.1 418 Short And Stout\r\n"),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{text}"
    );
    assert!(
        text.ends_with("2\r\nab\r\n2\r\ncd\r\n2\r\nef\r\n0\r\n\r\n"),
        "{text}"
    );
}

#[test]
fn errors_drop_the_connection_or_write_raw_bytes() {
    let s = Standin::start(&[]);
    expect(
        &s,
        json!({"httpRequest": {"path": "/drop"}, "httpError": {"dropConnection": true}}),
    );
    // "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    expect(
        &s,
        json!({"httpRequest": {"path": "/raw"}, "httpError": {"responseBytes": "SFRUUC8xLjEgMjAwIE9LDQpDb250ZW50LUxlbmd0aDogMg0KDQpvaw=="}}),
    );
    assert_eq!(raw(s.mock, b"GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"), "");
    assert_eq!(
        raw(s.mock, b"GET /raw HTTP/1.1\r\nHost: x\r\n\r\n"),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    );
}

#[test]
fn close_socket_closes_after_the_response() {
    let s = Standin::start(&[]);
    expect(
        &s,
        json!({"httpRequest": {"path": "/bye"}, "httpResponse": {"body": "bye", "connectionOptions": {"closeSocket": true}}}),
    );
    // Keep-alive requested, but the server closes: reading to the end returns.
    let text = raw(s.mock, b"GET /bye HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        text.starts_with("HTTP/1.1 200 OK") && text.ends_with("bye"),
        "{text}"
    );
}

#[test]
fn the_initialization_file_is_loaded_at_start_and_routes_show_in_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("init.json");
    std::fs::write(
        &file,
        r#"[{"httpRequest": {"path": "/init"}, "httpResponse": {"body": "ready"}}]"#,
    )
    .unwrap();
    let s = Standin::start(&["--mockserver-init", file.to_str().unwrap()]);
    let r = http(s.mock, "GET", "/init", &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ready"[..]));
    let (_, routes) = crate::support::json_call(
        s.admin,
        "GET",
        "/api/v1/teams/default/services/default/routes",
        None,
    );
    assert_eq!(routes[0]["origin"]["format"], "mockserver");
    let (_, history) =
        crate::support::json_call(s.admin, "GET", "/api/v1/history?key=default/default", None);
    assert!(!history.as_array().unwrap().is_empty());
}

/// A file as they are in the wild: trailing commas and a comment, one expectation
/// standin refuses among good ones. The good ones load; the refused one is named in the
/// log and the status, with its index, pointer and reason.
#[test]
fn an_initialization_file_with_a_bad_expectation_loads_the_others_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("init.json");
    std::fs::write(
        &file,
        r#"[
  // fixtures for the orders service
  {"httpRequest": {"path": "/one"}, "httpResponse": {"body": "one"},},
  {"httpRequest": {"path": "/two"}, "httpResponse": {"statusCode": "not a number"}},
  {"httpRequest": {"path": "/three"}, "httpResponse": {"body": "three"}},
]"#,
    )
    .unwrap();
    let s = Standin::start(&["--mockserver-init", file.to_str().unwrap()]);
    assert_eq!(http(s.mock, "GET", "/one", &[], b"").body, b"one");
    assert_eq!(http(s.mock, "GET", "/three", &[], b"").body, b"three");
    assert_eq!(http(s.mock, "GET", "/two", &[], b"").status, 404);
    let (_, status) = crate::support::json_call(s.admin, "GET", "/api/v1/status", None);
    assert_eq!(status["status"], "degraded");
    let init = &status["mockserverInitialization"];
    assert_eq!(init["expectations"], 3);
    assert_eq!(init["loaded"], 2);
    assert_eq!(init["refused"].as_array().unwrap().len(), 1, "{init}");
    assert_eq!(init["refused"][0]["index"], 1);
    assert_eq!(init["refused"][0]["pointer"], "/1/httpResponse/statusCode");
    assert!(
        init["refused"][0]["reason"].as_str().unwrap().len() > 5,
        "{init}"
    );
}

/// `PUT /mockserver/expectation` stays all or nothing, and its 400 names every bad
/// expectation.
#[test]
fn a_put_with_several_bad_expectations_names_each_and_stores_none() {
    let s = Standin::start(&[]);
    let body = r#"[
        {"httpRequest": {"path": "/ok"}, "httpResponse": {"body": "ok"}},
        {"httpRequest": {"path": "/a"}, "httpResponse": {"statusCode": "x"}},
        {"httpRequest": {"path": "/b", "colour": "red"}, "httpResponse": {}},
    ]"#;
    let r = http(
        s.mock,
        "PUT",
        "/mockserver/expectation",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 400);
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.contains("2 of 3 expectations"), "{text}");
    assert!(text.contains("/1/httpResponse/statusCode"), "{text}");
    assert!(text.contains("/2/httpRequest"), "{text}");
    assert_eq!(
        http(s.mock, "GET", "/ok", &[], b"").status,
        404,
        "nothing was stored"
    );
}

#[test]
fn mustache_templates_render_the_response_from_the_request() {
    let s = Standin::start(&[]);
    let template = r#"{"statusCode": 200, "headers": {"X-Path": ["{{ request.path }}"]}, "body": "{\"method\": \"{{ request.method }}\", \"q\": \"{{ request.queryStringParameters.name.0 }}\", \"agent\": \"{{ request.headers.user-agent.0 }}\"}"}"#;
    expect(
        &s,
        json!({"httpRequest": {"path": "/tpl"}, "httpResponseTemplate": {"templateType": "MUSTACHE", "template": template}}),
    );
    let r = http(
        s.mock,
        "POST",
        "/tpl?name=ada",
        &[("User-Agent", "e2e")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-path"), Some("/tpl"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, json!({"method": "POST", "q": "ada", "agent": "e2e"}));
    // MockServer 8.0 has no JavaScript engine: it keeps such a template and answers 404.
    let kept = http(
        s.mock,
        "PUT",
        "/mockserver/expectation",
        &[],
        json!({"httpRequest": {"path": "/v"}, "httpResponseTemplate": {"templateType": "JAVASCRIPT", "template": "return {statusCode: 200};"}}).to_string().as_bytes(),
    );
    assert_eq!(kept.status, 201);
    assert_eq!(http(s.mock, "GET", "/v", &[], b"").status, 404);
    let refused = http(
        s.mock,
        "PUT",
        "/mockserver/expectation",
        &[],
        json!({"httpRequest": {"path": "/v"}, "httpResponseTemplate": {"templateType": "HANDLEBARS", "template": "x"}}).to_string().as_bytes(),
    );
    assert_eq!(refused.status, 400);
    assert!(String::from_utf8_lossy(&refused.body).contains("VELOCITY"));
}

#[test]
fn suppressed_or_false_content_length_is_written_raw_and_closed() {
    let s = Standin::start(&[]);
    expect(
        &s,
        json!({"httpRequest": {"path": "/nolen"}, "httpResponse": {"body": "no length here", "connectionOptions": {"suppressContentLengthHeader": true}}}),
    );
    expect(
        &s,
        json!({"httpRequest": {"path": "/short"}, "httpResponse": {"body": "0123456789abcdefgh", "connectionOptions": {"contentLengthHeaderOverride": 10}}}),
    );
    let text = raw(s.mock, b"GET /nolen HTTP/1.1\r\nHost: x\r\n\r\n");
    let lower = text.to_ascii_lowercase();
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("\r\n\r\nno length here"),
        "{text}"
    );
    assert!(
        !lower.contains("content-length") && !lower.contains("transfer-encoding"),
        "{text}"
    );
    let text = raw(s.mock, b"GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        text.contains("content-length: 10\r\n") && text.ends_with("0123456789abcdefgh"),
        "{text}"
    );
}

#[test]
fn expectations_survive_a_restart_with_their_journal_counted() {
    let mut s = Standin::start(&[]);
    expect(
        &s,
        json!({"id": "kept", "httpRequest": {"path": "/kept"}, "httpResponse": {"body": "still here"}}),
    );
    assert_eq!(http(s.mock, "GET", "/kept", &[], b"").status, 200);
    let (_, stats) = crate::support::json_call(s.admin, "GET", "/api/v1/journal/stats", None);
    assert_eq!(
        stats["recorded"], 1,
        "requests to MockServer expectations are journaled"
    );
    s.kill_9();
    let s = Standin::restart(s, &[]);
    let r = http(s.mock, "GET", "/kept", &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"still here"[..]));
    let r = http(
        s.mock,
        "PUT",
        "/mockserver/retrieve?type=active_expectations",
        &[],
        b"",
    );
    assert!(String::from_utf8_lossy(&r.body).contains("\"kept\""));
}

/// `retrieve?type=RECORDED_EXPECTATIONS` lists the exchanges a real server answered, in
/// the shape MockServer 8.0 gives (read from it: compat/cases/migration.json has the
/// case, its body compared here since ids and timings differ by nature).
#[test]
fn recorded_expectations_are_the_forwarded_exchanges() {
    let s = Standin::start(&[]);
    expect(
        &s,
        json!({"httpRequest": {"path": "/rec/in"}, "httpOverrideForwardedRequest": {"httpRequest": {"path": "/rec/target"}}}),
    );
    expect(
        &s,
        json!({"httpRequest": {"path": "/rec/target"}, "httpResponse": {"statusCode": 201, "headers": {"X-From": ["target"]}, "body": "target body"}}),
    );
    let r = http(s.mock, "GET", "/rec/in?q=1", &[("X-Trace", "abc")], b"");
    assert_eq!((r.status, r.body.as_slice()), (201, &b"target body"[..]));
    let r = http(
        s.mock,
        "PUT",
        "/mockserver/retrieve?type=RECORDED_EXPECTATIONS",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    let recorded: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let list = recorded.as_array().unwrap();
    assert_eq!(list.len(), 1, "only the forwarded request: {recorded}");
    let e = &list[0];
    assert_eq!(e["httpRequest"]["method"], "GET");
    assert_eq!(e["httpRequest"]["path"], "/rec/in");
    assert_eq!(
        e["httpRequest"]["queryStringParameters"],
        json!({"q": ["1"]})
    );
    assert_eq!(e["httpRequest"]["headers"]["X-Trace"], json!(["abc"]));
    assert_eq!(e["httpResponse"]["statusCode"], 201);
    assert_eq!(e["httpResponse"]["reasonPhrase"], "Created");
    assert_eq!(e["httpResponse"]["headers"]["X-From"], json!(["target"]));
    assert_eq!(e["httpResponse"]["body"]["string"], "target body");
    assert_eq!(e["priority"], 0);
    assert_eq!(e["times"], json!({"remainingTimes": 1}));
    assert_eq!(e["timeToLive"], json!({"unlimited": true}));
    assert!(e["id"].as_str().is_some_and(|id| id.len() == 36));
}

/// A minimal callback client over a raw socket: the handshake, masked text frames out,
/// unmasked text frames in.
struct WsClient {
    s: std::net::TcpStream,
}

impl WsClient {
    fn connect(addr: std::net::SocketAddr) -> (WsClient, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        write!(
            s,
            "GET /_mockserver_callback_websocket HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(
            head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "the accept key of RFC 6455: {head}"
        );
        let mut c = WsClient { s };
        let hello: serde_json::Value = serde_json::from_str(&c.read()).unwrap();
        assert_eq!(
            hello["type"],
            "org.mockserver.serialization.model.WebSocketClientIdDTO"
        );
        let value: serde_json::Value =
            serde_json::from_str(hello["value"].as_str().unwrap()).unwrap();
        (c, value["clientId"].as_str().unwrap().to_string())
    }

    fn read(&mut self) -> String {
        use std::io::Read;
        let mut h = [0u8; 2];
        self.s.read_exact(&mut h).unwrap();
        assert_eq!(h[0], 0x81, "one unfragmented text frame");
        let len = match h[1] {
            126 => {
                let mut b = [0u8; 2];
                self.s.read_exact(&mut b).unwrap();
                u16::from_be_bytes(b) as usize
            }
            127 => {
                let mut b = [0u8; 8];
                self.s.read_exact(&mut b).unwrap();
                u64::from_be_bytes(b) as usize
            }
            n => n as usize,
        };
        let mut p = vec![0u8; len];
        self.s.read_exact(&mut p).unwrap();
        String::from_utf8(p).unwrap()
    }

    fn send(&mut self, text: &str) {
        use std::io::Write;
        let mask = [7u8, 1, 3, 9];
        let mut f = vec![0x81u8];
        let n = text.len();
        if n < 126 {
            f.push(0x80 | n as u8);
        } else {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        f.extend_from_slice(&mask);
        f.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.s.write_all(&f).unwrap();
    }
}

#[test]
fn object_callbacks_answer_through_the_client_and_fail_fast_without_it() {
    let s = Standin::start(&[]);
    let (mut client, id) = WsClient::connect(s.mock);
    expect(
        &s,
        json!({"httpRequest": {"path": "/cb"}, "httpResponseObjectCallback": {"clientId": id}, "times": {"unlimited": true}}),
    );
    expect(
        &s,
        json!({"httpRequest": {"path": "/nobody"}, "httpResponseObjectCallback": {"clientId": "no-such-client"}}),
    );
    expect(
        &s,
        json!({"httpRequest": {"path": "/nobody-forward"}, "httpForwardObjectCallback": {"clientId": "no-such-client"}}),
    );
    // A client that is not connected: MockServer's 404 and 502, at once.
    assert_eq!(http(s.mock, "GET", "/nobody", &[], b"").status, 404);
    assert_eq!(http(s.mock, "GET", "/nobody-forward", &[], b"").status, 502);

    // The client answers, in the list form of headers the node client uses.
    let mock = s.mock;
    let caller = std::thread::spawn(move || http(mock, "POST", "/cb?q=1", &[], b"hello"));
    let asked: serde_json::Value = serde_json::from_str(&client.read()).unwrap();
    assert_eq!(asked["type"], "org.mockserver.model.HttpRequest");
    let req: serde_json::Value = serde_json::from_str(asked["value"].as_str().unwrap()).unwrap();
    assert_eq!(req["method"], "POST");
    assert_eq!(req["path"], "/cb");
    assert_eq!(req["queryStringParameters"]["q"], json!(["1"]));
    let correlation = req["headers"]["WebSocketCorrelationId"][0]
        .as_str()
        .unwrap()
        .to_string();
    let answer = json!({"statusCode": 201, "headers": [{"name": "WebSocketCorrelationId", "values": [correlation]}, {"name": "X-Echo", "values": ["yes"]}], "body": format!("got {}", req["body"]["string"].as_str().unwrap_or(""))});
    client.send(
        &json!({"type": "org.mockserver.model.HttpResponse", "value": answer.to_string()})
            .to_string(),
    );
    let r = caller.join().unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-echo"), Some("yes"));
    assert_eq!(r.header("websocketcorrelationid"), None);
    assert_eq!(String::from_utf8_lossy(&r.body), "got hello");

    // An error message from the client: 404 with its message.
    let caller = std::thread::spawn(move || http(mock, "GET", "/cb", &[], b""));
    let asked: serde_json::Value = serde_json::from_str(&client.read()).unwrap();
    let req: serde_json::Value = serde_json::from_str(asked["value"].as_str().unwrap()).unwrap();
    let correlation = req["headers"]["WebSocketCorrelationId"][0]
        .as_str()
        .unwrap()
        .to_string();
    client.send(&json!({"type": "org.mockserver.serialization.model.WebSocketErrorDTO", "value": json!({"message": "boom", "webSocketCorrelationId": correlation}).to_string()}).to_string());
    let r = caller.join().unwrap();
    assert_eq!(
        (r.status, String::from_utf8_lossy(&r.body).into_owned()),
        (404, "boom".to_string())
    );

    // The client leaves while a request waits for it: the request is answered, not left
    // hanging, and the next one finds no client.
    let caller = std::thread::spawn(move || http(mock, "GET", "/cb", &[], b""));
    let _ = client.read();
    drop(client);
    assert_eq!(caller.join().unwrap().status, 504);
    assert_eq!(http(s.mock, "GET", "/cb", &[], b"").status, 404);
}
