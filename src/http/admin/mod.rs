//! The operator API under `/admin/v1`: JSON, guarded by admin keys, described by
//! `/admin/v1/openapi.json`, which is written from the handlers as they are registered
//! (see `doc`). Lists answer `{"items": [...], "next_cursor": "…" | null}`; errors are
//! RFC 9457 problems.
//!
//! Request and response bodies are the typed structs below: what a handler serializes is
//! what the document describes. Their `#[serde(deny_unknown_fields)]` refuses unknown keys
//! in requests and, on responses, only closes the documented schema
//! (`additionalProperties: false`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::{HttpServiceFactory, Payload};
use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, FromRequest, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

/// Declares `$page`, the page of a list of `$item`s. Every list answers the same envelope,
/// `{"items": [...], "next_cursor": "…" | null}`, under a schema named for the list. Defined
/// before the submodules, so that theirs can use it too.
macro_rules! list_page {
    ($page:ident of $item:ident) => {
        #[derive(serde::Serialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        struct $page {
            items: Vec<$item>,
            #[schema(required = true)]
            next_cursor: Option<String>,
        }

        impl $page {
            /// The page of the rows read for it, as `page_of` cuts them.
            fn of<T>(
                rows: Vec<T>,
                limit: i64,
                cursor_of: impl FnOnce(&T) -> String,
                view: impl FnMut(T) -> $item,
            ) -> Self {
                let (items, next_cursor) =
                    $crate::http::admin::page_of(rows, limit, cursor_of, view);
                Self { items, next_cursor }
            }
        }
    };
}

mod connect_links;
mod connections;
mod doc;
mod events;
mod import;
mod people;
mod sync;

pub use doc::PREFIX;
use doc::{Conflict, Document};

use super::body::AdminBody;
use super::extract::{AdminCtx, OnTenant};
use super::AppState;
use crate::domain::{DeletePolicy, Source};
use crate::error::{AdminError, Error};
use crate::provisioning::admin::{self, Act, By};
use crate::provisioning::credentials as creds;
use crate::provisioning::people as people_writes;
use crate::provisioning::tenants::{self, TenantSlug};
use crate::store::credentials::ScimToken;
use crate::store::tenants::Tenant;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

type Reply = Result<HttpResponse, AdminError>;

/// The `/admin/v1` scope, for the app's routes.
pub fn service() -> impl HttpServiceFactory {
    doc::service(configure)
}

/// Every admin route. `service` takes only handlers with a `#[utoipa::path]`: registering a
/// route here is what documents it.
fn configure(cfg: &mut ServiceConfig) {
    cfg.service(openapi)
        .service(list_tenants)
        .service(create_tenant)
        .service(get_tenant)
        .service(update_tenant)
        .service(delete_tenant)
        .service(disconnect_tenant)
        .configure(connections::configure)
        .configure(connect_links::configure)
        .configure(people::configure)
        .configure(sync::configure)
        .service(events::feed)
        .service(list_tokens)
        .service(issue_token)
        .service(revoke_token);
}

/// This document
#[utoipa::path(
    operation_id = "openApi",
    security(()),
    responses((
        status = 200,
        description = "The OpenAPI document of this API",
        content_type = "application/json",
        body = Object
    ))
)]
#[get("/openapi.json")]
async fn openapi(document: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.json().to_owned())
}

/// A tenant's routes, as the document describes them; [`OnTenant`] reads the slug. Its
/// pattern is `TenantSlug`'s.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(
    dead_code,
    reason = "only describes the parameter that `OnTenant` reads"
)]
pub(super) struct TenantPath {
    /// The tenant's slug
    #[param(pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
    slug: String,
}

