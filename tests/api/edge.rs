//! Protocol-level abuse gets RFC answers (issue 22, point 4), over raw sockets: a long
//! request line is 414 and oversized headers 431, with the SCIM error body under
//! /scim/v2 and a problem elsewhere; a client that never finishes its head is cut after
//! the timeout, on a connection's first request and on a kept-alive one; idle
//! connections and connections per worker are bounded.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

/// A request for `/healthz`, whole.
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n";

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.address.trim_start_matches("http://");
    TcpStream::connect(addr).await.unwrap()
}

/// A connection that has had one request answered, kept alive.
async fn answered_once(app: &TestApp) -> TcpStream {
    let mut stream = connect(app).await;
    let answer = ask(&mut stream, HEALTHZ, Duration::from_secs(5)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    stream
}

/// Writes `request` on `stream`, then reads the answer, waiting at most `within`.
async fn ask(stream: &mut TcpStream, request: &[u8], within: Duration) -> Answer {
    stream.write_all(request).await.unwrap();
    read_answer(stream, within).await
}

/// An answer read off a raw socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Reads one answer (a head and a Content-Length body) within `within`.
async fn read_answer(stream: &mut TcpStream, within: Duration) -> Answer {
    read_answers(stream, 1, within).await.remove(0)
}

/// The answer at the start of `buf`, and how many bytes it took, once it is whole.
fn split_answer(buf: &[u8]) -> Option<(Answer, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    if buf.len() < end + 4 + length {
        return None;
    }
    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
    let status = head[9..12].parse().unwrap();
    Some((Answer { status, body, head }, end + 4 + length))
}

/// Reads `n` answers in a row within `within`. One read may carry the end of one answer
/// and the start of the next (pipelined answers), so the bytes are kept across answers.
async fn read_answers(stream: &mut TcpStream, n: usize, within: Duration) -> Vec<Answer> {
    let read = async {
        let mut answers = Vec::with_capacity(n);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            while answers.len() < n {
                let Some((answer, used)) = split_answer(&buf) else {
                    break;
                };
                buf.drain(..used);
                answers.push(answer);
            }
            if answers.len() == n {
                return answers;
            }
            let read = stream.read(&mut chunk).await.unwrap();
            assert!(
                read > 0,
                "closed before a whole answer: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..read]);
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the answers in time")
}

/// Whether the server closes the connection within `within` (reading past any data).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 8192];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

fn long_filter(len: usize) -> String {
    format!(
        "/scim/v2/Users?filter=userName%20eq%20%22{}%22",
        "a".repeat(len)
    )
}

#[tokio::test]
async fn a_100_kb_url_gets_414_with_a_scim_error_body_and_the_connection_closes() {
    let app = spawn_app().await;
    let mut stream = connect(&app).await;
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: scim.test\r\nauthorization: Bearer x\r\n\r\n",
        long_filter(100 * 1024)
    );
    let answer = ask(&mut stream, request.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(answer.status, 414, "{answer:?}");
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    assert_eq!(answer.header("connection").as_deref(), Some("close"));
    let body = answer.json();
    assert_eq!(
        body["schemas"],
        serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], "414");
    assert!(
        body["detail"].as_str().unwrap().contains(".search"),
        "{body}"
    );
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);

    // Outside /scim/v2 the same refusal is a problem.
    let mut stream = connect(&app).await;
    let request = format!(
        "GET /admin/v1/tenants?x={} HTTP/1.1\r\n\r\n",
        "a".repeat(20_000)
    );
    let answer = ask(&mut stream, request.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(answer.status, 414);
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(answer.json()["error"], "uri_too_long");
}

#[tokio::test]
async fn a_long_url_on_a_kept_alive_connection_gets_414_after_the_earlier_answers() {
    let app = spawn_app().await;
    let mut stream = connect(&app).await;
    // A request with a body, then one with a long URL, written at once.
    let request = format!(
        "POST /nothing HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\n\r\nhello\
         GET {} HTTP/1.1\r\nhost: t\r\n\r\n",
        long_filter(70_000)
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // Both answers may come in one read: they are read from one buffer.
    let answers = read_answers(&mut stream, 2, Duration::from_secs(10)).await;
    let (first, second) = (&answers[0], &answers[1]);
    assert_eq!(first.status, 404, "{first:?}");
    assert_eq!(second.status, 414, "{second:?}");
    assert_eq!(second.json()["status"], "414");
}

#[tokio::test]
async fn oversized_or_too_many_headers_get_431_with_a_scim_error_body() {
    let app = spawn_app().await;
    for (what, fields) in [
        ("20 KB", format!("x-big: {}\r\n", "v".repeat(20 * 1024))),
        ("300 KB", format!("x-huge: {}\r\n", "v".repeat(300 * 1024))),
        (
            "100 fields",
            (0..100).map(|i| format!("x-h{i}: v\r\n")).collect(),
        ),
    ] {
        let mut stream = connect(&app).await;
        let request = format!("GET /scim/v2/Users HTTP/1.1\r\nhost: t\r\n{fields}\r\n");
        // A server that stops reading may reset the rest of a huge write.
        let _ = stream.write_all(request.as_bytes()).await;
        let answer = read_answer(&mut stream, Duration::from_secs(10)).await;
        assert_eq!(answer.status, 431, "{what}: {answer:?}");
        assert_eq!(
            answer.header("content-type").as_deref(),
            Some("application/scim+json"),
            "{what}"
        );
        assert_eq!(answer.json()["status"], "431", "{what}");
    }
    // The server is fine afterwards.
    let res = app.anonymous_get("/healthz").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_head_is_cut_after_the_timeout() {
    let app = spawn_app_with(|s| s.client_request_timeout = Duration::from_secs(1)).await;
    // The first request of a connection.
    let mut stream = connect(&app).await;
    let started = Instant::now();
    let answer = ask(
        &mut stream,
        b"GET /scim/v2/Users HTTP/1.1\r\nhost: t\r\nx-slow: ",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(answer.json()["status"], "408");
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // A kept-alive connection's next request, dribbled a byte at a time: actix-http times
    // only a connection's first head; this is cut all the same.
    let mut stream = answered_once(&app).await;
    let started = Instant::now();
    let slow = b"GET /admin/v1/tenants HTTP/1.1\r\nhost: t\r\n";
    let mut answer = None;
    for byte in slow.iter().chain(std::iter::repeat(&b'x')).take(40) {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        let mut peek = [0u8; 1];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), stream.peek(&mut peek)).await
        {
            if n > 0 {
                answer = Some(read_answer(&mut stream, Duration::from_secs(5)).await);
                break;
            }
        }
    }
    let answer = answer.expect("cut before 40 bytes at 200 ms each");
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(answer.json()["error"], "request_timeout");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive() {
    let app = spawn_app_with(|s| s.keep_alive = Duration::from_secs(1)).await;
    let mut stream = answered_once(&app).await;
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);
    assert!(started.elapsed() >= Duration::from_millis(800));

    // Zero: one request per connection.
    let app = spawn_app_with(|s| s.keep_alive = Duration::ZERO).await;
    let mut stream = connect(&app).await;
    let answer = ask(&mut stream, HEALTHZ, Duration::from_secs(5)).await;
    assert_eq!(answer.status, 200);
    assert!(closed_within(&mut stream, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn connections_past_the_limit_per_worker_wait_until_one_closes() {
    let app = spawn_app_with(|s| {
        s.workers = Some(1);
        s.max_connections = 2;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(answered_once(&app).await);
    }
    // The kernel completes the handshake, but the worker does not take the connection.
    let mut third = connect(&app).await;
    third.write_all(HEALTHZ).await.unwrap();
    let mut peek = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(700), third.peek(&mut peek)).await;
    assert!(early.is_err(), "answered past the connection limit");
    drop(held.pop());
    assert_eq!(
        read_answer(&mut third, Duration::from_secs(5)).await.status,
        200
    );
}
