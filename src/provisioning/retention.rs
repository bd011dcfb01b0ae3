//! Years of data: the housekeeping one node at a time does.
//!
//! - Events older than `SCIMD_EVENT_RETENTION` (default 400 days) are pruned, oldest first,
//!   as a prefix of the feed ([`store::prune_events`]); each tenant's horizon tells a feed
//!   reader that started before it that it missed events (410).
//! - Sync runs, their plans and their staging are kept 90 days.
//! - A tenant with `erase_deprovisioned_after` set has its people erased that long after
//!   they were deprovisioned, each with a `user.removed` event, through the same code that
//!   erases a person on delete.
//!
//! Everything goes in batches of short statements (10,000 rows at most), so writers never
//! wait on it. A pass is leased through the database ([`store::claim`]): the node that
//! holds the lease does it, renewing as it goes; every other node finds the job taken, or
//! done less than an interval ago, and does nothing. A pass is bounded in batches and in
//! time; what it left is the next pass's.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::PgConnection;

use super::events::Actor;
use crate::clock::SharedClock;
use crate::error::Error;
use crate::store::retention::{self as store, Old};
use crate::store::Db;

/// The lease's name in `job_leases`.
pub const JOB: &str = "retention";
/// Sync runs and their plans are kept this long.
pub const RUN_RETENTION: chrono::Duration = chrono::Duration::days(90);
/// The actor of the `user.removed` events of erased people.
pub const ACTOR: &str = "system:retention";

/// What is kept, and how much one pass may do.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub event_retention: chrono::Duration,
    pub run_retention: chrono::Duration,
    /// Rows per statement.
    pub batch: i64,
    /// Statements per pass, at most (each tenant takes two or three even when nothing of
    /// it is due).
    pub max_batches: u32,
    /// How long one pass may take, at most.
    pub budget: Duration,
}

