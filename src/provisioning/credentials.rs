//! SCIM tokens and admin keys: issuing them (with an expiry read from a lifetime such as
//! `90d`), revoking them, a token's state at a given time, and first-run bootstrap.

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use super::tenants::{self, TenantSlug};
use crate::auth::Credential;
use crate::error::Error;
use crate::store::credentials::{self as store, AdminKey, NewAdminKey, NewScimToken, ScimToken};
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

/// Parses `90d`, `12h`, `30m`, `2w` (and anything humantime reads) into a positive duration.
pub fn parse_expires_in(s: &str) -> Result<chrono::Duration, Error> {
    let std = humantime::parse_duration(s.trim()).map_err(|e| {
        Error::InvalidValue(format!("expires_in `{s}` is not a duration like 90d: {e}"))
    })?;
    chrono::Duration::from_std(std)
        .ok()
        .filter(|d| *d > chrono::Duration::zero() && *d <= chrono::Duration::days(3650))
        .ok_or_else(|| Error::InvalidValue("expires_in must be between 1s and 3650d".into()))
}

/// Whether a SCIM token is accepted at a given time. Revocation wins over expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Live,
    Expired,
    Revoked,
}

impl TokenState {
    /// The token's state at `now`: expired from its expiry instant on.
    pub fn of(token: &ScimToken, now: DateTime<Utc>) -> Self {
        Self::at(token.revoked_at.is_some(), token.expires_at, now)
    }

    /// The state at `now` of a credential (a token or an admin key) that is `revoked` or
    /// not and expires at `expires_at`, if ever.
    pub fn at(revoked: bool, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match (revoked, expires_at) {
            (true, _) => Self::Revoked,
            (false, Some(at)) if at <= now => Self::Expired,
            _ => Self::Live,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl std::fmt::Display for TokenState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

/// Revokes an admin key.
pub fn revoke_admin_key(
    conn: &mut PgConnection,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<AdminKey, Error> {
    store::revoke_admin_key(conn, key_id, now)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no admin key `{}`",
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn expires_in_reads_human_lifetimes_between_a_second_and_ten_years() {
        assert_eq!(
            parse_expires_in("90d").ok(),
            Some(chrono::Duration::days(90))
        );
        assert_eq!(
            parse_expires_in(" 12h ").ok(),
            Some(chrono::Duration::hours(12))
        );
        assert_eq!(
            parse_expires_in("2w").ok(),
            Some(chrono::Duration::weeks(2))
        );
        for bad in ["", "0s", "soon", "-1d", "3651d"] {
            assert!(
                matches!(parse_expires_in(bad), Err(Error::InvalidValue(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_state_is_revoked_before_expired_and_expired_from_its_instant() {
        let now = Utc
            .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let token = |expires_at, revoked_at| ScimToken {
            key_id: "k".into(),
            tenant_id: Uuid::nil(),
            secret_hash: String::new(),
            label: None,
            created_at: now - chrono::Duration::days(1),
            expires_at,
            revoked_at,
            last_used_at: None,
        };
        let later = Some(now + chrono::Duration::seconds(1));
        assert_eq!(TokenState::of(&token(None, None), now), TokenState::Live);
        assert_eq!(TokenState::of(&token(later, None), now), TokenState::Live);
        assert_eq!(
            TokenState::of(&token(Some(now), None), now),
            TokenState::Expired
        );
        assert_eq!(
            TokenState::of(&token(Some(now), Some(now)), now),
            TokenState::Revoked
        );
        assert_eq!(
            TokenState::of(&token(None, Some(now)), now),
            TokenState::Revoked
        );
        assert_eq!(TokenState::Expired.to_string(), "expired");
    }
}
