//! Listing users and groups: a filter, an order, a page, and an exact total.
//!
//! Pages are stable: every order ends in `(created_at, id)`, which no two rows share.
//! Offset pages (`startIndex`) cost O(offset), or O(rows after the page) when the total is
//! known and the page lies past the middle; cursor pages (RFC 9865) resume after the last
//! row's `(created_at, id)` through the listing index, so their cost does not grow with
//! depth.
//!
//! The total of an unfiltered listing is the tenant's kept count ([`super::counts`]); a
//! filtered one is counted.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::counts;
use super::filter::{compile_into, sort_expr, Target};
use super::groups::{groups_of_many, GroupRow};
use super::rows::Count;
use super::sql::{Bind, Sql, Statement};
use super::users::{view_columns, UserView, USER_ROW_COLUMNS};
use crate::scim::filter::{AttrExp, CompareOp, Filter, FilterError};
use crate::scim::path::AttrPath;
use crate::scim::schema::{GROUP_RESOURCE, USER_RESOURCE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Groups,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Skip this many rows (`startIndex - 1`).
    Offset(i64),
    /// Resume after this row of the default order.
    After(DateTime<Utc>, Uuid),
}

#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    pub filter: Option<&'a Filter>,
    pub sort_by: Option<&'a AttrPath>,
    pub descending: bool,
    pub start: Start,
    pub count: i64,
    /// How many rows the listing has, when the caller knows it in the snapshot the page
    /// is read in: a page in the default order nearer the end than the start is then read
    /// from the end ([`from_end`]).
    pub total: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

fn target(kind: Kind, base_url: &str) -> Target<'_> {
    match kind {
        Kind::Users => Target {
            rt: &USER_RESOURCE,
            alias: "u",
            base_url,
        },
        Kind::Groups => Target {
            rt: &GROUP_RESOURCE,
            alias: "g",
            base_url,
        },
    }
}

/// `FROM … WHERE tenant AND visible AND filter`, shared by the count and the page.
pub fn from_where(
    kind: Kind,
    tenant_id: Uuid,
    filter: Option<&Filter>,
    base_url: &str,
) -> Result<Sql, FilterError> {
    let mut sql = Sql::new();
    match kind {
        Kind::Users => sql.push(" FROM users u WHERE u.tenant_id = "),
        Kind::Groups => sql.push(" FROM groups g WHERE g.tenant_id = "),
    };
    sql.bind(Bind::Uuid(tenant_id));
    if kind == Kind::Users {
        // A lookup must not be answered from an index partial on `deprovisioned_at IS
        // NULL` (`users_listing`) by its `tenant_id` alone: without statistics PostgreSQL
        // takes such an index for 0.5% of the table and may prefer it to the index of
        // the attribute looked up, then reads every entry of the tenant. Written so that
        // no index can answer it, the test leaves the lookup to that attribute's index
        // (`store::plans`).
        if cacheable(filter, None) {
            sql.push(" AND (u.deprovisioned_at IS NULL) IS TRUE");
        } else {
            sql.push(" AND u.deprovisioned_at IS NULL");
        }
    }
    if let Some(filter) = filter {
        sql.push(" AND ");
        compile_into(filter, target(kind, base_url), &mut sql)?;
    }
    Ok(sql)
}

/// The SQL of one page (for `EXPLAIN` in tests and by operators).
pub fn page_sql(
    kind: Kind,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
    base_url: &str,
) -> Result<Sql, FilterError> {
    page_with(kind, tenant_id, q, base_url, "")
}