/// A page of a list: `limit` items at most, and the cursor of the next page.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PageQuery {
    /// `next_cursor` from the previous page
    cursor: Option<String>,
    /// How many items a page holds at most (1 to 500; 50 by default)
    #[param(minimum = 1, maximum = 500, default = 50)]
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

    /// The cursor of a list ordered by creation time and then by a key ([`time_cursor`]
    /// of the last item's time and key).
    pub(super) fn time_key_cursor(&self) -> Result<Option<(DateTime<Utc>, String)>, Error> {
        self.cursor()?.as_deref().map(parse_time_cursor).transpose()
    }

    /// [`Self::time_key_cursor`] of a list whose key is a UUID.
    pub(super) fn time_id_cursor(&self) -> Result<Option<(DateTime<Utc>, uuid::Uuid)>, Error> {
        self.time_key_cursor()?
            .map(|(at, id)| {
                let id = uuid::Uuid::parse_str(&id)
                    .map_err(|_| Error::InvalidValue("cursor is not one this API gave".into()))?;
                Ok((at, id))
            })
            .transpose()
    }

    /// The number in the cursor of a list ordered by a number ([`number_cursor`] of the
    /// last item's); 0 for the first page.
    pub(super) fn number(&self) -> Result<i64, Error> {
        match self.cursor()? {
            None => Ok(0),
            Some(c) => c
                .parse()
                .map_err(|_| Error::InvalidValue("cursor is not one this API gave".into())),
        }
    }
}

/// A page of one of a tenant's lists, asked for by an admin: the tenant's slug, the page's
/// checked `limit`, and its query, for the cursor of the list's kind.
pub(super) struct TenantList {
    slug: String,
    limit: i64,
    page: PageQuery,
}

impl FromRequest for TenantList {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let both = futures_util::future::try_join(
            OnTenant::<AdminCtx>::from_request(req, payload),
            web::Query::<PageQuery>::from_request(req, payload),
        );
        Box::pin(async move {
            // Joined as a handler's arguments are (see `OnTenant`); the limit is checked
            // only once both are in, so never before the admin key.
            let (on, page) = both.await?;
            let limit = page.limit().map_err(AdminError::from)?;
            Ok(TenantList {
                slug: on.slug,
                limit,
                page: page.into_inner(),
            })
        })
    }
}

pub(super) fn encode_cursor(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// The tenant's SCIM request budget: a token bucket refilled at `per_second`, holding at
/// most `burst`
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RateLimit {
    #[schema(minimum = 1, maximum = 100_000, example = 100)]
    per_second: i32,
    #[schema(minimum = 1, maximum = 1_000_000, example = 200)]
    burst: i32,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Tenant)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantView {
    id: uuid::Uuid,
    #[schema(example = "acme")]
    slug: String,
    #[schema(example = "Acme Corp")]
    name: String,
    source: Source,
    on_source_delete: DeletePolicy,
    rate_limit: RateLimit,
    /// How often the tenant syncs while it has a connection: a duration, 15m to 30d
    #[schema(example = "6h")]
    sync_interval: String,
    deprovision_brake: DeprovisionBrake,
    /// How long after deprovisioning a person is erased (with a `user.removed` event);
    /// `null`: deprovisioned people are kept
    #[schema(example = "90days", required = true)]
    erase_deprovisioned_after: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A sync run that would deprovision more than the larger of `min_count` people and
/// `max_percent` % of the people its connection manages is held until an admin approves it
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeprovisionBrake {
    #[schema(minimum = 0, maximum = 100, example = 20)]
    max_percent: i32,
    #[schema(minimum = 0, maximum = 1_000_000, example = 10)]
    min_count: i32,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
            source: t.source,
            on_source_delete: t.on_source_delete,
            rate_limit: RateLimit {
                per_second: t.rate_per_second,
                burst: t.rate_burst,
            },
            sync_interval: tenants::format_interval(t.sync_interval_secs),
            deprovision_brake: DeprovisionBrake {
                max_percent: t.brake_max_percent,
                min_count: t.brake_min_count,
            },
            erase_deprovisioned_after: tenants::format_erase_after(
                t.erase_deprovisioned_after_secs,
            ),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

list_page!(TenantPage of TenantView);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    /// 1 to 63 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`
    #[schema(pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", example = "acme")]
    slug: String,
    /// The slug when left out
    #[schema(max_length = 200, example = "Acme Corp")]
    name: Option<String>,
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::InvalidSyntax(format!("invalid JSON body: {e}")))
}

/// Create a tenant
#[utoipa::path(
    operation_id = "createTenant",
    request_body = CreateTenant,
    responses(
        (
            status = 201,
            description = "Created",
            body = TenantView,
            headers(("Location" = String, description = "The tenant's URL"))
        ),
        (status = 409, response = Conflict),
    )
)]
#[post("/tenants")]
async fn create_tenant(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    let req: CreateTenant = parse_json(&body)?;
    let slug = TenantSlug::parse(&req.slug)?;
    let tenant = admin::create_tenant(&state.db, slug, req.name).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/admin/v1/tenants/{}", tenant.slug),
        ))
        .json(TenantView::from(tenant)))
}

