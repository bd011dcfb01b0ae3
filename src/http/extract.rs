//! Authenticated request contexts.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
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

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
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

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
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
