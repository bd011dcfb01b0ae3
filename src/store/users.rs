//! The `users` table.
//!
//! `resource` holds the SCIM resource as the source last set it (core and enterprise
//! attributes, without `id`, `meta`, `schemas`, `groups` or `password`); the columns beside
//! it are derived from it on every write, for indexes, or owned by the server.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::counts::{self, counted, visible, Lane};
use super::events::NewEvent;
use super::rows::{Count, IdRow};
use super::schema::users;
use super::search::Kind;
use super::sql::{Bind, Sql, Statement};
use crate::domain::{AdminState, Source};

#[derive(Queryable, QueryableByName, Selectable, Identifiable, Debug, Clone, PartialEq)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub resource: Value,
    pub version: i64,
    pub source: Source,
    pub source_ref: Option<String>,
    pub admin_state: AdminState,
    pub deprovisioned_at: Option<DateTime<Utc>>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of a [`UserRow`] of `users u`, for SQL written here: every column but
/// `emails`, which only its index reads (`SELECT u.*` would send it with every row).
pub const USER_ROW_COLUMNS: &str = "u.id, u.tenant_id, u.user_name, u.external_id, \
     u.display_name, u.active, u.resource, u.version, u.source, u.source_ref, u.admin_state, \
     u.deprovisioned_at, u.email, u.department, u.created_at, u.updated_at";

/// A user as SCIM shows it: the row and, when the reader asked for them, the groups it is
/// a direct member of, read in the same statement as the row.
#[derive(QueryableByName, Debug, Clone, PartialEq)]
pub struct UserView {
    #[diesel(embed)]
    pub user: UserRow,
    /// (group id, displayName) of each group, in no particular order; `None` when not read.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Record<(diesel::sql_types::Uuid, diesel::sql_types::Text)>>>)]
    user_groups: Option<Vec<(Uuid, String)>>,
}

impl UserView {
    /// A user whose groups were not read.
    pub fn without_groups(user: UserRow) -> Self {
        Self {
            user,
            user_groups: None,
        }
    }

    /// The user with its groups, read by the caller: (group id, displayName).
    pub fn with_groups(self, groups: Vec<(Uuid, String)>) -> Self {
        Self {
            user_groups: Some(groups),
            ..self
        }
    }

    /// (group id, displayName) of each group, when they were read, ordered by displayName
    /// in code point order (as `sortBy` orders strings), then id.
    ///
    /// Sorted here rather than by the statement: when the groups were read as two aligned
    /// aggregates, ordering them there cost each read of a user two sorts (under pgbench,
    /// the Entra lookup statement ran at 30-31k tx/s with them and 34k without).
    pub fn groups(&self) -> Option<Vec<(Uuid, String)>> {
        let mut groups = self.user_groups.clone()?;
        groups.sort_unstable_by(|(a_id, a), (b_id, b)| (a, a_id).cmp(&(b, b_id)));
        Some(groups)
    }
}

/// The select-list column of a [`UserView`] beyond [`USER_ROW_COLUMNS`]: the user's groups
/// as one array of (id, displayName), or NULL.
///
/// A scalar subquery, where it used to be an aggregate in a lateral join: the join and the
/// aggregate were a quarter of PostgreSQL's work on a read by id. Alternating under
/// pgbench (prepared, 16 clients, the group of 100,000 and one of 10), the read by id ran
/// at 2–27% more transactions per second this way, 9% in the median of four pairs.
///
/// Each group's name is a subquery of its own, so that nothing lets PostgreSQL start from
/// the groups and walk each one's members: the memberships have one condition, the
/// member, and its index (as in [`super::groups::groups_of_many`]).
pub fn view_columns(groups: bool) -> &'static str {
    if groups {
        ", ARRAY(SELECT (m.group_id, (SELECT g.display_name FROM groups g \
         WHERE g.tenant_id = m.tenant_id AND g.id = m.group_id)) FROM group_members m \
         WHERE m.tenant_id = u.tenant_id AND m.member_id = u.id) AS user_groups"
    } else {
        ", NULL::record[] AS user_groups"
    }
}

