//! Benchmark: the retention purge of about 1,000,000 expired rows, and what it does to the p99
//! latency of concurrent reads, against the same reads without the purge.
//!
//! Every run works on a fresh copy of the demo data set, so reruns are repeatable: the private
//! cluster of `scripts/bench-read` (`target/.bench-read/scale-N`, loaded once if missing) is
//! started by this process, `purge_copy` is created from the `odata_feed` database
//! (`CREATE DATABASE ... TEMPLATE`, before anything connects to it) and migrated, and the
//! release server is started on the copy (`DATABASE_URL`, scheduler off). Then, per run:
//!
//! - the cut-off: the tenant's `retention_days` is set to the whole number of days whose
//!   cut-off leaves the total of expired rows over every purge target
//!   (`retention_purge::purge_targets`) closest to `--expired` (1,000,000); the exact count is
//!   reported, with the rows the job purged and every row deleted (cascades included);
//! - baseline: `--concurrency` clients fetch a selective page of recent Calls (the last
//!   `--window-calls` calls of the busiest voice channel, 4 properties, `$top=1000`) back to
//!   back for `--duration` seconds: requests/s, median and p99 latency;
//! - with the purge: `odata-feed jobs run retention-purge --tenant contoso` (the release
//!   binary, on the copy) runs while the same clients read; its wall time, and the latencies of
//!   the requests started while it ran.
//!
//! Prints every run and a table of the runs and their medians. Run it with
//! `scripts/bench-purge`, or `cargo bench --bench purge -- --help` after
//! `cargo build --release`. Without `--bench` (as `cargo test --all-targets` runs it) it does
//! nothing.

// Each benchmark uses a part of the shared harness.
#[allow(dead_code)]
mod common;

use anyhow::{Context, anyhow, bail, ensure};
use chrono::{DateTime, Utc};
use clap::Parser;
use common::{Server, Setup, TENANT, fetch, median, ms, percent_encode};
use odata_feed::db::cluster::{Cluster, ClusterOptions};
use odata_feed::jobs::retention_purge::purge_targets;
use odata_feed::odata::model::Model;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The database every run copies, and the copy it purges.
const TEMPLATE: &str = "odata_feed";
const COPY: &str = "purge_copy";
/// The Calls of the demo tenant in SQL.
const CALLS_WHERE: &str = "tenant_id = 'contoso' AND media = 'Voice'";
/// What counts a row in a JSON page (every entity starts with its key).
const ROW_MARK: &str = "{\"id\":";

/// The retention purge of about 1,000,000 rows against concurrent reads.
#[derive(Debug, Parser)]
#[command(name = "bench-purge")]
struct Options {
    /// Conversations of the demo tenant (the data set of scripts/bench-read).
    #[arg(long, default_value_t = 1_700_000)]
    scale: u32,
    /// Private cluster directory [default: target/.bench-read/scale-SCALE].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Runs, each on a fresh copy of the database.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Expired rows to aim the cut-off at (the whole number of days closest to it is used).
    #[arg(long, default_value_t = 1_000_000)]
    expired: i64,
    /// Seconds of the baseline reads (without the purge).
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Concurrent reading clients.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds of reads before the baseline, not recorded.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Calls in the page read: the most recent ones of the busiest voice channel.
    #[arg(long, default_value_t = 600)]
    window_calls: i64,
    /// Rows per DELETE of the purge (the jobs configuration's `purge_batch_rows`) [default: the
    /// job's default].
    #[arg(long)]
    batch_rows: Option<i64>,
    /// Keep the purged copy (`purge_copy`) of the last run instead of dropping it.
    #[arg(long)]
    keep_copy: bool,
    #[command(flatten)]
    harness: common::Harness,
}

fn main() -> ExitCode {
    common::main(|options: &Options| &options.harness, run)
}

fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.runs > 0 && options.concurrency > 0, "--runs and --concurrency must be at least 1");
    ensure!(options.window_calls > 0 && options.expired > 0, "--window-calls and --expired must be at least 1");
    ensure!(
        std::env::var_os("DATABASE_URL").is_none_or(|u| u.is_empty()),
        "the purge benchmark copies the database inside the private cluster; unset DATABASE_URL"
    );
    let paths = Paths::new(options.data_dir.clone(), options.scale);
    let setup = Setup::new(Some(paths.data_dir.clone()), options.scale, "purge-")?;
    let loaded = setup.load()?;
    match loaded.record {
        Some(line) => println!("loaded in {:.0} s: {line}", loaded.elapsed.as_secs_f64()),
        None => println!("already loaded ({:.1} s)", loaded.elapsed.as_secs_f64()),
    }

    // This process runs the cluster, so that nothing is connected to the template while it is
    // copied; the server and the job reach the copy by DATABASE_URL.
    let cluster = Cluster::start(&ClusterOptions { data_dir: paths.data_dir.clone(), bindir: None })
        .context("cannot start the private cluster (is another benchmark using it?)")?;
    let copy_url = cluster.url(COPY);
    // SAFETY: no other thread reads or writes the environment: the only others are the
    // harness's watchdog (asleep) and the cluster's supervisor (waiting for its child); the
    // runtime is not started yet. The server inherits it (and runs with `--no-scheduler`, so
    // its own catch-up run never purges the copy).
    unsafe {
        std::env::set_var("DATABASE_URL", &copy_url);
    }
    let jobs_config = match options.batch_rows {
        Some(rows) => {
            ensure!(rows > 0, "--batch-rows must be at least 1");
            let path = setup.log("jobs").with_extension("toml");
            std::fs::write(&path, format!("purge_batch_rows = {rows}\n"))
                .with_context(|| format!("cannot write {}", path.display()))?;
            Some(path)
        }
        None => None,
    };
    let targets = purge_targets(&Model::load().context("cannot load the feed model")?);
    let runtime = common::runtime()?;
    let admin = runtime.block_on(common::connect(&cluster.url("postgres")))?;
    let version: i32 =
        runtime.block_on(admin.query_one("SELECT current_setting('server_version_num')::int", &[]))?.get(0);

    let mut results = Vec::new();
    let outcome = (1..=options.runs).try_for_each(|number| {
        let result = (|| {
            let copied = runtime.block_on(fresh_copy(&admin, version))?;
            println!("run {number}: copied {TEMPLATE} to {COPY} in {:.1} s", copied.as_secs_f64());
            let applied = odata_feed::db::migrate::run(&copy_url).context("migrating the copy failed")?;
            if applied > 0 {
                println!("run {number}: {applied} migrations applied to the copy");
            }
            let db = runtime.block_on(common::connect(&copy_url))?;
            let cut = runtime.block_on(choose_cutoff(&db, &targets, options.expired))?;
            println!(
                "run {number}: retention_days={} expires {} rows (anchors before {}; {}): {}",
                cut.days,
                cut.expired,
                cut.cutoff.format("%Y-%m-%d %H:%M:%S UTC"),
                cut.neighbours.iter().map(|(d, n)| format!("{d} days: about {n}")).collect::<Vec<_>>().join(", "),
                cut.by_table.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", ")
            );
            runtime.block_on(db.batch_execute("CHECKPOINT"))?;
            let server = Server::start(&setup, 5_000)?;
            let http = server.client(
                reqwest::Client::builder()
                    .pool_max_idle_per_host(options.concurrency * 2)
                    .timeout(Duration::from_secs(120)),
            )?;
            let result =
                runtime.block_on(reads_and_purge(options, &server.feed, &http, &db, &paths, &setup, &jobs_config));
            let stopped = server.stop();
            let (baseline, during, purge) = result?;
            stopped?;
            Ok::<_, anyhow::Error>(RunResult { cut, baseline, during, purge })
        })()
        .with_context(|| format!("run {number}"))?;
        let r = &result;
        println!(
            "run {number}: purge seconds={:.1} (job {:.1}) purged={} deleted_with_cascades={} rows_per_second={:.0}",
            r.purge.wall.as_secs_f64(),
            r.purge.job_seconds,
            r.purge.purged,
            r.purge.deleted,
            r.purge.purged as f64 / r.purge.wall.as_secs_f64()
        );
        for (name, load) in [("without purge", &r.baseline), ("during purge", &r.during)] {
            println!("run {number}: reads {name}: {}", load.describe());
        }
        println!("run {number}: p99 ratio={:.2}", ratio(r));
        results.push(result);
        anyhow::Ok(())
    });
    // The copy is as large as the data set: dropped after a failed run too.
    if !options.keep_copy {
        let dropped = runtime.block_on(admin.batch_execute(&format!("DROP DATABASE IF EXISTS {COPY} WITH (FORCE)")));
        if let Err(error) = dropped {
            eprintln!("warning: dropping {COPY} failed: {error}");
        }
    }
    outcome?;
    drop(admin);
    drop(runtime);
    drop(cluster);
    print_report(options, &results);
    Ok(())
}

