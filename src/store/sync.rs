//! Pull sync's tables (DESIGN.md, Pull sync): the runs and their leases, what a run staged
//! from the directory, the plan computed from it, and the directory's objects as the last
//! applied run left them (`sync_objects`).
//!
//! The plan of a run's people is computed here, in SQL, from the staged entries and the
//! tenant's people, so that a directory of 100,000 never passes through the server's
//! memory at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text};
use serde_json::Value;
use uuid::Uuid;

use super::schema::{connections, sync_plan_items, sync_runs, sync_staged_users};
use super::sql::{Bind, Sql};
use crate::domain::{PlanAction, RunStatus, RunTrigger, Source};

/// A run, as the table holds it.
#[derive(Queryable, QueryableByName, Selectable, Debug, Clone)]
#[diesel(table_name = sync_runs)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct RunRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub provider: Source,
    pub trigger: RunTrigger,
    pub dry_run: bool,
    pub status: RunStatus,
    pub full: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: Value,
    pub error: Option<Value>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub base_generation: Option<i64>,
    pub state_after: Option<Value>,
}

/// A run as its rows are keyed: the tenant and the run's id. Every statement on a run, its
/// staging or its plan names both, so that it stays within the tenant's rows (the schema
/// is ready to be distributed by tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunKey {
    pub tenant_id: Uuid,
    pub id: Uuid,
}

impl RunRow {
    pub fn key(&self) -> RunKey {
        RunKey {
            tenant_id: self.tenant_id,
            id: self.id,
        }
    }
}

const ACTIVE: &str = "('queued', 'running')";

/// Queues a run for the tenant, unless one is queued or running already: then that one.
/// Whether this call queued it.
pub fn enqueue(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider: Source,
    trigger: RunTrigger,
    dry_run: bool,
    now: DateTime<Utc>,
) -> QueryResult<(RunRow, bool)> {
    let inserted: Option<RunRow> = diesel::sql_query(format!(
        "INSERT INTO sync_runs (id, tenant_id, provider, trigger, dry_run, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id) WHERE status IN {ACTIVE} DO NOTHING RETURNING *"
    ))
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Text, _>(provider)
    .bind::<Text, _>(trigger)
    .bind::<diesel::sql_types::Bool, _>(dry_run)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .get_result(conn)
    .optional()?;
    if let Some(run) = inserted {
        return Ok((run, true));
    }
    let active = sync_runs::table
        .filter(sync_runs::tenant_id.eq(tenant_id))
        .filter(sync_runs::status.eq_any(RunStatus::ACTIVE.map(RunStatus::as_str)))
        .select(RunRow::as_select())
        .first(conn)?;
    Ok((active, false))
}

/// Takes the oldest queued run for `owner` until `lease_until`, passing over runs other
/// nodes are taking at the same moment.
pub fn claim(
    conn: &mut PgConnection,
    owner: &str,
    lease_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<Option<RunRow>> {
    diesel::sql_query(
        "UPDATE sync_runs r SET status = 'running', lease_owner = $1, lease_until = $2, \
         started_at = $3 WHERE (r.tenant_id, r.id) = (SELECT q.tenant_id, q.id FROM sync_runs q \
         WHERE q.status = 'queued' \
         ORDER BY q.created_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING r.*",
    )
    .bind::<Text, _>(owner)
    .bind::<diesel::sql_types::Timestamptz, _>(lease_until)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .get_result(conn)
    .optional()
}

/// Extends `owner`'s lease on a running run; false when it is no longer theirs.
pub fn renew(
    conn: &mut PgConnection,
    run: RunKey,
    owner: &str,
    lease_until: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        sync_runs::table
            .filter(sync_runs::tenant_id.eq(run.tenant_id))
            .filter(sync_runs::id.eq(run.id))
            .filter(sync_runs::lease_owner.eq(owner))
            .filter(sync_runs::status.eq(RunStatus::Running)),
    )
    .set(sync_runs::lease_until.eq(lease_until))
    .execute(conn)
    .map(|n| n > 0)
}