/// [`page_sql`] with more select-list `columns` after the row's own. They are computed
/// for the page's rows only: PostgreSQL evaluates a select list for every row it reads,
/// the ones an OFFSET skips included, so the page is chosen in a subquery first.
///
/// A page after an OFFSET is chosen by id alone and its rows read after (a deferred
/// join): without a filter that needs the row, the skipped rows are then read from the
/// listing index only, not each from the table. On 100,000 users, the page at 90,000
/// took 15–22 ms that way against 61–84 ms reading every skipped row.
///
/// A page [`from_end`] is chosen the same way, in the reverse order, and sorted back.
fn page_with(
    kind: Kind,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
    base_url: &str,
    columns: &str,
) -> Result<Sql, FilterError> {
    let a = match kind {
        Kind::Users => "u",
        Kind::Groups => "g",
    };
    let body = from_where(kind, tenant_id, q.filter, base_url)?;
    let mut order = String::from(" ORDER BY ");
    if let Some(path) = q.sort_by {
        order.push_str(&sort_expr(path, target(kind, base_url))?);
        order.push_str(if q.descending {
            " DESC NULLS LAST, "
        } else {
            " ASC NULLS LAST, "
        });
    }
    order.push_str(&format!("{a}.created_at, {a}.id"));
    let end = from_end(q);
    // The order the page is chosen in: the listing's, or for a page read from the end,
    // the reverse of the default one.
    let choose = match end {
        Some(_) => format!(" ORDER BY {a}.created_at DESC, {a}.id DESC"),
        None => order.clone(),
    };

    // The outermost select list is the row's columns; a subquery's may be all of them.
    let (row, table) = match kind {
        Kind::Users => (USER_ROW_COLUMNS, "users"),
        Kind::Groups => ("g.*", "groups"),
    };
    let deferred = end.is_some() || matches!(q.start, Start::Offset(offset) if offset > 0);
    let mut sql = Sql::new();
    if deferred {
        sql.push("SELECT ")
            .push(row)
            .push(columns)
            .push(" FROM (SELECT ")
            .push(a)
            .push(".tenant_id, ")
            .push(a)
            .push(".id");
    } else if columns.is_empty() {
        sql.push("SELECT ").push(row);
    } else {
        sql.push("SELECT ")
            .push(row)
            .push(columns)
            .push(" FROM (SELECT ")
            .push(a)
            .push(".*");
    }
    sql.append(body);
    if let Start::After(at, id) = q.start {
        sql.push(" AND (")
            .push(a)
            .push(".created_at, ")
            .push(a)
            .push(".id) > (");
        sql.bind(Bind::Timestamp(at)).push(", ");
        sql.bind(Bind::Uuid(id)).push(")");
    }
    let (limit, offset) = match (end, q.start) {
        (Some(End { skip, take }), _) => (take, Some(skip)),
        (None, Start::Offset(offset)) => (q.count, Some(offset)),
        (None, Start::After(..)) => (q.count, None),
    };
    sql.push(&choose).push(" LIMIT ");
    sql.bind(Bind::BigInt(limit));
    if let Some(offset) = offset {
        sql.push(" OFFSET ");
        sql.bind(Bind::BigInt(offset));
    }
    if deferred {
        sql.push(") page JOIN ")
            .push(table)
            .push(" ")
            .push(a)
            .push(" ON ")
            .push(a)
            .push(".tenant_id = page.tenant_id AND ")
            .push(a)
            .push(".id = page.id")
            .push(&order);
    } else if !columns.is_empty() {
        sql.push(") ").push(a).push(&order);
    }
    Ok(sql)
}

/// A page read from the end of the default order: it skips `skip` rows from the end and
/// takes `take`, the rows `[offset, offset + count)` of the listing, clipped to its total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct End {
    skip: i64,
    take: i64,
}

/// Whether `q`'s page is cheaper read from the end: its total is known, its order is the
/// default one (no `sortBy`, which may put NULLs anywhere), and fewer rows lie after the
/// page than before it. Both ways skip rows in the listing index one by one; from the end,
/// the page at 90,000 of 100,000 skips 9,900 instead of 90,000.
fn from_end(q: &ListQuery<'_>) -> Option<End> {
    let (Some(total), None, Start::Offset(offset)) = (q.total, q.sort_by, q.start) else {
        return None;
    };
    let skip = total.saturating_sub(offset).saturating_sub(q.count).max(0);
    let take = q.count.min(total.saturating_sub(offset)).max(0);
    (skip < offset).then_some(End { skip, take })
}

/// The lookups a provisioning client repeats (Entra's and Okta's matching, RFC 7644
/// §3.4.2.2 `eq`), each answered from an index whatever the value: (attribute,
/// sub-attribute).
const LOOKUPS: [(&str, Option<&str>); 5] = [
    ("id", None),
    ("userName", None),
    ("externalId", None),
    ("displayName", None),
    ("emails", Some("value")),
];

