//! The `groups` and `group_members` tables. Membership has its own table, so adding or
//! removing k members touches k rows whatever the group's size.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::on_constraint;
use serde_json::Value;
use uuid::Uuid;

use super::counts::{self, counted, visible, Lane};
use super::rows::IdRow;
use super::schema::{group_members, groups};
use super::search::Kind;
use super::sql::{Bind, Sql};
use crate::domain::Source;

#[derive(Queryable, QueryableByName, Selectable, Identifiable, Debug, Clone, PartialEq)]
#[diesel(table_name = groups)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct GroupRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    pub resource: Value,
    pub version: i64,
    pub source: Source,
    pub source_ref: Option<String>,
    pub excluded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = groups)]
#[diesel(treat_none_as_null = true)]
pub struct GroupData {
    pub display_name: String,
    pub external_id: Option<String>,
    pub resource: Value,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = groups)]
pub struct NewGroup<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub source: Source,
    pub source_ref: Option<&'a str>,
    #[diesel(embed)]
    pub data: GroupData,
}

/// A member: a user or (RFC 7643 §4.2) a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    pub id: Uuid,
    pub kind: MemberKind,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "User",
            MemberKind::Group => "Group",
        }
    }
}

/// Inserts a group, and counts it in the tenant's groups.
pub fn insert(conn: &mut PgConnection, new: &NewGroup<'_>) -> QueryResult<GroupRow> {
    let d = &new.data;
    let mut sql = Sql::new();
    sql.push(
        "WITH g AS (INSERT INTO groups (id, tenant_id, source, source_ref, display_name, \
         external_id, resource) VALUES (",
    );
    sql.bind_all([
        Bind::Uuid(new.id),
        Bind::Uuid(new.tenant_id),
        Bind::Text(new.source.as_str().to_owned()),
        Bind::OptText(new.source_ref.map(str::to_owned)),
        Bind::Text(d.display_name.clone()),
        Bind::OptText(d.external_id.clone()),
        Bind::Json(d.resource.clone()),
    ])
    .push(") RETURNING *), ")
    .push(&counted(
        Kind::Groups,
        Lane::Transaction,
        "g",
        &visible(Kind::Groups, "g"),
    ))
    .push(" SELECT g.* FROM g");
    sql.into_cached_query().get_result(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .filter(groups::id.eq(id))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .filter(groups::id.eq(id))
        .select(GroupRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Writes new data and bumps the version if the row is still at `version`.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    data: &GroupData,
    now: DateTime<Utc>,
) -> QueryResult<Option<GroupRow>> {
    diesel::update(groups::table.find(id).filter(groups::version.eq(version)))
        .set((
            data,
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(now),
        ))
        .returning(GroupRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Bumps the version (membership changed) of a row the caller has locked.
pub fn touch(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<GroupRow> {
    diesel::update(groups::table.find(id))
        .set((
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(now),
        ))
        .returning(GroupRow::as_returning())
        .get_result(conn)
}

pub fn set_excluded(
    conn: &mut PgConnection,
    id: Uuid,
    excluded_at: Option<DateTime<Utc>>,
) -> QueryResult<GroupRow> {
    diesel::update(groups::table.find(id))
        .set(groups::excluded_at.eq(excluded_at))
        .returning(GroupRow::as_returning())
        .get_result(conn)
}

/// Deletes a group (its memberships go with it), and takes it off the tenant's count.
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    counts::delete(conn, Kind::Groups, id)
}

/// Makes every group of the tenant that a source manages (any source but `manual`) a
/// manual group. Returns how many.
pub fn make_sourced_manual(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE groups SET source = 'manual', source_ref = NULL \
         WHERE tenant_id = $1 AND source <> 'manual'",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .execute(conn)
}

/// The subset of `ids` that are groups of the tenant, one primary-key probe per id (see
/// `users::existing_ids`).
pub fn existing_ids(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    diesel::sql_query(
        "SELECT g.id FROM unnest($2::uuid[]) AS x(id) JOIN groups g ON g.id = x.id \
         WHERE g.tenant_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .load::<IdRow>(conn)
    .map(IdRow::ids)
}

#[derive(Insertable)]
#[diesel(table_name = group_members)]
struct NewMember<'a> {
    group_id: Uuid,
    member_id: Uuid,
    member_type: &'a str,
    display: Option<&'a str>,
    tenant_id: Uuid,
}

/// Adds members; those already there are left alone. Returns the ones actually added.
pub fn add_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
    members: &[Member],
) -> QueryResult<Vec<Uuid>> {
    let mut added = Vec::with_capacity(members.len());
    for chunk in members.chunks(10_000) {
        let rows: Vec<NewMember<'_>> = chunk
            .iter()
            .map(|m| NewMember {
                group_id,
                member_id: m.id,
                member_type: m.kind.as_str(),
                display: m.display.as_deref(),
                tenant_id,
            })
            .collect();
        let mut ids: Vec<Uuid> = diesel::insert_into(group_members::table)
            .values(&rows)
            .on_conflict(on_constraint("group_members_pkey"))
            .do_nothing()
            .returning(group_members::member_id)
            .get_results(conn)?;
        added.append(&mut ids);
    }
    Ok(added)
}

/// Removes members; returns the ones that were there.
pub fn remove_members(
    conn: &mut PgConnection,
    group_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    let mut removed = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let mut gone: Vec<Uuid> = diesel::delete(
            group_members::table
                .filter(group_members::group_id.eq(group_id))
                .filter(group_members::member_id.eq_any(chunk)),
        )
        .returning(group_members::member_id)
        .get_results(conn)?;
        removed.append(&mut gone);
    }
    Ok(removed)
}

/// Removes every member; returns them.
pub fn clear_members(conn: &mut PgConnection, group_id: Uuid) -> QueryResult<Vec<Uuid>> {
    diesel::delete(group_members::table.filter(group_members::group_id.eq(group_id)))
        .returning(group_members::member_id)
        .get_results(conn)
}

/// A group's members with the `display` the client sent, in insertion order.
pub fn members_of(
    conn: &mut PgConnection,
    group_id: Uuid,
) -> QueryResult<Vec<(Uuid, String, Option<String>)>> {
    diesel::sql_query(
        "SELECT member_id AS id, member_type AS kind, display \
         FROM group_members WHERE group_id = $1 ORDER BY member_id",
    )
    .bind::<diesel::sql_types::Uuid, _>(group_id)
    .load::<MemberLine>(conn)
    .map(|rows| {
        rows.into_iter()
            .map(|r| (r.id, r.kind, r.display))
            .collect()
    })
}

#[derive(QueryableByName)]
struct MemberLine {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    display: Option<String>,
}

/// Drops every membership of a member (a user removed or deprovisioned, a group deleted).
pub fn remove_from_all(conn: &mut PgConnection, member_id: Uuid) -> QueryResult<Vec<Uuid>> {
    diesel::delete(group_members::table.filter(group_members::member_id.eq(member_id)))
        .returning(group_members::group_id)
        .get_results(conn)
}

/// How many members a group has.
pub fn member_count(conn: &mut PgConnection, group_id: Uuid) -> QueryResult<i64> {
    group_members::table
        .filter(group_members::group_id.eq(group_id))
        .count()
        .get_result(conn)
}

/// Every member id of a group.
pub fn member_ids(conn: &mut PgConnection, group_id: Uuid) -> QueryResult<Vec<Uuid>> {
    group_members::table
        .filter(group_members::group_id.eq(group_id))
        .select(group_members::member_id)
        .load(conn)
}

/// For each of `member_ids`, the groups it is a direct member of: (member, group, displayName).
pub fn groups_of_many(
    conn: &mut PgConnection,
    member_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid, String)>> {
    group_members::table
        .inner_join(groups::table)
        .filter(group_members::member_id.eq_any(member_ids))
        .order((group_members::member_id, groups::display_name.asc()))
        .select((group_members::member_id, groups::id, groups::display_name))
        .load(conn)
}

/// The groups `member_id` is a direct member of, locked (in id order, so two writers
/// never lock two groups in opposite orders). Taking these locks before touching the
/// membership rows keeps the lock order every group writer uses: group row first.
pub fn lock_groups_of(conn: &mut PgConnection, member_id: Uuid) -> QueryResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = group_members::table
        .filter(group_members::member_id.eq(member_id))
        .select(group_members::group_id)
        .load(conn)?;
    groups::table
        .filter(groups::id.eq_any(ids))
        .order(groups::id)
        .select(groups::id)
        .for_update()
        .load(conn)
}
