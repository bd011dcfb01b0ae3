//! Authenticated request contexts.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::try_join;
use futures_util::TryFutureExt;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::middleware::RequestId;
use super::ratelimit::{too_many, Decision, Limit};
use super::{parse_id, AppState};
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
        let both = who_and_path::<T, SlugSegment>(req, payload);
        Box::pin(both.map_ok(|(who, path)| OnTenant {
            who,
            slug: path.slug,
        }))
    }
}

/// `T` and the path as `P`, joined as actix joins a handler's arguments (polled in this
/// order, the first failure answers), so a request is refused for the same reason as when
/// `T` and the path were arguments of their own.
fn who_and_path<T, P>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<(T, P), actix_web::Error>> + 'static
where
    T: FromRequest + 'static,
    T::Future: 'static,
    T::Error: Into<actix_web::Error>,
    P: DeserializeOwned + 'static,
{
    try_join(
        T::from_request(req, payload).err_into(),
        web::Path::<P>::from_request(req, payload).map_ok(web::Path::into_inner),
    )
}

/// The `{slug}` and `{id}` of a path to one of a tenant's items.
pub trait ItemPath: DeserializeOwned + 'static {
    /// What the item is called in the 404 that an id which is not a UUID answers, as an
    /// unknown id does: "person", "sync run".
    const KIND: &'static str;

    fn into_parts(self) -> (String, String);
}

/// A request about one of a tenant's items, which path `P` names, by `who`: the tenant's
/// slug, as [`OnTenant`] has it, and the item's id, parsed. An id that is not a UUID is
/// refused in `T`'s words: a problem document for an admin, a page in the console.
pub struct OnItem<T, P> {
    pub who: T,
    pub slug: String,
    pub id: Uuid,
    path: PhantomData<P>,
}

impl<T, P> OnItem<T, P> {
    /// Who, the tenant's slug and the item's id.
    pub fn split(self) -> (T, String, Uuid) {
        (self.who, self.slug, self.id)
    }
}

impl<T, P> FromRequest for OnItem<T, P>
where
    T: FromRequest + 'static,
    T::Future: 'static,
    T::Error: From<Error> + Into<actix_web::Error>,
    P: ItemPath,
{
    type Error = actix_web::Error;
    type Future = Pinned<Self, actix_web::Error>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let both = who_and_path::<T, P>(req, payload);
        Box::pin(async move {
            let (who, path) = both.await?;
            let (slug, id) = path.into_parts();
            let id = parse_id(&id, P::KIND).map_err(|e| T::Error::from(e).into())?;
            Ok(OnItem {
                who,
                slug,
                id,
                path: PhantomData,
            })
        })
    }
}
