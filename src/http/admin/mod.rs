//! The operator API under `/admin/v1`: JSON, guarded by admin keys, described by
//! `/admin/v1/openapi.json`. Lists answer `{"items": [...], "next_cursor": "…" | null}`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

mod events;
mod import;
mod people;

use super::body::AdminBody;
use super::extract::AdminCtx;
use super::AppState;
use crate::error::{AdminError, Error};
use crate::provisioning::credentials as creds;
use crate::provisioning::events::Actor;
use crate::provisioning::people as people_writes;
use crate::provisioning::tenants::{self, TenantSlug};
use crate::store::credentials::{list_tokens as store_list_tokens, ScimToken};
use crate::store::tenants::Tenant;

const OPENAPI: &str = include_str!("openapi.json");
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

type Reply = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi))
        .service(
            web::resource("/tenants")
                .route(web::get().to(list_tenants))
                .route(web::post().to(create_tenant)),
        )
        .service(
            web::resource("/tenants/{slug}")
                .route(web::get().to(get_tenant))
                .route(web::patch().to(update_tenant))
                .route(web::delete().to(delete_tenant)),
        )
        .service(web::resource("/tenants/{slug}/disconnect").route(web::post().to(disconnect)))
        .configure(people::configure)
        .service(web::resource("/tenants/{slug}/events").route(web::get().to(events::feed)))
        .service(
            web::resource("/tenants/{slug}/tokens")
                .route(web::get().to(list_tokens))
                .route(web::post().to(issue_token)),
        )
        .service(
            web::resource("/tenants/{slug}/tokens/{key_id}").route(web::delete().to(revoke_token)),
        )
        .default_service(web::to(not_found));
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

async fn not_found() -> Reply {
    Err(Error::NotFound("no such admin endpoint".into()).into())
}

#[derive(Serialize)]
pub(super) struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PageQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

impl PageQuery {
    pub(super) fn limit(&self) -> Result<i64, Error> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(Error::InvalidValue(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            ))),
        }
    }

    pub(super) fn cursor(&self) -> Result<Option<String>, Error> {
        self.cursor
            .as_deref()
            .map(|c| {
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| Error::InvalidValue("cursor is not one this API gave".into()))
            })
            .transpose()
    }
}

pub(super) fn encode_cursor(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

#[derive(Serialize)]
pub struct TenantView {
    id: uuid::Uuid,
    slug: String,
    name: String,
    source: String,
    on_source_delete: String,
    rate_limit: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
            source: t.source,
            on_source_delete: t.on_source_delete,
            rate_limit: json!({"per_second": t.rate_per_second, "burst": t.rate_burst}),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    slug: String,
    name: Option<String>,
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::InvalidSyntax(format!("invalid JSON body: {e}")))
}

async fn create_tenant(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    let req: CreateTenant = parse_json(&body)?;
    let slug = TenantSlug::parse(&req.slug)?;
    let tenant = state
        .db
        .run(move |conn| tenants::create(conn, &slug, req.name.as_deref()))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/admin/v1/tenants/{}", tenant.slug),
        ))
        .json(TenantView::from(tenant)))
}

async fn list_tenants(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    let limit = query.limit()?;
    let after = query.cursor()?;
    let mut rows = state
        .db
        .run(move |conn| tenants::list(conn, after.as_deref(), limit + 1))
        .await?;
    let next_cursor = next_cursor(&mut rows, limit, |t| encode_cursor(&t.slug));
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(TenantView::from).collect(),
        next_cursor,
    }))
}

/// Keeps `limit` rows and gives the cursor after the last when one more row was fetched.
pub(super) fn next_cursor<T>(
    rows: &mut Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(cursor_of)
    } else {
        None
    }
}

