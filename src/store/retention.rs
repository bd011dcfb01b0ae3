//! Pruning old rows in batches, and the leases that let one node at a time do it.
//!
//! Each function here is one short statement (its own transaction when called outside
//! one), touching at most `batch` rows: the rows it deletes are old ones nobody writes, so
//! writers never wait on it for long.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct MaybeId {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
}

/// Deletes up to `batch` of the tenant's oldest events, in feed order, stopping at the
/// first one that occurred at or after `cutoff`: what is pruned is always a prefix of the
/// tenant's feed. Its newest event is always kept, since the sequencer numbers on from it
/// ([`super::events::sequence`]); unsequenced events are never touched. The tenant's
/// horizon ([`horizon`]) moves up in the same statement. How many were deleted.
pub fn prune_events(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> QueryResult<i64> {
    let n: Count = diesel::sql_query(
        "WITH head AS ( \
             SELECT seq, id, occurred_at FROM events \
             WHERE tenant_id = $3 AND id IS NOT NULL ORDER BY id LIMIT $2), \
         stop AS ( \
             SELECT least( \
                 (SELECT min(id) FROM head WHERE occurred_at >= $1), \
                 (SELECT max(id) FROM events WHERE tenant_id = $3)) AS at), \
         gone AS ( \
             DELETE FROM events e USING head, stop \
             WHERE e.tenant_id = $3 AND e.seq = head.seq AND head.id < stop.at \
             RETURNING e.id), \
         moved AS ( \
             INSERT INTO event_horizons (tenant_id, pruned_through) \
             SELECT $3, max(id) FROM gone HAVING count(*) > 0 \
             ON CONFLICT (tenant_id) DO UPDATE \
             SET pruned_through = greatest(event_horizons.pruned_through, excluded.pruned_through)) \
         SELECT count(*) AS n FROM gone",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(batch)
    .bind::<SqlUuid, _>(tenant_id)
    .get_result(conn)?;
    Ok(n.n)
}

/// The highest feed position of the tenant's pruned events: a reader whose `after` is
/// below it has missed some. `None` when none of its events were pruned.
pub fn horizon(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<i64>> {
    let row: Option<MaybeId> =
        diesel::sql_query("SELECT pruned_through AS id FROM event_horizons WHERE tenant_id = $1")
            .bind::<SqlUuid, _>(tenant_id)
            .get_result(conn)
            .optional()?;
    Ok(row.and_then(|r| r.id))
}

/// The feed position of the tenant's oldest kept event, if it has one.
pub fn oldest_event(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<i64>> {
    let row: MaybeId = diesel::sql_query(
        "SELECT min(id) AS id FROM events WHERE tenant_id = $1 AND id IS NOT NULL",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .get_result(conn)?;
    Ok(row.id)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// What a retention pass lists by age.
#[derive(Debug, Clone, Copy)]
pub enum Old {
    /// The tenant's finished sync runs, by creation. Queued and running runs are never
    /// pruned.
    Runs,
    /// The tenant's deprovisioned people, by when they were deprovisioned.
    Deprovisioned,
}

impl Old {
    /// With `$1` the tenant, `$2` the cutoff and `$3` the limit.
    fn select(self) -> &'static str {
        match self {
            Self::Runs => {
                "SELECT id FROM sync_runs WHERE tenant_id = $1 \
                 AND created_at < $2 AND status NOT IN ('queued', 'running') \
                 ORDER BY created_at LIMIT $3"
            }
            Self::Deprovisioned => {
                "SELECT id FROM users WHERE tenant_id = $1 \
                 AND deprovisioned_at < $2 ORDER BY deprovisioned_at LIMIT $3"
            }
        }
    }
}

/// Up to `limit` ids of the tenant's `what` from before `cutoff`, oldest first.
pub fn old_ids(
    conn: &mut PgConnection,
    what: Old,
    tenant_id: Uuid,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<Id> = diesel::sql_query(what.select())
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The tables that hold a run's plan and staging, pruned before the run itself.
const RUN_TABLES: [&str; 4] = [
    "sync_plan_items",
    "sync_staged_users",
    "sync_staged_groups",
    "sync_staged_members",
];

/// Deletes up to `batch` rows of the run's plan and staging; how many. Zero: the run
/// holds none any more and [`delete_run`] is short.
pub fn prune_run_rows(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    run_id: Uuid,
    batch: i64,
) -> QueryResult<i64> {
    for table in RUN_TABLES {
        // `table` is one of the names above, never input.
        let n = diesel::sql_query(format!(
            "DELETE FROM {table} WHERE tenant_id = $3 AND ctid = ANY(ARRAY( \
                 SELECT ctid FROM {table} WHERE tenant_id = $3 AND run_id = $1 LIMIT $2))"
        ))
        .bind::<SqlUuid, _>(run_id)
        .bind::<BigInt, _>(batch)
        .bind::<SqlUuid, _>(tenant_id)
        .execute(conn)?;
        if n > 0 {
            return Ok(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    Ok(0)
}

/// Deletes a finished run (its plan and staging pruned first by [`prune_run_rows`]).
pub fn delete_run(conn: &mut PgConnection, tenant_id: Uuid, run_id: Uuid) -> QueryResult<bool> {
    let n = diesel::sql_query(
        "DELETE FROM sync_runs WHERE tenant_id = $2 AND id = $1 \
         AND status NOT IN ('queued', 'running')",
    )
    .bind::<SqlUuid, _>(run_id)
    .bind::<SqlUuid, _>(tenant_id)
    .execute(conn)?;
    Ok(n > 0)
}

/// A tenant, as housekeeping goes through them one by one.
#[derive(QueryableByName, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    /// Its `erase_deprovisioned_after`, in seconds, if set.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub erase_after_secs: Option<i64>,
}

/// Every tenant, in id order, for housekeeping.
pub fn tenants(conn: &mut PgConnection) -> QueryResult<Vec<Kept>> {
    diesel::sql_query(
        "SELECT id AS tenant_id, erase_deprovisioned_after_secs AS erase_after_secs \
         FROM tenants ORDER BY id",
    )
    .load(conn)
}

/// A statement on `owner`'s lease on `job`: `$1` is the job, `$2` the owner and `$3` `at`,
/// the parameters every lease statement starts with; the caller binds any after them.
fn on_lease<'a>(
    text: &str,
    job: &'a str,
    owner: &'a str,
    at: DateTime<Utc>,
) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
    diesel::sql_query(text)
        .into_boxed()
        .bind::<Text, _>(job)
        .bind::<Text, _>(owner)
        .bind::<Timestamptz, _>(at)
}

/// Takes the job `job` for `owner` until `until`, unless another owner's lease on it is
/// still live or it was done less than `every_secs` ago. Whether it was taken.
pub fn claim(
    conn: &mut PgConnection,
    job: &str,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    every_secs: i64,
) -> QueryResult<bool> {
    let n = on_lease(
        "INSERT INTO job_leases (job, owner, lease_until) VALUES ($1, $2, $4) \
         ON CONFLICT (job) DO UPDATE SET owner = $2, lease_until = $4 \
         WHERE (job_leases.lease_until IS NULL OR job_leases.lease_until < $3 \
                OR job_leases.owner = $2) \
           AND (job_leases.last_done_at IS NULL \
                OR job_leases.last_done_at <= $3 - $5 * interval '1 second')",
        job,
        owner,
        now,
    )
    .bind::<Timestamptz, _>(until)
    .bind::<BigInt, _>(every_secs)
    .execute(conn)?;
    Ok(n > 0)
}

/// Extends `owner`'s lease on `job`; false when it is not theirs any more.
pub fn renew(
    conn: &mut PgConnection,
    job: &str,
    owner: &str,
    until: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = on_lease(
        "UPDATE job_leases SET lease_until = $3 WHERE job = $1 AND owner = $2",
        job,
        owner,
        until,
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Releases `owner`'s lease on `job`; `done` records the job as done at `now` (so no node
/// takes it again before its interval has passed).
pub fn release(
    conn: &mut PgConnection,
    job: &str,
    owner: &str,
    now: DateTime<Utc>,
    done: bool,
) -> QueryResult<()> {
    on_lease(
        "UPDATE job_leases SET owner = NULL, lease_until = NULL, \
         last_done_at = CASE WHEN $4 THEN $3 ELSE last_done_at END \
         WHERE job = $1 AND owner = $2",
        job,
        owner,
        now,
    )
    .bind::<diesel::sql_types::Bool, _>(done)
    .execute(conn)
    .map(drop)
}
