//! Connect links (DESIGN.md, Pull sync): a one-time link a technician sends to a client's
//! IT admin, who consents on a page of this server; the connection is then saved without
//! the technician ever handling the client's credentials.
//!
//! - The link token is a credential: 32 random bytes (base64url) shown once, in the link's
//!   URL; only its SHA-256 is stored. A link is single use and expires.
//! - The values a link's pages hand out (the Microsoft consent `state`, the Google form's
//!   anti-forgery token) are [`Signer`]-signed: HMAC-SHA256 under a key derived from
//!   `SCIMD_SECRET_KEY`, over the link's id, the issue time and a nonce. Both are valid for
//!   an hour. A consent state is single use: its nonce is recorded in the database when it
//!   is first presented, whatever happens next. The form token may be sent again after a
//!   failed verification (the link itself stays single use).
//! - A connection test that fails stores nothing and leaves the link usable.
//! - A connection made through a link records `connection.created` with the actor
//!   `link:<id>`, and queues a first dry run, so a technician sees the first plan before
//!   anything is written.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use diesel::{Connection as _, PgConnection};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::admin::{acting, in_tenant, Act};
use super::connections::{
    self, ConnectionInput, Credentials, DirectoryConfig, GoogleInput, LoadedConnection,
};
use super::events::{Actor, Event};
use crate::config::PlatformApp;
use crate::domain::{
    ConnectionScope, DirectoryTenantId, GoogleScope, Provider, RunTrigger, MAX_SCOPE_GROUPS,
};
use crate::error::Error;
use crate::secrets::{Keyring, KEY_VAR};
use crate::store::connect_links::{self as store, LinkRow, NewLink};
use crate::store::connections as connection_store;
use crate::store::events as event_store;
use crate::store::tenants::Tenant;
use crate::store::Db;
use crate::sync::google::ServiceAccount;

/// The shortest and longest lifetime of a link.
pub const MIN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15 * 60);
pub const MAX_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);
/// How long a link lives when the request does not say.
pub const DEFAULT_LIFETIME: &str = "7d";
/// How long a signed value of a link's page is accepted.
pub const SIGNED_LIFETIME: Duration = Duration::hours(1);
/// The HKDF `info` of the key that signs a link's values: no other use derives it.
const SIGNING_KEY_INFO: &str = "scimd connect-link signed values v1";
/// Random bytes in a link token.
const TOKEN_BYTES: usize = 32;

/// Where a link is in its life. Used wins over revoked, revoked over expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Can still be used.
    Pending,
    /// A connection was made with it.
    Used,
    /// Its lifetime ran out unused.
    Expired,
    /// An operator revoked it.
    Revoked,
}

impl LinkState {
    pub fn of(link: &LinkRow, now: DateTime<Utc>) -> Self {
        if link.used_at.is_some() {
            Self::Used
        } else if link.revoked_at.is_some() {
            Self::Revoked
        } else if link.expires_at <= now {
            Self::Expired
        } else {
            Self::Pending
        }
    }
}

/// What a server needs to make links of a provider; a server that lacks any refuses them.
#[derive(Debug, Clone, Default)]
pub struct LinkSettings {
    /// `SCIMD_PUBLIC_URL`, the base of the links.
    pub public_url: Option<String>,
    pub keyring: Option<std::sync::Arc<Keyring>>,
    /// The platform's multi-tenant Microsoft app (admin consent is given to it).
    pub graph_app: Option<PlatformApp>,
    /// The platform's Google service account (domain-wide delegation is granted to it).
    pub google_account: Option<std::sync::Arc<ServiceAccount>>,
}

impl LinkSettings {
    /// What the server's settings give.
    pub fn of(settings: &crate::config::Settings) -> Self {
        Self {
            public_url: settings.public_url.clone(),
            keyring: settings.keyring.clone(),
            graph_app: settings.graph_app.clone(),
            google_account: settings.google_account.clone(),
        }
    }