/// Locks `owner`'s running run for the transaction that ends it; `None` when the run is
/// no longer theirs (their lease ran out and another node recorded it as interrupted).
pub fn lock_own(conn: &mut PgConnection, run: RunKey, owner: &str) -> QueryResult<Option<RunRow>> {
    sync_runs::table
        .filter(sync_runs::tenant_id.eq(run.tenant_id))
        .filter(sync_runs::id.eq(run.id))
        .filter(sync_runs::lease_owner.eq(owner))
        .filter(sync_runs::status.eq(RunStatus::Running))
        .select(RunRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: RunStatus,
    pub full: bool,
    pub counts: Value,
    pub error: Option<Value>,
    pub base_generation: Option<i64>,
    pub state_after: Option<Value>,
}

/// Records a run's end and lets go of its lease.
pub fn finish(
    conn: &mut PgConnection,
    run: RunKey,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> QueryResult<RunRow> {
    diesel::update(
        sync_runs::table
            .filter(sync_runs::tenant_id.eq(run.tenant_id))
            .filter(sync_runs::id.eq(run.id)),
    )
    .set((
        sync_runs::status.eq(outcome.status),
        sync_runs::full.eq(outcome.full),
        sync_runs::counts.eq(&outcome.counts),
        sync_runs::error.eq(&outcome.error),
        sync_runs::base_generation.eq(outcome.base_generation),
        sync_runs::state_after.eq(&outcome.state_after),
        sync_runs::finished_at.eq(now),
        sync_runs::lease_owner.eq(None::<String>),
        sync_runs::lease_until.eq(None::<DateTime<Utc>>),
    ))
    .returning(RunRow::as_returning())
    .get_result(conn)
}

/// A held run becomes `status` (approved and applied, or failed).
pub fn set_status(
    conn: &mut PgConnection,
    run: RunKey,
    status: RunStatus,
    error: Option<Value>,
    now: DateTime<Utc>,
) -> QueryResult<RunRow> {
    diesel::update(
        sync_runs::table
            .filter(sync_runs::tenant_id.eq(run.tenant_id))
            .filter(sync_runs::id.eq(run.id)),
    )
    .set((
        sync_runs::status.eq(status),
        sync_runs::error.eq(error),
        sync_runs::finished_at.eq(now),
    ))
    .returning(RunRow::as_returning())
    .get_result(conn)
}

/// Puts `owner`'s running run back in the queue, with what it had staged dropped: a node
/// that stops hands its runs to the others rather than leaving them to expire.
pub fn requeue(conn: &mut PgConnection, run: RunKey, owner: &str) -> QueryResult<bool> {
    conn.transaction(|conn| {
        let n = diesel::update(
            sync_runs::table
                .filter(sync_runs::tenant_id.eq(run.tenant_id))
                .filter(sync_runs::id.eq(run.id))
                .filter(sync_runs::lease_owner.eq(owner))
                .filter(sync_runs::status.eq(RunStatus::Running)),
        )
        .set((
            sync_runs::status.eq(RunStatus::Queued),
            sync_runs::lease_owner.eq(None::<String>),
            sync_runs::lease_until.eq(None::<DateTime<Utc>>),
            sync_runs::started_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)?;
        if n > 0 {
            clear_staging(conn, run)?;
        }
        Ok(n > 0)
    })
}

/// Records as failed ("interrupted") every running run whose lease ran out: its node died
/// or lost the database. Nothing of such a run was applied (a run applies in one
/// transaction, which that node never committed). Their connections are due at once, so
/// that a node takes the work over.
pub fn reap(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<Vec<RunRow>> {
    conn.transaction(|conn| {
        let error = serde_json::json!({
            "code": "interrupted",
            "message": "the node running this sync stopped before it finished; nothing of it \
                        was applied",
        });
        let reaped: Vec<RunRow> = diesel::sql_query(
            "UPDATE sync_runs SET status = 'failed', error = $1, finished_at = $2, \
             lease_owner = NULL, lease_until = NULL \
             WHERE status = 'running' AND lease_until < $2 RETURNING *",
        )
        .bind::<Jsonb, _>(&error)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .load(conn)?;
        for run in &reaped {
            clear_staging(conn, run.key())?;
            diesel::update(connections::table.filter(connections::tenant_id.eq(run.tenant_id)))
                .set((
                    connections::last_error.eq(Some(&error)),
                    connections::last_run_at.eq(now),
                    connections::next_run_at.eq(Some(now)),
                ))
                .execute(conn)?;
        }
        Ok(reaped)
    })
}

/// One run of a tenant.
pub fn run(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<RunRow>> {
    sync_runs::table
        .filter(sync_runs::tenant_id.eq(tenant_id))
        .filter(sync_runs::id.eq(id))
        .select(RunRow::as_select())
        .first(conn)
        .optional()
}

/// A page of a tenant's runs, newest first, after the run at `after` (its creation time
/// and id, as the cursor).
pub fn runs(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<RunRow>> {
    let (at, id) = after.unzip();
    diesel::sql_query(
        "SELECT * FROM sync_runs WHERE tenant_id = $1 \
         AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Nullable<diesel::sql_types::Timestamptz>, _>(at)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(id)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// Drops what a run staged (its plan stays).
pub fn clear_staging(conn: &mut PgConnection, run: RunKey) -> QueryResult<()> {
    for table in [
        "sync_staged_users",
        "sync_staged_groups",
        "sync_staged_members",
    ] {
        diesel::sql_query(format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND run_id = $2"
        ))
        .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
        .bind::<diesel::sql_types::Uuid, _>(run.id)
        .execute(conn)?;
    }
    Ok(())
}

/// Drops a run's plan (before it is computed again).
pub fn clear_plan(conn: &mut PgConnection, run: RunKey) -> QueryResult<()> {
    diesel::delete(
        sync_plan_items::table
            .filter(sync_plan_items::tenant_id.eq(run.tenant_id))
            .filter(sync_plan_items::run_id.eq(run.id)),
    )
    .execute(conn)
    .map(drop)
}

#[derive(QueryableByName)]
struct RawRow {
    #[diesel(sql_type = Text)]
    source_ref: String,
    #[diesel(sql_type = Jsonb)]
    raw: Value,
}

/// Which directory objects `sync_objects` and the staging tables hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    User,
    Group,
}

impl ObjectKind {
    fn mirror(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }

    fn staged(self) -> &'static str {
        match self {
            Self::User => "sync_staged_users",
            Self::Group => "sync_staged_groups",
        }
    }
}

/// What each of `refs` was before this entry: as this run staged it already, else as the
/// last applied run left it. A delta entry carries only what changed, and is merged over
/// this. Each is two primary-key probes: as joins, without statistics PostgreSQL hashed
/// the whole mirror for every page (230 ms a page of 999 on a mirror of 100,000).
pub fn base_objects(
    conn: &mut PgConnection,
    run: RunKey,
    kind: ObjectKind,
    refs: &[String],
    mirror: bool,
) -> QueryResult<HashMap<String, Value>> {
    // A full round's entries are whole objects: only an earlier entry of the same round
    // (an object that spans pages) is merged with, never the mirror.
    let from_mirror = if mirror {
        "(SELECT o.raw FROM sync_objects o WHERE o.tenant_id = $2 AND o.kind = $4 \
         AND o.source_ref = r.source_ref)"
    } else {
        "NULL::jsonb"
    };
    let rows: Vec<RawRow> = diesel::sql_query(format!(
        "SELECT r.source_ref, b.raw FROM unnest($3::text[]) AS r(source_ref), LATERAL ( \
         SELECT coalesce( \
           (SELECT s.raw FROM {staged} s WHERE s.tenant_id = $2 AND s.run_id = $1 \
            AND s.source_ref = r.source_ref), \
           {from_mirror}) AS raw) b \
         WHERE b.raw IS NOT NULL",
        staged = kind.staged()
    ))
    .bind::<diesel::sql_types::Uuid, _>(run.id)
    .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
    .bind::<diesel::sql_types::Array<Text>, _>(refs)
    .bind::<Text, _>(kind.mirror())
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.source_ref, r.raw)).collect())
}

/// A directory user as staged: the merged object and what scimd maps it to.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedUser {
    pub source_ref: String,
    /// `changed` or `deleted` when the directory reported the user gone.
    pub removed: Option<String>,
    pub raw: Value,
    pub hash: Option<String>,
    pub user_name: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    /// Why the entry is not a person scimd keeps, if it is not.
    pub skip: Option<String>,
    /// The SCIM resource scimd keeps for the person.
    pub resource: Option<Value>,
    /// The manager the directory names (an address, lower-cased).
    pub manager_ref: Option<String>,
}

/// Stages `users` (at most one entry per id), each replacing what the run staged for the
/// same id before.
pub fn stage_users(conn: &mut PgConnection, run: RunKey, users: &[StagedUser]) -> QueryResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let col = |f: &dyn Fn(&StagedUser) -> Option<String>| -> Bind {
        Bind::OptTextArray(users.iter().map(f).collect())
    };
    let mut sql = Sql::new();
    sql.push(
        "INSERT INTO sync_staged_users (tenant_id, run_id, source_ref, removed, raw, hash, \
         user_name, email, display_name, active, skip, resource, manager_ref) SELECT ",
    )
    .bind(Bind::Uuid(run.tenant_id))
    .push(", ")
    .bind(Bind::Uuid(run.id))
    .push(
        ", u.source_ref, u.removed, u.raw, u.hash, u.user_name, u.email, u.display_name, \
         u.active, u.skip, NULLIF(u.resource, 'null'::jsonb), u.manager_ref FROM unnest(",
    );
    sql.bind_all([
        col(&|u| Some(u.source_ref.clone())),
        col(&|u| u.removed.clone()),
        Bind::JsonArray(users.iter().map(|u| u.raw.clone()).collect()),
        col(&|u| u.hash.clone()),
        col(&|u| u.user_name.clone()),
        col(&|u| u.email.clone()),
        col(&|u| u.display_name.clone()),
        Bind::BoolArray(users.iter().map(|u| u.active).collect()),
        col(&|u| u.skip.clone()),
        Bind::JsonArray(
            users
                .iter()
                .map(|u| u.resource.clone().unwrap_or(Value::Null))
                .collect(),
        ),
        col(&|u| u.manager_ref.clone()),
    ])
    .push(
        ") AS u(source_ref, removed, raw, hash, user_name, email, display_name, active, skip, \
         resource, manager_ref) ON CONFLICT (tenant_id, run_id, source_ref) DO UPDATE SET \
         removed = excluded.removed, raw = excluded.raw, hash = excluded.hash, \
         user_name = excluded.user_name, email = excluded.email, \
         display_name = excluded.display_name, active = excluded.active, skip = excluded.skip, \
         resource = excluded.resource, manager_ref = excluded.manager_ref",
    );
    sql.into_cached_query().execute(conn).map(drop)
}

