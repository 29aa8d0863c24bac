//! The nightly lookup refresh end to end: a fake upstream API on 127.0.0.1 (`support::upstream`)
//! or the local source table `lookup_sources` feeds `Jobs::run` with an injected clock, and the
//! lookup tables, the run's counts and its `job_runs` row are compared with what the lists say
//! (an oracle: listed objects as listed and current, vanished ones as they were, stamped with
//! the run's time unless already stamped). The real binary is killed in the middle of a large
//! refresh to show that a tenant's tables are only ever the old or the new snapshot, and run
//! with debug logs to show that the upstream's client secret never comes out.

use crate::support::database::{TestDatabase, fresh_database, query_rows};
use crate::support::demo::fresh_demo_database;
use crate::support::tenants::Sql;
use crate::support::upstream::{CLIENT_ID, CLIENT_SECRET, FakeUpstream, SETS, resource, write_config};
use base64::Engine;
use chrono::{DateTime, Duration as Days, Utc};
use odata_feed::db;
use odata_feed::jobs::clock::SetClock;
use odata_feed::jobs::config::JobsConfig;
use odata_feed::jobs::{Counts, Job, Jobs, Outcome};
use odata_feed::odata::model::{EntitySet, Model, SetKind, Source, TENANT_COLUMN};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_odata-feed");
const DELETED: &str = "deleted_at";

/// An object as a source lists it, keyed by the feed's property names.
type Item = Map<String, Value>;
/// Every lookup set's objects, by set name.
type Lists = BTreeMap<String, Vec<Item>>;

/// One stored row of a lookup table: its columns but the tenant and `deleted_at`, and
/// `deleted_at` as PostgreSQL writes it in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    columns: BTreeMap<String, Value>,
    deleted_at: Option<String>,
}

/// One tenant's rows of one lookup table, by id.
type Table = BTreeMap<String, Row>;
/// One tenant's rows of every lookup table, by set name.
type Tables = BTreeMap<String, Table>;

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::load().expect("the model loads"))
}

fn set(name: &str) -> &'static EntitySet {
    model().entity_set(name).unwrap_or_else(|| panic!("no entity set {name}"))
}

/// The stored columns of a set's properties other than the tenant and `deleted_at`, as
/// (property name, column).
fn attribute_columns(name: &str) -> Vec<(&'static str, &'static str)> {
    set(name)
        .properties
        .iter()
        .filter_map(|p| match &p.source {
            Source::Column(c) if c != DELETED && c != TENANT_COLUMN => Some((p.name.as_str(), c.as_str())),
            _ => None,
        })
        .collect()
}

/// The property stored in the column `name` (`name` for Agents, `Name` for Users and Queues).
fn name_property(set: &str) -> &'static str {
    attribute_columns(set).into_iter().find(|(_, c)| *c == "name").expect("every lookup set has a name").0
}

