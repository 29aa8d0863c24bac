//! The `odata-feed` binary as an operator meets it: bad configuration ends with one clear
//! error line and a non-zero exit; the demo loads once, serves, and Ctrl-C leaves no
//! PostgreSQL process behind.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const BINARY: &str = env!("CARGO_BIN_EXE_odata-feed");

/// A development issuer key file of its own for each run of the binary.
fn dev_key() -> std::path::PathBuf {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("odata-feed-cli-{}-{run}.pem", std::process::id()))
}

/// Runs the binary to completion with a bounded wait, trusting a development issuer (every
/// `serve` needs some issuer) unless `envs` says otherwise.
fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("ODATA_FEED_AUTH_CONFIG")
        .env("ODATA_FEED_DEV_ISSUER_KEY", dev_key())
        .env("RUST_LOG", "warn");
    for (key, value) in envs {
        match value.is_empty() {
            true => command.env_remove(key),
            false => command.env(key, value),
        };
    }
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("binary starts");
    wait_with_timeout(child, Duration::from_secs(120))
}

/// Waits for the child, draining its output on threads so a full pipe cannot block it.
fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
    fn drain(stream: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("odata-feed did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: stdout.join().expect("stdout"), stderr: stderr.join().expect("stderr") }
}

/// Asserts a failed run whose standard error ends with one `error:` line mentioning `needle`.
fn assert_one_error_line(output: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "expected failure, got success; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    let last = stderr.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("error: "), "last line is the error: {stderr}");
    assert!(last.contains(needle), "`{needle}` in the error line: {last}");
    assert_eq!(stderr.matches("error: ").count(), 1, "exactly one error line: {stderr}");
    last
}

#[test]
fn an_unreachable_database_url_is_one_clear_error_line() {
    let output =
        run(&["serve", "--listen", "127.0.0.1:0"], &[("DATABASE_URL", "postgres://feed:hunter2@127.0.0.1:1/feed")]);
    let line = assert_one_error_line(&output, "cannot connect to the database");
    assert!(!line.contains("hunter2"), "the password is never printed: {line}");
}

#[test]
fn serve_without_any_token_issuer_refuses_to_start() {
    let output = run(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("DATABASE_URL", "postgres://x@127.0.0.1:1/x"), ("ODATA_FEED_DEV_ISSUER_KEY", "")],
    );
    assert_one_error_line(&output, "no token issuer is configured");
}

#[test]
fn an_auth_config_with_a_mistake_is_one_clear_error_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("auth.toml");
    std::fs::write(&config, "authority = \"https://evil.example.com/common\"\n").expect("written");
    let output = run(
        &["serve", "--listen", "127.0.0.1:0", "--auth-config", config.to_str().expect("utf-8")],
        &[("DATABASE_URL", "postgres://x@127.0.0.1:1/x"), ("ODATA_FEED_DEV_ISSUER_KEY", "")],
    );
    assert_one_error_line(&output, "login.microsoftonline.com");
}

#[test]
fn an_occupied_port_is_one_clear_error_line() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("bound").to_string();
    let output = run(&["serve", "--listen", &address], &[("DATABASE_URL", "postgres://x@127.0.0.1:1/x")]);
    assert_one_error_line(&output, &format!("cannot listen on {address}"));
}

#[test]
fn missing_postgresql_binaries_name_the_package_to_install() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let output = run(
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir.to_str().expect("utf-8")],
        &[("ODATA_FEED_PG_BINDIR", dir.path().to_str().expect("utf-8"))],
    );
    assert_one_error_line(&output, "apt-get install postgresql");
}

