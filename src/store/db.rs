//! [`Db`]: the one way to the database. Callers (`provisioning`, the HTTP layer's reads)
//! call one async function per operation and never see which pool or driver served it.
//!
//! Two kinds of pool are behind it:
//!
//! - **The blocking pool** (diesel with r2d2, on libpq): every write, every transaction and
//!   every read without an async twin. [`Db::run`] runs a closure on a pooled connection on
//!   the blocking thread pool; `provisioning` composes its store functions in it.
//! - **Each HTTP worker's async connections** ([`super::fast`]): the statements that are
//!   most of a provisioning cycle's traffic and run alone (a user by id, an index lookup
//!   such as Entra's `userName eq` match, a create that needs no decision). A worker's
//!   [`Db`] ([`Db::for_worker`]) has them; any other [`Db`] uses the blocking pool for
//!   everything, and so does a worker's whenever an async connection cannot be had.
//!
//! The connection budget is exact: the blocking pool opens at most `pool_size`
//! connections, and the workers' async connections add at most `pool_size` more, split
//! across the workers (a worker whose share is zero has none). So a node opens at most
//! `2 × pool_size` connections while it serves (and one more while it migrates at start).
//!
//! A connection that failed at the connection level (the server restarted, the network
//! cut it) never goes back into its pool: the blocking pool drops it when it is returned,
//! and checks every connection older than that failure before handing it out again, so
//! one failure does not cost each of the pool's other dead connections a request. Async
//! connections report themselves closed once their socket is, and are dropped then.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection, Pool, PooledConnection, R2D2Connection};

use super::counts;
use super::events::NewEvent;
use super::fast::{AsyncPool, FastCreate, FastPath};
use super::groups::{self, GroupRow};
use super::plans::{self, Replan};
use super::search::{self, Kind, ListQuery, Start};
use super::together::{self, Job};
use super::users::{self, NewUser, UserView};
use crate::config::DatabaseUrl;
use crate::domain::Source;
use crate::error::Error;
use crate::scim::filter::Filter;
use crate::scim::path::AttrPath;

/// A group's members as SCIM shows them: (member id, `User` or `Group`, the `display`
/// the client sent).
pub type Members = Vec<(uuid::Uuid, String, Option<String>)>;

/// A group as SCIM shows it: the row and, when the reader asked for them, its members.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: GroupRow,
    pub members: Option<Members>,
}

/// A group and, when `members`, its members.
pub fn group_view(
    conn: &mut PgConnection,
    tenant_id: uuid::Uuid,
    id: uuid::Uuid,
    members: bool,
) -> diesel::QueryResult<Option<GroupView>> {
    let Some(group) = groups::find(conn, tenant_id, id)? else {
        return Ok(None);
    };
    let members = members
        .then(|| groups::members_of(conn, tenant_id, id))
        .transpose()?;
    Ok(Some(GroupView { group, members }))
}

/// How many connections each pool holds, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    pub in_use: u32,
    pub idle: u32,
    /// The most it may open.
    pub max: u32,
}

/// Every pool of a node, for `/metrics` and `/readyz`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStates {
    pub blocking: PoolState,
    /// Every worker's async connections, added up.
    pub fast: PoolState,
}

/// What `/readyz` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    Up,
    Down,
    /// There is no such pool here (no async connections for this worker).
    Off,
}

/// What a page of a listing asks for, owned, so that it can go to the blocking pool.
#[derive(Debug, Clone)]
pub struct PageSpec {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    pub start: Start,
    pub count: i64,
    /// RFC 9865 cursor paging: one more row is read, which tells whether a next page
    /// exists.
    pub cursor: bool,
}

/// A page of a listing, with its exact total (`totalResults`).
#[derive(Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
    /// Whether a cursor page has a next one.
    pub more: bool,
}

