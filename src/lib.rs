//! scimd: a SCIM 2.0 provisioning server for a multi-tenant security-awareness-training
//! platform. See DESIGN.md for the rooms and the arrows between them:
//! `http -> provisioning -> store`, all of them may use `scim`, which uses none of them.

pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod provisioning;
pub mod scim;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod telemetry;

use std::net::{SocketAddr, TcpListener};

use actix_web::middleware::from_fn;
use actix_web::{web, App};

use crate::auth::{CredentialKind, Verifier};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::http::AppState;
use crate::store::Db;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A bound, not yet running server. Tests build one on port 0 and read the port.
pub struct Application {
    addr: SocketAddr,
    server: actix_web::dev::Server,
    state: web::Data<AppState>,
    /// The node's sync scheduler; `None` when it runs no pull syncs.
    scheduler: Option<sync::worker::Worker<sync::directories::Directories>>,
    /// Hears of changes other nodes and commands make ([`store::notify`]).
    listener: store::notify::Listener,
    /// Prunes and erases what has been kept long enough ([`provisioning::retention`]).
    housekeeper: provisioning::retention::Housekeeper,
}

impl Application {
    pub fn build(settings: Settings, clock: SharedClock) -> Result<Self, StartError> {
        let workers = worker_count(&settings);
        let db = Db::serving(
            &settings.database_url,
            settings.pool_size,
            settings.pool_timeout,
            workers,
            async_unsupported(&settings),
        );
        let ttl = settings.token_cache_ttl;
        let metrics = http::metrics::Metrics::new()?;
        let sync_metrics = sync::metrics::SyncMetrics::new(metrics.registry())?;
        let sync_wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let directories = sync::directories::Directories {
            roots: sync::graph::Roots {
                login: settings.graph_login_url.clone(),
                api: settings.graph_api_url.clone(),
            },
            http: sync::directories::Directories::client(),
            policy: sync::http::RetryPolicy::default(),
            keyring: settings.keyring.clone(),
            platform_app: settings.graph_app.clone(),
            google_roots: sync::google::Roots {
                token: settings.google_token_url.clone(),
                directory: settings.google_directory_url.clone(),
            },
            google_account: settings.google_account.clone(),
            stats: std::sync::Arc::clone(&sync_metrics.retries),
        };
        let scheduler = (settings.sync_workers > 0).then(|| {
            sync::worker::Worker::new(
                db.clone(),
                clock.clone(),
                settings.sync_workers,
                directories.clone(),
                sync::worker::Timing {
                    tick: settings.sync_tick,
                    ..sync::worker::Timing::default()
                },
                std::sync::Arc::clone(&sync_wake),
                sync_metrics.clone(),
            )
        });
        // One failed sign-in allowance per address, whatever the credential.
        let signins = std::sync::Arc::new(auth::SignInLimiter::new(
            clock.clone(),
            settings.auth_failures_per_minute,
        ));
        let change_listener = store::notify::Listener::new(
            settings.database_url.clone(),
            format!(
                "scimd-listener-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
            settings.listen,
        );
        let housekeeper = provisioning::retention::Housekeeper::new(
            db.clone(),
            clock.clone(),
            provisioning::retention::Policy::new(settings.event_retention),
            settings.housekeeping_every,
        );
        let state = web::Data::new(AppState {
            scim_tokens: Verifier::new(
                CredentialKind::ScimToken,
                ttl,
                clock.clone(),
                signins.clone(),
            ),
            admin_keys: Verifier::new(
                CredentialKind::AdminKey,
                ttl,
                clock.clone(),
                signins.clone(),
            ),
            signins,
            metrics,
            sync_metrics,
            directories,
            spc_cache: std::sync::Mutex::new(None),
            rate_limits: http::ratelimit::RateLimits::new(clock.clone(), ttl),
            sync_wake,
            listener: change_listener.state(),
            db,
            clock,
            settings: settings.clone(),
        });
        let bind_err = |source| StartError::Bind {
            addr: settings.bind,
            source,
        };
        let listener = listen(settings.bind).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let server = serve(listener, addr, &settings, state.clone()).map_err(bind_err)?;
        Ok(Self {
            addr,
            server,
            state,
            scheduler,
            listener: change_listener,
            housekeeper,
        })
    }

    /// The `application_name` of the node's change listener in `pg_stat_activity`.
    pub fn listener_name(&self) -> &str {
        self.listener.name()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn db(&self) -> Db {
        self.state.db.clone()
    }

    /// The base URL clients reach this server at.
    pub fn public_url(&self) -> String {
        match &self.state.settings.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish. Beside it run
    /// the change listener, the housekeeper and the sync scheduler, which, when the server
    /// stops, hands its unfinished runs back to the queue.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                // A dropped sender stops them too.
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        let mut background = tokio::task::JoinSet::new();
        let state = self.state.clone();
        let listener = self.listener;
        let shutdown = until_stopped();
        background.spawn(async move {
            listener
                .run(|heard| http::changes::apply(&state, &heard), shutdown)
                .await;
        });
        let housekeeper = self.housekeeper;
        let shutdown = until_stopped();
        background.spawn(async move { housekeeper.run_until(shutdown).await });
        if let Some(scheduler) = self.scheduler {
            let shutdown = until_stopped();
            background.spawn(async move { scheduler.run_until(shutdown).await });
        }
        let served = self.server.await;
        let _ = stop.send(true);
        while background.join_next().await.is_some() {}
        served
    }
}

/// Connections the kernel holds for the server to accept: actix-web's default. std's
/// `TcpListener::bind` asks for 128, which a burst of new connections (a flood from one
/// address) overflows, and then every client's new connection waits a SYN retry (1 s).
const BACKLOG: i32 = 1024;

/// The listening socket, as actix-web's `HttpServer::bind` makes it.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// HTTP workers: the setting, or actix's own default of one per core.
fn worker_count(settings: &Settings) -> usize {
    settings
        .workers
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        })
        .max(1)
}

