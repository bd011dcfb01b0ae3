//! A tenant's connection to its directory (DESIGN.md, Pull sync): saving one (which makes
//! the directory the tenant's source), reading it back without its secret, opening it for
//! a run, and sealing every stored secret again under a new key.
//!
//! The connection's settings are stored as [`ConnectionConfig`] (Microsoft Graph) or
//! [`GoogleConnectionConfig`] (Google Workspace), jsonb and never a secret; the secret (a
//! client secret, or a service account's JSON key) is sealed for the tenant with the
//! server's [`Keyring`] (bytea). A Graph connection without a client id of its own uses
//! the server's platform-wide app registration ([`PlatformApp`]); a Google connection
//! without a key of its own, the platform's service account.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::{Connection as _, PgConnection};
use serde_json::Value;
use uuid::Uuid;

use super::admin::in_tenant;
use crate::config::{PlatformApp, Secret};
use crate::domain::{
    is_email, Cloud, ConnectionScope, DirectoryTenantId, GoogleScope, Provider, MAX_SCOPE_GROUPS,
};
use crate::error::Error;
use crate::secrets::{Keyring, KEY_VAR, PREVIOUS_KEY_VAR};
use crate::store::connections::{self as store, ConnectionRow, NewConnection, Replacement};
use crate::store::tenants::{self as tenant_store, SettingsChange, Tenant};
use crate::store::Db;
use crate::sync::google::{is_customer, ServiceAccount};

/// The longest client secret taken (Entra's are 40 characters).
const MAX_SECRET_CHARS: usize = 1024;

/// A connection's settings, as stored in `connections.config` and shown by the admin API.
/// Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ConnectionConfig {
    pub directory_tenant_id: DirectoryTenantId,
    #[serde(default)]
    pub cloud: Cloud,
    /// The connection's own app registration; `None` when it uses the platform's.
    pub client_id: Option<Uuid>,
    pub scope: ConnectionScope,
    /// Guests of the directory (Graph `userType` `Guest`) are people too.
    #[serde(default)]
    pub include_guests: bool,
}

impl ConnectionConfig {
    /// Whether `other` reads another set of people: another directory, cloud or scope.
    /// What the connector learnt (a delta link) belongs to the old one.
    fn reads_other_people_than(&self, other: &Self) -> bool {
        self.directory_tenant_id != other.directory_tenant_id
            || self.cloud != other.cloud
            || self.scope != other.scope
    }
}

/// A Google connection's settings, as stored in `connections.config` and shown by the admin
/// API. Never holds the key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GoogleConnectionConfig {
    /// The administrator the service account acts for.
    pub admin_email: String,
    /// `my_customer` or a customer id.
    pub customer: String,
    pub scope: GoogleScope,
    /// The connection's own service account; `None` when it uses the platform's.
    pub service_account: Option<AccountInfo>,
}

/// Who a stored service account key is: nothing secret, what an administrator needs to
/// grant domain-wide delegation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInfo {
    pub client_email: String,
    /// The numeric client id entered for domain-wide delegation.
    pub client_id: String,
}

impl AccountInfo {
    pub fn of(account: &ServiceAccount) -> Self {
        Self {
            client_email: account.client_email().to_owned(),
            client_id: account.client_id().to_owned(),
        }
    }
}

/// A stored connection's settings, by provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryConfig {
    Graph(ConnectionConfig),
    Google(GoogleConnectionConfig),
}

/// A Google connection to save or test: the settings as given, unchecked.
#[derive(Debug, Clone)]
pub struct GoogleInput {
    pub admin_email: String,
    pub customer: String,
    /// The service account's JSON key; `None`: the platform's service account.
    pub service_account: Option<Secret<String>>,
    pub scope: GoogleScope,
}

/// A Google connection's settings, checked, and the service account it acts as.
#[derive(Debug, Clone)]
pub struct CheckedGoogle {
    pub config: GoogleConnectionConfig,
    pub account: Arc<ServiceAccount>,
    /// The account is the connection's own (its key is to be sealed).
    pub own: bool,
}