/// The release binary and the data directory, where [`Setup`] finds them.
struct Paths {
    binary: PathBuf,
    data_dir: PathBuf,
}

impl Paths {
    fn new(data_dir: Option<PathBuf>, scale: u32) -> Paths {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let data_dir = data_dir.unwrap_or_else(|| target.join(".bench-read").join(format!("scale-{scale}")));
        Paths { binary: target.join("release/odata-feed"), data_dir }
    }
}

/// Drops the previous copy and copies the template anew; returns how long the copy took.
async fn fresh_copy(admin: &tokio_postgres::Client, version: i32) -> anyhow::Result<Duration> {
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {COPY} WITH (FORCE)")).await?;
    // FILE_COPY (PostgreSQL 15 on) copies the files instead of logging every block.
    let strategy = if version >= 150_000 { " STRATEGY = FILE_COPY" } else { "" };
    let started = Instant::now();
    admin
        .batch_execute(&format!("CREATE DATABASE {COPY} TEMPLATE {TEMPLATE}{strategy}"))
        .await
        .with_context(|| format!("copying {TEMPLATE} failed"))?;
    Ok(started.elapsed())
}

/// The retention chosen for the run.
struct Cutoff {
    days: i32,
    cutoff: DateTime<Utc>,
    /// Rows whose anchor is before the cut-off, in every purge target.
    expired: i64,
    by_table: Vec<(String, i64)>,
    /// Expired rows of a day more and a day less, by whole days of age.
    neighbours: Vec<(i32, i64)>,
}

