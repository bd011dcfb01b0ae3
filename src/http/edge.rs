//! The connection's edge: every request head is checked as its bytes arrive, before
//! actix-http parses it.
//!
//! actix-http answers a head it cannot take with a bare status and no body: a URI past
//! 64 KiB (the `http` crate's limit) is a 400, a head past 128 KiB or with more than 96
//! header fields a 431, and it times out only the first head of a connection (a client on
//! a kept-alive connection could then send its next head a byte a minute). [`Guarded`]
//! wraps each accepted socket and, for every head on the connection:
//!
//! - a request line longer than `max_request_line` is answered 414 (RFC 9110 §15.5.15);
//! - header fields of more than `max_header_bytes`, or more than [`MAX_HEADERS`] of them,
//!   431 (RFC 6585 §5);
//! - a head that is not complete `head_timeout` after its first byte (for the first head
//!   of a connection: after the connection opened) 408 (RFC 9110 §15.5.9);
//! - a head httparse cannot read, 400;
//!
//! each with the error body of the path asked for: RFC 7644 §3.12 under `/scim/`, an
//! RFC 9457 problem elsewhere, and `Connection: close`. actix-http then sees the end of
//! the stream, finishes what it was doing, and closes; the answer is written when it
//! shuts the connection down, after anything it had still to send. The rest of the client's
//! request is read and dropped for a moment before closing, so the client reads the
//! answer instead of a reset.
//!
//! To find where the next head starts, the guard follows each request's framing
//! (`Content-Length`, or chunked `Transfer-Encoding`). A request it cannot frame (another
//! transfer coding, conflicting lengths, an upgrade) ends the checks on that connection;
//! actix-http still applies its own limits to what follows.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use actix_web::ResponseError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::error::{AdminError, Error};

/// Header fields a request may have: actix-http's own limit.
pub const MAX_HEADERS: usize = 96;
/// How long, and for how many bytes, the rest of a refused request is read and dropped.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1024 * 1024;
/// A chunk-size line or a chunk's trailers longer than this end the checks.
const MAX_CHUNK_LINE: usize = 4096;
const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// The head buffer a connection keeps between requests, at most.
const KEPT_HEAD_BYTES: usize = 8 * 1024;

#[derive(Clone, Copy, Debug)]
pub struct EdgeLimits {
    pub max_request_line: usize,
    pub max_header_bytes: usize,
    pub head_timeout: Duration,
}

/// Where in the client's byte stream the guard is.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// Reading a head (kept in `Guarded::head`).
    Head,
    /// Skipping a body of this many more bytes.
    Body(u64),
    /// A chunk-size line: the size so far, its digits, whether past them, the line's length.
    ChunkSize {
        size: u64,
        digits: usize,
        ext: bool,
        len: usize,
    },
    ChunkData(u64),
    /// The CRLF after a chunk's data; bytes of it seen so far.
    ChunkEnd(usize),
    /// Trailer fields after the last chunk: the current line's length, the bytes so far.
    Trailers {
        line: usize,
        total: usize,
    },
    /// A request the guard cannot frame: no more checks on this connection.
    Blind,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for actix-http to shut the connection down; its writes still go out.
    Waiting,
    Writing(usize),
    Flushing,
    Closing,
    Lingering(usize),
    Done,
}

/// A refused head's answer and how far it has gone out.
#[derive(Debug)]
struct Refusal {
    reply: Vec<u8>,
    phase: Phase,
}

/// A client connection whose request heads are checked before actix-http reads them.
pub struct Guarded<IO> {
    io: IO,
    limits: EdgeLimits,
    scan: Scan,
    /// The head being read, up to the limits (plus one byte to see them passed).
    head: Vec<u8>,
    /// The length of the head's request line with its line end, once seen.
    line: Option<usize>,
    timer: Pin<Box<Sleep>>,
    timing: bool,
    refusal: Option<Refusal>,
}

impl<IO> Guarded<IO> {
    /// A new connection: its first head is due `head_timeout` from now.
    pub fn new(io: IO, limits: EdgeLimits) -> Self {
        Self {
            io,
            limits,
            scan: Scan::Head,
            head: Vec::new(),
            line: None,
            timer: Box::pin(tokio::time::sleep(limits.head_timeout)),
            timing: true,
            refusal: None,
        }
    }

    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The most head bytes kept: both limits, their line ends, and room to see them passed.
    fn cap(&self) -> usize {
        self.limits.max_request_line + self.limits.max_header_bytes + 8
    }