/// List tenants in slug order
#[utoipa::path(
    operation_id = "listTenants",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of tenants", body = TenantPage),
    )
)]
#[get("/tenants")]
async fn list_tenants(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    let limit = query.limit()?;
    let after = query.cursor()?;
    let rows = admin::tenants(&state.db, after, limit + 1).await?;
    let page = TenantPage::of(rows, limit, |t| encode_cursor(&t.slug), TenantView::from);
    Ok(HttpResponse::Ok().json(page))
}

/// A page of a list from the rows fetched for it (`limit + 1` at most): the first `limit`,
/// each as `view` shows it, and the cursor after the last when there were more.
fn page_of<T, V>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl FnOnce(&T) -> String,
    view: impl FnMut(T) -> V,
) -> (Vec<V>, Option<String>) {
    let next_cursor = super::cut_page(&mut rows, limit, cursor_of);
    (rows.into_iter().map(view).collect(), next_cursor)
}

/// One tenant
#[utoipa::path(
    operation_id = "getTenant",
    params(TenantPath),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
    )
)]
#[get("/tenants/{slug}")]
async fn get_tenant(on: OnTenant<AdminCtx>, state: web::Data<AppState>) -> Reply {
    let tenant = admin::tenant(&state.db, on.slug).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

/// A change to a tenant's settings: any subset of them
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TenantPatch {
    #[schema(max_length = 200)]
    name: Option<String>,
    /// The tenant's identity source; `manual` when its people are managed by hand
    #[schema(value_type = Option<Source>)]
    source: Option<String>,
    #[schema(value_type = Option<DeletePolicy>)]
    on_source_delete: Option<String>,
    rate_limit: Option<RateLimitPatch>,
    /// How often the tenant syncs while it has a connection: a duration from `15m` to
    /// `30d`. A run already scheduled later than the new interval from now is brought
    /// forward
    #[schema(example = "6h")]
    sync_interval: Option<String>,
    deprovision_brake: Option<BrakePatch>,
    /// Erase deprovisioned people this long after they were deprovisioned: a duration
    /// from `1d` to `100y`, checked by every node's housekeeping; `null` keeps them
    #[serde(default, deserialize_with = "tenants::present")]
    #[schema(value_type = Option<String>, nullable, example = "90d")]
    erase_deprovisioned_after: Option<Option<String>>,
}

/// Either or both of the deprovision brake's settings
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BrakePatch {
    #[schema(minimum = 0, maximum = 100, example = 20)]
    max_percent: Option<i64>,
    #[schema(minimum = 0, maximum = 1_000_000, example = 10)]
    min_count: Option<i64>,
}

/// Either or both of the bucket's settings
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RateLimitPatch {
    #[schema(minimum = 1, maximum = 100_000, example = 100)]
    per_second: Option<i64>,
    #[schema(minimum = 1, maximum = 1_000_000, example = 200)]
    burst: Option<i64>,
}

impl From<TenantPatch> for tenants::SettingsPatch {
    fn from(p: TenantPatch) -> Self {
        Self {
            name: p.name,
            source: p.source,
            on_source_delete: p.on_source_delete,
            rate_limit: p.rate_limit.map(|r| tenants::RatePatch {
                per_second: r.per_second,
                burst: r.burst,
            }),
            sync_interval: p.sync_interval,
            deprovision_brake: p.deprovision_brake.map(|b| tenants::BrakePatch {
                max_percent: b.max_percent,
                min_count: b.min_count,
            }),
            erase_deprovisioned_after: p.erase_deprovisioned_after,
        }
    }
}

/// Change a tenant's settings
///
/// Send any subset of the settings; those left out keep their values. An unknown key
/// answers 400.
#[utoipa::path(
    operation_id = "updateTenant",
    params(TenantPath),
    request_body(
        content = TenantPatch,
        example = json!({"on_source_delete": "remove", "rate_limit": {"per_second": 50}})
    ),
    responses(
        (status = 200, description = "The updated tenant", body = TenantView),
    )
)]
#[patch("/tenants/{slug}")]
async fn update_tenant(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    let patch: tenants::SettingsPatch = parse_json::<TenantPatch>(&body)?.into();
    let now = state.clock.now();
    let tenant = admin::update_tenant(&state.db, on.slug, patch, now).await?;
    state.rate_limits.forget(tenant.id);
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Disconnect {
    /// `true`: the people and groups become `manual`; `false`: the people are deprovisioned
    /// by `on_source_delete`
    keep_people: bool,
}

/// What a disconnect did
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DisconnectResult {
    /// The tenant, now `manual`
    tenant: TenantView,
    people_kept: usize,
    people_deprovisioned: usize,
    people_removed: usize,
}

/// Detach the tenant from its identity source and manage its people by hand
///
/// Sets the tenant's source to `manual` and removes its connection, if it has one. With
/// `keep_people: true` every live person and group of another source becomes `manual`.
/// With `keep_people: false` every live person of another source is deprovisioned by the
/// tenant's `on_source_delete` policy: `retain` deprovisions them (they can be restored),
/// `remove` erases them.
#[utoipa::path(
    operation_id = "disconnectTenant",
    params(TenantPath),
    request_body(content = Disconnect, example = json!({"keep_people": true})),
    responses(
        (status = 200, description = "Disconnected", body = DisconnectResult),
    )
)]
#[post("/tenants/{slug}/disconnect")]
async fn disconnect_tenant(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    let req: Disconnect = parse_json(&body)?;
    let act = act(on.slug, &on.who, &state);
    let done = admin::disconnect(&state.db, act, req.keep_people).await?;
    let people_writes::Disconnected {
        tenant,
        people_kept,
        people_deprovisioned,
        people_removed,
    } = done;
    // A disconnect that succeeds always gives the tenant it changed.
    let tenant = tenant.ok_or_else(|| Error::internal("disconnect gave no tenant"))?;
    state.rate_limits.forget(tenant.id);
    Ok(HttpResponse::Ok().json(DisconnectResult {
        tenant: TenantView::from(tenant),
        people_kept,
        people_deprovisioned,
        people_removed,
    }))
}

