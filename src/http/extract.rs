//! Authenticated request contexts.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::try_join;
use futures_util::TryFutureExt;
use uuid::Uuid;

use super::middleware::RequestId;
use super::ratelimit::{too_many, Decision, Limit};
use super::AppState;
use crate::auth::{ClientKey, Principal, Verifier};
use crate::error::{AdminError, Error};

/// A SCIM request, authenticated by a tenant's bearer token. Every query the handler makes
/// is scoped by `tenant_id`.
#[derive(Clone, Debug)]
pub struct TenantCtx {
    pub tenant_id: Uuid,
    pub slug: String,
    pub key_id: String,
    pub request_id: String,
}

impl TenantCtx {
    /// The event actor (DESIGN.md, Events).
    pub fn actor(&self) -> String {
        format!("token:{}", self.key_id)
    }
}

/// An admin API request, authenticated by an admin key.
#[derive(Clone, Debug)]
pub struct AdminCtx {
    pub key_id: String,
    pub request_id: String,
}

impl AdminCtx {
    pub fn actor(&self) -> String {
        format!("admin:{}", self.key_id)
    }
}

fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

type Pinned<T, E> = Pin<Box<dyn Future<Output = Result<T, E>>>>;

fn authenticate(
    req: &HttpRequest,
    pick: fn(&AppState) -> &Verifier,
) -> Pinned<(Principal, String), Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map(str::to_owned));
    let request_id = request_id(req);
    let from = state
        .as_ref()
        .map(|s| super::client::client_key(req, &s.settings.trusted_proxies));
    Box::pin(async move {
        let state = state.ok_or_else(|| Error::internal("application state missing"))?;
        let header = match authorization {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => return Err(Error::Unauthorized("invalid token".into())),
        };
        let from = from.unwrap_or(ClientKey::new(None));
        let principal = pick(&state)
            .verify_header(&state.db, header.as_deref(), from)
            .await?;
        Ok((principal, request_id))
    })
}

impl FromRequest for TenantCtx {
    type Error = Error;
    type Future = Pinned<Self, Error>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = authenticate(req, |s| &s.scim_tokens);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (principal, request_id) = auth.await?;
            let tenant = principal
                .tenant
                .ok_or_else(|| Error::Unauthorized("invalid token".into()))?;
            if let Some(state) = state {
                rate_limit(&state, tenant.id).await?;
            }
            Ok(TenantCtx {
                tenant_id: tenant.id,
                slug: tenant.slug,
                key_id: principal.key_id,
                request_id,
            })
        })
    }
}

/// Takes one request from the tenant's bucket: 429 when it is empty. The tenant's limit is
/// read from its row only when this node has no fresh copy of it.
async fn rate_limit(state: &web::Data<AppState>, tenant_id: Uuid) -> Result<(), Error> {
    let decision = match state.rate_limits.check(tenant_id) {
        Decision::Unknown => {
            let tenant = crate::provisioning::tenants::load(&state.db, tenant_id).await?;
            state.rate_limits.load(
                tenant_id,
                Limit {
                    per_second: u32::try_from(tenant.rate_per_second).unwrap_or(1),
                    burst: u32::try_from(tenant.rate_burst).unwrap_or(1),
                },
            )
        }
        known => known,
    };
    match decision {
        Decision::Limited(wait) => {
            state.metrics.rate_limited();
            Err(too_many(wait))
        }
        _ => Ok(()),
    }
}

impl FromRequest for AdminCtx {
    type Error = AdminError;
    type Future = Pinned<Self, AdminError>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The admin scope's guard checks the key before the handler's arguments are read
        // (`admin::doc`), and leaves the caller here.
        if let Some(admin) = req.extensions().get::<AdminCtx>().cloned() {
            return Box::pin(std::future::ready(Ok(admin)));
        }
        let auth = authenticate(req, |s| &s.admin_keys);
        Box::pin(async move {
            let (principal, request_id) = auth.await?;
            Ok(AdminCtx {
                key_id: principal.key_id,
                request_id,
            })
        })
    }
}

/// A request about tenant `{slug}` by `who`: an admin ([`AdminCtx`]), or in the console an
/// operator or the form they posted. The slug is as the path gave it: the provisioning
/// functions parse it, so a bad one answers as they say.
pub struct OnTenant<T> {
    pub who: T,
    pub slug: String,
}

/// The `{slug}` segment of a tenant's routes.
#[derive(serde::Deserialize)]
struct SlugSegment {
    slug: String,
}

impl<T> FromRequest for OnTenant<T>
where
    T: FromRequest + 'static,
    T::Future: 'static,
    T::Error: Into<actix_web::Error>,
{
    type Error = actix_web::Error;
    type Future = Pinned<Self, actix_web::Error>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Joined as actix joins a handler's arguments (polled in this order, the first
        // failure answers), so a request is refused for the same reason as when `T` and
        // the path were arguments of their own.
        let both = try_join(
            T::from_request(req, payload).err_into(),
            web::Path::<SlugSegment>::from_request(req, payload),
        );
        Box::pin(async move {
            let (who, path) = both.await?;
            Ok(OnTenant {
                who,
                slug: path.into_inner().slug,
            })
        })
    }
}
