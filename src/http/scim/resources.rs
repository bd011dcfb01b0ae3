//! The handlers `/Users` and `/Groups` share (RFC 7644 §3.3–§3.6). What differs between
//! the two resource types is the [`Resource`] trait, implemented in `users.rs` and
//! `groups.rs`; the request handling (parsing, preconditions, the response) is written
//! once, here. Each handler parses, calls one `provisioning` or [`Db`] function, and
//! renders.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::common::{
    actor, base_url, created, json_body, no_content, not_modified, prefer_return, resource, scim,
    updated, ProjectionQuery, Return, LIST_RESPONSE,
};
use super::params::{
    encode_cursor, if_match, if_none_match, resource_id, ListParams, Projection, RawList,
};
use crate::error::Error;
use crate::http::body::ScimBody;
use crate::http::extract::TenantCtx;
use crate::http::AppState;
use crate::provisioning::events::Actor;
use crate::provisioning::push::{self, At, Pushed};
use crate::scim::patch::parse_patch;
use crate::scim::resource::{project, wants};
use crate::scim::schema::ResourceTypeDef;
use crate::store::{Db, Page, PageSpec};

type Reply = Result<HttpResponse, Error>;

/// One SCIM resource type as the handlers see it: how it is parsed, read and rendered.
/// Its writes are [`Resource::Push`]'s, in `provisioning::push`.
pub trait Resource: 'static {
    type Push: Pushed;
    const DEF: &'static ResourceTypeDef;
    /// What is read besides the row when the response shows it: a user's `groups`, a
    /// group's `members`.
    const MORE: &'static str;
    /// Whether a PATCH answers 204 No Content unless the client asks for the resource.
    /// RFC 7644 §3.5.2 lets a successful PATCH answer either 200 with the resource or 204;
    /// [`Resource::patch_answers_resource`] applies the choice.
    const PATCH_ANSWERS_EMPTY: bool = false;

    fn not_found(id: &str) -> Error;
    fn normalize(body: &Value) -> Result<Input<Self>, Error>;
    /// The row's place in the default order, for `nextCursor`.
    fn position(row: &View<Self>) -> (DateTime<Utc>, Uuid);
    fn location(base: &str, row: &View<Self>) -> String;
    /// The whole resource, before projection.
    fn json(row: &View<Self>, base: &str) -> Value;

    /// One resource; `more`: with what [`Resource::MORE`] names.
    async fn load(db: &Db, tenant_id: Uuid, id: Uuid, more: bool) -> Result<View<Self>, Error>;
    async fn page(
        db: &Db,
        tenant_id: Uuid,
        spec: PageSpec,
        base: String,
        more: bool,
    ) -> Result<Page<View<Self>>, Error>;
    /// POST; the resource as created, with everything.
    async fn create(
        db: &Db,
        actor: &Actor,
        input: Input<Self>,
        now: DateTime<Utc>,
    ) -> Result<View<Self>, Error> {
        push::create::<Self::Push>(db, actor, input, now).await
    }

    /// Whether a PATCH answers 200 with the resource rather than 204 (RFC 7644 §3.5.2):
    /// as the client's `Prefer: return=` says (RFC 7240 §4.2) when it says; with the
    /// resource when the query names `attributes` or `excludedAttributes` (RFC 7644 §3.9
    /// asks for a projection of it); otherwise as [`Resource::PATCH_ANSWERS_EMPTY`] says.
    fn patch_answers_resource(req: &HttpRequest, query: &ProjectionQuery) -> bool {
        match prefer_return(req) {
            Some(Return::Minimal) => false,
            Some(Return::Representation) => true,
            None => query.asks_for_attributes() || !Self::PATCH_ANSWERS_EMPTY,
        }
    }

    /// Whether `projection` shows [`Resource::MORE`].
    fn reads_more(projection: &Projection) -> bool {
        wants(
            Self::DEF,
            &projection.attributes,
            &projection.excluded,
            Self::MORE,
        )
    }

    fn render(row: &View<Self>, base: &str, projection: &Projection) -> Value {
        let json = Self::json(row, base);
        project(
            json,
            Self::DEF,
            &projection.attributes,
            &projection.excluded,
        )
    }
}

pub type Input<R> = <<R as Resource>::Push as Pushed>::Input;
pub type View<R> = <<R as Resource>::Push as Pushed>::View;

