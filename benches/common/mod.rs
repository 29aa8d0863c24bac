//! The harness the HTTP benchmarks (`benches/read.rs`, `benches/expand.rs`) share. It owns
//! running a benchmark only under `cargo bench`, with a global `--timeout` that stops every child
//! process ([`main`], [`Harness`], [`Guarded`]); the paths of the release binary, of the reusable
//! private cluster under `target/.bench-read/` and of the logs ([`Setup`]); loading the demo data
//! set and starting the release server on loopback ([`Setup::load`], [`Server`]); the server's
//! peak RSS ([`peak_rss_kb`]); the async runtime and the database connection; timed HTTP fetches
//! ([`fetch`]) and following `@odata.nextLink` ([`next_link`]); and the small helpers of the
//! reports ([`percent_encode`], [`median`], [`ms`]). What a benchmark measures, and how it
//! counts the entities of a page, stays in its own file.

use anyhow::{Context, anyhow, bail, ensure};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The tenant the demo data set fills with `--scale` conversations.
pub const TENANT: &str = "contoso";
/// The database the server creates inside its private cluster.
const PRIVATE_DATABASE: &str = "odata_feed";
/// The superuser of the private cluster (its password is in `DATA_DIR/password`).
const PRIVATE_USER: &str = "postgres";

/// The options every benchmark takes.
#[derive(Debug, clap::Args)]
pub struct Harness {
    /// Set by `cargo bench`; without it the benchmark does nothing.
    #[arg(long, hide = true)]
    bench: bool,
    /// Seconds after which the whole benchmark is abandoned (data loading included).
    #[arg(long, default_value_t = 1_800)]
    timeout: u64,
}

/// Runs a benchmark: nothing unless `--bench` is among the arguments (`cargo bench` passes it,
/// `cargo test --all-targets` does not); else parses its options, abandons the whole run after
/// its `--timeout`, and reports `run`'s error.
pub fn main<O: clap::Parser>(harness: fn(&O) -> &Harness, run: fn(&O) -> anyhow::Result<()>) -> ExitCode {
    if !std::env::args().skip(1).any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    let options = O::parse();
    watchdog(Duration::from_secs(harness(&options).timeout));
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Children to stop when the global timeout strikes.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("error: the benchmark did not finish within {} s (--timeout); stopping", limit.as_secs());
        let pids = CHILDREN.lock().map(|c| c.clone()).unwrap_or_default();
        for &pid in &pids {
            signal(pid, libc::SIGTERM);
        }
        // Give the server time to stop its PostgreSQL.
        std::thread::sleep(Duration::from_secs(10));
        for &pid in &pids {
            signal(pid, libc::SIGKILL);
        }
        std::process::exit(2);
    });
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory effects; the pid is one of our own children.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// A child process that is stopped (SIGTERM, then SIGKILL after 60 s) when dropped.
pub struct Guarded {
    child: Child,
}

impl Guarded {
    fn new(child: Child) -> Guarded {
        if let Ok(mut children) = CHILDREN.lock() {
            children.push(child.id());
        }
        Guarded { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
        if let Ok(mut children) = CHILDREN.lock() {
            children.retain(|&pid| pid != self.child.id());
        }
    }
}

/// Where a benchmark finds the release binary, its data set and its logs.
pub struct Setup {
    /// `target/release/odata-feed` (under `CARGO_TARGET_DIR` when set).
    binary: PathBuf,
    /// The private cluster directory [default: `target/.bench-read/scale-SCALE`].
    data_dir: PathBuf,
    /// Conversations of the demo tenant.
    scale: u32,
    /// `target/.bench-read/`, which holds the logs.
    bench_dir: PathBuf,
    /// What the log file names start with: the data directory's name, a dot and the prefix.
    log_stem: String,
    /// `DATABASE_URL` unless unset or empty; the private cluster is used without it.
    database_url: Option<String>,
}

impl Setup {
    /// Checks that the release binary is built, creates `target/.bench-read/`, and says which
    /// database the benchmark uses. Logs are named `NAME.{log_prefix}KIND.log` after the data
    /// directory.
    pub fn new(data_dir: Option<PathBuf>, scale: u32, log_prefix: &str) -> anyhow::Result<Setup> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let binary = target.join("release/odata-feed");
        ensure!(binary.is_file(), "{} is missing; run `cargo build --release` first", binary.display());
        let database_url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
        let bench_dir = target.join(".bench-read");
        std::fs::create_dir_all(&bench_dir).with_context(|| format!("cannot create {}", bench_dir.display()))?;
        let data_dir = data_dir.unwrap_or_else(|| bench_dir.join(format!("scale-{scale}")));
        let name = data_dir.file_name().and_then(|n| n.to_str()).unwrap_or("data");
        let log_stem = format!("{name}.{log_prefix}");
        match &database_url {
            Some(_) => println!("database: DATABASE_URL"),
            None => println!("database: private cluster in {}", data_dir.display()),
        }
        Ok(Setup { binary, data_dir, scale, bench_dir, log_stem, database_url })
    }

