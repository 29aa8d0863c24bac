//! `odata-feed import --tenant T --set S FILE...`: the HTTP ingestion's pipeline from the
//! command line. Each file (CSV or NDJSON, gzip-compressed or not) is read, checked and
//! upserted by key in batches of `--batch-rows` records, one transaction each, with a
//! progress bar over the bytes read; `--check` only validates, without a database.
//!
//! Reads like the pipeline: the set and the files (format by name, gzip by the first bytes)
//! → for each file in order, `ingest::pipeline::run` → a summary line per file and one for
//! all, or every problem named by file and row and a non-zero exit.
//!
//! Invariant: a batch commits only when every record of its file up to the batch's end was
//! valid, and rows are upserted by key (a row equal to the stored one is left untouched), so
//! running the same import again after an interruption or a fix converges to the state of
//! one clean import.

use super::{ImportArgs, database};
use crate::db::write::{Merged, Target, WriteError, Written};
use crate::ingest::batch::{self, Shape};
use crate::ingest::merge::Statements;
use crate::ingest::pipeline;
use crate::ingest::records::Format;
use crate::ingest::validate::Problem;
use crate::odata::model::{EntitySet, Model, SetKind};
use anyhow::Context;
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Read buffer of a file (and of its decompressed text).
const READ_BUFFER: usize = 256 * 1024;
/// The most problems printed for one import.
const MAX_PRINTED: usize = batch::MAX_PROBLEMS;
/// The longest value a problem line quotes, in characters.
const MAX_QUOTED: usize = 200;

/// The formats `--format` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    Csv,
    Ndjson,
}

impl From<FileFormat> for Format {
    fn from(format: FileFormat) -> Format {
        match format {
            FileFormat::Csv => Format::Csv,
            FileFormat::Ndjson => Format::NdJson,
        }
    }
}

/// One input: a file, or standard input (`-`).
struct Input {
    /// As given on the command line.
    name: String,
    format: Format,
    /// Opened before anything is written, so a missing file fails first; None for stdin.
    file: Option<File>,
    /// Bytes on disk (compressed size for gzip); None for stdin.
    size: Option<u64>,
}

impl Input {
    fn new(path: &Path, format: Option<FileFormat>) -> anyhow::Result<Input> {
        let name = path.display().to_string();
        let format = match format {
            Some(format) => format.into(),
            None => format_from_name(&name).with_context(|| {
                format!("cannot tell the format of {name} from its name (.csv, .ndjson or .jsonl, optionally .gz); give --format csv or --format ndjson")
            })?,
        };
        if path == Path::new("-") {
            return Ok(Input { name: "stdin".to_owned(), format, file: None, size: None });
        }
        let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
        let size = file.metadata().with_context(|| format!("cannot read the size of {name}"))?.len();
        Ok(Input { name, format, file: Some(file), size: Some(size) })
    }

    /// The records' text: read through `progress` (which counts the bytes as they come off
    /// the file), and gzip-decoded when the file starts like gzip, whatever its name.
    fn open(&mut self, progress: &ProgressBar) -> anyhow::Result<Box<dyn BufRead + Send>> {
        let raw: Box<dyn Read + Send> = match self.file.take() {
            Some(file) => Box::new(file),
            None => Box::new(std::io::stdin()),
        };
        decoded(Counted { inner: raw, progress: progress.clone() })
            .with_context(|| format!("cannot read {}", self.name))
    }
}

/// The format a file's name implies: `.csv`, `.ndjson` or `.jsonl`, each optionally `.gz`.
fn format_from_name(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    if stem.ends_with(".csv") {
        Some(Format::Csv)
    } else if stem.ends_with(".ndjson") || stem.ends_with(".jsonl") {
        Some(Format::NdJson)
    } else {
        None
    }
}

/// `raw` as text: its first bytes decide whether it is gzip (all members decoded in turn).
fn decoded(mut raw: impl Read + Send + 'static) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut head = Vec::with_capacity(GZIP_MAGIC.len());
    (&mut raw).take(GZIP_MAGIC.len() as u64).read_to_end(&mut head)?;
    let gzip = head == GZIP_MAGIC;
    let whole = BufReader::with_capacity(READ_BUFFER, Cursor::new(head).chain(raw));
    Ok(match gzip {
        true => Box::new(BufReader::with_capacity(READ_BUFFER, flate2::bufread::MultiGzDecoder::new(whole))),
        false => Box::new(whole),
    })
}

