//! A private PostgreSQL cluster that `odata-feed` and its integration tests start on their own:
//! it owns finding the server binaries, `initdb`, the superuser password, starting `postgres`
//! as a supervised child on a free loopback port, waiting until it answers, and stopping it.
//!
//! Layout inside the data directory: `pgdata/` (the cluster), `postgres.log` (server log, appended
//! to), `password` (mode 0600, the generated superuser password, reused on every later start).
//!
//! Invariants: the server never outlives us. It is spawned from a dedicated supervisor thread that
//! lives exactly as long as the child and has `PR_SET_PDEATHSIG = SIGINT` (fast shutdown) set, so
//! even a killed parent leaves no stray server; [`Cluster::stop`] and `Drop` stop it explicitly.
//! The server runs in its own process group, so a terminal's Ctrl-C reaches only our process,
//! which then stops the server in order. When run as root, everything runs as the `postgres` user.
//!
//! Files: `setup` finds the binaries and prepares the data directory, the password and the
//! `postgres` user; `process` builds and supervises the `initdb` and `postgres` children; `sql`
//! runs the few blocking statements (readiness, create database, execute); this file holds the
//! public types and the start/stop sequence.

mod process;
mod setup;
mod sql;
#[cfg(test)]
mod tests;

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use process::{Server, free_port, initdb, postgres_command, spawn_supervised};
use setup::{
    bindir_candidates, check_only_ours, check_reachable, chown_tree, find_bindir, is_root, owned_entries,
    postgres_user, prepare_data_dir, read_password, running_postmaster, write_password,
};
use sql::{Work, run_sql};

/// The superuser `initdb` creates; every URL handed out connects as this role.
const SUPERUSER: &str = "postgres";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Fast shutdown writes a checkpoint, which can take a while after a bulk load.
const FAST_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);
const IMMEDIATE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const LOG_TAIL_LINES: usize = 10;

/// Where the cluster lives; see the module doc for the layout inside `data_dir`.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub data_dir: PathBuf,
    /// Where `initdb` and `postgres` are; when `None`, `pg_config --bindir` and then the
    /// newest `/usr/lib/postgresql/*/bin`.
    pub bindir: Option<PathBuf>,
}

/// Why the cluster could not be prepared, started, queried or stopped. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("PostgreSQL server binaries (initdb, postgres) not found: install them with `apt-get install postgresql`")]
    BinariesNotFound,
    #[error("data directory {} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error(
        "data directory {} holds other files (e.g. {name}); use a new or empty directory for the private cluster",
        path.display()
    )]
    Foreign { path: PathBuf, name: String },
    #[error("data directory {} is not writable: {}", path.display(), os_message(source))]
    NotWritable { path: PathBuf, source: io::Error },
    #[error("running as root needs a `postgres` system user; install the postgresql package or run as a normal user")]
    NoPostgresUser,
    #[error(
        "data directory {} is not reachable by the `postgres` user: {} (mode {mode:o}) does not let it pass; use a data directory elsewhere (e.g. under /tmp or /var/lib) or run as a normal user",
        data_dir.display(), blocked_at.display()
    )]
    NotReachable { data_dir: PathBuf, blocked_at: PathBuf, mode: u32 },
    #[error("cannot hand {} to the `postgres` user: {}", path.display(), os_message(source))]
    Chown { path: PathBuf, source: io::Error },
    #[error("data directory {} is in use by another PostgreSQL server (pid {pid})", path.display())]
    InUse { path: PathBuf, pid: i32 },
    #[error(
        "data directory {} holds a cluster but its password file {} is missing or empty",
        path.display(), password_file.display()
    )]
    PasswordMissing { path: PathBuf, password_file: PathBuf },
    #[error("{action} {}: {}", path.display(), os_message(source))]
    Io { action: &'static str, path: PathBuf, source: io::Error },
    #[error("initdb failed ({status}): {output}")]
    InitdbFailed { status: String, output: String },
    #[error("PostgreSQL did not start ({reason}); last lines of {}: {tail}", log.display())]
    StartFailed { reason: String, log: PathBuf, tail: String },
    #[error("SQL on database {database} failed: {message}")]
    Sql { database: String, message: String },
    #[error("PostgreSQL (pid {pid}) did not stop, even after SIGKILL")]
    StopFailed { pid: u32 },
}

/// A running private cluster. Stops the server when dropped.
#[derive(Debug)]
pub struct Cluster {
    data_dir: PathBuf,
    log_path: PathBuf,
    port: u16,
    password: String,
    server: Option<Server>,
}

