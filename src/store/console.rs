//! The `console_sessions` table: operator console sessions, by the SHA-256 of their id.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Text, Timestamptz};

use super::schema::console_sessions;

#[derive(Insertable, Debug)]
#[diesel(table_name = console_sessions)]
pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub key_id: &'a str,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, new: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(console_sessions::table)
        .values(new)
        .execute(conn)
        .map(drop)
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    #[diesel(sql_type = Text)]
    pub key_id: String,
}

/// The session with this id hash, when it is neither idle since `idle_since` nor past its
/// absolute expiry and its admin key is still live; its last use becomes `now`. One
/// statement, so a session is checked and kept alive at once.
pub fn touch_live(
    conn: &mut PgConnection,
    id_hash: &[u8],
    idle_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<Option<LiveSession>> {
    diesel::sql_query(
        "UPDATE console_sessions s SET last_seen_at = $3 \
         FROM admin_keys k \
         WHERE s.id_hash = $1 AND k.key_id = s.key_id \
           AND s.last_seen_at > $2 AND s.expires_at > $3 \
           AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $3) \
         RETURNING s.key_id",
    )
    .bind::<Bytea, _>(id_hash)
    .bind::<Timestamptz, _>(idle_since)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .optional()
}

/// Ends one session; whether it existed.
pub fn delete(conn: &mut PgConnection, id_hash: &[u8]) -> QueryResult<bool> {
    diesel::delete(console_sessions::table.filter(console_sessions::id_hash.eq(id_hash)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Forgets the sessions that can no longer be used: idle since `idle_since` or past their
/// absolute expiry.
pub fn delete_dead(
    conn: &mut PgConnection,
    idle_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        console_sessions::table.filter(
            console_sessions::expires_at
                .le(now)
                .or(console_sessions::last_seen_at.le(idle_since)),
        ),
    )
    .execute(conn)
}