/// Advances the progress bar by every byte read.
struct Counted<R> {
    inner: R,
    progress: ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// `odata-feed import`.
pub fn import(args: ImportArgs) -> anyhow::Result<()> {
    let model = Model::load()?;
    let set = entity_set(&model, &args.set)?;
    let batch_rows = batch_rows(&args, set)?;
    let mut inputs = args.files.iter().map(|path| Input::new(path, args.format)).collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        inputs.iter().filter(|input| input.file.is_none()).count() <= 1,
        "standard input (`-`) can be read only once"
    );
    let shape = Arc::new(Shape::new(set));
    if args.check {
        return check(&mut inputs, &shape, batch_rows);
    }
    // A snapshot is one batch: a second connection would have nothing to do.
    let connections = if args.snapshot { 1 } else { args.connections as usize };
    let batching = pipeline::Batching { rows: batch_rows, connections };
    let job = Job { model: &model, set, tenant: &args.tenant, shape, batching, snapshot: args.snapshot };
    let database = database::open(&args.database)?;
    let outcome = crate::db::migrate::run(&database.url)
        .and_then(|_| runtime())
        .and_then(|runtime| runtime.block_on(job.write(&database.url, &mut inputs)));
    database.close()?;
    outcome
}

/// The set named `name`, or an error listing the sets.
fn entity_set<'m>(model: &'m Model, name: &str) -> anyhow::Result<&'m EntitySet> {
    model.entity_set(name).with_context(|| {
        let names: Vec<&str> = model.entity_sets().iter().map(|s| s.name.as_str()).collect();
        format!("there is no entity set `{name}`; the entity sets are: {}", names.join(", "))
    })
}

/// Records per transaction: `--batch-rows`, or every record for a lookup snapshot (which
/// must be one batch and so one file).
fn batch_rows(args: &ImportArgs, set: &EntitySet) -> anyhow::Result<u64> {
    if !args.snapshot {
        return Ok(args.batch_rows);
    }
    anyhow::ensure!(
        set.kind == SetKind::Lookup,
        "--snapshot replaces a lookup set's objects; {} is not a lookup set",
        set.name
    );
    anyhow::ensure!(
        args.files.len() == 1,
        "a snapshot is the complete list of the objects of {}, written as one batch: give exactly one file",
        set.name
    );
    Ok(u64::MAX)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")
}

/// A bar over the bytes of every input (a spinner when one is standard input), on standard
/// error and only when that is a terminal.
fn progress_bar(inputs: &[Input]) -> ProgressBar {
    let total: Option<u64> = inputs.iter().map(|input| input.size).sum();
    let template = match total {
        Some(_) => "{spinner} {prefix} {bar:32} {bytes}/{total_bytes}  {msg}  ETA {eta}",
        None => "{spinner} {prefix} {bytes}  {msg}",
    };
    let progress = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    progress.set_style(ProgressStyle::with_template(template).expect("valid progress template").progress_chars("=> "));
    progress.enable_steady_tick(Duration::from_millis(250));
    progress
}

/// What one import writes, and how.
struct Job<'a> {
    model: &'a Model,
    set: &'a EntitySet,
    tenant: &'a str,
    shape: Arc<Shape>,
    batching: pipeline::Batching,
    snapshot: bool,
}