/// The row `item` should become (attributes only).
fn columns_of(set: &str, item: &Item) -> BTreeMap<String, Value> {
    attribute_columns(set)
        .into_iter()
        .map(|(property, column)| (column.to_owned(), item.get(property).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// The object a source lists for a stored row.
fn item_of(set: &str, row: &Row) -> Item {
    attribute_columns(set)
        .into_iter()
        .map(|(property, column)| (property.to_owned(), row.columns.get(column).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// The objects of every set by id (lists compared whatever their order).
fn by_id(lists: &Lists) -> BTreeMap<&str, BTreeMap<String, &Item>> {
    lists.iter().map(|(name, items)| (name.as_str(), items.iter().map(|i| (id_of(i), i)).collect())).collect()
}

fn id_of(item: &Item) -> String {
    item["id"].as_str().expect("an id").to_owned()
}

/// `tenant`'s rows of every lookup table.
async fn tenant_tables(url: &str, tenant: &str) -> Tables {
    let mut tables = Tables::new();
    for name in SETS {
        let sql = format!(
            "SELECT to_jsonb(t)::text FROM {} t WHERE {TENANT_COLUMN} = '{tenant}' ORDER BY id",
            set(name).table
        );
        let mut table = Table::new();
        for row in query_rows(url, &sql).await {
            let mut columns: BTreeMap<String, Value> =
                serde_json::from_str(row.get::<_, &str>(0)).expect("a row as JSON");
            columns.remove(TENANT_COLUMN);
            let deleted_at = match columns.remove(DELETED) {
                Some(Value::String(at)) => Some(at),
                _ => None,
            };
            let id = columns["id"].as_str().expect("a text id").to_owned();
            table.insert(id, Row { columns, deleted_at });
        }
        tables.insert(name.to_owned(), table);
    }
    tables
}

/// Every row of every lookup table (of `tenant`, or of all tenants), as PostgreSQL prints
/// them, by table.
async fn dump(url: &str, tenant: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut dump = BTreeMap::new();
    for name in SETS {
        let table = &set(name).table;
        let only = tenant.map(|t| format!("WHERE {TENANT_COLUMN} = '{t}'")).unwrap_or_default();
        let sql = format!("SELECT to_jsonb(t)::text FROM {table} t {only} ORDER BY {TENANT_COLUMN}, id");
        dump.insert(table.clone(), query_rows(url, &sql).await.iter().map(|r| r.get(0)).collect());
    }
    dump
}

/// What a source delivering exactly the current (not deleted) rows would list.
fn current_items(tables: &Tables) -> Lists {
    tables
        .iter()
        .map(|(name, table)| {
            let items = table.values().filter(|row| row.deleted_at.is_none()).map(|row| item_of(name, row)).collect();
            (name.clone(), items)
        })
        .collect()
}

/// The oracle: the tables after a refresh at `now` (as JSON text) that reads `lists`.
fn expected_after(before: &Tables, lists: &Lists, now: &str) -> Tables {
    let mut after = Tables::new();
    for name in SETS {
        let mut table = before.get(name).cloned().unwrap_or_default();
        let listed: BTreeMap<String, &Item> =
            lists.get(name).into_iter().flatten().map(|item| (id_of(item), item)).collect();
        for row in table.values_mut() {
            let id = row.columns["id"].as_str().expect("a text id").to_owned();
            if !listed.contains_key(&id) && row.deleted_at.is_none() {
                row.deleted_at = Some(now.to_owned());
            }
        }
        for (id, item) in listed {
            table.insert(id, Row { columns: columns_of(name, item), deleted_at: None });
        }
        after.insert(name.to_owned(), table);
    }
    after
}

/// Fails with the first differences when the tables are not as expected.
fn assert_tables(actual: &Tables, expected: &Tables, context: &str) {
    let mut problems = Vec::new();
    for name in SETS {
        let (a, e) = (&actual[name], &expected[name]);
        let ids: BTreeSet<&String> = a.keys().chain(e.keys()).collect();
        for id in ids {
            if a.get(id) != e.get(id) && problems.len() < 8 {
                problems.push(format!("{name} {id}: expected {:?}\n    actual {:?}", e.get(id), a.get(id)));
            }
        }
    }
    assert!(problems.is_empty(), "{context}: the tables are not as expected:\n  {}", problems.join("\n  "));
}

/// A run's `job_runs` row.
#[derive(Debug)]
struct RunRecord {
    job: String,
    tenant: Option<String>,
    started: DateTime<Utc>,
    /// `started_at` as PostgreSQL writes it in JSON (comparable with rows' `deleted_at`).
    started_json: String,
    finished: Option<DateTime<Utc>>,
    outcome: String,
    counts: Counts,
    error: Option<String>,
}

async fn run_record(url: &str, run: i64) -> RunRecord {
    let sql = format!(
        "SELECT job, tenant_id, started_at, to_jsonb(started_at)::text, finished_at, outcome, inserted, updated, \
         deleted, restored, purged, error FROM job_runs WHERE id = {run}"
    );
    let rows = query_rows(url, &sql).await;
    let row = rows.first().unwrap_or_else(|| panic!("no job_runs row for run {run}"));
    RunRecord {
        job: row.get(0),
        tenant: row.get(1),
        started: row.get(2),
        started_json: serde_json::from_str(row.get::<_, &str>(3)).expect("a JSON string"),
        finished: row.get(4),
        outcome: row.get(5),
        counts: Counts {
            inserted: row.get(6),
            updated: row.get(7),
            deleted: row.get(8),
            restored: row.get(9),
            purged: row.get(10),
        },
        error: row.get(11),
    }
}

fn counts(inserted: i64, updated: i64, deleted: i64, restored: i64) -> Counts {
    Counts { inserted, updated, deleted, restored, purged: 0 }
}

fn day(n: i64) -> DateTime<Utc> {
    "2026-11-23T00:00:00Z".parse::<DateTime<Utc>>().expect("a time") + Days::days(n)
}

/// The jobs over `database` with the configuration in `config`, on a clock set to `at`.
async fn jobs(database: &TestDatabase, config: &Path, at: DateTime<Utc>) -> (Jobs, Arc<SetClock>) {
    let config = JobsConfig::load(config).expect("the jobs configuration is valid");
    let clock = Arc::new(SetClock::new(at));
    let pool = db::pool::connect(&database.url, 4).await.expect("the database answers");
    let jobs = Jobs::new(pool, Arc::new(Model::load().expect("the model loads")), config, clock.clone())
        .expect("the jobs are built");
    (jobs, clock)
}

/// Runs the lookup refresh for every tenant at `at`; returns the run and what the outcome said.
async fn refresh(jobs: &Jobs, clock: &SetClock, at: DateTime<Utc>) -> (i64, Counts, Option<String>) {
    clock.set(at);
    match jobs.run(Job::LookupRefresh, None, None).await.expect("the run is recorded") {
        Outcome::Ran { run, counts, error } => (run, counts, error),
        other => panic!("the refresh did not run: {other:?}"),
    }
}

/// Checks the journal row of a run the outcome reported, and that its time is the clock's.
async fn assert_recorded(url: &str, run: i64, at: DateTime<Utc>, counts: &Counts, error: Option<&str>) -> RunRecord {
    let record = run_record(url, run).await;
    assert_eq!(record.job, "lookup-refresh");
    assert_eq!(record.tenant, None, "a run for every tenant");
    let outcome = if error.is_some() { "failed" } else { "succeeded" };
    assert_eq!(record.outcome, outcome, "run {run}: {record:?}");
    assert_eq!(&record.counts, counts, "run {run}: the journal's counts are the outcome's");
    assert_eq!(record.error.as_deref(), error, "run {run}: the journal's error is the outcome's");
    assert!(
        record.started >= at && record.started < at + Days::seconds(10),
        "run {run} started at {} by the injected clock set to {at}",
        record.started
    );
    assert!(record.finished.is_some_and(|f| f >= record.started), "run {run} is finished: {record:?}");
    record
}

/// Where a test's lists come from.
enum Feed<'u> {
    Upstream(&'u FakeUpstream),
    /// The `lookup_sources` rows of this tenant.
    Local(&'u str),
}

impl Feed<'_> {
    /// Makes the source list exactly `lists`.
    async fn serve(&self, url: &str, lists: &Lists) {
        for (name, items) in lists {
            assert_eq!(by_id(lists)[name.as_str()].len(), items.len(), "the test lists an object of {name} twice");
        }
        match self {
            Feed::Upstream(upstream) => upstream.set_lists(lists),
            Feed::Local(tenant) => write_local_source(url, tenant, lists).await,
        }
    }
}

/// Replaces `tenant`'s rows of `lookup_sources` with `lists` (attributes keyed by property
/// name, the id in its own column).
async fn write_local_source(url: &str, tenant: &str, lists: &Lists) {
    let rows: Vec<Value> = lists
        .iter()
        .flat_map(|(set, items)| {
            items.iter().map(move |item| {
                let mut attributes = item.clone();
                let id = attributes.remove("id").expect("an id");
                serde_json::json!({"set": set, "id": id, "attributes": attributes})
            })
        })
        .collect();
    let sql = Sql::connect(url).await;
    sql.client().execute("DELETE FROM lookup_sources WHERE tenant_id = $1", &[&tenant]).await.expect("deleted");
    sql.client()
        .execute(
            "INSERT INTO lookup_sources (tenant_id, entity_set, id, attributes) \
             SELECT $1, r->>'set', r->>'id', r->'attributes' FROM jsonb_array_elements($2::jsonb) r",
            &[&tenant, &Value::Array(rows)],
        )
        .await
        .expect("the local source is written");
}

/// The objects a two-day scenario moves around in one set: the first three current objects
/// (by id) and a new one.
struct Picks {
    renamed: Item,
    removed: Item,
    returning: Item,
    new: Item,
}

fn picks(lists: &Lists, name: &str) -> Picks {
    let items = &lists[name];
    assert!(items.len() >= 3, "the tenant has at least three current {name}, not {}", items.len());
    let mut new = items[0].clone();
    new.insert("id".to_owned(), Value::String(format!("zz-new-{}", resource(name))));
    new.insert(name_property(name).to_owned(), Value::String(format!("New {name} object")));
    Picks { renamed: items[0].clone(), removed: items[1].clone(), returning: items[2].clone(), new }
}

fn renamed(item: &Item, set: &str, suffix: &str) -> Item {
    let mut item = item.clone();
    let property = name_property(set);
    let name = item.get(property).and_then(Value::as_str).unwrap_or("unnamed").to_owned();
    item.insert(property.to_owned(), Value::String(format!("{name} {suffix}")));
    item
}

/// `items` without the object with `id`.
fn without(items: &[Item], id: &str) -> Vec<Item> {
    items.iter().filter(|item| id_of(item) != id).cloned().collect()
}

/// `items` with `replacement` in place of the object with its id.
fn replaced(items: &[Item], replacement: &Item) -> Vec<Item> {
    let id = id_of(replacement);
    items.iter().map(|item| if id_of(item) == id { replacement.clone() } else { item.clone() }).collect()
}

fn row<'t>(tables: &'t Tables, set: &str, item: &Item) -> &'t Row {
    let id = id_of(item);
    tables[set].get(&id).unwrap_or_else(|| panic!("{set} {id} is not stored"))
}

/// Day 0, `tenant`'s source lists its current objects (and a few more where a set has fewer
/// than three); day 1 it stops listing one object of every set; day 2 it lists one new object,
/// one renamed, loses another, and the first one comes back (renamed, in Queues). Checks the
/// tables against the oracle and by hand, the counts and the journal. `others` is a tenant
/// without any source, left as it is.
async fn two_day_scenario(database: &TestDatabase, config: &Path, feed: Feed<'_>, tenant: &str, others: &str) {
    let url = &database.url;
    let untouched = dump(url, Some(others)).await;
    let mut current = current_items(&tenant_tables(url, tenant).await);
    let mut extra = 0;
    for name in SETS {
        let items = current.get_mut(name).expect("every set");
        for n in items.len()..3 {
            let mut item = items.first().cloned().unwrap_or_else(|| Item::from_iter([("id".to_owned(), Value::Null)]));
            item.insert("id".to_owned(), Value::String(format!("zz-more-{}-{n}", resource(name))));
            item.insert(name_property(name).to_owned(), Value::String(format!("More {name} {n}")));
            items.push(item);
            extra += 1;
        }
    }
    feed.serve(url, &current).await;
    let (jobs, clock) = jobs(database, config, day(0)).await;
    let (run0, counts0, error0) = refresh(&jobs, &clock, day(0)).await;
    assert_eq!((counts0.clone(), error0), (counts(extra, 0, 0, 0), None), "day 0 adds only the extra objects");
    assert_recorded(url, run0, day(0), &counts0, None).await;
    let before = tenant_tables(url, tenant).await;
    assert_eq!(by_id(&current_items(&before)), by_id(&current), "day 0: the current objects are the source's");
    let picks: BTreeMap<&str, Picks> = SETS.iter().map(|name| (*name, picks(&current, name))).collect();

    // Day 1: the returning objects vanish.
    let day1: Lists =
        SETS.iter().map(|name| (name.to_string(), without(&current[*name], &id_of(&picks[name].returning)))).collect();
    feed.serve(url, &day1).await;
    let (run1, counts1, error1) = refresh(&jobs, &clock, day(1)).await;
    assert_eq!(error1, None, "day 1 succeeds");
    assert_eq!(counts1, counts(0, 0, 7, 0), "day 1: one object of each of the seven sets vanished");
    let record1 = assert_recorded(url, run1, day(1), &counts1, None).await;
    let after1 = tenant_tables(url, tenant).await;
    assert_tables(&after1, &expected_after(&before, &day1, &record1.started_json), "day 1");
    for name in SETS {
        let returning = row(&after1, name, &picks[name].returning);
        assert_eq!(returning.deleted_at.as_deref(), Some(record1.started_json.as_str()), "day 1: {name} vanished");
    }

    // Day 2: new, renamed, removed, and the vanished one back.
    let day2: Lists = SETS
        .iter()
        .map(|name| {
            let p = &picks[name];
            let mut items =
                replaced(&without(&day1[*name], &id_of(&p.removed)), &renamed(&p.renamed, name, "(renamed)"));
            items.push(if *name == "Queues" { renamed(&p.returning, name, "(back)") } else { p.returning.clone() });
            items.push(p.new.clone());
            (name.to_string(), items)
        })
        .collect();
    feed.serve(url, &day2).await;
    let (run2, counts2, error2) = refresh(&jobs, &clock, day(2)).await;
    assert_eq!(error2, None, "day 2 succeeds");
    // Per set one new, one renamed, one removed, one back; the queue that came back renamed
    // is restored and updated.
    assert_eq!(counts2, counts(7, 8, 7, 7), "day 2's counts");
    let record2 = assert_recorded(url, run2, day(2), &counts2, None).await;
    let after2 = tenant_tables(url, tenant).await;
    assert_tables(&after2, &expected_after(&after1, &day2, &record2.started_json), "day 2");
    for name in ["Agents", "Queues", "Channels"] {
        let p = &picks[name];
        let column = "name";
        let renamed_row = row(&after2, name, &p.renamed);
        assert_eq!(renamed_row.columns[column], renamed(&p.renamed, name, "(renamed)")[name_property(name)]);
        assert_eq!(renamed_row.deleted_at, None, "{name}: a renamed object stays current");
        let removed_row = row(&after2, name, &p.removed);
        assert_eq!(removed_row.deleted_at.as_deref(), Some(record2.started_json.as_str()), "{name}: stamped on day 2");
        assert_eq!(removed_row.columns, columns_of(name, &p.removed), "{name}: a vanished object keeps its attributes");
        let returning_row = row(&after2, name, &p.returning);
        assert_eq!(returning_row.deleted_at, None, "{name}: the returning object is current again");
        let back_name = if name == "Queues" { renamed(&p.returning, name, "(back)") } else { p.returning.clone() };
        assert_eq!(returning_row.columns[column], back_name[name_property(name)], "{name}: as it came back");
        let new_row = row(&after2, name, &p.new);
        assert_eq!((new_row.deleted_at.as_ref(), &new_row.columns), (None, &columns_of(name, &p.new)), "{name}: new");
    }
    // Objects deleted before the scenario (the demo has some) kept their stamps.
    for name in SETS {
        for (id, old) in before[name].iter().filter(|(_, r)| r.deleted_at.is_some()) {
            assert_eq!(after2[name][id].deleted_at, old.deleted_at, "{name} {id} was deleted before and stays so");
        }
    }
    assert_eq!(dump(url, Some(others)).await, untouched, "`{others}` has no source: its tables are left alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_changed_vanished_and_returning_upstream_objects_come_out_right_on_each_injected_day() {
    let lookups: Vec<&str> =
        model().entity_sets().iter().filter(|s| s.kind == SetKind::Lookup).map(|s| s.name.as_str()).collect();
    assert_eq!(lookups, SETS, "the tests cover every lookup set");
    let database = fresh_demo_database().await;
    let upstream = FakeUpstream::start();
    upstream.set_page_size(7);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = upstream.jobs_config(dir.path(), "contoso", "");
    two_day_scenario(&database, &config, Feed::Upstream(&upstream), "contoso", "fabrikam").await;
    assert_eq!(upstream.token_requests(), 1, "one access token serves every run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_with_the_same_lists_changes_nothing() {
    let database = fresh_demo_database().await;
    let url = &database.url;
    let upstream = FakeUpstream::start();
    upstream.set_page_size(5);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = upstream.jobs_config(dir.path(), "contoso", "");
    let current = current_items(&tenant_tables(url, "contoso").await);
    // A list that differs from the tables, so the first run has work: per set one renamed,
    // one gone and one new object.
    let lists: Lists = SETS
        .iter()
        .map(|name| {
            let p = picks(&current, name);
            let mut items = replaced(&without(&current[*name], &id_of(&p.removed)), &renamed(&p.renamed, name, "(v2)"));
            items.push(p.new);
            (name.to_string(), items)
        })
        .collect();
    upstream.set_lists(&lists);
    let (jobs, clock) = jobs(&database, &config, day(1)).await;
    let (run1, counts1, error1) = refresh(&jobs, &clock, day(1)).await;
    assert_eq!((counts1.clone(), error1), (counts(7, 7, 7, 0), None), "the first run");
    let record1 = assert_recorded(url, run1, day(1), &counts1, None).await;
    let after1 = dump(url, None).await;
    let stamped = |tables: &Tables| -> usize {
        let at = Some(record1.started_json.clone());
        tables.values().flat_map(|t| t.values()).filter(|r| r.deleted_at == at).count()
    };
    assert_eq!(stamped(&tenant_tables(url, "contoso").await), 7, "the first run stamped one object per set");
    let requests = upstream.total_requests();

    let (run2, counts2, error2) = refresh(&jobs, &clock, day(2)).await;
    assert_eq!(error2, None);
    assert_eq!(counts2, Counts::default(), "the same lists again change nothing");
    assert_recorded(url, run2, day(2), &Counts::default(), None).await;
    assert_eq!(dump(url, None).await, after1, "every lookup row, deletedAt included, is as the first run left it");
    assert_eq!(stamped(&tenant_tables(url, "contoso").await), 7, "the vanished objects keep the first run's time");
    assert_eq!(upstream.total_requests(), 2 * requests, "the second run read every list again");
    assert_eq!(upstream.token_requests(), 1, "and reused the access token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_upstream_list_leaves_the_tenants_snapshot_intact_and_other_tenants_are_refreshed() {
    let database = fresh_demo_database().await;
    let url = &database.url;
    let upstream = FakeUpstream::start();
    upstream.set_page_size(50);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = upstream.jobs_config(dir.path(), "contoso", "[tenants.fabrikam]\nsource = \"local\"\n");

    // contoso's upstream has changes in every set, but `users` (the last list read) fails.
    let contoso = current_items(&tenant_tables(url, "contoso").await);
    let lists: Lists = SETS
        .iter()
        .map(|name| {
            let p = picks(&contoso, name);
            let mut items = replaced(&without(&contoso[*name], &id_of(&p.removed)), &renamed(&p.renamed, name, "(v2)"));
            items.push(p.new);
            (name.to_string(), items)
        })
        .collect();
    upstream.set_lists(&lists);
    upstream.fail("users", Some(500));
    // fabrikam's local source: one agent renamed, one queue gone.
    let fabrikam_before = tenant_tables(url, "fabrikam").await;
    let mut local = current_items(&fabrikam_before);
    let fabrikam_agent = renamed(&local["Agents"][0], "Agents", "(local)");
    let fabrikam_queue = local["Queues"][0].clone();
    local.insert("Agents".to_owned(), replaced(&local["Agents"], &fabrikam_agent));
    local.insert("Queues".to_owned(), without(&local["Queues"], &id_of(&fabrikam_queue)));
    write_local_source(url, "fabrikam", &local).await;

    let contoso_before = dump(url, Some("contoso")).await;
    let (jobs, clock) = jobs(&database, &config, day(1)).await;
    let (run, done, error) = refresh(&jobs, &clock, day(1)).await;
    let error = error.expect("the run reports contoso's failure");
    assert!(error.contains("contoso"), "the error names the tenant: {error}");
    assert!(error.contains("/users") && error.contains("500"), "the error names the resource and status: {error}");
    assert!(!error.contains("fabrikam"), "fabrikam did not fail: {error}");
    assert_eq!(upstream.requests("users"), 2, "the failing list was tried upstream_attempts = 2 times");
    for name in SETS.iter().filter(|n| **n != "Users") {
        assert_eq!(upstream.lists_served(&resource(name)), 1, "{name} was read before users failed");
    }
    assert_eq!(
        dump(url, Some("contoso")).await,
        contoso_before,
        "contoso's seven lookup tables are byte for byte as before the failed run"
    );
    assert_eq!(done, counts(0, 1, 1, 0), "the counts are fabrikam's");
    let record = assert_recorded(url, run, day(1), &done, Some(&error)).await;
    let fabrikam_after = tenant_tables(url, "fabrikam").await;
    assert_tables(&fabrikam_after, &expected_after(&fabrikam_before, &local, &record.started_json), "fabrikam");
    assert_eq!(row(&fabrikam_after, "Agents", &fabrikam_agent).columns["name"], fabrikam_agent["name"]);

    // Once the upstream answers again, the next run brings contoso's changes.
    upstream.fail("users", None);
    let contoso_tables = tenant_tables(url, "contoso").await;
    let (run, done, error) = refresh(&jobs, &clock, day(1) + Days::minutes(15)).await;
    assert_eq!((done.clone(), error), (counts(7, 7, 7, 0), None), "the retry applies contoso's lists only");
    let record = assert_recorded(url, run, day(1) + Days::minutes(15), &done, None).await;
    assert_tables(
        &tenant_tables(url, "contoso").await,
        &expected_after(&contoso_tables, &lists, &record.started_json),
        "contoso after the retry",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_source_is_reconciled_the_same_way_and_a_tenant_without_a_source_is_left_alone() {
    let database = fresh_demo_database().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = write_config(dir.path(), "[tenants.fabrikam]\nsource = \"local\"\n");
    two_day_scenario(&database, &config, Feed::Local("fabrikam"), "fabrikam", "contoso").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_refresh_of_a_large_new_tenant_inserts_every_object() {
    const OBJECTS: i64 = 30_000;
    let database = fresh_demo_database().await;
    let url = &database.url;
    // A live database has statistics, in which a tenant that just signed up has no rows.
    query_rows(url, "ANALYZE").await;
    query_rows(
        url,
        "INSERT INTO tenants (id, name, time_zone, retention_days) VALUES ('northwind', 'Northwind', 'UTC', 400)",
    )
    .await;
    let upstream = FakeUpstream::start();
    upstream.set_page_size(5_000);
    upstream.set_lists(
        &[
            ("Agents".to_owned(), (1..=OBJECTS).map(agent_item).collect()),
            ("Users".to_owned(), (1..=OBJECTS).map(user_item).collect()),
        ]
        .into(),
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = upstream.jobs_config(dir.path(), "northwind", "");
    let (jobs, clock) = jobs(&database, &config, day(1)).await;
    clock.set(day(1));
    let started = Instant::now();
    // Only a guard against a statement that never ends (seconds are normal); speed is measured
    // by benchmarks, not asserted here.
    let limit = Duration::from_secs(300);
    let outcome = tokio::time::timeout(limit, jobs.run(Job::LookupRefresh, Some("northwind"), None)).await;
    let Ok(outcome) = outcome else {
        let running = query_rows(
            url,
            "SELECT coalesce(string_agg(left(query, 160), ' | '), '') FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'odata-feed' AND state = 'active'",
        )
        .await[0]
            .get::<_, String>(0);
        // Stop the statement, which would otherwise go on for minutes.
        query_rows(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'odata-feed'",
        )
        .await;
        panic!("the first refresh of {OBJECTS} agents and users did not finish within {limit:?}; running: {running}");
    };
    match outcome.expect("the run is recorded") {
        Outcome::Ran { counts: done, error: None, .. } => {
            assert_eq!(done, counts(2 * OBJECTS, 0, 0, 0), "every object is new");
        }
        other => panic!("the refresh did not succeed: {other:?}"),
    }
    let stored = query_rows(
        url,
        "SELECT (SELECT count(*) FROM agents WHERE tenant_id = 'northwind' AND deleted_at IS NULL) \
              + (SELECT count(*) FROM users WHERE tenant_id = 'northwind' AND deleted_at IS NULL)",
    )
    .await[0]
        .get::<_, i64>(0);
    assert_eq!(stored, 2 * OBJECTS);
    eprintln!("the first refresh of {OBJECTS} agents and users took {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// The real binary

/// The binary running `args` over `url` with `config` (`ODATA_FEED_JOBS_CONFIG`), its standard
/// error into `stderr`.
fn command(url: &str, config: &Path, args: &[&str], log: &str, stderr: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BINARY);
    command
        .args(args)
        .env("DATABASE_URL", url)
        .env("ODATA_FEED_JOBS_CONFIG", config)
        .env("RUST_LOG", log)
        .env_remove("ODATA_FEED_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).expect("a log file"))
        .kill_on_drop(true);
    command
}

/// Runs the binary to its end (at most two minutes); returns its output (standard error read
/// from `stderr`).
async fn run_binary(url: &str, config: &Path, args: &[&str], log: &str, stderr: &Path) -> Output {
    let child = command(url, config, args, log, stderr).spawn().expect("the binary starts");
    let mut output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the binary ends within two minutes")
        .expect("the binary is waited for");
    output.stderr = std::fs::read(stderr).expect("its log");
    output
}

/// A fresh database with the tenant `contoso` and nothing else.
async fn database_with_contoso() -> TestDatabase {
    let database = fresh_database().await;
    query_rows(
        &database.url,
        "INSERT INTO tenants (id, name, time_zone, retention_days) VALUES ('contoso', 'Contoso', 'UTC', 400)",
    )
    .await;
    database
}

/// Objects in the large tables of the kill test, before and after.
const LARGE: i64 = 60_000;

fn agent_item(i: i64) -> Item {
    let name = if i % 10 == 3 { format!("Agent {i} (renamed)") } else { format!("Agent {i}") };
    serde_json::json!({"id": format!("agent-{i:05}"), "name": name, "customId": format!("A{i}")})
        .as_object()
        .expect("an object")
        .clone()
}

fn user_item(i: i64) -> Item {
    let email = if i % 10 == 5 { format!("user{i}@new.example") } else { format!("user{i}@contoso.example") };
    serde_json::json!({
        "id": format!("agent-{i:05}"), "Name": format!("User {i}"), "customId": format!("U{i}"),
        "emailAddress": email, "userType": "Agent",
    })
    .as_object()
    .expect("an object")
    .clone()
}

/// The old snapshot's deletion stamps in the kill test.
const OLD_STAMPS: &str = "timestamptz '2026-01-01 00:00:00+00', timestamptz '2026-01-02 00:00:00+00'";

/// Prepares the kill test's comparisons in the database itself (120 000 rows are slow to
/// compare in a debug build): `kill_actual`, contoso's agents and users now, as (table, id,
/// row) with `deleted` in place of `deleted_at` (`-` for current rows, the old stamps as
/// they are, `stamp` for any other); `kill_old`, that view at the start; `kill_listed`, the
/// rows the lists should become; and `kill_new`, the oracle: the listed rows current, the
/// others as they were, stamped unless already.
async fn prepare_kill_comparisons(sql: &Sql, lists: &Lists) {
    sql.client()
        .batch_execute(&format!(
            "CREATE VIEW kill_actual AS \
               SELECT 'agents' AS tbl, a.id::text AS id, \
                      (to_jsonb(a) - '{TENANT_COLUMN}' - '{DELETED}') || jsonb_build_object('deleted', \
                        CASE WHEN a.{DELETED} IS NULL THEN '-' WHEN a.{DELETED} IN ({OLD_STAMPS}) \
                             THEN a.{DELETED}::text ELSE 'stamp' END) AS row \
               FROM agents a WHERE a.{TENANT_COLUMN} = 'contoso' \
               UNION ALL \
               SELECT 'users', u.id::text, \
                      (to_jsonb(u) - '{TENANT_COLUMN}' - '{DELETED}') || jsonb_build_object('deleted', \
                        CASE WHEN u.{DELETED} IS NULL THEN '-' WHEN u.{DELETED} IN ({OLD_STAMPS}) \
                             THEN u.{DELETED}::text ELSE 'stamp' END) \
               FROM users u WHERE u.{TENANT_COLUMN} = 'contoso'; \
             CREATE TABLE kill_old AS SELECT * FROM kill_actual; \
             CREATE TABLE kill_listed (tbl text, id text, row jsonb); \
             CREATE VIEW kill_new AS \
               SELECT tbl, id, row FROM kill_listed \
               UNION ALL \
               SELECT o.tbl, o.id, CASE WHEN o.row->>'deleted' = '-' \
                                        THEN jsonb_set(o.row, '{{deleted}}', '\"stamp\"') ELSE o.row END \
               FROM kill_old o WHERE NOT EXISTS (SELECT FROM kill_listed l WHERE l.tbl = o.tbl AND l.id = o.id);"
        ))
        .await
        .expect("the comparisons are prepared");
    let listed: Vec<Value> = ["Agents", "Users"]
        .iter()
        .flat_map(|name| {
            lists[*name].iter().map(move |item| {
                let mut row: Map<String, Value> = columns_of(name, item).into_iter().collect();
                row.insert("deleted".to_owned(), Value::String("-".to_owned()));
                serde_json::json!({"tbl": set(name).table, "id": id_of(item), "row": row})
            })
        })
        .collect();
    sql.client()
        .execute(
            "INSERT INTO kill_listed SELECT r->>'tbl', r->>'id', r->'row' FROM jsonb_array_elements($1::jsonb) r",
            &[&Value::Array(listed)],
        )
        .await
        .expect("the lists are stored");
    sql.execute("CREATE INDEX ON kill_listed (tbl, id)").await;
    sql.execute("ANALYZE kill_listed, kill_old").await;
}

/// A digest of each table of the view `rows` (rows in id order).
async fn digests(sql: &Sql, rows: &str) -> BTreeMap<String, String> {
    let query = format!(
        "SELECT tbl, md5(string_agg(id || ' ' || row::text, E'\\n' ORDER BY id COLLATE \"C\")) FROM {rows} GROUP BY tbl"
    );
    sql.rows(&query).await.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// Rows of each table that differ between the view `actual` and `expected`.
async fn rows_differing(sql: &Sql, actual: &str, expected: &str) -> BTreeMap<String, i64> {
    let query = format!(
        "SELECT tbl, count(*) FROM ((SELECT * FROM {actual} EXCEPT SELECT * FROM {expected}) \
         UNION ALL (SELECT * FROM {expected} EXCEPT SELECT * FROM {actual})) d GROUP BY tbl"
    );
    sql.rows(&query).await.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// The distinct stamps contoso's agents and users carry other than the old snapshot's.
async fn new_stamps(sql: &Sql) -> i64 {
    sql.count(&format!(
        "SELECT count(DISTINCT d) FROM (SELECT {DELETED} d FROM agents WHERE {TENANT_COLUMN} = 'contoso' \
         UNION ALL SELECT {DELETED} FROM users WHERE {TENANT_COLUMN} = 'contoso') x \
         WHERE d IS NOT NULL AND d NOT IN ({OLD_STAMPS})"
    ))
    .await
}

/// Whether the binary's connection is inside the refresh's transaction, on a statement of
/// `staged_<table>`.
async fn in_refresh_statement(sql: &Sql, table: &str) -> bool {
    let query = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'odata-feed' AND xact_start IS NOT NULL AND query LIKE '%staged\\_{table}%'"
    );
    sql.count(&query).await > 0
}

/// Waits until no connection of the binary is left on the database.
async fn wait_for_disconnect(sql: &Sql) {
    let started = Instant::now();
    while sql
        .count(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = 'odata-feed'",
        )
        .await
        > 0
    {
        assert!(started.elapsed() < Duration::from_secs(20), "the killed binary's sessions do not end");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// When a run is killed.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// As soon as the upstream has served the last page of every list.
    ListsRead,
    /// While the refresh transaction runs a statement on this table's staged rows.
    Reconciling(&'static str),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_killed_mid_way_leaves_the_old_or_the_new_snapshot_and_never_a_mix() {
    let database = database_with_contoso().await;
    let url = &database.url;
    query_rows(
        url,
        &format!(
            "INSERT INTO agents (tenant_id, id, name, custom_id, deleted_at) \
             SELECT 'contoso', format('agent-%s', lpad(i::text, 5, '0')), format('Agent %s', i), format('A%s', i), \
                    CASE WHEN i % 97 = 0 THEN timestamptz '2026-01-01 00:00:00+00' END \
             FROM generate_series(1, {LARGE}) i"
        ),
    )
    .await;
    query_rows(
        url,
        &format!(
            "INSERT INTO users (tenant_id, id, name, custom_id, email_address, user_type, deleted_at) \
             SELECT 'contoso', format('agent-%s', lpad(i::text, 5, '0')), format('User %s', i), format('U%s', i), \
                    format('user%s@contoso.example', i), 'Agent', \
                    CASE WHEN i % 89 = 0 THEN timestamptz '2026-01-02 00:00:00+00' END \
             FROM generate_series(1, {LARGE}) i"
        ),
    )
    .await;
    // A live database has statistics (see the test of a new tenant for what happens without).
    query_rows(url, "ANALYZE agents, users").await;
    // The new lists: 2 000 new objects, some renamed or with a new address, about 1 200
    // agents and 1 500 users gone, the deleted ones back.
    let lists: Lists = [
        ("Agents".to_owned(), (1..=LARGE + 2_000).filter(|i| i % 50 != 7).map(agent_item).collect()),
        ("Users".to_owned(), (1..=LARGE + 2_000).filter(|i| i % 40 != 9).map(user_item).collect()),
    ]
    .into();
    let upstream = FakeUpstream::start();
    upstream.set_page_size(5_000);
    upstream.set_lists(&lists);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = upstream.jobs_config(dir.path(), "contoso", "");

    let sql = Sql::connect(url).await;
    prepare_kill_comparisons(&sql, &lists).await;
    let (old, new) = (digests(&sql, "kill_old").await, digests(&sql, "kill_new").await);
    assert!(
        old.len() == 2 && new.len() == 2 && old.iter().all(|(table, digest)| new.get(table) != Some(digest)),
        "both tables change, so a mix would show"
    );

    let args = ["jobs", "run", "lookup-refresh", "--tenant", "contoso"];
    let started = Instant::now();
    let mut killed_runs = Vec::new();
    let mut seen_old = 0;
    for (attempt, moment) in
        [Moment::Reconciling("agents"), Moment::ListsRead, Moment::Reconciling("users")].into_iter().enumerate()
    {
        let log = dir.path().join(format!("killed-{attempt}.log"));
        let served: Vec<usize> = SETS.iter().map(|s| upstream.lists_served(&resource(s))).collect();
        let mut child = command(url, &config, &args, "info", &log).spawn().expect("the binary starts");
        let waiting = Instant::now();
        let reached = loop {
            if child.try_wait().expect("the child is polled").is_some() {
                break false;
            }
            let now_there = match moment {
                Moment::ListsRead => {
                    SETS.iter().zip(&served).all(|(s, before)| upstream.lists_served(&resource(s)) > *before)
                }
                Moment::Reconciling(table) => in_refresh_statement(&sql, table).await,
            };
            if now_there {
                break true;
            }
            assert!(waiting.elapsed() < Duration::from_secs(60), "{moment:?} never came");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let _ = child.start_kill();
        let status = child.wait().await.expect("the killed binary is waited for");
        let took = waiting.elapsed();
        let by_signal = status.signal() == Some(libc::SIGKILL);
        if !by_signal && !status.success() {
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("the run failed by itself ({status}) before {moment:?} came; its log:\n{log_text}");
        }
        wait_for_disconnect(&sql).await;
        let now = digests(&sql, "kill_actual").await;
        let (is_old, is_new) = (now == old, now == new);
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        let run: i64 = sql.rows("SELECT max(id) FROM job_runs").await[0].get(0);
        eprintln!(
            "kill {attempt} at {moment:?}: reached {reached}, killed by SIGKILL {by_signal}, after {took:?}; \
             the tables are {}",
            if is_old {
                "the old snapshot"
            } else if is_new {
                "the new snapshot"
            } else {
                "a MIX"
            }
        );
        if !is_old && !is_new {
            panic!(
                "after a kill at {moment:?}, contoso's agents and users are neither the old snapshot (rows \
                 differing per table: {:?}) nor the new one ({:?})\nthe binary's log:\n{log_text}",
                rows_differing(&sql, "kill_actual", "kill_old").await,
                rows_differing(&sql, "kill_actual", "kill_new").await,
            );
        }
        assert!(new_stamps(&sql).await <= 1, "one run stamps every vanished object with its own time");
        if is_old {
            seen_old += 1;
            assert!(by_signal, "the tables are old, so the run did not finish: {status:?}\n{log_text}");
            killed_runs.push(run);
        } else if by_signal {
            killed_runs.push(run);
        }
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    assert!(seen_old > 0, "no kill landed before the commit; the test proved nothing");

    // Run to the end: the new snapshot, complete; the killed runs are recorded interrupted.
    let log = dir.path().join("final.log");
    let output = run_binary(url, &config, &args, "info", &log).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the last run succeeds: {stderr}");
    if digests(&sql, "kill_actual").await != new {
        let from_new = rows_differing(&sql, "kill_actual", "kill_new").await;
        panic!("the last run does not leave the new snapshot; rows differing per table: {from_new:?}");
    }
    assert_eq!(new_stamps(&sql).await, 1, "one run stamped the vanished objects");
    let stamped_by_a_run = sql
        .count(&format!(
            "SELECT count(*) FROM job_runs WHERE started_at = (SELECT max({DELETED}) FROM agents \
             WHERE {TENANT_COLUMN} = 'contoso' AND {DELETED} NOT IN ({OLD_STAMPS}))"
        ))
        .await;
    assert_eq!(stamped_by_a_run, 1, "the stamp is the start of the run that committed");
    let last: i64 = sql.rows("SELECT max(id) FROM job_runs").await[0].get(0);
    for run in &killed_runs {
        assert_eq!(run_record(url, *run).await.outcome, "interrupted", "killed run {run}");
    }
    assert_eq!(run_record(url, last).await.outcome, "succeeded");

    let log = dir.path().join("status.log");
    let status = run_binary(url, &config, &["jobs", "status"], "warn", &log).await;
    assert!(status.status.success(), "jobs status works: {}", String::from_utf8_lossy(&status.stderr));
    let listing = String::from_utf8_lossy(&status.stdout);
    let line = |run: i64| {
        listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(run.to_string().as_str()))
            .unwrap_or_else(|| panic!("run {run} is not listed:\n{listing}"))
            .to_owned()
    };
    for run in &killed_runs {
        let line = line(*run);
        assert!(line.contains("lookup-refresh") && line.contains(" interrupted "), "killed run {run}: {line}");
    }
    let line = line(last);
    assert!(line.contains("lookup-refresh") && line.contains(" succeeded "), "the last run: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_secret_never_appears_in_the_jobs_logs_or_errors() {
    let database = database_with_contoso().await;
    let url = &database.url;
    let upstream = FakeUpstream::start();
    upstream.set_lists(
        &[("Agents".to_owned(), vec![agent_item(1), agent_item(2)]), ("Users".to_owned(), vec![user_item(1)])].into(),
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let args = ["jobs", "run", "lookup-refresh", "--tenant", "contoso"];
    let basic = |secret: &str| base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{secret}"));
    let mut checked = Vec::new();

    // A secret the token endpoint refuses.
    let wrong = "not-the-Secret-4b2d8e";
    let config = write_config(dir.path(), &upstream.config_toml("contoso", wrong, ""));
    let output = run_binary(url, &config, &args, "debug", &dir.path().join("wrong.log")).await;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "a refused secret fails the run: {text}");
    assert!(text.contains("invalid_client"), "the refusal is reported: {text}");
    checked.push((wrong.to_owned(), text));

    // A token endpoint that fails (retried, then given up).
    upstream.fail_token(Some(500));
    let config = write_config(dir.path(), &upstream.config_toml("contoso", CLIENT_SECRET, ""));
    let tokens_before = upstream.token_requests();
    let output = run_binary(url, &config, &args, "debug", &dir.path().join("down.log")).await;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "no token fails the run: {text}");
    assert_eq!(upstream.token_requests() - tokens_before, 2, "the token request was tried twice");
    checked.push((CLIENT_SECRET.to_owned(), text));

    // A run that signs in and reads every list, logging at debug level (whether the database
    // part succeeds is the other tests' business).
    upstream.fail_token(None);
    let output = run_binary(url, &config, &args, "debug", &dir.path().join("ok.log")).await;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        SETS.iter().all(|name| upstream.lists_served(&resource(name)) == 1),
        "the run with the right secret read every list: {text}"
    );
    assert!(text.contains("DEBUG"), "debug logs were written: {text}");
    for token in upstream.issued_tokens() {
        assert!(!text.contains(&token), "the access token `{token}` is in the log:\n{text}");
    }
    checked.push((CLIENT_SECRET.to_owned(), text));

    let errors: String = sql_errors(url).await;
    assert!(errors.contains("contoso"), "the failed runs recorded their errors: {errors}");
    for (secret, text) in &checked {
        for shown in [secret.clone(), basic(secret)] {
            assert!(!text.contains(&shown), "`{shown}` is in the binary's output:\n{text}");
            assert!(!errors.contains(&shown), "`{shown}` is in job_runs.error: {errors}");
        }
    }
}

/// Every error recorded in `job_runs`.
async fn sql_errors(url: &str) -> String {
    let rows = query_rows(url, "SELECT coalesce(string_agg(error, E'\\n' ORDER BY id), '') FROM job_runs").await;
    rows[0].get(0)
}
