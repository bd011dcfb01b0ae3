//! The HTTP side the fakes share: the server, the faults armed by path and the answers a
//! fault gives instead of the fake's own, and the requests counted by path. A crate that
//! loads a fake loads this module beside it, as `fake_http` at its root.
// Each user of the fakes (the tests, the benchmark servers) uses a part of it; a fault's
// answer is a ready HTTP response, which is large and rare.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{App, FromRequest, Handler, HttpResponse, HttpServer, Responder};

/// A listener on `addr`, and its base URL (`http://127.0.0.1:PORT`).
pub fn listen(addr: SocketAddr) -> std::io::Result<(TcpListener, String)> {
    let listener = TcpListener::bind(addr)?;
    let base = format!("http://{}", listener.local_addr()?);
    Ok((listener, base))
}

/// A fake's server as its users see it: where it is, and how to stop it. Dropping it does
/// not stop the server.
#[derive(Clone)]
pub struct Served {
    base: String,
    handle: ServerHandle,
}

impl Served {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.base
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// Serves every request on `listener` (whose URL is `base`) to `handler`, with `data`, on
/// `workers` threads (one at least), taking bodies of up to `max_body` bytes: the server,
/// for the caller to run, and a handle on it.
pub fn serve<T, F, Args>(
    listener: TcpListener,
    base: String,
    workers: usize,
    data: web::Data<T>,
    max_body: usize,
    handler: F,
) -> std::io::Result<(Served, Server)>
where
    T: Send + Sync + 'static,
    F: Handler<Args> + Send + Clone,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .default_service(web::to(handler.clone()))
    })
    .workers(workers.max(1))
    .listen(listener)?
    .run();
    let handle = server.handle();
    Ok((Served { base, handle }, server))
}

/// A canned misbehaviour: answer in the fake's place, drop the connection, or serve the
/// fake's own answer spoiled in a way of that fake's (`S`).
#[derive(Debug, Clone)]
pub enum Fault<S> {
    /// Answer this instead.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Send the start of the body, then drop the connection.
    Drop,
    /// Serve the fake's own answer, spoiled so.
    Spoil(S),
}

impl<S> Fault<S> {
    /// `status` with the error `body`.
    pub fn error(status: u16, body: &serde_json::Value) -> Self {
        Self::Status {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// 429 with `Retry-After: seconds` and the error `body`.
    pub fn retry_after(seconds: u64, body: &serde_json::Value) -> Self {
        Self::Status {
            status: 429,
            headers: vec![("Retry-After".into(), seconds.to_string())],
            body: body.to_string(),
        }
    }
}

/// A fault armed at `path` for its next `remaining` requests (every one when `None`).
struct Armed<F> {
    path: String,
    remaining: Option<u32>,
    fault: F,
}

/// The faults armed at a fake's paths, the first armed at a path answering first.
struct Faults<F> {
    armed: Vec<Armed<F>>,
}

impl<F> Default for Faults<F> {
    fn default() -> Self {
        Self { armed: Vec::new() }
    }
}

impl<F: Clone> Faults<F> {
    /// The next `times` requests to `path` (all of them when `None`) get `fault`.
    fn arm(&mut self, path: &str, times: Option<u32>, fault: F) {
        self.armed.push(Armed {
            path: path.to_owned(),
            remaining: times,
            fault,
        });
    }

    fn clear(&mut self) {
        self.armed.clear();
    }

    /// The fault a request to `path` gets, if any: one of its times used up, and disarmed
    /// after its last.
    fn take(&mut self, path: &str) -> Option<F> {
        let at = self.armed.iter().position(|f| f.path == path)?;
        let armed = &mut self.armed[at];
        let fault = armed.fault.clone();
        if let Some(n) = armed.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.armed.remove(at);
            }
        }
        Some(fault)
    }
}

/// The requests a fake has met, counted by path, and the faults armed at its paths.
pub struct Traffic<S> {
    faults: Faults<Fault<S>>,
    counts: HashMap<String, u64>,
}

impl<S> Default for Traffic<S> {
    fn default() -> Self {
        Self {
            faults: Faults::default(),
            counts: HashMap::new(),
        }
    }
}

impl<S: Clone> Traffic<S> {
    /// Counts a request to `path` and meets the fault armed there, if any: `Err` with the
    /// answer given in the fake's place (of `content_type`; a dropped one starts with
    /// `drop_start`), else how the fake's own answer is to be spoiled.
    pub fn arrive(
        &mut self,
        path: &str,
        content_type: &str,
        drop_start: &'static [u8],
    ) -> Result<Option<S>, HttpResponse> {
        *self.counts.entry(path.to_owned()).or_default() += 1;
        match self.faults.take(path) {
            None => Ok(None),
            Some(Fault::Spoil(spoil)) => Ok(Some(spoil)),
            Some(Fault::Drop) => Err(dropped(drop_start)),
            Some(Fault::Status {
                status,
                headers,
                body,
            }) => Err(answer(status, headers, body, content_type)),
        }
    }

    /// Requests met, by path.
    pub fn counts(&self) -> &HashMap<String, u64> {
        &self.counts
    }
}

/// What a fake's tests do with its traffic.
pub trait Faked {
    /// How the fake spoils its own answers.
    type Spoil: Clone;

    /// `f` on the fake's traffic, under the fake's lock.
    fn traffic<R>(&self, f: impl FnOnce(&mut Traffic<Self::Spoil>) -> R) -> R;

    /// The next `times` requests to `path` (all of them when `None`) misbehave so.
    fn fail(&self, path: &str, times: Option<u32>, fault: Fault<Self::Spoil>) {
        self.traffic(|t| t.faults.arm(path, times, fault));
    }

    fn clear_faults(&self) {
        self.traffic(|t| t.faults.clear());
    }

    /// Requests received for `path`, faults included.
    fn requests(&self, path: &str) -> u64 {
        self.traffic(|t| t.counts.get(path).copied().unwrap_or(0))
    }

    /// Requests received in total.
    fn total_requests(&self) -> u64 {
        self.traffic(|t| t.counts.values().sum())
    }
}

/// `status` with `headers` and `body`, of `content_type`.
fn answer(
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    content_type: &str,
) -> HttpResponse {
    let mut r = HttpResponse::build(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    r.content_type(content_type);
    for (k, v) in headers {
        r.insert_header((k, v));
    }
    r.body(body)
}

/// A 200 whose body starts with `start`, then the connection dropped.
fn dropped(start: &'static [u8]) -> HttpResponse {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(start)),
        Err(std::io::Error::other("dropped")),
    ];
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(futures_util::stream::iter(chunks))
}
