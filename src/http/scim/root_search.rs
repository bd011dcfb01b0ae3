//! `POST /.search` at the root (RFC 7644 §3.4.3): Users and Groups in one list, users first.
//! A filter that names attributes of one type only matches nothing of the other type.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::common::{base_url, json_body, scim, LIST_RESPONSE};
use super::groups::Groups;
use super::params::{ListParams, RawList};
use super::resources;
use super::users::Users;
use crate::error::Error;
use crate::http::body::ScimBody;
use crate::http::extract::TenantCtx;
use crate::http::AppState;
use crate::store::search::Start;
use crate::store::Db;

/// One type's page, or an empty one when the filter does not apply to the type.
async fn page(result: Result<Value, Error>) -> Result<Option<Value>, Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Error::InvalidFilter(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn total(page: &Option<Value>) -> i64 {
    page.as_ref()
        .and_then(|p| p["totalResults"].as_i64())
        .unwrap_or(0)
}

fn resources(page: Option<Value>) -> Vec<Value> {
    match page {
        Some(Value::Object(mut m)) => match m.remove("Resources") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

pub async fn search(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    body: ScimBody,
) -> Result<HttpResponse, Error> {
    let raw: RawList = serde_json::from_value(json_body(&body.0)?)
        .map_err(|e| Error::InvalidSyntax(format!("invalid SearchRequest: {e}")))?;
    if raw.cursor.is_some() {
        return Err(Error::InvalidValue(
            "cursor paging is offered per resource type, not at the root".into(),
        ));
    }
    if raw.sort_by.is_some() {
        return Err(Error::InvalidValue(
            "sortBy is offered per resource type, not at the root".into(),
        ));
    }
    let max = state.settings.max_results;
    let base = base_url(&req, &state);
    let first = ListParams::parse(&raw, max)?;
    let (offset, count, start_index) = match first.start {
        Start::Offset(o) => (o, first.count, first.start_index),
        Start::After(..) => (0, first.count, 1),
    };
    let user_page =
        page(resources::list_page::<Users>(&ctx, &db, base.clone(), first).await).await?;
    let user_total = total(&user_page);
    let mut items = resources(user_page);
    let mut second = ListParams::parse(&raw, max)?;
    second.start = Start::Offset((offset - user_total).max(0));
    second.count = (count - i64::try_from(items.len()).unwrap_or(count)).max(0);
    let group_page = page(resources::list_page::<Groups>(&ctx, &db, base, second).await).await?;
    let group_total = total(&group_page);
    items.extend(resources(group_page));
    Ok(scim(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": user_total + group_total,
            "itemsPerPage": items.len(),
            "startIndex": start_index,
            "Resources": items,
        }),
    ))
}