    /// The public base URL without a trailing slash.
    pub fn base(&self) -> Option<&str> {
        self.public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
            .filter(|u| !u.is_empty())
    }

    /// Why a link for `provider` cannot be made or used on this server, if it cannot.
    pub fn missing(&self, provider: Provider) -> Option<String> {
        if self.base().is_none() {
            return Some(
                "this server has no public URL (SCIMD_PUBLIC_URL) to put in a link".to_owned(),
            );
        }
        if self.keyring.is_none() {
            return Some(format!(
                "this server has no {KEY_VAR}: it signs what a link's page hands out"
            ));
        }
        match provider {
            Provider::Graph if self.graph_app.is_none() => Some(
                "this server has no platform-wide Microsoft app registration \
                 (SCIMD_GRAPH_CLIENT_ID, SCIMD_GRAPH_CLIENT_SECRET) for the admin to consent to"
                    .to_owned(),
            ),
            Provider::Google if self.google_account.is_none() => Some(
                "this server has no platform-wide Google service account \
                 (SCIMD_GOOGLE_SERVICE_ACCOUNT_FILE) for the admin to delegate to"
                    .to_owned(),
            ),
            Provider::Graph | Provider::Google => None,
        }
    }
}

/// A link to make (`POST …/connect-links`), unchecked.
#[derive(Debug)]
pub struct LinkInput {
    pub provider: Provider,
    pub scope: Value,
    /// A lifetime such as `7d`; [`DEFAULT_LIFETIME`] when `None`.
    pub expires_in: Option<String>,
}

/// A freshly made link: the only time its URL (and so its token) exists.
#[derive(Debug, Clone)]
pub struct CreatedLink {
    pub id: Uuid,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// The lifetime of a link, from the admin API's duration text (humantime: `7d`, `12h`).
pub fn parse_lifetime(s: &str) -> Result<Duration, Error> {
    let bounds = || {
        Error::InvalidValue(format!(
            "expires_in must be between {} and {}",
            humantime::format_duration(MIN_LIFETIME),
            humantime::format_duration(MAX_LIFETIME)
        ))
    };
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        Error::InvalidValue(format!("expires_in `{s}` is not a duration like 7d: {e}"))
    })?;
    if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&d) {
        return Err(bounds());
    }
    Duration::from_std(d).map_err(|_| bounds())
}

/// The scope a link of `provider` will give its connection, checked.
fn parse_scope(provider: Provider, scope: &Value) -> Result<Value, Error> {
    match provider {
        Provider::Graph => {
            let parsed: ConnectionScope = serde_json::from_value(scope.clone())
                .map_err(|e| Error::InvalidValue(format!("scope: {e}")))?;
            let deduped = parsed.deduped().ok_or_else(|| {
                Error::InvalidValue(format!(
                    "scope.group_ids must name between 1 and {MAX_SCOPE_GROUPS} groups"
                ))
            })?;
            serde_json::to_value(deduped).map_err(Error::internal)
        }
        Provider::Google => {
            let parsed: GoogleScope = serde_json::from_value(scope.clone())
                .map_err(|e| Error::InvalidValue(format!("scope: {e}")))?;
            let checked = parsed.checked().map_err(Error::InvalidValue)?;
            serde_json::to_value(checked).map_err(Error::internal)
        }
    }
}

/// The stored form of a link token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Makes a link for the act's tenant, attributed to its actor. 409 when the server lacks what the provider's
/// links need; 400 for a bad scope or lifetime.
pub async fn create(
    db: &Db,
    settings: LinkSettings,
    act: Act,
    input: LinkInput,
) -> Result<CreatedLink, Error> {
    let lifetime = parse_lifetime(input.expires_in.as_deref().unwrap_or(DEFAULT_LIFETIME))?;
    let scope = parse_scope(input.provider, &input.scope)?;
    if let Some(missing) = settings.missing(input.provider) {
        return Err(Error::Conflict(format!("{missing}; no link was made")));
    }
    let base = settings.base().unwrap_or_default().to_owned();
    let provider = input.provider;
    acting(db, act, move |conn, tenant, actor, now| {
        let token = new_token();
        let new = NewLink {
            id: Uuid::now_v7(),
            tenant_id: tenant.id,
            provider,
            scope: &scope,
            token_hash: &token_hash(&token),
            created_by: &actor.actor,
            created_at: now,
            expires_at: now + lifetime,
        };
        let row = store::insert(conn, &new)?;
        Ok(CreatedLink {
            id: row.id,
            url: format!("{base}/connect/{token}"),
            expires_at: row.expires_at,
        })
    })
    .await
}

