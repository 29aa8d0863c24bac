//! Benchmark: reading the feed over HTTP, against the release server on loopback.
//!
//! - W1: every row and column of `Calls`, following `@odata.nextLink` to the end (default page
//!   size), in rows per second, next to PostgreSQL's own `COPY ... TO STDOUT` of the same rows
//!   and columns; the server's peak RSS.
//! - W2: a selective page (`$filter` on a time window and a channel, `$select`, `$top=1000`) at
//!   concurrency 1 and 32: requests per second, median and p99 latency.
//! - W3: the page reached by skiptoken at row 900,000 against the first page.
//!
//! The demo data set is loaded once into a reusable private cluster (`target/.bench-read/`), or
//! into the database named by `DATABASE_URL`. Run it with `scripts/bench-read`, or
//! `cargo bench --bench read -- --help` after `cargo build --release`. Without `--bench` (as
//! `cargo test --all-targets` runs it) it does nothing.

mod common;

use anyhow::{Context, anyhow, bail, ensure};
use clap::Parser;
use common::{Answer, Server, Setup, TENANT, fetch, median, ms, next_link, peak_rss_kb, percent_encode};
use futures_util::StreamExt;
use odata_feed::odata::edm::EdmType;
use odata_feed::odata::model::Model;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The entity set read, and its rows in SQL.
const SET: &str = "Calls";
const SET_WHERE: &str = "tenant_id = 'contoso' AND media = 'Voice'";
/// What counts a row in a JSON page: every entity starts with its key (a `{"id":` inside a
/// string value is escaped as `{\"id\":`).
const ROW_MARK: &str = "{\"id\":";

/// Reading the feed: full pull vs COPY, a selective page under load, and deep skiptokens.
#[derive(Debug, Parser)]
#[command(name = "bench-read")]
struct Options {
    /// Conversations of the demo tenant; about 60% are Calls.
    #[arg(long, default_value_t = 1_700_000)]
    scale: u32,
    /// Fewest Calls the data set must hold.
    #[arg(long, default_value_t = 1_000_000)]
    min_calls: u64,
    /// Private cluster directory, reused between runs [default: target/.bench-read/scale-SCALE].
    /// Ignored when DATABASE_URL is set.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Repetitions of the full pull and of COPY.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds of each selective-page run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrency levels of the selective-page runs.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    concurrency: Vec<usize>,
    /// Row whose skiptoken page is compared with the first page.
    #[arg(long, default_value_t = 900_000)]
    deep_row: u64,
    /// Entities per page (the server's --page-size).
    #[arg(long, default_value_t = 5_000)]
    page_size: u64,
    /// `$select` of the full pull, for experiments (must include `id`) [default: every column].
    #[arg(long)]
    select: Option<String>,
    /// Timed fetches of the first and of the deep page.
    #[arg(long, default_value_t = 20)]
    fetches: usize,
    #[command(flatten)]
    harness: common::Harness,
}

fn main() -> ExitCode {
    common::main(|options: &Options| &options.harness, run)
}

fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.runs > 0 && options.fetches > 0, "--runs and --fetches must be at least 1");
    if let Some(select) = &options.select {
        ensure!(select.split(',').any(|p| p.trim() == "id"), "--select must include id (rows are counted by it)");
    }
    let setup = Setup::new(options.data_dir.clone(), options.scale, "")?;
    let loaded = setup.load()?;
    match loaded.record {
        Some(line) => println!("loaded in {:.0} s: {line}", loaded.elapsed.as_secs_f64()),
        None => println!("already loaded ({:.1} s)", loaded.elapsed.as_secs_f64()),
    }
    let server = Server::start(&setup, options.page_size)?;
    let database_url = setup.database_url(&server)?;

    let runtime = common::runtime()?;
    let meter = Meter { server: server.process.pid(), private_cluster: std::env::var_os("DATABASE_URL").is_none() };
    let http =
        server.client(reqwest::Client::builder().pool_max_idle_per_host(64).timeout(Duration::from_secs(300)))?;
    let report = runtime.block_on(workloads(options, &server.feed, http, &database_url, &meter))?;
    let peak_rss_kb = peak_rss_kb(server.process.pid())?;
    server.stop()?;
    print_report(&report, peak_rss_kb);
    Ok(())
}

