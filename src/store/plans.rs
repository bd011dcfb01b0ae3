//! Plans that keep up with the tables, whatever their statistics say.
//!
//! PostgreSQL plans a kept (prepared) statement afresh for its first five runs, then
//! settles on one generic plan and reuses it for the life of the connection, until
//! something invalidates it: an `ANALYZE` of a table it reads, say. A plan made while a
//! table was small or had no statistics (a new deployment, or any server where autovacuum
//! has not analysed the table yet) can read a tenant's whole index where a later one would
//! read one entry: on a table that PostgreSQL believes holds a few hundred rows, an index
//! on `tenant_id` alone costs the same as the one that finds the row. The plan then stays
//! that way as the table grows to 100,000 rows. Measured before this: creates fell from
//! ~3,300/s to ~300/s on a tenant grown through the server without `ANALYZE`.
//!
//! Without statistics, PostgreSQL still sizes a table by its current number of pages, so
//! a plan made once the table has grown is sized for it. So a watcher reads the size of the
//! tables the hot statements read, once a second ([`Replan::observe`]); when one has doubled
//! since the last time (or first passed [`FLOOR`]), every connection drops its plans
//! (`DISCARD PLANS`, which keeps the prepared statements) before it is next handed out, and
//! plans again as it runs them. Growing from nothing to 100,000 users replans about ten
//! times; a table that does not grow never does.
//!
//! Statements whose choice of index could still go wrong at some size take a shape that
//! leaves PostgreSQL one index to use (a read by id uses the primary key alone:
//! [`super::users::view`]).

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{PgConnection, QueryResult, QueryableByName, RunQueryDsl};

/// What a connection runs before it is handed out once the tables have grown.
pub const DISCARD: &str = "DISCARD PLANS";

/// The tables whose size the hot statements' plans depend on.
const TABLES: &str = "'users', 'groups', 'group_members'";

/// The size (bytes) a table must reach before its first growth counts: below it, any
/// plan reads a few pages.
pub const FLOOR: i64 = 64 * 1024;

/// When the tables last grew enough for plans to be made again.
#[derive(Debug, Default)]
pub struct Replan {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Each table's size when its growth last counted.
    sizes: Vec<(String, i64)>,
    /// When that last happened; `None` before the first time.
    at: Option<Instant>,
    /// How many times it happened (for `/metrics`).
    times: u64,
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

impl Replan {
    /// Reads the tables' sizes on `conn`, and marks every connection's plans as made too
    /// early when a table has doubled since the last mark (or first passed [`FLOOR`]).
    /// Returns whether it did.
    pub fn observe(&self, conn: &mut PgConnection) -> QueryResult<bool> {
        let sizes: Vec<Size> = diesel::sql_query(format!(
            "SELECT relname::text AS name, pg_relation_size(oid) AS bytes FROM pg_class \
             WHERE relkind = 'r' AND relname IN ({TABLES}) \
             AND relnamespace = to_regnamespace(current_schema())::oid"
        ))
        .load(conn)?;
        Ok(self.grew(sizes.into_iter().map(|s| (s.name, s.bytes)), Instant::now()))
    }

    fn grew(&self, sizes: impl IntoIterator<Item = (String, i64)>, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut grew = false;
        for (name, bytes) in sizes {
            match state.sizes.iter_mut().find(|(n, _)| *n == name) {
                Some((_, last)) => {
                    if bytes >= FLOOR && bytes >= last.saturating_mul(2) {
                        *last = bytes;
                        grew = true;
                    }
                }
                // The first reading, when the server starts: growth counts from here.
                None => state.sizes.push((name, bytes)),
            }
        }
        if grew {
            state.at = Some(now);
            state.times += 1;
        }
        grew
    }

    /// Whether a connection whose plans were made at `planned` (when it was made, or last
    /// dropped its plans) must drop them before its next use.
    pub fn stale(&self, planned: Instant) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.at.is_some_and(|at| planned <= at)
    }

    /// How many times the tables grew enough for plans to be made again.
    pub fn times(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .times
    }
}

/// Drops `conn`'s plans (not its prepared statements).
pub fn discard(conn: &mut PgConnection) -> QueryResult<()> {
    conn.batch_execute(DISCARD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sizes(users: i64) -> Vec<(String, i64)> {
        vec![("users".into(), users), ("groups".into(), 8192)]
    }

    #[test]
    fn plans_are_made_again_each_time_a_table_doubles() {
        let replan = Replan::default();
        let t0 = Instant::now();
        let later = |s| t0 + Duration::from_secs(s);
        // The first reading sets where growth counts from.
        assert!(!replan.grew(sizes(0), later(1)));
        assert!(!replan.stale(t0));
        // Below the floor nothing counts; past it, the first growth does.
        assert!(!replan.grew(sizes(FLOOR - 1), later(2)));
        assert!(replan.grew(sizes(FLOOR), later(3)));
        assert!(replan.stale(later(2)));
        assert!(!replan.stale(later(4)));
        // Then only a doubling.
        assert!(!replan.grew(sizes(2 * FLOOR - 1), later(5)));
        assert!(replan.grew(sizes(2 * FLOOR), later(6)));
        assert!(replan.stale(later(5)));
        assert!(!replan.grew(sizes(2 * FLOOR), later(7)));
        assert_eq!(replan.times(), 2);
    }
}
