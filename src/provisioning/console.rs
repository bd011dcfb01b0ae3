//! What the operator console needs beyond the admin API's actions ([`super::admin`]):
//! its sessions, and the reads its pages show that the API has no call for (a tenant's
//! health, the groups list, how many people excluding a group affects).
//!
//! A session is opened with an admin key. Its id is 32 random bytes, given to the browser
//! once (in a cookie) and stored only as its SHA-256. A session ends when it has been idle
//! for the idle timeout, at its absolute expiry, at sign-out, or when its admin key is
//! revoked or expires. The anti-forgery token of a session is derived from its id, so it
//! needs no storage and cannot be known without the cookie.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::admin::in_tenant;
use crate::config::SessionTimes;
use crate::error::Error;
use crate::store::console::{self as sessions, NewSession};
use crate::store::groups::{self, GroupLine, MemberOf};
use crate::store::people::{self, Counts};
use crate::store::sync::TenantHealth;
use crate::store::tenants::{self as store_tenants, Tenant};
use crate::store::Db;

/// A session id, as the browser holds it.
pub struct SessionId(String);

impl SessionId {
    fn new() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Whatever the browser sent; checked only against the store.
    pub fn presented(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    /// The session's anti-forgery token: a hash of its id under a label of its own, so it
    /// tells nothing about the id and needs no storage.
    pub fn csrf_token(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"scimd console anti-forgery\0");
        h.update(self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(h.finalize())
    }

    /// Whether `presented` is this session's anti-forgery token. Compared as hashes, so
    /// the comparison's time says nothing about the token.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        Sha256::digest(presented.as_bytes()) == Sha256::digest(self.csrf_token().as_bytes())
    }
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Opens a session for the admin key `key_id` (already verified); forgets dead sessions
/// on the way.
pub async fn open_session(
    db: &Db,
    key_id: String,
    times: SessionTimes,
    now: DateTime<Utc>,
) -> Result<SessionId, Error> {
    let id = SessionId::new();
    let hash = id.hash();
    db.run(move |conn| {
        sessions::delete_dead(conn, now - chrono_of(times.idle), now)?;
        sessions::insert(
            conn,
            &NewSession {
                id_hash: &hash,
                key_id: &key_id,
                created_at: now,
                last_seen_at: now,
                expires_at: now + chrono_of(times.absolute),
            },
        )?;
        Ok(())
    })
    .await?;
    Ok(id)
}

/// The admin key id of a live session, which is kept alive by this use; `None` when the
/// session is unknown, idle too long, past its expiry or its key is no longer live.
pub async fn session(
    db: &Db,
    id: &SessionId,
    times: SessionTimes,
    now: DateTime<Utc>,
) -> Result<Option<String>, Error> {
    let hash = id.hash();
    let idle_since = now - chrono_of(times.idle);
    db.run(move |conn| Ok(sessions::touch_live(conn, &hash, idle_since, now)?))
        .await
        .map(|s| s.map(|s| s.key_id))
}

/// Ends a session (sign-out).
pub async fn close_session(db: &Db, id: &SessionId) -> Result<(), Error> {
    let hash = id.hash();
    db.run(move |conn| Ok(sessions::delete(conn, &hash)?))
        .await
        .map(drop)
}

/// A tenant as the console's list shows it: its people counted and its connection's
/// health.
pub struct TenantLine {
    pub tenant: Tenant,
    pub counts: Counts,
    pub health: Option<TenantHealth>,
}

/// Up to `limit` tenants after the slug `after`, in slug order, whose slug or name
/// contains `q`; each with its counts and health.
pub async fn tenants(
    db: &Db,
    q: Option<String>,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<TenantLine>, Error> {
    db.run(move |conn| {
        let rows = store_tenants::search(conn, q.as_deref(), after.as_deref(), limit)?;
        let ids: Vec<Uuid> = rows.iter().map(|t| t.id).collect();
        let mut health = crate::store::sync::health(conn, &ids)?;
        rows.into_iter()
            .map(|tenant| {
                let counts = people::counts(conn, tenant.id)?;
                let mine = health
                    .iter()
                    .position(|h| h.tenant_id == tenant.id)
                    .map(|i| health.swap_remove(i));
                Ok(TenantLine {
                    tenant,
                    counts,
                    health: mine,
                })
            })
            .collect()
    })
    .await
}

/// A page of the tenant's groups by name, with member counts.
pub async fn groups(
    db: &Db,
    slug: String,
    q: Option<String>,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<GroupLine>, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        Ok(groups::list_lines(
            conn,
            tenant.id,
            q.as_deref(),
            after,
            limit,
        )?)
    })
    .await
}

/// One group of the tenant, and how many people excluding or including it changes.
pub async fn group(db: &Db, slug: String, id: Uuid) -> Result<(GroupLine, i64), Error> {
    in_tenant(db, slug, move |conn, tenant| {
        let row = groups::find(conn, tenant.id, id)?
            .ok_or_else(|| super::groups::not_found(&id.to_string()))?;
        let members = groups::member_count(conn, tenant.id, id)?;
        let at_stake = people::at_stake_in_group(conn, tenant.id, id)?;
        Ok((
            GroupLine {
                id: row.id,
                display_name: row.display_name,
                excluded_at: row.excluded_at,
                members,
            },
            at_stake,
        ))
    })
    .await
}

/// The groups a person of the tenant is a direct member of.
pub async fn groups_of(db: &Db, slug: String, person: Uuid) -> Result<Vec<MemberOf>, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        Ok(groups::groups_of_member(conn, tenant.id, person)?)
    })
    .await
}
