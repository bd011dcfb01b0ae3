//! The console's CSV imports as jobs: the request that starts one answers at once, and the
//! page follows the job's row in `console_imports` to its end. The row is the job's only
//! state, so the page may poll any node while one node runs the import.
//!
//! - **Start.** The file's rows are counted first (records, without the database), so the
//!   page can say "1,200 of 50,000 rows"; a file the import would refuse before its first
//!   row (no `email` column, too many rows) is refused here, and no job is made. A
//!   confirmation imports the file its dry run checked, read back from the dry run's row.
//! - **Run.** The import runs on the blocking pool through the same work as the admin API's
//!   ([`admin::import_into`]). Beside it, a ticker writes the rows done and a heartbeat
//!   about twice a second on a connection of its own (the import's transaction is not
//!   committed until the end).
//! - **End.** How the job ended is written in the import's own transaction, so a real
//!   import's people and its `done` commit together. A job that still says `running` with
//!   no heartbeat for [`STALE_AFTER`] was interrupted (its node stopped): its transaction
//!   rolled back, and nothing was imported.
//! - **Kept.** A tenant's jobs not updated for [`KEPT_FOR`] are forgotten when it starts
//!   another; a real import's file is forgotten when it ends.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use super::admin::{self, in_tenant};
use super::import::{self, Outcome, Summary};
use crate::clock::SharedClock;
use crate::domain::ImportState;
use crate::error::Error;
use crate::store::imports::{self, Finish, ImportKey, ImportRow, NewImport};
use crate::store::tenants;
use crate::store::Db;

/// How often a running job's row is told its progress (and that its node is alive).
pub const TICK: Duration = Duration::from_millis(500);
/// A running job whose row has not been updated for this long was interrupted.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(15);
/// How long a job's row is kept after its last update.
pub const KEPT_FOR: chrono::Duration = chrono::Duration::hours(1);

/// What to import.
pub enum Input {
    /// A file to check: a dry run.
    File(String),
    /// The file of this dry run, which must have ended without a row error: the import.
    Checked(Uuid),
}

/// Where a job is, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Running {
        done: u64,
        total: u64,
    },
    /// It says running, but its node has not updated it for [`STALE_AFTER`].
    Interrupted {
        done: u64,
        total: u64,
    },
    Done(Summary),
    /// A real import with a row error: nothing applied.
    Refused(Summary),
    Failed(String),
}

impl Progress {
    pub fn active(&self) -> bool {
        matches!(self, Progress::Running { .. })
    }
}

/// A job, read for its page.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub dry_run: bool,
    pub progress: Progress,
    /// A dry run's file, when it was asked for (the page without script shows it again).
    pub csv: Option<String>,
}

fn count(n: i32) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Job {
    fn of(row: ImportRow, csv: Option<String>, now: DateTime<Utc>) -> Self {
        let (done, total) = (count(row.rows_done), count(row.rows_total));
        let summary = || {
            row.summary
                .clone()
                .and_then(|v| serde_json::from_value::<Summary>(v).ok())
        };
        let progress = match row.state {
            ImportState::Running if now - row.updated_at > STALE_AFTER => {
                Progress::Interrupted { done, total }
            }
            ImportState::Running => Progress::Running { done, total },
            ImportState::Done => summary().map_or_else(
                || Progress::Failed("the import's summary cannot be read".into()),
                Progress::Done,
            ),
            ImportState::Refused => summary().map_or_else(
                || Progress::Failed("the import's summary cannot be read".into()),
                Progress::Refused,
            ),
            ImportState::Failed => Progress::Failed(
                row.error
                    .clone()
                    .unwrap_or_else(|| "the import failed".into()),
            ),
        };
        Job {
            id: row.id,
            dry_run: row.dry_run,
            progress,
            csv: csv.filter(|_| row.dry_run),
        }
    }
}

fn no_such_job(id: Uuid) -> Error {
    Error::NotFound(format!(
        "no import `{id}` in this tenant (imports are kept an hour)"
    ))
}

/// The tenant's job `id`, with its file when `with_csv`.
pub async fn job(
    db: &Db,
    slug: String,
    id: Uuid,
    with_csv: bool,
    now: DateTime<Utc>,
) -> Result<Job, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        let key = ImportKey {
            tenant_id: tenant.id,
            id,
        };
        let (row, csv) = if with_csv {
            let (row, csv) = imports::find_with_csv(conn, key)?.ok_or_else(|| no_such_job(id))?;
            (row, Some(csv))
        } else {
            (
                imports::find(conn, key)?.ok_or_else(|| no_such_job(id))?,
                None,
            )
        };
        Ok(Job::of(row, csv, now))
    })
    .await
}