/// The attribute of a filter that is one `eq` comparison.
fn eq_path(filter: Option<&Filter>) -> Option<&AttrPath> {
    match filter {
        Some(Filter::AttrExp(AttrExp::Compare {
            path,
            op: CompareOp::Eq,
            ..
        })) => Some(path),
        _ => None,
    }
}

/// Whether the statements of a listing are prepared once per connection and kept: only
/// for one of the [`LOOKUPS`] in the default order.
///
/// - Their texts come from a small set, so the kept statements stay few whatever
///   clients send.
/// - Their plan is the same index lookup for every value, so PostgreSQL's generic plan
///   (which it switches to for a kept statement) is as good as a fresh one. A listing
///   without such a filter must not be kept: its generic plan does not know the page
///   size, and sorting the whole tenant for `count=100` made a page 13 times slower.
fn cacheable(filter: Option<&Filter>, sort_by: Option<&AttrPath>) -> bool {
    let Some(path) = eq_path(filter) else {
        return false;
    };
    let same = |a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a.is_none() && b.is_none(),
    };
    sort_by.is_none()
        && LOOKUPS.iter().any(|(name, sub)| {
            path.name.eq_ignore_ascii_case(name) && same(path.sub_attr.as_deref(), *sub)
        })
}

/// A statement for `sql`, kept prepared when the listing's shape is [`cacheable`].
fn statement(sql: Sql, filter: Option<&Filter>, sort_by: Option<&AttrPath>) -> Statement {
    if cacheable(filter, sort_by) {
        sql.into_cached_query()
    } else {
        sql.into_query()
    }
}

/// How many visible resources of `kind` match `filter`.
pub fn count(
    conn: &mut PgConnection,
    kind: Kind,
    tenant_id: Uuid,
    filter: Option<&Filter>,
    base_url: &str,
) -> Result<i64, ListError> {
    Ok(count_statement(kind, tenant_id, filter, base_url)?
        .get_result::<Count>(conn)?
        .n)
}

/// Unfiltered, the tenant's kept count ([`counts`]); filtered, a `count(*)` of the matches.
fn count_statement(
    kind: Kind,
    tenant_id: Uuid,
    filter: Option<&Filter>,
    base_url: &str,
) -> Result<Statement, ListError> {
    if filter.is_none() {
        return Ok(counts::total_sql(kind, tenant_id).into_cached_query());
    }
    let body = from_where(kind, tenant_id, filter, base_url)?;
    let mut sql = Sql::new();
    sql.push("SELECT count(*) AS n").append(body);
    Ok(statement(sql, filter, None))
}

/// [`count`] on an async connection.
pub async fn count_async(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    tenant_id: Uuid,
    filter: Option<&Filter>,
    base_url: &str,
) -> Result<i64, ListError> {
    let query = count_statement(kind, tenant_id, filter, base_url)?;
    Ok(diesel_async::RunQueryDsl::get_result::<Count>(query, conn)
        .await?
        .n)
}

/// Whether `q` is a lookup: an `eq` on an attribute that finds a handful of rows, in the
/// default order (the statements kept prepared), the reads [`lookup_users`] serves.
pub fn is_lookup(q: &ListQuery<'_>) -> bool {
    cacheable(q.filter, q.sort_by)
}

/// A lookup's users ([`is_lookup`]) on an async connection, each with its groups when
/// `groups`, read in the same statement as [`list_users`] reads them for a lookup.
pub async fn lookup_users(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
    base_url: &str,
    groups: bool,
) -> Result<Vec<UserView>, ListError> {
    if let (true, Start::Offset(offset)) = (unique_user_key(q.filter), q.start) {
        return lookup_one(conn, tenant_id, q, base_url, groups, offset).await;
    }
    let page = page_with(Kind::Users, tenant_id, q, base_url, view_columns(groups))?;
    if q.count <= 0 {
        return Ok(Vec::new());
    }
    let query = statement(page, q.filter, q.sort_by);
    Ok(diesel_async::RunQueryDsl::load::<UserView>(query, conn).await?)
}