impl Job<'_> {
    /// Imports the files in order; the first file with a problem (or a refused batch) ends it.
    async fn write(&self, url: &str, inputs: &mut [Input]) -> anyhow::Result<()> {
        let pool = crate::db::pool::connect_writer(url, self.batching.connections).await?;
        let progress = progress_bar(inputs);
        let outcome = self.write_files(&pool, inputs, &progress).await;
        progress.finish_and_clear();
        outcome
    }

    async fn write_files(
        &self,
        pool: &deadpool_postgres::Pool,
        inputs: &mut [Input],
        progress: &ProgressBar,
    ) -> anyhow::Result<()> {
        let statements = Statements::new(self.set, &self.shape);
        let target = Target {
            model: self.model,
            set: self.set,
            columns: self.shape.columns(),
            statements: &statements,
            snapshot: self.snapshot,
        };
        let started = Instant::now();
        let mut total = Merged::default();
        for input in inputs.iter_mut() {
            let file_started = Instant::now();
            progress.set_prefix(input.name.clone());
            let reader = input.open(progress)?;
            let mut committed = Merged::default();
            let mut on_batch = |merged: &Merged| {
                committed.add(merged);
                let rows = total.rows + committed.rows;
                progress.set_message(format!(
                    "{} rows written, {}/s",
                    HumanCount(rows),
                    HumanCount(rate(rows, started))
                ));
            };
            let outcome = pipeline::run(
                pool,
                self.tenant,
                &target,
                self.shape.clone(),
                (input.format, reader),
                self.batching,
                &mut on_batch,
            )
            .await;
            let name = &input.name;
            let kept = || committed_note(name, committed.rows);
            let mut printed = 0;
            if !outcome.report.problems.is_empty() {
                print_problems(progress, name, &outcome.report.problems, outcome.report.truncated, &mut printed);
            }
            let merged = match outcome.written {
                Err(WriteError::Rejected { problems, truncated }) => {
                    print_problems(progress, name, &problems, truncated, &mut printed);
                    anyhow::bail!("the database refused a batch of {name}: {}", kept());
                }
                Err(error) => {
                    return Err(anyhow::Error::new(error).context(format!("importing {name} failed: {}", kept())));
                }
                Ok(_) if !outcome.report.problems.is_empty() => {
                    anyhow::bail!("{name} has invalid rows (listed above): {}", kept());
                }
                Ok(Written::Complete(merged)) if !outcome.report.abandoned => merged,
                Ok(_) => anyhow::bail!("reading {name} stopped before its end: {}", kept()),
            };
            total.add(&merged);
            progress.suspend(|| println!("{}", summary(name, &merged, file_started, self.snapshot)));
        }
        progress.finish_and_clear();
        println!("{}", summary("total", &total, started, self.snapshot));
        Ok(())
    }
}