/// The HTTP server: actix-web's app behind actix-http's HTTP/1 service, with each accepted
/// connection wrapped in the edge checks ([`http::edge`]) first. actix-web's `HttpServer`
/// assembles the same parts but offers no way to wrap the connection.
fn serve(
    listener: TcpListener,
    addr: SocketAddr,
    settings: &Settings,
    state: web::Data<AppState>,
) -> std::io::Result<actix_web::dev::Server> {
    use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};

    let limits = http::edge::EdgeLimits {
        max_request_line: settings.max_request_line_bytes,
        max_header_bytes: settings.max_header_bytes,
        head_timeout: settings.client_request_timeout,
    };
    let keep_alive = settings.keep_alive;
    let host = settings
        .public_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| addr.to_string());
    let mut builder = actix_server::Server::build();
    let draining = builder.graceful_shutdown_signal();
    match stop_signals() {
        Ok(signal) => builder = builder.shutdown_signal(signal),
        // actix-server's own handlers then, installed when the server first runs.
        Err(e) => tracing::warn!(error = %e, "could not listen for stop signals yet"),
    }
    let server = builder
        .workers(worker_count(settings))
        .max_concurrent_connections(settings.max_connections.max(1))
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .listen("scimd", listener, move || {
            // Built per worker, so each worker's async connections run on its own event
            // loop.
            let db = state.db.for_worker();
            let app = App::new()
                .app_data(state.clone())
                .app_data(web::Data::new(db))
                .wrap(from_fn(http::middleware::observe))
                .configure(http::routes)
                .into_factory()
                .map_err(|e: actix_web::Error| e.error_response());
            let host = host.clone();
            let draining = draining.clone();
            let http = actix_http::HttpService::build()
                .keep_alive(keep_alive)
                // The edge checks time every head, not only a connection's first.
                .client_request_timeout(std::time::Duration::ZERO)
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .local_addr(addr)
                .graceful_shutdown_signal(move || {
                    let draining = draining.clone();
                    async move { draining.notified().await }
                })
                .h1(map_config(app, move |_| {
                    // actix-web builds this for its own server; it has no public
                    // constructor besides this one.
                    actix_web::dev::AppConfig::__priv_test_new(false, host.clone(), addr)
                }));
            fn_service(move |io: tokio::net::TcpStream| {
                let peer = io.peer_addr().ok();
                std::future::ready(Ok::<_, actix_http::error::DispatchError>((
                    http::edge::Guarded::new(io, limits),
                    peer,
                )))
            })
            .and_then(http)
        })?;
    Ok(server.run())
}

/// SIGTERM, SIGINT or SIGQUIT, listened for from now on; each starts a graceful stop.
///
/// actix-server installs its own handlers only when the server first runs, after
/// [`Application::run_until_stopped`] has started the sync scheduler. A signal before
/// that met the default action: the process ended at once, mid-run, without handing its
/// runs back. Listening from the server's construction closes that window.
fn stop_signals() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    // `signal` panics outside a runtime; `Application::build` is public.
    tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = quit.recv() => "SIGQUIT",
        };
        tracing::info!(signal = name, "stopping: in-flight requests may finish");
    })
}

/// Why the async connections must not be used, if they must not (see [`store::fast`]).
fn async_unsupported(settings: &Settings) -> Option<String> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let env = std::env::vars_os().filter_map(|(k, _)| k.into_string().ok());
    store::fast::unsupported(settings.database_url.expose(), env, home.as_deref())
}
