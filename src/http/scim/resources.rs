//! The handlers `/Users` and `/Groups` share (RFC 7644 §3.3–§3.6). What differs between
//! the two resource types is the [`Resource`] trait, implemented in `users.rs` and
//! `groups.rs`; the request handling (parsing, preconditions, the push-mode check, the
//! response) is written once, here.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use super::common::{
    actor, base_url, created, fast_path, json_body, not_modified, resource, scim, updated,
    wants_minimal, ProjectionQuery, LIST_RESPONSE,
};
use super::params::{
    encode_cursor, if_match, if_none_match, resource_id, ListParams, Projection, RawList,
};
use crate::error::Error;
use crate::http::body::ScimBody;
use crate::http::extract::TenantCtx;
use crate::http::AppState;
use crate::provisioning::events::Actor;
use crate::provisioning::tenants;
use crate::provisioning::users::check_push_allowed;
use crate::scim::patch::{parse_patch, PatchRequest};
use crate::store::fast::{AsyncConn, FastPath};
use crate::store::search::{self, Kind, ListQuery, Start};
use crate::store::tenants::Tenant;

type Reply = Result<HttpResponse, Error>;

/// A create done in one statement (the row and its rendering), or the input handed back.
pub type CreatedOr<R> = Result<(<R as Resource>::Row, Value), <R as Resource>::Input>;

/// One SCIM resource type as the handlers see it.
pub trait Resource: 'static {
    type Row: Send + 'static;
    type Input: Send + 'static;
    const KIND: Kind;

    fn not_found(id: &str) -> Error;
    fn normalize(body: &Value) -> Result<Self::Input, Error>;
    fn version(row: &Self::Row) -> i64;
    /// The row's place in the default order, for `nextCursor`.
    fn position(row: &Self::Row) -> (DateTime<Utc>, Uuid);
    fn location(base: &str, row: &Self::Row) -> String;

    /// One resource, rendered with `projection`.
    fn load(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        id: Uuid,
        base: &str,
        projection: &Projection,
    ) -> Result<(Self::Row, Value), Error>;
    /// Whether the type has a fast path ([`crate::store::fast`]): reads by id, lookups
    /// and creates on async connections ([`Resource::load_async`],
    /// [`Resource::lookup_async`], [`Resource::create_new_fast`]).
    const FAST_PATH: bool = false;
    /// [`Resource::load`] on an async connection, for the types that have it (`None`:
    /// the caller loads through the blocking pool).
    async fn load_async(
        _conn: &mut AsyncConn,
        _tenant_id: Uuid,
        _id: Uuid,
        _base: &str,
        _projection: &Projection,
    ) -> Option<Result<(Self::Row, Value), Error>> {
        None
    }
    /// A lookup's page ([`search::is_lookup`]) on an async connection, rendered, for the
    /// types that have it (`None`: the caller reads through the blocking pool).
    async fn lookup_async(
        _conn: &mut AsyncConn,
        _tenant_id: Uuid,
        _q: &ListQuery<'_>,
        _base: &str,
        _projection: &Projection,
    ) -> Option<Result<(Vec<Self::Row>, Vec<Value>), Error>> {
        None
    }
    /// [`Resource::create_new`] on the fast path, for the types that have it; beside
    /// the input handed back, whether it was tried (`false`: nothing was, and the caller
    /// tries it through the blocking pool).
    async fn create_new_fast(
        _fast: &FastPath,
        _actor: &Actor,
        input: Self::Input,
        _base: &str,
    ) -> Result<(CreatedOr<Self>, bool), Error> {
        Ok((Err(input), false))
    }
    /// A page of rows, before rendering (with what `projection` will show of them that
    /// can be read in the same statement).
    fn fetch(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        q: &ListQuery<'_>,
        base: &str,
        projection: &Projection,
    ) -> Result<Vec<Self::Row>, Error>;
    /// A page's rows, rendered with `projection`.
    fn render_page(
        conn: &mut PgConnection,
        rows: &[Self::Row],
        base: &str,
        projection: &Projection,
    ) -> Result<Vec<Value>, Error>;

    /// POST in one statement, when the resource type has such a path and the write needs
    /// no decision (see `provisioning::users::create_new`); it also checks that the
    /// tenant takes SCIM writes. `Ok(Err(input))` hands the input back, with nothing
    /// written, for [`Resource::create`].
    fn create_new(
        _conn: &mut PgConnection,
        _actor: &Actor,
        input: Self::Input,
        _base: &str,
    ) -> Result<CreatedOr<Self>, Error> {
        Ok(Err(input))
    }

    /// POST; returns the row and its full rendering.
    fn create(
        conn: &mut PgConnection,
        actor: &Actor,
        input: Self::Input,
        now: DateTime<Utc>,
        base: &str,
    ) -> Result<(Self::Row, Value), Error>;
    fn replace(
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        if_match: Option<i64>,
        input: Self::Input,
        now: DateTime<Utc>,
    ) -> Result<(), Error>;
    /// PATCH; returns the new version.
    fn patch(
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        if_match: Option<i64>,
        request: &PatchRequest,
        now: DateTime<Utc>,
    ) -> Result<i64, Error>;
    fn delete(
        conn: &mut PgConnection,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        if_match: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), Error>;
}