#[test]
fn an_unwritable_data_dir_is_one_clear_error_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("write");
    let data_dir = file.join("data");
    let output = run(&["serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir.to_str().expect("utf-8")], &[]);
    assert_one_error_line(&output, &data_dir.display().to_string());
}

/// The process id in PostgreSQL's postmaster.pid, while the server runs.
fn postmaster_pid(data_dir: &Path) -> i32 {
    let text =
        std::fs::read_to_string(data_dir.join("pgdata/postmaster.pid")).expect("postmaster.pid exists while serving");
    text.lines().next().and_then(|l| l.trim().parse().ok()).expect("a pid on the first line")
}

fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn the_demo_loads_once_serves_the_feed_and_ctrl_c_leaves_no_postgres_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let data_dir_arg = data_dir.to_str().expect("utf-8");

    // First start: loads the data set.
    let first = run(&["demo", "--load-only", "--scale", "400", "--data-dir", data_dir_arg], &[("RUST_LOG", "info")]);
    let first_log = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "first load: {first_log}");
    assert!(first_log.contains("demo data loaded"), "{first_log}");

    // Second start: serves the same data without loading it again.
    let metrics_address = TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("bound").to_string();
    let mut child = Command::new(BINARY)
        .args(["demo", "--scale", "400", "--listen", "127.0.0.1:0", "--data-dir", data_dir_arg])
        .args(["--metrics-listen", &metrics_address])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("demo starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut next_line = || {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the demo prints how to use it");
        line.trim().to_owned()
    };
    let line = next_line();
    let feed_url = line.strip_prefix("OData feed: ").unwrap_or_else(|| panic!("feed URL line: {line}")).to_string();
    let heading = next_line();
    assert!(heading.contains("token for the tenant `contoso`"), "{heading}");
    let token = next_line();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert_eq!(next_line(), "Try it:");
    let curl = next_line();
    assert!(curl.starts_with(&format!("curl -H 'Authorization: Bearer {token}' '{feed_url}Calls?")), "{curl}");
    let pid = postmaster_pid(&data_dir);
    assert!(process_exists(pid));

    // The printed token reads the feed; no token, no feed.
    let (status, body) = http::get(&feed_url, Some(&token));
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["value"].as_array().expect("value").len(), 26);
    let (status, _) = http::get(&feed_url, None);
    assert_eq!(status, 401);
    // `odata-feed token` mints tokens from the same key.
    let minted = run(
        &["token", "--tenant", "contoso", "--user", "analyst", "--data-dir", data_dir_arg],
        &[("ODATA_FEED_DEV_ISSUER_KEY", "")],
    );
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let minted = String::from_utf8(minted.stdout).expect("utf-8").trim().to_owned();
    let (status, calls) = http::get(&format!("{feed_url}Calls?$top=1"), Some(&minted));
    assert_eq!(status, 200, "{calls}");
    // Metrics, on their own listener, count requests by tenant and user and refusals by code.
    let (status, metrics) = http::get(&format!("http://{metrics_address}/metrics"), None);
    assert_eq!(status, 200, "{metrics}");
    let served = metrics
        .lines()
        .find(|l| l.starts_with("odata_feed_requests_total{") && l.contains("oid=\"analyst\""))
        .unwrap_or_else(|| panic!("no request count for the analyst: {metrics}"));
    assert!(served.contains("tenant=\"contoso\"") && served.contains("status=\"200\""), "{served}");
    assert!(metrics.contains("odata_feed_requests_refused_total{code=\"AUTH401\"} 1"), "{metrics}");
    assert!(!metrics.contains(&token) && !metrics.contains(&minted), "no token in the metrics");

    // Ctrl-C.
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = wait_with_timeout(child, Duration::from_secs(60));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "clean exit after Ctrl-C: {log}");
    assert!(log.contains("demo data already present"), "the second start reuses the data: {log}");
    assert!(!log.contains("demo data loaded"), "nothing is loaded twice: {log}");
    assert!(!process_exists(pid), "postgres (pid {pid}) is gone after Ctrl-C");
    // Requests are logged with the tenant and the user, never with the token.
    assert!(log.contains("tenant=\"contoso\"") || log.contains("tenant=contoso"), "{log}");
    assert!(log.contains("oid=\"analyst\"") || log.contains("oid=analyst"), "{log}");
    assert!(!log.contains(&token) && !log.contains(&minted), "no token in the log: {log}");
    assert!(!log.contains(token.split('.').nth(2).expect("a signature")), "no signature in the log");
}

/// A blocking GET for the one test that runs the binary in a plain thread: status and body.
mod http {
    pub fn get(url: &str, token: Option<&str>) -> (u16, String) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let mut request = reqwest::Client::new().get(url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("the feed answers");
            (response.status().as_u16(), response.text().await.expect("a body"))
        })
    }
}

#[tokio::test]
async fn with_database_url_that_server_is_used_and_no_private_cluster_starts() {
    let db = crate::support::database::empty_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("never-created");
    let args = ["migrate".to_string(), "--data-dir".into(), data_dir.display().to_string()];
    let url = db.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, &[("DATABASE_URL", url.as_str())])
    })
    .await
    .expect("ran");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!data_dir.exists(), "no private cluster directory is made when DATABASE_URL is set");
    let tables = crate::support::database::query_rows(
        &db.url,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'conversations'",
    )
    .await;
    assert_eq!(tables[0].get::<_, i64>(0), 1, "the migrations ran against the given database");
}

#[test]
fn metadata_write_regenerates_the_committed_edmx_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("edmx");
    let output = run(&["metadata", "--write", target.to_str().expect("utf-8")], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("edmx");
    for file in ["metadata.xml", "metadata.json"] {
        let written = std::fs::read_to_string(target.join(file)).expect("written");
        let expected = std::fs::read_to_string(committed.join(file)).expect("committed");
        assert!(written == expected, "{file} written by the CLI equals the committed one");
    }
    let printed = run(&["metadata"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        std::fs::read_to_string(committed.join("metadata.xml")).expect("xml")
    );
}