/// `--check`: reads and validates every file, writes nothing.
fn check(inputs: &mut [Input], shape: &Shape, batch_rows: u64) -> anyhow::Result<()> {
    let progress = &progress_bar(inputs);
    let started = Instant::now();
    let (mut rows, mut printed) = (0, 0);
    let mut failed = Vec::new();
    for input in inputs.iter_mut() {
        progress.set_prefix(input.name.clone());
        let reader = input.open(progress)?;
        let report = batch::split(shape, input.format, reader, batch_rows, &mut |_| true);
        rows += report.rows;
        print_problems(progress, &input.name, &report.problems, report.truncated, &mut printed);
        let verdict = match report.problems.len() {
            0 => "no problems".to_owned(),
            1 => "1 problem".to_owned(),
            n if report.truncated => format!("{n} problems and more (reading stopped)"),
            n => format!("{n} problems"),
        };
        progress.suspend(|| println!("{}: {} valid rows, {verdict}", input.name, report.rows));
        if !report.problems.is_empty() {
            failed.push(input.name.clone());
        }
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    println!("total: {rows} valid rows, {elapsed:.1} s, {} rows/s; nothing was written (--check)", rate(rows, started));
    anyhow::ensure!(failed.is_empty(), "invalid rows in {} (listed above); nothing was written", failed.join(", "));
    Ok(())
}

/// What was kept of a file that failed.
fn committed_note(name: &str, rows: u64) -> String {
    let kept = match rows {
        0 => format!("no rows of {name} were committed"),
        n => format!("{n} earlier rows of {name} were committed"),
    };
    format!("nothing of the failing batch was written; {kept} (rerun after fixing: rows are upserted by key)")
}

/// Prints problems as `FILE:ROW: property `p` = "value": reason` on standard error, at most
/// `MAX_PRINTED` in all (`printed` counts them), noting what was left out.
fn print_problems(progress: &ProgressBar, name: &str, problems: &[Problem], truncated: bool, printed: &mut usize) {
    progress.suspend(|| {
        let room = MAX_PRINTED.saturating_sub(*printed);
        for problem in problems.iter().take(room) {
            eprintln!("{}", problem_line(name, problem));
        }
        *printed += problems.len().min(room);
        if problems.len() > room {
            eprintln!("{name}: {} more problems not listed", problems.len() - room);
        } else if truncated {
            eprintln!("{name}: more problems not listed (reading stopped after {})", problems.len());
        }
    });
}

/// `FILE:ROW: property `p` = "value": reason`; row 0 (the CSV header, or the whole batch)
/// is left out.
fn problem_line(name: &str, problem: &Problem) -> String {
    let mut line = match problem.row {
        0 => format!("{name}: "),
        row => format!("{name}:{row}: "),
    };
    if let Some(property) = &problem.property {
        line.push_str(&format!("property `{property}`"));
        if let Some(value) = &problem.value {
            let quoted: String = value.chars().take(MAX_QUOTED).collect();
            let more = if quoted.len() < value.len() { "…" } else { "" };
            line.push_str(&format!(" = {quoted:?}{more}"));
        }
        line.push_str(": ");
    }
    line.push_str(&problem.reason);
    line
}

/// One summary line: rows and what became of them, time and rate.
fn summary(name: &str, merged: &Merged, started: Instant, snapshot: bool) -> String {
    let removed = if snapshot { format!(", {} removed", merged.removed) } else { String::new() };
    format!(
        "{name}: {} rows, {} inserted, {} updated, {} unchanged, {} duplicates{removed}, {:.1} s, {} rows/s",
        merged.rows,
        merged.inserted,
        merged.updated,
        merged.unchanged,
        merged.duplicates,
        started.elapsed().as_secs_f64(),
        rate(merged.rows, started)
    )
}

fn rate(rows: u64, started: Instant) -> u64 {
    let seconds = started.elapsed().as_secs_f64();
    if seconds > 0.0 { (rows as f64 / seconds).round() as u64 } else { rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_extension_with_or_without_gz() {
        for (name, format) in [
            ("calls.csv", Some(Format::Csv)),
            ("dir/CALLS.CSV.GZ", Some(Format::Csv)),
            ("calls.ndjson", Some(Format::NdJson)),
            ("calls.jsonl.gz", Some(Format::NdJson)),
            ("calls.json", None),
            ("calls.gz", None),
            ("-", None),
        ] {
            assert_eq!(format_from_name(name), format, "{name}");
        }
    }

    #[test]
    fn gzip_is_recognized_by_its_first_bytes_and_every_member_is_read() {
        use std::io::Write;
        let mut compressed = Vec::new();
        for part in ["a,b\n", "1,2\n"] {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(part.as_bytes()).expect("compressed");
            compressed.extend(encoder.finish().expect("compressed"));
        }
        let mut text = String::new();
        decoded(Cursor::new(compressed)).expect("opened").read_to_string(&mut text).expect("decoded");
        assert_eq!(text, "a,b\n1,2\n");
    }

    #[test]
    fn plain_text_and_tiny_inputs_pass_unchanged() {
        for input in ["", "x", "\u{1f}", "id\nx\n"] {
            let mut text = String::new();
            decoded(Cursor::new(input.as_bytes().to_vec())).expect("opened").read_to_string(&mut text).expect("read");
            assert_eq!(text, input);
        }
    }

    #[test]
    fn a_problem_line_names_file_row_property_and_value() {
        let problem = |row, property: Option<&str>, value: Option<&str>| Problem {
            row,
            property: property.map(str::to_owned),
            value: value.map(str::to_owned),
            reason: "bad".to_owned(),
        };
        let lines = [
            problem_line("a.csv", &problem(25, Some("durationInSeconds"), Some("x\"y"))),
            problem_line("a.csv", &problem(3, Some("id"), None)),
            problem_line("a.csv", &problem(0, None, None)),
        ];
        assert_eq!(
            lines,
            ["a.csv:25: property `durationInSeconds` = \"x\\\"y\": bad", "a.csv:3: property `id`: bad", "a.csv: bad"]
        );
    }
}