/// The file to import and whether it is a dry run.
fn file_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    input: Input,
    now: DateTime<Utc>,
) -> Result<(String, bool), Error> {
    match input {
        Input::File(csv) => Ok((csv, true)),
        Input::Checked(id) => {
            let key = ImportKey { tenant_id, id };
            let (row, csv) = imports::find_with_csv(conn, key)?.ok_or_else(|| no_such_job(id))?;
            match Job::of(row, None, now) {
                Job {
                    dry_run: true,
                    progress: Progress::Done(s),
                    ..
                } if !s.failed() => Ok((csv, false)),
                _ => Err(Error::Conflict(
                    "only a dry run that ended without a row error can be imported; \
                     check the file again"
                        .into(),
                )),
            }
        }
    }
}

/// Makes the job (running) and starts it on this node; the job's id. The work goes on
/// after the caller's request has been answered.
pub async fn start(
    db: &Db,
    clock: SharedClock,
    slug: String,
    request_id: Option<String>,
    input: Input,
) -> Result<Uuid, Error> {
    let now = clock.now();
    let (key, csv, dry_run) = in_tenant(db, slug, move |conn, tenant| {
        let (csv, dry_run) = file_of(conn, tenant.id, input, now)?;
        let total = import::count_rows(csv.as_bytes())?;
        imports::forget_old(conn, tenant.id, now - KEPT_FOR)?;
        let row = imports::insert(
            conn,
            &NewImport {
                tenant_id: tenant.id,
                id: Uuid::now_v7(),
                dry_run,
                state: ImportState::Running,
                rows_total: int(total),
                csv: &csv,
                created_at: now,
                updated_at: now,
            },
        )?;
        Ok((row.key(), csv, dry_run))
    })
    .await?;
    tokio::spawn(run(db.clone(), clock, key, request_id, csv, dry_run));
    Ok(key.id)
}

/// Runs the job to its end, ticking its progress meanwhile.
async fn run(
    db: Db,
    clock: SharedClock,
    key: ImportKey,
    request_id: Option<String>,
    csv: String,
    dry_run: bool,
) {
    let done = Arc::new(AtomicU64::new(0));
    let work = {
        let (done, clock) = (Arc::clone(&done), clock.clone());
        db.run(move |conn| work(conn, &clock, key, request_id, csv, dry_run, &done))
    };
    tokio::pin!(work);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ended = loop {
        tokio::select! {
            ended = &mut work => break ended,
            _ = tick.tick() => {
                let (n, now) = (int(done.load(Ordering::Relaxed)), clock.now());
                if let Err(e) = db.run(move |conn| Ok(imports::progress(conn, key, n, now)?)).await {
                    tracing::warn!(error = %e, import = %key.id, "cannot record an import's progress");
                }
            }
        }
    };
    // The work could not record its end (it lost its connection, say): the import's
    // transaction did not commit, so it failed.
    if let Err(e) = ended {
        tracing::error!(error = ?e, import = %key.id, "console import failed");
        let now = clock.now();
        let message = e.to_string();
        let recorded = db
            .run(move |conn| {
                let end = Finish {
                    state: ImportState::Failed,
                    summary: None,
                    error: Some(message.as_str()),
                    rows_done: 0,
                    updated_at: now,
                    csv: None,
                };
                Ok(imports::finish(conn, key, &end)?)
            })
            .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, import = %key.id, "cannot record an import's end");
        }
    }
}

/// The import and its end, in one transaction (the import's own is a savepoint in it).
fn work(
    conn: &mut PgConnection,
    clock: &SharedClock,
    key: ImportKey,
    request_id: Option<String>,
    csv: String,
    dry_run: bool,
    done: &AtomicU64,
) -> Result<(), Error> {
    let tenant = tenants::find_by_id(conn, key.tenant_id)?
        .ok_or_else(|| Error::NotFound("the tenant was deleted".into()))?;
    conn.transaction(|conn| {
        let outcome = admin::import_into(
            conn,
            &tenant,
            request_id,
            Cursor::new(csv.into_bytes()),
            dry_run,
            clock.now(),
            |_| None,
            &|n| done.store(n, Ordering::Relaxed),
        );
        let (state, summary, error) = match outcome {
            Ok(Outcome::Done(s)) => (ImportState::Done, Some(s), None),
            Ok(Outcome::Refused(s)) => (ImportState::Refused, Some(s), None),
            Err(e) => {
                // The operator reads the message; a cause of the server's is logged, and
                // its message says only that.
                if e.status().is_server_error() {
                    tracing::error!(error = ?e, import = %key.id, "console import failed");
                }
                (ImportState::Failed, None, Some(e.to_string()))
            }
        };
        let rows_done = summary
            .as_ref()
            .map_or(done.load(Ordering::Relaxed), |s| s.rows);
        let summary = summary
            .map(serde_json::to_value)
            .transpose()
            .map_err(Error::internal)?;
        imports::finish(
            conn,
            key,
            &Finish {
                state,
                summary: summary.as_ref(),
                error: error.as_deref(),
                rows_done: int(rows_done),
                updated_at: clock.now(),
                csv: (!dry_run).then_some(""),
            },
        )?;
        Ok(())
    })
}