/// A page as a ListResponse (RFC 7644 §3.4.2), shared by GET, POST /.search and the root
/// search.
pub async fn list_page<R: Resource>(
    ctx: &TenantCtx,
    state: &AppState,
    fast: &FastPath,
    base: String,
    params: ListParams,
) -> Result<Value, Error> {
    let tenant_id = ctx.tenant_id;
    if R::FAST_PATH && search::is_lookup(&page_query(&params)) {
        if let Some(mut conn) = fast.conn().await {
            let q = page_query(&params);
            if let Some(page) =
                R::lookup_async(&mut conn, tenant_id, &q, &base, &params.projection).await
            {
                let (mut rows, mut resources) = page?;
                let more = trim_page(&params, &mut rows);
                resources.truncate(rows.len());
                let total = match page_total(&params, rows.len(), more) {
                    Some(total) => total,
                    None => {
                        let filter = params.filter.as_ref();
                        search::count_async(&mut conn, R::KIND, tenant_id, filter, &base).await?
                    }
                };
                return Ok(page_body::<R>(&params, &rows, resources, total, more));
            }
        }
    }
    state
        .db
        .run(move |conn| {
            let q = page_query(&params);
            let mut rows = R::fetch(conn, tenant_id, &q, &base, &params.projection)?;
            let more = trim_page(&params, &mut rows);
            let total = match page_total(&params, rows.len(), more) {
                Some(total) => total,
                None => search::count(conn, R::KIND, tenant_id, params.filter.as_ref(), &base)?,
            };
            let resources = R::render_page(conn, &rows, &base, &params.projection)?;
            Ok(page_body::<R>(&params, &rows, resources, total, more))
        })
        .await
}

/// The query for a page of `params`: one more row than asked for a cursor page, which
/// tells whether a next page exists.
fn page_query(params: &ListParams) -> ListQuery<'_> {
    ListQuery {
        filter: params.filter.as_ref(),
        sort_by: params.sort_by.as_ref(),
        descending: params.descending,
        start: params.start,
        count: if params.cursor {
            params.count + 1
        } else {
            params.count
        },
        total: false,
    }
}

/// Cuts the extra row [`page_query`] asked for; whether there was one.
fn trim_page<T>(params: &ListParams, rows: &mut Vec<T>) -> bool {
    let more = usize::try_from(params.count).is_ok_and(|c| rows.len() > c);
    if more {
        rows.truncate(usize::try_from(params.count).unwrap_or(0));
    }
    more
}

/// `totalResults` when the page itself tells it: a first page that is not full holds
/// every match. `None`: it takes a count query.
fn page_total(params: &ListParams, rows: usize, more: bool) -> Option<i64> {
    let n = i64::try_from(rows).ok()?;
    matches!(params.start, Start::Offset(0) if !more && n < params.count).then_some(n)
}

fn page_body<R: Resource>(
    params: &ListParams,
    rows: &[R::Row],
    resources: Vec<Value>,
    total: i64,
    more: bool,
) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": params.start_index,
        "Resources": resources,
    });
    if let (true, true, Some(last), Some(obj)) =
        (params.cursor, more, rows.last(), body.as_object_mut())
    {
        let (at, id) = R::position(last);
        obj.insert("nextCursor".into(), encode_cursor(at, id).into());
    }
    body
}

pub async fn list<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<RawList>,
) -> Reply {
    let params = ListParams::parse(&query, state.settings.max_results)?;
    let body = list_page::<R>(
        &ctx,
        &state,
        &fast_path(&req),
        base_url(&req, &state),
        params,
    )
    .await?;
    Ok(scim(StatusCode::OK, &body))
}

pub async fn search<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ScimBody,
) -> Reply {
    let raw: RawList = serde_json::from_value(json_body(&body.0)?)
        .map_err(|e| Error::InvalidSyntax(format!("invalid SearchRequest: {e}")))?;
    let params = ListParams::parse(&raw, state.settings.max_results)?;
    let body = list_page::<R>(
        &ctx,
        &state,
        &fast_path(&req),
        base_url(&req, &state),
        params,
    )
    .await?;
    Ok(scim(StatusCode::OK, &body))
}

