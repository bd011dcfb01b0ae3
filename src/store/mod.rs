//! PostgreSQL through diesel and r2d2.
//!
//! Store functions take `&mut PgConnection` and return diesel's `QueryResult`, so callers
//! compose several in one transaction. [`Db::run`] is how async code reaches a connection:
//! it runs the closure on the blocking pool, inside the caller's tracing span. The
//! hottest reads and the plain create have an async path besides (see [`fast`]).

pub mod credentials;
pub mod database;
pub mod events;
pub mod fast;
pub mod filter;
pub mod groups;
pub mod locks;
pub mod people;
pub mod rows;
pub mod schema;
pub mod search;
pub mod sql;
pub mod tenants;
pub mod users;

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};

use crate::config::DatabaseUrl;
use crate::error::Error;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

/// Pool state for `/metrics`.
#[derive(Clone, Copy, Debug)]
pub struct PoolState {
    pub in_use: u32,
    pub idle: u32,
}

#[derive(Clone)]
pub struct Db {
    pool: PgPool,
}

impl Db {
    /// A pool that connects lazily: building it never fails, and a database that is down
    /// shows up as 503s (and `/readyz`) rather than a dead process.
    pub fn new(url: &DatabaseUrl, size: u32, timeout: Duration) -> Self {
        let manager = ConnectionManager::<PgConnection>::new(url.expose());
        let pool = Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(0))
            .connection_timeout(timeout)
            // No `SELECT 1` per checkout: a dead connection fails its query, which is mapped
            // to 503, and r2d2 drops connections diesel reports broken.
            .test_on_check_out(false)
            // r2d2 logs every failed connect attempt; the request that waited reports it.
            .error_handler(Box::new(diesel::r2d2::LoggingErrorHandler))
            .build_unchecked(manager);
        Self { pool }
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, never on an async
    /// worker, carrying the current span so its log lines keep the request id.
    pub async fn run<F, T>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        actix_web::web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// A connection for synchronous callers (the command line, tests).
    pub fn get(&self) -> Result<PgPooled, Error> {
        Ok(self.pool.get()?)
    }

    pub fn state(&self) -> PoolState {
        let s = self.pool.state();
        PoolState {
            in_use: s.connections.saturating_sub(s.idle_connections),
            idle: s.idle_connections,
        }
    }
}