/// The resource `id` as a write by this request aims at it.
fn at(ctx: &TenantCtx, state: &AppState, req: &HttpRequest, id: Uuid) -> At {
    At {
        actor: actor(ctx),
        id,
        if_match: if_match(req),
        now: state.clock.now(),
    }
}

/// A page as a ListResponse (RFC 7644 §3.4.2), shared by GET, POST /.search and the root
/// search.
pub async fn list_page<R: Resource>(
    ctx: &TenantCtx,
    db: &Db,
    base: String,
    params: ListParams,
) -> Result<Value, Error> {
    let spec = params.page_spec();
    let projection = &params.projection;
    let more = R::reads_more(projection);
    let page = R::page(db, ctx.tenant_id, spec, base.clone(), more).await?;
    let resources: Vec<Value> = page
        .rows
        .iter()
        .map(|r| R::render(r, &base, projection))
        .collect();
    let mut body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": page.total,
        "itemsPerPage": resources.len(),
        "startIndex": params.start_index,
        "Resources": resources,
    });
    if let (true, true, Some(last), Some(obj)) = (
        params.cursor,
        page.more,
        page.rows.last(),
        body.as_object_mut(),
    ) {
        let (at, id) = R::position(last);
        obj.insert("nextCursor".into(), encode_cursor(at, id).into());
    }
    Ok(body)
}

pub async fn list<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    query: web::Query<RawList>,
) -> Reply {
    let params = ListParams::parse(&query, state.settings.max_results)?;
    let body = list_page::<R>(&ctx, &db, base_url(&req, &state), params).await?;
    Ok(scim(StatusCode::OK, &body))
}

pub async fn search<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    body: ScimBody,
) -> Reply {
    let raw: RawList = serde_json::from_value(json_body(&body.0)?)
        .map_err(|e| Error::InvalidSyntax(format!("invalid SearchRequest: {e}")))?;
    let params = ListParams::parse(&raw, state.settings.max_results)?;
    let body = list_page::<R>(&ctx, &db, base_url(&req, &state), params).await?;
    Ok(scim(StatusCode::OK, &body))
}

pub async fn get<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
) -> Reply {
    let id = resource_id(&path, R::not_found)?;
    let projection = query.parse()?;
    let row = R::load(&db, ctx.tenant_id, id, R::reads_more(&projection)).await?;
    let version = R::Push::version(&row);
    if if_none_match(&req, version) {
        return Ok(not_modified(version));
    }
    let body = R::render(&row, &base_url(&req, &state), &projection);
    Ok(resource(StatusCode::OK, &body, version))
}

pub async fn create<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    body: ScimBody,
) -> Reply {
    let input = R::normalize(&json_body(&body.0)?)?;
    let row = R::create(&db, &actor(&ctx), input, state.clock.now()).await?;
    let base = base_url(&req, &state);
    let body = R::render(&row, &base, &Projection::default());
    Ok(created(
        &body,
        R::Push::version(&row),
        &R::location(&base, &row),
    ))
}

pub async fn replace<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
    body: ScimBody,
) -> Reply {
    let id = resource_id(&path, R::not_found)?;
    let input = R::normalize(&json_body(&body.0)?)?;
    let projection = query.parse()?;
    let more = R::reads_more(&projection);
    let at = at(&ctx, &state, &req, id);
    let row = push::replace::<R::Push>(&db, at, input, more).await?;
    let body = R::render(&row, &base_url(&req, &state), &projection);
    Ok(updated(&req, R::Push::version(&row), &body))
}

pub async fn patch<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
    body: ScimBody,
) -> Reply {
    let id = resource_id(&path, R::not_found)?;
    let request = parse_patch(&json_body(&body.0)?)?;
    let projection = query.parse()?;
    // A 204 never reads the resource (or a huge membership) back.
    let read_back = R::patch_answers_resource(&req, &query).then(|| R::reads_more(&projection));
    let at = at(&ctx, &state, &req, id);
    let (version, row) = push::patch::<R::Push>(&db, at, request, read_back).await?;
    Ok(match row {
        Some(row) => {
            let body = R::render(&row, &base_url(&req, &state), &projection);
            resource(StatusCode::OK, &body, version)
        }
        None => no_content(version),
    })
}

pub async fn delete<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Reply {
    let id = resource_id(&path, R::not_found)?;
    push::delete::<R::Push>(&db, at(&ctx, &state, &req, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