/// A page of the tenant's links, oldest first.
pub async fn list(
    db: &Db,
    slug: String,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<LinkRow>, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        Ok(store::list(conn, tenant.id, after, limit)?)
    })
    .await
}

/// Revokes the tenant's link `id`: 404 when it has none, 409 when it was used.
pub async fn revoke(db: &Db, slug: String, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    in_tenant(db, slug, move |conn, tenant| {
        let row = store::revoke(conn, tenant.id, id, now)?
            .ok_or_else(|| Error::NotFound(format!("no connect link `{id}`")))?;
        if row.used_at.is_some() {
            return Err(Error::Conflict(format!(
                "connect link `{id}` was used already; disconnect the tenant instead"
            )));
        }
        Ok(())
    })
    .await
}

/// Why a link's page cannot go on, in terms the page explains to the admin.
#[derive(Debug)]
pub enum LinkProblem {
    /// No link has this token.
    Unknown,
    Used,
    Expired,
    Revoked,
    /// The signed value is not one this server made (or was altered).
    BadSignature,
    /// The signed value is older than an hour.
    StateExpired,
    /// The signed value was presented before.
    Replayed,
    /// The tenant has a connection already (made since the link was sent).
    AlreadyConnected,
    /// The directory feeds another tenant of this server already.
    DirectoryTaken,
    /// The server lacks what the link needs (its settings changed since).
    Unavailable(String),
    Failed(Error),
}

impl From<Error> for LinkProblem {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl From<diesel::result::Error> for LinkProblem {
    fn from(e: diesel::result::Error) -> Self {
        Self::Failed(e.into())
    }
}

fn usable(link: &LinkRow, now: DateTime<Utc>) -> Result<(), LinkProblem> {
    match LinkState::of(link, now) {
        LinkState::Pending => Ok(()),
        LinkState::Used => Err(LinkProblem::Used),
        LinkState::Expired => Err(LinkProblem::Expired),
        LinkState::Revoked => Err(LinkProblem::Revoked),
    }
}

/// Runs `f` on a connection of `db`, keeping its [`LinkProblem`].
async fn run<T, F>(db: &Db, f: F) -> Result<T, LinkProblem>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, LinkProblem> + Send + 'static,
{
    db.run(move |conn| Ok(f(conn))).await?
}

/// A usable link and its tenant.
#[derive(Debug, Clone)]
pub struct OpenLink {
    pub link: LinkRow,
    pub tenant: Tenant,
}

impl OpenLink {
    /// The link's scope, as its provider's connection takes it (checked when the link was
    /// made).
    fn scope<T: serde::de::DeserializeOwned>(&self) -> Result<T, LinkProblem> {
        serde_json::from_value(self.link.scope.clone()).map_err(|e| {
            let e = Error::internal(format!(
                "link {}: its scope does not read: {e}",
                self.link.id
            ));
            LinkProblem::Failed(e)
        })
    }
}

/// The link a token names, if it can still be used.
pub async fn open(db: &Db, token: String, now: DateTime<Utc>) -> Result<OpenLink, LinkProblem> {
    run(db, move |conn| {
        let link = store::by_token_hash(conn, &token_hash(&token))?.ok_or(LinkProblem::Unknown)?;
        usable(&link, now)?;
        let tenant = super::tenants::by_id(conn, link.tenant_id)?;
        Ok(OpenLink { link, tenant })
    })
    .await
}

/// What a signed value is for: a value for one purpose is refused for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Purpose {
    /// The `state` of a Microsoft admin consent.
    Consent = 1,
    /// The anti-forgery token of a link's form.
    Form = 2,
}

