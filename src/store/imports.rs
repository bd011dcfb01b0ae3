//! The `console_imports` table: the console's CSV imports as jobs, their progress and their
//! end, keyed by tenant and id. Every statement names both.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::schema::console_imports;
use crate::domain::ImportState;

/// A job as its rows are keyed: the tenant and the job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportKey {
    pub tenant_id: Uuid,
    pub id: Uuid,
}

/// A job without its file, which only a confirmation reads.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = console_imports)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ImportRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub dry_run: bool,
    pub state: ImportState,
    pub rows_total: i32,
    pub rows_done: i32,
    pub summary: Option<Value>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ImportRow {
    pub fn key(&self) -> ImportKey {
        ImportKey {
            tenant_id: self.tenant_id,
            id: self.id,
        }
    }
}

#[derive(Insertable, Debug)]
#[diesel(table_name = console_imports)]
pub struct NewImport<'a> {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub dry_run: bool,
    pub state: ImportState,
    pub rows_total: i32,
    pub csv: &'a str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a job ended.
#[derive(AsChangeset, Debug)]
#[diesel(table_name = console_imports)]
pub struct Finish<'a> {
    pub state: ImportState,
    pub summary: Option<&'a Value>,
    pub error: Option<&'a str>,
    pub rows_done: i32,
    pub updated_at: DateTime<Utc>,
    /// `Some("")` forgets the file: only a dry run's may still be confirmed. `None` keeps it.
    pub csv: Option<&'a str>,
}

pub fn insert(conn: &mut PgConnection, new: &NewImport<'_>) -> QueryResult<ImportRow> {
    diesel::insert_into(console_imports::table)
        .values(new)
        .returning(ImportRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, key: ImportKey) -> QueryResult<Option<ImportRow>> {
    console_imports::table
        .find((key.tenant_id, key.id))
        .select(ImportRow::as_select())
        .first(conn)
        .optional()
}

/// The job and its file.
pub fn find_with_csv(
    conn: &mut PgConnection,
    key: ImportKey,
) -> QueryResult<Option<(ImportRow, String)>> {
    console_imports::table
        .find((key.tenant_id, key.id))
        .select((ImportRow::as_select(), console_imports::csv))
        .first(conn)
        .optional()
}

/// A running job's heartbeat: its rows done so far, at `now`. A job that has ended is left
/// as it is.
pub fn progress(
    conn: &mut PgConnection,
    key: ImportKey,
    rows_done: i32,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        console_imports::table
            .find((key.tenant_id, key.id))
            .filter(console_imports::state.eq(ImportState::Running)),
    )
    .set((
        console_imports::rows_done.eq(rows_done),
        console_imports::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Writes how a running job ended.
pub fn finish(conn: &mut PgConnection, key: ImportKey, end: &Finish<'_>) -> QueryResult<bool> {
    diesel::update(
        console_imports::table
            .find((key.tenant_id, key.id))
            .filter(console_imports::state.eq(ImportState::Running)),
    )
    .set(end)
    .execute(conn)
    .map(|n| n > 0)
}

/// Forgets the tenant's jobs not updated since `before` (a running job is updated about
/// twice a second, so none of those).
pub fn forget_old(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        console_imports::table
            .filter(console_imports::tenant_id.eq(tenant_id))
            .filter(console_imports::updated_at.lt(before)),
    )
    .execute(conn)
}
