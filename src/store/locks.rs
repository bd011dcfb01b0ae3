//! PostgreSQL advisory locks. Every id scimd takes is named here, in one place, so that no
//! two uses share one by accident: an advisory lock is a number per database, which any
//! client of the database can take too.

use diesel::pg::PgConnection;
use diesel::result::QueryResult;
use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;

/// One advisory lock id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvisoryLock(i64);

/// Serialises migrators: nodes starting at once run the pending migrations one after the
/// other (held by the session around the run).
pub const MIGRATIONS: AdvisoryLock = AdvisoryLock(727_274);

/// Serialises the first-start bootstrap, so nodes starting at once on an empty database
/// create the default tenant once (held for the bootstrap's transaction).
pub const BOOTSTRAP: AdvisoryLock = AdvisoryLock(727_275);

/// Serialises the event sequencer of each tenant (keyed by tenant), so feed positions are
/// given in commit order (held for the sequencer's transaction; see
/// `store::events::sequence`).
pub const EVENT_SEQUENCER: AdvisoryLock = AdvisoryLock(727_276);

/// Serialises test processes that build the migrated template database the integration
/// tests clone (held by the session, on the server's `postgres` database).
pub const TEST_TEMPLATE: AdvisoryLock = AdvisoryLock(7_272_701);

/// Every lock above, for the test that they are distinct.
pub const ALL: [AdvisoryLock; 4] = [MIGRATIONS, BOOTSTRAP, EVENT_SEQUENCER, TEST_TEMPLATE];

impl AdvisoryLock {
    pub const fn id(self) -> i64 {
        self.0
    }

    /// Waits for the lock and holds it until the current transaction ends.
    pub fn lock_for_transaction(self, conn: &mut PgConnection) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(self.0)
            .execute(conn)
            .map(drop)
    }

    /// Waits for this lock's instance for `key` (one per tenant, say) and holds it until
    /// the current transaction ends. Keys share an instance only when their hashes
    /// collide, which merely makes them wait for each other.
    pub fn lock_keyed_for_transaction(
        self,
        conn: &mut PgConnection,
        key: uuid::Uuid,
    ) -> QueryResult<()> {
        // The two-number form is a space of its own, apart from the one-number locks.
        diesel::sql_query("SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))")
            .bind::<BigInt, _>(self.0)
            .bind::<diesel::sql_types::Text, _>(key.to_string())
            .execute(conn)
            .map(drop)
    }

    /// Waits for the lock and holds it until [`AdvisoryLock::unlock_session`] or the end
    /// of the session.
    pub fn lock_for_session(self, conn: &mut PgConnection) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<BigInt, _>(self.0)
            .execute(conn)
            .map(drop)
    }

    /// Releases a lock taken by [`AdvisoryLock::lock_for_session`].
    pub fn unlock_session(self, conn: &mut PgConnection) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(self.0)
            .execute(conn)
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_lock_has_its_own_id() {
        let ids: HashSet<i64> = ALL.iter().map(|l| l.id()).collect();
        assert_eq!(ids.len(), ALL.len());
    }
}
