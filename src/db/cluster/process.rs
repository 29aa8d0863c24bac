//! The server's child processes: building the `initdb` and `postgres` commands, what runs in the
//! child before exec (own process group, dropping to the `postgres` user, `PR_SET_PDEATHSIG`), the
//! supervised spawn, and [`Server`], which signals the postmaster and waits for its exit.
//!
//! Statement statistics: when the installation has the `pg_stat_statements` module (its
//! `pg_stat_statements.so` in the package library directory, which `pg_config --pkglibdir` next
//! to the server binaries names, or else `<bindir>/../lib`), the server preloads it and tracks
//! every statement, nested ones (in functions) and utility statements (`SET`, `BEGIN`) included.
//! After `CREATE EXTENSION pg_stat_statements` in a database, the `pg_stat_statements` view
//! then shows what ran there and how often: operators see what the feed costs, and the tests
//! count the statements one request runs. Without the module the server starts as it would
//! otherwise; nothing depends on it.

use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::setup::RunAs;
use super::{ClusterError, LOG_TAIL_LINES, SUPERUSER, io_error, last_lines};

/// The supervised postmaster: its pid and the supervisor thread reporting its exit.
#[derive(Debug)]
pub(super) struct Server {
    pub(super) pid: u32,
    exit: Receiver<io::Result<ExitStatus>>,
    exited: bool,
    pub(super) supervisor: JoinHandle<()>,
}

impl Server {
    /// True once the supervisor reported the exit (or vanished, which means the same).
    pub(super) fn has_exited(&mut self) -> bool {
        if !self.exited {
            self.exited = !matches!(self.exit.try_recv(), Err(TryRecvError::Empty));
        }
        self.exited
    }

    pub(super) fn signal_and_wait(&mut self, signal: libc::c_int, timeout: Duration) -> bool {
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

/// `initdb` with byte-wise (`C`) collation and C.UTF-8 character classes, or no locale where
/// C.UTF-8 is unavailable. `C` collation orders strings by code point, as OData's ordinal,
/// case-sensitive comparisons do, and makes every index on text keys cheaper.
pub(super) fn initdb(
    bindir: &Path,
    data_dir: &Path,
    pgdata: &Path,
    password_file: &Path,
    run_as: Option<RunAs>,
    log: &mut File,
) -> Result<(), ClusterError> {
    let mut last = None;
    for locale in [&["--locale=C.UTF-8", "--lc-collate=C"][..], &["--no-locale"][..]] {
        let mut command = Command::new(bindir.join("initdb"));
        command
            .arg("-D")
            .arg(pgdata)
            .args(["-U", SUPERUSER, "--auth=scram-sha-256", "-E", "UTF8"])
            .args(locale)
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

pub(super) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

pub(super) fn postgres_command(
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
        // A private cluster has no replicas: minimal WAL lets bulk loads into tables created or
        // truncated in the same transaction (and index builds) skip the WAL entirely.
        .args(["-c", "wal_level=minimal", "-c", "max_wal_senders=0"])
        .args(["-c", "max_wal_size=2GB"]);
    if has_statement_stats(bindir) {
        command
            .args(["-c", "shared_preload_libraries=pg_stat_statements"])
            .args(["-c", "pg_stat_statements.track=all"])
            .args(["-c", "pg_stat_statements.track_utility=on"]);
    }
    command
        .current_dir(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_handle()?))
        .stderr(Stdio::from(log_handle()?));
    restrict_child(&mut command, run_as);
    Ok(command)
}

/// Whether the installation of the server in `bindir` has the `pg_stat_statements` module.
fn has_statement_stats(bindir: &Path) -> bool {
    package_lib_dir(bindir).is_some_and(|dir| dir.join("pg_stat_statements.so").is_file())
}

/// Where the server in `bindir` loads modules from: what the `pg_config` beside it says (it
/// relocates the directory as the server does), else `<bindir>/../lib`, the Debian layout.
fn package_lib_dir(bindir: &Path) -> Option<PathBuf> {
    let pg_config = bindir.join("pg_config");
    if pg_config.is_file()
        && let Ok(output) =
            Command::new(&pg_config).arg("--pkglibdir").stdin(Stdio::null()).stderr(Stdio::null()).output()
        && output.status.success()
    {
        let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !dir.is_empty() {
            return Some(PathBuf::from(dir));
        }
    }
    bindir.parent().map(|installation| installation.join("lib"))
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
pub(super) fn spawn_supervised(mut command: Command) -> io::Result<Server> {
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

#[cfg(test)]
mod tests {
    use super::has_statement_stats;
    use std::fs;

    #[test]
    fn statement_stats_are_found_next_to_the_binaries_and_their_absence_is_no_error() {
        let installation = tempfile::tempdir().expect("a temporary directory");
        let bindir = installation.path().join("bin");
        fs::create_dir_all(&bindir).expect("bin");
        assert!(!has_statement_stats(&bindir), "no lib directory");
        fs::create_dir_all(installation.path().join("lib")).expect("lib");
        assert!(!has_statement_stats(&bindir), "a lib directory without the module");
        fs::write(installation.path().join("lib/pg_stat_statements.so"), b"").expect("the module");
        assert!(has_statement_stats(&bindir));
    }
}