#[derive(QueryableByName)]
struct Keyed {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

/// The live people of `source` that the addresses `keys` (lower-cased) name, by userName or
/// else email: a directory's manager references, made ids.
pub fn people_named(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    source: Source,
    keys: &[String],
) -> QueryResult<HashMap<String, Uuid>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Keyed> = diesel::sql_query(format!(
        "SELECT p.key, p.id FROM (SELECT k.key, {named} AS id \
         FROM unnest($3::text[]) AS k(key)) p WHERE p.id IS NOT NULL",
        named = person_named("$1", "$2", "k.key")
    ))
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Text, _>(source)
    .bind::<diesel::sql_types::Array<Text>, _>(keys)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.key, r.id)).collect())
}

#[derive(QueryableByName)]
struct Kept {
    #[diesel(sql_type = Text)]
    source_ref: String,
    #[diesel(sql_type = Text)]
    manager: String,
}

/// For each `(source_ref, manager address)` a page asks about: the managers that are live
/// people of `source` ([`people_named`]), by address; and, for the people whose manager is
/// no person yet, the manager they have now, by directory id.
pub fn managers_named(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    source: Source,
    asks: &[(String, String)],
) -> QueryResult<(HashMap<String, Uuid>, HashMap<String, Uuid>)> {
    let named: Vec<String> = asks
        .iter()
        .map(|(_, m)| m.clone())
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    let found = people_named(conn, tenant_id, source, &named)?;
    let waiting: Vec<String> = asks
        .iter()
        .filter(|(_, m)| !found.contains_key(m))
        .map(|(r, _)| r.clone())
        .collect();
    if waiting.is_empty() {
        return Ok((found, HashMap::new()));
    }
    let rows: Vec<Kept> = diesel::sql_query(
        "SELECT u.source_ref, u.resource #>> $4 AS manager FROM users u \
         WHERE u.tenant_id = $1 AND u.source = $2 AND u.source_ref = ANY($3) \
         AND (u.deprovisioned_at IS NULL) IS TRUE AND u.resource #>> $4 IS NOT NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Text, _>(source)
    .bind::<diesel::sql_types::Array<Text>, _>(&waiting)
    .bind::<diesel::sql_types::Array<Text>, _>(manager_value_path())
    .load(conn)?;
    let kept = rows
        .into_iter()
        .filter_map(|r| Some((r.source_ref, Uuid::parse_str(&r.manager).ok()?)))
        .collect();
    Ok((found, kept))
}

/// Where SCIM keeps a user's manager: the enterprise extension's `manager.value`.
fn manager_value_path() -> Vec<String> {
    vec![
        ENTERPRISE.to_owned(),
        "manager".to_owned(),
        "value".to_owned(),
    ]
}

/// The live person of `source` whose userName, else email, is `key` (lower-cased), as
/// an SQL expression. Each test is one index probe: the liveness test is one expression
/// no index answers, so that PostgreSQL looks the person up by name or email rather than
/// walking the tenant's live people (users_listing) for every key.
fn person_named(tenant: &str, source: &str, key: &str) -> String {
    let live = format!("(m.source = {source} AND m.deprovisioned_at IS NULL) IS TRUE");
    format!(
        "coalesce( \
         (SELECT m.id FROM users m WHERE m.tenant_id = {tenant} \
          AND lower(m.user_name) = {key} AND {live} LIMIT 1), \
         (SELECT m.id FROM users m WHERE m.tenant_id = {tenant} AND m.email = {key} \
          AND {live} LIMIT 1))"
    )
}

/// A person of the run whose stored manager is not the one the directory names now.
#[derive(QueryableByName, Debug, Clone)]
pub struct ManagerChange {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub source_ref: String,
    #[diesel(sql_type = Jsonb)]
    pub resource: Value,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub staged: Option<Value>,
    /// The manager's id, `None`: no manager (none named, or not a live person).
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub manager: Option<Uuid>,
}

/// The people this run staged whose stored manager (`manager.value` of the enterprise
/// extension) differs from the one the directory names, resolved now (after the run's
/// people were written, so a manager created by this run has an id): at most `limit`, by
/// directory id after `after`.
pub fn manager_changes(
    conn: &mut PgConnection,
    run: RunKey,
    source: Source,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<ManagerChange>> {
    diesel::sql_query(format!(
        "SELECT w.id, w.source_ref, w.resource, w.staged, w.manager FROM ( \
         SELECT u.id, s.source_ref, u.resource, s.resource AS staged, \
         CASE WHEN s.manager_ref IS NOT NULL THEN {named} END AS manager \
         FROM sync_staged_users s JOIN users u ON u.tenant_id = $2 AND u.source = $3 \
         AND u.source_ref = s.source_ref AND (u.deprovisioned_at IS NULL) IS TRUE \
         WHERE s.tenant_id = $2 AND s.run_id = $1 AND s.source_ref > $6 AND s.removed IS NULL \
         AND s.skip IS NULL \
         AND (s.manager_ref IS NOT NULL OR u.resource #> $4 IS NOT NULL)) w \
         WHERE (w.resource #>> $5) IS DISTINCT FROM w.manager::text \
         ORDER BY w.source_ref LIMIT $7",
        named = person_named("$2", "$3", "s.manager_ref")
    ))
    .bind::<diesel::sql_types::Uuid, _>(run.id)
    .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
    .bind::<Text, _>(source)
    .bind::<diesel::sql_types::Array<Text>, _>(vec![ENTERPRISE.to_owned(), "manager".to_owned()])
    .bind::<diesel::sql_types::Array<Text>, _>(manager_value_path())
    .bind::<Text, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Writes new resources of people (a manager set or cleared): each one's version moves on.
/// The run's staging takes the resource and hash the person's next listing will have.
pub fn write_managers(
    conn: &mut PgConnection,
    run: RunKey,
    people: &[(Uuid, Value)],
    staged: &[(String, Value, String)],
    now: chrono::DateTime<chrono::Utc>,
) -> QueryResult<()> {
    if !people.is_empty() {
        let mut sql = Sql::new();
        sql.push(
            "UPDATE users u SET resource = w.resource, version = u.version + 1, updated_at = ",
        )
        .bind(Bind::Timestamp(now))
        .push(" FROM unnest(");
        sql.bind_all([
            Bind::UuidArray(people.iter().map(|p| p.0).collect()),
            Bind::JsonArray(people.iter().map(|p| p.1.clone()).collect()),
        ])
        .push(") AS w(id, resource) WHERE u.tenant_id = ")
        .bind(Bind::Uuid(run.tenant_id))
        .push(" AND u.id = w.id");
        sql.into_cached_query().execute(conn)?;
    }
    if !staged.is_empty() {
        let mut sql = Sql::new();
        sql.push(
            "UPDATE sync_staged_users s SET resource = w.resource, hash = w.hash FROM unnest(",
        );
        sql.bind_all([
            Bind::OptTextArray(staged.iter().map(|s| Some(s.0.clone())).collect()),
            Bind::JsonArray(staged.iter().map(|s| s.1.clone()).collect()),
            Bind::OptTextArray(staged.iter().map(|s| Some(s.2.clone())).collect()),
        ])
        .push(") AS w(source_ref, resource, hash) WHERE s.tenant_id = ")
        .bind(Bind::Uuid(run.tenant_id))
        .push(" AND s.run_id = ")
        .bind(Bind::Uuid(run.id))
        .push(" AND s.source_ref = w.source_ref");
        sql.into_cached_query().execute(conn)?;
    }
    Ok(())
}

/// A directory group as staged.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedGroup {
    pub source_ref: String,
    pub removed: Option<String>,
    pub raw: Value,
    pub hash: Option<String>,
    pub display_name: Option<String>,
    pub members_full: bool,
}

/// Stages `groups` (one entry per id) and their member changes `(group, member, removed)`.
pub fn stage_groups(
    conn: &mut PgConnection,
    run: RunKey,
    groups: &[StagedGroup],
    members: &[(String, String, bool)],
) -> QueryResult<()> {
    if !groups.is_empty() {
        let mut sql = Sql::new();
        sql.push(
            "INSERT INTO sync_staged_groups (tenant_id, run_id, source_ref, removed, raw, hash, \
             display_name, members_full) SELECT ",
        )
        .bind(Bind::Uuid(run.tenant_id))
        .push(", ")
        .bind(Bind::Uuid(run.id))
        .push(", * FROM unnest(");
        sql.bind_all([
            Bind::OptTextArray(groups.iter().map(|g| Some(g.source_ref.clone())).collect()),
            Bind::OptTextArray(groups.iter().map(|g| g.removed.clone()).collect()),
            Bind::JsonArray(groups.iter().map(|g| g.raw.clone()).collect()),
            Bind::OptTextArray(groups.iter().map(|g| g.hash.clone()).collect()),
            Bind::OptTextArray(groups.iter().map(|g| g.display_name.clone()).collect()),
            Bind::BoolArray(groups.iter().map(|g| g.members_full).collect()),
        ])
        .push(
            ") ON CONFLICT (tenant_id, run_id, source_ref) DO UPDATE SET \
             removed = excluded.removed, \
             raw = excluded.raw, hash = excluded.hash, display_name = excluded.display_name, \
             members_full = sync_staged_groups.members_full OR excluded.members_full",
        );
        sql.into_cached_query().execute(conn)?;
    }
    if !members.is_empty() {
        let mut sql = Sql::new();
        sql.push(
            "INSERT INTO sync_staged_members (tenant_id, run_id, group_ref, member_ref, removed) \
             SELECT ",
        )
        .bind(Bind::Uuid(run.tenant_id))
        .push(", ")
        .bind(Bind::Uuid(run.id))
        .push(", * FROM unnest(");
        sql.bind_all([
            Bind::OptTextArray(members.iter().map(|m| Some(m.0.clone())).collect()),
            Bind::OptTextArray(members.iter().map(|m| Some(m.1.clone())).collect()),
            Bind::BoolArray(members.iter().map(|m| m.2).collect()),
        ])
        .push(
            ") ON CONFLICT (tenant_id, run_id, group_ref, member_ref) \
             DO UPDATE SET removed = excluded.removed",
        );
        sql.into_cached_query().execute(conn)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Whether the run's staging is there: a held run always staged someone (those it would
/// deprovision, or the listing that leaves them out), so none means the database lost it.
pub fn has_staging(conn: &mut PgConnection, run: RunKey) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sync_staged_users::table
            .filter(sync_staged_users::tenant_id.eq(run.tenant_id))
            .filter(sync_staged_users::run_id.eq(run.id)),
    ))
    .get_result(conn)
}

/// How many staged users are present (not reported gone), and how many live people of
/// `source` with a directory id the tenant has.
pub fn staged_and_managed(
    conn: &mut PgConnection,
    run: RunKey,
    source: Source,
) -> QueryResult<(i64, i64)> {
    let staged: N = diesel::sql_query(
        "SELECT count(*) AS n FROM sync_staged_users \
         WHERE tenant_id = $1 AND run_id = $2 AND removed IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
    .bind::<diesel::sql_types::Uuid, _>(run.id)
    .get_result(conn)?;
    Ok((staged.n, managed(conn, run.tenant_id, source)?))
}

/// The live people a connection of `source` manages: the brake's base.
pub fn managed(conn: &mut PgConnection, tenant_id: Uuid, source: Source) -> QueryResult<i64> {
    let n: N = diesel::sql_query(
        "SELECT count(*) AS n FROM users u WHERE u.tenant_id = $1 AND u.source = $2 \
         AND u.source_ref IS NOT NULL AND u.deprovisioned_at IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Text, _>(source)
    .get_result(conn)?;
    Ok(n.n)
}

/// The people of a run's plan, in SQL (see the module doc): one item per staged user,
/// and, when the run read the whole directory (`full`), a `deprovision` for every live
/// person the connection manages that the directory no longer lists.
///
/// For each staged user, in this order:
/// - reported gone: `deprovision` the person it matches, if live;
/// - not a person scimd keeps (`skip` set: a guest, no userName): `deprovision` the live
///   person it matches, else `skip`;
/// - an email or userName another staged user has too: `skip`, naming both;
/// - matched by directory id: `restore` when deprovisioned, else `unchanged` when the
///   content hash (or the resource) is the same, `deactivate`/`reactivate` when the
///   source flipped `active`, else `update`;
/// - its userName held by another live person of this connection who is not leaving in
///   this run: `skip`;
/// - a live person that could be the same (userName or email, any case) and no other
///   user of this connection: `adopt`;
/// - else `create`.
pub fn plan_users(
    conn: &mut PgConnection,
    run: RunKey,
    source: Source,
    full: bool,
    sweep_reason: &str,
) -> QueryResult<()> {
    mark_twins(conn, run)?;
    plan_users_sql(run, source, full)
        .into_query()
        .execute(conn)?;
    if full {
        diesel::sql_query(
            "INSERT INTO sync_plan_items (tenant_id, run_id, ord, action, person_id, source_ref, \
             user_name, email, display_name, reason) \
             SELECT $2, $1, (SELECT coalesce(max(ord), 0) FROM sync_plan_items \
             WHERE tenant_id = $2 AND run_id = $1) \
             + row_number() OVER (ORDER BY c.source_ref), 'deprovision', c.id, c.source_ref, \
             c.user_name, c.email, c.display_name, $4 \
             FROM users c WHERE c.tenant_id = $2 AND c.source = $3 AND c.source_ref IS NOT NULL \
             AND c.deprovisioned_at IS NULL AND NOT (SELECT EXISTS (SELECT 1 \
             FROM sync_staged_users x WHERE x.tenant_id = $2 AND x.run_id = $1 \
             AND x.source_ref = c.source_ref))",
        )
        .bind::<diesel::sql_types::Uuid, _>(run.id)
        .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
        .bind::<Text, _>(source)
        .bind::<Text, _>(sweep_reason)
        .execute(conn)?;
    }
    Ok(())
}

/// Marks the run's staged users who share an email or a userName (in any case) with
/// another staged user: each is skipped, with a reason naming them all. Only the columns
/// compared are sorted, and only the few twins are written.
pub fn mark_twins(conn: &mut PgConnection, run: RunKey) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE sync_staged_users st SET twins = d.twins FROM ( \
           SELECT x.source_ref, CASE \
             WHEN count(*) OVER (PARTITION BY k.email) > 1 THEN \
               'duplicate email ' || x.email || ': directory users ' || \
               string_agg(x.source_ref, ', ') OVER (PARTITION BY k.email) \
             WHEN count(*) OVER (PARTITION BY k.user_name) > 1 THEN \
               'duplicate userName ' || x.user_name || ': directory users ' || \
               string_agg(x.source_ref, ', ') OVER (PARTITION BY k.user_name) \
             END AS twins \
           FROM sync_staged_users x, LATERAL (SELECT \
             CASE WHEN x.skip IS NULL AND x.removed IS NULL AND x.email IS NOT NULL \
               THEN 'e:' || lower(x.email) ELSE 'r:' || x.source_ref END AS email, \
             CASE WHEN x.skip IS NULL AND x.removed IS NULL \
               THEN 'u:' || lower(x.user_name) ELSE 'r:' || x.source_ref END AS user_name) k \
           WHERE x.tenant_id = $2 AND x.run_id = $1) d \
         WHERE d.twins IS NOT NULL AND st.tenant_id = $2 AND st.run_id = $1 \
         AND st.source_ref = d.source_ref",
    )
    .bind::<diesel::sql_types::Uuid, _>(run.id)
    .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
    .execute(conn)
}

/// The statement of [`plan_users`]' items for the staged users (public for plan tests).
pub fn plan_users_sql(run: RunKey, source: Source, full: bool) -> Sql {
    let managed_by = "c.source = $3 AND c.source_ref IS NOT NULL";
    let (same_name, same_email) = super::users::same_person_tests("c", "s.user_name", "s.email");
    // Live and not this connection's: the test is one expression no index answers, so
    // that PostgreSQL looks the person up by name or email (their indexes) and never
    // walks the tenant's live people (users_listing), whatever its statistics say.
    let adoptable = format!("(c.deprovisioned_at IS NULL AND NOT ({managed_by})) IS TRUE");
    // A holder is leaving when this run reports it gone or skipped, or, in a full run,
    // does not list it.
    let leaving = "(EXISTS (SELECT 1 FROM sync_staged_users x WHERE x.tenant_id = $2 \
                   AND x.run_id = $1 AND x.source_ref = h.source_ref \
                   AND (x.removed IS NOT NULL OR x.skip IS NOT NULL)) \
                   OR ($4 AND NOT EXISTS (SELECT 1 FROM sync_staged_users x \
                   WHERE x.tenant_id = $2 AND x.run_id = $1 AND x.source_ref = h.source_ref)))";
    let text = format!(
        "INSERT INTO sync_plan_items (tenant_id, run_id, ord, action, person_id, source_ref, \
         user_name, email, display_name, reason, changes) \
         SELECT $2, $1, row_number() OVER (ORDER BY p.source_ref), p.action, p.person_id, \
         p.source_ref, p.user_name, p.email, p.display_name, p.reason, p.changes FROM ( \
         SELECT s.source_ref, s.user_name, s.email, s.display_name, \
         CASE \
           WHEN s.removed IS NOT NULL THEN CASE WHEN m.live THEN 'deprovision' END \
           WHEN s.skip IS NOT NULL THEN CASE WHEN m.live THEN 'deprovision' ELSE 'skip' END \
           WHEN s.twins IS NOT NULL THEN 'skip' \
           WHEN m.id IS NOT NULL AND NOT m.live THEN 'restore' \
           WHEN m.id IS NOT NULL THEN CASE \
             WHEN o.hash = s.hash OR m.resource = s.resource THEN 'unchanged' \
             WHEN m.active AND NOT s.active THEN 'deactivate' \
             WHEN s.active AND NOT m.active THEN 'reactivate' \
             ELSE 'update' END \
           WHEN h.id IS NOT NULL AND NOT {leaving} THEN 'skip' \
           WHEN a.id IS NOT NULL THEN 'adopt' \
           ELSE 'create' \
         END AS action, \
         coalesce(m.id, CASE WHEN h.id IS NULL OR {leaving} THEN a.id END) AS person_id, \
         CASE \
           WHEN s.removed = 'deleted' THEN 'deleted in the directory' \
           WHEN s.removed IS NOT NULL THEN 'deleted in the directory (still restorable there)' \
           WHEN s.skip IS NOT NULL THEN s.skip \
           WHEN s.twins IS NOT NULL THEN s.twins \
           WHEN m.id IS NULL AND h.id IS NOT NULL AND NOT {leaving} THEN \
             'userName ' || s.user_name || ' belongs to directory user ' || h.source_ref \
           WHEN m.id IS NULL AND a.id IS NOT NULL THEN 'the same userName or email as a ' || a.source || ' person' \
         END AS reason, \
         CASE WHEN m.id IS NOT NULL AND s.resource IS NOT NULL AND m.resource IS DISTINCT FROM s.resource THEN \
           (SELECT jsonb_object_agg(k, coalesce(s.resource -> k, 'null'::jsonb)) \
            FROM jsonb_object_keys(s.resource || m.resource) AS k \
            WHERE s.resource -> k IS DISTINCT FROM m.resource -> k) END AS changes \
         FROM sync_staged_users s \
         LEFT JOIN LATERAL (SELECT c.id, c.deprovisioned_at IS NULL AS live, c.active, c.resource \
           FROM users c WHERE c.tenant_id = $2 AND c.source = $3 AND c.source_ref = s.source_ref \
           ORDER BY c.deprovisioned_at IS NOT NULL, c.updated_at DESC LIMIT 1) m ON true \
         LEFT JOIN LATERAL (SELECT o.hash FROM sync_objects o WHERE o.tenant_id = $2 \
           AND o.kind = 'user' AND o.source_ref = s.source_ref LIMIT 1) o ON true \
         LEFT JOIN LATERAL (SELECT c.id, c.source_ref FROM users c WHERE c.tenant_id = $2 \
           AND lower(c.user_name) = lower(s.user_name) \
           AND (c.deprovisioned_at IS NULL AND {managed_by} AND c.source_ref <> s.source_ref) IS TRUE \
           LIMIT 1) h \
           ON m.id IS NULL AND s.skip IS NULL AND s.removed IS NULL \
         LEFT JOIN LATERAL (SELECT coalesce(n.id, e.id) AS id, coalesce(n.source, e.source) AS source \
           FROM (SELECT 1) one \
           LEFT JOIN LATERAL (SELECT c.id, c.source FROM users c WHERE c.tenant_id = $2 \
             AND {same_name} AND {adoptable} ORDER BY c.updated_at DESC LIMIT 1) n ON true \
           LEFT JOIN LATERAL (SELECT c.id, c.source FROM users c WHERE c.tenant_id = $2 \
             AND {same_email} AND {adoptable} ORDER BY c.updated_at DESC LIMIT 1) e ON n.id IS NULL) a \
           ON m.id IS NULL AND s.skip IS NULL AND s.removed IS NULL \
         WHERE s.tenant_id = $2 AND s.run_id = $1) p WHERE p.action IS NOT NULL"
    );
    Sql::fragment(
        text,
        vec![
            Bind::Uuid(run.id),
            Bind::Uuid(run.tenant_id),
            Bind::Text(source.as_str().to_owned()),
            Bind::Bool(full),
        ],
    )
}

/// One plan item.
#[derive(Queryable, QueryableByName, Selectable, Debug, Clone)]
#[diesel(table_name = sync_plan_items)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct PlanItem {
    pub tenant_id: Uuid,
    pub run_id: Uuid,
    pub ord: i64,
    pub action: PlanAction,
    pub person_id: Option<Uuid>,
    pub source_ref: Option<String>,
    pub user_name: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub reason: Option<String>,
    pub changes: Option<Value>,
}