/// Checks a Google connection's settings: the administrator's address, the customer, the
/// scope, and the key (or, without one, that the server has a platform service account).
/// 400 with what is wrong otherwise.
pub fn check_google(
    input: GoogleInput,
    platform: Option<&Arc<ServiceAccount>>,
) -> Result<CheckedGoogle, Error> {
    let admin_email = input.admin_email.trim().to_ascii_lowercase();
    if !is_email(&admin_email) {
        return Err(Error::InvalidValue(format!(
            "admin_email must be the address of an administrator of the Google Workspace, not \
             `{}`",
            input.admin_email.chars().take(80).collect::<String>()
        )));
    }
    let customer = input.customer.trim().to_owned();
    if !is_customer(&customer) {
        return Err(Error::InvalidValue(format!(
            "customer must be `my_customer` or a Google customer ID (C0…), not `{}`",
            customer.chars().take(80).collect::<String>()
        )));
    }
    let scope = input.scope.checked().map_err(Error::InvalidValue)?;
    let (account, own) = match input.service_account {
        Some(json) => {
            let account = ServiceAccount::parse(json.expose())
                .map_err(|e| Error::InvalidValue(format!("service_account: {e}")))?;
            (Arc::new(account), true)
        }
        None => {
            let platform = platform.ok_or_else(|| {
                Error::InvalidValue(
                    "give service_account (the service account's JSON key): this server has \
                     no platform-wide service account (SCIMD_GOOGLE_SERVICE_ACCOUNT_FILE) to use \
                     instead"
                        .into(),
                )
            })?;
            (Arc::clone(platform), false)
        }
    };
    Ok(CheckedGoogle {
        config: GoogleConnectionConfig {
            admin_email,
            customer,
            scope,
            service_account: own.then(|| AccountInfo::of(&account)),
        },
        account,
        own,
    })
}

/// A connection to save (`PUT …/connection`): the settings as given, unchecked.
#[derive(Debug)]
pub struct ConnectionInput {
    pub provider: Provider,
    pub directory_tenant_id: DirectoryTenantId,
    pub cloud: Option<Cloud>,
    pub client_id: Option<Uuid>,
    pub client_secret: Option<Secret<String>>,
    pub scope: ConnectionScope,
    pub include_guests: Option<bool>,
}

/// Why the last run failed: the engine's stable code and a message for a technician.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LastError {
    pub code: String,
    pub message: String,
}

/// A connection as the admin API shows it: its settings and its schedule, never the
/// secret.
#[derive(Debug, Clone)]
pub struct Connection {
    pub provider: Provider,
    pub config: DirectoryConfig,
    pub has_secret: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_error: Option<LastError>,
}

impl Connection {
    fn of(row: ConnectionRow) -> Result<Self, Error> {
        let config = config_of(&row)?;
        Ok(Self {
            provider: row.provider,
            config,
            has_secret: row.secret.is_some(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_run_at: row.last_run_at,
            last_success_at: row.last_success_at,
            next_run_at: row.next_run_at,
            // Written by the engine; one it cannot read shows as its raw text.
            last_error: row.last_error.map(|e| {
                serde_json::from_value(e.clone()).unwrap_or_else(|_| LastError {
                    code: "unknown".into(),
                    message: e.to_string(),
                })
            }),
        })
    }
}

fn config_of(row: &ConnectionRow) -> Result<DirectoryConfig, Error> {
    let unreadable = |e: serde_json::Error| {
        Error::internal(format!(
            "tenant {}: the stored connection settings do not read: {e}",
            row.tenant_id
        ))
    };
    Ok(match row.provider {
        Provider::Graph => {
            DirectoryConfig::Graph(serde_json::from_value(row.config.clone()).map_err(unreadable)?)
        }
        Provider::Google => {
            DirectoryConfig::Google(serde_json::from_value(row.config.clone()).map_err(unreadable)?)
        }
    })
}

/// The stored settings of a Graph connection; `None` for another provider's.
fn graph_config_of(row: &ConnectionRow) -> Result<Option<ConnectionConfig>, Error> {
    Ok(match config_of(row)? {
        DirectoryConfig::Graph(c) => Some(c),
        DirectoryConfig::Google(_) => None,
    })
}

/// What a save did.
#[derive(Debug, Clone)]
pub struct Saved {
    pub connection: Connection,
    /// There was no connection before.
    pub created: bool,
    /// The tenant, its source now the connection's.
    pub tenant: Tenant,
}

/// The credentials a run authenticates with.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret<String>,
    /// They are the platform's app registration, not the connection's own.
    pub platform: bool,
}

