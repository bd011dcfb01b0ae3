//! `/Users` (RFC 7644 §3.3–§3.6, RFC 7643 §4.1).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use uuid::Uuid;

use super::common::{
    actor, base_url, created, json_body, not_modified, resource, scim, updated, user_json,
    user_location, ProjectionQuery, LIST_RESPONSE,
};
use super::params::{
    encode_cursor, if_match, if_none_match, resource_id, ListParams, Projection, RawList,
};
use crate::error::Error;
use crate::http::body::ScimBody;
use crate::http::extract::TenantCtx;
use crate::http::AppState;
use crate::provisioning::tenants;
use crate::provisioning::users::{self as prov, check_push_allowed, not_found, Created, SCIM};
use crate::scim::patch::parse_patch;
use crate::scim::resource::{normalize_user, project, wants};
use crate::scim::schema::USER_RESOURCE;
use crate::store::groups::groups_of_many;
use crate::store::search::{self, Kind, ListQuery, Start};
use crate::store::users::{self, UserRow};

type Reply = Result<HttpResponse, Error>;

/// Each user's groups: (group id, displayName).
type GroupsByUser = HashMap<Uuid, Vec<(Uuid, String)>>;

/// The groups of each user, when the response will show them.
fn groups_for(
    conn: &mut diesel::PgConnection,
    rows: &[UserRow],
    projection: &Projection,
) -> Result<Option<GroupsByUser>, Error> {
    if !wants(
        &USER_RESOURCE,
        &projection.attributes,
        &projection.excluded,
        "groups",
    ) || rows.is_empty()
    {
        return Ok(None);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut by_user = GroupsByUser::new();
    for (member, group, name) in groups_of_many(conn, &ids)? {
        by_user.entry(member).or_default().push((group, name));
    }
    Ok(Some(by_user))
}

fn render(
    row: &UserRow,
    base: &str,
    groups: Option<&GroupsByUser>,
    projection: &Projection,
) -> Value {
    let mine = groups.map(|g| g.get(&row.id).map(Vec::as_slice).unwrap_or_default());
    project(
        user_json(row, base, mine),
        &USER_RESOURCE,
        &projection.attributes,
        &projection.excluded,
    )
}

/// A page of users as a ListResponse (RFC 7644 §3.4.2), shared by GET and POST /.search.
pub async fn list_page(
    ctx: &TenantCtx,
    state: &AppState,
    base: String,
    params: ListParams,
) -> Result<Value, Error> {
    let tenant_id = ctx.tenant_id;
    let db = state.db.clone();
    db.run(move |conn| {
        let cursor = params.cursor;
        // One more row than asked tells whether a next cursor page exists.
        let fetch = if cursor {
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
        let (mut rows, _) = search::list_users(conn, tenant_id, &q, &base)?;
        let more = usize::try_from(params.count).is_ok_and(|c| rows.len() > c);
        if more {
            rows.truncate(usize::try_from(params.count).unwrap_or(0));
        }
        // A first page that is not full holds every match: no count query needed.
        let total = match params.start {
            Start::Offset(0)
                if !more && i64::try_from(rows.len()).is_ok_and(|n| n < params.count) =>
            {
                i64::try_from(rows.len()).unwrap_or(i64::MAX)
            }
            _ => search::count(conn, Kind::Users, tenant_id, params.filter.as_ref(), &base)?,
        };
        let groups = groups_for(conn, &rows, &params.projection)?;
        let resources: Vec<Value> = rows
            .iter()
            .map(|r| render(r, &base, groups.as_ref(), &params.projection))
            .collect();
        let mut body = json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "itemsPerPage": resources.len(),
            "startIndex": params.start_index,
            "Resources": resources,
        });
        if cursor {
            if let (true, Some(last), Some(obj)) = (more, rows.last(), body.as_object_mut()) {
                obj.insert(
                    "nextCursor".into(),
                    encode_cursor(last.created_at, last.id).into(),
                );
            }
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
    let base = base_url(&req, &state);
    let body = list_page(&ctx, &state, base, params).await?;
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
    let base = base_url(&req, &state);
    let body = list_page(&ctx, &state, base, params).await?;
    Ok(scim(StatusCode::OK, &body))
}

/// Loads a user with its groups and renders it.
fn load(
    conn: &mut diesel::PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    base: &str,
    projection: &Projection,
) -> Result<(UserRow, Value), Error> {
    let row = users::find(conn, tenant_id, id)?.ok_or_else(|| not_found(&id.to_string()))?;
    let groups = groups_for(conn, std::slice::from_ref(&row), projection)?;
    let body = render(&row, base, groups.as_ref(), projection);
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
    let input = normalize_user(&json_body(&body.0)?)?;
    let base = base_url(&req, &state);
    let actor = actor(&ctx);
    let now = state.clock.now();
    let (row, body) = state
        .db
        .run(move |conn| {
            let tenant = tenants::by_id(conn, actor.tenant_id)?;
            check_push_allowed(&tenant)?;
            let (row, how) = prov::create(conn, &actor, SCIM, input, now)?;
            if how == Created::New {
                // A new person belongs to no group yet: nothing more to read.
                let body = render(&row, &base, None, &Projection::default());
                return Ok((row, body));
            }
            load(conn, actor.tenant_id, row.id, &base, &Projection::default())
        })
        .await?;
    let location = user_location(&base_url(&req, &state), row.id);
    Ok(created(&body, row.version, &location))
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
    let input = normalize_user(&json_body(&body.0)?)?;
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
    let (row, body) = state
        .db
        .run(move |conn| {
            let tenant = tenants::by_id(conn, actor.tenant_id)?;
            check_push_allowed(&tenant)?;
            prov::patch(conn, &actor, id, expected, &request, now)?;
            load(conn, actor.tenant_id, id, &base, &projection)
        })
        .await?;
    Ok(updated(&req, row.version, &body))
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
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let tenant = tenants::by_id(conn, actor.tenant_id)?;
            check_push_allowed(&tenant)?;
            prov::delete(conn, &actor, &tenant, id, expected, now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