/// What a verified value says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub link_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub nonce: [u8; 16],
}

const SIGNED_VERSION: u8 = 1;
/// version, purpose, link id, issue time (seconds, big-endian), nonce.
const PAYLOAD_LEN: usize = 1 + 1 + 16 + 8 + 16;
const MAC_LEN: usize = 32;

/// Signs and checks the values a link's pages hand out.
#[derive(Clone)]
pub struct Signer {
    /// HMAC-SHA256 keyed with the derived key, cloned for each value.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub fn new(keyring: &Keyring) -> Result<Self, Error> {
        let key = keyring.derive(SIGNING_KEY_INFO);
        // HMAC takes keys of any length: this does not fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(Error::internal)?;
        Ok(Self { mac })
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.mac.clone()
    }

    /// A value for `purpose`, bound to the link `link_id`, issued `now`, with a fresh nonce.
    pub fn sign(&self, purpose: Purpose, link_id: Uuid, now: DateTime<Utc>) -> String {
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(PAYLOAD_LEN + MAC_LEN);
        out.push(SIGNED_VERSION);
        out.push(purpose as u8);
        out.extend_from_slice(link_id.as_bytes());
        out.extend_from_slice(&now.timestamp().to_be_bytes());
        out.extend_from_slice(&nonce);
        let tag = self.mac().chain_update(&out).finalize().into_bytes();
        out.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// What a value for `purpose` says, when this server signed it (checked in constant
    /// time) and it is younger than [`SIGNED_LIFETIME`].
    pub fn verify(
        &self,
        purpose: Purpose,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Signed, LinkProblem> {
        let bytes = URL_SAFE_NO_PAD
            .decode(value.trim())
            .map_err(|_| LinkProblem::BadSignature)?;
        if bytes.len() != PAYLOAD_LEN + MAC_LEN {
            return Err(LinkProblem::BadSignature);
        }
        let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
        self.mac()
            .chain_update(payload)
            .verify_slice(tag)
            .map_err(|_| LinkProblem::BadSignature)?;
        if payload[0] != SIGNED_VERSION || payload[1] != purpose as u8 {
            return Err(LinkProblem::BadSignature);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&payload[2..18]);
        let mut secs = [0u8; 8];
        secs.copy_from_slice(&payload[18..26]);
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&payload[26..42]);
        let issued_at = DateTime::from_timestamp(i64::from_be_bytes(secs), 0)
            .ok_or(LinkProblem::BadSignature)?;
        // A value from the future (a clock step back) is as unusable as an old one.
        let age = now - issued_at;
        if age > SIGNED_LIFETIME || age < -Duration::minutes(5) {
            return Err(LinkProblem::StateExpired);
        }
        Ok(Signed {
            link_id: Uuid::from_bytes(id),
            issued_at,
            nonce,
        })
    }
}

/// Uses up a consent state: records its nonce (committed whatever happens next, so the
/// state never works twice) and gives the link it was made for, if that can still be used.
pub async fn consume(db: &Db, signed: Signed, now: DateTime<Utc>) -> Result<OpenLink, LinkProblem> {
    run(db, move |conn| {
        conn.transaction(|conn| {
            let link = store::find_for_update(conn, signed.link_id)?.ok_or(LinkProblem::Unknown)?;
            let fresh = store::consume_nonce(conn, link.tenant_id, link.id, &signed.nonce, now)?;
            // Committed even when the link cannot be used: the state is spent either way.
            Ok::<_, LinkProblem>((link, fresh))
        })
        .and_then(|(link, fresh)| {
            if !fresh {
                return Err(LinkProblem::Replayed);
            }
            usable(&link, now)?;
            let tenant = super::tenants::by_id(conn, link.tenant_id)?;
            Ok(OpenLink { link, tenant })
        })
    })
    .await
}

