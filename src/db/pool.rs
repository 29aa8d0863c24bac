//! The connection pool used by request handlers and the demo loader (tokio-postgres through
//! deadpool), and the reachability check behind `/readyz`.

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::{str::FromStr, time::Duration};
use tokio_postgres::NoTls;

/// Builds a pool for `database_url` and checks that the database answers.
pub async fn connect(database_url: &str, max_size: usize) -> anyhow::Result<Pool> {
    let (pool, where_to) = build(database_url, max_size)?;
    ping(&pool).await.with_context(|| format!("cannot connect to the database at {where_to}"))?;
    Ok(pool)
}

/// The role request statements run as: subject to row-level security (see the migration
/// `row_level_security`).
pub const READER_ROLE: &str = "odata_feed_reader";

/// Builds the pool that serves reads and checks that the database answers, and that its
/// sessions cannot bypass row-level security. Its sessions run as `READER_ROLE`, in UTC with
/// ISO dates (the text form of sort keys in skiptokens depends on both), and bound every
/// statement by `statement_timeout`.
pub async fn connect_reader(database_url: &str, max_size: usize, statement_timeout: Duration) -> anyhow::Result<Pool> {
    let (pool, where_to) = build_reader(database_url, max_size, statement_timeout)?;
    ping(&pool).await.with_context(|| format!("cannot connect to the database at {where_to}"))?;
    // Text is sent to clients as PostgreSQL hands it over; only SQL_ASCII skips validation.
    let client = pool.get().await.map_err(|e| anyhow::anyhow!("{}", root_cause(&e)))?;
    let encoding: String = client.query_one("SHOW server_encoding", &[]).await?.get(0);
    anyhow::ensure!(encoding != "SQL_ASCII", "the database at {where_to} uses SQL_ASCII; the feed needs UTF8");
    refuse_bypass(&client, &where_to, "requests would read").await?;
    Ok(pool)
}

/// The role ingestion writes as: subject to row-level security like the reader, allowed to
/// insert and update the statistical tables and the lookup source (see the migration
/// `ingestion_writer`).
pub const WRITER_ROLE: &str = "odata_feed_writer";

/// Builds the pool ingestion writes with and checks that its sessions cannot bypass
/// row-level security. Its sessions run as `WRITER_ROLE`, in UTC, without a statement
/// timeout (a batch takes as long as its size needs).
pub async fn connect_writer(database_url: &str, max_size: usize) -> anyhow::Result<Pool> {
    let options = format!("-c role={WRITER_ROLE} -c TimeZone=UTC -c statement_timeout=0");
    let (pool, where_to) = build_with(database_url, max_size, Some(&options))?;
    ping(&pool).await.with_context(|| format!("cannot connect to the database at {where_to}"))?;
    let client = pool.get().await.map_err(|e| anyhow::anyhow!("{}", root_cause(&e)))?;
    refuse_bypass(&client, &where_to, "ingestion would write").await?;
    Ok(pool)
}

/// Fails when the session's role could bypass row-level security (superuser, BYPASSRLS, or
/// owner of tables).
async fn refuse_bypass(client: &tokio_postgres::Client, where_to: &str, doing: &str) -> anyhow::Result<()> {
    let role = client
        .query_one(
            "SELECT current_user::text, r.rolsuper, r.rolbypassrls, \
                    EXISTS (SELECT FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p')) \
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .with_context(|| format!("cannot check the role at {where_to}"))?;
    let (name, superuser, bypass, owner): (String, bool, bool, bool) =
        (role.get(0), role.get(1), role.get(2), role.get(3));
    anyhow::ensure!(
        !superuser && !bypass && !owner,
        "{doing} as `{name}`, which can bypass row-level security (superuser {superuser}, BYPASSRLS {bypass}, owns tables {owner}); the feed refuses to run like that"
    );
    Ok(())
}

/// Builds a reader pool (see `connect_reader`) without connecting yet.
pub fn build_reader(
    database_url: &str,
    max_size: usize,
    statement_timeout: Duration,
) -> anyhow::Result<(Pool, String)> {
    let millis = statement_timeout.as_millis().max(1);
    let options = format!(
        "-c role={READER_ROLE} -c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c statement_timeout={millis}"
    );
    build_with(database_url, max_size, Some(&options))
}

/// Builds a pool without connecting yet; also returns `host:port/dbname` for messages.
pub fn build(database_url: &str, max_size: usize) -> anyhow::Result<(Pool, String)> {
    build_with(database_url, max_size, None)
}

fn build_with(database_url: &str, max_size: usize, options: Option<&str>) -> anyhow::Result<(Pool, String)> {
    let mut config =
        tokio_postgres::Config::from_str(database_url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
    config.connect_timeout(Duration::from_secs(10));
    config.application_name("odata-feed");
    if let Some(options) = options {
        config.options(options);
    }
    let where_to = describe(&config);
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(10)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .context("cannot build the connection pool")?;
    Ok((pool, where_to))
}

/// Succeeds when a pooled connection answers `SELECT 1`.
pub async fn ping(pool: &Pool) -> anyhow::Result<()> {
    let client = pool.get().await.map_err(|e| anyhow::anyhow!("{}", root_cause(&e)))?;
    client.simple_query("SELECT 1").await?;
    Ok(())
}

/// `host:port/dbname` of a configuration, without user or password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or("postgres"))
}

/// The innermost error message, which is the informative one for connection failures.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