/// New plan items, numbered after the run's last.
pub fn add_items(conn: &mut PgConnection, run: RunKey, items: &[PlanItem]) -> QueryResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let top: N = diesel::sql_query(
        "SELECT coalesce(max(ord), 0) AS n FROM sync_plan_items WHERE tenant_id = $1 AND run_id = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
    .bind::<diesel::sql_types::Uuid, _>(run.id)
    .get_result(conn)?;
    for (c, chunk) in items.chunks(2000).enumerate() {
        let base = top.n + i64::try_from(c * 2000).unwrap_or(i64::MAX);
        let rows: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, it)| {
                (
                    sync_plan_items::tenant_id.eq(run.tenant_id),
                    sync_plan_items::run_id.eq(run.id),
                    sync_plan_items::ord.eq(base + 1 + i64::try_from(i).unwrap_or(i64::MAX)),
                    sync_plan_items::action.eq(it.action.as_str()),
                    sync_plan_items::person_id.eq(it.person_id),
                    sync_plan_items::source_ref.eq(it.source_ref.clone()),
                    sync_plan_items::user_name.eq(it.user_name.clone()),
                    sync_plan_items::email.eq(it.email.clone()),
                    sync_plan_items::display_name.eq(it.display_name.clone()),
                    sync_plan_items::reason.eq(it.reason.clone()),
                    sync_plan_items::changes.eq(it.changes.clone()),
                )
            })
            .collect();
        diesel::insert_into(sync_plan_items::table)
            .values(rows)
            .execute(conn)?;
    }
    Ok(())
}

