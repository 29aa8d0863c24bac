//! Unit tests of the private cluster: start, reuse, refusal of busy or bad data directories,
//! binaries lookup, reachability for the `postgres` user, and one-line messages.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::setup::{PASSWORD_LEN, RunAs};
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
fn a_data_dir_holding_other_files_is_refused_and_left_untouched() {
    let dir = tempdir();
    let data_dir = dir.path().join("home");
    fs::create_dir(&data_dir).unwrap();
    fs::write(data_dir.join("notes.txt"), "mine").unwrap();
    let owner_before = fs::metadata(data_dir.join("notes.txt")).unwrap().uid();
    let error = Cluster::start(&ClusterOptions { data_dir: data_dir.clone(), bindir: None }).unwrap_err();
    assert!(error.to_string().contains("holds other files (e.g. notes.txt)"), "{error}");
    assert_eq!(fs::read_dir(&data_dir).unwrap().count(), 1, "nothing was created");
    assert_eq!(fs::metadata(data_dir.join("notes.txt")).unwrap().uid(), owner_before, "nothing was chowned");
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