/// The connection a Microsoft consent makes for the link: the directory the callback
/// names, the platform's app, the link's scope.
pub fn graph_connection(
    open: &OpenLink,
    directory: DirectoryTenantId,
    app: &PlatformApp,
) -> Result<LoadedConnection, LinkProblem> {
    let scope: ConnectionScope = open.scope()?;
    Ok(LoadedConnection {
        tenant: open.tenant.clone(),
        provider: Provider::Graph,
        config: connections::ConnectionConfig {
            directory_tenant_id: directory,
            cloud: crate::domain::Cloud::Global,
            client_id: None,
            scope,
            include_guests: false,
        },
        credentials: Credentials {
            client_id: app.client_id.clone(),
            client_secret: app.client_secret.clone(),
            platform: true,
        },
        state: Value::Object(serde_json::Map::new()),
        generation: 0,
        activated_at: None,
        next_run_at: None,
    })
}

/// The Google connection the link's form makes: the administrator the platform's
/// service account acts for, the customer of that administrator, the link's scope.
pub fn google_connection(open: &OpenLink, admin_email: &str) -> Result<GoogleInput, LinkProblem> {
    let scope: GoogleScope = open.scope()?;
    Ok(GoogleInput {
        admin_email: admin_email.to_owned(),
        customer: "my_customer".to_owned(),
        service_account: None,
        scope,
    })
}

/// A tested connection a link is to save.
#[derive(Debug, Clone)]
pub enum Candidate {
    Graph(Box<LoadedConnection>),
    Google(GoogleInput),
}

impl Candidate {
    fn provider(&self) -> Provider {
        match self {
            Self::Graph(_) => Provider::Graph,
            Self::Google(_) => Provider::Google,
        }
    }
}

/// What [`connect`] did.
#[derive(Debug, Clone)]
pub struct Connected {
    pub tenant: Tenant,
    /// The first (dry) run, queued.
    pub run_id: Uuid,
}