/// A connection ready to run: its typed settings and its secret opened.
#[derive(Debug, Clone)]
pub struct LoadedConnection {
    pub tenant: Tenant,
    pub provider: Provider,
    pub config: ConnectionConfig,
    pub credentials: Credentials,
    /// The connector's state after the last applied run (a delta link); `{}` before.
    pub state: Value,
    pub generation: i64,
    pub activated_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Saves the tenant's connection (`PUT …/connection`), creating or replacing it, and
/// makes its directory the tenant's source, in one transaction.
pub async fn save(
    db: &Db,
    keyring: Option<Arc<Keyring>>,
    platform: Option<PlatformApp>,
    slug: String,
    input: ConnectionInput,
    now: DateTime<Utc>,
) -> Result<Saved, Error> {
    save_with(db, keyring, platform, slug, input, now, save_in).await
}

/// What [`save_in`] and [`save_google_in`] take: the keyring, the platform's app or
/// service account (`P`), the tenant, the input (`I`) and the time.
type SaveIn<P, I> = fn(
    &mut PgConnection,
    Option<&Keyring>,
    Option<&P>,
    Uuid,
    I,
    DateTime<Utc>,
) -> Result<Saved, Error>;

/// Runs `save_in` for the tenant `slug` names, in one call to the database.
async fn save_with<P, I>(
    db: &Db,
    keyring: Option<Arc<Keyring>>,
    platform: Option<P>,
    slug: String,
    input: I,
    now: DateTime<Utc>,
    save_in: SaveIn<P, I>,
) -> Result<Saved, Error>
where
    P: Send + 'static,
    I: Send + 'static,
{
    in_tenant(db, slug, move |conn, tenant| {
        save_in(
            conn,
            keyring.as_deref(),
            platform.as_ref(),
            tenant.id,
            input,
            now,
        )
    })
    .await
}

/// [`save`] for the tenant `tenant_id`, on a connection.
///
/// - A `client_id` with no `client_secret` keeps the stored secret when the client id is
///   the stored one; otherwise both are required (400), unless both are left out and the
///   server has a platform app.
/// - A secret needs `SCIMD_SECRET_KEY`: without it the save is refused (409) and nothing
///   is written, never a plaintext.
/// - Replacing a connection with another directory, cloud or scope forgets the
///   connector's state (the delta links belong to the old directory), moves the
///   generation on and unschedules it until a run applies again; other changes keep all
///   three.
pub fn save_in(
    conn: &mut PgConnection,
    keyring: Option<&Keyring>,
    platform: Option<&PlatformApp>,
    tenant_id: Uuid,
    input: ConnectionInput,
    now: DateTime<Utc>,
) -> Result<Saved, Error> {
    if input.provider == Provider::Google {
        return Err(Error::InvalidValue(
            "a Google connection takes admin_email, customer and scope (save_google)".into(),
        ));
    }
    let scope = input.scope.deduped().ok_or_else(|| {
        Error::InvalidValue(format!(
            "scope.group_ids must name between 1 and {MAX_SCOPE_GROUPS} groups"
        ))
    })?;
    let secret = input
        .client_secret
        .map(|s| check_secret(s.expose()).map(|()| s))
        .transpose()?;
    let config = ConnectionConfig {
        directory_tenant_id: input.directory_tenant_id,
        cloud: input.cloud.unwrap_or_default(),
        client_id: input.client_id,
        scope,
        include_guests: input.include_guests.unwrap_or(false),
    };
    conn.transaction(|conn| {
        let tenant = tenant_store::lock(conn, tenant_id)?;
        let existing = store::find_for_update(conn, tenant_id)?;
        let sealed = match (config.client_id, secret) {
            (None, None) if platform.is_some() => None,
            (None, None) => {
                return Err(Error::InvalidValue(
                    "give client_id and client_secret: this server has no platform-wide app \
                     registration (SCIMD_GRAPH_CLIENT_ID) to use instead"
                        .into(),
                ))
            }
            (None, Some(_)) => {
                return Err(Error::InvalidValue(
                    "client_secret was given without client_id".into(),
                ))
            }
            (Some(_), Some(secret)) => Some(seal(
                keyring,
                tenant_id,
                secret.expose(),
                "a client secret",
                "the platform's app registration",
            )?),
            (Some(client_id), None) => Some(kept_secret(existing.as_ref(), client_id)?),
        };
        let value = serde_json::to_value(&config).map_err(Error::internal)?;
        let reset = existing.as_ref().is_some_and(|old| {
            old.provider != input.provider
                || graph_config_of(old)
                    .ok()
                    .flatten()
                    .is_none_or(|c| c.reads_other_people_than(&config))
        });
        let row = Stored {
            provider: input.provider,
            config: &value,
            secret: sealed.as_deref(),
            reset,
        };
        put(conn, tenant, existing, &row, now)
    })
}

/// A connection row to write.
struct Stored<'a> {
    provider: Provider,
    config: &'a Value,
    secret: Option<&'a [u8]>,
    /// The new settings read other people: forget the connector's state.
    reset: bool,
}