impl PageSpec {
    fn query(&self) -> ListQuery<'_> {
        ListQuery {
            filter: self.filter.as_ref(),
            sort_by: self.sort_by.as_ref(),
            descending: self.descending,
            start: self.start,
            count: if self.cursor {
                self.count + 1
            } else {
                self.count
            },
            total: None,
        }
    }

    /// Cuts the extra row [`PageSpec::query`] asked for (whether there was one), and
    /// `totalResults` when the page itself tells it: a first page that is not full holds
    /// every match. `None`: it takes a count query.
    fn trim<T>(&self, rows: &mut Vec<T>) -> (bool, Option<i64>) {
        let count = usize::try_from(self.count).unwrap_or(0);
        let more = rows.len() > count;
        if more {
            rows.truncate(count);
        }
        let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let total = matches!(self.start, Start::Offset(0) if !more && n < self.count).then_some(n);
        (more, total)
    }
}

/// A page of a listing and its total, its rows read by `read`.
///
/// Unfiltered, the total is the tenant's kept count ([`counts`]), read with the page in one
/// snapshot (a read-only REPEATABLE READ transaction): the two agree even while the tenant
/// changes, which lets a page past the middle be read from the end ([`ListQuery::total`]).
/// Filtered, the matches are counted after the page, unless the page holds them all.
fn page_of<T>(
    conn: &mut PgConnection,
    kind: Kind,
    tenant_id: uuid::Uuid,
    spec: &PageSpec,
    base_url: &str,
    read: impl FnOnce(&mut PgConnection, &ListQuery<'_>) -> Result<Vec<T>, Error>,
) -> Result<Page<T>, Error> {
    if spec.filter.is_none() {
        return conn
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(|conn| {
                let total = counts::visible_total(conn, kind, tenant_id)?;
                let mut rows = read(
                    conn,
                    &ListQuery {
                        total: Some(total),
                        ..spec.query()
                    },
                )?;
                let (more, _) = spec.trim(&mut rows);
                Ok(Page { rows, total, more })
            });
    }
    let mut rows = read(conn, &spec.query())?;
    let (more, total) = spec.trim(&mut rows);
    let total = match total {
        Some(total) => total,
        None => search::count(conn, kind, tenant_id, spec.filter.as_ref(), base_url)?,
    };
    Ok(Page { rows, total, more })
}

/// The node's pools, shared by every [`Db`] of it.
struct Shared {
    blocking: Pool<Manager>,
    /// Bumped at each connection-level failure on the blocking pool: connections made
    /// before it are checked before they are handed out again.
    failures: Arc<AtomicU64>,
    url: DatabaseUrl,
    timeout: Duration,
    /// Each worker's share of async connections, handed out in turn by
    /// [`Db::for_worker`]; empty when async connections are off.
    shares: Vec<u32>,
    next_share: AtomicUsize,
    /// Every worker's async pool, for `/metrics`.
    fast_pools: Mutex<Vec<AsyncPool>>,
    /// When plans were last made too early for the tables' size ([`super::plans`]).
    replan: Arc<Replan>,
    /// The writes waiting to be committed together ([`Db::run_together`]).
    together: together::Queues,
}

/// The database. Cheap to clone; clones share the pools.
#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
    /// This worker's async connections; disabled outside a worker.
    fast: FastPath,
}

impl Db {
    /// A blocking pool of up to `size` connections and no async ones, for the command
    /// line and tests. It connects lazily: building it never fails, and a database that
    /// is down shows up as 503s (and `/readyz`) rather than a dead process.
    pub fn new(url: &DatabaseUrl, size: u32, timeout: Duration) -> Self {
        Self::with_shares(url, size, timeout, Vec::new())
    }

    /// The pools of a server with `workers` HTTP workers: the blocking pool of `size`,
    /// and `size` async connections split across the workers, unless `async_off` says
    /// why they must not be used ([`super::fast::unsupported`]).
    pub fn serving(
        url: &DatabaseUrl,
        size: u32,
        timeout: Duration,
        workers: usize,
        async_off: Option<String>,
    ) -> Self {
        let shares = match async_off {
            Some(why) => {
                tracing::info!(reason = %why, "no async connections: every statement uses the blocking pool");
                Vec::new()
            }
            None => split(size.max(1), workers.max(1)),
        };
        let db = Self::with_shares(url, size, timeout, shares);
        db.watch_growth(Duration::from_secs(1));
        db
    }