/// Whether `filter` is an `eq` on an attribute that at most one visible user of a tenant
/// has: `id`, or `userName` (unique per tenant among visible users, case-insensitively,
/// as the `users_user_name` index enforces).
fn unique_user_key(filter: Option<&Filter>) -> bool {
    let Some(path) = eq_path(filter) else {
        return false;
    };
    path.sub_attr.is_none()
        && ["id", "userName"]
            .iter()
            .any(|key| path.name.eq_ignore_ascii_case(key))
}

/// A [`unique_user_key`] lookup's page: the match without ORDER BY, LIMIT or OFFSET, which
/// PostgreSQL would plan and run for one row (a sort, a limit, a subquery kept apart),
/// and the page cut here. Sorted all the same, so the page is the one [`list_users`] gives
/// even if more rows came back.
async fn lookup_one(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
    base_url: &str,
    groups: bool,
    offset: i64,
) -> Result<Vec<UserView>, ListError> {
    let body = from_where(Kind::Users, tenant_id, q.filter, base_url)?;
    if q.count <= 0 {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .push(USER_ROW_COLUMNS)
        .push(view_columns(groups))
        .push(" FROM (SELECT u.*")
        .append(body)
        .push(") u");
    let mut rows =
        diesel_async::RunQueryDsl::load::<UserView>(sql.into_cached_query(), conn).await?;
    rows.sort_by_key(|r| (r.user.created_at, r.user.id));
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = usize::try_from(q.count).unwrap_or(usize::MAX);
    Ok(rows.into_iter().skip(skip).take(take).collect())
}

/// A page of users, with each user's groups when `groups`. A lookup finds a handful of
/// users: their groups come in the same statement. A page's come in one query after it,
/// which costs PostgreSQL less than a subquery per row once pages are large.
pub fn list_users(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
    base_url: &str,
    groups: bool,
) -> Result<Vec<UserView>, ListError> {
    let lookup = cacheable(q.filter, q.sort_by);
    let page = page_with(
        Kind::Users,
        tenant_id,
        q,
        base_url,
        view_columns(groups && lookup),
    )?;
    let rows = if q.count > 0 {
        statement(page, q.filter, q.sort_by).load::<UserView>(conn)?
    } else {
        Vec::new()
    };
    if !groups || lookup || rows.is_empty() {
        return Ok(rows);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.user.id).collect();
    let mut by_user: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for (member, group, name) in groups_of_many(conn, tenant_id, &ids)? {
        by_user.entry(member).or_default().push((group, name));
    }
    let rows = rows
        .into_iter()
        .map(|r| {
            let mine = by_user.remove(&r.user.id).unwrap_or_default();
            r.with_groups(mine)
        })
        .collect();
    Ok(rows)
}

pub fn list_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
    base_url: &str,
) -> Result<Vec<GroupRow>, ListError> {
    let page = page_sql(Kind::Groups, tenant_id, q, base_url)?;
    if q.count <= 0 {
        return Ok(Vec::new());
    }
    Ok(statement(page, q.filter, q.sort_by).load::<GroupRow>(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;
    use crate::scim::path::AttrPath;

    #[test]
    fn only_the_index_lookups_are_kept_prepared() -> Result<(), crate::scim::error::ParseError> {
        for f in [
            r#"userName eq "a@b.c""#,
            r#"USERNAME eq "a@b.c""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
            r#"externalId eq "x""#,
            r#"id eq "x""#,
            r#"displayName eq "Sales""#,
            r#"emails.value eq "a@b.c""#,
        ] {
            assert!(cacheable(Some(&parse_filter(f)?), None), "{f}");
        }
        assert!(
            !cacheable(None, None),
            "no filter: a page of the whole tenant"
        );
        for f in [
            "externalId pr",
            r#"userName co "a""#,
            "active eq true",
            r#"emails.type eq "work""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"emails[type eq "work"]"#,
            r#"not (userName eq "a")"#,
        ] {
            assert!(!cacheable(Some(&parse_filter(f)?), None), "{f}");
        }
        let one = parse_filter(r#"userName eq "a""#)?;
        assert!(!cacheable(Some(&one), Some(&AttrPath::new("userName"))));
        Ok(())
    }
}
