//! The nightly jobs against a real database: the scheduler runs each job once per midnight
//! however many instances share the database, catches up after downtime and retries a failed
//! run only after a pause; the retention purge deletes exactly the rows past each tenant's
//! retention (a row at the cut-off stays), their cascaded children with them, in batches, and
//! nothing more when run again; `odata-feed jobs run|status` as an operator meets them.
//!
//! The job futures are not `Send`: they run in a test's own current-thread runtime, or on
//! threads with a runtime of their own (`Scheduler::start`, or the threads below).

use crate::support::database::{
    TestDatabase, fresh_database, reset_statement_stats, statement_stats_available, statements_run,
};
use crate::support::demo::{OTHER_TENANT, TENANT, fresh_demo_database};
use crate::support::tenants::Sql;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use odata_feed::db;
use odata_feed::jobs::clock::{Clock, SetClock};
use odata_feed::jobs::config::JobsConfig;
use odata_feed::jobs::retention_purge::purge_targets;
use odata_feed::jobs::scheduler::{Scheduler, run_if_due};
use odata_feed::jobs::{Counts, Job, Jobs, Outcome, journal};
use odata_feed::odata::model::{Model, Retention};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_odata-feed");

/// The advisory lock key of the retention purge (`Job::lock_key`, private to the crate).
const PURGE_LOCK_KEY: i64 = 0x6f64_666a_7075_7267;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap_or_else(|error| panic!("`{text}` is not an instant: {error}"))
}

fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

/// A clock that stands still: the purge's cut-off is then exact to the microsecond.
struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn model() -> Arc<Model> {
    Arc::new(Model::load().expect("the model loads"))
}

fn config(text: &str) -> JobsConfig {
    toml::from_str(text).unwrap_or_else(|error| panic!("bad jobs configuration `{text}`: {error}"))
}

/// The jobs of one instance: a pool of its own, the configuration and a clock.
async fn instance(url: &str, config: JobsConfig, clock: Arc<dyn Clock>) -> Jobs {
    let pool = db::pool::connect(url, 4).await.expect("the test database answers");
    Jobs::new(pool, model(), config, clock).expect("the jobs are built")
}

/// The jobs of an instance whose clock stands at `now`.
async fn instance_at(url: &str, config: JobsConfig, now: DateTime<Utc>) -> Jobs {
    instance(url, config, Arc::new(FixedClock(now))).await
}

async fn add_tenant(sql: &Sql, id: &str, retention_days: i32) {
    sql.client()
        .execute(
            "INSERT INTO tenants (id, name, time_zone, retention_days) VALUES ($1, $2, 'UTC', $3)",
            &[&id, &id, &retention_days],
        )
        .await
        .unwrap_or_else(|error| panic!("cannot add tenant {id}: {error:?}"));
}

/// Records a run in the journal as if an instance had made it.
async fn record_run(
    sql: &Sql,
    job: Job,
    scheduled_for: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    outcome: &str,
) -> i64 {
    let finished = (outcome != "running").then_some(started + TimeDelta::seconds(1));
    sql.client()
        .query_one(
            "INSERT INTO job_runs (job, scheduled_for, started_at, finished_at, outcome) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&job.name(), &scheduled_for, &started, &finished, &outcome],
        )
        .await
        .unwrap_or_else(|error| panic!("cannot record a run: {error:?}"))
        .get(0)
}

/// Every run in the journal, oldest first.
async fn runs(sql: &Sql) -> Vec<journal::Run> {
    let mut runs = journal::recent(sql.client(), 10_000).await.expect("the journal reads");
    runs.sort_by_key(|run| run.id);
    runs
}

async fn run_by_id(sql: &Sql, id: i64) -> journal::Run {
    runs(sql).await.into_iter().find(|run| run.id == id).unwrap_or_else(|| panic!("no run {id} in the journal"))
}

/// The counts of a run that ran and succeeded; fails the test otherwise.
fn succeeded(outcome: anyhow::Result<Outcome>) -> (i64, Counts) {
    match outcome {
        Ok(Outcome::Ran { run, counts, error: None }) => (run, counts),
        other => panic!("expected a successful run, got {other:?}"),
    }
}

