//! Writes to one row, committed together ([`super::Db::run_together`]).
//!
//! Writes to one group are serial whatever the server does: each holds the group's row
//! lock until its commit, WAL flush included. Entra sends one PATCH per membership change,
//! often many at once to the same group, so a busy group's PATCHes spend most of their
//! time waiting for each other's commits. Here, while a write to a key runs, the writes to
//! the same key that arrive wait in the key's queue; the next batch takes them all (up to
//! [`MOST`]) into one transaction, each in a savepoint of its own, and commits once.
//!
//! Each write keeps what it had alone:
//! - it is all-or-nothing: a write that fails rolls back to its savepoint and fails alone;
//! - it is answered only after the transaction that holds it has committed, so an
//!   acknowledged write is as durable as before; a batch that cannot commit (a write met
//!   a database error that aborted the transaction, or the commit failed) fails every
//!   write in it but those its own client's mistake refused, and none of them is applied
//!   (503: retry);
//! - the writes to a key run in the order they arrived, one at a time, as the row lock
//!   would have ordered them;
//! - a write that finds no other waiting is its own transaction, exactly as [`super::Db::run`]
//!   runs it.
//!
//! A key's queue lives in this process: writes to one group from several nodes still
//! meet at the row lock, each node's batches in turn.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use diesel::{Connection, PgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::Error;

/// What the writes are taken together by: (tenant id, row id).
pub type Key = (Uuid, Uuid);

/// The most writes one transaction takes.
pub const MOST: usize = 64;

/// Sends a write's answer once its transaction has ended (`Ok` when it committed).
pub(super) type Finish = Box<dyn FnOnce(Result<(), &Error>) + Send>;

/// A waiting write: run on the batch's connection, it gives back how to answer it, and
/// whether it found the connection broken.
pub(super) type Job = Box<dyn FnOnce(&mut PgConnection) -> (Finish, bool) + Send>;

/// The waiting writes of each key that has a batch running (a key is present exactly
/// while a leader runs its batches), and how many were committed together so far.
#[derive(Default)]
pub(super) struct Queues {
    waiting: Mutex<HashMap<Key, Vec<Job>>>,
    shared: AtomicU64,
    writes: AtomicU64,
}

/// How many transactions took more than one write, and how many writes they took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Together {
    pub transactions: u64,
    pub writes: u64,
}

impl Queues {
    pub(super) fn counts(&self) -> Together {
        Together {
            transactions: self.shared.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }

    /// Queues `job`; `true` when no batch of `key` was running, and the caller must lead.
    pub(super) fn push(&self, key: Key, job: Job) -> bool {
        let mut queues = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        match queues.get_mut(&key) {
            Some(waiting) => {
                waiting.push(job);
                false
            }
            None => {
                queues.insert(key, vec![job]);
                true
            }
        }
    }

    /// The next batch of `key`, oldest first; empty (and `key`'s leader done) when none
    /// wait.
    pub(super) fn next(&self, key: Key) -> Vec<Job> {
        let mut queues = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(waiting) = queues.get_mut(&key) else {
            return Vec::new();
        };
        if waiting.is_empty() {
            queues.remove(&key);
            return Vec::new();
        }
        let n = waiting.len().min(MOST);
        if n > 1 {
            self.shared.fetch_add(1, Ordering::Relaxed);
            self.writes.fetch_add(n as u64, Ordering::Relaxed);
        }
        waiting.drain(..n).collect()
    }
}

/// Runs a batch on `conn`: one write alone as its own transaction, several in one
/// transaction, then answers each. `Err` (for the pool's bookkeeping) when a write found
/// the connection broken or the batch did not commit.
pub(super) fn run(conn: &mut PgConnection, jobs: Vec<Job>) -> Result<(), Error> {
    let mut finishes = Vec::with_capacity(jobs.len());
    let mut broken = false;
    let ended = if jobs.len() == 1 {
        for job in jobs {
            let (finish, b) = job(conn);
            broken |= b;
            finishes.push(finish);
        }
        Ok(())
    } else {
        conn.transaction::<(), Error, _>(|conn| {
            for job in jobs {
                let (finish, b) = job(conn);
                broken |= b;
                finishes.push(finish);
            }
            // A write that took no savepoint of its own and met a database error has left
            // the transaction aborted, and PostgreSQL answers COMMIT on an aborted
            // transaction with a rollback that is no error: ask before committing.
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
    };
    for finish in finishes {
        finish(ended.as_ref().map(|_| ()));
    }
    match ended {
        Err(e) => Err(e),
        Ok(()) if broken => Err(Error::Unavailable("a connection broke".into())),
        Ok(()) => Ok(()),
    }
}

/// The answer of a write in a batch that did not commit, when it succeeded or met a
/// database error (perhaps another write's, which aborted the transaction): it was not
/// applied, and the client should retry. A write's own refusal (a 4xx) stands.
pub(super) fn not_committed(batch: &Error) -> Error {
    let why = format!("the transaction that held this write did not commit: {batch}");
    match batch {
        Error::Contention(_) => Error::Contention(why.into()),
        _ => Error::Unavailable(why.into()),
    }
}