struct Report {
    calls: u64,
    full_pull: Vec<Rate>,
    copy: Vec<Rate>,
    page_size: u64,
    select: Option<String>,
    selective_rows: u64,
    selective: Vec<LoadResult>,
    first_page: Duration,
    deep_page: Duration,
    deep_row: u64,
}

#[derive(Clone, Copy)]
struct Rate {
    rows: u64,
    elapsed: Duration,
    cpu: Cpu,
}

impl Rate {
    fn new(rows: u64, elapsed: Duration) -> Rate {
        Rate { rows, elapsed, cpu: Cpu::default() }
    }

    fn per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }

    fn cpu_per_thousand(&self) -> String {
        let per = |seconds: f64| format!("{:.2} ms", seconds * 1e6 / self.rows as f64);
        let database = self.cpu.database.map_or_else(|| "-".to_owned(), per);
        format!("server {}, PostgreSQL {database}, client {}", per(self.cpu.server), per(self.cpu.client))
    }

    fn describe(&self) -> String {
        let database = self.cpu.database.map_or_else(|| "-".to_owned(), |s| format!("{s:.2}"));
        format!(
            "rows={} seconds={:.2} rows_per_second={:.0} cpu_seconds: server={:.2} postgres={database} client={:.2}",
            self.rows,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.cpu.server,
            self.cpu.client
        )
    }
}

/// CPU seconds (user and system) spent by the server, its private PostgreSQL (every process
/// under the server, exited backends included) and this client.
#[derive(Clone, Copy, Default)]
struct Cpu {
    server: f64,
    database: Option<f64>,
    client: f64,
}

impl Cpu {
    fn since(&self, before: &Cpu) -> Cpu {
        Cpu {
            server: self.server - before.server,
            database: self.database.zip(before.database).map(|(a, b)| a - b),
            client: self.client - before.client,
        }
    }
}

struct Meter {
    server: u32,
    /// Whether PostgreSQL runs under the server (without DATABASE_URL).
    private_cluster: bool,
}

impl Meter {
    fn read(&self) -> Cpu {
        // SAFETY: sysconf has no memory effects.
        let tick = 1.0 / (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64);
        let stats = process_stats();
        let own = |pid: u32| stats.iter().find(|s| s.pid == pid).map_or(0, |s| s.own);
        let mut database = 0;
        let mut parents = vec![self.server];
        while let Some(parent) = parents.pop() {
            for child in stats.iter().filter(|s| s.ppid == parent) {
                database += child.own + child.children;
                parents.push(child.pid);
            }
        }
        Cpu {
            server: own(self.server) as f64 * tick,
            database: self.private_cluster.then_some(database as f64 * tick),
            client: own(std::process::id()) as f64 * tick,
        }
    }
}

struct ProcessStat {
    pid: u32,
    ppid: u32,
    /// utime + stime, in clock ticks.
    own: u64,
    /// cutime + cstime: of exited, waited-for children.
    children: u64,
}

/// Every process's `/proc/PID/stat` CPU times (processes vanishing meanwhile are skipped).
fn process_stats() -> Vec<ProcessStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the command name, which may hold spaces: state is field 3.
            let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
            let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
            Some(ProcessStat {
                pid,
                ppid: field(4)? as u32,
                own: field(14)? + field(15)?,
                children: field(16)? + field(17)?,
            })
        })
        .collect()
}

struct LoadResult {
    concurrency: usize,
    requests: usize,
    elapsed: Duration,
    median: Duration,
    p99: Duration,
}

