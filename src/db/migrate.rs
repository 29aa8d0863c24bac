//! Applies and reverts the diesel migrations under `migrations/`, embedded in the binary.
//!
//! Invariant: migrations run under a session advisory lock, so several instances starting
//! together against one database apply them once.

use anyhow::{Context, anyhow};
use diesel::{Connection, RunQueryDsl, pg::PgConnection, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory lock key held while migrating ("odfmigr" in ASCII).
const MIGRATION_LOCK: i64 = 0x006f_6466_6d69_6772;

/// Applies every pending migration; returns how many were applied. Blocking.
pub fn run(database_url: &str) -> anyhow::Result<usize> {
    with_lock(database_url, |conn| {
        let applied = conn.run_pending_migrations(MIGRATIONS).map_err(|e| anyhow!("{e}"))?;
        Ok(applied.len())
    })
}

/// Reverts every applied migration, newest first; returns how many were reverted. Blocking.
pub fn revert_all(database_url: &str) -> anyhow::Result<usize> {
    with_lock(database_url, |conn| {
        let reverted = conn.revert_all_migrations(MIGRATIONS).map_err(|e| anyhow!("{e}"))?;
        Ok(reverted.len())
    })
}

fn with_lock<T>(database_url: &str, work: impl FnOnce(&mut PgConnection) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let mut conn = PgConnection::establish(database_url)
        .map_err(|e| anyhow!("{}", e.to_string().trim()))
        .context("cannot connect to the database to migrate it")?;
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(&mut conn)?;
    let outcome = work(&mut conn).context("migrating the database failed");
    sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(&mut conn)?;
    outcome
}
