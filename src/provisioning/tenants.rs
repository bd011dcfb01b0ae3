//! Tenants: create, find, list, change settings, delete. The admin API and the command line
//! both call these, so a change is checked and written the same way whichever made it.

use std::fmt;

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::domain::{DeletePolicy, Source};
use crate::error::Error;
use crate::store::tenants::{self, NewTenant, SettingsChange, Tenant};

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

pub const MAX_RATE_PER_SECOND: i64 = 100_000;
pub const MAX_RATE_BURST: i64 = 1_000_000;

/// A connected tenant syncs at most this often...
pub const MIN_SYNC_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// ...and at least this often.
pub const MAX_SYNC_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The brake's `min_count` is at most this.
pub const MAX_BRAKE_MIN_COUNT: i64 = 1_000_000;

/// A change to a tenant's settings (`PATCH /admin/v1/tenants/{slug}`, `scimd tenant set`):
/// any subset of the keys, unchecked. `source` and `on_source_delete` stay text until
/// [`SettingsPatch::check`], so a misspelt one is refused as an invalid value naming the
/// choices, like every other bad setting.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub name: Option<String>,
    pub source: Option<String>,
    pub on_source_delete: Option<String>,
    pub rate_limit: Option<RatePatch>,
    /// How often a connected tenant syncs, as a duration (`6h`, `90m`).
    pub sync_interval: Option<String>,
    pub deprovision_brake: Option<BrakePatch>,
    /// How long after deprovisioning a person is erased (`90d`); `null` keeps them.
    #[serde(default, deserialize_with = "present")]
    pub erase_deprovisioned_after: Option<Option<String>>,
}

/// A key that is present, `null` included: `Some(None)` for `null`, and `None` (by
/// `default`) when the key is absent.
pub fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Deprovisioned people are kept at least this long before they may be erased...
pub const MIN_ERASE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// ...and the setting is at most this.
pub const MAX_ERASE_AFTER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

fn check_erase_after(text: &str) -> Result<i64, Error> {
    let bounds = || {
        format!(
            "erase_deprovisioned_after must be a duration from 1d to 100y (`90d`, `2y`), or \
             null to keep deprovisioned people, not `{}`",
            text.chars().take(40).collect::<String>()
        )
    };
    let d = humantime::parse_duration(text.trim()).map_err(|_| Error::InvalidValue(bounds()))?;
    if !(MIN_ERASE_AFTER..=MAX_ERASE_AFTER).contains(&d) || d.subsec_nanos() != 0 {
        return Err(Error::InvalidValue(bounds()));
    }
    i64::try_from(d.as_secs()).map_err(|_| Error::InvalidValue(bounds()))
}

/// The `erase_deprovisioned_after` setting as it is written (`90days`), if it is set.
pub fn format_erase_after(secs: Option<i64>) -> Option<String> {
    let secs = u64::try_from(secs?).ok()?;
    Some(humantime::format_duration(Duration::from_secs(secs)).to_string())
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePatch {
    pub per_second: Option<i64>,
    pub burst: Option<i64>,
}

/// Either or both of the deprovision brake's settings.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrakePatch {
    pub max_percent: Option<i64>,
    pub min_count: Option<i64>,
}

/// A sync interval as its setting is written: `6h`, `1h 30m`.
pub fn format_interval(secs: i32) -> String {
    let secs = u64::try_from(secs).unwrap_or_default();
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn check_interval(text: &str) -> Result<i32, Error> {
    let bounds = || {
        format!(
            "sync_interval must be a duration from {} to {} (`6h`, `90m`), not `{}`",
            humantime::format_duration(MIN_SYNC_INTERVAL),
            humantime::format_duration(MAX_SYNC_INTERVAL),
            text.chars().take(40).collect::<String>()
        )
    };
    let d = humantime::parse_duration(text.trim()).map_err(|_| Error::InvalidValue(bounds()))?;
    if !(MIN_SYNC_INTERVAL..=MAX_SYNC_INTERVAL).contains(&d) || d.subsec_nanos() != 0 {
        return Err(Error::InvalidValue(bounds()));
    }
    i32::try_from(d.as_secs()).map_err(|_| Error::InvalidValue(bounds()))
}

fn between(value: i64, min: i64, max: i64, what: &str) -> Result<i32, Error> {
    i32::try_from(value)
        .ok()
        .filter(|v| (min..=max).contains(&i64::from(*v)))
        .ok_or_else(|| Error::InvalidValue(format!("{what} must be between {min} and {max}")))
}

fn one_of<T>(
    value: &str,
    parse: fn(&str) -> Option<T>,
    choices: String,
    what: &str,
) -> Result<T, Error> {
    parse(value).ok_or_else(|| {
        Error::InvalidValue(format!(
            "{what} must be {choices}, not `{}`",
            value.chars().take(40).collect::<String>()
        ))
    })
}

fn in_range(value: i64, max: i64, what: &str) -> Result<i32, Error> {
    between(value, 1, max, what)
}

fn check_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::InvalidValue("tenant name cannot be empty".into()));
    }
    super::storable::text(name, "tenant name")?;
    if name.chars().count() > MAX_NAME {
        return Err(Error::InvalidValue(format!(
            "tenant name is longer than {MAX_NAME} characters"
        )));
    }
    Ok(name.to_owned())
}

