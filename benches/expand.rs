//! Benchmark: `$expand` of `Calls` over HTTP, against the release server on loopback.
//!
//! - E1: one page (`$top=5000`) with `$expand=QueueSegments,Workitems` against the same page
//!   without `$expand` plus fetching the page's related rows straight from PostgreSQL (one
//!   `= ANY($2)` statement per navigation property, every column of every row read); medians of
//!   the three times, the ratio expanded / (plain + direct), bytes and related rows.
//! - E2: the first 100,000 Calls with `$expand`, following `@odata.nextLink` (default page size):
//!   time, Calls per second, pages and the server's peak RSS, against the same pull without
//!   `$expand`.
//!
//! An answer other than 200 is reported (status and body) and the other workloads go on.
//! `--expand` replaces the expanded navigation properties (`--expand Channel`). It reuses the
//! cluster of `benches/read.rs` (`target/.bench-read/`, loaded once), or the database named by
//! `DATABASE_URL`. Run it with `scripts/bench-expand`, or `cargo bench --bench expand -- --help`
//! after `cargo build --release`. Without `--bench` (as `cargo test --all-targets` runs it) it
//! does nothing.

mod common;

use anyhow::{Context, anyhow, bail, ensure};
use clap::Parser;
use common::{Answer, Server, Setup, TENANT, median, ms, next_link, peak_rss_kb, percent_encode};
use odata_feed::odata::model::{EntitySet, Model};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio_postgres::types::{FromSql, Type};

/// The entity set read.
const SET: &str = "Calls";

/// `$expand` of Calls: one page against plain page + direct child fetch, and a paged pull.
#[derive(Debug, Parser)]
#[command(name = "bench-expand")]
struct Options {
    /// The `$expand` value: navigation properties of Calls, with nested options if wanted.
    #[arg(long, default_value = "QueueSegments,Workitems")]
    expand: String,
    /// Conversations of the demo tenant, as for bench-read (names its data directory).
    #[arg(long, default_value_t = 1_700_000)]
    scale: u32,
    /// Private cluster directory [default: target/.bench-read/scale-SCALE]. Ignored when
    /// DATABASE_URL is set.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Timed repetitions of each workload (after one untimed warm-up round).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// `$top` of the E1 page.
    #[arg(long, default_value_t = 5_000)]
    top: u64,
    /// Calls read by each E2 pull.
    #[arg(long, default_value_t = 100_000)]
    pull_calls: u64,
    /// Entities per page (the server's --page-size).
    #[arg(long, default_value_t = 5_000)]
    page_size: u64,
    #[command(flatten)]
    harness: common::Harness,
}

fn main() -> ExitCode {
    common::main(|options: &Options| &options.harness, run)
}

fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(
        options.runs > 0 && options.top > 0 && options.pull_calls > 0,
        "--runs, --top and --pull-calls must be positive"
    );
    let model = Model::load().context("cannot load the feed model")?;
    let calls = model.entity_set(SET).ok_or_else(|| anyhow!("the model has no {SET}"))?;
    let navigations = expanded_navigations(&options.expand);
    let children = navigations.iter().map(|n| Related::new(&model, calls, n)).collect::<anyhow::Result<Vec<_>>>()?;

    let setup = Setup::new(options.data_dir.clone(), options.scale, "expand-")?;
    let loaded = setup.load()?;
    let done = if loaded.record.is_some() { "loaded" } else { "already loaded" };
    println!("{done} ({:.1} s)", loaded.elapsed.as_secs_f64());
    let server = Server::start(&setup, options.page_size)?;
    let database_url = setup.database_url(&server)?;
    let runtime = common::runtime()?;
    let pid = server.process.pid();
    let http = server.client(reqwest::Client::builder().timeout(Duration::from_secs(300)))?;
    let result = runtime.block_on(workloads(options, &server.feed, http, &database_url, &children, pid));
    server.stop()?;
    print_report(options, &result?);
    Ok(())
}

/// Sets VmHWM back to the current RSS (Linux 4.0+); false when the kernel refuses.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The navigation property names of an `$expand` value (nested options dropped).
fn expanded_navigations(expand: &str) -> Vec<String> {
    let (mut names, mut depth, mut current) = (Vec::new(), 0usize, String::new());
    for c in expand.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => names.push(std::mem::take(&mut current)),
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    names.push(current);
    names.into_iter().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect()
}

/// A navigation property of Calls and the statement that reads its rows for a page directly:
/// every column of the target set where the joined column is one of the page's values.
struct Related {
    name: String,
    collection: bool,
    /// The property of Calls whose values select the related rows.
    source: String,
    statement: String,
}