/// An admin's act on tenant `slug`, now: their writes are attributed to their key
/// (DESIGN.md, Events).
pub(super) fn act(slug: String, admin: &AdminCtx, state: &AppState) -> Act {
    Act {
        slug,
        by: By {
            actor: admin.actor(),
            request_id: Some(admin.request_id.clone()).filter(|r| !r.is_empty()),
        },
        at: state.clock.now(),
    }
}

/// Delete a tenant and everything it owns
#[utoipa::path(
    operation_id = "deleteTenant",
    params(TenantPath),
    responses(
        (status = 204, description = "Deleted"),
    )
)]
#[delete("/tenants/{slug}")]
async fn delete_tenant(on: OnTenant<AdminCtx>, state: web::Data<AppState>) -> Reply {
    let tenant = admin::delete_tenant(&state.db, on.slug).await?;
    state.scim_tokens.forget_tenant(tenant.id);
    state.rate_limits.forget(tenant.id);
    Ok(HttpResponse::NoContent().finish())
}

/// What to issue; an empty body (or `null`) issues an unlabelled token that does not expire
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct IssueToken {
    #[schema(max_length = 200)]
    label: Option<String>,
    /// A duration such as `90d` or `12h`.
    #[schema(example = "90d")]
    expires_in: Option<String>,
    /// An RFC 3339 instant; an alternative to `expires_in`.
    expires_at: Option<DateTime<Utc>>,
}

/// A freshly issued SCIM token: the only time its plaintext is shown
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IssuedToken {
    key_id: String,
    /// The bearer token, `scimd_<key id>_<secret>`
    token: String,
    #[schema(required = true)]
    label: Option<String>,
    created_at: DateTime<Utc>,
    #[schema(required = true)]
    expires_at: Option<DateTime<Utc>>,
}