/// The columns a SCIM write sets, all derived from the resource.
#[derive(Insertable, AsChangeset, Debug, Clone, PartialEq)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_null = true)]
pub struct UserData {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub resource: Value,
    pub email: Option<String>,
    pub department: Option<String>,
    /// Every email value, lower-cased: a JSON array of strings.
    pub emails: Value,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub source: Source,
    pub source_ref: Option<&'a str>,
    #[diesel(embed)]
    pub data: UserData,
}

/// The columns [`push_new_user`] writes the values of.
const NEW_USER_COLUMNS: &str = "id, tenant_id, source, source_ref, user_name, external_id, \
     display_name, active, resource, email, department, emails";

/// The values of `new` for [`NEW_USER_COLUMNS`], bound to `sql`, with `tenant` (SQL) for
/// its tenant id.
fn push_new_user(sql: &mut Sql, new: &NewUser<'_>, tenant: &str) {
    let d = &new.data;
    sql.bind(Bind::Uuid(new.id))
        .push(", ")
        .push(tenant)
        .push(", ");
    sql.bind_all([
        Bind::Text(new.source.as_str().to_owned()),
        Bind::OptText(new.source_ref.map(str::to_owned)),
        Bind::Text(d.user_name.clone()),
        Bind::OptText(d.external_id.clone()),
        Bind::OptText(d.display_name.clone()),
        Bind::Bool(d.active),
        Bind::Json(d.resource.clone()),
        Bind::OptText(d.email.clone()),
        Bind::OptText(d.department.clone()),
        Bind::Json(d.emails.clone()),
    ]);
}

/// `INSERT INTO users … VALUES` each of `new`, as the CTE `u` (returning `returning`) of a
/// statement that also counts them in their tenants' counts; the caller writes the rest
/// of the statement after it.
fn insert_values(new: &[NewUser<'_>], returning: &str) -> Sql {
    let mut sql = Sql::new();
    sql.push("WITH u AS (INSERT INTO users (")
        .push(NEW_USER_COLUMNS)
        .push(") VALUES ");
    for (i, one) in new.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        let tenant = sql.param(Bind::Uuid(one.tenant_id));
        push_new_user(&mut sql, one, &tenant);
        sql.push(")");
    }
    sql.push(" RETURNING ")
        .push(returning)
        .push("), ")
        .push(&counted(
            Kind::Users,
            Lane::Transaction,
            "u",
            &visible(Kind::Users, "u"),
        ));
    sql
}

/// Inserts a user, and counts it in the tenant's users.
pub fn insert(conn: &mut PgConnection, new: &NewUser<'_>) -> QueryResult<UserRow> {
    let mut sql = insert_values(std::slice::from_ref(new), "*");
    sql.push(" SELECT ").push(USER_ROW_COLUMNS).push(" FROM u");
    sql.into_cached_query().get_result(conn)
}

