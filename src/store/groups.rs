//! The `groups` and `group_members` tables. Membership has its own table, so adding or
//! removing k members touches k rows whatever the group's size.

use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use diesel::upsert::on_constraint;
use serde_json::Value;
use uuid::Uuid;

use super::counts::{self, counted, visible, Lane};
use super::events::NewEvent;
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

/// Inserts groups in one statement per thousand, and counts them as [`insert`] does.
pub fn insert_many(conn: &mut PgConnection, new: &[NewGroup<'_>]) -> QueryResult<()> {
    for chunk in new.chunks(1000) {
        let text = |f: &dyn Fn(&NewGroup<'_>) -> Option<String>| -> Bind {
            Bind::OptTextArray(chunk.iter().map(f).collect())
        };
        let mut sql = Sql::new();
        sql.push(
            "WITH g AS (INSERT INTO groups (id, tenant_id, source, source_ref, display_name, \
             external_id, resource) SELECT * FROM unnest(",
        );
        sql.bind_all([
            Bind::UuidArray(chunk.iter().map(|n| n.id).collect()),
            Bind::UuidArray(chunk.iter().map(|n| n.tenant_id).collect()),
            text(&|n| Some(n.source.as_str().to_owned())),
            text(&|n| n.source_ref.map(str::to_owned)),
            text(&|n| Some(n.data.display_name.clone())),
            text(&|n| n.data.external_id.clone()),
            Bind::JsonArray(chunk.iter().map(|n| n.data.resource.clone()).collect()),
        ])
        .push(") RETURNING *), ")
        .push(&counted(
            Kind::Groups,
            Lane::Transaction,
            "g",
            &visible(Kind::Groups, "g"),
        ))
        .push(" SELECT count(*) AS n FROM g");
        sql.into_cached_query().execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<GroupRow>> {
    by_id(conn, tenant_id, id, false)
}

pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<GroupRow>> {
    by_id(conn, tenant_id, id, true)
}

/// Group `id` of `tenant_id`, found by the primary key (tenant, id).
fn by_id(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> QueryResult<Option<GroupRow>> {
    let mut sql = Sql::new();
    sql.push("SELECT g.id, g.tenant_id, g.display_name, g.external_id, g.resource, g.version, \
         g.source, g.source_ref, g.excluded_at, g.created_at, g.updated_at FROM groups g WHERE g.tenant_id = ");
    sql.bind(Bind::Uuid(tenant_id)).push(" AND g.id = ");
    sql.bind(Bind::Uuid(id));
    if lock {
        sql.push(" FOR UPDATE");
    }
    sql.into_cached_query().get_result(conn).optional()
}

/// The group, locked for the caller's transaction, when its tenant's source is none of
/// `pull_sources`: the tenant's test and the lock in one statement. `None` when the
/// group is not the tenant's, or the tenant is not there or pulls; the caller tells which.
pub fn lock_if_pushing(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    pull_sources: &[Source],
) -> QueryResult<Option<GroupRow>> {
    let mut sql = Sql::new();
    // By the primary key, as [`by_id`].
    sql.push("SELECT g.* FROM groups g WHERE g.tenant_id = ")
        .bind(Bind::Uuid(tenant_id))
        .push(" AND g.id = ")
        .bind(Bind::Uuid(id))
        .push(" AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = g.tenant_id");
    // Scalars, as in `users::insert_if_new`: one kept plan whatever the list.
    for pull in pull_sources {
        sql.push(" AND t.source <> ")
            .bind(Bind::Text(pull.as_str().to_owned()));
    }
    sql.push(") FOR UPDATE OF g");
    sql.into_cached_query().get_result(conn).optional()
}

/// Writes new data and bumps the version if the row is still at `version`.
pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    version: i64,
    data: &GroupData,
    now: DateTime<Utc>,
) -> QueryResult<Option<GroupRow>> {
    diesel::update(
        groups::table
            .find((tenant_id, id))
            .filter(groups::version.eq(version)),
    )
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
pub fn touch(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<GroupRow> {
    diesel::update(groups::table.find((tenant_id, id)))
        .set((
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(now),
        ))
        .returning(GroupRow::as_returning())
        .get_result(conn)
}

pub fn set_excluded(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    excluded_at: Option<DateTime<Utc>>,
) -> QueryResult<GroupRow> {
    diesel::update(groups::table.find((tenant_id, id)))
        .set(groups::excluded_at.eq(excluded_at))
        .returning(GroupRow::as_returning())
        .get_result(conn)
}

/// Deletes a group (its memberships go with it), and takes it off the tenant's count.
pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    counts::delete(conn, Kind::Groups, tenant_id, id)
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
/// `users::existing_ids`, and its shape for the same reason).
pub fn existing_ids(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    diesel::sql_query(
        "SELECT g.id FROM unnest($2::uuid[]) AS x(id) JOIN groups g \
         ON g.tenant_id = $1 AND g.id = x.id",
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

/// Locks groups for the caller's transaction, in id order (so that two writers locking
/// overlapping sets wait rather than deadlock).
pub fn lock_many(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    for chunk in ids.chunks(10_000) {
        diesel::sql_query(
            "SELECT id FROM groups WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE",
        )
        .bind::<diesel::sql_types::Uuid, _>(tenant_id)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(chunk)
        .execute(conn)?;
    }
    Ok(())
}

/// A membership: (group, member).
pub type Pair = (Uuid, Uuid);

#[derive(QueryableByName)]
struct PairRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    group_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    member_id: Uuid,
}

/// Adds users to groups of the tenant, a statement per ten thousand; returns the
/// memberships that were not there.
pub fn add_user_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    pairs: &[Pair],
) -> QueryResult<Vec<Pair>> {
    per_chunk(conn, pairs, |chunk| {
        let mut sql = Sql::new();
        sql.push(
            "INSERT INTO group_members (group_id, member_id, member_type, tenant_id) \
             SELECT x.g, x.m, ",
        )
        .bind(Bind::Text(MemberKind::User.as_str().to_owned()))
        .push(", ")
        .bind(Bind::Uuid(tenant_id))
        .push(" FROM ");
        unnest(&mut sql, chunk).push(
            " ON CONFLICT ON CONSTRAINT group_members_pkey DO NOTHING \
             RETURNING group_id, member_id",
        );
        sql
    })
}

/// Removes memberships, a statement per ten thousand; returns the ones that were there.
pub fn remove_pairs(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    pairs: &[Pair],
) -> QueryResult<Vec<Pair>> {
    per_chunk(conn, pairs, |chunk| {
        let mut sql = Sql::new();
        sql.push("DELETE FROM group_members gm USING ");
        unnest(&mut sql, chunk)
            .push(" WHERE gm.tenant_id = ")
            .bind(Bind::Uuid(tenant_id))
            .push(
                " AND gm.group_id = x.g AND gm.member_id = x.m \
                 RETURNING gm.group_id, gm.member_id",
            );
        sql
    })
}

/// Runs the statement `sql` makes of each ten thousand of `pairs`; the memberships the
/// statements return.
fn per_chunk(
    conn: &mut PgConnection,
    pairs: &[Pair],
    sql: impl Fn(&[Pair]) -> Sql,
) -> QueryResult<Vec<Pair>> {
    let mut returned = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(10_000) {
        let rows: Vec<PairRow> = sql(chunk).into_cached_query().load(conn)?;
        returned.extend(rows.into_iter().map(|r| (r.group_id, r.member_id)));
    }
    Ok(returned)
}

/// `unnest(…) AS x(g, m)`: `pairs` as rows of a group `g` and a member `m`.
fn unnest<'a>(sql: &'a mut Sql, pairs: &[Pair]) -> &'a mut Sql {
    sql.push("unnest(")
        .bind(Bind::UuidArray(pairs.iter().map(|p| p.0).collect()))
        .push(", ")
        .bind(Bind::UuidArray(pairs.iter().map(|p| p.1).collect()))
        .push(") AS x(g, m)")
}

/// A new version of each group, changed at `now`.
pub fn touch_many(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    for chunk in ids.chunks(10_000) {
        diesel::update(
            groups::table
                .filter(groups::tenant_id.eq(tenant_id))
                .filter(groups::id.eq_any(chunk)),
        )
        .set((
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(now),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// Removes members; returns the ones that were there.
pub fn remove_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    let mut removed = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let mut gone: Vec<Uuid> = diesel::delete(
            group_members::table
                .filter(memberships(tenant_id, group_members::group_id, group_id))
                .filter(group_members::member_id.eq_any(chunk)),
        )
        .returning(group_members::member_id)
        .get_results(conn)?;
        removed.append(&mut gone);
    }
    Ok(removed)
}

/// One change of [`change_members`], of the operation numbered `op` (one event each).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum MemberEdit {
    /// A member to add, with the `display` the client sent; whether it is a user or a
    /// group is found by the statement.
    Add {
        id: Uuid,
        display: Option<String>,
        op: usize,
    },
    Remove {
        id: Uuid,
        op: usize,
    },
}

/// What [`change_members`] did.
#[derive(QueryableByName, Debug, Clone, PartialEq)]
pub struct MembersChanged {
    /// The group's new version and `updated_at`, when its membership changed.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub version: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The first addition (in request order) that is no live user and no group of the
    /// tenant; nothing was written then.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub unknown: Option<Uuid>,
}

/// The events [`change_members`] writes for each operation that changed something: every
/// field as given, and `data` with `members` set to the ids that operation changed.
#[derive(Debug, Clone, Copy)]
pub struct MemberEvents<'a> {
    pub removed: &'a NewEvent,
    pub added: &'a NewEvent,
}

/// Removes and adds members of a group the caller has locked (by an earlier statement of
/// its transaction, so that this one sees every change committed before the lock), in one
/// statement: `edits` in request order, each id named once. Adding a member already
/// there, or removing one that is not, changes nothing. Each operation that changed
/// something gets its event, in operation order, and the version is bumped once when
/// anything changed. An addition that is no live user or group of the tenant writes
/// nothing at all (see [`MembersChanged::unknown`]).
///
/// The statement is prepared once per connection and PostgreSQL keeps its generic plan
/// (the edits come as one JSON value, which it reckons at the same size on every run), so
/// it is planned once. That plan finds each row by its id, never by a scan of the group or
/// of the tenant, with no statistics or with fresh ones: each user or group looked up is a
/// subquery by its primary key, and the edits, filtered by kind, are reckoned at one row,
/// so the deletion probes member by member. Its cost is that of the members named,
/// whatever the group's size.
pub fn change_members(
    conn: &mut PgConnection,
    group_id: Uuid,
    edits: &[MemberEdit],
    events: MemberEvents<'_>,
    now: DateTime<Utc>,
) -> QueryResult<MembersChanged> {
    let edits = serde_json::to_value(edits)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let mut binds = vec![
        Bind::Uuid(group_id),
        Bind::Uuid(events.added.tenant_id),
        Bind::Json(edits),
        Bind::Timestamp(now),
    ];
    for e in [events.removed, events.added] {
        binds.extend([
            Bind::Uuid(e.tenant_id),
            Bind::Text(e.kind.clone()),
            Bind::Text(e.resource_type.clone()),
            Bind::Text(e.actor.clone()),
            Bind::OptText(e.request_id.clone()),
            Bind::Json(e.data.clone()),
        ]);
    }
    Sql::fragment(CHANGE_MEMBERS, binds)
        .into_cached_query()
        .get_result(conn)
}

/// [`change_members`]: $1 group, $2 tenant, $3 edits, $4 now, then each event's tenant,
/// type, resource type, actor, request id and data: $5–$10 the removed one, $11–$16 the
/// added one.
const CHANGE_MEMBERS: &str = "\
WITH edit AS (SELECT (e->>'id')::uuid AS id, e->>'change' AS change, e->>'display' AS display, \
    (e->>'op')::int AS op, pos \
  FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS x(e, pos)), \
rm AS (SELECT id, op, pos FROM edit WHERE change = 'remove'), \
ad AS (SELECT a.id, a.display, a.op, a.pos, coalesce( \
    (SELECT CASE WHEN u.deprovisioned_at IS NULL THEN 'User' END \
     FROM users u WHERE u.tenant_id = $2 AND u.id = a.id), \
    (SELECT 'Group' FROM groups g WHERE g.tenant_id = $2 AND g.id = a.id)) AS kind \
  FROM edit a WHERE a.change = 'add'), \
unknown AS (SELECT id FROM ad WHERE kind IS NULL ORDER BY pos LIMIT 1), \
removed AS (DELETE FROM group_members m USING rm r \
  WHERE m.tenant_id = $2 AND m.group_id = $1 AND m.member_id = r.id \
  AND NOT EXISTS (SELECT 1 FROM unknown) \
  RETURNING m.member_id), \
added AS (INSERT INTO group_members (group_id, member_id, member_type, display, tenant_id) \
  SELECT $1, id, kind, display, $2 FROM ad WHERE NOT EXISTS (SELECT 1 FROM unknown) \
  ORDER BY pos ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING RETURNING member_id), \
changes AS ( \
  SELECT 0 AS kind, r.op, jsonb_agg(r.id ORDER BY r.pos) AS ids \
  FROM rm r JOIN removed d ON d.member_id = r.id GROUP BY r.op \
  UNION ALL \
  SELECT 1, a.op, jsonb_agg(a.id ORDER BY a.pos) \
  FROM ad a JOIN added d ON d.member_id = a.id GROUP BY a.op), \
ev AS (INSERT INTO events (tenant_id, type, resource_type, resource_id, actor, request_id, data) \
  SELECT e.tenant_id, e.type, e.resource_type, $1, e.actor, e.request_id, \
         e.data || jsonb_build_object('members', c.ids) \
  FROM changes c JOIN (VALUES \
    (0, $5::uuid, $6::text, $7::text, $8::text, $9::text, $10::jsonb), \
    (1, $11, $12, $13, $14, $15, $16)) \
    AS e(kind, tenant_id, type, resource_type, actor, request_id, data) ON e.kind = c.kind \
  ORDER BY c.op), \
bumped AS (UPDATE groups SET version = version + 1, updated_at = $4 \
  WHERE tenant_id = $2 AND id = $1 AND EXISTS (SELECT 1 FROM changes) \
  RETURNING version, updated_at) \
SELECT (SELECT version FROM bumped) AS version, (SELECT updated_at FROM bumped) AS updated_at, \
       (SELECT id FROM unknown) AS unknown";

/// The tenant's memberships whose `column` (`group_id` or `member_id`) is `id`.
fn memberships<C>(tenant_id: Uuid, column: C, id: Uuid) -> Memberships<C>
where
    C: Expression<SqlType = diesel::sql_types::Uuid>,
{
    group_members::tenant_id.eq(tenant_id).and(column.eq(id))
}

type Memberships<C> = dsl::And<dsl::Eq<group_members::tenant_id, Uuid>, dsl::Eq<C, Uuid>>;

/// A group's members with the `display` the client sent, in insertion order.
pub fn members_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
) -> QueryResult<Vec<(Uuid, String, Option<String>)>> {
    Sql::fragment(
        "SELECT member_id AS id, member_type AS kind, display \
         FROM group_members WHERE tenant_id = $1 AND group_id = $2 ORDER BY member_id",
        vec![Bind::Uuid(tenant_id), Bind::Uuid(group_id)],
    )
    .into_cached_query()
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
pub fn remove_from_all(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    member_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    diesel::delete(group_members::table.filter(memberships(
        tenant_id,
        group_members::member_id,
        member_id,
    )))
    .returning(group_members::group_id)
    .get_results(conn)
}

/// How many members a group has.
pub fn member_count(conn: &mut PgConnection, tenant_id: Uuid, group_id: Uuid) -> QueryResult<i64> {
    group_members::table
        .filter(memberships(tenant_id, group_members::group_id, group_id))
        .count()
        .get_result(conn)
}

/// Every member id of a group.
pub fn member_ids(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    group_members::table
        .filter(memberships(tenant_id, group_members::group_id, group_id))
        .select(group_members::member_id)
        .load(conn)
}

/// For each of `member_ids`, the groups it is a direct member of: (member, group,
/// displayName), in no particular order.
///
/// Each member's memberships are found from the member (`group_members_member`), whatever
/// the statistics say: a subquery for each id (`LATERAL`, kept apart by `OFFSET 0`, so it
/// cannot become a hash join over the tenant's memberships), and each group's name is a
/// subquery. Written as `member_id = ANY(…)` joined to `groups`, PostgreSQL planned it, on
/// tables without statistics, from the groups, and read every member of a group of
/// 100,000 for each page of users: 16–20 ms, and 56–96 ms once it kept a generic plan,
/// against 4–6 ms for the page itself.
pub fn groups_of_many(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    member_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid, String)>> {
    groups_of_many_sql(tenant_id, member_ids)
        .into_cached_query()
        .load::<GroupOfMember>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(|r| (r.member_id, r.group_id, r.display_name))
                .collect()
        })
}

/// The statement of [`groups_of_many`] (public for plan tests).
pub fn groups_of_many_sql(tenant_id: Uuid, member_ids: &[Uuid]) -> Sql {
    Sql::fragment(
        "SELECT p.id AS member_id, m.group_id, (SELECT g.display_name FROM groups g \
         WHERE g.tenant_id = m.tenant_id AND g.id = m.group_id) AS display_name \
         FROM unnest($2::uuid[]) AS p (id) CROSS JOIN LATERAL (SELECT m.tenant_id, m.group_id \
         FROM group_members m WHERE m.tenant_id = $1 AND m.member_id = p.id OFFSET 0) m",
        vec![Bind::Uuid(tenant_id), Bind::UuidArray(member_ids.to_vec())],
    )
}

#[derive(QueryableByName)]
struct GroupOfMember {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    member_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    group_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    display_name: String,
}

/// The groups `member_id` is a direct member of, locked (in id order, so two writers
/// never lock two groups in opposite orders). Taking these locks before touching the
/// membership rows keeps the lock order every group writer uses: group row first.
pub fn lock_groups_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    member_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = group_members::table
        .filter(memberships(tenant_id, group_members::member_id, member_id))
        .select(group_members::group_id)
        .load(conn)?;
    groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .filter(groups::id.eq_any(ids))
        .order(groups::id)
        .select(groups::id)
        .for_update()
        .load(conn)
}