async fn workloads(
    options: &Options,
    feed: &str,
    http: reqwest::Client,
    database_url: &str,
    meter: &Meter,
) -> anyhow::Result<Report> {
    let db = common::connect(database_url).await?;
    let calls: i64 = db.query_one(&format!("SELECT count(*) FROM conversations WHERE {SET_WHERE}"), &[]).await?.get(0);
    let calls = calls as u64;
    println!("{SET}: {calls} rows");
    if calls < options.min_calls {
        let share = calls as f64 / f64::from(options.scale);
        let needed = (options.min_calls as f64 / share.max(0.01) * 1.02).ceil() as u64;
        bail!(
            "{TENANT} has {calls} {SET}, fewer than {} (--min-calls); run with --scale {needed} (a new data directory)",
            options.min_calls
        );
    }
    ensure!(options.deep_row < calls, "--deep-row {} is beyond the {calls} rows", options.deep_row);

    let first_url = format!("{feed}{SET}");
    let pull_url = match &options.select {
        Some(select) => format!("{first_url}?$select={}", percent_encode(select)),
        None => first_url.clone(),
    };
    let copy_sql = copy_statement()?;

    // W1 and COPY, alternating.
    let (mut full_pull, mut copy) = (Vec::new(), Vec::new());
    let mut deep_link = None;
    let mut page_size = 0;
    for run in 1..=options.runs {
        let before = meter.read();
        let pull = pull_all(&http, &pull_url, options.deep_row).await?;
        let mut rate = pull.rate;
        rate.cpu = meter.read().since(&before);
        ensure!(rate.rows == calls, "the feed returned {} {SET}, SQL counts {calls}", rate.rows);
        println!("W1 run={run} pages={} {}", pull.pages, rate.describe());
        full_pull.push(rate);
        deep_link = deep_link.or(pull.deep_link);
        page_size = pull.first_page_rows;
        let before = meter.read();
        let mut rate = copy_out(&db, &copy_sql).await?;
        rate.cpu = meter.read().since(&before);
        ensure!(rate.rows == calls, "COPY returned {} rows, count(*) says {calls}", rate.rows);
        println!("COPY run={run} {}", rate.describe());
        copy.push(rate);
    }

    // W3: the first page and the page at the deep row, alternating.
    let deep_link = deep_link.ok_or_else(|| anyhow!("no next link was at row {}", options.deep_row))?;
    let (mut first, mut deep) = (Vec::new(), Vec::new());
    for i in 0..=options.fetches {
        let (a, _) = timed_get(&http, &first_url).await?;
        let (b, rows) = timed_get(&http, &deep_link).await?;
        ensure!(rows == page_size, "the page at row {} held {rows} rows, not {page_size}", options.deep_row);
        if i > 0 {
            // The first round warms up.
            first.push(a);
            deep.push(b);
        }
    }
    let (first_page, deep_page) = (median(first.into_iter()), median(deep.into_iter()));
    println!(
        "W3 first_page_ms={:.1} page_at_{}_ms={:.1} ratio={:.2}",
        ms(first_page),
        options.deep_row,
        ms(deep_page),
        deep_page.as_secs_f64() / first_page.as_secs_f64()
    );

    // W2: a selective page.
    let (url, expected) = selective_page(&db, feed).await?;
    let (_, selective_rows) = timed_get(&http, &url).await?;
    ensure!(
        selective_rows == expected.min(1000),
        "the selective page held {selective_rows} rows, SQL expects {}",
        expected.min(1000)
    );
    println!("W2 page: {selective_rows} rows: {url}");
    let mut selective = Vec::new();
    for &concurrency in &options.concurrency {
        let result = under_load(&http, &url, concurrency, Duration::from_secs(options.duration)).await?;
        println!(
            "W2 concurrency={concurrency} requests={} requests_per_second={:.0} median_ms={:.2} p99_ms={:.2}",
            result.requests,
            result.requests as f64 / result.elapsed.as_secs_f64(),
            ms(result.median),
            ms(result.p99)
        );
        selective.push(result);
    }
    Ok(Report {
        calls,
        full_pull,
        copy,
        page_size,
        select: options.select.clone(),
        selective_rows,
        selective,
        first_page,
        deep_page,
        deep_row: options.deep_row,
    })
}

struct Pull {
    rate: Rate,
    pages: usize,
    first_page_rows: u64,
    deep_link: Option<String>,
}

