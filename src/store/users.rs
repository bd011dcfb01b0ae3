//! The `users` table.
//!
//! `resource` holds the SCIM resource as the source last set it (core and enterprise
//! attributes, without `id`, `meta`, `schemas`, `groups` or `password`); the columns beside
//! it are derived from it on every write, for indexes, or owned by the server.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::schema::users;

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
    pub source: String,
    pub source_ref: Option<String>,
    pub admin_state: String,
    pub deprovisioned_at: Option<DateTime<Utc>>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns a SCIM write sets, all derived from the resource.
#[derive(Insertable, AsChangeset, Debug, Clone)]
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
}

#[derive(Insertable, Debug)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub source: &'a str,
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

/// A user SCIM can see: not deprovisioned.
pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .filter(users::deprovisioned_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The same, locking the row for the rest of the transaction.
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
    source: &str,
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

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
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
    .map(|rows| rows.into_iter().map(|r| r.id).collect())
}
