//! `/admin/v1/tenants/{slug}/people…` and `/groups/{id}/exclude|include`: the people list
//! the training platform runs on, and the admin's overrides.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{admin_actor, encode_cursor, next_cursor, parse_json, Page, PageQuery, Reply};
use crate::error::Error;
use crate::http::body::AdminBody;
use crate::http::extract::AdminCtx;
use crate::http::AppState;
use crate::provisioning::manual::{ManualPerson, RawPerson};
use crate::provisioning::people::{self as writes, AdminGroup};
use crate::provisioning::tenants;
use crate::store::events::{self, EventRow};
use crate::store::people::{self, ExcludedBy, State};
use crate::store::users::UserRow;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tenants/{slug}/people")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/tenants/{slug}/people/counts").route(web::get().to(counts)))
    .service(web::resource("/tenants/{slug}/people/deactivate").route(web::post().to(deactivate)))
    .service(web::resource("/tenants/{slug}/people/reactivate").route(web::post().to(reactivate)))
    .service(
        web::resource("/tenants/{slug}/people/import").route(web::post().to(super::import::import)),
    )
    .service(
        web::resource("/tenants/{slug}/people/{id}")
            .route(web::get().to(get))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/tenants/{slug}/people/{id}/restore").route(web::post().to(restore)))
    .service(web::resource("/tenants/{slug}/people/{id}/history").route(web::get().to(history)))
    .service(web::resource("/tenants/{slug}/groups/{id}/exclude").route(web::post().to(exclude)))
    .service(web::resource("/tenants/{slug}/groups/{id}/include").route(web::post().to(include)));
}

fn person_view(row: &UserRow, excluded_by: &[&ExcludedBy]) -> Value {
    let r = &row.resource;
    json!({
        "id": row.id,
        "userName": row.user_name,
        "emails": r.get("emails").cloned().unwrap_or_else(|| json!([])),
        "name": r.get("name").cloned().unwrap_or(Value::Null),
        "displayName": row.display_name,
        "department": row.department,
        "source": row.source,
        "active": row.active,
        "admin_state": row.admin_state,
        "excluded_by_groups": excluded_by
            .iter()
            .map(|g| json!({"id": g.group_id, "displayName": g.display_name}))
            .collect::<Vec<_>>(),
        "deprovisioned_at": row.deprovisioned_at,
        "participating": people::participates(row, excluded_by.len()),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

fn one_person(row: &UserRow, excluded: &[ExcludedBy]) -> Value {
    let mine: Vec<&ExcludedBy> = excluded.iter().filter(|g| g.member_id == row.id).collect();
    person_view(row, &mine)
}

/// An id from the path; one that is not a UUID is as unknown as any other (404).
fn parse_id(raw: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| {
        Error::NotFound(format!(
            "no {what} `{}` in this tenant",
            raw.chars().take(64).collect::<String>()
        ))
    })
}

// Not `#[serde(flatten)]` over `PageQuery`: a flattened query string gives every value as a
// string, and `limit` would no longer parse as a number.
#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

fn parse_person_cursor(c: &str) -> Result<(DateTime<Utc>, Uuid), Error> {
    c.split_once('|')
        .and_then(|(micros, id)| {
            let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            Some((at, Uuid::parse_str(id).ok()?))
        })
        .ok_or_else(|| Error::InvalidValue("cursor is not one this API gave".into()))
}

const STATES: &str = "participating, inactive, deactivated, excluded, deprovisioned, all";

async fn list(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Reply {
    let query = query.into_inner();
    let page = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    };
    let limit = page.limit()?;
    let after = page
        .cursor()?
        .as_deref()
        .map(parse_person_cursor)
        .transpose()?;
    let filter = match query.state.as_deref() {
        None | Some("") => State::Live,
        Some(s) => State::parse(s)
            .filter(|s| *s != State::Live)
            .ok_or_else(|| {
                Error::InvalidValue(format!(
                    "state `{}` is not one of {STATES}",
                    s.chars().take(40).collect::<String>()
                ))
            })?,
    };
    let q = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if let Some(q) = &q {
        crate::provisioning::storable::text(q, "q")?;
        if q.chars().count() > 200 {
            return Err(Error::InvalidValue("q is longer than 200 characters".into()).into());
        }
    }
    let slug = slug.into_inner();
    let (mut rows, excluded) = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            let rows = people::list(conn, tenant.id, filter, q.as_deref(), after, limit + 1)?;
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
            let excluded = people::excluded_groups_of(conn, &ids)?;
            Ok((rows, excluded))
        })
        .await?;
    let next_cursor = next_cursor(&mut rows, limit, |r| {
        encode_cursor(&format!("{}|{}", r.created_at.timestamp_micros(), r.id))
    });
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(|r| one_person(r, &excluded)).collect(),
        next_cursor,
    }))
}