impl Cluster {
    /// Prepares `options.data_dir` (initdb on first use), starts the server on a free port of
    /// 127.0.0.1 and returns once it answers queries. Blocking; callable with or without a runtime.
    pub fn start(options: &ClusterOptions) -> Result<Cluster, ClusterError> {
        let candidates = match &options.bindir {
            Some(dir) => vec![dir.clone()],
            None => bindir_candidates(),
        };
        let bindir = find_bindir(&candidates)?;
        let data_dir = prepare_data_dir(&options.data_dir)?;
        check_only_ours(&data_dir)?;
        let pgdata = data_dir.join("pgdata");
        let log_path = data_dir.join("postgres.log");
        let password_file = data_dir.join("password");
        if let Some(pid) = running_postmaster(&pgdata) {
            return Err(ClusterError::InUse { path: data_dir, pid });
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(&log_path)
            .map_err(|source| io_error("cannot open the server log", &log_path, source))?;

        let initialized = pgdata.join("PG_VERSION").is_file();
        let password = match read_password(&password_file) {
            Some(password) => password,
            None if initialized => {
                return Err(ClusterError::PasswordMissing { path: data_dir, password_file });
            }
            None => write_password(&password_file)?,
        };

        let run_as = if is_root() {
            let run_as = postgres_user()?;
            check_reachable(&data_dir, run_as)?;
            // Only what the cluster owns: the directory itself and its own entries in it.
            chown_tree(&data_dir, run_as, false)?;
            for entry in owned_entries(&data_dir)? {
                chown_tree(&entry, run_as, true)?;
            }
            Some(run_as)
        } else {
            None
        };

        if !initialized {
            initdb(&bindir, &data_dir, &pgdata, &password_file, run_as, &mut log)?;
        }

        let port =
            free_port().map_err(|source| io_error("cannot find a free port on", Path::new("127.0.0.1"), source))?;
        let _ = writeln!(
            log,
            "---- odata-feed: starting postgres on 127.0.0.1:{port} at unix time {} ----",
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
        );
        let command = postgres_command(&bindir, &data_dir, &pgdata, port, &log, &log_path, run_as)?;
        let server =
            spawn_supervised(command).map_err(|source| io_error("cannot start", &bindir.join("postgres"), source))?;
        let mut cluster = Cluster { data_dir, log_path, port, password, server: Some(server) };
        // On any error from here on, dropping `cluster` stops the server.
        cluster.wait_until_ready()?;
        tracing::debug!(port, data_dir = %cluster.data_dir.display(), "private PostgreSQL is ready");
        Ok(cluster)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(|server| server.pid)
    }

    /// The data directory (canonical path) this cluster lives in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The superuser password (also stored in `data_dir/password`).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}:{}@127.0.0.1:{}/{}", self.password, self.port, percent_encode(database))
    }

    /// Creates database `name` unless it exists. Blocking; safe inside a tokio runtime (the
    /// client runs on its own thread).
    pub fn create_database_if_missing(&self, name: &str) -> Result<(), ClusterError> {
        run_sql(self.client_config("postgres"), Work::CreateDatabase(name.to_string()))
            .map_err(|message| ClusterError::Sql { database: name.to_string(), message })
    }

    /// Runs `sql` (one or more statements, no parameters) on `database`. Blocking; safe inside
    /// a tokio runtime (the client runs on its own thread).
    pub fn execute(&self, database: &str, sql: &str) -> Result<(), ClusterError> {
        run_sql(self.client_config(database), Work::Execute(sql.to_string()))
            .map_err(|message| ClusterError::Sql { database: database.to_string(), message })
    }

    /// Fast shutdown: SIGINT to the postmaster, a bounded wait, then SIGQUIT (and SIGKILL as a
    /// last resort). Idempotent.
    pub fn stop(&mut self) -> Result<(), ClusterError> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        let stopped = server.has_exited()
            || server.signal_and_wait(libc::SIGINT, FAST_SHUTDOWN_TIMEOUT)
            || {
                tracing::warn!(pid = server.pid, "PostgreSQL ignored fast shutdown; sending SIGQUIT");
                server.signal_and_wait(libc::SIGQUIT, IMMEDIATE_SHUTDOWN_TIMEOUT)
            }
            || {
                tracing::warn!(pid = server.pid, "PostgreSQL ignored SIGQUIT; sending SIGKILL");
                server.signal_and_wait(libc::SIGKILL, IMMEDIATE_SHUTDOWN_TIMEOUT)
            };
        if !stopped {
            // The supervisor stays blocked in wait(); leave it detached rather than hang here.
            return Err(ClusterError::StopFailed { pid: server.pid });
        }
        let _ = server.supervisor.join();
        Ok(())
    }

    fn client_config(&self, database: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(SUPERUSER)
            .password(self.password.as_str())
            .dbname(database)
            .application_name("odata-feed-cluster")
            .connect_timeout(Duration::from_secs(5));
        config
    }

    /// Polls until a TCP connect and `SELECT 1` succeed, the server exits, or the timeout passes.
    fn wait_until_ready(&mut self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut last_error = String::from("no connection yet");
        loop {
            if let Some(server) = self.server.as_mut()
                && server.has_exited()
            {
                return Err(self.start_failed("the server exited during startup".to_string()));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(250)).is_ok() {
                match run_sql(self.client_config("postgres"), Work::Ping) {
                    Ok(()) => return Ok(()),
                    Err(message) => last_error = message,
                }
            }
            if Instant::now() >= deadline {
                return Err(
                    self.start_failed(format!("no answer within {} s: {last_error}", STARTUP_TIMEOUT.as_secs()))
                );
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    fn start_failed(&self, reason: String) -> ClusterError {
        ClusterError::StartFailed { reason, log: self.log_path.clone(), tail: log_tail(&self.log_path) }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "stopping the private PostgreSQL failed");
        }
    }
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> ClusterError {
    ClusterError::Io { action, path: path.to_path_buf(), source }
}

/// "Permission denied" rather than "Permission denied (os error 13)".
fn os_message(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// The last lines of the server log, joined on one line.
fn log_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return "(log unreadable)".to_string();
    };
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(64 * 1024)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    last_lines(&String::from_utf8_lossy(&bytes), LOG_TAIL_LINES)
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).filter(|line| !line.is_empty()).collect();
    lines[lines.len().saturating_sub(count)..].join(" | ")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