    /// Reads the tables' sizes every `every` on a connection of the blocking pool, so
    /// that every connection plans again once they have grown ([`super::plans`]). Stops
    /// when the last clone of this `Db` is dropped.
    fn watch_growth(&self, every: Duration) {
        let shared: Weak<Shared> = Arc::downgrade(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("scimd-growth".into())
            .spawn(move || loop {
                std::thread::sleep(every);
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let replan = Arc::clone(&shared.replan);
                match shared.with_conn(|conn| Ok(replan.observe(conn)?)) {
                    Ok(true) => tracing::info!(
                        times = replan.times(),
                        "the tables have grown: every connection plans its statements again"
                    ),
                    Ok(false) => {}
                    Err(e) => tracing::debug!(error = %e, "table sizes not read"),
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no watch on the tables' growth: plans are kept as first made");
        }
    }

    fn with_shares(url: &DatabaseUrl, size: u32, timeout: Duration, shares: Vec<u32>) -> Self {
        let failures = Arc::new(AtomicU64::new(0));
        let replan = Arc::new(Replan::default());
        let manager = Manager {
            inner: ConnectionManager::new(url.expose()),
            failures: Arc::clone(&failures),
            replan: Arc::clone(&replan),
        };
        let blocking = Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(0))
            .connection_timeout(timeout)
            // Only connections older than the last connection failure are checked
            // (`Manager::is_valid`); the others are handed out without a query.
            .test_on_check_out(true)
            // r2d2 reports every failed connect attempt; the request that waited reports
            // it too.
            .error_handler(Box::new(RedactingErrorHandler(url.clone())))
            .build_unchecked(manager);
        Self {
            shared: Arc::new(Shared {
                blocking,
                failures,
                url: url.clone(),
                timeout,
                shares,
                next_share: AtomicUsize::new(0),
                fast_pools: Mutex::new(Vec::new()),
                replan,
                together: together::Queues::default(),
            }),
            fast: FastPath::disabled(),
        }
    }

    /// The `Db` of one HTTP worker, with its share of async connections. Called once per
    /// worker, on the worker's thread (its connections' tasks run on its event loop).
    pub fn for_worker(&self) -> Self {
        let turn = self.shared.next_share.fetch_add(1, Ordering::Relaxed);
        let share = self.shared.shares.get(turn).copied().unwrap_or(0);
        let fast = if share == 0 {
            FastPath::disabled()
        } else {
            FastPath::new(
                &self.shared.url,
                share,
                self.shared.timeout,
                Arc::clone(&self.shared.replan),
            )
        };
        if let Some(pool) = fast.pool() {
            self.shared
                .fast_pools
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(pool);
        }
        Self {
            shared: Arc::clone(&self.shared),
            fast,
        }
    }

    /// The same `Db` with this worker's async connections pausing for `pause` after a
    /// failed checkout (tests).
    pub fn pausing_for(self, pause: Duration) -> Self {
        Self {
            fast: self.fast.pausing_for(pause),
            ..self
        }
    }

    /// Runs `f` with a connection of the blocking pool on the blocking thread pool, never
    /// on an async worker, carrying the current span so its log lines keep the request
    /// id. For `provisioning`, which composes store functions in one transaction here.
    pub async fn run<F, T>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let span = tracing::Span::current();
        actix_web::web::block(move || {
            let _entered = span.enter();
            shared.with_conn(f)
        })
        .await?
    }

    /// Runs `f` like [`Db::run`], but with the writes to the same `key` that arrive while
    /// one runs: they are committed together, each in a savepoint, and each answered after
    /// the commit ([`super::together`]). `f` must be all-or-nothing by itself (its writes
    /// in `conn.transaction`, as every write given to [`Db::run`]): alone it is its own
    /// transaction; with others, a savepoint of theirs.
    pub async fn run_together<F, T>(&self, key: together::Key, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let out = f(conn);
            let broken = matches!(out, Err(Error::Unavailable(_)));
            let finish: together::Finish = Box::new(move |ended| {
                let out = match (ended, out) {
                    (Err(batch), Ok(_)) => Err(together::not_committed(batch)),
                    (Err(batch), Err(e)) if e.status().is_server_error() => {
                        Err(together::not_committed(batch))
                    }
                    (_, out) => out,
                };
                // The request may have gone (its client hung up): nothing to tell.
                let _ = answer.send(out);
            });
            (finish, broken)
        });
        if self.shared.together.push(key, job) {
            let shared = Arc::clone(&self.shared);
            let span = tracing::Span::current();
            tokio::spawn(async move {
                loop {
                    let jobs = shared.together.next(key);
                    if jobs.is_empty() {
                        break;
                    }
                    let shared = Arc::clone(&shared);
                    let span = span.clone();
                    // A batch that cannot get a connection drops its writes: each is
                    // answered 503 below.
                    let _ = actix_web::web::block(move || {
                        let _entered = span.enter();
                        shared.with_conn(|conn| together::run(conn, jobs))
                    })
                    .await;
                }
            });
        }
        answered.await.unwrap_or_else(|_| {
            Err(Error::Unavailable(
                "the write was not run: no database connection could be had for it".into(),
            ))
        })
    }

    /// A connection of the blocking pool, for synchronous callers (tests).
    pub fn get(&self) -> Result<PooledConnection<Manager>, Error> {
        self.shared.checkout()
    }

    /// Every pool's connections.
    pub fn states(&self) -> PoolStates {
        let s = self.shared.blocking.state();
        let blocking = PoolState {
            in_use: s.connections.saturating_sub(s.idle_connections),
            idle: s.idle_connections,
            max: self.shared.blocking.max_size(),
        };
        let mut fast = PoolState::default();
        for pool in self
            .shared
            .fast_pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let s = pool.status();
            let size = u32::try_from(s.size).unwrap_or(u32::MAX);
            let idle = u32::try_from(s.available).unwrap_or(u32::MAX);
            fast.in_use += size.saturating_sub(idle);
            fast.idle += idle;
            fast.max += u32::try_from(s.max_size).unwrap_or(u32::MAX);
        }
        PoolStates { blocking, fast }
    }

    /// How many transactions took several writes together ([`Db::run_together`]).
    pub fn together(&self) -> together::Together {
        self.shared.together.counts()
    }

    /// How many times the tables grew enough for every connection to plan again.
    pub fn replans(&self) -> u64 {
        self.shared.replan.times()
    }

    /// Whether each pool of this worker answers a query.
    pub async fn probe(&self) -> (Probe, Probe) {
        let blocking = match self
            .run(|conn| R2D2Connection::ping(conn).map_err(Error::from))
            .await
        {
            Ok(()) => Probe::Up,
            Err(e) => {
                tracing::warn!(error = %e, "the blocking pool cannot reach PostgreSQL");
                Probe::Down
            }
        };
        let fast = match self.fast.ping().await {
            None => Probe::Off,
            Some(Ok(())) => Probe::Up,
            // Requests fall back to the blocking pool meanwhile; the failed checkout has
            // been logged once already.
            Some(Err(e)) => {
                tracing::debug!(error = %e, "async connections cannot reach PostgreSQL");
                Probe::Down
            }
        };
        (blocking, fast)
    }

    /// A user SCIM can see, with its groups when `groups`.
    pub async fn user(
        &self,
        tenant_id: uuid::Uuid,
        id: uuid::Uuid,
        groups: bool,
    ) -> Result<Option<UserView>, Error> {
        if let Some(mut conn) = self.fast.conn().await {
            return Ok(users::view_async(&mut conn, tenant_id, id, groups).await?);
        }
        self.run(move |conn| Ok(users::view(conn, tenant_id, id, groups)?))
            .await
    }

    /// A page of users, each with its groups when `groups`.
    pub async fn users_page(
        &self,
        tenant_id: uuid::Uuid,
        spec: PageSpec,
        base_url: String,
        groups: bool,
    ) -> Result<Page<UserView>, Error> {
        if search::is_lookup(&spec.query()) {
            if let Some(mut conn) = self.fast.conn().await {
                let q = spec.query();
                let mut rows =
                    search::lookup_users(&mut conn, tenant_id, &q, &base_url, groups).await?;
                let (more, total) = spec.trim(&mut rows);
                let total = match total {
                    Some(total) => total,
                    None => {
                        let filter = spec.filter.as_ref();
                        search::count_async(&mut conn, Kind::Users, tenant_id, filter, &base_url)
                            .await?
                    }
                };
                return Ok(Page { rows, total, more });
            }
        }
        self.run(move |conn| {
            page_of(conn, Kind::Users, tenant_id, &spec, &base_url, |conn, q| {
                Ok(search::list_users(conn, tenant_id, q, &base_url, groups)?)
            })
        })
        .await
    }

    /// A group, with its members when `members`.
    pub async fn group(
        &self,
        tenant_id: uuid::Uuid,
        id: uuid::Uuid,
        members: bool,
    ) -> Result<Option<GroupView>, Error> {
        self.run(move |conn| Ok(group_view(conn, tenant_id, id, members)?))
            .await
    }

    /// A page of groups, each with its members when `members`.
    pub async fn groups_page(
        &self,
        tenant_id: uuid::Uuid,
        spec: PageSpec,
        base_url: String,
        members: bool,
    ) -> Result<Page<GroupView>, Error> {
        self.run(move |conn| {
            let Page { rows, total, more } = page_of(
                conn,
                Kind::Groups,
                tenant_id,
                &spec,
                &base_url,
                |conn, q| Ok(search::list_groups(conn, tenant_id, q, &base_url)?),
            )?;
            let rows = rows
                .into_iter()
                .map(|group| {
                    let members = members
                        .then(|| groups::members_of(conn, group.tenant_id, group.id))
                        .transpose()?;
                    Ok(GroupView { group, members })
                })
                .collect::<Result<_, Error>>()?;
            Ok(Page { rows, total, more })
        })
        .await
    }

    /// [`users::insert_if_new`]: `new` and its `event` in one statement, unless the
    /// tenant's source is one of `pull_sources` or some user could be the same person
    /// (`None`, and nothing written). On a worker, creates that arrive together are
    /// written in one statement ([`FastPath::create_user`]), each with the outcome it
    /// would have had alone. `new` comes back with the outcome.
    pub async fn insert_user_if_new(
        &self,
        new: NewUser<'static>,
        event: NewEvent,
        pull_sources: &'static [Source],
    ) -> Result<
        (
            Result<Option<UserView>, diesel::result::Error>,
            NewUser<'static>,
        ),
        Error,
    > {
        let (new, event) = match self.fast.create_user(new, event, pull_sources).await {
            FastCreate::Done(outcome, new) => return Ok((outcome, new)),
            FastCreate::Lost(e) => return Err(e.into()),
            FastCreate::NoConnection(new, event) => (new, event),
        };
        self.run(move |conn| {
            let outcome = users::insert_if_new(conn, &new, pull_sources, &event);
            Ok((outcome, new))
        })
        .await
    }
}

