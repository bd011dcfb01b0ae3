//! `/admin/v1/tenants/{slug}/connection`: the tenant's one connection to its directory,
//! saved whole and read back without its secret.

use actix_web::http::header;
use actix_web::{get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::doc::Conflict;
use super::{parse_json, Reply, TenantPath};
use crate::config::Secret;
use crate::domain::{Cloud, ConnectionScope, DirectoryTenantId, GoogleScope, Provider};
use crate::http::body::AdminBody;
use crate::http::extract::{AdminCtx, OnTenant};
use crate::http::AppState;
use crate::provisioning::connections::{
    self as connections, AccountInfo, Connection, ConnectionInput, DirectoryConfig, GoogleInput,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(put_connection)
        .service(get_connection)
        .service(test_connection);
}

/// A connection to a directory: Microsoft Graph or Google Workspace
#[derive(ToSchema)]
#[allow(dead_code)]
enum PutConnectionBody {
    Graph(PutConnection),
    Google(PutGoogleConnection),
}

/// Only the provider of a connection body, read first to pick the body's shape.
#[derive(Deserialize)]
struct ProviderOnly {
    provider: Provider,
}

/// A connection to Microsoft Graph (Microsoft 365, Entra ID)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutConnection {
    /// `graph`
    provider: Provider,
    directory_tenant_id: DirectoryTenantId,
    /// `global` when left out
    cloud: Option<Cloud>,
    /// The app registration's application (client) id. Leave it and `client_secret` out to
    /// use the server's platform-wide app registration, when it has one
    client_id: Option<Uuid>,
    /// The app registration's client secret, stored sealed and never shown again. Left
    /// out with the stored `client_id`, the stored secret is kept
    #[schema(max_length = 1024, write_only)]
    client_secret: Option<String>,
    scope: ConnectionScope,
    /// Guests of the directory are synced too; `false` when left out
    include_guests: Option<bool>,
}

/// A connection to Google Workspace (the Admin SDK Directory API)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutGoogleConnection {
    /// `google`
    #[allow(dead_code)] // read before, by `ProviderOnly`
    provider: Provider,
    /// An administrator of the Google Workspace: the service account acts for them
    #[schema(example = "it-admin@example.com")]
    admin_email: String,
    /// `my_customer` (the administrator's own account) or the customer ID (C0…)
    #[schema(example = "my_customer")]
    customer: String,
    /// The service account's JSON key, as Google Cloud gives it out; stored sealed and never
    /// shown again. Leave it out to use the server's platform-wide service account
    #[schema(value_type = Option<Object>, write_only)]
    service_account: Option<serde_json::Value>,
    scope: GoogleScope,
}

impl PutGoogleConnection {
    fn input(self) -> Result<GoogleInput, crate::error::Error> {
        let service_account = match self.service_account {
            None => None,
            Some(v @ serde_json::Value::Object(_)) => Some(Secret::new(v.to_string())),
            Some(serde_json::Value::String(s)) => Some(Secret::new(s)),
            Some(_) => {
                return Err(crate::error::Error::InvalidValue(
                    "service_account must be the service account's JSON key (an object)".into(),
                ))
            }
        };
        Ok(GoogleInput {
            admin_email: self.admin_email,
            customer: self.customer,
            service_account,
            scope: self.scope,
        })
    }
}

impl From<PutConnection> for ConnectionInput {
    fn from(p: PutConnection) -> Self {
        Self {
            provider: p.provider,
            directory_tenant_id: p.directory_tenant_id,
            cloud: p.cloud,
            client_id: p.client_id,
            client_secret: p.client_secret.map(Secret::new),
            scope: p.scope,
            include_guests: p.include_guests,
        }
    }
}

/// Why the last run failed
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RunError {
    /// A stable code: `throttled`, `permission_missing`, `bad_secret`, …
    #[schema(example = "permission_missing")]
    code: String,
    message: String,
}

/// When the connection ran and runs next
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConnectionStatus {
    #[schema(required = true)]
    last_run_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    last_success_at: Option<DateTime<Utc>>,
    /// `null` until the connection's first run is applied
    #[schema(required = true)]
    next_run_at: Option<DateTime<Utc>>,
    /// `null` when the last run succeeded or none ran
    #[schema(required = true)]
    last_error: Option<RunError>,
}

/// A tenant's connection to its directory; never its secret
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum ConnectionAnswer {
    Graph(ConnectionView),
    Google(GoogleConnectionView),
}

/// A tenant's connection to Google Workspace; never the service account's key
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GoogleConnectionView {
    /// `google`
    provider: Provider,
    admin_email: String,
    customer: String,
    scope: GoogleScope,
    /// The connection's own service account (who it is, never its key); `null` when it
    /// uses the platform's
    #[schema(required = true)]
    service_account: Option<AccountInfo>,
    /// A key of the connection's own is stored (sealed)
    has_secret: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    status: ConnectionStatus,
}

/// A tenant's connection to Microsoft Graph; never its secret
#[derive(Serialize, ToSchema)]
#[schema(as = Connection)]
#[serde(deny_unknown_fields)]
struct ConnectionView {
    provider: Provider,
    directory_tenant_id: DirectoryTenantId,
    cloud: Cloud,
    /// `null` when the connection uses the platform's app registration
    #[schema(required = true)]
    client_id: Option<Uuid>,
    scope: ConnectionScope,
    include_guests: bool,
    /// A client secret is stored (sealed)
    has_secret: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    status: ConnectionStatus,
}

