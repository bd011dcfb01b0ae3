//! The people list: every person of a tenant with their participation (DESIGN.md,
//! Lifecycle), for the admin API.
//!
//! A person participates (gets training, is billed) when they are not deprovisioned, the
//! IdP has them active, no admin deactivated them, they have a deliverable email and they
//! are a direct member of no excluded group. The rule is written once, in SQL
//! (`State::Participating`), and a person read here carries its answer ([`Person`]); only
//! [`counts`] restates it, in a form that reads the tenant in one pass, and a test
//! (`states_counts_and_items_agree`) holds the two to the same people.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::counts::{counted, Lane};
use super::events::Stamp;
use super::rows::{Count, IdRow};
use super::search::Kind;
use super::users::{UserRow, USER_ROW_COLUMNS};
use crate::domain::AdminState;

/// A person is in an excluded group (direct membership).
const EXCLUDED: &str = "EXISTS (SELECT 1 FROM group_members gm \
     JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id \
     WHERE gm.tenant_id = u.tenant_id AND gm.member_id = u.id AND g.excluded_at IS NOT NULL)";

/// Participation but for excluded groups: the IdP has the person active, no admin
/// deactivated them and they have a deliverable email.
const UNGROUPED_RULE: &str = "u.active AND u.admin_state = 'active' AND u.email IS NOT NULL";

/// The `state` filter of the people list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not deprovisioned (the default).
    Live,
    Participating,
    Inactive,
    Deactivated,
    Excluded,
    Deprovisioned,
    /// Live, without a deliverable email.
    NoEmail,
    /// Everyone, deprovisioned people too.
    All,
}

impl State {
    /// Every state, by its name in the people list's `state` parameter.
    const NAMES: [(Self, &'static str); 8] = [
        (Self::Live, "live"),
        (Self::Participating, "participating"),
        (Self::Inactive, "inactive"),
        (Self::Deactivated, "deactivated"),
        (Self::Excluded, "excluded"),
        (Self::Deprovisioned, "deprovisioned"),
        (Self::NoEmail, "no_email"),
        (Self::All, "all"),
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(state, _)| *state)
    }

    /// The names a list is filtered by, in order: every state's but `live`, the default,
    /// which a list asks for by naming none.
    pub fn filter_names() -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .iter()
            .filter(|(state, _)| *state != Self::Live)
            .map(|(_, name)| *name)
    }

    fn predicate(self) -> String {
        const LIVE: &str = "u.deprovisioned_at IS NULL";
        match self {
            Self::Live => LIVE.to_owned(),
            Self::Participating => format!("{LIVE} AND {UNGROUPED_RULE} AND NOT {EXCLUDED}"),
            Self::Inactive => format!("{LIVE} AND NOT u.active"),
            Self::Deactivated => format!("{LIVE} AND u.admin_state = 'deactivated'"),
            Self::Excluded => format!("{LIVE} AND {EXCLUDED}"),
            Self::Deprovisioned => "u.deprovisioned_at IS NOT NULL".to_owned(),
            Self::NoEmail => format!("{LIVE} AND u.email IS NULL"),
            Self::All => "true".to_owned(),
        }
    }
}

/// A person, and whether they participate, as [`State::Participating`]'s SQL (the one
/// definition of the rule) decides it in the statement that reads them.
#[derive(QueryableByName, Debug, Clone)]
pub struct Person {
    #[diesel(embed)]
    pub user: UserRow,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub participates: bool,
}

/// The select list of a [`Person`] of `users u`.
fn person_columns() -> String {
    format!(
        "{USER_ROW_COLUMNS}, ({}) AS participates",
        State::Participating.predicate()
    )
}

