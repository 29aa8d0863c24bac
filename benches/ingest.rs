//! Benchmark: ingesting 1,000,000 Calls from one CSV file, with `odata-feed import` and with
//! one `POST /ingest/Calls`, each into an empty tenant and again as a re-delivery (every row
//! unchanged), next to what the parts cost alone.
//!
//! The file is generated once, deterministically, into `target/.bench-ingest/` (every Calls
//! property, filled as a contact center would: a year of start times in order, unique
//! GUID-shaped ids, transfers, holds, customers known or not). This process starts a private
//! cluster of its own (`target/.bench-ingest/cluster`), migrates it, creates the tenant as the
//! database owner and starts the release server on it (`DATABASE_URL`, scheduler off,
//! `--ingest-max-body-mib` above the file's size). Each phase of a run starts after a
//! checkpoint; "emptied" means `TRUNCATE conversations` before it:
//!
//! - validate: `odata-feed import --check` (read and validate only, no database): how fast the
//!   Rust side alone gets through the file;
//! - COPY: the file into a temporary table by `COPY ... (FORMAT csv)`: the database's floor;
//! - COPY + INSERT: the same, then one `INSERT ... ON CONFLICT DO NOTHING` into the emptied
//!   `conversations`, in one transaction: the database's floor for the write;
//! - import: `odata-feed import --tenant contoso --set Calls FILE` into the emptied tenant,
//!   then again (re-delivery);
//! - HTTP: `POST /ingest/Calls` (`text/csv`, the file streamed as the body, a token of
//!   `odata-feed token --ingest`) into the emptied tenant, then again.
//!
//! After a phase that loads, `VACUUM ANALYZE conversations` runs outside the measured time, so
//! the re-delivery measures the merge rather than autovacuum.
//!
//! Reported per phase: rows/s; the peak RSS of the `import` process (`wait4`) or of the server
//! (its VmHWM reset before the request, with its RSS before); CPU seconds of odata-feed and of
//! PostgreSQL (every backend, exited ones included); the peak of PostgreSQL's private memory
//! (RssAnon summed over its processes, sampled every 100 ms); the CPU that other processes
//! took meanwhile; and PostgreSQL's time by statement (`pg_stat_statements`, when the cluster
//! loads it). Run it with `scripts/bench-ingest`, or `cargo bench --bench ingest -- --help`
//! after `cargo build --release`. Without `--bench` (as `cargo test --all-targets` runs it) it
//! does nothing.

// Each benchmark uses a part of the shared harness.
#[allow(dead_code)]
mod common;

use anyhow::{Context, anyhow, bail, ensure};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use clap::Parser;
use common::{Server, Setup, TENANT, peak_rss_kb};
use futures_util::SinkExt;
use odata_feed::db::cluster::{Cluster, ClusterOptions};
use odata_feed::ingest::validate::Columns;
use odata_feed::odata::model::Model;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The entity set ingested, and its table.
const SET: &str = "Calls";
const TABLE: &str = "conversations";
/// The database inside the benchmark's cluster.
const DATABASE: &str = "odata_feed";
/// Bumped whenever the generator changes, so an old file is never reused.
const GENERATOR_VERSION: u32 = 1;
/// The CSV header: every writable property of Calls (checked against the model).
const HEADER: [&str; 25] = [
    "id",
    "businessUnitId",
    "channelId",
    "channelPhoneNumber",
    "channelType",
    "startedAtUTC",
    "customerJoinedAtUTC",
    "endedAtUTC",
    "durationInSeconds",
    "conversationEndedReason",
    "openingCheckResult",
    "isChannelOpen",
    "isChannelClosed",
    "isOutbound",
    "isConsult",
    "customerId",
    "customerFirstName",
    "customerLastName",
    "customerPhoneNumber",
    "customerRingDuration",
    "holdCount",
    "holdDurationInSeconds",
    "TransferInitiatedBy",
    "nextConversationID",
    "TransferToExternalDestinationPhoneNumber",
];

/// Ingesting Calls from CSV: `odata-feed import` and `POST /ingest/Calls`, into an empty
/// tenant and again, against validation alone and the database's COPY.
#[derive(Debug, Parser)]
#[command(name = "bench-ingest")]
struct Options {
    /// Rows of the generated CSV file.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Runs of every phase (the table shows each phase's median run).
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// `import --batch-rows` [default: the command's default].
    #[arg(long)]
    batch_rows: Option<u64>,
    /// Private cluster directory [default: target/.bench-ingest/cluster].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    harness: common::Harness,
}

fn main() -> ExitCode {
    common::main(|options: &Options| &options.harness, run)
}

fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.runs > 0 && options.rows > 0, "--runs and --rows must be at least 1");
    ensure!(
        std::env::var_os("DATABASE_URL").is_none_or(|u| u.is_empty()),
        "the ingestion benchmark empties tables of its own private cluster; unset DATABASE_URL"
    );
    let paths = Paths::new(options.data_dir.clone(), options.rows)?;
    let model = Model::load().context("cannot load the feed model")?;
    let columns = csv_columns(&model)?;
    let csv_bytes = generate(&paths.csv, options.rows)?;

    let setup = Setup::new(Some(paths.data_dir.clone()), 0, "ingest-")?;
    let cluster = Cluster::start(&ClusterOptions { data_dir: paths.data_dir.clone(), bindir: None })
        .context("cannot start the private cluster (is another benchmark using it?)")?;
    cluster.create_database_if_missing(DATABASE)?;
    let url = cluster.url(DATABASE);
    odata_feed::db::migrate::run(&url).context("migrating the benchmark database failed")?;
    // The tenant, created as the database's owner (the ingestion role cannot).
    cluster.execute(
        DATABASE,
        &format!(
            "INSERT INTO tenants (id, name, time_zone, retention_days) \
             VALUES ('{TENANT}', 'Contoso', 'Europe/Budapest', 400) ON CONFLICT (id) DO NOTHING"
        ),
    )?;
    let statements = cluster.execute(DATABASE, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements").is_ok();
    let postmaster = cluster.pid().ok_or_else(|| anyhow!("the private cluster is not running"))?;
    let body_mib = (csv_bytes >> 20) * 2 + 64;
    // SAFETY: no other thread reads or writes the environment: the only others are the
    // harness's watchdog (asleep) and the cluster's supervisor (waiting for its child); the
    // runtime is not started yet. The server inherits both.
    unsafe {
        std::env::set_var("DATABASE_URL", &url);
        std::env::set_var("ODATA_FEED_INGEST_MAX_BODY_MIB", body_mib.to_string());
    }

    let runtime = common::runtime()?;
    let db = runtime.block_on(common::connect(&url))?;
    let server = Server::start(&setup, 5_000)?;
    let token = ingest_token(&paths)?;
    let authority = authority(&server.feed)?;
    let bench = Bench {
        options,
        paths: &paths,
        url: &url,
        columns: &columns,
        runtime: &runtime,
        db: &db,
        meter: Meter { postmaster, server: server.process.pid() },
        statements,
        token,
        authority,
    };
    let results = (1..=options.runs).map(|number| bench.run(number)).collect::<anyhow::Result<Vec<_>>>();
    let stopped = server.stop();
    let results = results?;
    stopped?;
    drop(db);
    drop(runtime);
    drop(cluster);
    print_report(options, csv_bytes, body_mib, &results);
    Ok(())
}

/// Where the benchmark finds the release binary and keeps its file, cluster and logs.
struct Paths {
    binary: PathBuf,
    /// `target/.bench-ingest/`
    bench_dir: PathBuf,
    data_dir: PathBuf,
    csv: PathBuf,
}

impl Paths {
    fn new(data_dir: Option<PathBuf>, rows: u64) -> anyhow::Result<Paths> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let bench_dir = target.join(".bench-ingest");
        std::fs::create_dir_all(&bench_dir).with_context(|| format!("cannot create {}", bench_dir.display()))?;
        Ok(Paths {
            binary: target.join("release/odata-feed"),
            data_dir: data_dir.unwrap_or_else(|| bench_dir.join("cluster")),
            csv: bench_dir.join(format!("calls-{rows}-v{GENERATOR_VERSION}.csv")),
            bench_dir,
        })
    }

    fn log(&self, kind: &str) -> PathBuf {
        self.bench_dir.join(format!("{kind}.log"))
    }
}