/// Inserts or replaces the tenant's (locked) connection row and makes the provider the
/// tenant's source.
fn put(
    conn: &mut PgConnection,
    tenant: Tenant,
    existing: Option<ConnectionRow>,
    row: &Stored<'_>,
    now: DateTime<Utc>,
) -> Result<Saved, Error> {
    let tenant_id = tenant.id;
    let (stored, created) = match existing {
        None => {
            let new = NewConnection {
                tenant_id,
                provider: row.provider,
                config: row.config,
                secret: row.secret,
                created_at: now,
                updated_at: now,
            };
            (store::insert(conn, &new)?, true)
        }
        Some(_) => {
            let replacement = Replacement {
                provider: row.provider,
                config: row.config,
                secret: row.secret,
                reset: row.reset,
            };
            (store::replace(conn, tenant_id, &replacement, now)?, false)
        }
    };
    let source = row.provider.source();
    let tenant = if tenant.source == source {
        tenant
    } else {
        let change = SettingsChange {
            source: Some(source),
            ..SettingsChange::default()
        };
        tenant_store::update_settings(conn, tenant_id, &change, now)?
    };
    Ok(Saved {
        connection: Connection::of(stored)?,
        created,
        tenant,
    })
}

/// Saves the tenant's Google connection (`PUT …/connection` with provider `google`),
/// creating or replacing it, and makes Google the tenant's source, in one transaction.
/// `platform` is the server's service account, used when the input gives no key.
pub async fn save_google(
    db: &Db,
    keyring: Option<Arc<Keyring>>,
    platform: Option<Arc<ServiceAccount>>,
    slug: String,
    input: GoogleInput,
    now: DateTime<Utc>,
) -> Result<Saved, Error> {
    save_with(db, keyring, platform, slug, input, now, save_google_in).await
}

/// [`save_google`] for the tenant `tenant_id`, on a connection.
///
/// - The settings are checked first ([`check_google`]): 400 and nothing written.
/// - A key of the connection's own is sealed for the tenant; it needs `SCIMD_SECRET_KEY`
///   (409 and nothing written without it). Without a key, the platform's service account
///   is used and no secret is stored.
/// - Replacing a connection with another provider, customer or scope moves the generation
///   on and unschedules it until a run applies again.
pub fn save_google_in(
    conn: &mut PgConnection,
    keyring: Option<&Keyring>,
    platform: Option<&Arc<ServiceAccount>>,
    tenant_id: Uuid,
    input: GoogleInput,
    now: DateTime<Utc>,
) -> Result<Saved, Error> {
    let checked = check_google(input, platform)?;
    let sealed = if checked.own {
        Some(seal(
            keyring,
            tenant_id,
            checked.account.json().expose(),
            "a service account key",
            "the platform's service account",
        )?)
    } else {
        None
    };
    let config = checked.config;
    let value = serde_json::to_value(&config).map_err(Error::internal)?;
    conn.transaction(|conn| {
        let tenant = tenant_store::lock(conn, tenant_id)?;
        let existing = store::find_for_update(conn, tenant_id)?;
        let reset = existing.as_ref().is_some_and(|old| match config_of(old) {
            Ok(DirectoryConfig::Google(c)) => {
                c.customer != config.customer || c.scope != config.scope
            }
            _ => true,
        });
        let row = Stored {
            provider: Provider::Google,
            config: &value,
            secret: sealed.as_deref(),
            reset,
        };
        put(conn, tenant, existing, &row, now)
    })
}

