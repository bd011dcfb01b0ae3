//! The `events` table: the audit log and the ordered feed.
//!
//! Writers insert events inside their own transaction with `id` NULL. The feed position
//! `id` is given afterwards by [`sequence`], per tenant, under a transaction-scoped advisory
//! lock keyed by the tenant ([`locks::EVENT_SEQUENCER`]), so only one sequencer runs at a
//! time for a tenant and each one sees every event of the tenant committed before it took
//! the lock. Positions therefore appear in commit order within a tenant's feed: a poller
//! reading `id > after` never skips an event whose transaction committed late, and writers
//! never wait on each other. Positions are numbered per tenant (each on from the tenant's
//! highest), so two tenants' feeds may hold the same numbers.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::locks;
use super::schema::events;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = events)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    pub seq: i64,
    pub id: Option<i64>,
    pub tenant_id: Uuid,
    #[diesel(column_name = type_)]
    pub kind: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub actor: String,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
}

#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub tenant_id: Uuid,
    #[diesel(column_name = type_)]
    pub kind: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub actor: String,
    pub request_id: Option<String>,
    pub data: Value,
}

/// Who made a change to many rows in one statement, and when: the fields of the events
/// such a statement writes beside its change.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub tenant_id: Uuid,
    /// As [`NewEvent::actor`].
    pub actor: &'a str,
    pub request_id: Option<&'a str>,
    /// The events' `occurred_at`, and `updated_at` of the rows changed.
    pub at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, event: &NewEvent) -> QueryResult<()> {
    diesel::insert_into(events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// Many events, a statement per 1,000, each the same text (columns as arrays, read with
/// `unnest`) so that the connection prepares it once.
pub fn insert_many(conn: &mut PgConnection, batch: &[NewEvent]) -> QueryResult<()> {
    use super::sql::{Bind, Sql};
    for chunk in batch.chunks(1000) {
        let text = |f: &dyn Fn(&NewEvent) -> Option<String>| -> Bind {
            Bind::OptTextArray(chunk.iter().map(f).collect())
        };
        let mut sql = Sql::new();
        sql.push(
            "INSERT INTO events (tenant_id, type, resource_type, resource_id, actor, \
             request_id, data) SELECT * FROM unnest(",
        );
        sql.bind_all([
            Bind::UuidArray(chunk.iter().map(|e| e.tenant_id).collect()),
            text(&|e| Some(e.kind.clone())),
            text(&|e| Some(e.resource_type.clone())),
            Bind::OptUuidArray(chunk.iter().map(|e| e.resource_id).collect()),
            text(&|e| Some(e.actor.clone())),
            text(&|e| e.request_id.clone()),
            Bind::JsonArray(chunk.iter().map(|e| e.data.clone()).collect()),
        ])
        .push(")");
        sql.into_cached_query().execute(conn)?;
    }
    Ok(())
}

/// Gives feed positions to every committed, unsequenced event of the tenant, in insertion
/// order. Returns how many were sequenced. Must not run inside a caller's open
/// transaction: it commits its own.
pub fn sequence(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<usize> {
    conn.transaction(|conn| {
        locks::EVENT_SEQUENCER.lock_keyed_for_transaction(conn, tenant_id)?;
        // A new statement, so a new snapshot: it sees every commit before the lock was won.
        diesel::sql_query(
            "WITH base AS (SELECT coalesce(max(id), 0) AS top FROM events WHERE tenant_id = $1), \
             pending AS (SELECT seq, row_number() OVER (ORDER BY seq) AS n \
                         FROM events WHERE tenant_id = $1 AND id IS NULL ORDER BY seq LIMIT 100000) \
             UPDATE events e SET id = base.top + pending.n \
             FROM pending, base WHERE e.tenant_id = $1 AND e.seq = pending.seq",
        )
        .bind::<diesel::sql_types::Uuid, _>(tenant_id)
        .execute(conn)
    })
}

/// One page of a tenant's feed after position `after`, in position order.
pub fn feed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::tenant_id.eq(tenant_id))
        .filter(events::id.gt(after))
        .order(events::id.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// One page of a tenant's feed before position `before` (from the newest when `None`),
/// newest first, only of the type `kind` when given.
pub fn recent(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = events::table
        .filter(events::tenant_id.eq(tenant_id))
        .filter(events::id.is_not_null())
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(events::type_.eq(kind.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(events::id.lt(before));
    }
    query
        .order(events::id.desc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// The events of one resource after insertion position `after_seq`, oldest first
/// (sequenced or not yet).
pub fn for_resource(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    resource_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::tenant_id.eq(tenant_id))
        .filter(events::resource_id.eq(resource_id))
        .filter(events::seq.gt(after_seq))
        .order(events::seq.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}