/// The table columns of `HEADER`, in its order; fails unless it names every writable property
/// of Calls exactly once.
fn csv_columns(model: &Model) -> anyhow::Result<Vec<String>> {
    let set = model.entity_set(SET).ok_or_else(|| anyhow!("the model has no {SET}"))?;
    let writable = Columns::new(set);
    let mut expected: Vec<&str> =
        (0..writable.names().len()).filter_map(|i| writable.property(i).map(|(name, _)| name)).collect();
    let mut given = HEADER.to_vec();
    expected.sort_unstable();
    given.sort_unstable();
    ensure!(
        given == expected,
        "the generator's header {given:?} is not every writable property of {SET}: {expected:?}"
    );
    HEADER
        .iter()
        .map(|name| set.property(name).map(|p| p.column().to_owned()).ok_or_else(|| anyhow!("no property {name}")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The CSV file

/// A small, stable pseudo-random generator (SplitMix64), so the file never depends on a
/// crate's version.
struct Rng(u64);

impl Rng {
    fn for_row(row: u64) -> Rng {
        Rng(0x5eed_ca11_0000_0000 ^ row.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// One of `items` by weight.
    fn weighted<'a>(&mut self, items: &[(&'a str, u64)]) -> &'a str {
        let mut n = self.below(items.iter().map(|(_, w)| w).sum());
        for (item, weight) in items {
            if n < *weight {
                return item;
            }
            n -= weight;
        }
        items[0].0
    }
}

/// A GUID-shaped id, unique per `n`: the last group is `n` times an odd number modulo 2^48
/// (a bijection), the rest pseudo-random.
fn guid(n: u64) -> String {
    let mut rng = Rng(n ^ 0x0dd_1d5);
    let (a, b) = (rng.next(), rng.next());
    let unique = n.wrapping_mul(0x2545_f491_4f6c_dd1d) & 0xffff_ffff_ffff;
    format!("{:08x}-{:04x}-4{:03x}-{:04x}-{unique:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff, 0x8000 | (b & 0x3fff))
}

const FIRST_NAMES: &[&str] = &[
    "Anna", "Bence", "Zoë", "Ágnes", "Łukasz", "Maria", "James", "Olivia", "Noah", "Eszter", "Péter", "Chloé",
    "Mohammed", "Sofia", "Liam", "Hannah", "Dávid", "Emma", "Lucas", "Réka",
];
const LAST_NAMES: &[&str] = &[
    "Nagy",
    "Kovács",
    "Smith",
    "O'Brien",
    "Müller",
    "García",
    "Horváth",
    "Nowak",
    "Johnson",
    "Szabó",
    "Van Dyke, Jr.",
    "Dubois",
    "Tóth",
    "Rossi",
    "Kim",
    "Nguyen",
];

/// Writes one row of the file: a call as the contact center would report it.
fn write_row(out: &mut String, row: u64, rows: u64, base: i64) {
    const YEAR: u64 = 365 * 86_400;
    let mut rng = Rng::for_row(row);
    let outbound = rng.chance(20);
    let consult = !outbound && rng.chance(2);
    let started = base + (row * YEAR / rows) as i64 + rng.below(30) as i64;
    let check = match outbound {
        true => "Open",
        false => rng.weighted(&[("Open", 92), ("Closed", 6), ("Holiday", 2)]),
    };
    let reason = match (outbound, check) {
        (true, _) => rng.weighted(&[
            ("Default", 70),
            ("CustomerDisconnected", 12),
            ("CustomerJoinFailed", 15),
            ("AgentJoinFailed", 3),
        ]),
        (false, "Open") => rng.weighted(&[
            ("Default", 48),
            ("CustomerDisconnected", 22),
            ("Abandoned", 10),
            ("CallbackRequested", 3),
            ("TransferToChannel", 6),
            ("TransferToExternal", 5),
            ("TransferToExternalFailed", 1),
            ("TransferToAgentFailed", 2),
            ("IdleTimeout", 2),
            ("InternalError", 1),
        ]),
        (false, _) => rng.weighted(&[("Default", 80), ("CustomerDisconnected", 20)]),
    };
    let duration = match reason {
        "Abandoned" | "CallbackRequested" => rng.between(8, 240),
        "CustomerJoinFailed" | "AgentJoinFailed" => rng.between(20, 45),
        _ if check != "Open" => rng.between(10, 60),
        _ => rng.between(45, 1_500),
    };
    let joined = match reason {
        "CustomerJoinFailed" => None,
        _ if outbound => Some(rng.between(3, 25)),
        _ => Some(rng.below(3)),
    };
    let ring = if outbound { joined.map_or(Some(rng.between(20, 40)), Some) } else { None };
    let holds = match reason {
        "Default" | "CustomerDisconnected" | "TransferToChannel" | "TransferToExternal" => match rng.below(100) {
            0..70 => 0,
            70..90 => 1,
            90..97 => 2,
            _ => 3,
        },
        _ => 0,
    };
    let hold_seconds: u64 = (0..holds).map(|_| rng.between(15, 180)).sum();
    let (open, closed) = if check == "Open" { (duration, 0) } else { (0, duration) };
    let transfer = matches!(reason, "TransferToChannel" | "TransferToExternal" | "TransferToExternalFailed");
    let known = rng.chance(75);
    let channel = rng.below(24);
    let time = |offset: u64| {
        DateTime::<Utc>::from_timestamp(started + offset as i64, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    let optional = |value: Option<String>| value.unwrap_or_default();
    let quoted = |value: &str| match value.contains([',', '"']) {
        true => format!("\"{}\"", value.replace('"', "\"\"")),
        false => value.to_owned(),
    };
    let fields: [String; 25] = [
        guid(row),
        format!("bu-{:04}", channel % 5 + 1),
        format!("ch-{:04}", channel + 1),
        format!("+36140{:05}", 10_000 + channel * 7),
        "Voice".to_owned(),
        time(0),
        optional(joined.map(time)),
        time(duration),
        duration.to_string(),
        reason.to_owned(),
        check.to_owned(),
        open.to_string(),
        closed.to_string(),
        outbound.to_string(),
        consult.to_string(),
        optional(known.then(|| format!("cust-{:07}", rng.below(400_000)))),
        optional(known.then(|| rng.pick(FIRST_NAMES).to_owned())),
        optional(known.then(|| quoted(rng.pick(LAST_NAMES)))),
        optional(
            (outbound || rng.chance(96))
                .then(|| format!("+36{}{:07}", rng.pick(&["20", "30", "70", "1"]), rng.below(10_000_000))),
        ),
        optional(ring.map(|s| s.to_string())),
        holds.to_string(),
        hold_seconds.to_string(),
        optional(transfer.then(|| rng.pick(&["agent", "workflow"]).to_owned())),
        optional((reason == "TransferToChannel").then(|| guid(rows + row))),
        optional(reason.starts_with("TransferToExternal").then(|| format!("+4420{:08}", rng.below(100_000_000)))),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(field);
    }
    out.push('\n');
}

/// Writes the file of `rows` calls unless it exists; returns its size in bytes.
fn generate(path: &Path, rows: u64) -> anyhow::Result<u64> {
    if let Ok(metadata) = std::fs::metadata(path) {
        println!("file: {} ({:.0} MiB, generated before)", path.display(), metadata.len() as f64 / 1048576.0);
        return Ok(metadata.len());
    }
    let started = Instant::now();
    let partial = path.with_extension("csv.partial");
    let file = File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let base = DateTime::parse_from_rfc3339("2025-11-20T00:00:00Z").map(|t| t.timestamp()).unwrap_or_default();
    let mut line = format!("{}\n", HEADER.join(","));
    for row in 1..=rows {
        write_row(&mut line, row, rows, base);
        out.write_all(line.as_bytes())?;
        line.clear();
    }
    out.write_all(line.as_bytes())?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot rename {}", partial.display()))?;
    let size = std::fs::metadata(path)?.len();
    println!(
        "file: {} ({rows} rows, {:.0} MiB, generated in {:.1} s)",
        path.display(),
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    Ok(size)
}

// ---------------------------------------------------------------------------------------------
// The phases

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Validate,
    Copy,
    CopyInsert,
    Import,
    ImportAgain,
    Http,
    HttpAgain,
}

impl Phase {
    const ALL: [Phase; 7] = [
        Phase::Validate,
        Phase::Copy,
        Phase::CopyInsert,
        Phase::Import,
        Phase::ImportAgain,
        Phase::Http,
        Phase::HttpAgain,
    ];

    fn name(self) -> &'static str {
        match self {
            Phase::Validate => "import --check (read + validate, no database)",
            Phase::Copy => "COPY of the file into a temp table (database floor)",
            Phase::CopyInsert => "COPY + INSERT into conversations (SQL only, 1 transaction)",
            Phase::Import => "odata-feed import, empty tenant",
            Phase::ImportAgain => "odata-feed import again (all unchanged)",
            Phase::Http => "POST /ingest/Calls, empty tenant",
            Phase::HttpAgain => "POST /ingest/Calls again (all unchanged)",
        }
    }

    /// Whether the phase starts from an empty tenant.
    fn empties(self) -> bool {
        matches!(self, Phase::CopyInsert | Phase::Import | Phase::Http)
    }
}

/// What one phase's work reports.
struct Work {
    rows: u64,
    /// What the rows became, as the ingestion counted them.
    result: String,
    /// Peak RSS of the odata-feed process doing the work, in KiB, and (the server) its RSS
    /// before.
    peak_rss_kb: Option<u64>,
    base_rss_kb: Option<u64>,
    /// CPU seconds of the import process (from `wait4`); None for the server, metered instead.
    feed_cpu: Option<f64>,
}

/// One phase of one run.
struct Measured {
    phase: Phase,
    work: Work,
    wall: Duration,
    feed_cpu: Option<f64>,
    usage: Usage,
    pg_private_peak_kb: u64,
    /// PostgreSQL's busiest statements: (calls, milliseconds, rows, query).
    statements: Vec<(i64, f64, i64, String)>,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.work.rows as f64 / self.wall.as_secs_f64()
    }

    fn describe(&self) -> String {
        let rss = match (self.work.peak_rss_kb, self.work.base_rss_kb) {
            (Some(peak), Some(base)) => format!(" server_rss_mib: before={} peak={}", mib(base), mib(peak)),
            (Some(peak), None) => format!(" peak_rss_mib={}", mib(peak)),
            _ => String::new(),
        };
        let feed = self.feed_cpu.map_or_else(String::new, |s| format!(" odata_feed={s:.1}"));
        format!(
            "rows={} seconds={:.2} rows_per_second={:.0} result=\"{}\"{rss} cpu_seconds:{feed} postgres={:.1} \
             postgres_private_mib={} other_processes={:.0}%",
            self.work.rows,
            self.wall.as_secs_f64(),
            self.per_second(),
            self.work.result,
            self.usage.pg_cpu,
            mib(self.pg_private_peak_kb),
            self.usage.others * 100.0
        )
    }
}

fn mib(kb: u64) -> String {
    format!("{:.0}", kb as f64 / 1024.0)
}

/// What a run needs.
struct Bench<'a> {
    options: &'a Options,
    paths: &'a Paths,
    url: &'a str,
    /// The table columns of the CSV header, in its order.
    columns: &'a [String],
    runtime: &'a tokio::runtime::Runtime,
    /// A superuser connection to the benchmark database.
    db: &'a tokio_postgres::Client,
    meter: Meter,
    /// Whether `pg_stat_statements` is there.
    statements: bool,
    token: String,
    /// `127.0.0.1:PORT` of the server.
    authority: String,
}

impl Bench<'_> {
    fn run(&self, number: usize) -> anyhow::Result<Vec<Measured>> {
        Phase::ALL
            .iter()
            .map(|&phase| {
                let measured = self.measure(phase).with_context(|| format!("run {number}: {}", phase.name()))?;
                println!("run {number}: {}: {}", phase.name(), measured.describe());
                for (calls, ms, rows, query) in &measured.statements {
                    println!("    postgres: {:>8.0} ms {calls:>4} calls {rows:>8} rows  {query}", ms);
                }
                Ok(measured)
            })
            .collect()
    }

    fn sql(&self, sql: &str) -> anyhow::Result<()> {
        self.runtime.block_on(self.db.batch_execute(sql)).with_context(|| format!("`{sql}` failed"))
    }

    fn measure(&self, phase: Phase) -> anyhow::Result<Measured> {
        if phase.empties() {
            self.sql(&format!("TRUNCATE {TABLE} CASCADE"))?;
        }
        self.sql("CHECKPOINT")?;
        if self.statements {
            self.sql("SELECT pg_stat_statements_reset()")?;
        }
        let mark = self.meter.mark();
        let sampler = Sampler::start(self.meter.postmaster);
        let started = Instant::now();
        let work = match phase {
            Phase::Validate => self.import(true),
            Phase::Copy => self.runtime.block_on(self.copy(false)),
            Phase::CopyInsert => self.runtime.block_on(self.copy(true)),
            Phase::Import | Phase::ImportAgain => self.import(false),
            Phase::Http | Phase::HttpAgain => self.post(),
        }?;
        let wall = started.elapsed();
        let pg_private_peak_kb = sampler.stop();
        let usage = self.meter.since(&mark);
        let statements = match self.statements && phase != Phase::Validate {
            true => self.runtime.block_on(busiest_statements(self.db))?,
            false => Vec::new(),
        };
        self.check(phase, &work)?;
        if phase.empties() {
            self.sql(&format!("VACUUM ANALYZE {TABLE}"))?;
        }
        let feed_cpu = match phase {
            Phase::Http | Phase::HttpAgain => Some(usage.server_cpu),
            _ => work.feed_cpu,
        };
        Ok(Measured { phase, work, wall, feed_cpu, usage, pg_private_peak_kb, statements })
    }

    /// Every row is stored once the phase has written; a re-delivery left every row unchanged.
    fn check(&self, phase: Phase, work: &Work) -> anyhow::Result<()> {
        let rows = self.options.rows;
        ensure!(work.rows == rows, "{} rows instead of {rows}", work.rows);
        let expected = match phase {
            Phase::Import | Phase::Http => Some(format!("{rows} inserted")),
            Phase::ImportAgain | Phase::HttpAgain => Some(format!("{rows} unchanged")),
            _ => None,
        };
        if let Some(expected) = expected {
            let found = format!(", {}", work.result).contains(&format!(", {expected}"));
            ensure!(found, "expected {expected}, got {}", work.result);
        }
        if phase != Phase::Validate && phase != Phase::Copy {
            let stored: i64 = self
                .runtime
                .block_on(self.db.query_one(&format!("SELECT count(*) FROM {TABLE} WHERE tenant_id = $1"), &[&TENANT]))?
                .get(0);
            ensure!(stored as u64 == rows, "{stored} rows stored instead of {rows}");
        }
        Ok(())
    }

    /// `odata-feed import [--check] --tenant contoso --set Calls FILE`.
    fn import(&self, check: bool) -> anyhow::Result<Work> {
        let log_name = if check { "import-check" } else { "import" };
        let log = self.paths.log(log_name);
        let log_file = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(&self.paths.binary);
        command.args(["--log-format", "json", "import", "--tenant", TENANT, "--set", SET]);
        if check {
            command.arg("--check");
        }
        if let Some(rows) = self.options.batch_rows {
            command.arg("--batch-rows").arg(rows.to_string());
        }
        command.arg(&self.paths.csv).env("DATABASE_URL", self.url).env("RUST_LOG", "info").stderr(log_file);
        let finished = run_child(command)?;
        if !finished.success {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("the import failed ({}):\n{}\n{}", finished.status, finished.stdout.trim(), text.trim());
        }
        let total = finished.stdout.lines().rev().find_map(|l| l.strip_prefix("total: ")).unwrap_or("").to_owned();
        let rows = total.split(' ').next().and_then(|n| n.parse().ok());
        let rows =
            rows.ok_or_else(|| anyhow!("no `total: N rows` line in the import's output: {}", finished.stdout))?;
        // "N rows, I inserted, U updated, C unchanged, D duplicates, S s, R rows/s"
        let result = total.split(", ").skip(1).take(3).collect::<Vec<_>>().join(", ");
        Ok(Work {
            rows,
            result: if check { "validated".to_owned() } else { result },
            peak_rss_kb: Some(finished.max_rss_kb),
            base_rss_kb: None,
            feed_cpu: Some(finished.cpu_seconds),
        })
    }

    /// The file into a temporary table by COPY, and with `insert` then into the table.
    async fn copy(&self, insert: bool) -> anyhow::Result<Work> {
        let list = self.columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        self.db
            .batch_execute(&format!(
                "BEGIN; CREATE TEMPORARY TABLE bench_stage ON COMMIT DROP AS SELECT {list} FROM {TABLE} WITH NO DATA"
            ))
            .await?;
        let outcome = async {
            let sink = self.db.copy_in::<_, Bytes>("COPY bench_stage FROM STDIN (FORMAT csv, HEADER true)").await?;
            futures_util::pin_mut!(sink);
            let mut file = File::open(&self.paths.csv)?;
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                sink.send(Bytes::copy_from_slice(&buffer[..n])).await?;
            }
            let rows = sink.as_mut().finish().await?;
            let mut result = format!("{rows} copied");
            if insert {
                let inserted = self
                    .db
                    .execute(
                        &format!(
                            "INSERT INTO {TABLE} (tenant_id, media, updated_at, {list}) \
                             SELECT '{TENANT}', 'Voice', now(), {list} FROM bench_stage \
                             ON CONFLICT (tenant_id, id) DO NOTHING"
                        ),
                        &[],
                    )
                    .await?;
                result = format!("{inserted} inserted");
            }
            anyhow::Ok((rows, result))
        }
        .await;
        let end = if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.db.batch_execute(end).await?;
        let (rows, result) = outcome?;
        Ok(Work { rows, result, peak_rss_kb: None, base_rss_kb: None, feed_cpu: None })
    }

    /// One `POST /ingest/Calls` with the file as its body; the server's peak RSS meanwhile.
    fn post(&self) -> anyhow::Result<Work> {
        let server = self.meter.server;
        // Writing 5 to clear_refs resets the peak (VmHWM) to the current RSS.
        let reset = std::fs::write(format!("/proc/{server}/clear_refs"), "5").is_ok();
        let base = rss_kb(server, "VmRSS:")?;
        let (status, body) = post_file(&self.authority, &self.token, &self.paths.csv)?;
        ensure!(status == 200, "POST /ingest/{SET} answered {status}: {}", &body[..body.len().min(2_000)]);
        let peak = peak_rss_kb(server)?;
        let answer: serde_json::Value = serde_json::from_str(&body).context("the answer is not JSON")?;
        let count = |name: &str| answer.get(name).and_then(serde_json::Value::as_u64).unwrap_or(0);
        let result =
            format!("{} inserted, {} updated, {} unchanged", count("inserted"), count("updated"), count("unchanged"));
        Ok(Work {
            rows: count("rows"),
            result,
            peak_rss_kb: Some(peak),
            base_rss_kb: reset.then_some(base),
            feed_cpu: None,
        })
    }
}