/// `secret` sealed for the tenant; 409 when the server has no key to seal with (`what`
/// is the secret, `instead` what the connection could use without one).
fn seal(
    keyring: Option<&Keyring>,
    tenant_id: Uuid,
    secret: &str,
    what: &str,
    instead: &str,
) -> Result<Vec<u8>, Error> {
    let keyring = keyring.ok_or_else(|| {
        Error::Conflict(format!(
            "this server cannot store {what}: {KEY_VAR} is not set; set it (`scimd secret-key \
             generate` makes one) or use {instead}; nothing was saved"
        ))
    })?;
    keyring.seal(tenant_id, secret).map_err(Error::internal)
}

fn check_secret(secret: &str) -> Result<(), Error> {
    let chars = secret.chars().count();
    if chars == 0 || chars > MAX_SECRET_CHARS || secret.chars().any(char::is_control) {
        return Err(Error::InvalidValue(format!(
            "client_secret must be 1 to {MAX_SECRET_CHARS} characters without control characters"
        )));
    }
    Ok(())
}

/// The stored secret, when the connection keeps its client id.
fn kept_secret(existing: Option<&ConnectionRow>, client_id: Uuid) -> Result<Vec<u8>, Error> {
    existing
        .filter(|old| {
            graph_config_of(old).is_ok_and(|c| c.is_some_and(|c| c.client_id == Some(client_id)))
        })
        .and_then(|old| old.secret.clone())
        .ok_or_else(|| {
            Error::InvalidValue(
                "client_secret is required with client_id (the stored secret is kept only when \
                 client_id is the stored one)"
                    .into(),
            )
        })
}

/// The tenant's connection, without its secret; 404 when it has none.
pub async fn get(db: &Db, slug: String) -> Result<Connection, Error> {
    in_tenant(db, slug, |conn, tenant| {
        let row = store::find(conn, tenant.id)?.ok_or_else(|| not_connected(&tenant))?;
        Connection::of(row)
    })
    .await
}

fn not_connected(tenant: &Tenant) -> Error {
    Error::NotFound(format!("tenant `{}` has no connection", tenant.slug))
}

/// The tenant's connection, ready to run: its typed settings and its secret opened (or
/// the platform's app registration). 404 when it has none; 409 when its secret cannot be
/// opened with this server's keys or it needs a platform app the server lacks.
pub async fn load(
    db: &Db,
    keyring: Option<Arc<Keyring>>,
    platform_app: Option<PlatformApp>,
    slug: String,
) -> Result<LoadedConnection, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        let row = store::find(conn, tenant.id)?.ok_or_else(|| not_connected(&tenant))?;
        opened(tenant, row, keyring.as_deref(), platform_app.as_ref())
    })
    .await
}

/// A Google connection ready to run: its settings and the service account it acts as
/// (its own key opened, or the platform's).
#[derive(Debug, Clone)]
pub struct LoadedGoogle {
    pub tenant: Tenant,
    pub config: GoogleConnectionConfig,
    pub account: Arc<ServiceAccount>,
    /// The account is the platform's, not the connection's own.
    pub platform: bool,
    pub state: Value,
    pub generation: i64,
}

/// A connection ready to run, by provider.
#[derive(Debug, Clone)]
pub enum Loaded {
    Graph(LoadedConnection),
    Google(LoadedGoogle),
}

/// What a node authenticates connections with when they bring nothing of their own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Platform<'a> {
    pub graph: Option<&'a PlatformApp>,
    pub google: Option<&'a Arc<ServiceAccount>>,
}

