//! The `connections` table (a tenant's one connection to its directory) and what a
//! connection leaves behind in `sync_objects`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::schema::{connections, sync_objects};
use crate::domain::Provider;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = connections)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ConnectionRow {
    pub tenant_id: Uuid,
    pub provider: Provider,
    /// The settings the admin API shows; never a secret.
    pub config: Value,
    /// The client secret, sealed (`crate::secrets`); `None` with the platform app.
    pub secret: Option<Vec<u8>>,
    pub state: Value,
    pub generation: i64,
    pub activated_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = connections)]
pub struct NewConnection<'a> {
    pub tenant_id: Uuid,
    pub provider: Provider,
    pub config: &'a Value,
    pub secret: Option<&'a [u8]>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A replacement of a connection's settings. `reset` also forgets what the connector
/// knew and unschedules it until its next first run applies.
#[derive(Debug)]
pub struct Replacement<'a> {
    pub provider: Provider,
    pub config: &'a Value,
    pub secret: Option<&'a [u8]>,
    pub reset: bool,
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<ConnectionRow>> {
    connections::table
        .find(tenant_id)
        .select(ConnectionRow::as_select())
        .first(conn)
        .optional()
}

/// The connection, locked for the rest of the transaction.
pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> QueryResult<Option<ConnectionRow>> {
    connections::table
        .find(tenant_id)
        .select(ConnectionRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut PgConnection, new: &NewConnection<'_>) -> QueryResult<ConnectionRow> {
    diesel::insert_into(connections::table)
        .values(new)
        .returning(ConnectionRow::as_returning())
        .get_result(conn)
}

/// Replaces the settings and the secret. A `reset` empties the connector's state, moves
/// the generation on (a plan held for the old settings is stale) and leaves the connection
/// unscheduled until its next run applies.
pub fn replace(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    r: &Replacement<'_>,
    now: DateTime<Utc>,
) -> QueryResult<ConnectionRow> {
    let target = connections::table.find(tenant_id);
    let settings = (
        connections::provider.eq(r.provider),
        connections::config.eq(r.config),
        connections::secret.eq(r.secret),
        connections::updated_at.eq(now),
    );
    if r.reset {
        diesel::update(target)
            .set((
                settings,
                connections::state.eq(serde_json::json!({})),
                connections::generation.eq(connections::generation + 1),
                connections::activated_at.eq(None::<DateTime<Utc>>),
                connections::next_run_at.eq(None::<DateTime<Utc>>),
            ))
            .returning(ConnectionRow::as_returning())
            .get_result(conn)
    } else {
        diesel::update(target)
            .set(settings)
            .returning(ConnectionRow::as_returning())
            .get_result(conn)
    }
}

/// Deletes the tenant's connection and the directory objects its runs mirrored; whether
/// there was a connection.
pub fn delete(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    diesel::delete(sync_objects::table.filter(sync_objects::tenant_id.eq(tenant_id)))
        .execute(conn)?;
    diesel::delete(connections::table.find(tenant_id))
        .execute(conn)
        .map(|n| n > 0)
}

/// Brings a scheduled run no later than `interval` from `now` (after the tenant's interval
/// shrank); an unscheduled connection stays unscheduled.
pub fn pull_in_next_run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    interval: chrono::Duration,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let latest = now + interval;
    diesel::update(
        connections::table
            .find(tenant_id)
            .filter(connections::next_run_at.gt(latest)),
    )
    .set(connections::next_run_at.eq(latest))
    .execute(conn)
}

/// Every stored secret with its tenant, locked for the rest of the transaction (a
/// rotation).
pub fn sealed_secrets(conn: &mut PgConnection) -> QueryResult<Vec<(Uuid, Vec<u8>)>> {
    connections::table
        .filter(connections::secret.is_not_null())
        .select((
            connections::tenant_id,
            connections::secret.assume_not_null(),
        ))
        .order(connections::tenant_id)
        .for_update()
        .load(conn)
}

pub fn set_secret(conn: &mut PgConnection, tenant_id: Uuid, sealed: &[u8]) -> QueryResult<usize> {
    diesel::update(connections::table.find(tenant_id))
        .set(connections::secret.eq(sealed))
        .execute(conn)
}