/// `odata-feed token --ingest --tenant contoso --key DATA_DIR/dev-issuer.pem`.
fn ingest_token(paths: &Paths) -> anyhow::Result<String> {
    let key = paths.data_dir.join(odata_feed::auth::dev::KEY_FILE);
    let output = Command::new(&paths.binary)
        .args(["token", "--ingest", "--tenant", TENANT, "--minutes", "1440", "--key"])
        .arg(&key)
        .stdin(Stdio::null())
        .output()
        .context("cannot run `odata-feed token`")?;
    ensure!(output.status.success(), "`odata-feed token` failed: {}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).context("the token is not text")?.trim().to_owned();
    ensure!(!token.is_empty(), "`odata-feed token` printed nothing");
    Ok(token)
}

/// `127.0.0.1:PORT` of a feed URL `http://127.0.0.1:PORT/odata/`.
fn authority(feed: &str) -> anyhow::Result<String> {
    let rest = feed.strip_prefix("http://").ok_or_else(|| anyhow!("the feed URL {feed} is not http://"))?;
    Ok(rest.split('/').next().unwrap_or(rest).to_owned())
}

/// POSTs the file with a Content-Length and reads the whole answer (`Connection: close`);
/// the body goes from the file to the socket by the kernel (`std::io::copy` uses sendfile),
/// so the client costs next to nothing. Returns (status, body).
fn post_file(authority: &str, token: &str, path: &Path) -> anyhow::Result<(u16, String)> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let length = file.metadata()?.len();
    let mut stream = TcpStream::connect(authority).with_context(|| format!("cannot connect to {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(3_600)))?;
    write!(
        stream,
        "POST /ingest/{SET} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )?;
    // The server may answer (and stop reading) before the whole body is sent: read it anyway.
    let sent = std::io::copy(&mut file, &mut stream);
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    if response.is_empty() {
        sent.context("sending the body failed")?;
        read.context("reading the answer failed")?;
        bail!("the server closed the connection without an answer");
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status =
        text.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| anyhow!("no HTTP status: {text}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    // A chunked answer: the JSON object between its first `{` and its last `}`.
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) if start < end => &body[start..=end],
        _ => body,
    };
    Ok((status, body.to_owned()))
}

/// How a child process ended.
struct Finished {
    success: bool,
    status: String,
    stdout: String,
    /// Peak resident set of the process, KiB.
    max_rss_kb: u64,
    /// User and system CPU seconds.
    cpu_seconds: f64,
}

/// Runs `command` to its end (stdout captured, SIGTERM should this process die first) and
/// reaps it with `wait4`, which gives its own peak RSS and CPU time.
fn run_child(mut command: Command) -> anyhow::Result<Finished> {
    command.stdin(Stdio::null()).stdout(Stdio::piped());
    // SAFETY: the hook makes one async-signal-safe system call and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().context("cannot run the release binary")?;
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout).context("reading the child's output failed")?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals; the pid is our own child, not yet reaped.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("waiting for the child failed");
        }
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let success = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let status = match libc::WIFEXITED(status) {
        true => format!("exit status {}", libc::WEXITSTATUS(status)),
        false => format!("signal {}", libc::WTERMSIG(status)),
    };
    Ok(Finished {
        success,
        status,
        stdout,
        max_rss_kb: usage.ru_maxrss as u64,
        cpu_seconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
    })
}

/// A line of `/proc/PID/status` in KiB (`VmRSS:`, `VmHWM:`, `RssAnon:`).
fn rss_kb(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("cannot read a process status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

/// PostgreSQL's busiest statements since the last reset, in this database, summed by text
/// (a statement on a batch's temporary table is a new entry per batch).
async fn busiest_statements(db: &tokio_postgres::Client) -> anyhow::Result<Vec<(i64, f64, i64, String)>> {
    let rows = db
        .query(
            "SELECT sum(calls)::bigint, sum(total_exec_time), sum(rows)::bigint, \
             left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS text FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND query NOT LIKE '%pg_stat_statements%' GROUP BY text ORDER BY 2 DESC LIMIT 4",
            &[],
        )
        .await
        .context("reading pg_stat_statements failed")?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
}

// ---------------------------------------------------------------------------------------------
// CPU and memory

/// Where the CPU goes: the cluster (its postmaster and every backend) and the server, against
/// the whole machine.
struct Meter {
    postmaster: u32,
    server: u32,
}

struct Mark {
    at: Instant,
    machine: common::Ticks,
    ours: u64,
    pg: u64,
    server: u64,
}

/// CPU of one phase.
struct Usage {
    pg_cpu: f64,
    server_cpu: f64,
    /// Share of the machine (1.0 = every core) other processes used: builds, tests.
    others: f64,
    cores: usize,
}

impl Meter {
    fn mark(&self) -> Mark {
        let processes = processes();
        Mark {
            at: Instant::now(),
            machine: common::machine_ticks(),
            ours: tree_ticks(&processes, std::process::id()),
            pg: tree_ticks(&processes, self.postmaster),
            server: tree_ticks(&processes, self.server),
        }
    }

    fn since(&self, mark: &Mark) -> Usage {
        let end = self.mark();
        // SAFETY: sysconf has no memory effects.
        let per_second = (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).max(1) as f64;
        let cores = end.machine.cores.max(1);
        let capacity = (end.at - mark.at).as_secs_f64() * per_second * cores as f64;
        let busy = end.machine.busy.saturating_sub(mark.machine.busy) as f64;
        let ours = end.ours.saturating_sub(mark.ours) as f64;
        Usage {
            pg_cpu: end.pg.saturating_sub(mark.pg) as f64 / per_second,
            server_cpu: end.server.saturating_sub(mark.server) as f64 / per_second,
            others: (busy - ours).max(0.0) / capacity,
            cores,
        }
    }
}

/// (pid, parent pid, CPU ticks of the process and of its waited-for children) of every process.
fn processes() -> Vec<(u32, u32, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the command name, which may hold spaces; state is field 3.
            let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
            let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
            Some((pid, field(4)? as u32, field(14)? + field(15)? + field(16)? + field(17)?))
        })
        .collect()
}

/// `root` and its descendants.
fn tree(processes: &[(u32, u32, u64)], root: u32) -> Vec<u32> {
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(processes.iter().filter(|p| p.1 == parent).map(|p| p.0));
        next += 1;
    }
    found
}

