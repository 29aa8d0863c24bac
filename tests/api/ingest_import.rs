//! `odata-feed import`: files (CSV, NDJSON, gzip) read through the real binary and upserted
//! by key in batches; problems named by file and row, with the failing batch left unwritten;
//! `--check` without writing; and an import killed mid-way that, run again, ends exactly
//! where one clean import ends.

use crate::support::database::{TestDatabase, fresh_database, query_rows};
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_odata-feed");

/// The header of the Calls CSV files.
const CALLS_HEADER: &str = "id,channelId,channelType,isChannelClosed,isChannelOpen,isOutbound,startedAtUTC,durationInSeconds,customerFirstName";

/// The longest an import of these tests may take before the test gives up.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// Call `n`'s values, varied so that a wrong row would show.
struct Call {
    id: String,
    channel: String,
    outbound: bool,
    started: String,
    duration: u32,
    name: &'static str,
}

fn call(n: u32) -> Call {
    let started = chrono::DateTime::from_timestamp(1_795_000_000 + i64::from(n) * 7, 0).expect("a valid instant");
    Call {
        id: format!("call-{n:06}"),
        channel: format!("ch-{}", n % 7 + 1),
        outbound: n.is_multiple_of(3),
        started: started.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        duration: n * 37 % 3600,
        name: ["Anna", "Béla", "Csilla", "Dávid", "Éva"][n as usize % 5],
    }
}

fn csv_line(n: u32) -> String {
    let c = call(n);
    format!("{},{},Voice,0,1,{},{},{},{}", c.id, c.channel, c.outbound, c.started, c.duration, c.name)
}

fn ndjson_line(n: u32) -> String {
    let c = call(n);
    serde_json::json!({
        "id": c.id, "channelId": c.channel, "channelType": "Voice", "isChannelClosed": 0, "isChannelOpen": 1,
        "isOutbound": c.outbound, "startedAtUTC": c.started, "durationInSeconds": c.duration,
        "customerFirstName": c.name,
    })
    .to_string()
}

/// Call `n` as `stored` reads it back.
fn stored_line(n: u32) -> String {
    let c = call(n);
    format!("{}|{}|{}|{}|{}|{}", c.id, c.channel, c.outbound, c.started, c.duration, c.name)
}

/// A CSV file of calls `rows`, with `bad` (if any) given a duration that is not a number.
fn write_csv(path: &Path, rows: impl IntoIterator<Item = u32>, bad: Option<u32>) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("a CSV file"));
    writeln!(file, "{CALLS_HEADER}").expect("written");
    for n in rows {
        let line = csv_line(n);
        let line = if Some(n) == bad { line.replace(&format!(",{},", call(n).duration), ",soon,") } else { line };
        writeln!(file, "{line}").expect("written");
    }
    file.flush().expect("written");
}