/// An instant as an SQL literal, to the microsecond.
fn lit(t: DateTime<Utc>) -> String {
    format!("'{}'::timestamptz", t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A column of a table: name, data type, nullable, has a default.
struct Column {
    name: String,
    data_type: String,
    nullable: bool,
    has_default: bool,
}

async fn columns(sql: &Sql, table: &str) -> Vec<Column> {
    let rows = sql
        .client()
        .query(
            "SELECT column_name::text, data_type::text, is_nullable = 'YES', column_default IS NOT NULL \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 \
             ORDER BY ordinal_position",
            &[&table],
        )
        .await
        .expect("the columns read");
    assert!(!rows.is_empty(), "no table {table}");
    rows.iter()
        .map(|r| Column { name: r.get(0), data_type: r.get(1), nullable: r.get(2), has_default: r.get(3) })
        .collect()
}

async fn column_is_nullable(sql: &Sql, table: &str, column: &str) -> bool {
    columns(sql, table)
        .await
        .into_iter()
        .find(|c| c.name == column)
        .unwrap_or_else(|| panic!("no column {table}.{column}"))
        .nullable
}

static NEXT_VALUE: AtomicU64 = AtomicU64::new(1);

/// Inserts one row into `table`: the `given` columns (SQL literals) and a made-up value of
/// every other column that needs one (unique, so keys never collide).
async fn insert(sql: &Sql, table: &str, given: &[(&str, String)]) {
    let mut names = Vec::new();
    let mut values = Vec::new();
    for column in columns(sql, table).await {
        if let Some((_, value)) = given.iter().find(|(name, _)| *name == column.name) {
            names.push(column.name);
            values.push(value.clone());
            continue;
        }
        if column.nullable || column.has_default {
            continue;
        }
        let n = NEXT_VALUE.fetch_add(1, Ordering::Relaxed);
        let value = match (column.name.as_str(), column.data_type.as_str()) {
            ("media", _) => "'Voice'".to_owned(),
            (_, "character varying" | "text") => format!("'k{n}'"),
            (_, "bigint" | "integer" | "smallint") => n.to_string(),
            (_, "boolean") => "false".to_owned(),
            (_, "numeric") => "0".to_owned(),
            (_, "timestamp with time zone") => "now()".to_owned(),
            (_, "jsonb") => "'{}'".to_owned(),
            (name, other) => panic!("no made-up value for {table}.{name} of type {other}"),
        };
        names.push(column.name);
        values.push(value);
    }
    sql.execute(&format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), values.join(", "))).await;
}

/// A table whose rows go with their parent's (`ON DELETE CASCADE`): the child table, the
/// parent table, and the child's column naming the parent's `id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Cascade {
    child: String,
    parent: String,
    column: String,
}

async fn cascades(sql: &Sql) -> Vec<Cascade> {
    let rows = sql
        .rows(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, a.attname::text \
             FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
             WHERE c.contype = 'f' AND c.confdeltype = 'c' AND a.attname <> 'tenant_id' \
             ORDER BY 1, 2, 3",
        )
        .await;
    rows.iter().map(|r| Cascade { child: r.get(0), parent: r.get(1), column: r.get(2) }).collect()
}

/// What the rows of a test look like: one row per (target, label), anchored at an instant
/// (or at none), and one child per cascading table and parent row.
struct Fixture {
    targets: Vec<(String, String)>,
    cascades: Vec<Cascade>,
    /// Tables that have a text `id`, which then carries the row's label.
    labelled: BTreeSet<String>,
}

impl Fixture {
    async fn new(sql: &Sql) -> Fixture {
        let targets = purge_targets(&model());
        let cascades = cascades(sql).await;
        let mut labelled = BTreeSet::new();
        for (table, _) in &targets {
            if columns(sql, table)
                .await
                .iter()
                .any(|c| c.name == "id" && matches!(c.data_type.as_str(), "character varying" | "text"))
            {
                labelled.insert(table.clone());
            }
        }
        for cascade in &cascades {
            assert!(
                labelled.contains(&cascade.parent),
                "the parent {} of {} has no text id to label its rows",
                cascade.parent,
                cascade.child
            );
        }
        Fixture { targets, cascades, labelled }
    }

    /// Gives `tenant` one row per target anchored at `anchor` (`None`: no anchor value), and a
    /// child of it in every cascading table.
    async fn add(&self, sql: &Sql, tenant: &str, label: &str, anchor: Option<DateTime<Utc>>) {
        for (table, column) in &self.targets {
            let mut given = vec![("tenant_id", quote(tenant)), (column.as_str(), anchor.map_or("NULL".into(), lit))];
            if self.labelled.contains(table) {
                given.push(("id", quote(label)));
            }
            insert(sql, table, &given).await;
        }
        for cascade in &self.cascades {
            insert(sql, &cascade.child, &[("tenant_id", quote(tenant)), (cascade.column.as_str(), quote(label))]).await;
        }
    }

    /// Per target, the anchors of `tenant`'s rows (sorted, no anchor last); per cascading
    /// table, the labels of the parents its rows name.
    async fn remaining(&self, sql: &Sql, tenant: &str) -> BTreeMap<String, Vec<String>> {
        let mut remaining = BTreeMap::new();
        for (table, column) in &self.targets {
            let rows = sql
                .client()
                .query(&format!("SELECT {column} FROM {table} WHERE tenant_id = $1 ORDER BY 1 NULLS LAST"), &[&tenant])
                .await
                .expect("the rows read");
            let anchors =
                rows.iter().map(|r| r.get::<_, Option<DateTime<Utc>>>(0).map_or("NULL".into(), lit)).collect();
            remaining.insert(format!("{table}.{column}"), anchors);
        }
        for cascade in &self.cascades {
            let rows = sql
                .client()
                .query(
                    &format!("SELECT {} FROM {} WHERE tenant_id = $1 ORDER BY 1", cascade.column, cascade.child),
                    &[&tenant],
                )
                .await
                .expect("the rows read");
            remaining.insert(
                format!("{} (with {})", cascade.child, cascade.parent),
                rows.iter().map(|r| r.get(0)).collect(),
            );
        }
        remaining
    }

