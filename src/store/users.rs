//! The `users` table.
//!
//! `resource` holds the SCIM resource as the source last set it (core and enterprise
//! attributes, without `id`, `meta`, `schemas`, `groups` or `password`); the columns beside
//! it are derived from it on every write, for indexes, or owned by the server.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::events::NewEvent;
use super::rows::IdRow;
use super::schema::users;
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
    /// Group ids, in no particular order; `None` when not read.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Uuid>>)]
    group_ids: Option<Vec<Uuid>>,
    /// Their displayNames, in the same order.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Text>>)]
    group_names: Option<Vec<String>>,
}

impl UserView {
    /// A user whose groups were not read.
    pub fn without_groups(user: UserRow) -> Self {
        Self {
            user,
            group_ids: None,
            group_names: None,
        }
    }

    /// The user with its groups, read by the caller: (group id, displayName).
    pub fn with_groups(self, groups: Vec<(Uuid, String)>) -> Self {
        let (ids, names) = groups.into_iter().unzip();
        Self {
            group_ids: Some(ids),
            group_names: Some(names),
            ..self
        }
    }

    /// (group id, displayName) of each group, when they were read, ordered by displayName
    /// in code point order (as `sortBy` orders strings), then id.
    ///
    /// Sorted here rather than by the statement: an `ORDER BY` inside the aggregates costs
    /// each read of a user two sorts. Under pgbench, the Entra lookup statement ran at
    /// 30-31k tx/s with them and 34k without.
    pub fn groups(&self) -> Option<Vec<(Uuid, String)>> {
        let ids = self.group_ids.as_ref()?;
        let names = self.group_names.as_deref().unwrap_or_default();
        let mut groups: Vec<_> = ids.iter().copied().zip(names.iter().cloned()).collect();
        groups.sort_unstable_by(|(a_id, a), (b_id, b)| (a, a_id).cmp(&(b, b_id)));
        Some(groups)
    }
}

/// The select-list columns of a [`UserView`] beyond [`USER_ROW_COLUMNS`]: the user's
/// groups as two aligned arrays, read by [`VIEW_GROUPS_JOIN`], or two NULLs without it.
pub fn view_columns(groups: bool) -> &'static str {
    if groups {
        ", coalesce(ug.ids, '{}') AS group_ids, coalesce(ug.names, '{}') AS group_names"
    } else {
        ", NULL::uuid[] AS group_ids, NULL::text[] AS group_names"
    }
}

/// What follows `users u` in the FROM clause for `view_columns(true)`: both arrays from
/// one scan of `group_members_member` (two scalar subqueries would scan it twice), aligned
/// (two aggregates of one group see its rows in the same order), unordered.
pub const VIEW_GROUPS_JOIN: &str = " LEFT JOIN LATERAL (SELECT \
     array_agg(g.id) AS ids, array_agg(g.display_name) AS names \
     FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.member_id = u.id) ug ON true";