/// A gzip-compressed NDJSON file of calls `rows`.
fn write_ndjson_gz(path: &Path, rows: impl IntoIterator<Item = u32>) {
    let file = std::fs::File::create(path).expect("a gzip file");
    let mut gzip = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    for n in rows {
        writeln!(gzip, "{}", ndjson_line(n)).expect("written");
    }
    gzip.finish().expect("compressed");
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A fresh database with the tenant `contoso`.
async fn database_with_contoso() -> TestDatabase {
    let database = fresh_database().await;
    query_rows(
        &database.url,
        "INSERT INTO tenants (id, name, time_zone, retention_days) VALUES ('contoso', 'Contoso', 'Europe/Budapest', 400)",
    )
    .await;
    database
}

/// `odata-feed import --tenant contoso --set Calls ARGS` over `url`, output captured.
fn command(url: &str, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BINARY);
    command
        .args(["import", "--tenant", "contoso", "--set", "Calls"])
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env_remove("ODATA_FEED_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs the import to its end; returns its exit status, standard output and standard error.
async fn import(url: &str, args: &[&str]) -> (Output, String, String) {
    let child = command(url, args).spawn().expect("the binary starts");
    let output = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("the import ends")
        .expect("the import is waited for");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned());
    (output, stdout, stderr)
}

/// Asserts a successful import and returns its standard output.
async fn import_ok(url: &str, args: &[&str]) -> String {
    let (output, stdout, stderr) = import(url, args).await;
    assert!(output.status.success(), "the import succeeds:\n{stdout}\n{stderr}");
    stdout
}

/// contoso's calls as (id, channel, outbound, start, duration, name), in key order.
async fn stored(url: &str) -> Vec<String> {
    query_rows(
        url,
        "SELECT concat_ws('|', id, channel_id, is_outbound::text, \
                to_char(started_at_utc AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), duration_seconds, \
                customer_first_name) \
         FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice' ORDER BY id",
    )
    .await
    .iter()
    .map(|row| row.get(0))
    .collect()
}

/// contoso's conversations as text, `updated_at` included, in key order.
async fn stored_text(url: &str) -> Vec<String> {
    query_rows(url, "SELECT c::text FROM conversations c WHERE tenant_id = 'contoso' ORDER BY id")
        .await
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn importing_a_csv_file_and_a_gzip_ndjson_file_inserts_their_rows_and_prints_the_summary() {
    let database = database_with_contoso().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (csv, ndjson) = (dir.path().join("calls.csv"), dir.path().join("more-calls.ndjson.gz"));
    write_csv(&csv, 1..=30, None);
    write_ndjson_gz(&ndjson, 31..=50);

    let stdout = import_ok(&database.url, &[text(&csv), text(&ndjson)]).await;

    assert_eq!(stored(&database.url).await, (1..=50).map(stored_line).collect::<Vec<_>>());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a line per file and one for all: {stdout}");
    for (line, expected) in lines.iter().zip([
        format!("{}: 30 rows, 30 inserted, 0 updated, 0 unchanged, 0 duplicates, ", csv.display()),
        format!("{}: 20 rows, 20 inserted, 0 updated, 0 unchanged, 0 duplicates, ", ndjson.display()),
        "total: 50 rows, 50 inserted, 0 updated, 0 unchanged, 0 duplicates, ".to_owned(),
    ]) {
        assert!(line.starts_with(&expected) && line.ends_with(" rows/s"), "`{expected}…` expected: {stdout}");
    }
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let database = database_with_contoso().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let csv = dir.path().join("calls.csv");
    write_csv(&csv, 1..=40, None);
    import_ok(&database.url, &[text(&csv), "--batch-rows", "15"]).await;
    let before = stored_text(&database.url).await;
    assert_eq!(before.len(), 40);

    let stdout = import_ok(&database.url, &[text(&csv), "--batch-rows", "15"]).await;

    assert!(stdout.contains("total: 40 rows, 0 inserted, 0 updated, 40 unchanged, 0 duplicates, "), "{stdout}");
    assert_eq!(stored_text(&database.url).await, before, "nothing is rewritten, not even the timestamp");
}

#[tokio::test]
async fn a_bad_row_names_file_and_row_exits_non_zero_and_its_batch_is_not_written() {
    let database = database_with_contoso().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let csv = dir.path().join("calls.csv");
    write_csv(&csv, 1..=30, Some(25));

    let (output, stdout, stderr) = import(&database.url, &[text(&csv), "--batch-rows", "10"]).await;

    assert!(!output.status.success(), "the import fails:\n{stdout}\n{stderr}");
    let problem = format!("{}:25: property `durationInSeconds` = \"soon\": ", csv.display());
    assert!(stderr.lines().next().is_some_and(|line| line.starts_with(&problem)), "`{problem}…` first: {stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ")
            && last.contains(&format!(
                "nothing of the failing batch was written; 20 earlier rows of {} were committed (rerun after fixing: rows are upserted by key)",
                csv.display()
            )),
        "{stderr}"
    );
    assert_eq!(stored(&database.url).await, (1..=20).map(stored_line).collect::<Vec<_>>(), "rows 1–20, not 21–30");

    // Fixed and run again: the committed rows are left as they are, the rest is added.
    write_csv(&csv, 1..=30, None);
    let stdout = import_ok(&database.url, &[text(&csv), "--batch-rows", "10"]).await;
    assert!(stdout.contains("total: 30 rows, 10 inserted, 0 updated, 20 unchanged, 0 duplicates, "), "{stdout}");
    assert_eq!(stored(&database.url).await, (1..=30).map(stored_line).collect::<Vec<_>>());
}

#[tokio::test]
async fn check_writes_nothing_and_reports_problems() {
    let database = database_with_contoso().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (good, bad) = (dir.path().join("good.csv"), dir.path().join("bad.csv"));
    write_csv(&good, 1..=20, None);
    write_csv(&bad, 1..=20, Some(5));

    let stdout = import_ok(&database.url, &["--check", text(&good)]).await;
    assert!(stdout.contains(&format!("{}: 20 valid rows, no problems", good.display())), "{stdout}");
    assert!(stdout.contains("nothing was written"), "{stdout}");
    assert_eq!(stored(&database.url).await, Vec::<String>::new(), "--check writes nothing");

    // No database is needed: an unreachable one is never contacted.
    let unreachable = "postgres://nobody@127.0.0.1:1/nothing";
    let (output, stdout, stderr) = import(unreachable, &["--check", text(&good), text(&bad)]).await;
    assert!(!output.status.success(), "problems fail the check:\n{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("{}:5: property `durationInSeconds` = \"soon\": ", bad.display())), "{stderr}");
    assert!(stdout.contains(&format!("{}: 19 valid rows, 1 problem", bad.display())), "{stdout}");
    assert!(stderr.lines().last().is_some_and(|l| l.contains("nothing was written")), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Killed mid-way

/// Rows of the kill test's file, and its batch size.
const KILL_ROWS: u32 = 200_000;
const KILL_BATCH: u32 = 5_000;

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("the database answers");
    tokio::spawn(connection);
    client
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap_or_else(|error| panic!("{sql}: {error}")).get(0)
}