impl From<Connection> for ConnectionAnswer {
    fn from(c: Connection) -> Self {
        let status = ConnectionStatus {
            last_run_at: c.last_run_at,
            last_success_at: c.last_success_at,
            next_run_at: c.next_run_at,
            last_error: c.last_error.map(|e| RunError {
                code: e.code,
                message: e.message,
            }),
        };
        match c.config {
            DirectoryConfig::Graph(config) => Self::Graph(ConnectionView {
                provider: c.provider,
                directory_tenant_id: config.directory_tenant_id,
                cloud: config.cloud,
                client_id: config.client_id,
                scope: config.scope,
                include_guests: config.include_guests,
                has_secret: c.has_secret,
                created_at: c.created_at,
                updated_at: c.updated_at,
                status,
            }),
            DirectoryConfig::Google(config) => Self::Google(GoogleConnectionView {
                provider: c.provider,
                admin_email: config.admin_email,
                customer: config.customer,
                scope: config.scope,
                service_account: config.service_account,
                has_secret: c.has_secret,
                created_at: c.created_at,
                updated_at: c.updated_at,
                status,
            }),
        }
    }
}

/// Connect the tenant to its directory, or replace its connection
///
/// Makes the directory the tenant's source (`graph` or `google`), in the same transaction.
/// The secret (a Graph client secret, a Google service account's JSON key) is sealed with
/// the server's `SCIMD_SECRET_KEY`; a server without one refuses a secret (409) and saves
/// nothing. Graph: leave out `client_id` and `client_secret` to use the server's
/// platform-wide app registration (400 when it has none); give `client_id` alone to keep
/// the stored secret of that same client id. Google: leave out `service_account` to use the
/// server's platform-wide service account (400 when it has none).
///
/// A new connection is not scheduled until its first run is applied. Replacing it with
/// another directory, cloud or scope forgets what the last runs learnt (the delta links
/// belong to the old directory) and unschedules it the same way; any other change keeps
/// its state and schedule.
#[utoipa::path(
    operation_id = "putConnection",
    params(TenantPath),
    request_body(
        content = PutConnectionBody,
        example = json!({
            "provider": "graph",
            "directory_tenant_id": "contoso.onmicrosoft.com",
            "client_id": "3f2a1c9e-5b7d-4e8f-a6c1-0d9b8e7f6a5c",
            "client_secret": "…",
            "scope": {"type": "groups", "group_ids": ["b1e2c3d4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"]}
        })
    ),
    responses(
        (status = 200, description = "Replaced", body = ConnectionAnswer),
        (
            status = 201,
            description = "Created",
            body = ConnectionAnswer,
            headers(("Location" = String, description = "The connection's URL"))
        ),
        (status = 409, response = Conflict),
    )
)]
#[put("/tenants/{slug}/connection")]
async fn put_connection(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    let slug = on.slug;
    let settings = &state.settings;
    let keyring = settings.keyring.clone();
    let now = state.clock.now();
    let saved = match parse_json::<ProviderOnly>(&body)?.provider {
        Provider::Graph => {
            let input: ConnectionInput = parse_json::<PutConnection>(&body)?.into();
            let platform = settings.graph_app.clone();
            connections::save(&state.db, keyring, platform, slug, input, now).await?
        }
        Provider::Google => {
            let input = parse_json::<PutGoogleConnection>(&body)?.input()?;
            let platform = settings.google_account.clone();
            connections::save_google(&state.db, keyring, platform, slug, input, now).await?
        }
    };
    state.rate_limits.forget(saved.tenant.id);
    let view = ConnectionAnswer::from(saved.connection);
    Ok(if saved.created {
        HttpResponse::Created()
            .insert_header((
                header::LOCATION,
                format!("/admin/v1/tenants/{}/connection", saved.tenant.slug),
            ))
            .json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// The tenant's connection, never its secret
#[utoipa::path(
    operation_id = "getConnection",
    params(TenantPath),
    responses(
        (status = 200, description = "The connection", body = ConnectionAnswer),
    )
)]
#[get("/tenants/{slug}/connection")]
async fn get_connection(on: OnTenant<AdminCtx>, state: web::Data<AppState>) -> Reply {
    let connection = connections::get(&state.db, on.slug).await?;
    Ok(HttpResponse::Ok().json(ConnectionAnswer::from(connection)))
}

/// What a connection test found
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TestResult {
    /// The server signed in to the directory and read one page
    ok: bool,
    /// What happened, in plain words: connected, or the wrong tenant id, a bad secret, a
    /// missing permission or scope (named), domain-wide delegation missing, an
    /// administrator who is not one, an unknown customer, an unreachable directory
    #[schema(example = "Connected: signed in and read 1 page of users from Microsoft Graph")]
    detail: String,
}

/// Test the tenant's connection
///
/// Signs in to the directory with the connection's credentials and reads one page,
/// writing nothing. A failure is not an error of this request: the answer is 200 with
/// `ok: false` and what went wrong.
#[utoipa::path(
    operation_id = "testConnection",
    params(TenantPath),
    responses(
        (status = 200, description = "The test's outcome", body = TestResult),
        (status = 409, response = Conflict),
    )
)]
#[post("/tenants/{slug}/connection/test")]
async fn test_connection(on: OnTenant<AdminCtx>, state: web::Data<AppState>) -> Reply {
    let report = state.directories.test_tenant(&state.db, on.slug).await?;
    Ok(HttpResponse::Ok().json(TestResult {
        ok: report.ok,
        detail: report.detail,
    }))
}
