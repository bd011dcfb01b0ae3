//! Tenants: create, find, list, delete.

use std::fmt;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::PgConnection;
use uuid::Uuid;

use crate::error::Error;
use crate::store::tenants::{self, NewTenant, Tenant};

/// A tenant's slug: 1 to 63 characters of `[a-z0-9-]`, not starting or ending with `-`
/// (a DNS label, so it can name a subdomain later).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let ok = (1..=63).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::InvalidValue(format!(
                "tenant slug `{}` must be 1 to 63 characters of a-z, 0-9 and `-`, \
                 not starting or ending with `-`",
                s.chars().take(80).collect::<String>()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const MAX_NAME: usize = 200;

pub fn create(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    name: Option<&str>,
) -> Result<Tenant, Error> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(slug.as_str());
    super::storable::text(name, "tenant name")?;
    if name.chars().count() > MAX_NAME {
        return Err(Error::InvalidValue(format!(
            "tenant name is longer than {MAX_NAME} characters"
        )));
    }
    let new = NewTenant {
        id: Uuid::now_v7(),
        slug: slug.as_str(),
        name,
    };
    tenants::insert(conn, &new).map_err(|e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            Error::Conflict(format!("tenant `{slug}` already exists"))
        }
        other => other.into(),
    })
}

pub fn get(conn: &mut PgConnection, slug: &str) -> Result<Tenant, Error> {
    tenants::find_by_slug(conn, slug)?.ok_or_else(|| not_found(slug))
}

pub fn not_found(slug: &str) -> Error {
    Error::NotFound(format!(
        "no tenant `{}`",
        slug.chars().take(80).collect::<String>()
    ))
}

/// Deletes a tenant and everything it owns (tokens, people, groups, events).
pub fn delete(conn: &mut PgConnection, slug: &str) -> Result<Tenant, Error> {
    let tenant = get(conn, slug)?;
    tenants::delete(conn, tenant.id)?;
    Ok(tenant)
}

pub fn list(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Tenant>, Error> {
    Ok(tenants::list(conn, after, limit)?)
}

/// The tenant a credential resolved to. Gone means it was deleted while cached: 401.
pub fn by_id(conn: &mut PgConnection, id: Uuid) -> Result<Tenant, Error> {
    tenants::find_by_id(conn, id)?.ok_or_else(|| Error::Unauthorized("invalid token".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_dns_labels() {
        for good in ["a", "acme", "acme-corp", "a1", &"x".repeat(63)] {
            assert!(TenantSlug::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "Acme", "a_b", "a b", "é", &"x".repeat(64)] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
    }
}