/// Sets the tenant's `retention_days` to the whole number of days whose cut-off expires the
/// total of rows closest to `target`, counted by day of age over every purge target.
async fn choose_cutoff(
    db: &tokio_postgres::Client,
    targets: &[(String, String)],
    target: i64,
) -> anyhow::Result<Cutoff> {
    let now: DateTime<Utc> = db.query_one("SELECT now()", &[]).await?.get(0);
    // Rows by whole days of age: a row of age k days (k <= age < k + 1) is expired by a
    // retention of d days when d <= k (up to the exact instant, counted again below).
    let ages = targets
        .iter()
        .map(|(table, column)| {
            format!(
                "SELECT floor(extract(epoch FROM ($1::timestamptz - {column})) / 86400)::int AS age \
                 FROM {table} WHERE tenant_id = $2 AND {column} < $1"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows = db
        .query(&format!("SELECT age, count(*) FROM ({ages}) a GROUP BY age"), &[&now, &TENANT])
        .await
        .context("counting rows by age failed")?;
    let by_age: Vec<(i32, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expired_by = |days: i32| by_age.iter().filter(|&&(age, _)| age >= days).map(|&(_, n)| n).sum::<i64>();
    // The CHECK on tenants.retention_days.
    let days = (1..=3650)
        .min_by_key(|&days| ((expired_by(days) - target).abs(), std::cmp::Reverse(days)))
        .expect("the range is not empty");
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let mut by_table = Vec::new();
    for (table, column) in targets {
        let sql = format!("SELECT count(*) FROM {table} WHERE tenant_id = $1 AND {column} < $2");
        let count: i64 = db.query_one(&sql, &[&TENANT, &cutoff]).await?.get(0);
        if count > 0 {
            by_table.push((table.clone(), count));
        }
    }
    let expired = by_table.iter().map(|(_, n)| n).sum();
    ensure!(expired > 0, "no row of {TENANT} is older than {days} days");
    let updated = db.execute("UPDATE tenants SET retention_days = $1 WHERE id = $2", &[&days, &TENANT]).await?;
    ensure!(updated == 1, "no tenant {TENANT}");
    let neighbours = [days - 1, days + 1].into_iter().filter(|d| (1..=3650).contains(d));
    let neighbours = neighbours.map(|d| (d, expired_by(d))).collect();
    Ok(Cutoff { days, cutoff, expired, by_table, neighbours })
}

struct RunResult {
    cut: Cutoff,
    baseline: Load,
    during: Load,
    purge: Purge,
}

fn ratio(run: &RunResult) -> f64 {
    run.during.p99.as_secs_f64() / run.baseline.p99.as_secs_f64()
}

/// The purge job's run.
struct Purge {
    /// From starting the process to its exit.
    wall: Duration,
    /// `finished_at - started_at` in `job_runs`.
    job_seconds: f64,
    /// The job's count of purged rows.
    purged: i64,
    /// Rows deleted in the copy meanwhile, cascades included (`pg_stat_user_tables`).
    deleted: i64,
}

/// The reads of one phase.
struct Load {
    requests: usize,
    /// Answers other than 200 with the expected rows, and failed requests.
    errors: usize,
    elapsed: Duration,
    median: Duration,
    p99: Duration,
    cpu: CpuShare,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn describe(&self) -> String {
        format!(
            "requests={} errors={} seconds={:.1} requests_per_second={:.1} median_ms={:.2} p99_ms={:.2} \
             cpu_of_{}_cores: benchmark={:.0}% other_processes={:.0}% steal={:.0}%",
            self.requests,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            ms(self.median),
            ms(self.p99),
            self.cpu.cores,
            self.cpu.ours * 100.0,
            self.cpu.others * 100.0,
            self.cpu.steal * 100.0
        )
    }
}

/// The page read, with the rows it holds.
struct Page {
    url: String,
    rows: u64,
}

/// Warm-up, the baseline reads, then the purge with the same reads.
async fn reads_and_purge(
    options: &Options,
    feed: &str,
    http: &reqwest::Client,
    db: &tokio_postgres::Client,
    paths: &Paths,
    setup: &Setup,
    jobs_config: &Option<PathBuf>,
) -> anyhow::Result<(Load, Load, Purge)> {
    let page = Arc::new(recent_page(db, feed, options.window_calls).await?);
    let answer = fetch(http, &page.url).await?;
    answer.check(&page.url).map_err(|e| anyhow!(e))?;
    let rows = std::str::from_utf8(&answer.body).context("the page is not UTF-8")?.matches(ROW_MARK).count() as u64;
    ensure!(rows == page.rows, "the page held {rows} rows, SQL expects {}", page.rows);

    let warmup = Readers::start(http, &page, options.concurrency);
    tokio::time::sleep(Duration::from_secs(options.warmup)).await;
    warmup.stop().await?;

    let baseline = Readers::start(http, &page, options.concurrency);
    let (started, cpu) = (Instant::now(), CpuMark::now());
    tokio::time::sleep(Duration::from_secs(options.duration)).await;
    let (ended, cpu) = (Instant::now(), cpu.until_now());
    let baseline = summarize(baseline.stop().await?, started, ended, cpu)?;

    let deleted_before = deleted_rows(db).await?;
    let readers = Readers::start(http, &page, options.concurrency);
    // Let every client have a request under way before the job starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (started, cpu) = (Instant::now(), CpuMark::now());
    let mut job = PurgeJob::spawn(paths, setup, jobs_config)?;
    let status = loop {
        if let Some(status) = job.child.try_wait()? {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (ended, cpu) = (Instant::now(), cpu.until_now());
    let samples = readers.stop().await?;
    let output = job.output();
    ensure!(status.success(), "the purge failed ({status}): {}; see {}", output.trim(), setup.log("job").display());
    let during = summarize(samples, started, ended, cpu)?;
    let (purged, job_seconds) = last_purge(db).await?;
    if printed_purged(&output) != Some(purged) {
        eprintln!("warning: the job printed {:?}, job_runs says purged={purged}", output.trim());
    }
    // A closing backend reports its statistics on exit: wait until they stay put.
    let mut deleted = deleted_rows(db).await? - deleted_before;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = deleted_rows(db).await? - deleted_before;
        if now == deleted {
            break;
        }
        deleted = now;
    }
    Ok((baseline, during, Purge { wall: ended - started, job_seconds, purged, deleted }))
}

/// The page: the last `window` calls of the busiest voice channel (by start, from the second
/// of the first to the second after the last), 4 properties, `$top=1000`.
async fn recent_page(db: &tokio_postgres::Client, feed: &str, window: i64) -> anyhow::Result<Page> {
    let row = db
        .query_one(
            &format!(
                "SELECT channel_id, count(*) FROM conversations WHERE {CALLS_WHERE} \
                 GROUP BY channel_id ORDER BY count(*) DESC, channel_id LIMIT 1"
            ),
            &[],
        )
        .await
        .context("choosing the channel failed")?;
    let (channel, calls): (String, i64) = (row.get(0), row.get(1));
    let literal = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
    let row = db
        .query_one(
            &format!(
                "WITH recent AS (SELECT started_at_utc FROM conversations WHERE {CALLS_WHERE} AND channel_id = $1 \
                 ORDER BY started_at_utc DESC LIMIT $2), \
                 bounds AS (SELECT date_trunc('second', min(started_at_utc)) AS t1, \
                 date_trunc('second', max(started_at_utc)) + interval '1 second' AS t2 FROM recent) \
                 SELECT to_char(t1 AT TIME ZONE 'UTC', {literal}), to_char(t2 AT TIME ZONE 'UTC', {literal}), \
                 extract(epoch FROM t2 - t1)::float8 / 3600, \
                 (SELECT count(*) FROM conversations WHERE {CALLS_WHERE} AND channel_id = $1 \
                 AND started_at_utc >= t1 AND started_at_utc < t2) FROM bounds"
            ),
            &[&channel, &window.min(calls)],
        )
        .await
        .context("choosing the time window failed")?;
    let (t1, t2, hours, expected): (String, String, f64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    let filter =
        format!("startedAtUTC ge {t1} and startedAtUTC lt {t2} and channelId eq '{}'", channel.replace('\'', "''"));
    let url = format!(
        "{feed}Calls?$filter={}&$select=id,startedAtUTC,durationInSeconds,customerPhoneNumber&$top=1000",
        percent_encode(&filter)
    );
    let rows = (expected as u64).min(1000);
    println!("page: {rows} recent Calls of channel {channel} ({hours:.1} h up to {t2}): {url}");
    Ok(Page { url, rows })
}

/// One answered request: when it started, and how long it took.
struct Sample {
    start: Instant,
    latency: Duration,
    ok: bool,
}

/// `concurrency` clients fetching the page back to back until stopped.
struct Readers {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

impl Readers {
    fn start(http: &reqwest::Client, page: &Arc<Page>, concurrency: usize) -> Readers {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..concurrency)
            .map(|_| {
                let (http, page, stop) = (http.clone(), page.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let start = Instant::now();
                        let ok = match fetch(&http, &page.url).await {
                            Ok(answer) => {
                                answer.status == reqwest::StatusCode::OK
                                    && std::str::from_utf8(&answer.body)
                                        .is_ok_and(|t| t.matches(ROW_MARK).count() as u64 == page.rows)
                            }
                            Err(_) => false,
                        };
                        samples.push(Sample { start, latency: start.elapsed(), ok });
                    }
                    samples
                })
            })
            .collect();
        Readers { stop, tasks }
    }

    /// Stops the clients after their requests under way, and returns every sample.
    async fn stop(self) -> anyhow::Result<Vec<Sample>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples = Vec::new();
        for task in self.tasks {
            samples.extend(task.await.context("a client task failed")?);
        }
        Ok(samples)
    }
}

/// The requests started in `[started, ended)`.
fn summarize(samples: Vec<Sample>, started: Instant, ended: Instant, cpu: CpuShare) -> anyhow::Result<Load> {
    let inside: Vec<&Sample> = samples.iter().filter(|s| s.start >= started && s.start < ended).collect();
    ensure!(!inside.is_empty(), "no request started in the {:.1} s measured", (ended - started).as_secs_f64());
    let errors = inside.iter().filter(|s| !s.ok).count();
    let mut latencies: Vec<Duration> = inside.iter().map(|s| s.latency).collect();
    latencies.sort();
    let p99 = latencies[((latencies.len() as f64 * 0.99).ceil() as usize).clamp(1, latencies.len()) - 1];
    Ok(Load {
        requests: latencies.len(),
        errors,
        elapsed: ended - started,
        median: median(latencies.into_iter()),
        p99,
        cpu,
    })
}

/// `odata-feed jobs run retention-purge --tenant contoso` on the copy; stopped when dropped.
struct PurgeJob {
    child: Child,
    stdout: Option<std::process::ChildStdout>,
}

impl PurgeJob {
    /// Spawns the job (it gets SIGTERM should this process die first).
    fn spawn(paths: &Paths, setup: &Setup, jobs_config: &Option<PathBuf>) -> anyhow::Result<PurgeJob> {
        let log = setup.log("job");
        let log_file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(&paths.binary);
        command.args(["--log-format", "json", "jobs", "run", "retention-purge", "--tenant", TENANT]);
        if let Some(config) = jobs_config {
            command.arg("--jobs-config").arg(config);
        }
        command.env("RUST_LOG", "info").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log_file);
        // SAFETY: the hook makes one async-signal-safe system call and allocates nothing.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().with_context(|| format!("cannot run {}", paths.binary.display()))?;
        let stdout = child.stdout.take();
        Ok(PurgeJob { child, stdout })
    }

    /// What the job printed, once it has exited.
    fn output(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stdout) = self.stdout.take() {
            let _ = stdout.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for PurgeJob {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill(2) has no memory effects; the pid is our own child, not yet waited for.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
            }
            let _ = self.child.wait();
        }
    }
}

/// The purged rows and seconds of the latest retention purge in `job_runs`.
async fn last_purge(db: &tokio_postgres::Client) -> anyhow::Result<(i64, f64)> {
    let row = db
        .query_opt(
            "SELECT outcome, purged, extract(epoch FROM finished_at - started_at)::float8 FROM job_runs \
             WHERE job = 'retention-purge' ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await?
        .ok_or_else(|| anyhow!("job_runs holds no retention purge"))?;
    let outcome: String = row.get(0);
    if outcome != "succeeded" {
        bail!("the retention purge in job_runs ended {outcome}");
    }
    Ok((row.get(1), row.get(2)))
}

/// The number after the last `purged` the job printed (`... purged 123` or `purged: 123`).
fn printed_purged(output: &str) -> Option<i64> {
    let rest = &output[output.rfind("purged")? + "purged".len()..];
    let digits: String = rest.trim_start_matches([':', ' ']).chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Rows deleted in the database since it was created, by the statistics.
async fn deleted_rows(db: &tokio_postgres::Client) -> anyhow::Result<i64> {
    let row = db.query_one("SELECT coalesce(sum(n_tup_del), 0)::bigint FROM pg_stat_user_tables", &[]).await?;
    Ok(row.get(0))
}

/// The CPU time (clock ticks) of the whole machine and of this benchmark's processes (this one
/// and its descendants: the cluster, the server, the job) at an instant.
struct CpuMark {
    at: Instant,
    machine: common::Ticks,
    ours: u64,
}

/// The share of the machine's CPU (1.0 = every core busy) a phase used.
#[derive(Clone, Copy)]
struct CpuShare {
    cores: usize,
    ours: f64,
    /// Other processes: other benchmarks, tests, builds.
    others: f64,
    /// Time the hypervisor gave to other machines.
    steal: f64,
}

impl CpuMark {
    fn now() -> CpuMark {
        CpuMark { at: Instant::now(), machine: common::machine_ticks(), ours: tree_ticks(std::process::id()) }
    }

    fn until_now(self) -> CpuShare {
        let end = CpuMark::now();
        let cores = end.machine.cores.max(1);
        // SAFETY: sysconf has no memory effects.
        let per_second = (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).max(1) as f64;
        let capacity = (end.at - self.at).as_secs_f64() * per_second * cores as f64;
        let busy = end.machine.busy.saturating_sub(self.machine.busy) as f64;
        let steal = end.machine.steal.saturating_sub(self.machine.steal) as f64;
        let ours = end.ours.saturating_sub(self.ours) as f64;
        CpuShare { cores, ours: ours / capacity, others: (busy - ours).max(0.0) / capacity, steal: steal / capacity }
    }
}

/// CPU clock ticks of `root` and its descendants, each with its waited-for children's (so a
/// process that exits meanwhile stays counted in its parent).
fn tree_ticks(root: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let processes: Vec<(u32, u32, u64)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the command name, which may hold spaces; state is field 3.
            let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
            let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
            Some((pid, field(4)? as u32, field(14)? + field(15)? + field(16)? + field(17)?))
        })
        .collect();
    let mut total = 0;
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for &(pid, ppid, ticks) in &processes {
            if pid == parent {
                total += ticks;
            }
            if ppid == parent {
                parents.push(pid);
            }
        }
    }
    total
}

