//! `GET /admin/v1/tenants/{slug}/events?after=&limit=`: the feed the rest of the platform
//! reads (DESIGN.md, Events).
//!
//! Each read first gives feed positions to every committed event (`store::events::sequence`),
//! so positions follow commit order and a poller that passes the last `id` it saw as
//! `after` never misses an event whose transaction committed late.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::people::event_view;
use super::Reply;
use crate::error::Error;
use crate::http::extract::AdminCtx;
use crate::http::AppState;
use crate::provisioning::tenants;
use crate::store::events;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

#[derive(Deserialize)]
pub(super) struct FeedQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

pub(super) async fn feed(
    _admin: AdminCtx,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<FeedQuery>,
) -> Reply {
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(Error::InvalidValue("after must be 0 or a feed position".into()).into());
    }
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(
                Error::InvalidValue(format!("limit must be between 1 and {MAX_LIMIT}")).into(),
            )
        }
    };
    let slug = slug.into_inner();
    let rows = state
        .db
        .run(move |conn| {
            let tenant = tenants::get(conn, &slug)?;
            events::sequence(conn)?;
            Ok(events::feed(conn, tenant.id, after, limit)?)
        })
        .await?;
    let next_after = rows.last().and_then(|e| e.id).unwrap_or(after);
    Ok(HttpResponse::Ok().json(json!({
        "items": rows.iter().map(event_view).collect::<Vec<_>>(),
        "next_after": next_after,
    })))
}