impl From<creds::Issued> for IssuedToken {
    fn from(i: creds::Issued) -> Self {
        let creds::Issued {
            key_id,
            token,
            label,
            created_at,
            expires_at,
        } = i;
        Self {
            key_id,
            token,
            label,
            created_at,
            expires_at,
        }
    }
}

/// Issue a SCIM token; the only time its plaintext is shown
#[utoipa::path(
    operation_id = "issueToken",
    params(TenantPath),
    request_body(content = Option<IssueToken>),
    responses(
        (
            status = 201,
            description = "Issued",
            body = IssuedToken,
            headers(("Cache-Control" = String, description = "`no-store`"))
        ),
    )
)]
#[post("/tenants/{slug}/tokens")]
async fn issue_token(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    let req: IssueToken = if body.iter().all(u8::is_ascii_whitespace) {
        IssueToken::default()
    } else {
        parse_json::<Option<IssueToken>>(&body)?.unwrap_or_default()
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
    let issued = admin::issue_token(&state.db, on.slug, req.label, expires_at, now).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(IssuedToken::from(issued)))
}

/// A SCIM token, never its secret
#[derive(Serialize, ToSchema)]
#[schema(as = Token)]
#[serde(deny_unknown_fields)]
struct TokenView {
    key_id: String,
    #[schema(required = true)]
    label: Option<String>,
    created_at: DateTime<Utc>,
    #[schema(required = true)]
    expires_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    revoked_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    last_used_at: Option<DateTime<Utc>>,
}

list_page!(TokenPage of TokenView);

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

/// List the tenant's SCIM tokens (never their secrets)
#[utoipa::path(
    operation_id = "listTokens",
    params(TenantPath, PageQuery),
    responses(
        (status = 200, description = "A page of tokens", body = TokenPage),
    )
)]
#[get("/tenants/{slug}/tokens")]
async fn list_tokens(list: TenantList, state: web::Data<AppState>) -> Reply {
    let after = list.page.time_key_cursor()?;
    let rows = admin::tokens(&state.db, list.slug, after, list.limit + 1).await?;
    let page = TokenPage::of(
        rows,
        list.limit,
        |t| time_cursor(t.created_at, &t.key_id),
        TokenView::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// A cursor of a list ordered by creation: the last item's creation time and key.
pub(super) fn time_cursor(at: DateTime<Utc>, key: &str) -> String {
    encode_cursor(&format!("{}|{key}", at.timestamp_micros()))
}

/// A cursor of a list ordered by a number: the last item's.
pub(super) fn number_cursor(n: i64) -> String {
    encode_cursor(&n.to_string())
}

/// The time and key of a [`time_cursor`].
pub(super) fn parse_time_cursor(c: &str) -> Result<(DateTime<Utc>, String), Error> {
    c.split_once('|')
        .and_then(|(micros, key)| {
            let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            Some((at, key.to_owned()))
        })
        .ok_or_else(|| Error::InvalidValue("cursor is not one this API gave".into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct TokenPath {
    /// The tenant's slug
    #[param(pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
    slug: String,
    /// The token's key id
    key_id: String,
}

/// Revoke a token; it is refused at once on this node
#[utoipa::path(
    operation_id = "revokeToken",
    params(TokenPath),
    responses(
        (status = 204, description = "Revoked"),
    )
)]
#[delete("/tenants/{slug}/tokens/{key_id}")]
async fn revoke_token(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<TokenPath>,
) -> Reply {
    let TokenPath { slug, key_id } = path.into_inner();
    let now = state.clock.now();
    let revoked = admin::revoke_token(&state.db, slug, key_id, now).await?;
    state.scim_tokens.forget_key(&revoked.key_id);
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_id_cursors_round_trip_and_refuse_garbage() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default();
        let id = uuid::Uuid::now_v7();
        let page = |cursor: &str| PageQuery {
            cursor: Some(cursor.to_owned()),
            limit: None,
        };
        let c = time_cursor(at, &id.to_string());
        assert_eq!(page(&c).time_id_cursor().ok(), Some(Some((at, id))));
        for bad in ["", "x|y", "1|not-a-uuid", "nopipe"] {
            assert!(page(&encode_cursor(bad)).time_id_cursor().is_err(), "{bad}");
        }
    }
}