/// A group as the operator console lists it: its members counted.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct GroupLine {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub display_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub excluded_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub members: i64,
}

/// A page of the tenant's groups in (displayName, id) order after `after`, whose
/// displayName contains `q` (case-insensitive), with their member counts.
pub fn list_lines(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    q: Option<&str>,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<GroupLine>> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    let (after_name, after_id) = after.map_or((None, None), |(n, id)| (Some(n), Some(id)));
    diesel::sql_query(
        "SELECT g.id, g.display_name, g.excluded_at, \
                (SELECT count(*) FROM group_members gm \
                 WHERE gm.tenant_id = g.tenant_id AND gm.group_id = g.id) AS members \
         FROM groups g WHERE g.tenant_id = $1 \
           AND ($2::text IS NULL OR g.display_name ILIKE $2) \
           AND ($3::text IS NULL OR (g.display_name, g.id) > ($3, $4)) \
         ORDER BY g.display_name, g.id LIMIT $5",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Nullable<Text>, _>(q.map(super::people::contains_pattern))
    .bind::<Nullable<Text>, _>(after_name)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// A group a person is a direct member of.
#[derive(Queryable, Debug, Clone, PartialEq, Eq)]
pub struct MemberOf {
    pub id: Uuid,
    pub display_name: String,
    pub excluded_at: Option<DateTime<Utc>>,
}

/// The groups `member_id` (of the tenant) is a direct member of, by name.
pub fn groups_of_member(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    member_id: Uuid,
) -> QueryResult<Vec<MemberOf>> {
    group_members::table
        .inner_join(
            groups::table.on(groups::tenant_id
                .eq(group_members::tenant_id)
                .and(groups::id.eq(group_members::group_id))),
        )
        .filter(memberships(tenant_id, group_members::member_id, member_id))
        .order((groups::display_name.asc(), groups::id.asc()))
        .select((groups::id, groups::display_name, groups::excluded_at))
        .load(conn)
}
