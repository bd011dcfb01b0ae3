//! The scheduler every node runs (DESIGN.md, Pull sync): one step ([`Worker::run_once`])
//! records the runs whose node died, queues the connections that are due, and starts as
//! many queued runs as this node has free workers; a loop calls it on a tick, when a run
//! is queued on this node, and stops on shutdown.
//!
//! Runs are claimed with `FOR UPDATE SKIP LOCKED` and held by a lease the running node
//! renews, so N nodes never run one tenant twice at once; a lease that runs out is a dead
//! node's, and its run is recorded as failed (`interrupted`), nothing of it applied.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use super::engine::{self, Connector, RunContext};
use super::metrics::SyncMetrics;
use super::SyncError;
use crate::clock::SharedClock;
use crate::error::Error;
use crate::store::sync::{self as store, RunRow};
use crate::store::Db;

/// Builds the connector of a run's connection.
pub trait Connect: Send + Sync + 'static {
    type Connector: Connector + 'static;
    /// The connector, and whether the connection includes the directory's guests.
    fn connect(
        &self,
        db: &Db,
        run: &RunRow,
    ) -> impl Future<Output = Result<(Self::Connector, bool), SyncError>> + Send;
}

/// How long a lease lasts without renewal, and how often a queued or due run is looked
/// for.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub lease: Duration,
    pub tick: Duration,
    /// Up to this much is added to a connection's interval, so that tenants saved together
    /// do not sync together for ever.
    pub jitter: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            tick: Duration::from_secs(10),
            jitter: Duration::from_secs(600),
        }
    }
}

/// A node's scheduler.
pub struct Worker<F: Connect> {
    db: Db,
    clock: SharedClock,
    owner: String,
    slots: Arc<Semaphore>,
    factory: Arc<F>,
    timing: Timing,
    /// Woken when a run is queued on this node.
    pub wake: Arc<Notify>,
    metrics: SyncMetrics,
}

impl<F: Connect> Worker<F> {
    pub fn new(
        db: Db,
        clock: SharedClock,
        workers: usize,
        factory: F,
        timing: Timing,
        wake: Arc<Notify>,
        metrics: SyncMetrics,
    ) -> Self {
        Self {
            db,
            clock,
            owner: format!("node:{}", uuid::Uuid::new_v4()),
            slots: Arc::new(Semaphore::new(workers)),
            factory: Arc::new(factory),
            timing,
            wake,
            metrics,
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// One step: reap, queue what is due, start queued runs into `running`. How many it
    /// started.
    pub async fn run_once(&self, running: &mut JoinSet<()>) -> Result<usize, Error> {
        let now = self.clock.now();
        let jitter = i64::try_from(self.timing.jitter.as_secs()).unwrap_or(0);
        self.db
            .run(move |conn| {
                store::reap(conn, now)?;
                store::enqueue_due(conn, now, jitter)?;
                Ok(())
            })
            .await?;
        let mut started = 0;
        while let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            let owner = self.owner.clone();
            let lease = chrono::Duration::from_std(self.timing.lease).unwrap_or_default();
            let claimed = self
                .db
                .run(move |conn| Ok(store::claim(conn, &owner, now + lease, now)?))
                .await?;
            let Some(run) = claimed else { break };
            let db = self.db.clone();
            let clock = self.clock.clone();
            let owner = self.owner.clone();
            let factory = Arc::clone(&self.factory);
            let timing = self.timing;
            let metrics = self.metrics.clone();
            running.spawn(async move {
                let _permit = permit;
                let started = std::time::Instant::now();
                let provider = run.provider;
                if let Some(status) = execute_one(db, clock, owner, factory, timing, run).await {
                    metrics.ended(
                        provider.as_str(),
                        status.as_str(),
                        started.elapsed().as_secs_f64(),
                    );
                }
            });
            started += 1;
        }
        Ok(started)
    }

    /// Steps until `shutdown` resolves; then hands this node's unfinished runs back to the
    /// queue for another node (their leases released), and returns.
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) {
        let mut running = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.run_once(&mut running).await {
                tracing::warn!(error = %e, "sync scheduler step failed");
            }
            while running.try_join_next().is_some() {}
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.timing.tick) => {}
                () = self.wake.notified() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        running.abort_all();
        while running.join_next().await.is_some() {}
        let owner = self.owner.clone();
        let released = self
            .db
            .run(move |conn| {
                let mine: Vec<(uuid::Uuid, uuid::Uuid)> = {
                    use crate::store::schema::sync_runs;
                    use diesel::prelude::*;
                    sync_runs::table
                        .filter(sync_runs::lease_owner.eq(&owner))
                        .filter(sync_runs::status.eq(crate::domain::RunStatus::Running))
                        .select((sync_runs::tenant_id, sync_runs::id))
                        .load::<(uuid::Uuid, uuid::Uuid)>(conn)?
                };
                let mut n = 0;
                for (tenant_id, id) in mine {
                    let run = store::RunKey { tenant_id, id };
                    n += usize::from(store::requeue(conn, run, &owner)?);
                }
                Ok(n)
            })
            .await;
        match released {
            Ok(n) if n > 0 => tracing::info!(runs = n, "sync runs handed back on shutdown"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not hand sync runs back on shutdown"),
        }
    }
}

/// Runs one claimed run to its end, renewing its lease meanwhile.
async fn execute_one<F: Connect>(
    db: Db,
    clock: SharedClock,
    owner: String,
    factory: Arc<F>,
    timing: Timing,
    run: RunRow,
) -> Option<crate::domain::RunStatus> {
    let renewer = {
        let (db, clock, owner, key) = (db.clone(), clock.clone(), owner.clone(), run.key());
        tokio::spawn(async move {
            let lease = chrono::Duration::from_std(timing.lease).unwrap_or_default();
            loop {
                tokio::time::sleep(timing.lease / 3).await;
                let until = clock.now() + lease;
                let owner = owner.clone();
                match db
                    .run(move |conn| Ok(store::renew(conn, key, &owner, until)?))
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!(error = %e, "could not renew a sync lease"),
                }
            }
        })
    };
    let run_id = run.id;
    let result = match factory.connect(&db, &run).await {
        Ok((connector, include_guests)) => {
            let ctx = RunContext {
                db: db.clone(),
                owner,
                include_guests,
            };
            engine::execute(&ctx, run, &connector, &clock).await
        }
        Err(e) => {
            let error = serde_json::json!({"code": e.code, "message": e.message});
            engine::fail(&db, &run, error, clock.now()).await
        }
    };
    renewer.abort();
    match result {
        Ok(run) => {
            tracing::info!(run = %run.id, status = %run.status, "sync run ended");
            Some(run.status)
        }
        Err(e) => {
            tracing::error!(run = %run_id, error = %e, "sync run could not be recorded");
            None
        }
    }
}
