//! The `scim_tokens` and `admin_keys` tables: key id, argon2id hash, label, expiry,
//! revocation and last use.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{admin_keys, scim_tokens, tenants};

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = scim_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ScimToken {
    pub key_id: String,
    pub tenant_id: Uuid,
    pub secret_hash: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = scim_tokens)]
pub struct NewScimToken<'a> {
    pub key_id: &'a str,
    pub tenant_id: Uuid,
    pub secret_hash: &'a str,
    pub label: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = admin_keys)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct AdminKey {
    pub key_id: String,
    pub secret_hash: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = admin_keys)]
pub struct NewAdminKey<'a> {
    pub key_id: &'a str,
    pub secret_hash: &'a str,
    pub label: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub fn insert_token(conn: &mut PgConnection, new: &NewScimToken<'_>) -> QueryResult<ScimToken> {
    diesel::insert_into(scim_tokens::table)
        .values(new)
        .returning(ScimToken::as_returning())
        .get_result(conn)
}

/// The token and its tenant's slug.
pub fn find_token(
    conn: &mut PgConnection,
    key_id: &str,
) -> QueryResult<Option<(ScimToken, String)>> {
    scim_tokens::table
        .inner_join(tenants::table)
        .filter(scim_tokens::key_id.eq(key_id))
        .select((ScimToken::as_select(), tenants::slug))
        .first(conn)
        .optional()
}

/// One page of a tenant's tokens, oldest first, after the `(created_at, key_id)` cursor.
pub fn list_tokens(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> QueryResult<Vec<ScimToken>> {
    let mut query = scim_tokens::table
        .filter(scim_tokens::tenant_id.eq(tenant_id))
        .select(ScimToken::as_select())
        .order((scim_tokens::created_at.asc(), scim_tokens::key_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, key)) = after {
        query = query.filter(
            scim_tokens::created_at.gt(at).or(scim_tokens::created_at
                .eq(at)
                .and(scim_tokens::key_id.gt(key))),
        );
    }
    query.load(conn)
}

/// Marks the token revoked (keeping the first revocation time); `None` when no such token
/// exists, or it belongs to another tenant than `tenant_id` when one is given.
pub fn revoke_token(
    conn: &mut PgConnection,
    key_id: &str,
    tenant_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Option<ScimToken>> {
    let mut query = scim_tokens::table
        .filter(scim_tokens::key_id.eq(key_id))
        .select(ScimToken::as_select())
        .into_boxed();
    if let Some(tenant_id) = tenant_id {
        query = query.filter(scim_tokens::tenant_id.eq(tenant_id));
    }
    let Some(token) = query.first(conn).optional()? else {
        return Ok(None);
    };
    if token.revoked_at.is_some() {
        return Ok(Some(token));
    }
    diesel::update(scim_tokens::table.find(&token.key_id))
        .set(scim_tokens::revoked_at.eq(now))
        .returning(ScimToken::as_returning())
        .get_result(conn)
        .map(Some)
}

pub fn touch_token(conn: &mut PgConnection, key_id: &str, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(scim_tokens::table.find(key_id))
        .set(scim_tokens::last_used_at.eq(at))
        .execute(conn)
        .map(drop)
}

pub fn insert_admin_key(conn: &mut PgConnection, new: &NewAdminKey<'_>) -> QueryResult<AdminKey> {
    diesel::insert_into(admin_keys::table)
        .values(new)
        .returning(AdminKey::as_returning())
        .get_result(conn)
}

pub fn find_admin_key(conn: &mut PgConnection, key_id: &str) -> QueryResult<Option<AdminKey>> {
    admin_keys::table
        .find(key_id)
        .select(AdminKey::as_select())
        .first(conn)
        .optional()
}

/// Marks the admin key revoked (keeping the first revocation time); `None` when no such
/// key exists.
pub fn revoke_admin_key(
    conn: &mut PgConnection,
    key_id: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<AdminKey>> {
    let Some(key) = find_admin_key(conn, key_id)? else {
        return Ok(None);
    };
    if key.revoked_at.is_some() {
        return Ok(Some(key));
    }
    diesel::update(admin_keys::table.find(&key.key_id))
        .set(admin_keys::revoked_at.eq(now))
        .returning(AdminKey::as_returning())
        .get_result(conn)
        .map(Some)
}

pub fn touch_admin_key(
    conn: &mut PgConnection,
    key_id: &str,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(admin_keys::table.find(key_id))
        .set(admin_keys::last_used_at.eq(at))
        .execute(conn)
        .map(drop)
}