    /// The log file of `kind` (`load`, `serve`).
    pub fn log(&self, kind: &str) -> PathBuf {
        self.bench_dir.join(format!("{}{kind}.log", self.log_stem))
    }

    /// `odata-feed demo --load-only`: loads the demo data set unless the database has it
    /// already.
    pub fn load(&self) -> anyhow::Result<Loaded> {
        let started = Instant::now();
        println!("loading the demo data set (scale {}) unless loaded ...", self.scale);
        let log = self.log("load");
        let log_file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(&self.binary)
            .args(["--log-format", "json", "demo", "--load-only", "--scale", &self.scale.to_string(), "--data-dir"])
            .arg(&self.data_dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        let mut child = Guarded::new(child);
        let status = child.child.wait().context("waiting for the demo load failed")?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if !status.success() {
            bail!("the demo load failed ({status}):\n{}", tail(&text, 10));
        }
        let record = text.lines().find(|l| l.contains("\"demo data loaded\"")).map(str::to_owned);
        Ok(Loaded { elapsed: started.elapsed(), record })
    }

    /// The URL of the database the server reads: `DATABASE_URL`, or its private cluster.
    pub fn database_url(&self, server: &Server) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        let password = std::fs::read_to_string(self.data_dir.join("password"))
            .with_context(|| format!("cannot read the cluster password in {}", self.data_dir.display()))?;
        Ok(format!("postgres://{PRIVATE_USER}:{}@127.0.0.1:{}/{PRIVATE_DATABASE}", password.trim(), server.pg_port))
    }
}

/// What [`Setup::load`] did.
pub struct Loaded {
    pub elapsed: Duration,
    /// The `"demo data loaded"` log record when the data set was loaded now.
    pub record: Option<String>,
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The release server, serving the demo tenant on a free loopback port.
pub struct Server {
    pub process: Guarded,
    /// `http://127.0.0.1:PORT/odata/`
    pub feed: String,
    /// The port of the private cluster the server started (0 with DATABASE_URL).
    pg_port: u16,
    log: PathBuf,
    /// A development token for `TENANT`, which every request of the benchmarks sends.
    token: String,
}

impl Server {
    /// Starts the server on `setup`'s data set, logging to `setup.log("serve")`, and waits until
    /// it serves.
    pub fn start(setup: &Setup, page_size: u64) -> anyhow::Result<Server> {
        let log = setup.log("serve");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("cannot find a free loopback port")?
            .port();
        let child = Command::new(&setup.binary)
            .args(["--log-format", "json", "serve", "--no-scheduler", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(&setup.data_dir)
            .arg("--dev-issuer-key")
            .arg(setup.data_dir.join(odata_feed::auth::dev::KEY_FILE))
            .arg("--page-size")
            .arg(page_size.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", setup.binary.display()))?;
        let mut process = Guarded::new(child);
        // (true, feed URL) from stdout; (false, cluster port) from the log on stderr.
        let (events, ready) = mpsc::channel::<(bool, String)>();
        let stdout = process.child.stdout.take().expect("piped");
        let sender = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("OData feed: ") {
                    let _ = sender.send((true, url.trim().to_owned()));
                }
            }
        });
        let stderr = process.child.stderr.take().expect("piped");
        let mut log_file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log_file, "{line}");
                if line.contains("\"private PostgreSQL cluster started\"")
                    && let Some(port) = json_field(&line, "port")
                {
                    let _ = events.send((false, port));
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(180);
        let (mut feed, mut pg_port) = (None, 0u16);
        while feed.is_none() {
            if let Some(status) = process.exited() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                bail!("the server exited before it was ready ({status}):\n{}", tail(&text, 10));
            }
            ensure!(Instant::now() < deadline, "the server was not ready within 180 s; see {}", log.display());
            match ready.recv_timeout(Duration::from_millis(200)) {
                Ok((true, url)) => feed = Some(url),
                Ok((false, port)) => pg_port = port.parse().context("the cluster port in the server log")?,
                Err(_) => {}
            }
        }
        let feed = feed.expect("set above");
        println!("server: pid {} at {feed} (log {})", process.pid(), log.display());
        let key = odata_feed::auth::dev::DevIssuer::load(&setup.data_dir.join(odata_feed::auth::dev::KEY_FILE))?;
        let token = key.mint(TENANT, "benchmark", Duration::from_secs(12 * 3600))?;
        Ok(Server { process, feed, pg_port, log, token })
    }

