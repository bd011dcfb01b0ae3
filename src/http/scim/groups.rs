//! `/Groups` (RFC 7644 §3.3–§3.6, RFC 7643 §4.2). Members are loaded only when the
//! response shows them: `excludedAttributes=members` never reads the membership table.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use uuid::Uuid;

use super::common::{
    actor, base_url, created, group_json, group_location, json_body, not_modified, resource, scim,
    updated, ProjectionQuery, LIST_RESPONSE,
};
use super::params::{
    encode_cursor, if_match, if_none_match, resource_id, ListParams, Projection, RawList,
};
use crate::error::Error;
use crate::http::body::ScimBody;
use crate::http::extract::TenantCtx;
use crate::http::AppState;
use crate::provisioning::groups::{self as prov, not_found};
use crate::provisioning::tenants;
use crate::provisioning::users::{check_push_allowed, SCIM};
use crate::scim::patch::parse_patch;
use crate::scim::resource::{normalize_group, project, wants};
use crate::scim::schema::GROUP_RESOURCE;
use crate::store::groups::{self, members_of, GroupRow};
use crate::store::search::{self, Kind, ListQuery, Start};

type Reply = Result<HttpResponse, Error>;

fn render(
    conn: &mut diesel::PgConnection,
    row: &GroupRow,
    base: &str,
    projection: &Projection,
) -> Result<Value, Error> {
    let members = if wants(
        &GROUP_RESOURCE,
        &projection.attributes,
        &projection.excluded,
        "members",
    ) {
        Some(members_of(conn, row.id)?)
    } else {
        None
    };
    Ok(project(
        group_json(row, base, members.as_deref()),
        &GROUP_RESOURCE,
        &projection.attributes,
        &projection.excluded,
    ))
}

pub async fn list_page(
    ctx: &TenantCtx,
    state: &AppState,
    base: String,
    params: ListParams,
) -> Result<Value, Error> {
    let tenant_id = ctx.tenant_id;
    state
        .db
        .run(move |conn| {
            let fetch = if params.cursor {
                params.count + 1
            } else {
                params.count
            };
            let q = ListQuery {
                filter: params.filter.as_ref(),
                sort_by: params.sort_by.as_ref(),
                descending: params.descending,
                start: params.start,
                count: fetch,
                total: false,
            };
            let (mut rows, _) = search::list_groups(conn, tenant_id, &q, &base)?;
            let more = usize::try_from(params.count).is_ok_and(|c| rows.len() > c);
            if more {
                rows.truncate(usize::try_from(params.count).unwrap_or(0));
            }
            let total = match params.start {
                Start::Offset(0)
                    if !more && i64::try_from(rows.len()).is_ok_and(|n| n < params.count) =>
                {
                    i64::try_from(rows.len()).unwrap_or(i64::MAX)
                }
                _ => search::count(conn, Kind::Groups, tenant_id, params.filter.as_ref(), &base)?,
            };
            let resources = rows
                .iter()
                .map(|r| render(conn, r, &base, &params.projection))
                .collect::<Result<Vec<_>, _>>()?;
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
                obj.insert(
                    "nextCursor".into(),
                    encode_cursor(last.created_at, last.id).into(),
                );
            }
            Ok(body)
        })
        .await
}

pub async fn list(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<RawList>,
) -> Reply {
    let params = ListParams::parse(&query, state.settings.max_results)?;
    let body = list_page(&ctx, &state, base_url(&req, &state), params).await?;
    Ok(scim(StatusCode::OK, &body))
}

pub async fn search(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ScimBody,
) -> Reply {
    let raw: RawList = serde_json::from_value(json_body(&body.0)?)
        .map_err(|e| Error::InvalidSyntax(format!("invalid SearchRequest: {e}")))?;
    let params = ListParams::parse(&raw, state.settings.max_results)?;
    let body = list_page(&ctx, &state, base_url(&req, &state), params).await?;
    Ok(scim(StatusCode::OK, &body))
}

fn load(
    conn: &mut diesel::PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    base: &str,
    projection: &Projection,
) -> Result<(GroupRow, Value), Error> {
    let row = groups::find(conn, tenant_id, id)?.ok_or_else(|| not_found(&id.to_string()))?;
    let body = render(conn, &row, base, projection)?;
    Ok((row, body))
}

pub async fn get(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
) -> Reply {
    let id = resource_id(&path, not_found)?;
    let projection = query.parse()?;
    let base = base_url(&req, &state);
    let tenant_id = ctx.tenant_id;
    let (row, body) = state
        .db
        .run(move |conn| load(conn, tenant_id, id, &base, &projection))
        .await?;
    if if_none_match(&req, row.version) {
        return Ok(not_modified(row.version));
    }
    Ok(resource(StatusCode::OK, &body, row.version))
}

pub async fn create(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ScimBody,
) -> Reply {
    let input = normalize_group(&json_body(&body.0)?)?;
    let base = base_url(&req, &state);
    let actor = actor(&ctx);
    let (row, body) = state
        .db
        .run(move |conn| {
            let tenant = tenants::by_id(conn, actor.tenant_id)?;
            check_push_allowed(&tenant)?;
            let row = prov::create(conn, &actor, SCIM, input)?;
            load(conn, actor.tenant_id, row.id, &base, &Projection::default())
        })
        .await?;
    Ok(created(
        &body,
        row.version,
        &group_location(&base_url(&req, &state), row.id),
    ))
}

pub async fn replace(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
    body: ScimBody,
) -> Reply {
    let id = resource_id(&path, not_found)?;
    let input = normalize_group(&json_body(&body.0)?)?;
    let projection = query.parse()?;
    let base = base_url(&req, &state);
    let actor = actor(&ctx);
    let expected = if_match(&req);
    let now = state.clock.now();
    let (row, body) = state
        .db
        .run(move |conn| {
            let tenant = tenants::by_id(conn, actor.tenant_id)?;
            check_push_allowed(&tenant)?;
            prov::replace(conn, &actor, id, expected, input, now)?;
            load(conn, actor.tenant_id, id, &base, &projection)
        })
        .await?;
    Ok(updated(&req, row.version, &body))
}

pub async fn patch(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectionQuery>,
    body: ScimBody,
) -> Reply {
    let id = resource_id(&path, not_found)?;
    let request = parse_patch(&json_body(&body.0)?)?;
    let projection = query.parse()?;
    let base = base_url(&req, &state);
    let actor = actor(&ctx);
    let expected = if_match(&req);
    let now = state.clock.now();
    let minimal = super::common::wants_minimal(&req);
    let (version, body) = state
        .db
        .run(move |conn| {
            let tenant = tenants::by_id(conn, actor.tenant_id)?;
            check_push_allowed(&tenant)?;
            let row = prov::patch(conn, &actor, id, expected, &request, now)?;
            // A minimal reply never reads the (possibly huge) membership back.
            if minimal {
                return Ok((row.version, Value::Null));
            }
            let (row, body) = load(conn, actor.tenant_id, id, &base, &projection)?;
            Ok((row.version, body))
        })
        .await?;
    Ok(updated(&req, version, &body))
}

pub async fn delete(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Reply {
    let id = resource_id(&path, not_found)?;
    let actor = actor(&ctx);
    let expected = if_match(&req);
    state
        .db
        .run(move |conn| {
            let tenant = tenants::by_id(conn, actor.tenant_id)?;
            check_push_allowed(&tenant)?;
            prov::delete(conn, &actor, id, expected)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
