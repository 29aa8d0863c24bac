//! One private PostgreSQL per test process, started lazily in `$TMPDIR/odata-feed-test-<pid>`,
//! a migrated template database `odata_template` made once, and a fresh database per test
//! (`CREATE DATABASE t_<n> TEMPLATE odata_template`).
//!
//! The cluster is stopped and its directory deleted by an `atexit` handler; if the process dies
//! harder than that, the server's death signal stops it and the next run deletes the directory.

#![allow(dead_code)] // each test file uses a different part of this module

use odata_feed::db::{
    cluster::{Cluster, ClusterOptions},
    migrate,
};
use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    sync::{
        Mutex, MutexGuard, OnceLock, PoisonError, TryLockError,
        atomic::{AtomicU64, Ordering},
    },
};

/// The migrated database every `fresh_database` is copied from.
pub const TEMPLATE: &str = "odata_template";
const DIR_PREFIX: &str = "odata-feed-test-";

/// A database of its own for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/NAME`
    pub url: String,
    pub name: String,
}

struct Shared {
    /// `None` once the exit handler stopped it. Holding the lock also serializes database
    /// creation, since PostgreSQL refuses concurrent use of a template.
    cluster: Mutex<Option<Cluster>>,
    dir: PathBuf,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
static NEXT_DATABASE: AtomicU64 = AtomicU64::new(1);

/// A fresh database with every migration applied (a copy of the template).
pub async fn fresh_database() -> TestDatabase {
    create_database("t", Some(TEMPLATE)).await
}

/// A fresh database without any migration applied.
pub async fn empty_database() -> TestDatabase {
    create_database("e", None).await
}

/// A fresh copy of another template database of the test cluster (one nobody connects to).
pub async fn copy_of(template: &'static str) -> TestDatabase {
    create_database("c", Some(template)).await
}

/// The URL of `database` on the test cluster (e.g. `postgres` for the maintenance database).
/// Starts the cluster if needed, which blocks for a few seconds the first time.
pub fn cluster_url(database: &str) -> String {
    let shared = shared();
    let guard = lock(shared);
    match guard.as_ref() {
        Some(cluster) => cluster.url(database),
        None => panic!("the test cluster has already been stopped"),
    }
}

/// Runs `sql` (no parameters) on `database` of the test cluster while holding the cluster lock,
/// so it never overlaps the creation of another database: e.g. `CREATE DATABASE ... TEMPLATE`
/// from a template other than `odata_template`. Blocking.
pub fn execute_locked(database: &str, sql: &str) {
    let guard = lock(shared());
    let Some(cluster) = guard.as_ref() else {
        panic!("the test cluster has already been stopped");
    };
    if let Err(error) = cluster.execute(database, sql) {
        panic!("`{sql}` failed on {database}: {error}");
    }
}

/// Runs `sql` on `url` and returns every row.
pub async fn query_rows(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the test database: {error}"));
    let driver = tokio::spawn(connection);
    let rows = client.query(sql, &[]).await.unwrap_or_else(|error| panic!("query failed: {error:?}\n{sql}"));
    drop(client);
    let _ = driver.await;
    rows
}

async fn create_database(prefix: &'static str, template: Option<&'static str>) -> TestDatabase {
    let created = tokio::task::spawn_blocking(move || {
        let shared = shared();
        let name = format!("{prefix}_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
        let sql = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        let guard = lock(shared);
        let Some(cluster) = guard.as_ref() else {
            panic!("the test cluster has already been stopped");
        };
        if let Err(error) = cluster.execute("postgres", &sql) {
            panic!("cannot create test database {name}: {error}");
        }
        TestDatabase { url: cluster.url(&name), name }
    })
    .await;
    match created {
        Ok(database) => database,
        Err(error) => match error.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(error) => panic!("creating a test database was cancelled: {error}"),
        },
    }
}

fn shared() -> &'static Shared {
    match SHARED.get_or_init(start) {
        Ok(shared) => shared,
        Err(message) => panic!("the test cluster is unavailable: {message}"),
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Option<Cluster>> {
    shared.cluster.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the cluster in a fresh directory and builds the template. Runs once per process.
fn start() -> Result<Shared, String> {
    let temp = std::env::temp_dir();
    remove_stale_dirs(&temp);
    let dir = temp.join(format!("{DIR_PREFIX}{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir); // left over by an earlier process with our pid
    fs::create_dir_all(&dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    // Searchable by the `postgres` user, which runs the server when the tests run as root.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
        .map_err(|error| format!("cannot set the mode of {}: {error}", dir.display()))?;

    let cluster = match Cluster::start(&ClusterOptions { data_dir: dir.clone(), bindir: None }) {
        Ok(cluster) => cluster,
        Err(error) => {
            let _ = fs::remove_dir_all(&dir);
            return Err(error.to_string());
        }
    };
    if let Err(message) = build_template(&cluster) {
        drop(cluster);
        let _ = fs::remove_dir_all(&dir);
        return Err(message);
    }
    // SAFETY: registers a plain `extern "C"` function without arguments.
    if unsafe { libc::atexit(stop_at_exit) } != 0 {
        eprintln!("cannot register the test cluster's exit handler; the server's death signal will stop it");
    }
    Ok(Shared { cluster: Mutex::new(Some(cluster)), dir })
}

fn build_template(cluster: &Cluster) -> Result<(), String> {
    cluster.create_database_if_missing(TEMPLATE).map_err(|error| error.to_string())?;
    let url = cluster.url(TEMPLATE);
    // diesel's sync connection: keep it off any async runtime's threads.
    std::thread::spawn(move || migrate::run(&url).map(drop).map_err(|error| format!("{error:#}")))
        .join()
        .map_err(|_| "migrating the template panicked".to_string())??;
    // Nothing may connect to the template, or copying it fails; lock that in.
    cluster
        .execute("postgres", &format!("ALTER DATABASE {TEMPLATE} WITH ALLOW_CONNECTIONS false"))
        .map_err(|error| error.to_string())
}

/// Deletes `odata-feed-test-<pid>` directories whose process is gone.
fn remove_stale_dirs(temp: &Path) {
    let Ok(entries) = fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|name| name.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Ok(pid) = pid.parse::<libc::pid_t>() else {
            continue;
        };
        if pid <= 0 || u32::try_from(pid).ok() == Some(std::process::id()) {
            continue;
        }
        // SAFETY: signal 0 only checks whether the process exists.
        let gone =
            unsafe { libc::kill(pid, 0) } == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Stops the cluster and deletes its directory when the test process exits. Never panics.
extern "C" fn stop_at_exit() {
    let Some(Ok(shared)) = SHARED.get() else {
        return;
    };
    let cluster = match shared.cluster.try_lock() {
        Ok(mut guard) => guard.take(),
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
        // A test thread is mid-statement; the death signal stops the server instead and the
        // next run deletes the directory.
        Err(TryLockError::WouldBlock) => None,
    };
    if let Some(mut cluster) = cluster {
        let _ = cluster.stop();
        drop(cluster);
        let _ = fs::remove_dir_all(&shared.dir);
    }
}

/// Whether `pg_stat_statements` works in the database at `url`: creates the extension there if
/// missing and reads its view once. False when the server did not preload the module (the test
/// cluster preloads it whenever the installation has it).
pub async fn statement_stats_available(url: &str) -> bool {
    let Ok((client, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await else {
        return false;
    };
    let driver = tokio::spawn(connection);
    let works = client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await.is_ok()
        && client.query("SELECT 1 FROM pg_stat_statements LIMIT 1", &[]).await.is_ok();
    drop(client);
    let _ = driver.await;
    works
}

/// Forgets the statement statistics of the database at `url` (only that database's, so tests
/// in other databases keep theirs). Needs `statement_stats_available`.
pub async fn reset_statement_stats(url: &str) {
    query_rows(
        url,
        "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
    )
    .await;
}

/// The statements run in `database_name` since the last reset, as (normalized query text,
/// calls), most called first and then by text; without the statistics helpers' own statements
/// (those reading `pg_stat_statements` or `pg_database`, and the extension's creation). A
/// statement is counted when it ends, so a request is fully counted once its body has been read.
pub async fn statements_run(url: &str, database_name: &str) -> Vec<(String, i64)> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the test database: {error}"));
    let driver = tokio::spawn(connection);
    let sql = "SELECT s.query, sum(s.calls)::bigint FROM pg_stat_statements s \
               WHERE s.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = $1) \
               AND s.query NOT ILIKE '%pg_stat_statements%' AND s.query NOT ILIKE '%pg_database%' \
               GROUP BY s.query ORDER BY 2 DESC, 1";
    let rows = client
        .query(sql, &[&database_name])
        .await
        .unwrap_or_else(|error| panic!("reading pg_stat_statements failed: {error:?}"));
    drop(client);
    let _ = driver.await;
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}