    /// What `remaining` should be when exactly the rows `kept` (label, anchor) are left.
    fn expected(&self, kept: &[(&str, Option<DateTime<Utc>>)]) -> BTreeMap<String, Vec<String>> {
        let mut anchors: Vec<Option<DateTime<Utc>>> = kept.iter().map(|(_, anchor)| *anchor).collect();
        anchors.sort_by_key(|anchor| (anchor.is_none(), *anchor));
        let anchors: Vec<String> = anchors.into_iter().map(|a| a.map_or("NULL".into(), lit)).collect();
        let mut labels: Vec<String> = kept.iter().map(|(label, _)| (*label).to_owned()).collect();
        labels.sort();
        let mut expected = BTreeMap::new();
        for (table, column) in &self.targets {
            expected.insert(format!("{table}.{column}"), anchors.clone());
        }
        for cascade in &self.cascades {
            expected.insert(format!("{} (with {})", cascade.child, cascade.parent), labels.clone());
        }
        expected
    }
}

/// Every table a purge can touch, with a digest of its rows, to tell whether anything changed.
async fn snapshot(sql: &Sql) -> BTreeMap<String, (i64, String)> {
    let mut tables: BTreeSet<String> = purge_targets(&model()).into_iter().map(|(table, _)| table).collect();
    tables.extend(cascades(sql).await.into_iter().map(|c| c.child));
    let mut snapshot = BTreeMap::new();
    for table in tables {
        let row = &sql
            .rows(&format!(
                "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
            ))
            .await[0];
        snapshot.insert(table, (row.get(0), row.get(1)));
    }
    snapshot
}

// ----------------------------------------------------------------------------------------
// Scheduling
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_whose_schedulers_cross_midnight_run_each_job_once_for_the_new_midnight() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let day = at("2026-11-21T00:00:00Z");
    let next = at("2026-11-22T00:00:00Z");
    for job in Job::ALL {
        record_run(&sql, job, Some(day), day + TimeDelta::seconds(3), "succeeded").await;
    }
    // Expired at the next midnight (10 days' retention), so the purge has work.
    for n in 0..5 {
        insert(
            &sql,
            "conversations",
            &[("tenant_id", quote("t")), ("started_at_utc", lit(at("2026-10-01T12:00:00Z") + TimeDelta::minutes(n)))],
        )
        .await;
    }
    insert(&sql, "conversations", &[("tenant_id", quote("t")), ("started_at_utc", lit(at("2026-11-21T12:00:00Z")))])
        .await;

    let mut schedulers = Vec::new();
    for _ in 0..3 {
        let clock = Arc::new(SetClock::new(at("2026-11-21T23:59:58Z")));
        let jobs = instance(&database.url, JobsConfig::default(), clock).await;
        schedulers.push(Scheduler::start(Arc::new(jobs), Duration::from_millis(50)).expect("the scheduler starts"));
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(runs(&sql).await.len(), 2, "nothing runs before midnight: {:#?}", runs(&sql).await);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    tokio::task::spawn_blocking(move || drop(schedulers)).await.expect("the schedulers stop");

    let runs = runs(&sql).await;
    let after: Vec<&journal::Run> = runs.iter().filter(|run| run.scheduled_for != Some(day)).collect();
    for job in Job::ALL {
        let of_job: Vec<&&journal::Run> = after.iter().filter(|run| run.job == job.name()).collect();
        assert_eq!(of_job.len(), 1, "exactly one run of {} after midnight: {runs:#?}", job.name());
        let run = of_job[0];
        assert_eq!(run.scheduled_for, Some(next), "{} ran for the new midnight: {run:#?}", job.name());
        assert_eq!(run.outcome, "succeeded", "{run:#?}");
        assert_eq!(run.tenant, None, "{run:#?}");
        assert!(run.started_at >= next && run.started_at < next + TimeDelta::seconds(3), "{run:#?}");
    }
    assert_eq!(after.len(), 2, "no runs for other midnights: {runs:#?}");
    assert!(runs.iter().all(|run| run.outcome == "succeeded"), "no failed or unfinished runs: {runs:#?}");
    let purge = after.iter().find(|run| run.job == Job::RetentionPurge.name()).expect("the purge ran");
    assert_eq!(purge.counts.purged, 5, "{purge:#?}");
    assert_eq!(
        sql.count("SELECT count(*) FROM conversations").await,
        1,
        "the purge ran once, and only the newer row is left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_asked_at_the_same_moment_run_each_job_once_and_the_others_skip() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    sql.execute(
        "INSERT INTO agent_states (tenant_id, agent_id, id, is_login, is_logout, start_time_utc, state) \
         SELECT 't', 'a', n, false, false, timestamptz '2026-09-01T00:00:00Z' + n * interval '1 second', 'Ready' \
         FROM generate_series(1, 20000) AS n",
    )
    .await;
    let midnight = at("2026-11-22T00:00:00Z");
    for job in Job::ALL {
        record_run(&sql, job, Some(midnight - days(1)), midnight - days(1), "succeeded").await;
    }

    let barrier = Arc::new(Barrier::new(3));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (url, barrier) = (database.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                runtime.block_on(async move {
                    let clock = Arc::new(SetClock::new(midnight + TimeDelta::seconds(1)));
                    let jobs = instance(&url, JobsConfig::default(), clock).await;
                    let mut outcomes = Vec::new();
                    for job in Job::ALL {
                        barrier.wait();
                        outcomes.push((job, run_if_due(&jobs, job).await.expect("run_if_due works")));
                    }
                    outcomes
                })
            })
        })
        .collect();
    let outcomes: Vec<(Job, Option<Outcome>)> = tokio::task::spawn_blocking(move || {
        threads.into_iter().flat_map(|thread| thread.join().expect("the instance does not panic")).collect()
    })
    .await
    .expect("the instances finish");

    for job in Job::ALL {
        let of_job: Vec<&Option<Outcome>> = outcomes.iter().filter(|(j, _)| *j == job).map(|(_, o)| o).collect();
        let ran = of_job.iter().filter(|o| matches!(o, Some(Outcome::Ran { error: None, .. }))).count();
        assert_eq!(ran, 1, "exactly one instance ran {}: {of_job:?}", job.name());
        assert!(
            of_job.iter().all(|o| matches!(
                o,
                None | Some(Outcome::Ran { error: None, .. } | Outcome::Busy | Outcome::AlreadyDone)
            )),
            "the others skipped {}: {of_job:?}",
            job.name()
        );
        let journal = runs(&sql).await;
        let new: Vec<_> = journal.iter().filter(|r| r.job == job.name() && r.scheduled_for == Some(midnight)).collect();
        assert_eq!(new.len(), 1, "one journal row for {}: {journal:#?}", job.name());
        assert_eq!(new[0].outcome, "succeeded");
    }
    assert_eq!(sql.count("SELECT count(*) FROM agent_states").await, 0, "every expired row is gone");
}