async fn get_tenant(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Reply {
    let slug = slug.into_inner();
    let tenant = state.db.run(move |conn| tenants::get(conn, &slug)).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

async fn update_tenant(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    AdminBody(body): AdminBody,
) -> Reply {
    let patch: tenants::SettingsPatch = parse_json(&body)?;
    let slug = slug.into_inner();
    let now = state.clock.now();
    let tenant = state
        .db
        .run(move |conn| tenants::update_settings(conn, &slug, &patch, now))
        .await?;
    state.rate_limits.forget(tenant.id);
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Disconnect {
    keep_people: bool,
}

async fn disconnect(
    admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    AdminBody(body): AdminBody,
) -> Reply {
    let req: Disconnect = parse_json(&body)?;
    let slug = slug.into_inner();
    let now = state.clock.now();
    let done = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            let actor = admin_actor(&admin, tenant.id);
            people_writes::disconnect(conn, &actor, req.keep_people, now)
        })
        .await?;
    let mut body = serde_json::to_value(&done).map_err(Error::internal)?;
    if let Some(tenant) = done.tenant {
        state.rate_limits.forget(tenant.id);
        body["tenant"] = serde_json::to_value(TenantView::from(tenant)).map_err(Error::internal)?;
    }
    Ok(HttpResponse::Ok().json(body))
}

/// An admin's writes are attributed to their key (DESIGN.md, Events).
pub(super) fn admin_actor(admin: &AdminCtx, tenant_id: uuid::Uuid) -> Actor {
    Actor {
        tenant_id,
        actor: admin.actor(),
        request_id: Some(admin.request_id.clone()).filter(|r| !r.is_empty()),
    }
}

async fn delete_tenant(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Reply {
    let slug = slug.into_inner();
    let tenant = state
        .db
        .run(move |conn| tenants::delete(conn, &slug))
        .await?;
    state.scim_tokens.forget_tenant(tenant.id);
    state.rate_limits.forget(tenant.id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct IssueToken {
    label: Option<String>,
    /// A duration such as `90d` or `12h`.
    expires_in: Option<String>,
    /// An RFC 3339 instant; an alternative to `expires_in`.
    expires_at: Option<DateTime<Utc>>,
}

async fn issue_token(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    AdminBody(body): AdminBody,
) -> Reply {
    let req: IssueToken = if body.iter().all(u8::is_ascii_whitespace) {
        IssueToken::default()
    } else {
        parse_json(&body)?
    };
    let now = state.clock.now();
    let expires_at = match (req.expires_in.as_deref(), req.expires_at) {
        (Some(_), Some(_)) => {
            return Err(
                Error::InvalidValue("give expires_in or expires_at, not both".into()).into(),
            )
        }
        (Some(d), None) => Some(now + creds::parse_expires_in(d)?),
        (None, at) => at,
    };
    let slug = slug.into_inner();
    let issued = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            creds::issue_token(conn, tenant.id, req.label.as_deref(), expires_at, now)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(issued))
}

#[derive(Serialize)]
struct TokenView {
    key_id: String,
    label: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<ScimToken> for TokenView {
    fn from(t: ScimToken) -> Self {
        Self {
            key_id: t.key_id,
            label: t.label,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

async fn list_tokens(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Reply {
    let limit = query.limit()?;
    let after = match query.cursor()? {
        None => None,
        Some(c) => Some(parse_token_cursor(&c)?),
    };
    let slug = slug.into_inner();
    let mut rows = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            Ok(store_list_tokens(conn, tenant.id, after, limit + 1)?)
        })
        .await?;
    let next_cursor = next_cursor(&mut rows, limit, |t| {
        encode_cursor(&format!("{}|{}", t.created_at.timestamp_micros(), t.key_id))
    });
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(TokenView::from).collect(),
        next_cursor,
    }))
}

fn parse_token_cursor(c: &str) -> Result<(DateTime<Utc>, String), Error> {
    c.split_once('|')
        .and_then(|(micros, key)| {
            let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            Some((at, key.to_owned()))
        })
        .ok_or_else(|| Error::InvalidValue("cursor is not one this API gave".into()))
}

async fn revoke_token(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Reply {
    let (slug, key_id) = path.into_inner();
    let now = state.clock.now();
    let revoked = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            creds::revoke_token(conn, &key_id, Some(tenant.id), now)
        })
        .await?;
    state.scim_tokens.forget_key(&revoked.key_id);
    Ok(HttpResponse::NoContent().finish())
}