impl Shared {
    /// Runs `f` on a pooled connection. A connection-level failure keeps the connection
    /// out of the pool, and has every older connection checked before its next use.
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut pooled = self.checkout()?;
        let result = f(&mut pooled.conn);
        if let Err(Error::Unavailable(_)) = &result {
            pooled.failed = true;
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

impl Shared {
    /// A connection of the blocking pool. Its failure says what libpq said of the last
    /// attempt, with the URL's password taken out.
    fn checkout(&self) -> Result<PooledConnection<Manager>, Error> {
        self.blocking
            .get()
            .map_err(|e| Error::Unavailable(Box::new(Redacted(self.url.redact(&e.to_string())))))
    }
}

/// A driver's error text with the URL's password taken out ([`DatabaseUrl::redact`]).
#[derive(Debug)]
pub struct Redacted(pub String);

impl std::fmt::Display for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Redacted {}

/// Logs the blocking pool's failed connection attempts, without the URL's password.
#[derive(Debug)]
struct RedactingErrorHandler(DatabaseUrl);

impl r2d2::HandleError<diesel::r2d2::Error> for RedactingErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(error = %self.0.redact(&error.to_string()), "cannot connect to PostgreSQL");
    }
}

/// `total` split into `parts` shares that add up to it exactly, the larger ones first.
fn split(total: u32, parts: usize) -> Vec<u32> {
    let n = u32::try_from(parts).unwrap_or(u32::MAX).max(1);
    (0..n)
        .map(|i| total / n + u32::from(i < total % n))
        .collect()
}