#[tokio::test]
async fn a_job_whose_lock_another_session_holds_is_skipped_as_busy_without_a_journal_row() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let holder = Sql::connect(&database.url).await;
    holder.client().execute("SELECT pg_advisory_lock($1)", &[&PURGE_LOCK_KEY]).await.expect("the lock is taken");
    let now = at("2026-11-22T00:00:01Z");
    let jobs = instance_at(&database.url, JobsConfig::default(), now).await;
    let midnight = at("2026-11-22T00:00:00Z");
    assert_eq!(jobs.run(Job::RetentionPurge, None, Some(midnight)).await.expect("run works"), Outcome::Busy);
    assert_eq!(jobs.run(Job::RetentionPurge, Some("t"), None).await.expect("run works"), Outcome::Busy);
    assert_eq!(run_if_due(&jobs, Job::RetentionPurge).await.expect("run_if_due works"), Some(Outcome::Busy));
    assert!(runs(&sql).await.is_empty(), "a skipped run leaves no trace: {:#?}", runs(&sql).await);
    holder.client().execute("SELECT pg_advisory_unlock($1)", &[&PURGE_LOCK_KEY]).await.expect("the lock is freed");
    let (run, _) = succeeded(jobs.run(Job::RetentionPurge, None, Some(midnight)).await);
    assert_eq!(run_by_id(&sql, run).await.scheduled_for, Some(midnight));
}

#[tokio::test]
async fn a_job_last_run_two_days_ago_catches_up_at_once_for_the_most_recent_midnight() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let two_days_ago = at("2026-11-20T00:00:00Z");
    for job in Job::ALL {
        record_run(&sql, job, Some(two_days_ago), two_days_ago + TimeDelta::seconds(2), "succeeded").await;
    }
    let jobs =
        instance(&database.url, JobsConfig::default(), Arc::new(SetClock::new(at("2026-11-22T09:30:00Z")))).await;
    for job in Job::ALL {
        let outcome = run_if_due(&jobs, job).await.expect("run_if_due works");
        let Some(Outcome::Ran { run, error: None, .. }) = outcome else {
            panic!("{} runs at once after start-up: {outcome:?}", job.name());
        };
        let run = run_by_id(&sql, run).await;
        assert_eq!(run.scheduled_for, Some(at("2026-11-22T00:00:00Z")), "for the most recent midnight: {run:#?}");
        assert_eq!(run.outcome, "succeeded");
        assert!(run.started_at >= at("2026-11-22T09:30:00Z"), "{run:#?}");
        assert_eq!(run_if_due(&jobs, job).await.expect("run_if_due works"), None, "done for today");
    }
    let missed = runs(&sql).await.into_iter().filter(|r| r.scheduled_for == Some(at("2026-11-21T00:00:00Z"))).count();
    assert_eq!(missed, 0, "the missed midnight before is not run on its own");
}

#[tokio::test]
async fn a_job_whose_most_recent_midnight_already_succeeded_is_not_due_and_a_scheduled_rerun_is_skipped() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let midnight = at("2026-11-22T00:00:00Z");
    for job in Job::ALL {
        record_run(&sql, job, Some(midnight), midnight + TimeDelta::seconds(2), "succeeded").await;
    }
    let jobs =
        instance(&database.url, JobsConfig::default(), Arc::new(SetClock::new(at("2026-11-22T09:30:00Z")))).await;
    for job in Job::ALL {
        assert_eq!(run_if_due(&jobs, job).await.expect("run_if_due works"), None, "{} is not due", job.name());
        assert_eq!(
            jobs.run(job, None, Some(midnight)).await.expect("run works"),
            Outcome::AlreadyDone,
            "{} is skipped for a midnight already done",
            job.name()
        );
    }
    assert_eq!(runs(&sql).await.len(), 2, "no new runs: {:#?}", runs(&sql).await);
    // By hand it still runs (not for a midnight), and that does not count as the next one's.
    succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    assert_eq!(run_if_due(&jobs, Job::RetentionPurge).await.expect("run_if_due works"), None);
}