/// Many new users in one statement (a CSV import's batch, a sync's creates), counted as
/// [`insert`] counts one. One text whatever the batch's size (a column an array, read
/// with `unnest`), so the connection prepares it once: a `VALUES` list of 1,000 rows was
/// 12,000 parameters parsed and planned again for every batch.
pub fn insert_many(conn: &mut PgConnection, new: &[NewUser<'_>]) -> QueryResult<usize> {
    if new.is_empty() {
        return Ok(0);
    }
    let text = |f: &dyn Fn(&NewUser<'_>) -> Option<String>| -> Bind {
        Bind::OptTextArray(new.iter().map(f).collect())
    };
    let mut sql = Sql::new();
    sql.push("WITH u AS (INSERT INTO users (")
        .push(NEW_USER_COLUMNS)
        .push(") SELECT * FROM unnest(");
    sql.bind_all([
        Bind::UuidArray(new.iter().map(|n| n.id).collect()),
        Bind::UuidArray(new.iter().map(|n| n.tenant_id).collect()),
        text(&|n| Some(n.source.as_str().to_owned())),
        text(&|n| n.source_ref.map(str::to_owned)),
        text(&|n| Some(n.data.user_name.clone())),
        text(&|n| n.data.external_id.clone()),
        text(&|n| n.data.display_name.clone()),
        Bind::BoolArray(new.iter().map(|n| n.data.active).collect()),
        Bind::JsonArray(new.iter().map(|n| n.data.resource.clone()).collect()),
        text(&|n| n.data.email.clone()),
        text(&|n| n.data.department.clone()),
        Bind::JsonArray(new.iter().map(|n| n.data.emails.clone()).collect()),
    ])
    .push(") RETURNING tenant_id, deprovisioned_at), ")
    .push(&counted(
        Kind::Users,
        Lane::Transaction,
        "u",
        &visible(Kind::Users, "u"),
    ))
    .push(" SELECT count(*) AS n FROM u");
    let count: Count = sql.into_cached_query().get_result(conn)?;
    Ok(usize::try_from(count.n).unwrap_or(0))
}

/// Inserts `new` and its creation `event` in one statement, which commits both or
/// neither, unless the tenant's source is one of `pull_sources` or some user of the
/// tenant, live or deprovisioned, could be the same person (the test of
/// [`find_candidates`]). `None` then, and nothing is written: the caller decides on the
/// full path. Two such inserts racing on one userName still meet the unique index.
pub fn insert_if_new(
    conn: &mut PgConnection,
    new: &NewUser<'_>,
    pull_sources: &[Source],
    event: &NewEvent,
) -> QueryResult<Option<UserView>> {
    insert_if_new_statement(new, pull_sources, event)
        .get_result(conn)
        .optional()
}

/// [`insert_if_new`] on an async connection.
pub async fn insert_if_new_async(
    conn: &mut AsyncPgConnection,
    new: &NewUser<'_>,
    pull_sources: &[Source],
    event: &NewEvent,
) -> QueryResult<Option<UserView>> {
    diesel_async::RunQueryDsl::get_result(insert_if_new_statement(new, pull_sources, event), conn)
        .await
        .optional()
}

fn insert_if_new_statement(
    new: &NewUser<'_>,
    pull_sources: &[Source],
    event: &NewEvent,
) -> Statement {
    let d = &new.data;
    let mut sql = Sql::new();
    sql.push("WITH u AS (INSERT INTO users (")
        .push(NEW_USER_COLUMNS)
        .push(") SELECT ");
    push_new_user(&mut sql, new, "t.id");
    sql.push(" FROM tenants t WHERE t.id = ");
    sql.bind(Bind::Uuid(new.tenant_id));
    // Scalars rather than arrays: PostgreSQL then costs the kept generic plan like a
    // fresh one and keeps using it, instead of planning this statement on every run.
    for pull in pull_sources {
        sql.push(" AND t.source <> ");
        sql.bind(Bind::Text(pull.as_str().to_owned()));
    }
    let newcomer = SamePerson::bound("c", &mut sql, d);
    sql.push(" AND NOT EXISTS (SELECT 1 FROM users c WHERE c.tenant_id = t.id AND ")
        .push(&newcomer.any())
        .push(
            ") RETURNING *), e AS (INSERT INTO events (tenant_id, type, resource_type, \
             resource_id, actor, request_id, data) SELECT u.tenant_id, ",
        );
    sql.bind(Bind::Text(event.kind.clone())).push(", ");
    sql.bind(Bind::Text(event.resource_type.clone()))
        .push(", u.id, ");
    sql.bind(Bind::Text(event.actor.clone())).push(", ");
    sql.bind(Bind::OptText(event.request_id.clone())).push(", ");
    sql.bind(Bind::Json(event.data.clone()))
        .push(" FROM u), ")
        .push(&counted_creates())
        .push(" SELECT ")
        .push(USER_ROW_COLUMNS)
        .push(view_columns(false))
        .push(" FROM u");
    sql.into_cached_query()
}

/// The count of the users a one-statement create writes as its CTE `u`.
fn counted_creates() -> String {
    counted(
        Kind::Users,
        Lane::Statement,
        "u",
        &visible(Kind::Users, "u"),
    )
}

/// [`insert_if_new`] for each of `entries`, with the outcome each would have had alone,
/// in their order, in as few statements as that allows: one for all of them, which writes
/// each user that passes the test of [`insert_if_new`] against the table and against the
/// entries before it. An entry that could be the same person as an earlier one is not
/// written (`None`), as it would not have been after the earlier one's insert. When the
/// combined statement fails (two racing writers of one userName, say), it writes nothing
/// and every user is tried alone.
pub async fn insert_each_if_new_async(
    conn: &mut AsyncPgConnection,
    entries: &[(NewUser<'_>, NewEvent)],
    pull_sources: &[Source],
) -> Vec<QueryResult<Option<UserView>>> {
    if entries.len() > 1 {
        let batch: Vec<_> = entries.iter().collect();
        match insert_batch_if_new_async(conn, &batch, pull_sources).await {
            Ok(rows) => {
                let mut rows: HashMap<Uuid, UserView> =
                    rows.into_iter().map(|v| (v.user.id, v)).collect();
                return entries
                    .iter()
                    .map(|(new, _)| Ok(rows.remove(&new.id)))
                    .collect();
            }
            Err(e) => {
                tracing::debug!(error = %e, users = batch.len(), "combined create failed; each user alone");
            }
        }
    }
    let mut out = Vec::with_capacity(entries.len());
    for (new, event) in entries {
        out.push(insert_if_new_async(conn, new, pull_sources, event).await);
    }
    out
}

/// [`insert_if_new`] for many users at once, in one statement: the users that pass its
/// test, against the table as it was before the statement and against the users before
/// them in `batch`, are written with their events; the others are not, and the rows
/// written come back (in no particular order). An error writes nothing at all.
async fn insert_batch_if_new_async(
    conn: &mut AsyncPgConnection,
    batch: &[&(NewUser<'_>, NewEvent)],
    pull_sources: &[Source],
) -> QueryResult<Vec<UserView>> {
    let statement = insert_batch_sql(batch, pull_sources).into_cached_query();
    diesel_async::RunQueryDsl::load(statement, conn).await
}

/// The statement of [`insert_batch_if_new_async`] (public for plan tests).
pub fn insert_batch_sql(batch: &[&(NewUser<'_>, NewEvent)], pull_sources: &[Source]) -> Sql {
    type Field = fn(&NewUser<'_>, &NewEvent) -> Option<String>;
    fn column<T>(
        batch: &[&(NewUser<'_>, NewEvent)],
        f: impl Fn(&NewUser<'_>, &NewEvent) -> T,
    ) -> Vec<T> {
        batch.iter().map(|(u, e)| f(u, e)).collect()
    }
    let texts = |sql: &mut Sql, fields: &[Field]| {
        for f in fields {
            sql.bind(Bind::OptTextArray(column(batch, f)))
                .push("::text[], ");
        }
    };
    let mut sql = Sql::new();
    sql.push("WITH i AS (SELECT * FROM unnest(");
    sql.bind(Bind::UuidArray(column(batch, |u, _| u.id)))
        .push("::uuid[], ");
    sql.bind(Bind::UuidArray(column(batch, |u, _| u.tenant_id)))
        .push("::uuid[], ");
    texts(
        &mut sql,
        &[
            |u, _| Some(u.source.as_str().to_owned()),
            |u, _| u.source_ref.map(str::to_owned),
            |u, _| Some(u.data.user_name.clone()),
            |u, _| u.data.external_id.clone(),
            |u, _| u.data.display_name.clone(),
        ],
    );
    sql.bind(Bind::BoolArray(column(batch, |u, _| u.data.active)))
        .push("::boolean[], ");
    sql.bind(Bind::JsonArray(column(batch, |u, _| {
        u.data.resource.clone()
    })))
    .push("::jsonb[], ");
    texts(
        &mut sql,
        &[
            |u, _| u.data.email.clone(),
            |u, _| u.data.department.clone(),
            |_, e| Some(e.kind.clone()),
            |_, e| Some(e.resource_type.clone()),
            |_, e| Some(e.actor.clone()),
            |_, e| e.request_id.clone(),
        ],
    );
    sql.bind(Bind::JsonArray(column(batch, |_, e| e.data.clone())))
        .push("::jsonb[], ");
    sql.bind(Bind::JsonArray(column(batch, |u, _| u.data.emails.clone())))
        .push(
            "::jsonb[]) WITH ORDINALITY AS i (id, tenant_id, source, source_ref, user_name, \
             external_id, display_name, active, resource, email, department, kind, \
             resource_type, actor, request_id, data, emails, n)), \
             u AS (INSERT INTO users (id, tenant_id, source, source_ref, user_name, \
             external_id, display_name, active, resource, email, department, emails) \
             SELECT i.id, t.id, i.source, i.source_ref, i.user_name, i.external_id, \
             i.display_name, i.active, i.resource, i.email, i.department, i.emails \
             FROM i JOIN tenants t ON t.id = i.tenant_id WHERE true",
        );
    for pull in pull_sources {
        sql.push(" AND t.source <> ");
        sql.bind(Bind::Text(pull.as_str().to_owned()));
    }
    // A scalar subquery rather than NOT EXISTS, which PostgreSQL may turn into an anti
    // join: for a four-user batch written out as array literals it chose a hash anti join
    // over the whole table (16 users/s). A subquery probes the indexes for each user.
    let against = |c: &str| SamePerson::between(c, "i.user_name", "i.email", "i.external_id").any();
    sql.push(" AND NOT (SELECT EXISTS (SELECT 1 FROM users c WHERE c.tenant_id = t.id AND ")
        .push(&against("c"))
        .push(")) AND NOT EXISTS (SELECT 1 FROM i AS b WHERE b.n < i.n AND b.tenant_id = i.tenant_id AND ")
        .push(&against("b"))
        .push(
            ") RETURNING *), \
             e AS (INSERT INTO events (tenant_id, type, resource_type, resource_id, actor, \
             request_id, data) SELECT u.tenant_id, i.kind, i.resource_type, u.id, i.actor, \
             i.request_id, i.data FROM u JOIN i ON i.id = u.id), ",
        )
    .push(&counted_creates())
    .push(" SELECT ")
    .push(USER_ROW_COLUMNS)
    .push(view_columns(false))
    .push(" FROM u");
    sql
}

/// A user SCIM can see, with its groups when `groups`, in one prepared statement.
pub fn view(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    groups: bool,
) -> QueryResult<Option<UserView>> {
    view_statement(tenant_id, id, groups)
        .get_result(conn)
        .optional()
}

/// [`view`] on an async connection.
pub async fn view_async(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    groups: bool,
) -> QueryResult<Option<UserView>> {
    diesel_async::RunQueryDsl::get_result(view_statement(tenant_id, id, groups), conn)
        .await
        .optional()
}

fn view_statement(tenant_id: Uuid, id: Uuid, groups: bool) -> Statement {
    view_sql(tenant_id, id, groups).into_cached_query()
}

/// The statement of [`view`] (public for plan tests).
pub fn view_sql(tenant_id: Uuid, id: Uuid, groups: bool) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .push(USER_ROW_COLUMNS)
        .push(view_columns(groups))
        .push(" FROM users u");
    by_id(&mut sql, tenant_id, id, Seen::Live);
    sql
}

/// Which users a read by id sees.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Those SCIM sees: not deprovisioned.
    Live,
    /// Deprovisioned ones too.
    Any,
}

/// ` WHERE` user `id` of `tenant_id`, found by the primary key (tenant, id). The liveness
/// test is one expression that no index can answer (`(…) IS TRUE`): as a plain condition,
/// the index partial on `deprovisioned_at IS NULL` is a candidate too, and without
/// statistics PostgreSQL may choose it and read every entry of the tenant to find one row
/// (`store::plans`).
fn by_id(sql: &mut Sql, tenant_id: Uuid, id: Uuid, seen: Seen) {
    sql.push(" WHERE u.tenant_id = ");
    sql.bind(Bind::Uuid(tenant_id)).push(" AND u.id = ");
    sql.bind(Bind::Uuid(id));
    if seen == Seen::Live {
        sql.push(" AND (u.deprovisioned_at IS NULL) IS TRUE");
    }
}

/// A user row by id, locked for the rest of the transaction when `lock`.
fn row_by_id(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    seen: Seen,
    lock: bool,
) -> QueryResult<Option<UserRow>> {
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .push(USER_ROW_COLUMNS)
        .push(" FROM users u");
    by_id(&mut sql, tenant_id, id, seen);
    if lock {
        sql.push(" FOR UPDATE");
    }
    sql.into_cached_query().get_result(conn).optional()
}

/// A user SCIM can see (not deprovisioned), locked for the rest of the transaction.
pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<UserRow>> {
    row_by_id(conn, tenant_id, id, Seen::Live, true)
}

/// Any user, deprovisioned or not, by id.
pub fn find_any(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<UserRow>> {
    row_by_id(conn, tenant_id, id, Seen::Any, false)
}

/// The same, locked for the rest of the transaction.
pub fn find_any_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<UserRow>> {
    row_by_id(conn, tenant_id, id, Seen::Any, true)
}

/// "Could be the same person" (DESIGN.md, Lifecycle), the one test behind adoption,
/// restore and the one-statement create: a user row `c` and a newcomer whose userName,
/// email and externalId are the SQL expressions given share the userName (in any case),
/// the email (lower-cased, as the column holds it) or the externalId. Each of the three
/// is SQL text, kept apart for a reader that must say which of them matched.
struct SamePerson {
    user_name: String,
    email: String,
    external_id: String,
}

impl SamePerson {
    fn between(c: &str, user_name: &str, email: &str, external_id: &str) -> Self {
        Self {
            user_name: format!("lower({c}.user_name) = lower({user_name})"),
            email: format!("{c}.email = lower({email})"),
            external_id: format!("{c}.external_id = {external_id}"),
        }
    }

    /// The test against a newcomer's columns, bound to `sql` in this order: userName,
    /// email, externalId.
    fn bound(c: &str, sql: &mut Sql, newcomer: &UserData) -> Self {
        Self::between(
            c,
            &sql.param(Bind::Text(newcomer.user_name.clone())),
            &sql.param(Bind::OptText(newcomer.email.clone())),
            &sql.param(Bind::OptText(newcomer.external_id.clone())),
        )
    }

    /// The test itself: any of the three.
    fn any(&self) -> String {
        format!(
            "({} OR {} OR {})",
            self.user_name, self.email, self.external_id
        )
    }
}

/// [`SamePerson`]'s userName test and its email test, apart, between a row `c` and a
/// newcomer whose userName and email are the SQL expressions given: a directory user,
/// which has no externalId to match. Apart, so that each can be a lookup of its own
/// index: as one `OR`, without statistics PostgreSQL read every live person of the
/// tenant for each newcomer instead.
pub fn same_person_tests(c: &str, user_name: &str, email: &str) -> (String, String) {
    let same = SamePerson::between(c, user_name, email, "NULL");
    (same.user_name, same.email)
}

/// A user who could be the same person as a newcomer, and which of the tests matched.
#[derive(QueryableByName, Debug, Clone)]
pub struct Candidate {
    #[diesel(embed)]
    pub user: UserRow,
    /// The same userName, in any case.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub same_user_name: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub same_email: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub same_external_id: bool,
}

/// Users (deprovisioned too) who could be the same person as a newcomer with these
/// columns ([`SamePerson`]). Locked for the caller's transaction. Live users first, then
/// the most recently changed.
pub fn find_candidates(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    newcomer: &UserData,
) -> QueryResult<Vec<Candidate>> {
    candidates_sql(tenant_id, newcomer)
        .into_cached_query()
        .load(conn)
}

/// The statement of [`find_candidates`] (public for plan tests).
pub fn candidates_sql(tenant_id: Uuid, newcomer: &UserData) -> Sql {
    let mut sql = Sql::new();
    let tenant = sql.param(Bind::Uuid(tenant_id));
    let same = SamePerson::bound("u", &mut sql, newcomer);
    sql.push("SELECT ")
        .push(USER_ROW_COLUMNS)
        .push(&format!(
            ", coalesce({}, false) AS same_user_name, coalesce({}, false) AS same_email, \
             coalesce({}, false) AS same_external_id FROM users u WHERE u.tenant_id = {tenant} AND ",
            same.user_name, same.email, same.external_id
        ))
        .push(&same.any())
        .push(
            " ORDER BY u.deprovisioned_at IS NOT NULL, u.updated_at DESC LIMIT 20 FOR UPDATE",
        );
    sql
}

/// Writes new data if the row is still at `version`; `None` when it moved on.
pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    version: i64,
    data: &UserData,
    now: DateTime<Utc>,
) -> QueryResult<Option<UserRow>> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant_id))
            .filter(users::id.eq(id))
            .filter(users::version.eq(version)),
    )
    .set((
        data,
        users::version.eq(users::version + 1),
        users::updated_at.eq(now),
    ))
    .returning(UserRow::as_returning())
    .get_result(conn)
    .optional()
}

/// Changes who manages the person and whether they are deprovisioned (adoption, restore,
/// deprovision), bumping the version, and the tenant's count when the person appears to
/// SCIM or leaves it.
pub fn set_lifecycle(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    source: Source,
    deprovisioned_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> QueryResult<UserRow> {
    let mut sql = Sql::new();
    sql.push("WITH u AS (UPDATE users t SET source = ");
    sql.bind(Bind::Text(source.as_str().to_owned()))
        .push(", deprovisioned_at = ");
    sql.bind(Bind::OptTimestamp(deprovisioned_at))
        .push(", version = t.version + 1, updated_at = ");
    sql.bind(Bind::Timestamp(now))
        .push(" FROM users was WHERE t.tenant_id = ");
    sql.bind(Bind::Uuid(tenant_id)).push(" AND t.id = ");
    sql.bind(Bind::Uuid(id)).push(&format!(
        " AND was.tenant_id = t.tenant_id AND was.id = t.id RETURNING t.*, {} AS was_visible), ",
        visible(Kind::Users, "was")
    ));
    sql.push(&counted(
        Kind::Users,
        Lane::Transaction,
        "u",
        &format!("{} - u.was_visible", visible(Kind::Users, "u")),
    ))
    .push(" SELECT ")
    .push(USER_ROW_COLUMNS)
    .push(" FROM u");
    sql.into_cached_query().get_result(conn)
}

/// Records the directory id of a person a pull source took over (adopted or restored).
pub fn set_source_ref(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    source_ref: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find((tenant_id, id)))
        .set(users::source_ref.eq(source_ref))
        .execute(conn)
        .map(drop)
}

/// Erases a user, and takes a visible one off the tenant's count.
pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    counts::delete(conn, Kind::Users, tenant_id, id)
}

/// The subset of `ids` that are live users of the tenant: one primary-key probe per id
/// (`unnest` joined to the table). With `id = ANY(…)` the planner may scan the whole
/// tenant and test every row against the list, which takes seconds for 10,000 ids. The
/// liveness test is one expression no index can answer, as in [`by_id`]: as a plain
/// condition, without statistics PostgreSQL hashed the whole tenant's entries of
/// `users_listing` instead (68,000 entries a PATCH on a tenant of 100,000).
pub fn existing_ids(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    diesel::sql_query(
        "SELECT u.id FROM unnest($2::uuid[]) AS x(id) JOIN users u \
         ON u.tenant_id = $1 AND u.id = x.id WHERE (u.deprovisioned_at IS NULL) IS TRUE",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .load::<IdRow>(conn)
    .map(IdRow::ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_row_columns_name_every_field_of_a_user_row() {
        let typed =
            diesel::debug_query::<diesel::pg::Pg, _>(&users::table.select(UserRow::as_select()))
                .to_string();
        let list = typed
            .strip_prefix("SELECT ")
            .and_then(|s| s.split(" FROM ").next())
            .unwrap_or_default();
        let typed: Vec<&str> = list
            .split(", ")
            .map(|c| c.trim_start_matches("\"users\".").trim_matches('"'))
            .collect();
        let ours: Vec<&str> = USER_ROW_COLUMNS
            .split(',')
            .map(|c| c.trim().trim_start_matches("u."))
            .collect();
        assert_eq!(ours, typed);
        assert!(!ours.contains(&"emails"));
    }
}
