//! Everything prepared before a server process is spawned: finding the server binaries, the data
//! directory (created, writable, not in use), the superuser password file, and, when we are root,
//! the `postgres` system user (`getpwnam_r`), whether it can reach the data directory, and handing
//! the directory over to it.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{ClusterError, SUPERUSER, io_error};

pub(super) const PASSWORD_LEN: usize = 32;

/// The unprivileged account the server runs as when we are root.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunAs {
    pub(super) uid: libc::uid_t,
    pub(super) gid: libc::gid_t,
}

/// `pg_config --bindir` first, then `/usr/lib/postgresql/*/bin`, highest version first.
pub(super) fn bindir_candidates() -> Vec<PathBuf> {
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
pub(super) fn find_bindir(candidates: &[PathBuf]) -> Result<PathBuf, ClusterError> {
    candidates
        .iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
        .cloned()
        .ok_or(ClusterError::BinariesNotFound)
}

/// Creates the data directory if missing, checks it is a writable directory, and returns its
/// canonical path.
pub(super) fn prepare_data_dir(path: &Path) -> Result<PathBuf, ClusterError> {
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
pub(super) fn running_postmaster(pgdata: &Path) -> Option<i32> {
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

pub(super) fn read_password(path: &Path) -> Option<String> {
    let password = fs::read_to_string(path).ok()?.trim().to_string();
    if password.is_empty() {
        return None;
    }
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    Some(password)
}

/// Generates a password of random alphanumerics from /dev/urandom and stores it (mode 0600).
pub(super) fn write_password(path: &Path) -> Result<String, ClusterError> {
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

pub(super) fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Looks up the `postgres` system user (thread-safe `getpwnam_r`).
pub(super) fn postgres_user() -> Result<RunAs, ClusterError> {
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
pub(super) fn check_reachable(data_dir: &Path, run_as: RunAs) -> Result<(), ClusterError> {
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

/// Whether a data directory entry belongs to the cluster: its data, log, password, and the
/// sockets PostgreSQL puts there.
fn is_owned_name(name: &str) -> bool {
    matches!(name, "pgdata" | "postgres.log" | "password") || name.starts_with(".s.PGSQL.")
}

/// Files the feed itself keeps beside the cluster (the development issuer's key), which are
/// tolerated there but never handed over to the server's account.
const FEED_FILES: &[&str] = &[crate::auth::dev::KEY_FILE];

/// Refuses a data directory that holds anything but the cluster's own entries (and the feed's
/// `FEED_FILES`), so that a mistyped `--data-dir` (a home directory, `/etc`) is never taken
/// over or chowned.
pub(super) fn check_only_ours(data_dir: &Path) -> Result<(), ClusterError> {
    let entries =
        fs::read_dir(data_dir).map_err(|source| ClusterError::NotWritable { path: data_dir.into(), source })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_owned_name(&name) && !FEED_FILES.contains(&name.as_str()) {
            return Err(ClusterError::Foreign { path: data_dir.into(), name });
        }
    }
    Ok(())
}

/// The cluster's own entries in the data directory.
pub(super) fn owned_entries(data_dir: &Path) -> Result<Vec<PathBuf>, ClusterError> {
    let entries =
        fs::read_dir(data_dir).map_err(|source| ClusterError::NotWritable { path: data_dir.into(), source })?;
    Ok(entries.flatten().filter(|e| is_owned_name(&e.file_name().to_string_lossy())).map(|e| e.path()).collect())
}

/// `chown` (recursively when `recursive`) without following symlinks; entries vanishing
/// meanwhile are fine.
pub(super) fn chown_tree(path: &Path, run_as: RunAs, recursive: bool) -> Result<(), ClusterError> {
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
    if recursive && metadata.is_dir() {
        for entry in fs::read_dir(path).map_err(chown_error)? {
            chown_tree(&entry.map_err(chown_error)?.path(), run_as, true)?;
        }
    }
    Ok(())
}
