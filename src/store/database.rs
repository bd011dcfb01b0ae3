//! Creating the database and running the embedded migrations (`scimd migrate`).

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::locks;
use super::rows::Exists;
use crate::config::DatabaseUrl;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot connect to PostgreSQL at {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("cannot create database `{name}`: {source}")]
    Create {
        name: String,
        source: diesel::result::Error,
    },
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Opens a connection, with an error message that names the server but not the credentials.
pub fn connect(url: &DatabaseUrl) -> Result<PgConnection, MigrateError> {
    PgConnection::establish(url.expose()).map_err(|e| MigrateError::Connect {
        server: url.server(),
        reason: url.redact(&first_line(&e.to_string())),
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

/// Creates the database `url` names when it does not exist yet. Two processes racing to
/// create it both succeed.
pub fn create_if_missing(url: &DatabaseUrl) -> Result<bool, MigrateError> {
    let name = url.database_name();
    let mut admin = connect(&url.with_database("postgres"))?;
    let found = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind::<Text, _>(&name)
        .get_result::<Exists>(&mut admin)
        .map_err(|source| MigrateError::Create {
            name: name.clone(),
            source,
        })?;
    if found.exists {
        return Ok(false);
    }
    match diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(&name))).execute(&mut admin) {
        Ok(_) => Ok(true),
        // 42P04 duplicate_database (another process won the race); diesel reports it unclassified.
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("already exists") =>
        {
            Ok(false)
        }
        Err(source) => Err(MigrateError::Create { name, source }),
    }
}

/// `"name"` with embedded quotes doubled: a safe SQL identifier for any database name.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Runs every pending embedded migration; a no-op when none is pending.
pub fn run_migrations(conn: &mut PgConnection) -> Result<usize, MigrateError> {
    // Serialise concurrent migrators (several nodes starting at once).
    locks::MIGRATIONS
        .lock_for_session(conn)
        .map_err(|e| MigrateError::Migration(e.to_string()))?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|done| done.len())
        .map_err(|e| MigrateError::Migration(e.to_string()));
    let _ = locks::MIGRATIONS.unlock_session(conn);
    result
}

/// `scimd migrate`: create the database if needed, then migrate it.
pub fn migrate(url: &DatabaseUrl) -> Result<usize, MigrateError> {
    create_if_missing(url)?;
    let mut conn = connect(url)?;
    run_migrations(&mut conn)
}
