//! `GET /admin/v1/tenants/{slug}/events?after=&limit=`: the feed the rest of the platform
//! reads (DESIGN.md, Events).
//!
//! Each read first gives feed positions to every committed event (`store::events::sequence`),
//! so positions follow commit order and a poller that passes the last `id` it saw as
//! `after` never misses an event whose transaction committed late.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::people::{event_view, EventView};
use super::{Reply, TenantPath};
use crate::error::Error;
use crate::http::extract::{AdminCtx, OnTenant};
use crate::http::AppState;
use crate::provisioning::admin;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct FeedQuery {
    /// Answer the events whose id is greater than this
    #[param(minimum = 0, default = 0)]
    after: Option<i64>,
    /// How many events a page holds at most (1 to 1000; 100 by default)
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EventPage {
    items: Vec<EventView>,
    /// The id of the last item, or the request's `after` when there are none; pass it as
    /// `after` next time
    next_after: i64,
}

/// The tenant's event feed, in feed order
///
/// Poll with `after` set to the previous answer's `next_after`. Events are ordered by id
/// and the feed never skips an event that commits late. Events older than
/// `SCIMD_EVENT_RETENTION` are pruned: a read whose `after` is before the pruned ones
/// answers 410 with the oldest id still kept and where to read on, so a reader knows it
/// missed events.
#[utoipa::path(
    operation_id = "listEvents",
    params(TenantPath, FeedQuery),
    responses(
        (
            status = 200,
            description = "A page of events",
            body = EventPage,
            example = json!({
                "items": [{
                    "id": 1042,
                    "type": "user.excluded",
                    "resource_type": "User",
                    "resource_id": "7d4c2e9a-1b3f-4a6e-8c5d-9e0f1a2b3c4d",
                    "actor": "admin:k7f3q2",
                    "request_id": "b3e1c0d2a4f5",
                    "occurred_at": "2026-11-23T14:07:40Z",
                    "data": {}
                }],
                "next_after": 1042
            })
        ),
        (status = 410, response = super::doc::EventsPruned),
    )
)]
#[get("/tenants/{slug}/events")]
pub(super) async fn feed(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
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
    let rows = admin::feed(&state.db, on.slug, after, limit).await?;
    let next_after = rows.last().and_then(|e| e.id).unwrap_or(after);
    Ok(HttpResponse::Ok().json(EventPage {
        items: rows.iter().map(event_view).collect(),
        next_after,
    }))
}
