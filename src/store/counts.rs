//! Each tenant's number of users and groups SCIM sees (the `visible_counts` table), so
//! that an unfiltered listing's `totalResults` costs a few rows whatever the tenant's size.
//!
//! Visible is what an unfiltered listing shows ([`super::search::from_where`]): a user
//! whose `deprovisioned_at` is NULL, and every group. Every statement that adds or removes
//! a visible user or group changes the count in the same statement, with one more common
//! table expression ([`counted`]): the count commits with the rows or not at all, in
//! whatever transaction the caller composes the statement into. A write that changes no
//! visibility (an update of a user's data, a membership) leaves the count alone.
//!
//! A tenant's count is spread over slots, summed on read, so that writers of one tenant do
//! not queue on one row (a slot's share may be negative):
//!
//! - A statement that commits on its own, the one-statement and combined creates
//!   ([`Lane::Statement`]), adds to slot `pg_backend_pid() % 32`: each connection has its
//!   own, and holds it only until that statement commits. Its row is made by the first
//!   write to it.
//! - A write inside a longer transaction (the full create path, deletes, restores, an
//!   import, an admin action; [`Lane::Transaction`]) holds its slot until that transaction
//!   ends. It takes one of slots 32 to 39 that no other transaction holds (`SKIP LOCKED`),
//!   its connection's own first, so it never keeps a create waiting, and waits itself only
//!   when all eight are held. A tenant is created with these rows ([`open_slots`]):
//!   `SKIP LOCKED` passes over rows, it cannot take one that does not exist.
//!
//! Rows and writes made around scimd (a seed straight into the tables) are counted by the
//! SQL function `scimd_recount(tenant)`, which leaves a tenant's rows as a new tenant's,
//! its whole count in slot 0.

use diesel::prelude::*;
use uuid::Uuid;

use super::rows::Count;
use super::search::Kind;
use super::sql::{Bind, Sql};

/// The slots of [`Lane::Statement`]: 0 to 31.
const STATEMENT_SLOTS: i32 = 32;

/// The slots of [`Lane::Transaction`]: `FIRST_TRANSACTION_SLOT` and the 7 after it.
const FIRST_TRANSACTION_SLOT: i32 = STATEMENT_SLOTS;
const TRANSACTION_SLOTS: i32 = 8;

/// Which slots a write adds to (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A statement that commits on its own.
    Statement,
    /// A write inside a transaction that goes on after it.
    Transaction,
}

/// The table of `kind`, which is also the name of the column of its count.
fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Users => "users",
        Kind::Groups => "groups",
    }
}

/// Whether a row `r` of `kind` (with the table's columns) is visible, as an SQL integer:
/// 1 or 0.
pub fn visible(kind: Kind, r: &str) -> String {
    match kind {
        Kind::Users => format!("({r}.deprovisioned_at IS NULL)::int"),
        Kind::Groups => "1".to_owned(),
    }
}

/// A common table expression named `counted`, to follow the others of a statement that
/// writes `kind`: it adds `delta`, an SQL integer expression over a row of the statement's
/// CTE `rows` (which has `tenant_id`), summed per tenant, to each tenant's count. Tenants
/// are written in id order, so two statements that write several never wait on each other
/// in a circle.
///
/// Every row it reads is found by the primary key whatever the statistics say: the
/// upsert's conflict target is the key, and so is each probe of a slot to take.
pub fn counted(kind: Kind, lane: Lane, rows: &str, delta: &str) -> String {
    let col = name(kind);
    let slot = match lane {
        Lane::Statement => format!("pg_backend_pid() % {STATEMENT_SLOTS}"),
        Lane::Transaction => {
            let own = format!("{FIRST_TRANSACTION_SLOT} + pg_backend_pid() % {TRANSACTION_SLOTS}");
            format!(
                "coalesce(\
                 (SELECT s.slot FROM visible_counts s WHERE s.tenant_id = d.tenant_id \
                  AND s.slot = {own} FOR UPDATE SKIP LOCKED), \
                 (SELECT s.slot FROM visible_counts s WHERE s.tenant_id = d.tenant_id \
                  AND s.slot >= {FIRST_TRANSACTION_SLOT} ORDER BY s.slot LIMIT 1 \
                  FOR UPDATE SKIP LOCKED), \
                 {own})"
            )
        }
    };
    format!(
        "counted AS (INSERT INTO visible_counts AS k (tenant_id, slot, {col}) \
         SELECT d.tenant_id, {slot}, d.n FROM (SELECT {rows}.tenant_id, sum({delta}) AS n \
         FROM {rows} GROUP BY {rows}.tenant_id) d WHERE d.n <> 0 ORDER BY d.tenant_id \
         ON CONFLICT (tenant_id, slot) DO UPDATE SET {col} = k.{col} + excluded.{col})"
    )
}

/// A common table expression named `slots`, to follow the one that inserts tenants as the
/// CTE `tenants`: it gives each new tenant its [`Lane::Transaction`] rows.
pub fn open_slots(tenants: &str) -> String {
    format!(
        "slots AS (INSERT INTO visible_counts (tenant_id, slot) \
         SELECT {tenants}.id, s FROM {tenants}, generate_series({FIRST_TRANSACTION_SLOT}, \
         {FIRST_TRANSACTION_SLOT} + {TRANSACTION_SLOTS} - 1) AS s)"
    )
}

/// Deletes the row `id` of `kind`'s table, and takes it off its tenant's count when it was
/// visible. Whether there was one.
pub fn delete(conn: &mut PgConnection, kind: Kind, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let table = name(kind);
    let mut sql = Sql::new();
    sql.push(&format!(
        "WITH gone AS (DELETE FROM {table} WHERE tenant_id = "
    ));
    sql.bind(Bind::Uuid(tenant_id)).push(" AND id = ");
    sql.bind(Bind::Uuid(id))
        .push(&format!(
            " RETURNING tenant_id, {} AS visible), ",
            visible(kind, table)
        ))
        .push(&counted(kind, Lane::Transaction, "gone", "-gone.visible"))
        .push(" SELECT count(*) AS n FROM gone");
    let count: Count = sql.into_cached_query().get_result(conn)?;
    Ok(count.n > 0)
}

/// How many `kind` of the tenant SCIM sees: the sum of its slots.
pub fn visible_total(conn: &mut PgConnection, kind: Kind, tenant_id: Uuid) -> QueryResult<i64> {
    Ok(total_sql(kind, tenant_id)
        .into_cached_query()
        .get_result::<Count>(conn)?
        .n)
}

/// The statement that reads a tenant's count of `kind`, the sum of its slots, as `n`.
///
/// The ORDER BY and LIMIT (which no tenant reaches) keep the read on the primary key
/// whatever the statistics say: with stale ones, PostgreSQL may take most of the table
/// for this tenant's and scan all of it.
pub fn total_sql(kind: Kind, tenant_id: Uuid) -> Sql {
    let col = name(kind);
    let mut sql = Sql::new();
    sql.push(&format!(
        "SELECT coalesce(sum(k.{col}), 0)::bigint AS n FROM (SELECT {col} FROM visible_counts \
         WHERE tenant_id = "
    ));
    sql.bind(Bind::Uuid(tenant_id)).push(&format!(
        " ORDER BY slot LIMIT {}) k",
        STATEMENT_SLOTS + TRANSACTION_SLOTS
    ));
    sql
}