#[tokio::test]
async fn a_failed_scheduled_run_is_retried_only_after_retry_failed_after_minutes() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let midnight = at("2026-11-22T00:00:00Z");
    let now = at("2026-11-22T06:00:00Z");
    for job in Job::ALL {
        record_run(&sql, job, Some(midnight - days(1)), midnight - days(1), "succeeded").await;
        // An attempt whose process died counts like a failed one.
        let outcome = if job == Job::LookupRefresh { "interrupted" } else { "failed" };
        record_run(&sql, job, Some(midnight), now - TimeDelta::minutes(1), outcome).await;
    }
    let clock = Arc::new(SetClock::new(now));
    let jobs = instance(&database.url, config("retry_failed_after_minutes = 15"), clock.clone()).await;
    for job in Job::ALL {
        assert_eq!(run_if_due(&jobs, job).await.expect("run_if_due works"), None, "{} waits", job.name());
    }
    clock.set(now + TimeDelta::minutes(13));
    for job in Job::ALL {
        assert_eq!(run_if_due(&jobs, job).await.expect("run_if_due works"), None, "{} still waits", job.name());
    }
    clock.set(now + TimeDelta::minutes(16));
    for job in Job::ALL {
        let outcome = run_if_due(&jobs, job).await.expect("run_if_due works");
        let Some(Outcome::Ran { run, error: None, .. }) = outcome else {
            panic!("{} is retried: {outcome:?}", job.name());
        };
        let run = run_by_id(&sql, run).await;
        assert_eq!((run.scheduled_for, run.outcome.as_str()), (Some(midnight), "succeeded"), "{run:#?}");
        assert_eq!(run_if_due(&jobs, job).await.expect("run_if_due works"), None, "done after the retry");
    }
}

#[tokio::test]
async fn a_run_whose_process_died_is_marked_interrupted_by_the_next_run_of_that_job() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let midnight = at("2026-11-22T00:00:00Z");
    record_run(&sql, Job::RetentionPurge, Some(midnight - days(1)), midnight - days(1), "succeeded").await;
    record_run(&sql, Job::LookupRefresh, Some(midnight), midnight, "succeeded").await;
    let died = record_run(&sql, Job::RetentionPurge, Some(midnight), midnight + TimeDelta::seconds(1), "running").await;
    let other_job = record_run(&sql, Job::LookupRefresh, None, midnight + TimeDelta::seconds(2), "running").await;

    let now = midnight + TimeDelta::minutes(3);
    let jobs = instance_at(&database.url, JobsConfig::default(), now).await;
    let outcome = run_if_due(&jobs, Job::RetentionPurge).await.expect("run_if_due works");
    let Some(Outcome::Ran { run, error: None, .. }) = outcome else {
        panic!("the midnight's run, left unfinished, is run again: {outcome:?}");
    };
    let died = run_by_id(&sql, died).await;
    assert_eq!(died.outcome, "interrupted", "{died:#?}");
    assert_eq!(died.finished_at, Some(now), "{died:#?}");
    assert!(died.error.as_deref().is_some_and(|e| !e.is_empty()), "{died:#?}");
    let run = run_by_id(&sql, run).await;
    assert_eq!((run.outcome.as_str(), run.scheduled_for), ("succeeded", Some(midnight)), "{run:#?}");
    let other_job = run_by_id(&sql, other_job).await;
    assert_eq!(other_job.outcome, "running", "another job's run is left alone: {other_job:#?}");

    // A manual run marks the other job's dead run the same way.
    succeeded(jobs.run(Job::LookupRefresh, None, None).await);
    assert_eq!(run_by_id(&sql, other_job.id).await.outcome, "interrupted");
}

// ----------------------------------------------------------------------------------------
// The retention purge
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn the_purge_targets_are_every_time_anchor_and_every_lookup_deleted_at() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    let model = model();
    let targets = purge_targets(&model);
    for expected in [
        ("conversations", "started_at_utc"),
        ("queue_segments", "queued_at_utc"),
        ("agent_states", "start_time_utc"),
        ("workitems", "start_time_utc"),
        ("captured_data", "timestamp_utc"),
        ("campaign_records", "created_at_utc"),
        ("agents", "deleted_at"),
        ("users", "deleted_at"),
    ] {
        assert!(
            targets.iter().any(|(t, c)| (t.as_str(), c.as_str()) == expected),
            "{expected:?} is purged: {targets:?}"
        );
    }
    // Every other table with a tenant is purged with its parent.
    let cascades = cascades(&sql).await;
    let purged_with: BTreeSet<String> = model
        .entity_sets()
        .iter()
        .filter(|set| matches!(set.retention, Retention::PurgedWith { .. }))
        .map(|set| set.table.clone())
        .collect();
    let children: BTreeSet<String> = cascades.iter().map(|c| c.child.clone()).collect();
    assert_eq!(purged_with, children, "the sets purged with a parent are the cascading tables");
    let covered: BTreeSet<String> = targets.iter().map(|(t, _)| t.clone()).chain(children).collect();
    for set in model.entity_sets() {
        assert!(covered.contains(&set.table), "{} ({}) is purged somehow", set.name, set.table);
    }
    // Statistical anchors are never NULL; only `deleted_at` can be.
    for (table, column) in &targets {
        assert_eq!(column_is_nullable(&sql, table, column).await, column == "deleted_at", "{table}.{column}");
    }
}