/// The number of contoso's conversations and a digest of them without `updated_at`.
async fn digest(url: &str) -> (i64, String) {
    let client = connect(url).await;
    let row = client
        .query_one(
            "SELECT count(*), md5(string_agg((to_jsonb(c) - 'updated_at')::text, E'\\n' ORDER BY id)) \
             FROM conversations c WHERE tenant_id = 'contoso'",
            &[],
        )
        .await
        .expect("the digest");
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_mid_way_and_run_again_ends_where_a_clean_import_ends() {
    let (killed, clean) = (database_with_contoso().await, database_with_contoso().await);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let csv = dir.path().join("calls.csv");
    write_csv(&csv, 1..=KILL_ROWS, None);
    let batch = KILL_BATCH.to_string();
    let args = [text(&csv), "--batch-rows", batch.as_str()];

    // Killed (SIGKILL) once a few batches are committed.
    let owner = connect(&killed.url).await;
    let mut child = command(&killed.url, &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("starts");
    let waiting = Instant::now();
    loop {
        let committed = count(&owner, "SELECT count(*) FROM conversations").await;
        if committed >= 3 * i64::from(KILL_BATCH) {
            assert!(committed < i64::from(KILL_ROWS), "the import ended before it could be killed");
            break;
        }
        assert!(child.try_wait().expect("polled").is_none(), "the import ended early, {committed} rows committed");
        assert!(waiting.elapsed() < HANG_GUARD, "three batches are never committed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.start_kill().expect("SIGKILL is sent");
    let status = tokio::time::timeout(HANG_GUARD, child.wait()).await.expect("it dies").expect("waited for");
    assert!(!status.success(), "killed: {status}");
    // Its session ends (a batch in flight rolls back, or commits if COMMIT had been sent).
    let waiting = Instant::now();
    while count(
        &owner,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'odata-feed'",
    )
    .await
        > 0
    {
        assert!(waiting.elapsed() < HANG_GUARD, "the killed import's session never ends");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Whole batches, and the file's first rows only.
    let committed = count(&owner, "SELECT count(*) FROM conversations").await;
    assert!(committed > 0 && committed < i64::from(KILL_ROWS), "a partial state: {committed} rows");
    assert_eq!(committed % i64::from(KILL_BATCH), 0, "only whole batches are committed");
    let last = count(&owner, "SELECT max(substr(id, 6)::bigint) FROM conversations").await;
    assert_eq!(last, committed, "the committed rows are the first of the file");

    // Run again to its end: the committed rows are unchanged, the others inserted.
    let stdout = import_ok(&killed.url, &args).await;
    let expected = format!(
        "total: {KILL_ROWS} rows, {} inserted, 0 updated, {committed} unchanged, 0 duplicates, ",
        i64::from(KILL_ROWS) - committed
    );
    assert!(stdout.contains(&expected), "`{expected}…` expected: {stdout}");

    // The same table as one clean import of the file, without duplicates.
    import_ok(&clean.url, &args).await;
    let (after_rerun, after_clean) = (digest(&killed.url).await, digest(&clean.url).await);
    assert_eq!(after_rerun.0, i64::from(KILL_ROWS), "every row once");
    assert_eq!(after_rerun, after_clean, "the rerun converges to the clean import");
}

#[tokio::test]
async fn a_key_repeated_in_a_later_batch_keeps_its_later_row_though_batches_are_written_side_by_side() {
    let database = database_with_contoso().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("corrections.csv");
    // Batch 1 is calls 1–20000; batch 2 corrects the last thousand, whose keys batch 1 reaches
    // only at the end of its merge: a batch 2 merging at once would be overwritten by batch 1.
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("a CSV file"));
    writeln!(file, "{CALLS_HEADER}").expect("written");
    for n in 1..=20_000 {
        writeln!(file, "{}", csv_line(n)).expect("written");
    }
    for n in 19_001..=20_000 {
        let corrected = csv_line(n).replace(&format!(",{},", call(n).duration), &format!(",{},", call(n).duration + 1));
        writeln!(file, "{corrected}").expect("written");
    }
    file.flush().expect("written");
    drop(file);
    import_ok(&database.url, &["--batch-rows", "20000", "--connections", "2", text(&path)]).await;
    let durations: Vec<(String, i32)> = query_rows(
        &database.url,
        "SELECT id, duration_seconds FROM conversations WHERE id >= 'call-019001' ORDER BY id",
    )
    .await
    .iter()
    .map(|row| (row.get(0), row.get(1)))
    .collect();
    assert_eq!(durations.len(), 1000);
    for (n, (id, duration)) in (19_001..=20_000u32).zip(&durations) {
        assert_eq!((id.as_str(), *duration as u32), (call(n).id.as_str(), call(n).duration + 1), "the later row wins");
    }
}