    /// Follows the client's bytes; on a head to refuse, how many of `new` to pass on
    /// (those before the head) and the answer.
    fn feed(&mut self, new: &[u8]) -> Result<(), (usize, Refusal)> {
        let mut i = 0;
        while i < new.len() {
            match self.scan {
                Scan::Head => {
                    let began = if self.head.is_empty() {
                        // RFC 9112 §2.2: empty lines before a request line are ignored.
                        while i < new.len() && matches!(new[i], b'\r' | b'\n') {
                            i += 1;
                        }
                        if i == new.len() {
                            break;
                        }
                        if !self.timing {
                            let deadline = Instant::now() + self.limits.head_timeout;
                            self.timer.as_mut().reset(deadline);
                            self.timing = true;
                        }
                        i
                    } else {
                        0
                    };
                    let consumed = self
                        .feed_head(&new[i..])
                        .map_err(|refusal| (began, refusal))?;
                    i += consumed;
                }
                Scan::Body(left) => {
                    let n = left.min((new.len() - i) as u64);
                    i += n as usize;
                    self.scan = match left - n {
                        0 => Scan::Head,
                        left => Scan::Body(left),
                    };
                }
                Scan::ChunkData(left) => {
                    let n = left.min((new.len() - i) as u64);
                    i += n as usize;
                    self.scan = match left - n {
                        0 => Scan::ChunkEnd(0),
                        left => Scan::ChunkData(left),
                    };
                }
                Scan::Blind => break,
                _ => {
                    self.scan = chunked(std::mem::replace(&mut self.scan, Scan::Blind), new[i]);
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Takes bytes of a head; returns how many were the head's (all of `new` unless it
    /// ended in them).
    fn feed_head(&mut self, new: &[u8]) -> Result<usize, Refusal> {
        let old = self.head.len();
        let take = new.len().min(self.cap() + 1 - old);
        self.head.extend_from_slice(&new[..take]);
        let limits = self.limits;
        if self.line.is_none() {
            self.line = find(&self.head[old..], b"\n").map(|at| old + at + 1);
        }
        match self.line {
            None if self.head.len() > limits.max_request_line => {
                return Err(self.refuse(Error::UriTooLong(format!(
                    "the request line is longer than {} bytes; send long filters in the body \
                     of a POST to .search (RFC 7644 §3.4.3)",
                    limits.max_request_line
                ))))
            }
            Some(line) if line > limits.max_request_line + 2 => {
                return Err(self.refuse(Error::UriTooLong(format!(
                    "the request line is longer than {} bytes; send long filters in the body \
                     of a POST to .search (RFC 7644 §3.4.3)",
                    limits.max_request_line
                ))))
            }
            _ => {}
        }
        let Some(line) = self.line else {
            return Ok(take);
        };
        // The empty line that ends the head: its LF and the LF before it, maybe a CR between.
        let from = old.saturating_sub(2).max(line.saturating_sub(1));
        let crlf = find(&self.head[from..], b"\n\r\n").map(|at| from + at + 3);
        let lf = find(&self.head[from..], b"\n\n").map(|at| from + at + 2);
        let end = match (crlf, lf) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let fields = end.unwrap_or(self.head.len()) - line;
        if fields > limits.max_header_bytes + 2 {
            return Err(self.refuse(too_large(format!(
                "the request's header fields are larger than {} bytes",
                limits.max_header_bytes
            ))));
        }
        let Some(end) = end else {
            return Ok(take);
        };
        let scan = self.frame(end)?;
        // A large head's buffer is not kept for the connection's life.
        if self.head.capacity() > KEPT_HEAD_BYTES {
            self.head = Vec::new();
        }
        self.head.clear();
        self.line = None;
        self.timing = false;
        self.scan = scan;
        Ok(end - old)
    }

    /// Reads a whole head: how its body is framed, or why it is refused.
    fn frame(&mut self, end: usize) -> Result<Scan, Refusal> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut fields);
        let parsed = req.parse(&self.head[..end]);
        let scan = match parsed {
            Ok(httparse::Status::Complete(_)) => framing(&req),
            Ok(httparse::Status::Partial) => Ok(Scan::Blind),
            Err(httparse::Error::TooManyHeaders) => Err(too_large(format!(
                "the request has more than {MAX_HEADERS} header fields"
            ))),
            Err(e) => Err(Error::BadRequest(format!(
                "the request head is malformed ({e})"
            ))),
        };
        scan.map_err(|e| self.refuse(e))
    }

    /// The answer to the head being read, with the body of the path it asks for.
    fn refuse(&self, error: Error) -> Refusal {
        let under_scim = target(&self.head).starts_with(b"/scim/");
        Refusal {
            reply: reply(error, under_scim),
            phase: Phase::Waiting,
        }
    }
}

fn too_large(detail: String) -> Error {
    Error::HeadersTooLarge(detail)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The request target's path, from as much of the request line as has arrived; the
/// scheme and authority of an absolute-form target are skipped.
fn target(head: &[u8]) -> &[u8] {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let Some(at) = line.iter().position(|b| *b == b' ') else {
        return &[];
    };
    let target = &line[at + 1..];
    let target = target.split(|b| *b == b' ').next().unwrap_or_default();
    match find(target, b"://") {
        Some(scheme) if !target.starts_with(b"/") => {
            let rest = &target[scheme + 3..];
            rest.iter()
                .position(|b| *b == b'/')
                .map_or(&[][..], |slash| &rest[slash..])
        }
        _ => target,
    }
}

/// How a parsed request's body is framed (RFC 9112 §6.3).
fn framing(req: &httparse::Request<'_, '_>) -> Result<Scan, Error> {
    if req
        .method
        .is_some_and(|m| m.eq_ignore_ascii_case("CONNECT"))
    {
        return Ok(Scan::Blind);
    }
    let mut length: Option<u64> = None;
    let mut chunked = None;
    for field in req.headers.iter() {
        let value = std::str::from_utf8(field.value).unwrap_or_default().trim();
        if field.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides; a later field continues the list.
            let last = value.rsplit(',').next().unwrap_or_default().trim();
            chunked = Some(last.eq_ignore_ascii_case("chunked"));
        } else if field.name.eq_ignore_ascii_case("content-length") {
            match (value.parse::<u64>(), length) {
                (Ok(n), None) => length = Some(n),
                (Ok(n), Some(m)) if n == m => {}
                _ => return Ok(Scan::Blind),
            }
        } else if field.name.eq_ignore_ascii_case("upgrade") {
            return Ok(Scan::Blind);
        }
    }
    Ok(match (chunked, length) {
        (Some(true), None) => Scan::ChunkSize {
            size: 0,
            digits: 0,
            ext: false,
            len: 0,
        },
        (Some(_), _) => Scan::Blind,
        (None, Some(0) | None) => Scan::Head,
        (None, Some(n)) => Scan::Body(n),
    })
}

/// One byte of chunked framing (RFC 9112 §7.1).
fn chunked(scan: Scan, byte: u8) -> Scan {
    match scan {
        Scan::ChunkSize {
            size,
            digits,
            ext,
            len,
        } => {
            if len >= MAX_CHUNK_LINE {
                return Scan::Blind;
            }
            let len = len + 1;
            match byte {
                b'\n' if digits == 0 => Scan::Blind,
                b'\n' if size == 0 => Scan::Trailers { line: 0, total: 0 },
                b'\n' => Scan::ChunkData(size),
                _ if ext => Scan::ChunkSize {
                    size,
                    digits,
                    ext,
                    len,
                },
                b';' | b' ' | b'\t' | b'\r' => Scan::ChunkSize {
                    size,
                    digits,
                    ext: true,
                    len,
                },
                _ => match (char::from(byte).to_digit(16), size.checked_mul(16)) {
                    (Some(d), Some(size)) => Scan::ChunkSize {
                        size: size + u64::from(d),
                        digits: digits + 1,
                        ext,
                        len,
                    },
                    _ => Scan::Blind,
                },
            }
        }
        Scan::ChunkEnd(seen) => match byte {
            b'\n' => Scan::ChunkSize {
                size: 0,
                digits: 0,
                ext: false,
                len: 0,
            },
            b'\r' if seen == 0 => Scan::ChunkEnd(1),
            _ => Scan::Blind,
        },
        Scan::Trailers { line, total } => {
            if total >= MAX_TRAILER_BYTES {
                return Scan::Blind;
            }
            match byte {
                b'\n' if line == 0 => Scan::Head,
                b'\n' => Scan::Trailers {
                    line: 0,
                    total: total + 1,
                },
                b'\r' => Scan::Trailers {
                    line,
                    total: total + 1,
                },
                _ => Scan::Trailers {
                    line: line + 1,
                    total: total + 1,
                },
            }
        }
        other => other,
    }
}

/// A whole HTTP/1.1 answer for `error`, closing the connection.
fn reply(error: Error, under_scim: bool) -> Vec<u8> {
    let response = if under_scim {
        error.error_response()
    } else {
        AdminError(error).error_response()
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .to_owned();
    let body = match actix_web::body::MessageBody::try_into_bytes(response.into_body()) {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => Vec::new(),
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\ndate: {}\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len(),
        chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT"),
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    out
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // Refused: actix-http sees the end of the stream.
        if this.refusal.is_some() {
            return Poll::Ready(Ok(()));
        }
        if this.scan == Scan::Head && this.timing && this.timer.as_mut().poll(cx).is_ready() {
            let secs = this.limits.head_timeout.as_secs_f64();
            this.refusal = Some(this.refuse(Error::RequestTimeout(format!(
                "the request head was not received within {secs} seconds"
            ))));
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        let verdict = this.feed(&buf.filled()[before..]);
        if let Err((keep, refusal)) = verdict {
            buf.set_filled(before + keep);
            this.refusal = Some(refusal);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Guarded<IO> {
    /// Writes the refusal, closes the sending side and drains what the client still sends.
    fn poll_refusal(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(refusal) = self.refusal.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        loop {
            match refusal.phase {
                Phase::Waiting => refusal.phase = Phase::Writing(0),
                Phase::Writing(done) if done == refusal.reply.len() => {
                    refusal.phase = Phase::Flushing;
                }
                Phase::Writing(done) => {
                    let n = ready!(Pin::new(&mut self.io).poll_write(cx, &refusal.reply[done..]))?;
                    if n == 0 {
                        return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                    }
                    refusal.phase = Phase::Writing(done + n);
                }
                Phase::Flushing => {
                    ready!(Pin::new(&mut self.io).poll_flush(cx))?;
                    refusal.phase = Phase::Closing;
                }
                Phase::Closing => {
                    ready!(Pin::new(&mut self.io).poll_shutdown(cx))?;
                    self.timer.as_mut().reset(Instant::now() + LINGER);
                    refusal.phase = Phase::Lingering(0);
                }
                Phase::Lingering(drained) => {
                    if drained >= LINGER_BYTES || self.timer.as_mut().poll(cx).is_ready() {
                        refusal.phase = Phase::Done;
                        continue;
                    }
                    let mut scratch = [0u8; 4096];
                    let mut sink = ReadBuf::new(&mut scratch);
                    refusal.phase = match ready!(Pin::new(&mut self.io).poll_read(cx, &mut sink)) {
                        Ok(()) if sink.filled().is_empty() => Phase::Done,
                        Ok(()) => Phase::Lingering(drained + sink.filled().len()),
                        Err(_) => Phase::Done,
                    };
                }
                Phase::Done => return Poll::Ready(Ok(())),
            }
        }
    }

    /// Whether actix-http's writes are dropped: once the refusal is going out, nothing of
    /// actix-http's may follow it.
    fn muted(&self) -> bool {
        self.refusal
            .as_ref()
            .is_some_and(|r| !matches!(r.phase, Phase::Waiting))
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.muted() {
            return Poll::Ready(Ok(data.len()));
        }
        Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.muted() {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.muted() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.refusal.is_some() {
            return this.poll_refusal(cx);
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits() -> EdgeLimits {
        EdgeLimits {
            max_request_line: 64,
            max_header_bytes: 128,
            head_timeout: Duration::from_secs(10),
        }
    }

    /// Feeds `bytes` in pieces of `step`; the refusal's status, if any, and bytes passed.
    fn run(bytes: &[u8], step: usize) -> (Option<u16>, usize, Scan) {
        let mut g = Guarded::new((), limits());
        let mut passed = 0;
        for piece in bytes.chunks(step) {
            match g.feed(piece) {
                Ok(()) => passed += piece.len(),
                Err((keep, refusal)) => {
                    let text = String::from_utf8_lossy(&refusal.reply).into_owned();
                    let status = text[9..12].parse().unwrap();
                    return (Some(status), passed + keep, g.scan);
                }
            }
        }
        (None, passed, g.scan)
    }

    #[tokio::test]
    async fn requests_within_the_limits_pass_whole_whatever_the_pieces() {
        let two = b"POST /scim/v2/Users HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello\
                    GET /scim/v2/Users HTTP/1.1\r\nhost: x\r\n\r\n";
        for step in [1, 3, 7, two.len()] {
            assert_eq!(run(two, step), (None, two.len(), Scan::Head), "step {step}");
        }
        let chunked = b"POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\
                        5;ext=1\r\nhello\r\n0\r\ntrailer: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        for step in [1, 2, 5, chunked.len()] {
            assert_eq!(
                run(chunked, step),
                (None, chunked.len(), Scan::Head),
                "step {step}"
            );
        }
    }

    #[tokio::test]
    async fn a_long_request_line_is_414_even_after_a_body_on_a_kept_alive_connection() {
        let first = b"POST /scim/v2/Users HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc".to_vec();
        let mut bytes = first.clone();
        bytes.extend_from_slice(b"GET /scim/v2/Users?filter=");
        bytes.extend(std::iter::repeat_n(b'x', 100));
        for step in [1, 10, bytes.len()] {
            let (status, passed, _) = run(&bytes, step);
            assert_eq!(status, Some(414), "step {step}");
            // The first request reaches actix-http whole; of the second, at most what was
            // within the limit before it was passed.
            assert!(
                passed >= first.len() && passed <= first.len() + limits().max_request_line + 1,
                "step {step}: {passed}"
            );
            if step == bytes.len() {
                assert_eq!(passed, first.len());
            }
        }
    }

    #[tokio::test]
    async fn large_or_many_header_fields_are_431_and_bad_heads_400() {
        let big = format!("GET / HTTP/1.1\r\nx: {}\r\n\r\n", "v".repeat(200));
        assert_eq!(run(big.as_bytes(), 16).0, Some(431));
        let mut many = "GET / HTTP/1.1\r\n".to_owned();
        for _ in 0..=MAX_HEADERS {
            many.push_str("a:\r\n");
        }
        many.push_str("\r\n");
        let mut g = Guarded::new(
            (),
            EdgeLimits {
                max_header_bytes: 4096,
                ..limits()
            },
        );
        let status = g
            .feed(many.as_bytes())
            .err()
            .map(|(_, r)| r.reply[9..12].to_vec());
        assert_eq!(status.as_deref(), Some(&b"431"[..]));
        assert_eq!(run(b"GET / HTTP/1.1\r\nbad header\r\n\r\n", 4).0, Some(400));
    }

    #[tokio::test]
    async fn refusals_carry_the_error_body_of_the_path() {
        let scim = format!("GET /scim/v2/Users?filter={} HTTP/1.1\r\n", "x".repeat(100));
        let mut g = Guarded::new((), limits());
        let refusal = g.feed(scim.as_bytes()).err().unwrap().1;
        let text = String::from_utf8(refusal.reply).unwrap();
        assert!(text.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{text}");
        assert!(
            text.contains("content-type: application/scim+json\r\n"),
            "{text}"
        );
        assert!(text.contains("connection: close\r\n"), "{text}");
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["schemas"][0], crate::error::SCIM_ERROR_SCHEMA);
        assert_eq!(body["status"], "414");

        let admin = format!("GET http://h:1/admin/v1/{} HTTP/1.1\r\n", "x".repeat(100));
        let mut g = Guarded::new((), limits());
        let refusal = g.feed(admin.as_bytes()).err().unwrap().1;
        let text = String::from_utf8(refusal.reply).unwrap();
        assert!(
            text.contains("content-type: application/problem+json\r\n"),
            "{text}"
        );
        assert!(text.contains("\"error\":\"uri_too_long\""), "{text}");
        assert_eq!(
            target(b"GET http://h/scim/v2/Users HTTP/1.1"),
            b"/scim/v2/Users"
        );
    }
}