#[tokio::test]
async fn a_row_exactly_at_the_cut_off_stays_and_one_a_microsecond_older_is_purged_with_its_children() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let now = at("2026-11-22T03:00:00Z");
    let cutoff = now - days(10);
    let older = cutoff - TimeDelta::microseconds(1);
    let newer = cutoff + TimeDelta::microseconds(1);
    let fixture = Fixture::new(&sql).await;
    fixture.add(&sql, "t", "older", Some(older)).await;
    fixture.add(&sql, "t", "at", Some(cutoff)).await;
    fixture.add(&sql, "t", "newer", Some(newer)).await;
    fixture.add(&sql, "t", "today", Some(now)).await;
    let mut nullable = Vec::new();
    for (table, column) in &fixture.targets {
        if column_is_nullable(&sql, table, column).await {
            nullable.push(table.clone());
            let mut given = vec![("tenant_id", quote("t")), (column.as_str(), "NULL".to_owned())];
            if fixture.labelled.contains(table) {
                given.push(("id", quote("none")));
            }
            insert(&sql, table, &given).await;
        }
    }

    let jobs = instance_at(&database.url, JobsConfig::default(), now).await;
    let (run, counts) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    let mut expected = fixture.expected(&[("at", Some(cutoff)), ("newer", Some(newer)), ("today", Some(now))]);
    for table in &nullable {
        for (key, anchors) in expected.iter_mut() {
            if key.starts_with(&format!("{table}.")) {
                anchors.push("NULL".to_owned());
            }
        }
    }
    assert_eq!(fixture.remaining(&sql, "t").await, expected);
    assert_eq!(
        counts,
        Counts { purged: fixture.targets.len() as i64, ..Counts::default() },
        "one row of each target is purged (rows that go with their parent are not counted)"
    );
    let run = run_by_id(&sql, run).await;
    assert_eq!((run.outcome.as_str(), run.counts.purged), ("succeeded", counts.purged), "{run:#?}");
    assert_eq!(run.tenant, None);
    assert_eq!(run.scheduled_for, None, "a run by hand stands for no midnight");
    assert_eq!((run.started_at, run.finished_at), (now, Some(now)));
}

#[tokio::test]
async fn each_tenant_loses_only_the_rows_past_its_own_retention_and_a_tenant_run_touches_only_that_tenant() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "a", 10).await;
    add_tenant(&sql, "b", 30).await;
    let now = at("2026-11-22T03:00:00Z");
    let fixture = Fixture::new(&sql).await;
    let ages = [("d5", now - days(5)), ("d20", now - days(20)), ("d40", now - days(40))];
    for tenant in ["a", "b"] {
        for (label, anchor) in ages {
            fixture.add(&sql, tenant, label, Some(anchor)).await;
        }
    }
    let all: Vec<(&str, Option<DateTime<Utc>>)> = ages.iter().map(|(l, a)| (*l, Some(*a))).collect();
    let jobs = instance_at(&database.url, JobsConfig::default(), now).await;

    let (run, counts) = succeeded(jobs.run(Job::RetentionPurge, Some("a"), None).await);
    assert_eq!(fixture.remaining(&sql, "a").await, fixture.expected(&all[..1]), "a keeps 10 days");
    assert_eq!(fixture.remaining(&sql, "b").await, fixture.expected(&all), "b is not touched");
    assert_eq!(counts.purged, 2 * fixture.targets.len() as i64);
    let run = run_by_id(&sql, run).await;
    assert_eq!((run.tenant.as_deref(), run.counts.purged), (Some("a"), counts.purged), "{run:#?}");

    let (_, counts) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    assert_eq!(fixture.remaining(&sql, "a").await, fixture.expected(&all[..1]), "a is as it was");
    assert_eq!(fixture.remaining(&sql, "b").await, fixture.expected(&all[..2]), "b keeps 30 days");
    assert_eq!(counts.purged, fixture.targets.len() as i64);
}

