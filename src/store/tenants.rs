//! The `tenants` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::counts;
use super::schema::tenants;
use super::sql::{Bind, Sql};
use crate::domain::{DeletePolicy, Source};

#[derive(Queryable, QueryableByName, Selectable, Identifiable, Debug, Clone)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub source: Source,
    pub on_source_delete: DeletePolicy,
    pub rate_per_second: i32,
    pub rate_burst: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How often a connected tenant syncs, in seconds (at least 15 minutes).
    pub sync_interval_secs: i32,
    /// The deprovision brake: a run that would deprovision more than the larger of
    /// `brake_min_count` and `brake_max_percent` % of the people its connection manages
    /// is held.
    pub brake_max_percent: i32,
    pub brake_min_count: i32,
    /// Deprovisioned people are erased this long after, in seconds; `None` keeps them.
    pub erase_deprovisioned_after_secs: Option<i64>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = tenants)]
pub struct NewTenant<'a> {
    pub id: Uuid,
    pub slug: &'a str,
    pub name: &'a str,
}

/// Inserts a tenant, with the rows of its counts ([`counts::open_slots`]).
pub fn insert(conn: &mut PgConnection, new: &NewTenant<'_>) -> QueryResult<Tenant> {
    let mut sql = Sql::new();
    sql.push("WITH t AS (INSERT INTO tenants (id, slug, name) VALUES (")
        .bind_all([
            Bind::Uuid(new.id),
            Bind::Text(new.slug.to_owned()),
            Bind::Text(new.name.to_owned()),
        ])
        .push(") RETURNING *), ")
        .push(&counts::open_slots("t"))
        .push(" SELECT t.* FROM t");
    sql.into_cached_query().get_result(conn)
}

/// Settings to change; `None` leaves one as it is.
#[derive(AsChangeset, Debug, Default, Clone)]
#[diesel(table_name = tenants)]
pub struct SettingsChange {
    pub name: Option<String>,
    pub source: Option<Source>,
    pub on_source_delete: Option<DeletePolicy>,
    pub rate_per_second: Option<i32>,
    pub rate_burst: Option<i32>,
    pub sync_interval_secs: Option<i32>,
    pub brake_max_percent: Option<i32>,
    pub brake_min_count: Option<i32>,
    /// `Some(None)` sets it back to keeping them.
    pub erase_deprovisioned_after_secs: Option<Option<i64>>,
}

impl SettingsChange {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.source.is_none()
            && self.on_source_delete.is_none()
            && self.rate_per_second.is_none()
            && self.rate_burst.is_none()
            && self.sync_interval_secs.is_none()
            && self.brake_max_percent.is_none()
            && self.brake_min_count.is_none()
            && self.erase_deprovisioned_after_secs.is_none()
    }
}

pub fn update_settings(
    conn: &mut PgConnection,
    id: Uuid,
    change: &SettingsChange,
    now: DateTime<Utc>,
) -> QueryResult<Tenant> {
    diesel::update(tenants::table.find(id))
        .set((change, tenants::updated_at.eq(now)))
        .returning(Tenant::as_returning())
        .get_result(conn)
}

/// The tenant row, locked for the rest of the transaction.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Tenant> {
    tenants::table
        .find(id)
        .select(Tenant::as_select())
        .for_update()
        .first(conn)
}

pub fn find_by_slug(conn: &mut PgConnection, slug: &str) -> QueryResult<Option<Tenant>> {
    tenants::table
        .filter(tenants::slug.eq(slug))
        .select(Tenant::as_select())
        .first(conn)
        .optional()
}

/// One page in slug order, starting after `after`.
pub fn list(conn: &mut PgConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<Tenant>> {
    search(conn, None, after, limit)
}

/// [`list`], only the tenants whose slug or name contains `q` (case-insensitive) when
/// there is a `q`.
pub fn search(
    conn: &mut PgConnection,
    q: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Tenant>> {
    let mut query = tenants::table
        .select(Tenant::as_select())
        .order(tenants::slug.asc())
        .limit(limit)
        .into_boxed();
    if let Some(q) = q {
        let pattern = super::people::contains_pattern(q);
        query = query.filter(
            tenants::slug
                .ilike(pattern.clone())
                .or(tenants::name.ilike(pattern)),
        );
    }
    if let Some(after) = after {
        query = query.filter(tenants::slug.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
    tenants::table.count().get_result(conn)
}

/// Deletes the tenant and, by cascade, everything it owns.
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(tenants::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn find_by_id(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Tenant>> {
    tenants::table
        .find(id)
        .select(Tenant::as_select())
        .first(conn)
        .optional()
}
