//! Issuing and revoking SCIM tokens and admin keys, and first-run bootstrap.

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use super::tenants::{self, TenantSlug};
use crate::auth::Credential;
use crate::error::Error;
use crate::store::credentials::{self as store, NewAdminKey, NewScimToken, ScimToken};
use crate::store::locks;
use crate::store::tenants::Tenant;

const MAX_LABEL: usize = 200;

/// A freshly issued credential: the only time its plaintext exists.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Issued {
    pub key_id: String,
    pub token: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn check_label(label: Option<&str>) -> Result<(), Error> {
    if let Some(l) = label {
        super::storable::text(l, "label")?;
    }
    match label {
        Some(l) if l.chars().count() > MAX_LABEL => Err(Error::InvalidValue(format!(
            "label is longer than {MAX_LABEL} characters"
        ))),
        _ => Ok(()),
    }
}

fn check_expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), Error> {
    match expires_at {
        Some(at) if at <= now => Err(Error::InvalidValue(
            "the expiry must be in the future".into(),
        )),
        _ => Ok(()),
    }
}

fn new_credential() -> Result<(Credential, String), Error> {
    let credential = Credential::generate();
    let hash = credential
        .hash()
        .map_err(|e| Error::internal(e.to_string()))?;
    Ok((credential, hash))
}

pub fn issue_token(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    label: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Issued, Error> {
    check_label(label)?;
    check_expiry(expires_at, now)?;
    let (credential, hash) = new_credential()?;
    let row = store::insert_token(
        conn,
        &NewScimToken {
            key_id: credential.key_id().as_str(),
            tenant_id,
            secret_hash: &hash,
            label,
            expires_at,
        },
    )?;
    Ok(Issued {
        key_id: row.key_id,
        token: credential.reveal(),
        label: row.label,
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

pub fn issue_admin_key(
    conn: &mut PgConnection,
    label: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Issued, Error> {
    check_label(label)?;
    check_expiry(expires_at, now)?;
    let (credential, hash) = new_credential()?;
    let row = store::insert_admin_key(
        conn,
        &NewAdminKey {
            key_id: credential.key_id().as_str(),
            secret_hash: &hash,
            label,
            expires_at,
        },
    )?;
    Ok(Issued {
        key_id: row.key_id,
        token: credential.reveal(),
        label: row.label,
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

/// Revokes a SCIM token. With `tenant_id`, a token of another tenant is not found.
pub fn revoke_token(
    conn: &mut PgConnection,
    key_id: &str,
    tenant_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<ScimToken, Error> {
    store::revoke_token(conn, key_id, tenant_id, now)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no token `{}`",
            key_id.chars().take(40).collect::<String>()
        ))
    })
}

/// What a first start on an empty database made.
#[derive(Debug)]
pub struct Bootstrap {
    pub tenant: Tenant,
    pub token: Issued,
    pub admin_key: Issued,
}

/// On a database with no tenants, creates tenant `default` with a SCIM token and an admin
/// key. Several nodes starting at once bootstrap once.
pub fn bootstrap(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Option<Bootstrap>, Error> {
    conn.transaction(|conn| {
        locks::BOOTSTRAP.lock_for_transaction(conn)?;
        if crate::store::tenants::count(conn)? > 0 {
            return Ok(None);
        }
        let slug = TenantSlug::parse("default")?;
        let tenant = tenants::create(conn, &slug, Some("Default tenant"))?;
        let token = issue_token(conn, tenant.id, Some("bootstrap"), None, now)?;
        let admin_key = issue_admin_key(conn, Some("bootstrap"), None, now)?;
        Ok(Some(Bootstrap {
            tenant,
            token,
            admin_key,
        }))
    })
}