/// Saves the tested connection `candidate` for the link `link_id`, records
/// `connection.created` by `link:<id>`, queues a first dry run and marks the link used, in
/// one transaction. Refused, with nothing written, when the link cannot be used any more,
/// when its tenant was connected meanwhile, or when the directory feeds another tenant.
pub async fn connect(
    db: &Db,
    settings: LinkSettings,
    link_id: Uuid,
    candidate: Candidate,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Connected, LinkProblem> {
    run(db, move |conn| {
        conn.transaction(|conn| connect_in(conn, &settings, link_id, candidate, request_id, now))
    })
    .await
}

fn connect_in(
    conn: &mut PgConnection,
    settings: &LinkSettings,
    link_id: Uuid,
    candidate: Candidate,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Connected, LinkProblem> {
    let link = store::find_for_update(conn, link_id)?.ok_or(LinkProblem::Unknown)?;
    usable(&link, now)?;
    let tenant_id = link.tenant_id;
    if link.provider != candidate.provider() {
        let e = Error::internal(format!("link {link_id}: a connection of another provider"));
        return Err(e.into());
    }
    if let Some(missing) = settings.missing(link.provider) {
        return Err(LinkProblem::Unavailable(missing));
    }
    // The save locks the tenant too; the checks below run under that lock.
    crate::store::tenants::lock(conn, tenant_id)?;
    if connection_store::find_for_update(conn, tenant_id)?.is_some() {
        return Err(LinkProblem::AlreadyConnected);
    }
    let saved = match candidate {
        Candidate::Graph(graph) => {
            if graph.tenant.id != tenant_id {
                let e = Error::internal(format!("link {link_id}: another tenant's connection"));
                return Err(e.into());
            }
            let graph = *graph;
            let directory = graph.config.directory_tenant_id.to_string();
            if store::tenant_reading(conn, tenant_id, Provider::Graph, &directory)?.is_some() {
                return Err(LinkProblem::DirectoryTaken);
            }
            let input = ConnectionInput {
                provider: Provider::Graph,
                directory_tenant_id: graph.config.directory_tenant_id,
                cloud: Some(graph.config.cloud),
                client_id: None,
                client_secret: None,
                scope: graph.config.scope,
                include_guests: Some(graph.config.include_guests),
            };
            connections::save_in(
                conn,
                settings.keyring.as_deref(),
                settings.graph_app.as_ref(),
                tenant_id,
                input,
                now,
            )?
        }
        Candidate::Google(input) => connections::save_google_in(
            conn,
            settings.keyring.as_deref(),
            settings.google_account.as_ref(),
            tenant_id,
            input,
            now,
        )?,
    };
    let (directory, scope) = match &saved.connection.config {
        DirectoryConfig::Graph(c) => (
            c.directory_tenant_id.to_string(),
            serde_json::to_value(&c.scope),
        ),
        DirectoryConfig::Google(c) => (
            c.admin_email
                .rsplit_once('@')
                .map_or_else(|| c.admin_email.clone(), |(_, domain)| domain.to_owned()),
            serde_json::to_value(&c.scope),
        ),
    };
    let scope = scope.map_err(Error::internal)?;
    let actor = Actor {
        tenant_id,
        actor: format!("link:{link_id}"),
        request_id,
    };
    let event = actor.record(
        tenant_id,
        Event::ConnectionCreated {
            provider: link.provider,
            directory: &directory,
            scope: &scope,
        },
    );
    event_store::insert(conn, &event)?;
    let run = super::sync::queue_in(conn, &saved.tenant.slug, RunTrigger::Manual, true, now)?;
    store::mark_used(conn, link_id, now)?;
    Ok(Connected {
        tenant: saved.tenant,
        run_id: run.id,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(&Keyring::new(&[5; 32], None)).unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_signed_value_reads_back_for_its_purpose_within_the_hour() {
        let s = signer();
        let link = Uuid::from_u128(42);
        let value = s.sign(Purpose::Consent, link, at(0));
        let read = s.verify(Purpose::Consent, &value, at(3599)).unwrap();
        assert_eq!(read.link_id, link);
        assert_eq!(read.issued_at, at(0));
        assert!(matches!(
            s.verify(Purpose::Consent, &value, at(3601)),
            Err(LinkProblem::StateExpired)
        ));
        assert!(matches!(
            s.verify(Purpose::Form, &value, at(1)),
            Err(LinkProblem::BadSignature)
        ));
        // Each value has its own nonce.
        let again = s.verify(
            Purpose::Consent,
            &s.sign(Purpose::Consent, link, at(0)),
            at(0),
        );
        assert_ne!(again.unwrap().nonce, read.nonce);
    }

    #[test]
    fn a_value_altered_anywhere_or_signed_under_another_key_is_refused() {
        let s = signer();
        let value = s.sign(Purpose::Consent, Uuid::from_u128(1), at(0));
        let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            let bad = URL_SAFE_NO_PAD.encode(bad);
            assert!(
                matches!(
                    s.verify(Purpose::Consent, &bad, at(0)),
                    Err(LinkProblem::BadSignature)
                ),
                "byte {i}"
            );
        }
        let other = Signer::new(&Keyring::new(&[6; 32], None)).unwrap();
        assert!(matches!(
            other.verify(Purpose::Consent, &value, at(0)),
            Err(LinkProblem::BadSignature)
        ));
        for junk in ["", "not base64!", &value[..20]] {
            assert!(s.verify(Purpose::Consent, junk, at(0)).is_err(), "{junk}");
        }
    }

    #[test]
    fn lifetimes_are_bounded() {
        assert_eq!(parse_lifetime("7d").unwrap(), Duration::days(7));
        assert_eq!(parse_lifetime("15m").unwrap(), Duration::minutes(15));
        assert_eq!(parse_lifetime("30d").unwrap(), Duration::days(30));
        for bad in ["14m", "31d", "0s", "soon", ""] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn link_tokens_are_32_random_bytes_and_stored_as_their_sha256() {
        let a = new_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), TOKEN_BYTES);
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), a.as_bytes());
    }
}