/// The number of a run's plan items per action.
pub fn counts(conn: &mut PgConnection, run: RunKey) -> QueryResult<HashMap<PlanAction, i64>> {
    let rows: Vec<(PlanAction, i64)> = sync_plan_items::table
        .filter(sync_plan_items::tenant_id.eq(run.tenant_id))
        .filter(sync_plan_items::run_id.eq(run.id))
        .group_by(sync_plan_items::action)
        .select((sync_plan_items::action, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// A page of a run's plan, in plan order, after item `after`, of one action if given.
pub fn items(
    conn: &mut PgConnection,
    run: RunKey,
    action: Option<PlanAction>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<PlanItem>> {
    let mut q = sync_plan_items::table
        .filter(sync_plan_items::tenant_id.eq(run.tenant_id))
        .filter(sync_plan_items::run_id.eq(run.id))
        .filter(sync_plan_items::ord.gt(after))
        .order(sync_plan_items::ord)
        .limit(limit)
        .select(PlanItem::as_select())
        .into_boxed();
    if let Some(action) = action {
        q = q.filter(sync_plan_items::action.eq(action));
    }
    q.load(conn)
}

/// A plan item of the people, with the staged resource it writes.
#[derive(QueryableByName, Debug, Clone)]
pub struct PersonWork {
    #[diesel(sql_type = BigInt)]
    pub ord: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub person_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub source_ref: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub resource: Option<Value>,
    /// The manager the directory names (an address, lower-cased).
    #[diesel(sql_type = Nullable<Text>)]
    pub manager_ref: Option<String>,
}

/// A person a run creates, by the names a manager reference may use.
#[derive(QueryableByName, Debug, Clone)]
pub struct Newcomer {
    #[diesel(sql_type = Text)]
    pub source_ref: String,
    /// Lower-cased.
    #[diesel(sql_type = Nullable<Text>)]
    pub user_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
}

/// The people a run creates; none when no staged user of the run names a manager.
pub fn newcomer_names(conn: &mut PgConnection, run: RunKey) -> QueryResult<Vec<Newcomer>> {
    diesel::sql_query(
        "SELECT p.source_ref, lower(s.user_name) AS user_name, s.email FROM sync_plan_items p \
         JOIN sync_staged_users s ON s.tenant_id = p.tenant_id AND s.run_id = p.run_id \
         AND s.source_ref = p.source_ref \
         WHERE p.tenant_id = $2 AND p.run_id = $1 AND p.action = 'create' AND EXISTS (SELECT 1 \
         FROM sync_staged_users m WHERE m.tenant_id = $2 AND m.run_id = $1 \
         AND m.manager_ref IS NOT NULL)",
    )
    .bind::<diesel::sql_types::Uuid, _>(run.id)
    .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
    .load(conn)
}

/// A chunk of a run's plan items of `action`, after `after`, joined with what was staged.
pub fn person_work(
    conn: &mut PgConnection,
    run: RunKey,
    action: PlanAction,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<PersonWork>> {
    diesel::sql_query(
        "SELECT p.ord, p.person_id, p.source_ref, s.resource, s.manager_ref FROM sync_plan_items p \
         LEFT JOIN sync_staged_users s ON s.tenant_id = p.tenant_id AND s.run_id = p.run_id \
         AND s.source_ref = p.source_ref \
         WHERE p.tenant_id = $5 AND p.run_id = $1 AND p.action = $2 AND p.ord > $3 \
         ORDER BY p.ord LIMIT $4",
    )
    .bind::<diesel::sql_types::Uuid, _>(run.id)
    .bind::<Text, _>(action)
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(limit)
    .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
    .load(conn)
}

/// Makes the mirror what the run staged: present users' objects written where their hash
/// changed, those reported gone deleted. In a full run, objects the directory no longer
/// lists are dropped too.
pub fn write_mirror(conn: &mut PgConnection, run: RunKey, full: bool) -> QueryResult<()> {
    for (kind, staged) in [
        ("user", "sync_staged_users"),
        ("group", "sync_staged_groups"),
    ] {
        // Gone first: on a first run the mirror is empty and this costs nothing. In a full
        // run, a scalar subquery (one primary-key probe per object) rather than NOT EXISTS,
        // which PostgreSQL may turn into an anti join: on a never-analysed staging table it
        // chose one that took 150 s for 100,000 objects, against 7 s for the whole run.
        let gone = if full {
            format!(
                "NOT (SELECT EXISTS (SELECT 1 FROM {staged} s WHERE s.tenant_id = $2 \
                 AND s.run_id = $1 AND s.source_ref = o.source_ref AND s.removed IS NULL))"
            )
        } else {
            format!(
                "EXISTS (SELECT 1 FROM {staged} s WHERE s.tenant_id = $2 AND s.run_id = $1 \
                 AND s.source_ref = o.source_ref AND s.removed IS NOT NULL)"
            )
        };
        diesel::sql_query(format!(
            "DELETE FROM sync_objects o WHERE o.tenant_id = $2 AND o.kind = $3 AND {gone}"
        ))
        .bind::<diesel::sql_types::Uuid, _>(run.id)
        .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
        .bind::<Text, _>(kind)
        .execute(conn)?;
        // The conflict clause, not a join, leaves unchanged objects alone: a join's plan
        // would depend on statistics the fresh mirror does not have.
        diesel::sql_query(format!(
            "INSERT INTO sync_objects (tenant_id, kind, source_ref, raw, hash) \
             SELECT $2, $3, s.source_ref, s.raw, s.hash FROM {staged} s \
             WHERE s.tenant_id = $2 AND s.run_id = $1 AND s.removed IS NULL AND s.hash IS NOT NULL \
             ON CONFLICT (tenant_id, kind, source_ref) DO UPDATE SET raw = excluded.raw, \
             hash = excluded.hash WHERE sync_objects.hash IS DISTINCT FROM excluded.hash"
        ))
        .bind::<diesel::sql_types::Uuid, _>(run.id)
        .bind::<diesel::sql_types::Uuid, _>(run.tenant_id)
        .bind::<Text, _>(kind)
        .execute(conn)?;
    }
    Ok(())
}

/// Gives the caller's transaction room to sort and hash a whole run in memory: a run's
/// plan and apply join and number every staged object, and the default `work_mem` sent
/// those sorts to disk.
pub fn roomy(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("SET LOCAL work_mem = '64MB'")
        .execute(conn)
        .map(drop)
}

/// A connection row's scheduling and outcome columns.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = connections)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ConnectionState {
    pub tenant_id: Uuid,
    pub provider: Source,
    pub state: Value,
    pub generation: i64,
    pub activated_at: Option<DateTime<Utc>>,
}

/// The tenant's connection state, locked for the caller's transaction when `lock`.
pub fn connection_state(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    lock: bool,
) -> QueryResult<Option<ConnectionState>> {
    let q = connections::table
        .filter(connections::tenant_id.eq(tenant_id))
        .select(ConnectionState::as_select());
    if lock {
        q.for_update().first(conn).optional()
    } else {
        q.first(conn).optional()
    }
}

/// Records an applied run on its connection: the connector's new state, a new generation,
/// activated if it was not, and due again at `next_run_at`.
pub fn applied(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    state: &Value,
    now: DateTime<Utc>,
    next_run_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE connections SET state = $2, generation = generation + 1, \
         activated_at = coalesce(activated_at, $3), last_run_at = $3, last_success_at = $3, \
         last_error = NULL, next_run_at = $4, updated_at = $3 WHERE tenant_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Jsonb, _>(state)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<diesel::sql_types::Timestamptz, _>(next_run_at)
    .execute(conn)
    .map(drop)
}

/// Records a run that ended without applying: when, and its error if it failed. An active
/// connection is due again at `next_run_at`.
pub fn not_applied(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    error: Option<&Value>,
    now: DateTime<Utc>,
    next_run_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE connections SET last_run_at = $3, last_error = coalesce($2, last_error), \
         next_run_at = CASE WHEN activated_at IS NULL THEN next_run_at ELSE coalesce($4, next_run_at) END \
         WHERE tenant_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Nullable<Jsonb>, _>(error)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<Nullable<diesel::sql_types::Timestamptz>, _>(next_run_at)
    .execute(conn)
    .map(drop)
}

/// Queues a scheduled run for every active connection that is due and has no run queued
/// or running, moving each one's next run to `now` + its tenant's interval + up to
/// `jitter_secs`. Connections other nodes are scheduling at the same moment are passed
/// over. How many runs it queued.
pub fn enqueue_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    jitter_secs: i64,
) -> QueryResult<usize> {
    conn.transaction(|conn| {
        let due: Vec<IdOnly> = diesel::sql_query(
            "WITH due AS (SELECT c.tenant_id FROM connections c WHERE c.activated_at IS NOT NULL \
             AND c.next_run_at <= $1 ORDER BY c.next_run_at LIMIT 100 FOR UPDATE SKIP LOCKED), \
             moved AS (UPDATE connections c SET next_run_at = $1 + make_interval(secs => \
             t.sync_interval_secs + floor(random() * $2)) FROM due, tenants t \
             WHERE c.tenant_id = due.tenant_id AND t.id = c.tenant_id RETURNING c.tenant_id, c.provider) \
             INSERT INTO sync_runs (id, tenant_id, provider, trigger, created_at) \
             SELECT gen_random_uuid(), m.tenant_id, m.provider, 'schedule', $1 FROM moved m \
             ON CONFLICT (tenant_id) WHERE status IN ('queued', 'running') DO NOTHING \
             RETURNING tenant_id AS id",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .bind::<BigInt, _>(jitter_secs)
        .load(conn)?;
        Ok(due.len())
    })
}

#[derive(QueryableByName)]
struct IdOnly {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    #[expect(dead_code, reason = "read only to count the rows")]
    id: Uuid,
}

/// Seconds since the last success of the connection that has waited longest (from its
/// creation when it never succeeded); 0 without connections.
pub fn oldest_success_age(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<i64> {
    let n: N = diesel::sql_query(
        "SELECT coalesce(max(extract(epoch FROM ($1 - coalesce(last_success_at, created_at)))), 0)::bigint AS n \
         FROM connections",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .get_result(conn)?;
    Ok(n.n.max(0))
}

/// A tenant's connection health, as the operator console's tenant list shows it.
#[derive(QueryableByName, Debug, Clone)]
pub struct TenantHealth {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub tenant_id: Uuid,
    /// Whether the tenant has a pull connection.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub connected: bool,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    pub last_success_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub last_error: Option<Value>,
    /// The status of the tenant's latest run that was not a dry run.
    #[diesel(sql_type = Nullable<Text>)]
    pub latest_run: Option<RunStatus>,
    /// The latest use of any of the tenant's SCIM tokens.
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    pub last_push_at: Option<DateTime<Utc>>,
}

/// The health of each of `tenant_ids` (one row each, in no particular order).
pub fn health(conn: &mut PgConnection, tenant_ids: &[Uuid]) -> QueryResult<Vec<TenantHealth>> {
    diesel::sql_query(
        "SELECT t.id AS tenant_id, c.tenant_id IS NOT NULL AS connected, \
                c.last_success_at, c.last_error, \
                (SELECT r.status FROM sync_runs r WHERE r.tenant_id = t.id AND NOT r.dry_run \
                 ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS latest_run, \
                (SELECT max(k.last_used_at) FROM scim_tokens k WHERE k.tenant_id = t.id) \
                  AS last_push_at \
         FROM unnest($1::uuid[]) AS t(id) LEFT JOIN connections c ON c.tenant_id = t.id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(tenant_ids)
    .load(conn)
}
