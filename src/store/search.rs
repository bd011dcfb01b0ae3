//! Listing users and groups: a filter, an order, a page, and an exact total.
//!
//! Pages are stable: every order ends in `(created_at, id)`, which no two rows share.
//! Offset pages (`startIndex`) cost O(offset); cursor pages (RFC 9865) resume after the
//! last row's `(created_at, id)` through the listing index, so their cost does not grow
//! with depth.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::filter::{compile_into, sort_expr, Bind, Sql, Statement, Target};
use super::groups::GroupRow;
use super::users::{view_columns, UserView};
use crate::scim::filter::{Filter, FilterError};
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
    /// Whether to count every match (`totalResults`).
    pub total: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
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
        sql.push(" AND u.deprovisioned_at IS NULL");
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

/// [`page_sql`] with more select-list `columns` after the row's own.
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
    let mut sql = Sql::new();
    sql.push("SELECT ").push(a).push(".*").push(columns);
    sql.push(&body.text);
    sql.binds = body.binds;
    if let Start::After(at, id) = q.start {
        sql.push(" AND (")
            .push(a)
            .push(".created_at, ")
            .push(a)
            .push(".id) > (");
        sql.bind(Bind::Timestamp(at)).push(", ");
        sql.bind(Bind::Uuid(id)).push(")");
    }
    sql.push(" ORDER BY ");
    if let Some(path) = q.sort_by {
        let expr = sort_expr(path, target(kind, base_url))?;
        sql.push(&expr).push(if q.descending {
            " DESC NULLS LAST, "
        } else {
            " ASC NULLS LAST, "
        });
    }
    sql.push(a).push(".created_at, ").push(a).push(".id LIMIT ");
    sql.bind(Bind::BigInt(q.count));
    if let Start::Offset(offset) = q.start {
        sql.push(" OFFSET ");
        sql.bind(Bind::BigInt(offset));
    }
    Ok(sql)
}

/// Whether the statements of a listing are prepared once per connection and kept. Only
/// the shapes a provisioning client repeats are: no filter, or one comparison
/// (`userName eq "…"`, Entra's and Okta's lookups), in the default order. Their texts
/// come from a small set (attributes × operators), so the kept statements stay few
/// whatever clients send; every other shape is planned afresh.
fn cacheable(filter: Option<&Filter>, sort_by: Option<&AttrPath>) -> bool {
    sort_by.is_none() && filter.is_none_or(|f| matches!(f, Filter::AttrExp(_)))
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
    let body = from_where(kind, tenant_id, filter, base_url)?;
    let mut sql = Sql::new();
    sql.push("SELECT count(*) AS n").push(&body.text);
    sql.binds = body.binds;
    Ok(statement(sql, filter, None).get_result::<Count>(conn)?.n)
}

/// A page of users; with `groups`, each user's groups are read in the same statement.
pub fn list_users(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
    base_url: &str,
    groups: bool,
) -> Result<(Vec<UserView>, Option<i64>), ListError> {
    let page = page_with(Kind::Users, tenant_id, q, base_url, view_columns(groups))?;
    let total = q
        .total
        .then(|| count(conn, Kind::Users, tenant_id, q.filter, base_url))
        .transpose()?;
    let rows = if q.count > 0 {
        statement(page, q.filter, q.sort_by).load::<UserView>(conn)?
    } else {
        Vec::new()
    };
    Ok((rows, total))
}

pub fn list_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
    base_url: &str,
) -> Result<(Vec<GroupRow>, Option<i64>), ListError> {
    let page = page_sql(Kind::Groups, tenant_id, q, base_url)?;
    let total = q
        .total
        .then(|| count(conn, Kind::Groups, tenant_id, q.filter, base_url))
        .transpose()?;
    let rows = if q.count > 0 {
        statement(page, q.filter, q.sort_by).load::<GroupRow>(conn)?
    } else {
        Vec::new()
    };
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;
    use crate::scim::path::AttrPath;

    #[test]
    fn only_the_repeated_shapes_are_kept_prepared() -> Result<(), crate::scim::error::ParseError> {
        let one = parse_filter(r#"userName eq "a@b.c""#)?;
        let present = parse_filter("externalId pr")?;
        assert!(cacheable(None, None));
        assert!(cacheable(Some(&one), None));
        assert!(cacheable(Some(&present), None));
        for f in [
            r#"userName eq "a" or userName eq "b""#,
            r#"emails[type eq "work"]"#,
            r#"not (userName eq "a")"#,
        ] {
            assert!(!cacheable(Some(&parse_filter(f)?), None), "{f}");
        }
        let sort = AttrPath::new("userName");
        assert!(!cacheable(None, Some(&sort)));
        assert!(!cacheable(Some(&one), Some(&sort)));
        Ok(())
    }
}