#[tokio::test]
async fn on_the_demo_data_each_tenant_keeps_its_retention_and_a_second_purge_deletes_nothing() {
    let database: TestDatabase = fresh_demo_database().await;
    let sql = Sql::connect(&database.url).await;
    let now = Utc::now() + days(20);
    let tenants = sql.rows("SELECT id, retention_days FROM tenants ORDER BY id").await;
    let tenants: Vec<(String, i32)> = tenants.iter().map(|r| (r.get(0), r.get(1))).collect();
    let names: Vec<&str> = tenants.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, [TENANT, OTHER_TENANT], "the demo tenants");
    let targets = purge_targets(&model());
    let count = |tenant: &str, table: &str, filter: String| {
        let sql = &sql;
        let query = format!("SELECT count(*) FROM {table} WHERE tenant_id = {} AND {filter}", quote(tenant));
        async move { sql.count(&query).await }
    };
    let mut expected = BTreeMap::new();
    let mut expired = 0;
    for (tenant, retention) in &tenants {
        let cutoff = lit(now - days(i64::from(*retention)));
        for (table, column) in &targets {
            let keep = count(tenant, table, format!("({column} >= {cutoff} OR {column} IS NULL)")).await;
            expired += count(tenant, table, format!("{column} < {cutoff}")).await;
            expected.insert((tenant.clone(), table.clone(), column.clone()), keep);
        }
    }
    assert!(expired > 0, "the demo data has rows past {OTHER_TENANT}'s retention 20 days from now");

    let jobs = instance_at(&database.url, JobsConfig::default(), now).await;
    let (_, counts) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    assert_eq!(counts.purged, expired);
    let mut actual = BTreeMap::new();
    for (tenant, _) in &tenants {
        for (table, column) in &targets {
            actual.insert((tenant.clone(), table.clone(), column.clone()), count(tenant, table, "true".into()).await);
        }
    }
    assert_eq!(actual, expected, "each tenant keeps exactly the rows within its retention");

    let before = snapshot(&sql).await;
    let (run, counts) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    assert_eq!(counts, Counts::default(), "nothing is left to purge");
    assert_eq!(run_by_id(&sql, run).await.counts.purged, 0);
    assert_eq!(snapshot(&sql).await, before, "the tables are unchanged");
}

#[tokio::test]
async fn a_second_purge_with_the_same_now_deletes_nothing() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let now = at("2026-11-22T03:00:00Z");
    let fixture = Fixture::new(&sql).await;
    fixture.add(&sql, "t", "old", Some(now - days(11))).await;
    fixture.add(&sql, "t", "at", Some(now - days(10))).await;
    fixture.add(&sql, "t", "new", Some(now - days(1))).await;
    let jobs = instance_at(&database.url, JobsConfig::default(), now).await;
    let (_, first) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    assert_eq!(first.purged, fixture.targets.len() as i64);
    let before = snapshot(&sql).await;
    let (run, second) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    assert_eq!(second, Counts::default());
    assert_eq!(run_by_id(&sql, run).await.counts.purged, 0);
    assert_eq!(snapshot(&sql).await, before, "the tables are unchanged");
}

#[tokio::test]
async fn lookup_rows_deleted_longer_ago_than_the_retention_are_purged_and_others_kept() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 30).await;
    add_tenant(&sql, "u", 3650).await;
    let now = at("2026-11-22T03:00:00Z");
    let lookups: Vec<String> =
        purge_targets(&model()).into_iter().filter(|(_, c)| c == "deleted_at").map(|(t, _)| t).collect();
    assert_eq!(lookups.len(), 7, "every lookup table: {lookups:?}");
    for table in &lookups {
        for tenant in ["t", "u"] {
            for (id, deleted) in [
                ("gone-long-ago", Some(now - days(31))),
                ("gone-a-month-ago", Some(now - days(30))),
                ("gone-recently", Some(now - days(2))),
                ("alive", None),
            ] {
                let deleted = deleted.map_or("NULL".into(), lit);
                insert(&sql, table, &[("tenant_id", quote(tenant)), ("id", quote(id)), ("deleted_at", deleted)]).await;
            }
        }
    }
    let jobs = instance_at(&database.url, JobsConfig::default(), now).await;
    let (_, counts) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    assert_eq!(counts.purged, lookups.len() as i64, "one per lookup table");
    for table in &lookups {
        let ids = |tenant: &'static str| {
            let sql = &sql;
            let query = format!("SELECT id::text FROM {table} WHERE tenant_id = '{tenant}' ORDER BY id");
            async move { sql.rows(&query).await.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>() }
        };
        assert_eq!(ids("t").await, ["alive", "gone-a-month-ago", "gone-recently"], "{table} of t");
        assert_eq!(ids("u").await, ["alive", "gone-a-month-ago", "gone-long-ago", "gone-recently"], "{table} of u");
    }
}

#[tokio::test]
async fn with_batches_of_100_rows_every_expired_row_is_purged() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let now = at("2026-11-22T03:00:00Z");
    sql.execute(
        "INSERT INTO agent_states (tenant_id, agent_id, id, is_login, is_logout, start_time_utc, state) \
         SELECT 't', 'a', n, false, false, \
                CASE WHEN n <= 1050 THEN timestamptz '2026-10-01T00:00:00Z' ELSE timestamptz '2026-11-21T00:00:00Z' END \
                + n * interval '1 second', 'Ready' \
         FROM generate_series(1, 1055) AS n",
    )
    .await;
    sql.execute(
        "INSERT INTO queue_segments (tenant_id, conversation_id, queue_id, queued_at_utc) \
         SELECT 't', 'c' || n, 'q', timestamptz '2026-10-01T00:00:00Z' + n * interval '1 second' \
         FROM generate_series(1, 1000) AS n",
    )
    .await;
    let stats = statement_stats_available(&database.url).await;
    if stats {
        reset_statement_stats(&database.url).await;
    }
    let jobs = instance_at(&database.url, config("purge_batch_rows = 100"), now).await;
    let (run, counts) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    assert_eq!(counts.purged, 2050);
    assert_eq!(run_by_id(&sql, run).await.counts.purged, 2050);
    assert_eq!(sql.count("SELECT count(*) FROM agent_states").await, 5, "the 5 rows within the retention stay");
    assert_eq!(sql.count("SELECT count(*) FROM agent_states WHERE start_time_utc < '2026-11-12T03:00:00Z'").await, 0);
    assert_eq!(sql.count("SELECT count(*) FROM queue_segments").await, 0);
    if stats {
        let statements = statements_run(&database.url, &database.name).await;
        let calls = |table: &str| {
            statements
                .iter()
                .filter(|(query, _)| query.starts_with(&format!("DELETE FROM {table} ")))
                .map(|(_, calls)| *calls)
                .sum::<i64>()
        };
        assert_eq!(calls("agent_states"), 11, "1,050 rows: 10 batches of 100 and one of 50: {statements:#?}");
        assert_eq!(calls("queue_segments"), 11, "1,000 rows: 10 full batches and one that finds none");
        assert_eq!(calls("conversations"), 1, "no rows: one statement");
    } else {
        eprintln!("pg_stat_statements is not available; the batch count is not checked");
    }
}