/// Follows next links from `url` to the end, counting rows; keeps the link that continues at
/// `deep_row`.
async fn pull_all(http: &reqwest::Client, url: &str, deep_row: u64) -> anyhow::Result<Pull> {
    let started = Instant::now();
    let (mut rows, mut pages, mut first_page_rows) = (0u64, 0usize, 0u64);
    let mut deep_link = None;
    let mut next = Some(url.to_owned());
    while let Some(url) = next.take() {
        let body = get(http, &url).await?.body;
        let text = std::str::from_utf8(&body).context("a page is not UTF-8")?;
        let count = text.matches(ROW_MARK).count() as u64;
        if pages == 0 {
            first_page_rows = count;
        }
        rows += count;
        pages += 1;
        next = next_link(text)?;
        if rows == deep_row {
            deep_link.clone_from(&next);
        }
    }
    Ok(Pull { rate: Rate::new(rows, started.elapsed()), pages, first_page_rows, deep_link })
}

/// The answer to `GET url`; an error unless it is 200.
async fn get(http: &reqwest::Client, url: &str) -> anyhow::Result<Answer> {
    let answer = fetch(http, url).await?;
    answer.check(url).map_err(|e| anyhow!(e))?;
    Ok(answer)
}

/// One fetch, timed to the last byte, with the rows of the page.
async fn timed_get(http: &reqwest::Client, url: &str) -> anyhow::Result<(Duration, u64)> {
    let answer = get(http, url).await?;
    let text = std::str::from_utf8(&answer.body).context("a page is not UTF-8")?;
    Ok((answer.elapsed, text.matches(ROW_MARK).count() as u64))
}

/// `COPY (SELECT ...) TO STDOUT` of the columns the server selects for every property of the
/// set (a local time repeats its UTC column), in key order.
fn copy_statement() -> anyhow::Result<String> {
    let model = Model::load().context("cannot load the feed model")?;
    let set = model.entity_set(SET).ok_or_else(|| anyhow!("the model has no {SET}"))?;
    let columns: Vec<String> = set
        .properties
        .iter()
        .map(|p| match p.edm_type {
            EdmType::Decimal { .. } => format!("{}::text", p.column()),
            _ => p.column().to_owned(),
        })
        .collect();
    let order = set.key.iter().map(|k| set.property(k).map(|p| p.column().to_owned())).collect::<Option<Vec<_>>>();
    let order = order.ok_or_else(|| anyhow!("a key of {SET} is not a property"))?;
    Ok(format!(
        "COPY (SELECT {} FROM {} WHERE {SET_WHERE} ORDER BY {}) TO STDOUT",
        columns.join(", "),
        set.table,
        order.join(", ")
    ))
}

async fn copy_out(db: &tokio_postgres::Client, statement: &str) -> anyhow::Result<Rate> {
    let started = Instant::now();
    let stream = db.copy_out(statement).await.context("COPY failed")?;
    let mut stream = std::pin::pin!(stream);
    let mut rows = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("COPY failed")?;
        rows += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    Ok(Rate::new(rows, started.elapsed()))
}

/// The W2 URL: the busiest voice channel, in a time window around the middle of its calls
/// that holds about 600 of them; with the number of rows SQL finds there.
async fn selective_page(db: &tokio_postgres::Client, feed: &str) -> anyhow::Result<(String, u64)> {
    let row = db
        .query_one(
            &format!(
                "SELECT channel_id, count(*) FROM conversations WHERE {SET_WHERE} \
                 GROUP BY channel_id ORDER BY count(*) DESC, channel_id LIMIT 1"
            ),
            &[],
        )
        .await
        .context("choosing the channel failed")?;
    let (channel, calls): (String, i64) = (row.get(0), row.get(1));
    let t1 = nth_start(db, &channel, calls / 2, false).await?;
    let t2 = nth_start(db, &channel, (calls / 2 + 600).min(calls - 1), true).await?;
    let row = db
        .query_one(
            &format!(
                "SELECT count(*) FROM conversations WHERE {SET_WHERE} AND channel_id = $1 \
                 AND started_at_utc >= $2::text::timestamptz AND started_at_utc < $3::text::timestamptz"
            ),
            &[&channel, &t1, &t2],
        )
        .await?;
    let expected: i64 = row.get(0);
    let filter =
        format!("startedAtUTC ge {t1} and startedAtUTC lt {t2} and channelId eq '{}'", channel.replace('\'', "''"));
    let url = format!(
        "{feed}{SET}?$filter={}&$select=id,startedAtUTC,durationInSeconds,customerPhoneNumber&$top=1000",
        percent_encode(&filter)
    );
    Ok((url, expected as u64))
}