/// The tenant's connection of any provider, ready to run (see [`load`]).
pub async fn load_any(
    db: &Db,
    keyring: Option<Arc<Keyring>>,
    graph: Option<PlatformApp>,
    google: Option<Arc<ServiceAccount>>,
    slug: String,
) -> Result<Loaded, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        let row = store::find(conn, tenant.id)?.ok_or_else(|| not_connected(&tenant))?;
        let platform = Platform {
            graph: graph.as_ref(),
            google: google.as_ref(),
        };
        opened_any(tenant, row, keyring.as_deref(), platform)
    })
    .await
}

/// [`load_any`] by the tenant's id, on the caller's connection (a sync run's).
pub fn load_by_id(
    conn: &mut PgConnection,
    keyring: Option<&Keyring>,
    platform: Platform<'_>,
    tenant_id: Uuid,
) -> Result<Loaded, Error> {
    let tenant = super::tenants::by_id(conn, tenant_id)?;
    let row = store::find(conn, tenant.id)?.ok_or_else(|| not_connected(&tenant))?;
    opened_any(tenant, row, keyring, platform)
}

/// A connection row of any provider made ready to run.
pub fn opened_any(
    tenant: Tenant,
    row: ConnectionRow,
    keyring: Option<&Keyring>,
    platform: Platform<'_>,
) -> Result<Loaded, Error> {
    let DirectoryConfig::Google(config) = config_of(&row)? else {
        return opened(tenant, row, keyring, platform.graph).map(Loaded::Graph);
    };
    let (account, is_platform) = match &row.secret {
        Some(sealed) => {
            let keyring = keyring.ok_or_else(|| {
                Error::Conflict(format!(
                    "tenant `{}`: the connection's service account key is sealed, and this \
                     server has no {KEY_VAR} to open it",
                    tenant.slug
                ))
            })?;
            let json = keyring.open(tenant.id, sealed).map_err(|e| {
                Error::Conflict(format!(
                    "tenant `{}`: the connection's service account key does not open ({e}); \
                     save the connection again with its key",
                    tenant.slug
                ))
            })?;
            let account = ServiceAccount::parse(json.expose()).map_err(|e| {
                Error::Conflict(format!(
                    "tenant `{}`: the stored service account key does not read ({e}); save the \
                     connection again with its key",
                    tenant.slug
                ))
            })?;
            (Arc::new(account), false)
        }
        None => {
            let account = platform.google.ok_or_else(|| {
                Error::Conflict(format!(
                    "tenant `{}`: the connection uses the platform's Google service account, \
                     and this server has none (SCIMD_GOOGLE_SERVICE_ACCOUNT_FILE)",
                    tenant.slug
                ))
            })?;
            (Arc::clone(account), true)
        }
    };
    Ok(Loaded::Google(LoadedGoogle {
        tenant,
        config,
        account,
        platform: is_platform,
        state: row.state,
        generation: row.generation,
    }))
}

/// A connection row made ready to run (see [`load`]), for callers that read the row in
/// their own transaction.
pub fn opened(
    tenant: Tenant,
    row: ConnectionRow,
    keyring: Option<&Keyring>,
    platform_app: Option<&PlatformApp>,
) -> Result<LoadedConnection, Error> {
    let config = graph_config_of(&row)?.ok_or_else(|| {
        Error::Conflict(format!(
            "tenant `{}`: the connection is not a Microsoft Graph connection",
            tenant.slug
        ))
    })?;
    let credentials = match (config.client_id, &row.secret) {
        (Some(client_id), Some(sealed)) => {
            let keyring = keyring.ok_or_else(|| {
                Error::Conflict(format!(
                    "tenant `{}`: the connection's client secret is sealed, and this server has \
                     no {KEY_VAR} to open it",
                    tenant.slug
                ))
            })?;
            let client_secret = keyring.open(tenant.id, sealed).map_err(|e| {
                Error::Conflict(format!(
                    "tenant `{}`: the connection's client secret does not open ({e}); save the \
                     connection again with its secret",
                    tenant.slug
                ))
            })?;
            Credentials {
                client_id: client_id.to_string(),
                client_secret,
                platform: false,
            }
        }
        (None, _) => {
            let app = platform_app.ok_or_else(|| {
                Error::Conflict(format!(
                    "tenant `{}`: the connection uses the platform's app registration, and this \
                     server has none (SCIMD_GRAPH_CLIENT_ID, SCIMD_GRAPH_CLIENT_SECRET)",
                    tenant.slug
                ))
            })?;
            Credentials {
                client_id: app.client_id.clone(),
                client_secret: app.client_secret.clone(),
                platform: true,
            }
        }
        (Some(_), None) => {
            return Err(Error::internal(format!(
                "tenant {}: a connection with a client id has no secret",
                tenant.id
            )))
        }
    };
    Ok(LoadedConnection {
        tenant,
        provider: row.provider,
        config,
        credentials,
        state: row.state,
        generation: row.generation,
        activated_at: row.activated_at,
        next_run_at: row.next_run_at,
    })
}

