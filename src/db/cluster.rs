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

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The superuser `initdb` creates; every URL handed out connects as this role.
const SUPERUSER: &str = "postgres";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Fast shutdown writes a checkpoint, which can take a while after a bulk load.
const FAST_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);
const IMMEDIATE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const PASSWORD_LEN: usize = 32;
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

/// The supervised postmaster: its pid and the supervisor thread reporting its exit.
#[derive(Debug)]
struct Server {
    pid: u32,
    exit: Receiver<io::Result<ExitStatus>>,
    exited: bool,
    supervisor: JoinHandle<()>,
}

/// The unprivileged account the server runs as when we are root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: libc::uid_t,
    gid: libc::gid_t,
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
            chown_tree(&data_dir, run_as)?;
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
        tracing::info!(port, data_dir = %cluster.data_dir.display(), "private PostgreSQL is ready");
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

impl Server {
    /// True once the supervisor reported the exit (or vanished, which means the same).
    fn has_exited(&mut self) -> bool {
        if !self.exited {
            self.exited = !matches!(self.exit.try_recv(), Err(TryRecvError::Empty));
        }
        self.exited
    }

    fn signal_and_wait(&mut self, signal: libc::c_int, timeout: Duration) -> bool {
        if self.has_exited() {
            return true;
        }
        let Ok(pid) = libc::pid_t::try_from(self.pid) else {
            return false;
        };
        // SAFETY: kill has no memory-safety preconditions. The child is not reaped before the
        // supervisor reports its exit, which we checked just above, so the pid is still ours.
        unsafe { libc::kill(pid, signal) };
        self.exited = !matches!(self.exit.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
        self.exited
    }
}

/// `pg_config --bindir` first, then `/usr/lib/postgresql/*/bin`, highest version first.
fn bindir_candidates() -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").stderr(Stdio::null()).output()
        && output.status.success()
    {
        let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !dir.is_empty() {
            candidates.push(PathBuf::from(dir));
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u32>> = name.split('.').map(|part| part.parse().ok()).collect();
            version.map(|version| (version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    candidates.extend(versions.into_iter().map(|(_, dir)| dir));
    candidates
}

/// The first candidate holding both `initdb` and `postgres`. (`pg_config` may come from
/// libpq-dev and name a bindir the server package never filled.)
fn find_bindir(candidates: &[PathBuf]) -> Result<PathBuf, ClusterError> {
    candidates
        .iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
        .cloned()
        .ok_or(ClusterError::BinariesNotFound)
}

/// Creates the data directory if missing, checks it is a writable directory, and returns its
/// canonical path.
fn prepare_data_dir(path: &Path) -> Result<PathBuf, ClusterError> {
    let not_writable = |source| ClusterError::NotWritable { path: path.to_path_buf(), source };
    match fs::metadata(path) {
        Ok(metadata) if !metadata.is_dir() => {
            return Err(ClusterError::NotADirectory { path: path.to_path_buf() });
        }
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(path).map_err(not_writable)?;
        }
        Err(error) => return Err(not_writable(error)),
    }
    let probe = path.join(format!(".write-probe-{}", std::process::id()));
    File::create(&probe).map_err(not_writable)?;
    let _ = fs::remove_file(&probe);
    path.canonicalize().map_err(not_writable)
}

/// The pid in `pgdata/postmaster.pid` if that process is alive.
fn running_postmaster(pgdata: &Path) -> Option<i32> {
    let contents = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let pid: i32 = contents.lines().next()?.trim().parse().ok()?;
    process_alive(pid).then_some(pid)
}

fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn read_password(path: &Path) -> Option<String> {
    let password = fs::read_to_string(path).ok()?.trim().to_string();
    if password.is_empty() {
        return None;
    }
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    Some(password)
}

/// Generates a password of random alphanumerics from /dev/urandom and stores it (mode 0600).
fn write_password(path: &Path) -> Result<String, ClusterError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let urandom = Path::new("/dev/urandom");
    let mut random = File::open(urandom).map_err(|source| io_error("cannot read", urandom, source))?;
    let mut password = String::with_capacity(PASSWORD_LEN);
    let mut buffer = [0u8; 64];
    while password.len() < PASSWORD_LEN {
        random.read_exact(&mut buffer).map_err(|source| io_error("cannot read", urandom, source))?;
        // Rejection sampling keeps every character equally likely (248 = 4 * 62).
        for byte in buffer.iter().filter(|&&byte| byte < 248) {
            if password.len() < PASSWORD_LEN {
                password.push(char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]));
            }
        }
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| ClusterError::NotWritable { path: path.to_path_buf(), source })?;
    writeln!(file, "{password}").map_err(|source| ClusterError::NotWritable { path: path.to_path_buf(), source })?;
    Ok(password)
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Looks up the `postgres` system user (thread-safe `getpwnam_r`).
fn postgres_user() -> Result<RunAs, ClusterError> {
    let name = CString::new(SUPERUSER).map_err(|_| ClusterError::NoPostgresUser)?;
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain old data; an all-zero value is valid and getpwnam_r fills it.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call and the buffer length is exact.
    let status = unsafe { libc::getpwnam_r(name.as_ptr(), &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut found) };
    if status != 0 || found.is_null() {
        return Err(ClusterError::NoPostgresUser);
    }
    Ok(RunAs { uid: entry.pw_uid, gid: entry.pw_gid })
}

/// Every ancestor of `data_dir` must let the `postgres` user search it.
fn check_reachable(data_dir: &Path, run_as: RunAs) -> Result<(), ClusterError> {
    for ancestor in data_dir.ancestors().skip(1) {
        let metadata = fs::metadata(ancestor).map_err(|source| io_error("cannot inspect", ancestor, source))?;
        let mode = metadata.mode() & 0o7777;
        let searchable = mode & 0o001 != 0
            || (metadata.uid() == run_as.uid && mode & 0o100 != 0)
            || (metadata.gid() == run_as.gid && mode & 0o010 != 0);
        if !searchable {
            return Err(ClusterError::NotReachable {
                data_dir: data_dir.to_path_buf(),
                blocked_at: ancestor.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// `chown -R` without following symlinks; entries vanishing meanwhile are fine.
fn chown_tree(path: &Path, run_as: RunAs) -> Result<(), ClusterError> {
    let chown_error = |source| ClusterError::Chown { path: path.to_path_buf(), source };
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(chown_error(error)),
    };
    if metadata.uid() != run_as.uid || metadata.gid() != run_as.gid {
        match std::os::unix::fs::lchown(path, Some(run_as.uid), Some(run_as.gid)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(chown_error(error));
            }
            _ => {}
        }
    }
    if metadata.is_dir() {
        for entry in fs::read_dir(path).map_err(chown_error)? {
            chown_tree(&entry.map_err(chown_error)?.path(), run_as)?;
        }
    }
    Ok(())
}

/// `initdb` with a C.UTF-8 locale, or no locale where C.UTF-8 is unavailable.
fn initdb(
    bindir: &Path,
    data_dir: &Path,
    pgdata: &Path,
    password_file: &Path,
    run_as: Option<RunAs>,
    log: &mut File,
) -> Result<(), ClusterError> {
    let mut last = None;
    for locale in ["--locale=C.UTF-8", "--no-locale"] {
        let mut command = Command::new(bindir.join("initdb"));
        command
            .arg("-D")
            .arg(pgdata)
            .args(["-U", SUPERUSER, "--auth=scram-sha-256", "-E", "UTF8", locale])
            .arg(format!("--pwfile={}", password_file.display()))
            .current_dir(data_dir)
            .stdin(Stdio::null());
        restrict_child(&mut command, run_as);
        let output = command.output().map_err(|source| io_error("cannot run", &bindir.join("initdb"), source))?;
        let _ = log.write_all(&output.stdout);
        let _ = log.write_all(&output.stderr);
        if output.status.success() {
            return Ok(());
        }
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let locale_problem = text.contains("locale");
        last = Some(ClusterError::InitdbFailed {
            status: output.status.to_string(),
            output: last_lines(&text, LOG_TAIL_LINES),
        });
        if !locale_problem {
            break;
        }
    }
    Err(last.unwrap_or(ClusterError::BinariesNotFound))
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn postgres_command(
    bindir: &Path,
    data_dir: &Path,
    pgdata: &Path,
    port: u16,
    log: &File,
    log_path: &Path,
    run_as: Option<RunAs>,
) -> Result<Command, ClusterError> {
    let log_handle = || log.try_clone().map_err(|source| io_error("cannot open the server log", log_path, source));
    // A socket path longer than sun_path (108 bytes) or with list separators: TCP only.
    let socket_dir = data_dir.to_string_lossy();
    let socket_dir = if socket_dir.len() < 80 && !socket_dir.contains([',', ' ', '\'', '"', '\\']) {
        socket_dir.into_owned()
    } else {
        String::new()
    };
    let mut command = Command::new(bindir.join("postgres"));
    command
        .arg("-D")
        .arg(pgdata)
        .arg("-p")
        .arg(port.to_string())
        .args(["-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!("unix_socket_directories={socket_dir}"))
        .args(["-c", "logging_collector=off"])
        .args(["-c", "max_connections=200"])
        .args(["-c", "shared_buffers=256MB"])
        .current_dir(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_handle()?))
        .stderr(Stdio::from(log_handle()?));
    restrict_child(&mut command, run_as);
    Ok(command)
}

/// Own process group (a terminal's Ctrl-C is ours to handle), then in the child: drop to the
/// `postgres` user when root, die with the spawning thread, and bail if the parent is gone.
fn restrict_child(command: &mut Command, run_as: Option<RunAs>) {
    command.process_group(0);
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the hook only makes async-signal-safe system calls (setgroups, setgid, setuid,
    // prctl, getppid) and allocates nothing.
    unsafe {
        command.pre_exec(move || in_child(run_as, parent));
    }
}

fn in_child(run_as: Option<RunAs>, parent: libc::pid_t) -> io::Result<()> {
    if let Some(RunAs { uid, gid }) = run_as {
        let groups = [gid];
        // SAFETY: plain system calls; `groups` outlives the call.
        unsafe {
            if libc::setgroups(1, groups.as_ptr()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    // Credential changes clear the death signal, so it is set after them.
    // SAFETY: plain system calls.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT as libc::c_ulong, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::getppid() != parent {
            // The parent died before the death signal was armed.
            libc::_exit(1);
        }
    }
    Ok(())
}

/// Spawns from a supervisor thread that lives exactly as long as the child (PDEATHSIG fires when
/// the spawning *thread* exits), and reports the child's exit over a channel.
fn spawn_supervised(mut command: Command) -> io::Result<Server> {
    let (pid_sender, pid_receiver) = mpsc::channel();
    let (exit_sender, exit) = mpsc::channel();
    let supervisor = thread::Builder::new().name("postgres-supervisor".to_string()).spawn(move || {
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                let _ = pid_sender.send(Err(error));
                return;
            }
        };
        let _ = pid_sender.send(Ok(child.id()));
        let _ = exit_sender.send(child.wait());
    })?;
    let pid = match pid_receiver.recv() {
        Ok(result) => result?,
        Err(_) => {
            return Err(io::Error::other("the supervisor thread ended before spawning"));
        }
    };
    Ok(Server { pid, exit, exited: false, supervisor })
}

/// What a short-lived client does on its own thread.
enum Work {
    Ping,
    Execute(String),
    CreateDatabase(String),
}

/// Runs `work` with a fresh connection on a new thread with a current-thread runtime, so it
/// works whether or not the caller is inside a tokio runtime.
fn run_sql(config: tokio_postgres::Config, work: Work) -> Result<(), String> {
    let worker = thread::Builder::new()
        .name("postgres-client".to_string())
        .spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async move {
                let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(|e| describe(&e))?;
                let driver = tokio::spawn(connection);
                let result = match work {
                    Work::Ping => client.simple_query("SELECT 1").await.map(drop),
                    Work::Execute(sql) => client.batch_execute(&sql).await,
                    Work::CreateDatabase(name) => create_database(&client, &name).await,
                };
                drop(client);
                let _ = driver.await;
                result.map_err(|e| describe(&e))
            })
        })
        .map_err(|error| format!("cannot start a client thread: {error}"))?;
    worker.join().map_err(|_| "the client thread panicked".to_string())?
}

async fn create_database(client: &tokio_postgres::Client, name: &str) -> Result<(), tokio_postgres::Error> {
    let existing = client.query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?;
    if !existing.is_empty() {
        return Ok(());
    }
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match client.batch_execute(&format!("CREATE DATABASE {quoted}")).await {
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => Ok(()),
        other => other,
    }
}

/// The error and its sources on one line.
fn describe(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.replace('\n', " ")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A temp dir the `postgres` user can pass through when the tests run as root.
    fn tempdir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn options(dir: &Path) -> ClusterOptions {
        ClusterOptions { data_dir: dir.join("cluster"), bindir: None }
    }

    fn is_gone(pid: u32) -> bool {
        // SAFETY: signal 0 only checks for existence.
        let result = unsafe { libc::kill(pid as libc::pid_t, 0) };
        result == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }

    #[test]
    fn a_started_cluster_answers_queries_and_leaves_no_process_after_stop() {
        let dir = tempdir();
        let mut cluster = Cluster::start(&options(dir.path())).unwrap();
        let pid = cluster.pid().unwrap();
        cluster.execute("postgres", "SELECT 1").unwrap();
        cluster.create_database_if_missing("feed").unwrap();
        cluster.create_database_if_missing("feed").unwrap();
        cluster.execute("feed", "CREATE TABLE t (id int)").unwrap();
        assert!(cluster.url("feed").starts_with("postgres://postgres:"));
        assert!(cluster.url("feed").ends_with(&format!("@127.0.0.1:{}/feed", cluster.port())));
        let password = dir.path().join("cluster/password");
        assert_eq!(fs::metadata(&password).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::read_to_string(&password).unwrap().trim().len(), PASSWORD_LEN);

        cluster.stop().unwrap();
        assert!(is_gone(pid), "postmaster {pid} still exists");
        assert!(cluster.pid().is_none());
        cluster.stop().unwrap();
    }

    #[test]
    fn a_second_start_on_the_same_data_dir_reuses_the_cluster_and_keeps_its_data() {
        let dir = tempdir();
        let first = Cluster::start(&options(dir.path())).unwrap();
        first.execute("postgres", "CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)").unwrap();
        let password = first.password().to_string();
        let pg_version = dir.path().join("cluster/pgdata/PG_VERSION");
        let initialized_at = fs::metadata(&pg_version).unwrap().modified().unwrap();
        drop(first);

        let second = Cluster::start(&options(dir.path())).unwrap();
        assert_eq!(second.password(), password);
        assert_eq!(fs::metadata(&pg_version).unwrap().modified().unwrap(), initialized_at);
        second
            .execute(
                "postgres",
                "DO $$ BEGIN IF (SELECT sum(id) FROM kept) IS DISTINCT FROM 7 THEN \
                 RAISE EXCEPTION 'data lost'; END IF; END $$",
            )
            .unwrap();
    }

    #[test]
    fn a_data_dir_in_use_by_a_running_server_is_refused() {
        let dir = tempdir();
        let running = Cluster::start(&options(dir.path())).unwrap();
        let error = Cluster::start(&options(dir.path())).unwrap_err();
        let pid = running.pid().unwrap();
        assert!(error.to_string().ends_with(&format!("is in use by another PostgreSQL server (pid {pid})")), "{error}");
        running.execute("postgres", "SELECT 1").unwrap();
    }

    #[test]
    fn a_data_dir_that_is_a_regular_file_is_refused_with_its_path() {
        let dir = tempdir();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, "x").unwrap();
        let error = Cluster::start(&ClusterOptions { data_dir: file.clone(), bindir: None }).unwrap_err();
        assert_eq!(error.to_string(), format!("data directory {} is not a directory", file.display()));
    }

    #[test]
    fn missing_server_binaries_name_the_package_to_install() {
        let dir = tempdir();
        fs::write(dir.path().join("initdb"), "").unwrap(); // `postgres` is missing
        let error = find_bindir(&[dir.path().to_path_buf(), PathBuf::from("/nonexistent")]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("apt-get install postgresql") && !message.contains('\n'), "{message}");
    }

    #[test]
    fn a_data_dir_behind_a_private_directory_is_unreachable_for_the_postgres_user() {
        let dir = tempdir();
        let private = dir.path().join("private");
        let data_dir = private.join("data");
        fs::create_dir_all(&data_dir).unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
        let stranger = RunAs { uid: 54321, gid: 54321 };
        let error = check_reachable(&data_dir, stranger).unwrap_err();
        assert!(error.to_string().contains(&format!("{} (mode 700)", private.display())), "{error}");
        fs::set_permissions(&private, fs::Permissions::from_mode(0o711)).unwrap();
        check_reachable(&data_dir, stranger).unwrap();
    }

    #[test]
    fn log_tails_and_urls_stay_on_one_line() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(percent_encode("t_1"), "t_1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }
}