impl Related {
    fn new(model: &Model, calls: &EntitySet, name: &str) -> anyhow::Result<Related> {
        let navigation =
            calls.navigation_property(name).ok_or_else(|| anyhow!("{SET} has no navigation property {name}"))?;
        let target = model.entity_set(&navigation.target).ok_or_else(|| anyhow!("no set {}", navigation.target))?;
        let [(source, target_property)] = navigation.on.as_slice() else {
            bail!("{name} joins on several properties; the direct fetch takes one");
        };
        let column = target.property(target_property).ok_or_else(|| anyhow!("no property {target_property}"))?;
        let columns: Vec<&str> = target.properties.iter().map(|p| p.column()).collect();
        let filter =
            target.row_filter.as_ref().map_or_else(String::new, |f| format!(" AND {} = '{}'", f.column, f.value));
        let statement = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1{filter} AND {} = ANY($2)",
            columns.join(", "),
            target.table,
            column.column()
        );
        Ok(Related { name: name.to_owned(), collection: navigation.collection, source: source.clone(), statement })
    }
}

/// Any column value, counted by its length in PostgreSQL's binary format.
struct Raw(usize);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.len()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// One answer with its entities counted.
struct Page {
    answer: Answer,
    /// Entities of the `value` array.
    entities: u64,
    /// Entities nested in them (the expanded related entities).
    nested: u64,
}