// ----------------------------------------------------------------------------------------
// The command line
// ----------------------------------------------------------------------------------------

/// Runs the binary against `database_url`, with a bounded wait.
fn odata_feed(args: &[&str], database_url: &str) -> Output {
    let mut child = Command::new(BINARY)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("ODATA_FEED_JOBS_CONFIG")
        .env_remove("ODATA_FEED_LOG_FORMAT")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let drain = |stream: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let stderr = drain(child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("odata-feed {args:?} did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: stdout.join().expect("stdout"), stderr: stderr.join().expect("stderr") }
}

async fn odata_feed_async(args: &'static [&'static str], database_url: &str) -> Output {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || odata_feed(args, &url)).await.expect("the binary is run")
}

#[tokio::test]
async fn jobs_run_purges_and_jobs_status_lists_the_run_and_an_unknown_tenant_fails_with_one_error_line() {
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 30).await;
    let now = Utc::now();
    for age in [100, 60, 45, 1] {
        insert(&sql, "conversations", &[("tenant_id", quote("t")), ("started_at_utc", lit(now - days(age)))]).await;
    }

    let output = odata_feed_async(&["jobs", "run", "retention-purge"], &database.url).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "jobs run succeeds: {stdout}\n{stderr}");
    assert!(stdout.contains("retention-purge run ") && stdout.contains("succeeded"), "{stdout}");
    assert_eq!(sql.count("SELECT count(*) FROM conversations").await, 1);

    let output = odata_feed_async(&["jobs", "status"], &database.url).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "jobs status succeeds: {stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one run: {stdout}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header[..3], ["run", "job", "tenant"], "{stdout}");
    assert!(lines[0].contains("outcome") && lines[0].contains("purged"), "{stdout}");
    // run, job, tenant, scheduled for, started (2), finished (2), outcome, 5 counts, error
    let fields: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(fields.len(), 14, "{stdout}");
    assert_eq!(
        (fields[1], fields[2], fields[3], fields[8], fields[13]),
        ("retention-purge", "(all)", "-", "succeeded", "3"),
        "{stdout}"
    );

    let output = odata_feed_async(&["jobs", "run", "retention-purge", "--tenant", "nobody"], &database.url).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "an unknown tenant fails: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let error_lines = stderr.lines().filter(|line| line.starts_with("error:")).count();
    assert_eq!(error_lines, 1, "exactly one error line: {stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{stderr}");
    assert!(last.contains("no tenant `nobody`"), "the error names the missing tenant: {last}");
}

/// The value of one series in a Prometheus text rendering (0 when absent).
fn series(rendered: &str, name_and_labels: &str) -> f64 {
    rendered
        .lines()
        .find_map(|line| line.strip_prefix(name_and_labels).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test]
async fn each_run_is_counted_on_the_metrics_with_its_outcome_rows_and_duration() {
    let metrics = odata_feed::http::metrics::handle();
    let database = fresh_database().await;
    let sql = Sql::connect(&database.url).await;
    add_tenant(&sql, "t", 10).await;
    let now = at("2026-11-22T03:00:00Z");
    let fixture = Fixture::new(&sql).await;
    fixture.add(&sql, "t", "old", Some(now - days(11))).await;
    let runs = r#"odata_feed_job_runs_total{job="retention-purge",outcome="succeeded"}"#;
    let purged = r#"odata_feed_job_rows_total{job="retention-purge",change="purged"}"#;
    let before = metrics.render();
    let jobs = instance_at(&database.url, JobsConfig::default(), now).await;
    let (_, counts) = succeeded(jobs.run(Job::RetentionPurge, None, None).await);
    let after = metrics.render();
    // Other tests of this process run jobs too: the series grow by at least this run's share.
    assert!(series(&after, runs) >= series(&before, runs) + 1.0, "{after}");
    assert!(series(&after, purged) >= series(&before, purged) + counts.purged as f64, "{after}");
    assert!(after.contains(r#"odata_feed_job_duration_seconds_count{job="retention-purge"}"#), "{after}");
    assert!(after.contains(r#"odata_feed_job_last_success_timestamp_seconds{job="retention-purge"}"#), "{after}");
}