/// [`VIEW_GROUPS_JOIN`] when `groups`, else nothing.
pub fn view_join(groups: bool) -> &'static str {
    if groups {
        VIEW_GROUPS_JOIN
    } else {
        ""
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

pub fn insert(conn: &mut PgConnection, new: &NewUser<'_>) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(UserRow::as_returning())
        .get_result(conn)
}

/// Many new users in one statement (a CSV import's batch).
pub fn insert_many(conn: &mut PgConnection, new: &[NewUser<'_>]) -> QueryResult<usize> {
    diesel::insert_into(users::table).values(new).execute(conn)
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
    sql.push(
        "WITH u AS (INSERT INTO users (id, tenant_id, source, source_ref, user_name, \
         external_id, display_name, active, resource, email, department, emails) SELECT ",
    );
    sql.bind(Bind::Uuid(new.id)).push(", t.id, ");
    sql.bind(Bind::Text(new.source.as_str().to_owned()))
        .push(", ");
    sql.bind(Bind::OptText(new.source_ref.map(str::to_owned)))
        .push(", ");
    sql.bind(Bind::Text(d.user_name.clone())).push(", ");
    sql.bind(Bind::OptText(d.external_id.clone())).push(", ");
    sql.bind(Bind::OptText(d.display_name.clone())).push(", ");
    sql.bind(Bind::Bool(d.active)).push(", ");
    sql.bind(Bind::Json(d.resource.clone())).push(", ");
    sql.bind(Bind::OptText(d.email.clone())).push(", ");
    sql.bind(Bind::OptText(d.department.clone())).push(", ");
    sql.bind(Bind::Json(d.emails.clone()))
        .push(" FROM tenants t WHERE t.id = ");
    sql.bind(Bind::Uuid(new.tenant_id));
    // Scalars rather than arrays: PostgreSQL then costs the kept generic plan like a
    // fresh one and keeps using it, instead of planning this statement on every run.
    for pull in pull_sources {
        sql.push(" AND t.source <> ");
        sql.bind(Bind::Text(pull.as_str().to_owned()));
    }
    sql.push(
        " AND NOT EXISTS (SELECT 1 FROM users c WHERE c.tenant_id = t.id AND (lower(c.user_name) = lower(",
    );
    sql.bind(Bind::Text(d.user_name.clone()))
        .push(") OR c.email = lower(");
    sql.bind(Bind::OptText(d.email.clone()))
        .push(") OR c.external_id = ");
    sql.bind(Bind::OptText(d.external_id.clone())).push(
        ")) RETURNING *), e AS (INSERT INTO events (tenant_id, type, resource_type, \
         resource_id, actor, request_id, data) SELECT u.tenant_id, ",
    );
    sql.bind(Bind::Text(event.kind.clone())).push(", ");
    sql.bind(Bind::Text(event.resource_type.clone()))
        .push(", u.id, ");
    sql.bind(Bind::Text(event.actor.clone())).push(", ");
    sql.bind(Bind::OptText(event.request_id.clone())).push(", ");
    sql.bind(Bind::Json(event.data.clone()))
        .push(" FROM u) SELECT ")
        .push(USER_ROW_COLUMNS)
        .push(view_columns(false))
        .push(" FROM u");
    sql.into_cached_query()
}

/// [`insert_if_new`] for each of `entries`, with the outcome each would have had alone,
/// in their order, in as few statements as that allows. Users who could be the same
/// person as an earlier one of `entries` (the test of [`find_candidates`], on the columns
/// as written here) are inserted alone after the others, so they meet the earlier one as
/// they would have. When the combined statement fails (two racing writers of one
/// userName, say), it writes nothing and every user is tried alone.
pub async fn insert_each_if_new_async(
    conn: &mut AsyncPgConnection,
    entries: &[(NewUser<'_>, NewEvent)],
    pull_sources: &[Source],
) -> Vec<QueryResult<Option<UserView>>> {
    let mut seen = HashSet::new();
    let (together, after): (Vec<_>, Vec<_>) = (0..entries.len()).partition(|&i| {
        let (new, _) = &entries[i];
        let d = &new.data;
        let keys: Vec<_> = [
            Some(("userName", d.user_name.to_lowercase())),
            d.email.clone().map(|e| ("email", e)),
            d.external_id.clone().map(|x| ("externalId", x)),
        ]
        .into_iter()
        .flatten()
        .map(|(k, v)| (new.tenant_id, k, v))
        .collect();
        let fresh = keys.iter().all(|k| !seen.contains(k));
        seen.extend(keys);
        fresh
    });
    let mut out = Vec::with_capacity(entries.len());
    let mut alone = Vec::with_capacity(after.len());
    if together.len() > 1 {
        let batch: Vec<_> = together.iter().map(|&i| &entries[i]).collect();
        match insert_batch_if_new_async(conn, &batch, pull_sources).await {
            Ok(rows) => {
                let mut rows: HashMap<Uuid, UserView> =
                    rows.into_iter().map(|v| (v.user.id, v)).collect();
                out.extend(
                    together
                        .iter()
                        .map(|&i| (i, Ok(rows.remove(&entries[i].0.id)))),
                );
            }
            Err(e) => {
                tracing::debug!(error = %e, users = batch.len(), "combined create failed; each user alone");
                alone.extend(together);
            }
        }
    } else {
        alone.extend(together);
    }
    alone.extend(after);
    for i in alone {
        let (new, event) = &entries[i];
        out.push((i, insert_if_new_async(conn, new, pull_sources, event).await));
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// [`insert_if_new`] for many users at once, in one statement: the users that pass its
/// test are written with their events, the others are not, and the rows written come
/// back (in no particular order). Each user is tested against the table as it was before
/// the statement, not against the others in `batch`: the caller keeps users who could be
/// the same person out of one batch. An error writes nothing at all.
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
            "::jsonb[]) AS i (id, tenant_id, source, source_ref, user_name, external_id, \
             display_name, active, resource, email, department, kind, resource_type, actor, \
             request_id, data, emails)), \
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
    sql.push(
        " AND NOT (SELECT EXISTS (SELECT 1 FROM users c WHERE c.tenant_id = t.id \
         AND (lower(c.user_name) = lower(i.user_name) OR c.email = lower(i.email) \
         OR c.external_id = i.external_id))) RETURNING *), \
         e AS (INSERT INTO events (tenant_id, type, resource_type, resource_id, actor, \
         request_id, data) SELECT u.tenant_id, i.kind, i.resource_type, u.id, i.actor, \
         i.request_id, i.data FROM u JOIN i ON i.id = u.id) SELECT ",
    )
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
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .push(USER_ROW_COLUMNS)
        .push(view_columns(groups))
        .push(" FROM users u")
        .push(view_join(groups))
        .push(" WHERE u.tenant_id = ");
    sql.bind(Bind::Uuid(tenant_id)).push(" AND u.id = ");
    sql.bind(Bind::Uuid(id))
        .push(" AND u.deprovisioned_at IS NULL");
    sql.into_cached_query()
}

/// A user SCIM can see (not deprovisioned), locked for the rest of the transaction.
pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .filter(users::deprovisioned_at.is_null())
        .select(UserRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Any user, deprovisioned or not, by id.
pub fn find_any(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The same, locked for the rest of the transaction.
pub fn find_any_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Users (deprovisioned too) who could be the same person as a newcomer: the same
/// userName or email (case-insensitive), or the same externalId. Locked for the caller's
/// transaction. Live users first, then the most recently changed.
pub fn find_candidates(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_name: &str,
    external_id: Option<&str>,
    emails: &[String],
) -> QueryResult<Vec<UserRow>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Array, Bool, Nullable, Text};
    let lowered: Vec<String> = emails.iter().map(|e| e.to_lowercase()).collect();
    let same_person = sql::<Bool>("(lower(user_name) = lower(")
        .bind::<Text, _>(user_name.to_owned())
        .sql(") OR email = ANY(")
        .bind::<Array<Text>, _>(lowered)
        .sql(") OR external_id = ")
        .bind::<Nullable<Text>, _>(external_id.map(str::to_owned))
        .sql(")");
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(same_person)
        .order((
            users::deprovisioned_at.is_not_null(),
            users::updated_at.desc(),
        ))
        .select(UserRow::as_select())
        .limit(20)
        .for_update()
        .load(conn)
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
/// deprovision), bumping the version.
pub fn set_lifecycle(
    conn: &mut PgConnection,
    id: Uuid,
    source: Source,
    deprovisioned_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(id))
        .set((
            users::source.eq(source),
            users::deprovisioned_at.eq(deprovisioned_at),
            users::version.eq(users::version + 1),
            users::updated_at.eq(now),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(users::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

/// The subset of `ids` that are live users of the tenant: one primary-key probe per id
/// (`unnest` joined to the table). With `id = ANY(…)` the planner may scan the whole
/// tenant and test every row against the list, which takes seconds for 10,000 ids.
pub fn existing_ids(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    diesel::sql_query(
        "SELECT u.id FROM unnest($2::uuid[]) AS x(id) JOIN users u ON u.id = x.id \
         WHERE u.tenant_id = $1 AND u.deprovisioned_at IS NULL",
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