/// CPU ticks of `root` and its descendants, each with its exited children's (so a backend
/// that exits meanwhile stays counted in the postmaster).
fn tree_ticks(processes: &[(u32, u32, u64)], root: u32) -> u64 {
    let pids = tree(processes, root);
    processes.iter().filter(|p| pids.contains(&p.0)).map(|p| p.2).sum()
}

/// Samples the private memory (RssAnon) of the cluster's processes every 100 ms and keeps
/// the peak of their sum.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Sampler {
    fn start(postmaster: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            loop {
                let pids = tree(&processes(), postmaster);
                let sum: u64 = pids.iter().filter_map(|&pid| rss_kb(pid, "RssAnon:").ok()).sum();
                peak = peak.max(sum);
                if flag.load(Ordering::Relaxed) {
                    return peak;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Sampler { stop, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------------
// The report

/// Each phase's median run (by wall time).
fn medians(results: &[Vec<Measured>]) -> Vec<&Measured> {
    Phase::ALL
        .iter()
        .filter_map(|&phase| {
            let mut runs: Vec<&Measured> = results.iter().filter_map(|r| r.iter().find(|m| m.phase == phase)).collect();
            runs.sort_by_key(|m| m.wall);
            runs.get((runs.len().max(1) - 1) / 2).copied()
        })
        .collect()
}

fn print_report(options: &Options, csv_bytes: u64, body_mib: u64, results: &[Vec<Measured>]) {
    let rows = medians(results);
    let cores = rows.first().map_or(0, |m| m.usage.cores);
    println!();
    println!(
        "Ingesting {} Calls from one CSV file ({:.0} MiB, {} columns) into tenant {TENANT}, {cores} cores; \
         import --batch-rows {}; server --ingest-max-body-mib {body_mib}; {} run(s), the median shown.",
        options.rows,
        csv_bytes as f64 / 1048576.0,
        HEADER.len(),
        options.batch_rows.map_or_else(|| "default".to_owned(), |r| r.to_string()),
        results.len(),
    );
    println!();
    println!(
        "| phase | seconds | rows/s | result | peak RSS of odata-feed | CPU s odata-feed | CPU s PostgreSQL | \
         PostgreSQL private memory | other processes |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---:|---:|");
    for m in &rows {
        let rss = match (m.work.peak_rss_kb, m.work.base_rss_kb) {
            (Some(peak), Some(base)) => format!("{} MiB (server; {} before)", mib(peak), mib(base)),
            (Some(peak), None) if matches!(m.phase, Phase::Http | Phase::HttpAgain) => {
                format!("{} MiB (server, since start)", mib(peak))
            }
            (Some(peak), None) => format!("{} MiB", mib(peak)),
            _ => "-".to_owned(),
        };
        let feed = m.feed_cpu.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}"));
        println!(
            "| {} | {:.1} | {:.0} | {} | {rss} | {feed} | {:.1} | {} MiB | {:.0}% |",
            m.phase.name(),
            m.wall.as_secs_f64(),
            m.per_second(),
            m.work.result,
            m.usage.pg_cpu,
            mib(m.pg_private_peak_kb),
            m.usage.others * 100.0
        );
    }
    let rate = |phase: Phase| rows.iter().find(|m| m.phase == phase).map_or(0.0, |m| m.per_second());
    let floor = rate(Phase::CopyInsert);
    if floor > 0.0 {
        println!();
        println!(
            "Against the SQL-only floor ({floor:.0} rows/s): import {:.0}%, POST {:.0}% into an empty tenant; \
             validation alone {:.0} rows/s, a plain COPY {:.0} rows/s.",
            rate(Phase::Import) / floor * 100.0,
            rate(Phase::Http) / floor * 100.0,
            rate(Phase::Validate),
            rate(Phase::Copy),
        );
    }
    let busiest: Vec<&&Measured> = rows.iter().filter(|m| !m.statements.is_empty()).collect();
    if !busiest.is_empty() {
        println!();
        println!("PostgreSQL's time by statement (pg_stat_statements, top 4 per phase):");
        println!();
        println!("| phase | statement | calls | ms |");
        println!("|---|---|---:|---:|");
        for m in busiest {
            for (calls, ms, _, query) in &m.statements {
                println!("| {} | `{}` | {calls} | {ms:.0} |", m.phase.name(), query.replace('|', "\\|"));
            }
        }
    }
}
