//! The `connect_links` table (one-time links that let a client's admin connect their
//! directory) and `connect_link_nonces` (the signed values of a link's pages, once used).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::schema::{connect_link_nonces, connect_links, connections};
use crate::domain::Provider;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = connect_links)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct LinkRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub provider: Provider,
    pub scope: Value,
    pub token_hash: Vec<u8>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = connect_links)]
pub struct NewLink<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub provider: Provider,
    pub scope: &'a Value,
    pub token_hash: &'a [u8],
    pub created_by: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, new: &NewLink<'_>) -> QueryResult<LinkRow> {
    diesel::insert_into(connect_links::table)
        .values(new)
        .returning(LinkRow::as_returning())
        .get_result(conn)
}

/// The link whose token hashes to `token_hash`.
pub fn by_token_hash(conn: &mut PgConnection, token_hash: &[u8]) -> QueryResult<Option<LinkRow>> {
    connect_links::table
        .filter(connect_links::token_hash.eq(token_hash))
        .select(LinkRow::as_select())
        .first(conn)
        .optional()
}

/// The link `id`, locked for the rest of the transaction.
pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<LinkRow>> {
    connect_links::table
        .find(id)
        .select(LinkRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// A page of the tenant's links, oldest first, after `after` (a creation time and id).
pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<LinkRow>> {
    let mut query = connect_links::table
        .filter(connect_links::tenant_id.eq(tenant_id))
        .select(LinkRow::as_select())
        .order((connect_links::created_at, connect_links::id))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            connect_links::created_at
                .gt(at)
                .or(connect_links::created_at
                    .eq(at)
                    .and(connect_links::id.gt(id))),
        );
    }
    query.load(conn)
}

/// Revokes the tenant's link `id` unless it is revoked or used already; the row as it is
/// afterwards, `None` when the tenant has no such link.
pub fn revoke(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<LinkRow>> {
    diesel::update(
        connect_links::table
            .filter(connect_links::tenant_id.eq(tenant_id))
            .filter(connect_links::id.eq(id))
            .filter(connect_links::revoked_at.is_null())
            .filter(connect_links::used_at.is_null()),
    )
    .set(connect_links::revoked_at.eq(now))
    .execute(conn)?;
    connect_links::table
        .filter(connect_links::tenant_id.eq(tenant_id))
        .filter(connect_links::id.eq(id))
        .select(LinkRow::as_select())
        .first(conn)
        .optional()
}

pub fn mark_used(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(connect_links::table.find(id))
        .set(connect_links::used_at.eq(now))
        .execute(conn)
}

/// Records `nonce` as consumed for the link; `false` when it was consumed before.
pub fn consume_nonce(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    link_id: Uuid,
    nonce: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::insert_into(connect_link_nonces::table)
        .values((
            connect_link_nonces::tenant_id.eq(tenant_id),
            connect_link_nonces::nonce.eq(nonce),
            connect_link_nonces::link_id.eq(link_id),
            connect_link_nonces::consumed_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|n| n == 1)
}

/// The tenant, other than `tenant_id`, whose connection reads the directory
/// `directory_tenant_id` (a Graph tenant id), if one does.
pub fn tenant_reading(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider: Provider,
    directory_tenant_id: &str,
) -> QueryResult<Option<Uuid>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    connections::table
        .filter(connections::tenant_id.ne(tenant_id))
        .filter(connections::provider.eq(provider))
        .filter(
            sql::<Bool>("config->>'directory_tenant_id' = ").bind::<Text, _>(directory_tenant_id),
        )
        .select(connections::tenant_id)
        .first(conn)
        .optional()
}