/// A connection of the blocking pool.
pub struct Pooled {
    conn: PgConnection,
    /// [`Shared::failures`] when it was made or last checked.
    checked_at: u64,
    /// It failed at the connection level: it is dropped, not returned.
    failed: bool,
    /// When it was made or last dropped its plans ([`super::plans`]).
    planned: Instant,
}

impl std::ops::Deref for Pooled {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// diesel's r2d2 manager, which returns a connection to its pool unless its transaction
/// state is broken, plus what [`Pooled`] knows of its health: diesel does not look at
/// libpq's connection status, so a connection whose server went away would otherwise go
/// back and fail every request that got it.
pub struct Manager {
    inner: ConnectionManager<PgConnection>,
    failures: Arc<AtomicU64>,
    replan: Arc<Replan>,
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let checked_at = self.failures.load(Ordering::Relaxed);
        Ok(Pooled {
            conn: self.inner.connect()?,
            checked_at,
            failed: false,
            planned: Instant::now(),
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), Self::Error> {
        if self.replan.stale(pooled.planned) {
            plans::discard(&mut pooled.conn).map_err(diesel::r2d2::Error::QueryError)?;
            pooled.planned = Instant::now();
        }
        let failures = self.failures.load(Ordering::Relaxed);
        if pooled.checked_at == failures {
            return Ok(());
        }
        self.inner.is_valid(&mut pooled.conn)?;
        pooled.checked_at = failures;
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.failed || self.inner.has_broken(&mut pooled.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_budget_exactly() {
        assert_eq!(split(10, 3), vec![4, 3, 3]);
        assert_eq!(split(10, 2), vec![5, 5]);
        assert_eq!(split(2, 4), vec![1, 1, 0, 0]);
        assert_eq!(split(1, 1), vec![1]);
        for total in 1..40 {
            for parts in 1..12 {
                let shares = split(total, parts);
                assert_eq!(shares.len(), parts);
                assert_eq!(shares.iter().sum::<u32>(), total, "{total} over {parts}");
            }
        }
    }

    #[test]
    fn a_page_keeps_what_it_asked_for_and_knows_its_total_when_it_can() {
        let spec = |start, count, cursor| PageSpec {
            filter: None,
            sort_by: None,
            descending: false,
            start,
            count,
            cursor,
        };
        // A first page that is not full holds every match.
        let mut rows = vec![1, 2];
        assert_eq!(
            spec(Start::Offset(0), 5, false).trim(&mut rows),
            (false, Some(2))
        );
        // A full one, or one further on, needs a count.
        let mut rows = vec![1, 2, 3];
        assert_eq!(
            spec(Start::Offset(0), 3, false).trim(&mut rows),
            (false, None)
        );
        let mut rows = vec![1];
        assert_eq!(
            spec(Start::Offset(4), 3, false).trim(&mut rows),
            (false, None)
        );
        // A cursor page reads one more row, which says a next page exists.
        let s = spec(Start::Offset(0), 2, true);
        assert_eq!(s.query().count, 3);
        let mut rows = vec![1, 2, 3];
        assert_eq!(s.trim(&mut rows), (true, None));
        assert_eq!(rows, vec![1, 2]);
    }
}
