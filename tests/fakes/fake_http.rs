//! The HTTP side the fakes share: the server, faults armed by path, and the answers a
//! fault gives instead of the fake's own. A crate that loads a fake loads this module
//! beside it, as `fake_http` at its root.
// Each user of the fakes (the tests, the benchmark servers) uses a part of it.
#![allow(dead_code)]

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

/// A fault armed at `path` for its next `remaining` requests (every one when `None`).
struct Armed<F> {
    path: String,
    remaining: Option<u32>,
    fault: F,
}

/// The faults armed at a fake's paths, the first armed at a path answering first.
pub struct Faults<F> {
    armed: Vec<Armed<F>>,
}

impl<F> Default for Faults<F> {
    fn default() -> Self {
        Self { armed: Vec::new() }
    }
}

impl<F: Clone> Faults<F> {
    /// The next `times` requests to `path` (all of them when `None`) get `fault`.
    pub fn arm(&mut self, path: &str, times: Option<u32>, fault: F) {
        self.armed.push(Armed {
            path: path.to_owned(),
            remaining: times,
            fault,
        });
    }

    pub fn clear(&mut self) {
        self.armed.clear();
    }

    /// The fault a request to `path` gets, if any: one of its times used up, and disarmed
    /// after its last.
    pub fn take(&mut self, path: &str) -> Option<F> {
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

/// `status` with `headers` and `body`, of `content_type`.
pub fn answer(
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
pub fn dropped(start: &'static [u8]) -> HttpResponse {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(start)),
        Err(std::io::Error::other("dropped")),
    ];
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(futures_util::stream::iter(chunks))
}