/// Removes the tenant's connection and the directory objects its runs mirrored (a
/// disconnect); whether it had one. Runs in the caller's transaction.
pub fn remove(conn: &mut PgConnection, tenant_id: Uuid) -> Result<bool, Error> {
    Ok(store::delete(conn, tenant_id)?)
}

/// Seals every stored secret again under the current key, opening each with the current
/// or the previous one, in one transaction: all or none. How many were sealed again.
pub fn rotate(conn: &mut PgConnection, keyring: &Keyring) -> Result<usize, Error> {
    conn.transaction(|conn| {
        let sealed = store::sealed_secrets(conn)?;
        let mut failed = Vec::new();
        let mut resealed = Vec::with_capacity(sealed.len());
        for (tenant_id, value) in &sealed {
            match keyring.reseal(*tenant_id, value) {
                Ok(new) => resealed.push((*tenant_id, new)),
                Err(_) => failed.push(tenant_id.to_string()),
            }
        }
        if !failed.is_empty() {
            return Err(Error::Conflict(format!(
                "{} stored secrets open with neither {KEY_VAR} nor {PREVIOUS_KEY_VAR} (tenants \
                 {}); nothing was sealed again",
                failed.len(),
                failed.join(", ")
            )));
        }
        for (tenant_id, new) in &resealed {
            store::set_secret(conn, *tenant_id, new)?;
        }
        Ok(resealed.len())
    })
}

/// Keeps a tenant's schedule within its new interval: a run already scheduled later than
/// `interval` from now is brought forward. Runs in the caller's transaction.
pub fn interval_changed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    interval_secs: i32,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let interval = chrono::Duration::seconds(i64::from(interval_secs));
    store::pull_in_next_run(conn, tenant_id, interval, now)?;
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(scope: ConnectionScope) -> ConnectionConfig {
        ConnectionConfig {
            directory_tenant_id: DirectoryTenantId::parse("contoso.onmicrosoft.com").unwrap(),
            cloud: Cloud::Global,
            client_id: None,
            scope,
            include_guests: false,
        }
    }

    #[test]
    fn another_directory_cloud_or_scope_reads_other_people_but_guests_and_client_do_not() {
        let base = config(ConnectionScope::All {});
        let mut guests = base.clone();
        guests.include_guests = true;
        guests.client_id = Some(Uuid::from_u128(3));
        assert!(!base.reads_other_people_than(&guests));
        let mut cloud = base.clone();
        cloud.cloud = Cloud::UsGov;
        assert!(base.reads_other_people_than(&cloud));
        let groups = config(ConnectionScope::Groups {
            group_ids: vec![Uuid::from_u128(1)],
        });
        assert!(base.reads_other_people_than(&groups));
    }

    #[test]
    fn stored_settings_read_back_with_their_defaults() {
        let stored = serde_json::json!({
            "directory_tenant_id": "contoso.onmicrosoft.com",
            "client_id": null,
            "scope": {"type": "all"}
        });
        let read: ConnectionConfig = serde_json::from_value(stored).unwrap();
        assert_eq!(read, config(ConnectionScope::All {}));
    }

    #[test]
    fn client_secrets_are_bounded_and_printable() {
        assert!(check_secret("abc~DEF.123").is_ok());
        assert!(check_secret("").is_err());
        assert!(check_secret("a\nb").is_err());
        assert!(check_secret(&"x".repeat(MAX_SECRET_CHARS + 1)).is_err());
    }
}