/// One person of the tenant, deprovisioned or not.
pub fn one(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Person>> {
    diesel::sql_query(format!(
        "SELECT {} FROM users u WHERE u.tenant_id = $1 AND u.id = $2",
        person_columns()
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .optional()
}

/// Where a page starts: after this (created_at, id).
pub type After = (DateTime<Utc>, Uuid);

/// `q` as an ILIKE pattern matching it anywhere, with `%`, `_` and `\` taken literally.
pub(super) fn contains_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of people in (created_at, id) order.
pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    state: State,
    q: Option<&str>,
    after: Option<After>,
    limit: i64,
) -> QueryResult<Vec<Person>> {
    let sql = format!(
        "SELECT {} FROM users u WHERE u.tenant_id = $1 AND {} \
         AND ($2::text IS NULL OR u.email ILIKE $2 OR u.user_name ILIKE $2 \
              OR u.display_name ILIKE $2 OR u.department ILIKE $2 \
              OR u.resource -> 'name' ->> 'givenName' ILIKE $2 \
              OR u.resource -> 'name' ->> 'familyName' ILIKE $2 \
              OR u.resource -> 'name' ->> 'formatted' ILIKE $2) \
         AND ($3::timestamptz IS NULL OR (u.created_at, u.id) > ($3, $4)) \
         ORDER BY u.created_at, u.id LIMIT $5",
        person_columns(),
        state.predicate()
    );
    let (at, id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Nullable<Text>, _>(q.map(contains_pattern))
        .bind::<Nullable<Timestamptz>, _>(at)
        .bind::<Nullable<SqlUuid>, _>(id)
        .bind::<BigInt, _>(limit)
        .load(conn)
}

/// How many people are in each state. `total` counts live people; the states overlap as
/// the list's `state` filter does; deprovisioned people are outside `total`.
#[derive(QueryableByName, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    #[diesel(sql_type = BigInt)]
    pub participating: i64,
    #[diesel(sql_type = BigInt)]
    pub inactive: i64,
    #[diesel(sql_type = BigInt)]
    pub deactivated: i64,
    #[diesel(sql_type = BigInt)]
    pub excluded: i64,
    #[diesel(sql_type = BigInt)]
    pub deprovisioned: i64,
    #[diesel(sql_type = BigInt)]
    pub no_email: i64,
}

/// Every count in one pass over the tenant's people; the excluded groups' members are
/// collected once and hash-joined.
pub fn counts(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Counts> {
    diesel::sql_query(
        "WITH ex AS (SELECT DISTINCT gm.member_id FROM group_members gm \
                     JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id \
                     WHERE g.tenant_id = $1 AND gm.tenant_id = $1 AND g.excluded_at IS NOT NULL) \
         SELECT count(*) FILTER (WHERE live) AS total, \
                count(*) FILTER (WHERE live AND active AND admin_state = 'active' \
                                 AND email IS NOT NULL AND NOT excluded) AS participating, \
                count(*) FILTER (WHERE live AND NOT active) AS inactive, \
                count(*) FILTER (WHERE live AND admin_state = 'deactivated') AS deactivated, \
                count(*) FILTER (WHERE live AND excluded) AS excluded, \
                count(*) FILTER (WHERE NOT live) AS deprovisioned, \
                count(*) FILTER (WHERE live AND email IS NULL) AS no_email \
         FROM (SELECT u.deprovisioned_at IS NULL AS live, u.active, u.admin_state, u.email, \
                      ex.member_id IS NOT NULL AS excluded \
               FROM users u LEFT JOIN ex ON ex.member_id = u.id \
               WHERE u.tenant_id = $1) AS p",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .get_result(conn)
}

/// How many people excluding (or including) the group would make stop (or start)
/// participating: its live members who participate but for this group, being in no other
/// excluded group (DESIGN.md, Lifecycle).
pub fn at_stake_in_group(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
) -> QueryResult<i64> {
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM group_members gm \
         JOIN users u ON u.tenant_id = gm.tenant_id AND u.id = gm.member_id \
         WHERE gm.tenant_id = $1 AND gm.group_id = $2 AND u.deprovisioned_at IS NULL \
           AND {UNGROUPED_RULE} \
           AND NOT EXISTS (SELECT 1 FROM group_members o \
                           JOIN groups g ON g.tenant_id = o.tenant_id AND g.id = o.group_id \
                           WHERE o.tenant_id = $1 AND o.member_id = u.id AND o.group_id <> $2 \
                             AND g.excluded_at IS NOT NULL)"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group_id)
    .get_result::<Count>(conn)
    .map(|c| c.n)
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct ExcludedBy {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub group_id: Uuid,
    #[diesel(sql_type = Text)]
    pub display_name: String,
}

/// For each of `ids` (people of the tenant), the excluded groups it is a direct member of.
pub fn excluded_groups_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<ExcludedBy>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "SELECT gm.member_id, g.id AS group_id, g.display_name \
         FROM unnest($1::uuid[]) AS x(id) \
         JOIN group_members gm ON gm.tenant_id = $2 AND gm.member_id = x.id \
         JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id \
         WHERE g.excluded_at IS NOT NULL ORDER BY gm.member_id, g.display_name, g.id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)
}

/// The subset of `ids` that are people of the tenant, deprovisioned ones too.
pub fn known_ids(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    diesel::sql_query(
        "SELECT u.id FROM unnest($2::uuid[]) AS x(id) JOIN users u \
         ON u.tenant_id = $1 AND u.id = x.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .load::<IdRow>(conn)
    .map(IdRow::ids)
}

/// Sets the admin state of those of `ids` not already in it; returns the ids changed.
/// Neither the SCIM version nor lastModified moves: SCIM never sees the admin state.
pub fn set_admin_state(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
    admin_state: AdminState,
) -> QueryResult<Vec<Uuid>> {
    diesel::sql_query(
        "UPDATE users u SET admin_state = $3 FROM unnest($2::uuid[]) AS x(id) \
         WHERE u.tenant_id = $1 AND u.id = x.id AND (u.admin_state <> $3) IS TRUE \
         RETURNING u.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Text, _>(admin_state)
    .load::<IdRow>(conn)
    .map(IdRow::ids)
}

/// People matching any of `keys` (lower-cased emails) by email or userName, deprovisioned
/// ones too, locked for the caller's transaction.
pub fn find_by_emails(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    keys: &[String],
) -> QueryResult<Vec<UserRow>> {
    diesel::sql_query(format!(
        "SELECT {USER_ROW_COLUMNS} FROM users u WHERE u.tenant_id = $1 \
         AND (u.email = ANY($2) OR lower(u.user_name) = ANY($2)) \
         ORDER BY u.deprovisioned_at IS NOT NULL, u.updated_at DESC FOR UPDATE"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<Text>, _>(keys)
    .load(conn)
}

/// Live people a source manages: any source but `manual`. Each statement below binds $1
/// tenant, $2 actor, $3 request id and $4 the time, writes its events beside its change
/// in the one statement, and returns one count `n`.
fn run_on_sourced(conn: &mut PgConnection, sql: &str, stamp: &Stamp<'_>) -> QueryResult<usize> {
    let count: Count = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(stamp.tenant_id)
        .bind::<Text, _>(stamp.actor)
        .bind::<Nullable<Text>, _>(stamp.request_id)
        .bind::<Timestamptz, _>(stamp.at)
        .get_result(conn)?;
    Ok(usize::try_from(count.n).unwrap_or(0))
}

/// Makes every live person a source manages a manual person (same id, history and admin
/// state), each with a `user.updated` event naming the previous source. Returns how many.
pub fn make_sourced_manual(conn: &mut PgConnection, stamp: &Stamp<'_>) -> QueryResult<usize> {
    run_on_sourced(
        conn,
        "WITH old AS (SELECT id, source FROM users WHERE tenant_id = $1 \
           AND deprovisioned_at IS NULL AND source <> 'manual' FOR UPDATE), \
         moved AS (UPDATE users u SET source = 'manual', source_ref = NULL, updated_at = $4 \
           FROM old WHERE u.tenant_id = $1 AND u.id = old.id \
           RETURNING u.id, old.source AS previous), \
         ev AS (INSERT INTO events (tenant_id, type, resource_type, resource_id, actor, \
           request_id, occurred_at, data) \
           SELECT $1, 'user.updated', 'User', id, $2, $3, $4, \
           jsonb_build_object('changed', jsonb_build_object('source', 'manual'), \
                              'previous_source', previous) FROM moved) \
         SELECT count(*) AS n FROM moved",
        stamp,
    )
}

/// Takes every live person a source manages out of their groups: each group that loses
/// members has its version bumped and one `group.member_removed` event listing them.
/// Returns how many groups.
pub fn remove_sourced_from_groups(
    conn: &mut PgConnection,
    stamp: &Stamp<'_>,
) -> QueryResult<usize> {
    run_on_sourced(
        conn,
        "WITH gone AS (DELETE FROM group_members gm USING users u \
           WHERE gm.tenant_id = $1 AND gm.member_id = u.id AND u.tenant_id = $1 \
           AND u.deprovisioned_at IS NULL \
           AND u.source <> 'manual' RETURNING gm.group_id, gm.member_id), \
         per_group AS (SELECT group_id, jsonb_agg(member_id) AS members FROM gone \
           GROUP BY group_id), \
         bumped AS (UPDATE groups g SET version = version + 1, updated_at = $4 \
           FROM per_group p WHERE g.tenant_id = $1 AND g.id = p.group_id RETURNING g.id), \
         ev AS (INSERT INTO events (tenant_id, type, resource_type, resource_id, actor, \
           request_id, occurred_at, data) \
           SELECT $1, 'group.member_removed', 'Group', group_id, $2, $3, $4, \
           jsonb_build_object('members', members) FROM per_group) \
         SELECT count(*) AS n FROM bumped",
        stamp,
    )
}

/// Erases every live person a source manages, each with a `user.removed` event, and takes
/// them off the tenant's count. Returns how many.
pub fn remove_sourced(conn: &mut PgConnection, stamp: &Stamp<'_>) -> QueryResult<usize> {
    end_sourced(conn, stamp, "DELETE FROM users", "user.removed")
}

/// Deprovisions every live person a source manages (version bumped), each with a
/// `user.deprovisioned` event, and takes them off the tenant's count. Returns how many.
pub fn deprovision_sourced(conn: &mut PgConnection, stamp: &Stamp<'_>) -> QueryResult<usize> {
    end_sourced(
        conn,
        stamp,
        "UPDATE users SET deprovisioned_at = $4, version = version + 1, updated_at = $4",
        "user.deprovisioned",
    )
}

/// Applies `change` (a DELETE or UPDATE of `users`, without its WHERE) to every live person
/// a source manages, each with an `event` naming their userName, and takes them off the
/// tenant's count: all were visible until then. Returns how many.
fn end_sourced(
    conn: &mut PgConnection,
    stamp: &Stamp<'_>,
    change: &str,
    event: &str,
) -> QueryResult<usize> {
    run_on_sourced(
        conn,
        &format!(
            "WITH gone AS ({change} WHERE tenant_id = $1 AND deprovisioned_at IS NULL \
               AND source <> 'manual' RETURNING id, user_name, tenant_id), \
             ev AS (INSERT INTO events (tenant_id, type, resource_type, resource_id, \
               actor, request_id, occurred_at, data) \
               SELECT $1, '{event}', 'User', id, $2, $3, $4, \
               jsonb_build_object('userName', user_name) FROM gone), {} \
             SELECT count(*) AS n FROM gone",
            counted(Kind::Users, Lane::Transaction, "gone", "-1")
        ),
        stamp,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_is_matched_literally() {
        assert_eq!(contains_pattern("ann"), "%ann%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn states_parse_by_name_only() {
        for s in [
            "live",
            "participating",
            "inactive",
            "deactivated",
            "excluded",
            "deprovisioned",
            "all",
        ] {
            assert!(State::parse(s).is_some(), "{s}");
        }
        for s in ["", "Participating", "active", "all "] {
            assert!(State::parse(s).is_none(), "{s}");
        }
    }
}