    /// An HTTP client signed in as a user of `TENANT`.
    pub fn client(&self, builder: reqwest::ClientBuilder) -> anyhow::Result<reqwest::Client> {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.token))?;
        value.set_sensitive(true);
        let headers = reqwest::header::HeaderMap::from_iter([(reqwest::header::AUTHORIZATION, value)]);
        builder.default_headers(headers).build().context("cannot build the HTTP client")
    }

    /// Stops the server after the workloads: an error if it exited by itself meanwhile, a
    /// warning if it does not stop cleanly.
    pub fn stop(mut self) -> anyhow::Result<()> {
        if let Some(status) = self.process.exited() {
            bail!("the server exited during the benchmark ({status}); see {}", self.log.display());
        }
        let status = self.process.stop();
        if !status.is_some_and(|s| s.success()) {
            eprintln!("warning: the server stopped with {status:?}; see {}", self.log.display());
        }
        Ok(())
    }
}

/// A top-level field of a one-line JSON log record, as text.
fn json_field(line: &str, name: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    match value.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The peak resident set (VmHWM) of process `pid` in KiB, since it started or since its
/// `/proc/PID/clear_refs` was last written `5`.
pub fn peak_rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("cannot read the server's status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmHWM in /proc/{pid}/status"))
}

/// The benchmark's async runtime: two worker threads, so the client's CPU stays small next to
/// the server's.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A connection to the database the server reads, driven by a task of the runtime.
pub async fn connect(database_url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (db, connection) =
        tokio_postgres::connect(database_url, tokio_postgres::NoTls).await.context("cannot connect to the database")?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("warning: the benchmark's database connection failed: {error}");
        }
    });
    Ok(db)
}

/// One answer, timed to the last byte of its body.
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub body: bytes::Bytes,
    pub elapsed: Duration,
}

impl Answer {
    /// The answer as an error message unless it is 200.
    pub fn check(&self, url: &str) -> Result<(), String> {
        if self.status == reqwest::StatusCode::OK {
            return Ok(());
        }
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(500)]).into_owned();
        Err(format!("GET {url} answered {}: {}", self.status, body.trim()))
    }
}

/// `GET url`, timed to the last byte; an error only when there is no answer.
pub async fn fetch(http: &reqwest::Client, url: &str) -> anyhow::Result<Answer> {
    let started = Instant::now();
    let response = http.get(url).send().await.with_context(|| format!("GET {url} failed"))?;
    let status = response.status();
    let body = response.bytes().await.with_context(|| format!("reading GET {url} failed"))?;
    Ok(Answer { status, body, elapsed: started.elapsed() })
}

/// The `@odata.nextLink` of a page: it follows the `value` array, at the end of the body.
pub fn next_link(page: &str) -> anyhow::Result<Option<String>> {
    const MARK: &str = "],\"@odata.nextLink\":";
    let Some(at) = page.rfind(MARK) else { return Ok(None) };
    let literal = page[at + MARK.len()..].trim_end().strip_suffix('}');
    let literal = literal.ok_or_else(|| anyhow!("a page does not end after its next link"))?;
    Ok(Some(serde_json::from_str(literal).context("the next link is not a JSON string")?))
}

/// `text` percent-encoded for a query option's value (`'`, `:`, `,` and `$` kept as they are).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~':,$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The median (the lower one of an even count); `values` must not be empty.
pub fn median(values: impl Iterator<Item = Duration>) -> Duration {
    let mut values: Vec<Duration> = values.collect();
    values.sort();
    values[(values.len() - 1) / 2]
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The machine's CPUs and their clock ticks, from `/proc/stat`.
#[allow(dead_code)] // only the benchmarks that share out CPU time use it
pub struct Ticks {
    pub cores: usize,
    /// User, nice, system, irq and softirq time of every CPU.
    pub busy: u64,
    /// Time the hypervisor gave to other machines.
    pub steal: u64,
}

#[allow(dead_code)]
pub fn machine_ticks() -> Ticks {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cores = text
        .lines()
        .filter(|l| l.strip_prefix("cpu").is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit())))
        .count();
    let fields: Vec<u64> = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .map(|l| l.split_whitespace().filter_map(|f| f.parse().ok()).collect())
        .unwrap_or_default();
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    Ticks { cores, busy: [0, 1, 2, 5, 6].into_iter().map(field).sum(), steal: field(7) }
}