impl SettingsPatch {
    /// The checked change; any invalid value refuses the whole patch.
    pub fn check(&self) -> Result<SettingsChange, Error> {
        let rate = self.rate_limit.clone().unwrap_or_default();
        let brake = self.deprovision_brake.clone().unwrap_or_default();
        Ok(SettingsChange {
            name: self.name.as_deref().map(check_name).transpose()?,
            source: self
                .source
                .as_deref()
                .map(|s| one_of(s, Source::parse, Source::choices(), "source"))
                .transpose()?,
            on_source_delete: self
                .on_source_delete
                .as_deref()
                .map(|s| {
                    one_of(
                        s,
                        DeletePolicy::parse,
                        DeletePolicy::choices(),
                        "on_source_delete",
                    )
                })
                .transpose()?,
            rate_per_second: rate
                .per_second
                .map(|n| in_range(n, MAX_RATE_PER_SECOND, "rate_limit.per_second"))
                .transpose()?,
            rate_burst: rate
                .burst
                .map(|n| in_range(n, MAX_RATE_BURST, "rate_limit.burst"))
                .transpose()?,
            sync_interval_secs: self
                .sync_interval
                .as_deref()
                .map(check_interval)
                .transpose()?,
            brake_max_percent: brake
                .max_percent
                .map(|n| between(n, 0, 100, "deprovision_brake.max_percent"))
                .transpose()?,
            brake_min_count: brake
                .min_count
                .map(|n| between(n, 0, MAX_BRAKE_MIN_COUNT, "deprovision_brake.min_count"))
                .transpose()?,
            erase_deprovisioned_after_secs: match &self.erase_deprovisioned_after {
                None => None,
                Some(None) => Some(None),
                Some(Some(text)) => Some(Some(check_erase_after(text)?)),
            },
        })
    }
}

/// Applies a settings change. Switching `source` keeps every person: they are rebound by
/// the new source (adopted by an IdP's create, or by a pull source's first sync). A
/// shorter sync interval brings the tenant's next scheduled run within it.
pub fn update_settings(
    conn: &mut PgConnection,
    slug: &str,
    patch: &SettingsPatch,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Tenant, Error> {
    let change = patch.check()?;
    let tenant = get(conn, slug)?;
    if change.is_empty() {
        return Ok(tenant);
    }
    conn.transaction(|conn| {
        let tenant = tenants::update_settings(conn, tenant.id, &change, now)?;
        if let Some(secs) = change.sync_interval_secs {
            super::connections::interval_changed(conn, tenant.id, secs, now)?;
        }
        Ok(tenant)
    })
}

pub fn create(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    name: Option<&str>,
) -> Result<Tenant, Error> {
    let name = check_name(
        name.map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(slug.as_str()),
    )?;
    let new = NewTenant {
        id: Uuid::now_v7(),
        slug: slug.as_str(),
        name: &name,
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
/// The tenant `id`, in one call to the database (the SCIM rate limit reads its settings).
pub async fn load(db: &crate::store::Db, id: Uuid) -> Result<Tenant, Error> {
    db.run(move |conn| by_id(conn, id)).await
}

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

    #[test]
    fn settings_are_checked_whole() {
        let ok: SettingsPatch = serde_json::from_value(serde_json::json!({
            "source": "manual", "on_source_delete": "remove",
            "rate_limit": {"per_second": 25, "burst": 50}
        }))
        .unwrap_or_default();
        let change = ok.check().ok();
        assert_eq!(change.as_ref().and_then(|c| c.source), Some(Source::Manual));
        assert_eq!(
            change.as_ref().and_then(|c| c.on_source_delete),
            Some(DeletePolicy::Remove)
        );
        assert_eq!(change.as_ref().and_then(|c| c.rate_burst), Some(50));
        for bad in [
            serde_json::json!({"source": "ldap"}),
            serde_json::json!({"on_source_delete": "purge"}),
            serde_json::json!({"rate_limit": {"per_second": 0}}),
            serde_json::json!({"rate_limit": {"burst": 2_000_000}}),
            serde_json::json!({"name": "  "}),
            serde_json::json!({"sync_interval": "14m"}),
            serde_json::json!({"sync_interval": "31d"}),
            serde_json::json!({"sync_interval": "soon"}),
            serde_json::json!({"deprovision_brake": {"max_percent": 101}}),
            serde_json::json!({"deprovision_brake": {"min_count": -1}}),
        ] {
            let patch: SettingsPatch = serde_json::from_value(bad.clone()).unwrap_or_default();
            assert!(patch.check().is_err(), "{bad}");
        }
        let sync: SettingsPatch = serde_json::from_value(serde_json::json!({
            "sync_interval": "15m", "deprovision_brake": {"min_count": 0}
        }))
        .unwrap_or_default();
        let change = sync.check().ok();
        assert_eq!(
            change.as_ref().and_then(|c| c.sync_interval_secs),
            Some(900)
        );
        assert_eq!(change.as_ref().and_then(|c| c.brake_min_count), Some(0));
        assert_eq!(change.as_ref().and_then(|c| c.brake_max_percent), None);
        assert_eq!(format_interval(21_600), "6h");
        assert_eq!(format_interval(5_400), "1h 30m");
        for unknown in [
            serde_json::json!({"sauce": "scim"}),
            serde_json::json!({"rate_limit": {"per_minute": 5}}),
        ] {
            assert!(serde_json::from_value::<SettingsPatch>(unknown).is_err());
        }
    }
}