/// The start of the channel's call number `offset` (in time order) as an OData literal in UTC,
/// truncated to the second, or rounded up to the next second.
async fn nth_start(db: &tokio_postgres::Client, channel: &str, offset: i64, round_up: bool) -> anyhow::Result<String> {
    let sql = format!(
        "SELECT to_char((date_trunc('second', started_at_utc) + CASE WHEN $3 THEN interval '1 second' \
         ELSE interval '0' END) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
         FROM conversations WHERE {SET_WHERE} AND channel_id = $1 \
         ORDER BY started_at_utc OFFSET $2 LIMIT 1"
    );
    let row = db.query_one(&sql, &[&channel, &offset, &round_up]).await.context("choosing the time window failed")?;
    Ok(row.get(0))
}

/// `concurrency` clients fetching `url` back to back for `duration`.
async fn under_load(
    http: &reqwest::Client,
    url: &str,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    // Open the connections first.
    let warm: Vec<_> = (0..concurrency).map(|_| timed_get(http, url)).collect();
    for result in futures_util::future::join_all(warm).await {
        result?;
    }
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url) = (http.clone(), url.to_owned());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    latencies.push(timed_get(&http, &url).await?.0);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.context("a client task failed")??);
    }
    let elapsed = started.elapsed();
    ensure!(!latencies.is_empty(), "no request finished");
    latencies.sort();
    let p99 = latencies[((latencies.len() as f64 * 0.99).ceil() as usize).clamp(1, latencies.len()) - 1];
    Ok(LoadResult { concurrency, requests: latencies.len(), elapsed, median: median(latencies.into_iter()), p99 })
}

fn median_rate(rates: &[Rate]) -> Rate {
    let mut sorted = rates.to_vec();
    sorted.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    sorted[(sorted.len() - 1) / 2]
}

fn print_report(report: &Report, peak_rss_kb: u64) {
    let pull = median_rate(&report.full_pull);
    let copy = median_rate(&report.copy);
    let runs = report.full_pull.len();
    println!();
    println!("| workload | result |");
    println!("|---|---|");
    println!(
        "| W1 full pull of {SET}{} ({} rows, pages of {}), median of {runs} | {:.0} rows/s ({:.2} s) |",
        report.select.as_ref().map_or_else(String::new, |s| format!(" with $select={s}")),
        report.calls,
        report.page_size,
        pull.per_second(),
        pull.elapsed.as_secs_f64()
    );
    println!(
        "| COPY of the same rows and columns, median of {runs} | {:.0} rows/s ({:.2} s) |",
        copy.per_second(),
        copy.elapsed.as_secs_f64()
    );
    println!("| W1 / COPY | {:.2} |", pull.per_second() / copy.per_second());
    println!("| W1 CPU per 1,000 rows (median run) | {} |", pull.cpu_per_thousand());
    println!("| COPY CPU per 1,000 rows (median run) | {} |", copy.cpu_per_thousand());
    println!("| server peak RSS (VmHWM) | {:.1} MiB |", peak_rss_kb as f64 / 1024.0);
    for load in &report.selective {
        println!(
            "| W2 selective page ({} rows), concurrency {} | {:.0} requests/s, median {:.2} ms, p99 {:.2} ms |",
            report.selective_rows,
            load.concurrency,
            load.requests as f64 / load.elapsed.as_secs_f64(),
            ms(load.median),
            ms(load.p99)
        );
    }
    println!("| W3 first page, median | {:.1} ms |", ms(report.first_page));
    println!("| W3 page at row {} (skiptoken), median | {:.1} ms |", report.deep_row, ms(report.deep_page));
    println!("| W3 ratio | {:.2} |", report.deep_page.as_secs_f64() / report.first_page.as_secs_f64());
}