impl Page {
    /// What E1 keeps of the page.
    fn e1(&self) -> E1Page {
        E1Page { elapsed: self.answer.elapsed, bytes: self.answer.body.len(), nested: self.nested }
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> anyhow::Result<Page> {
    let answer = common::fetch(http, url).await?;
    let (entities, nested) = count_entities(&answer.body);
    Ok(Page { answer, entities, nested })
}

/// Counts the objects of a JSON page: those directly in `value` (depth 2) and those below
/// them. Every object below an entity is an expanded entity: the model has no complex types.
fn count_entities(page: &[u8]) -> (u64, u64) {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut entities, mut nested) = (0, 0);
    for &b in page {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => {
                match depth {
                    2 => entities += 1,
                    3.. => nested += 1,
                    _ => {}
                }
                depth += 1;
            }
            b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (entities, nested)
}

/// A result that is either measured or the first answer that was not 200.
type Measured<T> = Result<Vec<T>, String>;

struct Report {
    calls: u64,
    page: E1Page,
    expanded_page: Measured<E1Page>,
    direct: Vec<Direct>,
    pulls: Measured<Pull>,
    plain_pulls: Vec<Pull>,
}

#[derive(Clone, Copy)]
struct E1Page {
    elapsed: Duration,
    bytes: usize,
    nested: u64,
}

struct Direct {
    elapsed: Duration,
    /// (navigation property, rows, bytes of values, time) per statement.
    sets: Vec<(String, u64, usize, Duration)>,
}

impl Direct {
    fn rows(&self) -> u64 {
        self.sets.iter().map(|s| s.1).sum()
    }

    fn bytes(&self) -> usize {
        self.sets.iter().map(|s| s.2).sum()
    }
}

struct Pull {
    elapsed: Duration,
    calls: u64,
    nested: u64,
    pages: usize,
    bytes: usize,
    /// The server's VmHWM at the end, reset before the pull when the kernel allows.
    peak_rss_kb: u64,
}

impl Pull {
    fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }
}

async fn workloads(
    options: &Options,
    feed: &str,
    http: reqwest::Client,
    database_url: &str,
    children: &[Related],
    pid: u32,
) -> anyhow::Result<Report> {
    let db = common::connect(database_url).await?;
    let statements = futures_util::future::try_join_all(children.iter().map(|c| db.prepare(&c.statement))).await?;
    let expand = percent_encode(&options.expand);

    // E1: the expanded page, the plain page and the direct fetch; the first round warms up.
    let plain_url = format!("{feed}{SET}?$top={}", options.top);
    let expanded_url = format!("{plain_url}&$expand={expand}");
    let first = fetch(&http, &plain_url).await?;
    first.answer.check(&plain_url).map_err(|e| anyhow!(e))?;
    let value: serde_json::Value = serde_json::from_slice(&first.answer.body).context("the plain page is not JSON")?;
    let entities = value["value"].as_array().ok_or_else(|| anyhow!("the plain page has no value array"))?;
    let calls = entities.len() as u64;
    println!("E1: {calls} {SET} ($top={}), $expand={}", options.top, options.expand);
    let keys: Vec<Vec<String>> = children
        .iter()
        .map(|c| {
            let mut values: Vec<String> =
                entities.iter().filter_map(|e| e[c.source.as_str()].as_str().map(str::to_owned)).collect();
            values.sort();
            values.dedup();
            values
        })
        .collect();
    let (mut plain_pages, mut expanded_pages, mut direct) = (Vec::new(), Ok(Vec::new()), Vec::new());
    for run in 0..=options.runs {
        let mut line = format!("E1 run={run}{}", if run == 0 { " (warm-up)" } else { "" });
        if let Ok(pages) = &mut expanded_pages {
            let page = fetch(&http, &expanded_url).await?;
            match page.answer.check(&expanded_url) {
                Ok(()) => {
                    if page.entities != calls {
                        eprintln!("warning: the expanded page held {} {SET}, the plain page {calls}", page.entities);
                    }
                    line += &format!(
                        " expanded_ms={:.1} expanded_bytes={} related={}",
                        ms(page.answer.elapsed),
                        page.answer.body.len(),
                        page.nested
                    );
                    pages.push(page.e1());
                }
                Err(error) => {
                    println!("E1 expanded: error: {error}");
                    expanded_pages = Err(error);
                }
            }
        }
        let page = fetch(&http, &plain_url).await?;
        page.answer.check(&plain_url).map_err(|e| anyhow!(e))?;
        ensure!(page.entities == calls, "the plain page held {} {SET}, then {calls}", page.entities);
        line += &format!(" plain_ms={:.1} plain_bytes={}", ms(page.answer.elapsed), page.answer.body.len());
        plain_pages.push(page.e1());
        let started = Instant::now();
        let mut sets = Vec::new();
        for ((child, statement), keys) in children.iter().zip(&statements).zip(&keys) {
            let set_started = Instant::now();
            let rows = db.query(statement, &[&TENANT, keys]).await.with_context(|| child.statement.clone())?;
            let mut bytes = 0;
            for row in &rows {
                for i in 0..row.len() {
                    bytes += row.get::<_, Option<Raw>>(i).map_or(0, |r| r.0);
                }
            }
            sets.push((child.name.clone(), rows.len() as u64, bytes, set_started.elapsed()));
        }
        let fetched = Direct { elapsed: started.elapsed(), sets };
        line += &format!(" direct_ms={:.1} direct_bytes={}", ms(fetched.elapsed), fetched.bytes());
        for (name, rows, _, elapsed) in &fetched.sets {
            line += &format!(" {name}_rows={rows} {name}_ms={:.1}", ms(*elapsed));
        }
        if let Ok(pages) = &expanded_pages
            && let Some(page) = pages.last()
        {
            let baseline = fetched.elapsed + plain_pages.last().expect("pushed").elapsed;
            line += &format!(" ratio={:.2}", page.elapsed.as_secs_f64() / baseline.as_secs_f64());
            if children.iter().all(|c| c.collection) && page.nested != fetched.rows() {
                eprintln!("warning: the expanded page held {} related entities, SQL {}", page.nested, fetched.rows());
            }
        }
        println!("{line}");
        if run > 0 {
            direct.push(fetched);
        } else {
            plain_pages.clear();
            if let Ok(pages) = &mut expanded_pages {
                pages.clear();
            }
        }
    }

    // E2: pulls of the first Calls with and without $expand, alternating; the first round warms up.
    if !reset_peak_rss(pid) {
        eprintln!("warning: cannot reset the server's VmHWM; its peak RSS counts since it started");
    }
    let pull_url = format!("{feed}{SET}?$expand={expand}");
    let (mut pulls, mut plain_pulls) = (Ok(Vec::new()), Vec::new());
    for run in 0..=options.runs {
        let label = if run == 0 { "0 (warm-up)".to_owned() } else { run.to_string() };
        if let Ok(done) = &mut pulls {
            match pull(&http, &pull_url, options.pull_calls, pid).await? {
                Ok(result) => {
                    println!("E2 run={label} expanded {}", describe(&result));
                    if run > 0 {
                        done.push(result);
                    }
                }
                Err(error) => {
                    println!("E2 expanded: error: {error}");
                    pulls = Err(error);
                }
            }
        }
        let result = pull(&http, &format!("{feed}{SET}"), options.pull_calls, pid).await?.map_err(|e| anyhow!(e))?;
        println!("E2 run={label} plain {}", describe(&result));
        if run > 0 {
            plain_pulls.push(result);
        }
    }
    Ok(Report {
        calls,
        page: E1Page { elapsed: median(plain_pages.iter().map(|p| p.elapsed)), ..plain_pages[0] },
        expanded_page: expanded_pages,
        direct,
        pulls,
        plain_pulls,
    })
}

/// Follows next links from `url` until `calls` entities are read or there is no next link;
/// the inner error is an answer other than 200.
async fn pull(http: &reqwest::Client, url: &str, calls: u64, pid: u32) -> anyhow::Result<Result<Pull, String>> {
    reset_peak_rss(pid);
    let started = Instant::now();
    let mut result = Pull { elapsed: Duration::ZERO, calls: 0, nested: 0, pages: 0, bytes: 0, peak_rss_kb: 0 };
    let mut next = Some(url.to_owned());
    while let Some(url) = next.take() {
        let page = fetch(http, &url).await?;
        if let Err(error) = page.answer.check(&url) {
            return Ok(Err(error));
        }
        result.calls += page.entities;
        result.nested += page.nested;
        result.pages += 1;
        result.bytes += page.answer.body.len();
        if result.calls < calls {
            next = next_link(std::str::from_utf8(&page.answer.body).context("a page is not UTF-8")?)?;
        }
    }
    result.elapsed = started.elapsed();
    result.peak_rss_kb = peak_rss_kb(pid)?;
    Ok(Ok(result))
}

fn describe(pull: &Pull) -> String {
    format!(
        "calls={} related={} pages={} bytes={} seconds={:.2} calls_per_second={:.0} peak_rss_mib={:.1}",
        pull.calls,
        pull.nested,
        pull.pages,
        pull.bytes,
        pull.elapsed.as_secs_f64(),
        pull.calls_per_second(),
        pull.peak_rss_kb as f64 / 1024.0
    )
}

/// The pull with the median rate.
fn median_pull(pulls: &[Pull]) -> &Pull {
    let mut sorted: Vec<&Pull> = pulls.iter().collect();
    sorted.sort_by(|a, b| a.calls_per_second().total_cmp(&b.calls_per_second()));
    sorted[(sorted.len() - 1) / 2]
}

fn print_report(options: &Options, report: &Report) {
    let (runs, expand) = (options.runs, &options.expand);
    let direct = median(report.direct.iter().map(|d| d.elapsed));
    let sets = &report.direct[0];
    let sets_text: Vec<String> = sets.sets.iter().map(|(name, rows, _, _)| format!("{name} {rows} rows")).collect();
    println!();
    println!("| workload | result |");
    println!("|---|---|");
    match &report.expanded_page {
        Ok(pages) => {
            let elapsed = median(pages.iter().map(|p| p.elapsed));
            println!(
                "| E1 page of {} {SET} with $expand={expand}, median of {runs} | {:.1} ms, {} bytes, {} related entities |",
                report.calls,
                ms(elapsed),
                pages[0].bytes,
                pages[0].nested
            );
        }
        Err(error) => println!("| E1 page of {} {SET} with $expand={expand} | error: {} |", report.calls, cell(error)),
    }
    println!(
        "| E1 same page without $expand, median of {runs} | {:.1} ms, {} bytes |",
        ms(report.page.elapsed),
        report.page.bytes
    );
    println!(
        "| E1 direct fetch of the related rows from PostgreSQL ({}), median of {runs} | {:.1} ms, {} bytes of values |",
        sets_text.join(", "),
        ms(direct),
        sets.bytes()
    );
    if let Ok(pages) = &report.expanded_page {
        let expanded = median(pages.iter().map(|p| p.elapsed));
        let ratio = expanded.as_secs_f64() / (report.page.elapsed + direct).as_secs_f64();
        println!("| E1 expanded / (plain + direct) | {ratio:.2} |");
    }
    let plain = median_pull(&report.plain_pulls);
    let peak = |pulls: &[Pull]| pulls.iter().map(|p| p.peak_rss_kb).max().unwrap_or(0) as f64 / 1024.0;
    let pages = format!("pages of {}", options.page_size);
    match &report.pulls {
        Ok(pulls) => {
            let median = median_pull(pulls);
            println!(
                "| E2 first {} {SET} with $expand={expand} ({pages}), median of {runs} | {:.0} Calls/s ({:.2} s, {} pages, {} related entities, {} bytes); server peak RSS {:.1} MiB |",
                median.calls,
                median.calls_per_second(),
                median.elapsed.as_secs_f64(),
                median.pages,
                median.nested,
                median.bytes,
                peak(pulls)
            );
        }
        Err(error) => {
            println!("| E2 first {} {SET} with $expand={expand} | error: {} |", options.pull_calls, cell(error))
        }
    }
    println!(
        "| E2 same pull without $expand, median of {runs} | {:.0} Calls/s ({:.2} s, {} pages, {} bytes); server peak RSS {:.1} MiB |",
        plain.calls_per_second(),
        plain.elapsed.as_secs_f64(),
        plain.pages,
        plain.bytes,
        peak(&report.plain_pulls)
    );
    if let Ok(pulls) = &report.pulls {
        println!(
            "| E2 Calls/s expanded / plain | {:.2} |",
            median_pull(pulls).calls_per_second() / plain.calls_per_second()
        );
    }
}

/// Text fit for a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