impl Policy {
    pub fn new(event_retention: Duration) -> Self {
        Self {
            event_retention: chrono::Duration::from_std(event_retention)
                .unwrap_or(chrono::Duration::days(400)),
            run_retention: RUN_RETENTION,
            batch: 10_000,
            max_batches: 20_000,
            budget: Duration::from_secs(300),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether this node did the pass (false: another node holds the job, or it was done
    /// less than an interval ago).
    pub ran: bool,
    pub events_pruned: i64,
    pub runs_pruned: i64,
    /// Rows of the pruned runs' plans and staging.
    pub run_rows_pruned: i64,
    pub people_erased: i64,
    /// Whether everything due was done (false: the pass hit its bounds).
    pub finished: bool,
}

/// A node's housekeeper.
pub struct Housekeeper {
    db: Db,
    clock: SharedClock,
    owner: String,
    policy: Policy,
    every: Duration,
    lease: Duration,
}

/// A pass's running count of statements, and its deadline.
struct Budget {
    left: u32,
    until: Instant,
}

impl Budget {
    /// Takes one statement's worth; false when the pass must stop.
    fn take(&mut self) -> bool {
        if self.left == 0 || Instant::now() >= self.until {
            return false;
        }
        self.left -= 1;
        true
    }
}

/// Why a tenant's share of a pass ended before its work did.
enum Stop {
    /// The pass's budget ran out: the rest waits for the next pass.
    Spent,
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl Housekeeper {
    pub fn new(db: Db, clock: SharedClock, policy: Policy, every: Duration) -> Self {
        Self {
            db,
            clock,
            owner: format!("node:{}", uuid::Uuid::new_v4()),
            policy,
            every,
            lease: Duration::from_secs(120),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// One pass at `now`, if this node gets the job.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Outcome, Error> {
        let until = now + chrono::Duration::from_std(self.lease).unwrap_or_default();
        let every = i64::try_from(self.every.as_secs()).unwrap_or(i64::MAX);
        let owner = self.owner.clone();
        let claimed = self
            .db
            .run(move |conn| Ok(store::claim(conn, JOB, &owner, now, until, every)?))
            .await?;
        if !claimed {
            return Ok(Outcome::default());
        }
        let result = self.pass(now).await;
        let done = matches!(result, Ok(Outcome { finished: true, .. }));
        let owner = self.owner.clone();
        let released = self
            .db
            .run(move |conn| Ok(store::release(conn, JOB, &owner, now, done)?))
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not release the housekeeping lease; it runs out by itself");
        }
        result
    }

    async fn pass(&self, now: DateTime<Utc>) -> Result<Outcome, Error> {
        let mut out = Outcome {
            ran: true,
            ..Outcome::default()
        };
        let mut budget = Budget {
            left: self.policy.max_batches,
            until: Instant::now() + self.policy.budget,
        };
        // Tenant by tenant, so that every statement stays within one tenant's rows.
        let tenants = self.db.run(|conn| Ok(store::tenants(conn)?)).await?;
        for (i, tenant) in tenants.iter().enumerate() {
            match self.tenant_pass(tenant, now, &mut budget, &mut out).await {
                Ok(()) => {}
                Err(Stop::Spent) => return Ok(out),
                Err(Stop::Failed(e)) => return Err(e),
            }
            if i % 100 == 99 {
                self.renew().await?;
            }
        }
        out.finished = true;
        Ok(out)
    }

    /// One tenant's share of a pass: its old events, its old sync runs, its people due
    /// to be erased. [`Stop::Spent`] when the pass's budget ran out.
    async fn tenant_pass(
        &self,
        tenant: &store::Kept,
        now: DateTime<Utc>,
        budget: &mut Budget,
        out: &mut Outcome,
    ) -> Result<(), Stop> {
        let tenant_id = tenant.tenant_id;
        let batch = self.policy.batch.max(1);

        // Only events with a feed position are pruned, and positions are given when the
        // tenant's feed is read: a tenant nobody reads the feed of would keep every event.
        // So its events are numbered here first (a probe of an index when none waits).
        self.metered(budget, move |conn| {
            Ok(crate::store::events::sequence(conn, tenant_id)?)
        })
        .await?;

        let cutoff = now - self.policy.event_retention;
        loop {
            let n = self
                .metered(budget, move |conn| {
                    Ok(store::prune_events(conn, tenant_id, cutoff, batch)?)
                })
                .await?;
            out.events_pruned += n;
            if n < batch {
                break;
            }
            self.renew().await?;
        }

        let cutoff = now - self.policy.run_retention;
        loop {
            let runs = self
                .metered(budget, move |conn| {
                    Ok(store::old_ids(conn, Old::Runs, tenant_id, cutoff, 100)?)
                })
                .await?;
            for &run in &runs {
                loop {
                    let n = self
                        .metered(budget, move |conn| {
                            Ok(store::prune_run_rows(conn, tenant_id, run, batch)?)
                        })
                        .await?;
                    out.run_rows_pruned += n;
                    if n == 0 {
                        break;
                    }
                }
                let deleted = self
                    .db
                    .run(move |conn| Ok(store::delete_run(conn, tenant_id, run)?))
                    .await?;
                out.runs_pruned += i64::from(deleted);
            }
            if !runs.is_empty() {
                self.renew().await?;
            }
            if runs.len() < 100 {
                break;
            }
        }

        let Some(secs) = tenant.erase_after_secs else {
            return Ok(());
        };
        let cutoff = now - chrono::Duration::seconds(secs);
        const PEOPLE_PER_BATCH: i64 = 500;
        let mut erased_here = 0;
        loop {
            let due = self
                .metered(budget, move |conn| {
                    Ok(store::old_ids(
                        conn,
                        Old::Deprovisioned,
                        tenant_id,
                        cutoff,
                        PEOPLE_PER_BATCH,
                    )?)
                })
                .await?;
            let found = due.len();
            let erased = self
                .db
                .run(move |conn| {
                    let actor = Actor {
                        tenant_id,
                        actor: ACTOR.to_owned(),
                        request_id: None,
                    };
                    let mut n = 0;
                    for person in due {
                        let erased =
                            super::people::erase_deprovisioned(conn, &actor, person, cutoff, now)?;
                        n += i64::from(erased);
                    }
                    Ok(n)
                })
                .await?;
            erased_here += erased;
            self.renew().await?;
            if i64::try_from(found).unwrap_or(i64::MAX) < PEOPLE_PER_BATCH {
                break;
            }
        }
        out.people_erased += erased_here;
        if erased_here > 0 {
            // The feed numbers the `user.removed` events now rather than at its next read.
            self.db
                .run(move |conn| Ok(crate::store::events::sequence(conn, tenant_id)?))
                .await?;
        }
        Ok(())
    }

    /// Runs `f` as one statement of the pass's `budget`; [`Stop::Spent`], without running
    /// it, when the budget is spent.
    async fn metered<T, F>(&self, budget: &mut Budget, f: F) -> Result<T, Stop>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        if !budget.take() {
            return Err(Stop::Spent);
        }
        Ok(self.db.run(f).await?)
    }

    /// Keeps the lease while a pass goes on; losing it (a pass longer than the lease with
    /// the database unreachable meanwhile) stops the pass.
    async fn renew(&self) -> Result<(), Error> {
        let until = self.clock.now() + chrono::Duration::from_std(self.lease).unwrap_or_default();
        let owner = self.owner.clone();
        let kept = self
            .db
            .run(move |conn| Ok(store::renew(conn, JOB, &owner, until)?))
            .await?;
        if kept {
            Ok(())
        } else {
            Err(Error::internal(
                "the housekeeping lease went to another node",
            ))
        }
    }

    /// Offers to do a pass every interval until `shutdown` resolves. The first offer comes
    /// a tenth of an interval after start, so that nodes restarted more often than the
    /// interval still get the job done (the lease keeps it to one pass per interval).
    pub async fn run_until(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut wait = self.every / 10;
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = self.every;
            let pass = self.run_once(self.clock.now());
            let outcome = tokio::select! {
                () = &mut shutdown => return,
                outcome = pass => outcome,
            };
            match outcome {
                Ok(o) if o.ran => tracing::info!(
                    events = o.events_pruned,
                    sync_runs = o.runs_pruned,
                    people_erased = o.people_erased,
                    finished = o.finished,
                    "housekeeping pass done"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "housekeeping pass failed; the next one carries on")
                }
            }
        }
    }
}
