//! `/admin/v1/tenants/{slug}/connect-links`: one-time links that let a client's IT admin
//! connect their directory themselves (`provisioning::connect_links`). A link's URL, and
//! so its token, is shown once, when it is made.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::doc::Conflict;
use super::{act, parse_json, PageQuery, Reply, TenantList, TenantPath};
use crate::domain::{ConnectionScope, Provider};
use crate::http::body::AdminBody;
use crate::http::extract::{AdminCtx, ItemPath, OnItem, OnTenant};
use crate::http::AppState;
use crate::provisioning::connect_links::{self as links, LinkInput, LinkSettings, LinkState};
use crate::store::connect_links::LinkRow;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_link)
        .service(list_links)
        .service(revoke_link);
}

/// A connect link to make
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateLink {
    /// The directory the admin connects
    provider: Provider,
    /// Whom the connection will read, as a connection's `scope`
    #[schema(value_type = ConnectionScope)]
    scope: Value,
    /// How long the link works: 15m to 30d; 7d when left out
    #[schema(example = "7d")]
    expires_in: Option<String>,
}

/// A new link: send `url` to the client's IT admin. It is shown this once
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreatedLink {
    id: Uuid,
    /// The link, carrying its secret token; anyone who has it can connect a directory to
    /// the tenant, once, until it expires
    #[schema(example = "https://scim.example.com/connect/3q2-7w…")]
    url: String,
    expires_at: DateTime<Utc>,
}

/// A connect link, never its token
#[derive(Serialize, ToSchema)]
#[schema(as = ConnectLink)]
#[serde(deny_unknown_fields)]
struct LinkView {
    id: Uuid,
    provider: Provider,
    #[schema(value_type = ConnectionScope)]
    scope: Value,
    /// `pending` can be used; `used` made the connection; `expired`; `revoked`
    state: LinkState,
    /// Who made it: `admin:<key id>`
    #[schema(example = "admin:k7f3q2")]
    created_by: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    #[schema(required = true)]
    used_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    revoked_at: Option<DateTime<Utc>>,
}

impl LinkView {
    fn of(row: LinkRow, now: DateTime<Utc>) -> Self {
        Self {
            state: LinkState::of(&row, now),
            id: row.id,
            provider: row.provider,
            scope: row.scope,
            created_by: row.created_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
        }
    }
}

list_page!(LinkPage of LinkView);

/// Make a connect link
///
/// The link opens a page that tells the client's IT admin, in plain words, who asks and
/// what will be read (read-only: names, email addresses, department, manager, group
/// membership), and leads them through Microsoft's admin consent (`graph`) or Google's
/// domain-wide delegation and a verify form (`google`). When the connection test passes,
/// the connection is saved with this link's scope, `connection.created` is recorded by
/// `link:<id>`, a first dry run is queued and the link is used up.
///
/// 409 when the server cannot serve links of the provider: it lacks `SCIMD_PUBLIC_URL`,
/// `SCIMD_SECRET_KEY`, or the provider's platform app (`SCIMD_GRAPH_CLIENT_ID`,
/// `SCIMD_GOOGLE_SERVICE_ACCOUNT_FILE`).
#[utoipa::path(
    operation_id = "createConnectLink",
    params(TenantPath),
    request_body(
        content = CreateLink,
        example = json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": "7d"})
    ),
    responses(
        (
            status = 201,
            description = "Made; the URL is shown this once",
            body = CreatedLink,
            headers(("Cache-Control" = String, description = "`no-store`"))
        ),
        (status = 409, response = Conflict),
    )
)]
#[post("/tenants/{slug}/connect-links")]
async fn create_link(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    let req: CreateLink = parse_json(&body)?;
    let settings = LinkSettings::of(&state.settings);
    let input = LinkInput {
        provider: req.provider,
        scope: req.scope,
        expires_in: req.expires_in,
    };
    let made = links::create(&state.db, settings, act(on.slug, &on.who, &state), input).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedLink {
            id: made.id,
            url: made.url,
            expires_at: made.expires_at,
        }))
}

/// List the tenant's connect links, oldest first (never their tokens)
#[utoipa::path(
    operation_id = "listConnectLinks",
    params(TenantPath, PageQuery),
    responses(
        (status = 200, description = "A page of links", body = LinkPage),
    )
)]
#[get("/tenants/{slug}/connect-links")]
async fn list_links(list: TenantList, state: web::Data<AppState>) -> Reply {
    let after = list.page.time_id_cursor()?;
    let rows = links::list(&state.db, list.slug, after, list.limit + 1).await?;
    let now = state.clock.now();
    let page = LinkPage::of(
        rows,
        list.limit,
        |l| super::time_cursor(l.created_at, &l.id.to_string()),
        |l| LinkView::of(l, now),
    );
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct LinkPath {
    /// The tenant's slug
    #[param(pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
    slug: String,
    /// The link's id
    id: String,
}

impl ItemPath for LinkPath {
    const KIND: &'static str = "connect link";

    fn into_parts(self) -> (String, String) {
        (self.slug, self.id)
    }
}

/// Revoke a connect link; its page says so from now on
///
/// 409 when the link was used: disconnect the tenant instead.
#[utoipa::path(
    operation_id = "revokeConnectLink",
    params(LinkPath),
    responses(
        (status = 204, description = "Revoked (or revoked already)"),
        (status = 409, response = Conflict),
    )
)]
#[delete("/tenants/{slug}/connect-links/{id}")]
async fn revoke_link(on: OnItem<AdminCtx, LinkPath>, state: web::Data<AppState>) -> Reply {
    links::revoke(&state.db, on.slug, on.id, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