fn median_f64(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

fn print_report(options: &Options, results: &[RunResult]) {
    type Measure = (String, fn(&RunResult) -> f64, fn(f64) -> String);
    let count = |v: f64| format!("{v:.0}");
    let seconds = |v: f64| format!("{v:.1} s");
    let millis = |v: f64| format!("{v:.2} ms");
    let rate = |v: f64| format!("{v:.1}");
    let cores = results.first().map_or(0, |r| r.baseline.cpu.cores);
    let measures: Vec<Measure> = vec![
        ("retention_days (whole days)".into(), |r| f64::from(r.cut.days), count),
        (format!("expired rows at the cut-off (aim {})", options.expired), |r| r.cut.expired as f64, count),
        ("rows purged (the job's count)".into(), |r| r.purge.purged as f64, count),
        ("rows deleted, ON DELETE CASCADE included".into(), |r| r.purge.deleted as f64, count),
        ("purge wall time (process start to exit)".into(), |r| r.purge.wall.as_secs_f64(), seconds),
        ("purge time in job_runs".into(), |r| r.purge.job_seconds, seconds),
        ("purged rows/s".into(), |r| r.purge.purged as f64 / r.purge.wall.as_secs_f64(), count),
        ("reads without purge: requests/s".into(), |r| r.baseline.per_second(), rate),
        ("reads without purge: median".into(), |r| ms(r.baseline.median), millis),
        ("reads without purge: p99".into(), |r| ms(r.baseline.p99), millis),
        ("reads during purge: requests/s".into(), |r| r.during.per_second(), rate),
        ("reads during purge: median".into(), |r| ms(r.during.median), millis),
        ("reads during purge: p99".into(), |r| ms(r.during.p99), millis),
        ("p99 during purge / p99 without".into(), ratio, |v| format!("{v:.2}")),
        (
            format!("CPU of other processes, reads without purge (% of {cores} cores)"),
            |r| r.baseline.cpu.others * 100.0,
            count,
        ),
        (format!("CPU of other processes, during purge (% of {cores} cores)"), |r| r.during.cpu.others * 100.0, count),
        ("failed reads (both phases)".into(), |r| (r.baseline.errors + r.during.errors) as f64, count),
    ];
    println!();
    println!(
        "Purge of tenant {TENANT} on a fresh copy per run; reads: {} clients, a page of recent Calls \
         ($select of 4, $top=1000), {} s without the purge, then for as long as the purge runs.",
        options.concurrency, options.duration
    );
    println!();
    let runs: Vec<String> = (1..=results.len()).map(|n| format!("run {n}")).collect();
    let median_column = results.len() > 1;
    println!("| measure | {}{} |", runs.join(" | "), if median_column { " | median" } else { "" });
    println!("|---|{}{}", "---|".repeat(runs.len()), if median_column { "---|" } else { "" });
    for (name, value, format) in &measures {
        let cells: Vec<String> = results.iter().map(|r| format(value(r))).collect();
        let median =
            if median_column { format!(" | {}", format(median_f64(results.iter().map(value)))) } else { String::new() };
        println!("| {name} | {}{median} |", cells.join(" | "));
    }
}
