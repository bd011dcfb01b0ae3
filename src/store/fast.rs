//! Each HTTP worker's async connections, behind [`super::Db`]: the statements that are
//! most of a provisioning cycle's traffic and run alone (a user by id, a filter lookup
//! such as Entra's `userName eq` match, and a create that needs no decision).
//!
//! Everything else goes through [`super::Db::run`] on the blocking pool. A statement there
//! costs two thread hand-offs (worker to blocking thread and back); on a busy server those
//! wake-ups cost more CPU than a short statement itself. Here it runs on the worker's own
//! event loop: each worker builds its own [`FastPath`] (in the app factory), so a
//! connection's driver task lives on the thread that uses it. Only single statements run
//! here; anything that needs a transaction of several stays on the blocking pool.
//!
//! Creates are combined: each worker queues them and, whenever its previous statement is
//! done, writes every create waiting in one statement ([`FastPath::create_user`]). Its fixed
//! costs (the round trip, executor start-up, the commit's WAL flush) are then shared, and
//! each create still gets the outcome its own statement would have had.
//!
//! libpq stays the reference for how to connect. These connections use tokio-postgres,
//! which reads the URL but not libpq's environment (`PGPASSWORD`, `PGSSLMODE`, …), its
//! files (`~/.pgpass`, `~/.postgresql/root.crt`) or every URL option (`sslrootcert`,
//! `sslmode=verify-full`, …). Where any of those could make the two connect differently,
//! [`FastPath::disabled`] is used and every statement takes the blocking path. The same
//! goes at run time: a request that cannot get an async connection falls back to the
//! blocking path, which reports what is wrong the way every other request does.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use diesel::{ConnectionResult, QueryResult};
use diesel_async::pooled_connection::deadpool::{Hook, HookError, Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use futures_util::FutureExt;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::events::NewEvent;
use super::plans::{self, Replan};
use super::users::{self, NewUser, UserView};
use crate::config::DatabaseUrl;
use crate::domain::Source;

pub type AsyncConn = Object<AsyncPgConnection>;
pub type AsyncPool = Pool<AsyncPgConnection>;

/// After a failed checkout, how long requests skip the async connections. A server these
/// connections cannot log in to (an authentication method tokio-postgres lacks, say)
/// would otherwise cost every such request a failed connection attempt before its
/// fallback. Short, so that after a restart of PostgreSQL they are back within a second
/// of it accepting connections.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// How many combined creates ([`FastPath::create_user`]) one worker writes at once, and
/// how many users one statement takes at most. One at a time per worker, so that
/// creates arriving meanwhile make one larger batch: in alternating runs at 16 clients on
/// two cores, a second statement in flight cost more CPU per create and gave about 8%
/// fewer creates per second, with a p99 of 92–106 ms against 20–76 ms.
const CREATES_IN_FLIGHT: usize = 1;
const CREATES_PER_STATEMENT: usize = 64;

/// One HTTP worker's async connections, or none (everything on the blocking path).
#[derive(Clone)]
pub struct FastPath {
    pool: Option<Pool<AsyncPgConnection>>,
    pause: Duration,
    paused_until: Arc<Mutex<Option<Instant>>>,
    /// The queue of [`FastPath::create_user`], started on first use.
    creates: Arc<OnceLock<mpsc::UnboundedSender<CreateJob>>>,
}

struct CreateJob {
    new: NewUser<'static>,
    event: NewEvent,
    pull_sources: &'static [Source],
    reply: oneshot::Sender<FastCreate>,
}

/// What [`FastPath::create_user`] did.
#[derive(Debug)]
pub enum FastCreate {
    /// What [`users::insert_if_new`] returns for this user alone, and the user.
    Done(QueryResult<Option<UserView>>, NewUser<'static>),
    /// Nothing: there is no async connection, and the caller takes the blocking path.
    NoConnection(NewUser<'static>, NewEvent),
    /// The queue stopped without an answer (a bug, or the worker shutting down): whether
    /// the user was written is unknown.
    Lost(diesel::result::Error),
}

impl FastPath {
    /// Up to `size` connections, made on first use. `None` when the pool cannot be built.
    pub fn new(url: &DatabaseUrl, size: u32, timeout: Duration, replan: Arc<Replan>) -> Self {
        let mut config = ManagerConfig::<AsyncPgConnection>::default();
        // No `SELECT 1` per checkout (as for the blocking pool): a dead connection fails
        // its query, and the pool drops connections that report themselves closed.
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(|url| connect(url.to_owned()).boxed());
        let manager = AsyncDieselConnectionManager::new_with_config(url.expose(), config);
        let pool = Pool::builder(manager)
            .max_size(usize::try_from(size.max(1)).unwrap_or(1))
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .runtime(deadpool::Runtime::Tokio1)
            // Plans made before the tables grew are dropped before the connection is
            // handed out again ([`super::plans`]). `recycled` is still the last handout
            // here: a connection handed out since the growth has dropped them already.
            .post_recycle(Hook::async_fn(
                move |conn: &mut AsyncPgConnection, metrics| {
                    let stale = replan.stale(metrics.recycled.unwrap_or(metrics.created));
                    Box::pin(async move {
                        if stale {
                            conn.batch_execute(plans::DISCARD)
                                .await
                                .map_err(|e| HookError::Backend(PoolError::QueryError(e)))?;
                        }
                        Ok(())
                    })
                },
            ))
            .build();
        match pool {
            Ok(pool) => Self {
                pool: Some(pool),
                ..Self::disabled()
            },
            Err(e) => {
                tracing::warn!(error = %e, "fast-path pool not built; every statement uses the blocking pool");
                Self::disabled()
            }
        }
    }

    pub fn disabled() -> Self {
        Self {
            pool: None,
            pause: PAUSE_AFTER_FAILURE,
            paused_until: Arc::new(Mutex::new(None)),
            creates: Arc::new(OnceLock::new()),
        }
    }

    /// The same, pausing for `pause` after a failed checkout.
    pub fn pausing_for(self, pause: Duration) -> Self {
        Self { pause, ..self }
    }

    pub fn enabled(&self) -> bool {
        self.pool.is_some()
    }

    /// The pool, for its state.
    pub fn pool(&self) -> Option<AsyncPool> {
        self.pool.clone()
    }

    /// Whether a connection answers a query; `None` without async connections.
    pub async fn ping(&self) -> Option<QueryResult<()>> {
        self.pool.as_ref()?;
        let Some(mut conn) = self.conn().await else {
            return Some(Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                Box::new(String::from("no async connection could be had")),
            )));
        };
        let ping = diesel::sql_query("SELECT 1");
        Some(
            diesel_async::RunQueryDsl::execute(ping, &mut conn)
                .await
                .map(drop),
        )
    }

    /// A connection, or `None`: then the caller goes through the blocking pool, which
    /// reports what is wrong the way every other request does. After a failed checkout,
    /// `None` without trying for a while.
    pub async fn conn(&self) -> Option<AsyncConn> {
        let pool = self.pool.as_ref()?;
        if self
            .paused_until()
            .is_some_and(|until| Instant::now() < until)
        {
            return None;
        }
        match pool.get().await {
            Ok(conn) => Some(conn),
            Err(e) => {
                let mut until = self
                    .paused_until
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                // Once per pause, however many requests were waiting when it began.
                if until.is_none_or(|t| t <= Instant::now()) {
                    tracing::warn!(
                        error = %e,
                        pause = ?self.pause,
                        "no fast-path connection; every statement uses the blocking pool for a while"
                    );
                }
                *until = Some(Instant::now() + self.pause);
                None
            }
        }
    }

    /// [`users::insert_if_new`] on this worker's async connections, with the same
    /// outcome. Creates that arrive while others are being written wait for them, and
    /// then go together ([`users::insert_each_if_new_async`]): one statement, one round
    /// trip and one commit for all of them. Must run on the worker's event loop.
    pub async fn create_user(
        &self,
        new: NewUser<'static>,
        event: NewEvent,
        pull_sources: &'static [Source],
    ) -> FastCreate {
        if self.pool.is_none() {
            return FastCreate::NoConnection(new, event);
        }
        let (reply, answer) = oneshot::channel();
        let job = CreateJob {
            new,
            event,
            pull_sources,
            reply,
        };
        let queue = self.creates.get_or_init(|| self.start_creates());
        if let Err(mpsc::error::SendError(job)) = queue.send(job) {
            return FastCreate::NoConnection(job.new, job.event);
        }
        answer.await.unwrap_or_else(|_| {
            FastCreate::Lost(diesel::result::Error::QueryBuilderError(
                "the create queue stopped before answering".into(),
            ))
        })
    }

    fn start_creates(&self) -> mpsc::UnboundedSender<CreateJob> {
        let (queue, jobs) = mpsc::unbounded_channel();
        // Without the queue itself, so that the task ends when the last sender goes.
        let fast = Self {
            creates: Arc::new(OnceLock::new()),
            ..self.clone()
        };
        tokio::task::spawn_local(combine_creates(fast, jobs));
        queue
    }

    fn paused_until(&self) -> Option<Instant> {
        *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Takes every create waiting when a slot is free (up to [`CREATES_PER_STATEMENT`]) and
/// writes them together, [`CREATES_IN_FLIGHT`] statements at a time: alone when the
/// server is quiet, more at once the busier it is.
async fn combine_creates(fast: FastPath, mut jobs: mpsc::UnboundedReceiver<CreateJob>) {
    let slots = Arc::new(Semaphore::new(CREATES_IN_FLIGHT));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Some(first) = jobs.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < CREATES_PER_STATEMENT {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let fast = fast.clone();
        tokio::task::spawn_local(async move {
            write_creates(&fast, batch).await;
            drop(slot);
        });
    }
}

async fn write_creates(fast: &FastPath, mut batch: Vec<CreateJob>) {
    let Some(mut conn) = fast.conn().await else {
        for job in batch {
            let _ = job.reply.send(FastCreate::NoConnection(job.new, job.event));
        }
        return;
    };
    // One statement per set of pull sources (every caller passes the same one today).
    while let Some(first) = batch.first() {
        let pull_sources = first.pull_sources;
        let (now, later): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|job| job.pull_sources == pull_sources);
        batch = later;
        let (entries, replies): (Vec<_>, Vec<_>) = now
            .into_iter()
            .map(|job| ((job.new, job.event), job.reply))
            .unzip();
        let outcomes = users::insert_each_if_new_async(&mut conn, &entries, pull_sources).await;
        for ((reply, outcome), (new, _)) in replies.into_iter().zip(outcomes).zip(entries) {
            // A client that went away no longer waits for its answer.
            let _ = reply.send(FastCreate::Done(outcome, new));
        }
    }
}

/// Why the async connections could connect differently from libpq, if they could.
pub fn unsupported(
    url: &str,
    env: impl IntoIterator<Item = String>,
    home: Option<&Path>,
) -> Option<String> {
    if let Err(e) = tokio_postgres::Config::from_str(url) {
        return Some(format!("DATABASE_URL uses what only libpq reads ({e})"));
    }
    if let Some(var) = env.into_iter().find(|k| k.starts_with("PG")) {
        return Some(format!("{var} is set, which only libpq reads"));
    }
    let home = home?;
    for file in [".pgpass", ".postgresql"] {
        if home.join(file).exists() {
            return Some(format!("~/{file} exists, which only libpq reads"));
        }
    }
    None
}

/// Connects as libpq would for the `sslmode` values tokio-postgres accepts: `prefer`
/// (libpq's default) tries TLS and falls back to plain, `require` insists, `disable`
/// never tries. Neither `prefer` nor `require` checks the server's certificate in libpq
/// (that is `verify-ca` / `verify-full`, which [`unsupported`] leaves to libpq), so
/// neither does this.
pub async fn connect(url: String) -> ConnectionResult<AsyncPgConnection> {
    let bad = |e: String| diesel::ConnectionError::BadConnection(e);
    let config = tokio_postgres::Config::from_str(&url).map_err(|e| bad(e.to_string()))?;
    let tls = tls().map_err(|e| bad(e.to_string()))?;
    let (client, connection) = config.connect(tls).await.map_err(|e| bad(e.to_string()))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// TLS as libpq uses it for `prefer` and `require` ([`connect`]).
pub(super) fn tls() -> Result<MakeTlsConnector, openssl::error::ErrorStack> {
    let mut tls = SslConnector::builder(SslMethod::tls_client())?;
    tls.set_verify(SslVerifyMode::NONE);
    let mut tls = MakeTlsConnector::new(tls.build());
    // libpq checks the host name only for `verify-full`; it does send it (SNI), as here.
    tls.set_callback(|ssl, _| {
        ssl.set_verify_hostname(false);
        Ok(())
    });
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "postgres://scimd@db.internal:5432/scimd";

    #[test]
    fn a_plain_url_without_libpq_settings_is_supported() {
        assert_eq!(unsupported(URL, Vec::new(), None), None);
        let with = format!("{URL}?sslmode=require&application_name=scimd");
        assert_eq!(unsupported(&with, vec!["HOME".into()], None), None);
    }

    #[test]
    fn url_options_only_libpq_knows_are_left_to_libpq() {
        for option in ["sslmode=verify-full", "sslrootcert=/ca.pem", "passfile=/p"] {
            let url = format!("{URL}?{option}");
            let why = unsupported(&url, Vec::new(), None);
            assert!(why.is_some_and(|w| w.contains("DATABASE_URL")), "{option}");
        }
    }

    #[test]
    fn libpq_environment_variables_are_left_to_libpq() {
        let why = unsupported(URL, vec!["PATH".into(), "PGPASSWORD".into()], None);
        assert_eq!(
            why.as_deref(),
            Some("PGPASSWORD is set, which only libpq reads")
        );
    }
}