async fn counts(_admin: AdminCtx, state: web::Data<AppState>, slug: web::Path<String>) -> Reply {
    let slug = slug.into_inner();
    let counts = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            Ok(people::counts(conn, tenant.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(counts))
}

async fn get(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Reply {
    let (slug, id) = path.into_inner();
    let id = parse_id(&id, "person")?;
    let (row, excluded) = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            writes::person(conn, tenant.id, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(one_person(&row, &excluded)))
}

async fn create(
    admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    AdminBody(body): AdminBody,
) -> Reply {
    let raw: RawPerson = parse_json(&body)?;
    let person = ManualPerson::check(&raw).map_err(Error::InvalidValue)?;
    let slug = slug.into_inner();
    let row = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            let actor = admin_actor(&admin, tenant.id);
            writes::create_manual(conn, &actor, &person)
        })
        .await?;
    let location = format!("people/{}", row.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(person_view(&row, &[])))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ids {
    ids: Vec<Uuid>,
}

async fn set_state(
    admin: AdminCtx,
    state: web::Data<AppState>,
    slug: String,
    body: &[u8],
    deactivate: bool,
) -> Reply {
    let req: Ids = parse_json(body)?;
    let done = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            let actor = admin_actor(&admin, tenant.id);
            writes::set_admin_state(conn, &actor, &req.ids, deactivate)
        })
        .await?;
    Ok(HttpResponse::Ok().json(done))
}

async fn deactivate(
    admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    AdminBody(body): AdminBody,
) -> Reply {
    set_state(admin, state, slug.into_inner(), &body, true).await
}

async fn reactivate(
    admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    AdminBody(body): AdminBody,
) -> Reply {
    set_state(admin, state, slug.into_inner(), &body, false).await
}

#[derive(Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    erase: bool,
}

async fn delete(
    admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<DeleteQuery>,
) -> Reply {
    let (slug, id) = path.into_inner();
    let id = parse_id(&id, "person")?;
    let erase = query.erase;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            let actor = admin_actor(&admin, tenant.id);
            writes::delete(conn, &actor, &tenant, id, erase, now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn restore(
    admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Reply {
    let (slug, id) = path.into_inner();
    let id = parse_id(&id, "person")?;
    let now = state.clock.now();
    let (row, excluded) = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            let actor = admin_actor(&admin, tenant.id);
            writes::restore(conn, &actor, id, now)?;
            writes::person(conn, tenant.id, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(one_person(&row, &excluded)))
}

/// An event as the admin API shows it (the feed and a person's history).
pub(super) fn event_view(e: &EventRow) -> Value {
    json!({
        "id": e.id,
        "type": e.kind,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "actor": e.actor,
        "request_id": e.request_id,
        "occurred_at": e.occurred_at,
        "data": e.data,
    })
}

async fn history(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> Reply {
    let (slug, id) = path.into_inner();
    let id = parse_id(&id, "person")?;
    let limit = query.limit()?;
    let after: i64 = match query.cursor()? {
        None => 0,
        Some(c) => c
            .parse()
            .map_err(|_| Error::InvalidValue("cursor is not one this API gave".into()))?,
    };
    let mut rows = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            writes::person(conn, tenant.id, id)?;
            events::sequence(conn)?;
            Ok(events::for_resource(conn, tenant.id, id, after, limit + 1)?)
        })
        .await?;
    let next_cursor = next_cursor(&mut rows, limit, |e| encode_cursor(&e.seq.to_string()));
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(event_view).collect(),
        next_cursor,
    }))
}

fn group_view(g: &AdminGroup) -> Value {
    json!({
        "id": g.row.id,
        "displayName": g.row.display_name,
        "excluded": g.row.excluded_at.is_some(),
        "excluded_at": g.row.excluded_at,
        "members": g.members,
    })
}

async fn set_group(
    admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    exclude: bool,
) -> Reply {
    let (slug, id) = path.into_inner();
    let id = parse_id(&id, "group")?;
    let now = state.clock.now();
    let group = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            let actor = admin_actor(&admin, tenant.id);
            writes::set_group_excluded(conn, &actor, id, exclude, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(group_view(&group)))
}

async fn exclude(
    admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Reply {
    set_group(admin, state, path, true).await
}

async fn include(
    admin: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Reply {
    set_group(admin, state, path, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default();
        let id = Uuid::now_v7();
        let c = format!("{}|{}", at.timestamp_micros(), id);
        assert_eq!(parse_person_cursor(&c).ok(), Some((at, id)));
        for bad in ["", "x|y", "1|not-a-uuid", "nopipe"] {
            assert!(parse_person_cursor(bad).is_err(), "{bad}");
        }
    }
}