pub async fn get<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
) -> Reply {
    let id = resource_id(&path, R::not_found)?;
    let projection = query.parse()?;
    let base = base_url(&req, &state);
    let tenant_id = ctx.tenant_id;
    let conn = if R::FAST_PATH {
        fast_path(&req).conn().await
    } else {
        None
    };
    let fast = match conn {
        Some(mut conn) => R::load_async(&mut conn, tenant_id, id, &base, &projection).await,
        None => None,
    };
    let (row, body) = match fast {
        Some(loaded) => loaded?,
        None => {
            state
                .db
                .run(move |conn| R::load(conn, tenant_id, id, &base, &projection))
                .await?
        }
    };
    let version = R::version(&row);
    if if_none_match(&req, version) {
        return Ok(not_modified(version));
    }
    Ok(resource(StatusCode::OK, &body, version))
}

/// Runs a write for the tenant, refused while the tenant pulls its people (409).
async fn write<T: Send + 'static>(
    state: &AppState,
    actor: Actor,
    f: impl FnOnce(&mut PgConnection, &Actor, &Tenant) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    state
        .db
        .run(move |conn| {
            let tenant = pushing_tenant(conn, actor.tenant_id)?;
            f(conn, &actor, &tenant)
        })
        .await
}

/// The tenant, when it takes SCIM writes (409 while it pulls its people).
fn pushing_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Tenant, Error> {
    let tenant = tenants::by_id(conn, tenant_id)?;
    check_push_allowed(&tenant)?;
    Ok(tenant)
}

pub async fn create<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ScimBody,
) -> Reply {
    let input = R::normalize(&json_body(&body.0)?)?;
    let base = base_url(&req, &state);
    let now = state.clock.now();
    let actor = actor(&ctx);
    // The one-statement create first, on the fast path when there is one; what it hands
    // back (a possible returning person, a pulling tenant) takes the full path.
    let (input, tried) = if R::FAST_PATH {
        match R::create_new_fast(&fast_path(&req), &actor, input, &base).await? {
            (Ok((row, body)), _) => {
                let location = R::location(&base_url(&req, &state), &row);
                return Ok(created(&body, R::version(&row), &location));
            }
            (Err(input), tried) => (input, tried),
        }
    } else {
        (input, false)
    };
    let (row, body) = state
        .db
        .run(move |conn| {
            let input = if tried {
                input
            } else {
                match R::create_new(conn, &actor, input, &base)? {
                    Ok(done) => return Ok(done),
                    Err(input) => input,
                }
            };
            pushing_tenant(conn, actor.tenant_id)?;
            R::create(conn, &actor, input, now, &base)
        })
        .await?;
    let location = R::location(&base_url(&req, &state), &row);
    Ok(created(&body, R::version(&row), &location))
}

pub async fn replace<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
    body: ScimBody,
) -> Reply {
    let id = resource_id(&path, R::not_found)?;
    let input = R::normalize(&json_body(&body.0)?)?;
    let projection = query.parse()?;
    let base = base_url(&req, &state);
    let expected = if_match(&req);
    let now = state.clock.now();
    let (row, body) = write(&state, actor(&ctx), move |conn, actor, _| {
        R::replace(conn, actor, id, expected, input, now)?;
        R::load(conn, actor.tenant_id, id, &base, &projection)
    })
    .await?;
    Ok(updated(&req, R::version(&row), &body))
}

pub async fn patch<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
    body: ScimBody,
) -> Reply {
    let id = resource_id(&path, R::not_found)?;
    let request = parse_patch(&json_body(&body.0)?)?;
    let projection = query.parse()?;
    let base = base_url(&req, &state);
    let expected = if_match(&req);
    let now = state.clock.now();
    let minimal = wants_minimal(&req);
    let (version, body) = write(&state, actor(&ctx), move |conn, actor, _| {
        let version = R::patch(conn, actor, id, expected, &request, now)?;
        // A minimal reply never reads the resource (or a huge membership) back.
        if minimal {
            return Ok((version, Value::Null));
        }
        let (row, body) = R::load(conn, actor.tenant_id, id, &base, &projection)?;
        Ok((R::version(&row), body))
    })
    .await?;
    Ok(updated(&req, version, &body))
}

pub async fn delete<R: Resource>(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Reply {
    let id = resource_id(&path, R::not_found)?;
    let expected = if_match(&req);
    let now = state.clock.now();
    write(&state, actor(&ctx), move |conn, actor, tenant| {
        R::delete(conn, actor, tenant, id, expected, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
