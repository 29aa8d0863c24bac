//! Tenant isolation, end to end: a server signed in for `contoso` never shows a row of
//! `fabrikam`, whatever the entity set, the key, the filter, the count, the expansion or the
//! skiptoken; row-level security keeps the rows apart even when statements carry no tenant
//! predicate; the database guards every tenant table with a policy that the reading role cannot
//! bypass; and a tenant the database does not know gets nothing.
//!
//! Every answer is compared with SQL run as the superuser on the same database, after
//! `seed_other_tenant` gave the other tenant rows under the tenant's keys, under keys only it
//! uses, and related to the first rows of every set through every navigation property.

use crate::support::app::{client_with_token, skiptoken_key, spawn_with, token_for};
use crate::support::database::statement_stats_available;
use crate::support::demo::{
    DemoApp, OTHER_TENANT, TENANT, demo_database, error_code, fresh_demo_database, short, spawn_demo_app,
    spawn_demo_app_with,
};
use crate::support::tenants::{
    FIRST_ROWS, Key, MARKER, Seeded, Sql, first_rows, join, key_columns, key_filter, key_properties, key_text,
    marker_column, property_of, rows_of, same_key, seed_other_tenant, target_of, tenant_property,
};
use futures_util::StreamExt;
use odata_feed::db;
use odata_feed::http::ReadSettings;
use odata_feed::odata::model::{EntitySet, Model, NavigationProperty};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// The reading role of the migration `row_level_security`.
const READER: &str = "odata_feed_reader";
/// Rows of the first page compared with SQL.
const FIRST_PAGE: usize = 20;
/// Sets probed at once.
const PARALLEL_SETS: usize = 4;

/// A demo copy of its own in which the other tenant has rows of every kind (`seed_other_tenant`),
/// served for the tenant with `configure`d read settings.
async fn seeded_demo(configure: impl FnOnce(&mut ReadSettings)) -> (DemoApp, Sql, Seeded, Model) {
    let model = Model::load().expect("the model loads");
    let database = fresh_demo_database().await;
    let sql = Sql::connect(&database.url).await;
    let seeded = seed_other_tenant(&sql, &model).await;
    let demo = spawn_demo_app_with(database, configure).await;
    (demo, sql, seeded, model)
}

/// Checks that what was seeded can catch a leak through most navigation properties: the other
/// tenant has rows related to the tenant's first rows. (Keys of the other tenant's own and keys
/// both tenants use are checked per set by the probes, which fail when there are none.)
fn seeded_enough(seeded: &Seeded) -> Vec<String> {
    let baited = seeded.baits.iter().filter(|(_, n)| *n > 0).count();
    let missing: Vec<&str> = seeded.baits.iter().filter(|(_, n)| *n == 0).map(|(nav, _)| nav.as_str()).collect();
    eprintln!("bait rows: {:?}\nnone for {missing:?}", seeded.baits);
    if baited * 10 < seeded.baits.len() * 8 {
        return vec![format!(
            "only {baited} of {} navigations have bait rows; none for {missing:?}",
            seeded.baits.len()
        )];
    }
    Vec::new()
}

/// What one test asks of one server: the server, a client for each tenant, and the SQL side.
struct Probe<'a> {
    model: &'a Model,
    sql: &'a Sql,
    root: String,
    tenant: reqwest::Client,
    other: reqwest::Client,
    /// For each set, the keys of the other tenant's rows that the tenant does not use.
    foreign: BTreeMap<String, BTreeSet<Key>>,
}

/// A response's status and body.
struct Answer {
    status: StatusCode,
    body: String,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The body, cut to fit in a message.
    fn shown(&self) -> String {
        short(&self.body)
    }
}

impl<'a> Probe<'a> {
    async fn new(demo: &DemoApp, sql: &'a Sql, model: &'a Model) -> Probe<'a> {
        let mut foreign = BTreeMap::new();
        for set in model.entity_sets() {
            let keys = sql
                .keys(&format!(
                    "SELECT {} FROM {table} o WHERE {} AND NOT EXISTS (SELECT 1 FROM {table} t WHERE {} AND {}) \
                     ORDER BY {}",
                    key_text(set, "o"),
                    rows_of(set, "o", OTHER_TENANT),
                    rows_of(set, "t", TENANT),
                    same_key(set, "t", "o"),
                    key_columns(set, "o"),
                    table = set.table,
                ))
                .await;
            foreign.insert(set.name.clone(), keys.into_iter().collect());
        }
        Probe {
            model,
            sql,
            root: demo.root(),
            tenant: demo.app.client.clone(),
            other: client_with_token(&token_for(OTHER_TENANT)),
            foreign,
        }
    }

    /// GET an absolute URL, or a path under the service root.
    async fn get(&self, client: &reqwest::Client, path: &str, headers: &[(&str, &str)]) -> Answer {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}/{path}", self.root) };
        let mut request = client.get(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{} is not answered: {:?}", short(&url), e));
        let status = response.status();
        let body = response.text().await.unwrap_or_else(|e| panic!("{} has no body: {:?}", short(&url), e));
        Answer { status, body }
    }

    /// Every way `set` could show the other tenant's rows; a line for each one that did.
    async fn failures(&self, set: &EntitySet) -> Vec<String> {
        let mut failures = Vec::new();
        self.by_key(set, &mut failures).await;
        self.by_filter(set, &mut failures).await;
        self.counts_and_first_page(set, &mut failures).await;
        for navigation in &set.navigation {
            self.expansion(set, navigation, &mut failures).await;
        }
        self.foreign_skiptoken(set, &mut failures).await;
        condensed(failures).into_iter().map(|failure| format!("[{}] {failure}", set.name)).collect()
    }

    /// A few keys only the other tenant uses: the first and last in key order (the demo's own
    /// rows and the seeded ones).
    fn foreign_sample(&self, set: &EntitySet) -> Vec<Key> {
        let all = &self.foreign[&set.name];
        let mut sample: Vec<Key> = all.iter().take(3).chain(all.iter().rev().take(3)).cloned().collect();
        sample.sort();
        sample.dedup();
        sample
    }

    /// Keys both tenants use, with the tenant's value of the marker column.
    async fn shared_keys(&self, set: &EntitySet) -> Vec<(Key, Option<String>)> {
        let marker = marker_column(self.model, &set.table);
        let value = marker.as_deref().map_or("NULL::text".to_owned(), |c| format!("t.{c}::text"));
        let sql = format!(
            "SELECT {value}, {} FROM {table} t WHERE {} AND EXISTS (SELECT 1 FROM {table} o WHERE {} AND {}) \
             ORDER BY {} LIMIT 3",
            key_text(set, "t"),
            rows_of(set, "t", TENANT),
            rows_of(set, "o", OTHER_TENANT),
            same_key(set, "o", "t"),
            key_columns(set, "t"),
            table = set.table,
        );
        self.sql
            .rows(&sql)
            .await
            .iter()
            .map(|row| (Key((1..row.len()).map(|i| row.get::<_, String>(i)).collect()), row.get(0)))
            .collect()
    }

    /// (a) `Set(key)`: a key only the other tenant uses is not found; a key both use reads the
    /// tenant's row.
    async fn by_key(&self, set: &EntitySet, failures: &mut Vec<String>) {
        let name = &set.name;
        let sample = self.foreign_sample(set);
        if sample.is_empty() {
            failures.push(format!("{name}: {OTHER_TENANT} has no row under a key of its own, nothing to probe"));
        }
        for key in &sample {
            let path = format!("{name}{}", key.segment(set));
            let answer = self.get(&self.tenant, &path, &[]).await;
            if answer.status != StatusCode::NOT_FOUND {
                failures.push(format!(
                    "(a) {path}: a key only {OTHER_TENANT} uses answered {}: {}",
                    answer.status,
                    answer.shown()
                ));
            }
        }
        let shared = self.shared_keys(set).await;
        if shared.is_empty() {
            failures.push(format!("{name}: the tenants share no key, nothing to probe"));
        }
        let marker = marker_column(self.model, &set.table).and_then(|c| property_of(set, &c));
        for (key, value) in shared {
            let path = format!("{name}{}", key.segment(set));
            let answer = self.get(&self.tenant, &path, &[]).await;
            let Some(entity) = answer.json().filter(|_| answer.status == StatusCode::OK) else {
                failures.push(format!(
                    "(a) {path}: a key both tenants use answered {}: {}",
                    answer.status,
                    answer.shown()
                ));
                continue;
            };
            if Key::of(set, &entity).as_ref() != Ok(&key) {
                failures.push(format!("(a) {path}: another entity came back: {}", answer.shown()));
            }
            if let Some(marker) = marker
                && entity[&marker.name] != json!(value)
            {
                failures.push(format!(
                    "(a) {path}: `{}` is {}, {TENANT}'s row has {value:?}",
                    marker.name, entity[&marker.name]
                ));
            }
            self.never_foreign(set, &format!("(a) {path}"), &answer, &[&entity], failures);
        }
    }

    /// The checks every answer gets: no marker of the other tenant's rows anywhere, and the
    /// tenant's name wherever the tenant column is published.
    fn never_foreign(
        &self,
        set: &EntitySet,
        what: &str,
        answer: &Answer,
        entities: &[&Value],
        failures: &mut Vec<String>,
    ) {
        if answer.body.contains(MARKER) {
            failures.push(format!("{what}: a row of {OTHER_TENANT} came through: {}", answer.shown()));
        }
        if let Some(tenant) = tenant_property(set) {
            for entity in entities {
                if entity.get(&tenant.name).is_some_and(|t| *t != json!(TENANT)) {
                    failures.push(format!("{what}: `{}` is {} in {entity}", tenant.name, entity[&tenant.name]));
                }
            }
        }
    }

    /// (b) `$filter` on the key: the other tenant's keys select nothing; keys both use select
    /// the tenant's rows only.
    async fn by_filter(&self, set: &EntitySet, failures: &mut Vec<String>) {
        let name = &set.name;
        let sample = self.foreign_sample(set);
        if sample.is_empty() {
            return;
        }
        let filter = key_filter(set, &sample);
        let path = format!("{name}?$count=true&$filter={filter}");
        let answer = self.get(&self.tenant, &path, &[]).await;
        let empty = answer.json().is_some_and(|b| b["value"] == json!([]) && b["@odata.count"] == json!(0));
        if answer.status != StatusCode::OK || !empty {
            failures.push(format!("(b) {path}: expected no rows, got {}: {}", answer.status, answer.shown()));
        }
        let path = format!("{name}/$count?$filter={filter}");
        let answer = self.get(&self.tenant, &path, &[]).await;
        if answer.status != StatusCode::OK || answer.body != "0" {
            failures.push(format!("(b) {path}: expected 0, got {}: {}", answer.status, answer.shown()));
        }

        let shared: Vec<Key> = self.shared_keys(set).await.into_iter().map(|(key, _)| key).collect();
        if shared.is_empty() {
            return;
        }
        let keys: Vec<Key> = sample.iter().chain(&shared).cloned().collect();
        let path = format!("{name}?$filter={}", key_filter(set, &keys));
        let answer = self.get(&self.tenant, &path, &[]).await;
        let Some(body) = answer.json().filter(|_| answer.status == StatusCode::OK) else {
            failures.push(format!("(b) {path}: answered {}: {}", answer.status, answer.shown()));
            return;
        };
        let entities: Vec<&Value> = body["value"].as_array().map(|v| v.iter().collect()).unwrap_or_default();
        let served: Vec<Result<Key, String>> = entities.iter().map(|e| Key::of(set, e)).collect();
        let expected: Vec<Result<Key, String>> = shared.iter().cloned().map(Ok).collect();
        if served != expected {
            failures.push(format!("(b) {path}: expected {TENANT}'s rows {shared:?}, got {served:?}"));
        }
        self.never_foreign(set, &format!("(b) {path}"), &answer, &entities, failures);
    }

    /// (c) `$count` and `Set/$count` count the tenant's rows; the first page is the tenant's
    /// first rows.
    async fn counts_and_first_page(&self, set: &EntitySet, failures: &mut Vec<String>) {
        let name = &set.name;
        let own =
            self.sql.count(&format!("SELECT count(*) FROM {} t WHERE {}", set.table, rows_of(set, "t", TENANT))).await;
        let path = format!("{name}/$count");
        let answer = self.get(&self.tenant, &path, &[]).await;
        if answer.status != StatusCode::OK || answer.body != own.to_string() {
            failures.push(format!(
                "(c) {path}: {TENANT} has {own} rows, answered {}: {}",
                answer.status,
                answer.shown()
            ));
        }
        let path = format!("{name}?$top=1&$count=true");
        let answer = self.get(&self.tenant, &path, &[]).await;
        let count = answer.json().map(|b| b["@odata.count"].clone());
        if answer.status != StatusCode::OK || count != Some(json!(own)) {
            failures.push(format!(
                "(c) {path}: {TENANT} has {own} rows, answered {}: {}",
                answer.status,
                answer.shown()
            ));
        }

        let expected = self
            .sql
            .keys(&format!(
                "SELECT {} FROM {} t WHERE {} ORDER BY {} LIMIT {FIRST_PAGE}",
                key_text(set, "t"),
                set.table,
                rows_of(set, "t", TENANT),
                key_columns(set, "t")
            ))
            .await;
        let path = format!("{name}?$top={FIRST_PAGE}");
        let answer = self.get(&self.tenant, &path, &[("Prefer", "odata.maxpagesize=100")]).await;
        let Some(body) = answer.json().filter(|_| answer.status == StatusCode::OK) else {
            failures.push(format!("(c) {path}: answered {}: {}", answer.status, answer.shown()));
            return;
        };
        let entities: Vec<&Value> = body["value"].as_array().map(|v| v.iter().collect()).unwrap_or_default();
        let served: Vec<Result<Key, String>> = entities.iter().map(|e| Key::of(set, e)).collect();
        if served != expected.iter().cloned().map(Ok).collect::<Vec<_>>() {
            failures.push(format!("(c) {path}: expected {TENANT}'s first keys {expected:?}, got {served:?}"));
        }
        self.never_foreign(set, &format!("(c) {path}"), &answer, &entities, failures);
    }

    /// (d) `$expand` of a navigation property over the tenant's first rows reaches the tenant's
    /// related rows: as many as SQL finds, none of them the other tenant's.
    async fn expansion(&self, set: &EntitySet, navigation: &NavigationProperty, failures: &mut Vec<String>) {
        let target = target_of(self.model, navigation);
        let mut select: Vec<&str> = key_properties(target).iter().map(|p| p.name.as_str()).collect();
        let marker = marker_column(self.model, &target.table).and_then(|c| property_of(target, &c));
        select.extend(marker.iter().chain(tenant_property(target).iter()).map(|p| p.name.as_str()));
        let path = format!("{}?$expand={}($select={})&$top={FIRST_ROWS}", set.name, navigation.name, select.join(","));
        let expected = self
            .sql
            .count(&format!(
                "SELECT count(*) FROM {} s JOIN {} r ON {} AND {}",
                first_rows(set, TENANT, FIRST_ROWS),
                target.table,
                rows_of(target, "r", TENANT),
                join(self.model, set, navigation, "s", "r")
            ))
            .await;
        let answer = self.get(&self.tenant, &path, &[]).await;
        let Some(body) = answer.json().filter(|_| answer.status == StatusCode::OK) else {
            failures.push(format!("(d) {path}: answered {}: {}", answer.status, answer.shown()));
            return;
        };
        let mut related: Vec<&Value> = Vec::new();
        for entity in body["value"].as_array().into_iter().flatten() {
            match &entity[&navigation.name] {
                Value::Array(items) if navigation.collection => related.extend(items),
                item @ Value::Object(_) if !navigation.collection => related.push(item),
                Value::Null if !navigation.collection => {}
                other => failures.push(format!("(d) {path}: `{}` is {other}", navigation.name)),
            }
        }
        let foreign = &self.foreign[&target.name];
        for entity in &related {
            match Key::of(target, entity) {
                Ok(key) if foreign.contains(&key) => {
                    failures.push(format!("(d) {path}: {} {key:?} belongs to {OTHER_TENANT} only", target.name));
                }
                Ok(_) => {}
                Err(problem) => failures.push(format!("(d) {path}: {problem}")),
            }
        }
        if related.len() as i64 != expected {
            failures.push(format!("(d) {path}: {} related entities, SQL finds {expected} of {TENANT}", related.len()));
        }
        self.never_foreign(target, &format!("(d) {path}"), &answer, &related, failures);
    }

    /// (e) A next link served to the other tenant is refused to the tenant (400), while the
    /// other tenant can follow it and the tenant can follow its own.
    async fn foreign_skiptoken(&self, set: &EntitySet, failures: &mut Vec<String>) {
        let keys: Vec<&str> = key_properties(set).iter().map(|p| p.name.as_str()).collect();
        let path = format!("{}?$select={}", set.name, keys.join(","));
        let small = [("Prefer", "odata.maxpagesize=2")];
        let mut links = Vec::new();
        for (client, whose) in [(&self.other, OTHER_TENANT), (&self.tenant, TENANT)] {
            let answer = self.get(client, &path, &small).await;
            match answer.json().as_ref().and_then(|b| b["@odata.nextLink"].as_str()) {
                Some(link) if answer.status == StatusCode::OK => links.push(link.to_owned()),
                _ => {
                    failures.push(format!(
                        "(e) {path} for {whose}: no next link, {}: {}",
                        answer.status,
                        answer.shown()
                    ));
                    return;
                }
            }
        }
        let (foreign, own) = (&links[0], &links[1]);
        let answer = self.get(&self.tenant, foreign, &small).await;
        let rows = answer.json().is_some_and(|b| b.get("value").is_some());
        if answer.status != StatusCode::BAD_REQUEST || rows {
            failures.push(format!(
                "(e) {}: {OTHER_TENANT}'s next link followed by {TENANT} answered {}: {}",
                short(foreign),
                answer.status,
                answer.shown()
            ));
        }
        if answer.body.contains(MARKER) {
            failures.push(format!("(e) {}: a row of {OTHER_TENANT} came through: {}", short(foreign), answer.shown()));
        }
        for (client, link, whose) in [(&self.other, foreign, OTHER_TENANT), (&self.tenant, own, TENANT)] {
            let answer = self.get(client, link, &small).await;
            if answer.status != StatusCode::OK {
                failures.push(format!(
                    "(e) {}: {whose} cannot follow its own next link: {}",
                    short(link),
                    answer.shown()
                ));
            }
        }
    }
}

/// At most `PER_REQUEST` lines for each request (the text before the first `: `), and how many
/// more there were.
fn condensed(failures: Vec<String>) -> Vec<String> {
    const PER_REQUEST: usize = 3;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    for failure in failures {
        let request = failure.split(": ").next().unwrap_or_default().to_owned();
        let n = seen.entry(request).or_default();
        *n += 1;
        if *n <= PER_REQUEST {
            kept.push(failure);
        }
    }
    for (request, n) in seen.into_iter().filter(|(_, n)| *n > PER_REQUEST) {
        kept.push(format!("{request}: ... and {} more", n - PER_REQUEST));
    }
    kept
}

/// Runs every probe on every entity set; a line for each leak or wrong answer.
async fn isolation_failures(probe: &Probe<'_>) -> Vec<String> {
    let sets = probe.model.entity_sets();
    futures_util::stream::iter(sets)
        .map(|set| probe.failures(set))
        .buffer_unordered(PARALLEL_SETS)
        .flat_map(futures_util::stream::iter)
        .collect::<Vec<_>>()
        .await
}

#[tokio::test]
async fn no_entity_set_shows_another_tenants_rows_by_key_filter_count_expansion_or_skiptoken() {
    let (demo, sql, seeded, model) = seeded_demo(|_| {}).await;
    let mut failures = seeded_enough(&seeded);
    let probe = Probe::new(&demo, &sql, &model).await;
    failures.extend(isolation_failures(&probe).await);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn row_level_security_alone_keeps_another_tenants_rows_out_of_every_entity_set() {
    let (demo, sql, seeded, model) = seeded_demo(|settings| settings.tenant_predicate = false).await;
    let mut failures = seeded_enough(&seeded);
    let counted = statement_stats_available(&demo.db_url).await;
    if counted {
        sql.rows(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
        )
        .await;
    } else {
        eprintln!("pg_stat_statements is not available: the statements' text is not checked");
    }

    // The opposite, so that equal counts mean something: without row-level security (as the
    // superuser) the server's statements would count the other tenant's rows too.
    let (all, own): (i64, i64) = {
        let row = &sql.rows(&format!(
            "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM conversations WHERE tenant_id = '{TENANT}')"
        ))
        .await[0];
        (row.get(0), row.get(1))
    };
    assert!(all > own && own > 0, "without row-level security conversations count {all}, {own} of {TENANT}");
    for set in model.entity_sets() {
        let mut unscoped = format!("SELECT count(*) FROM {} t", set.table);
        if let Some(filter) = &set.row_filter {
            unscoped.push_str(&format!(" WHERE t.{} = '{}'", filter.column, filter.value));
        }
        let own = format!("SELECT count(*) FROM {} t WHERE {}", set.table, rows_of(set, "t", TENANT));
        let (unscoped, own) = (sql.count(&unscoped).await, sql.count(&own).await);
        if unscoped <= own {
            failures.push(format!(
                "{}: unscoped, the set has {unscoped} rows, {own} of {TENANT}: nothing to keep out",
                set.name
            ));
        }
    }

    let probe = Probe::new(&demo, &sql, &model).await;
    failures.extend(isolation_failures(&probe).await);

    // The server's statements (those run as the reading role) carried no tenant predicate.
    if counted {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let statements: Vec<String> = sql
            .rows(&format!(
                "SELECT query FROM pg_stat_statements WHERE userid = '{READER}'::regrole \
                 AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ))
            .await
            .iter()
            .map(|row| row.get(0))
            .collect();
        let reads = statements.iter().filter(|q| q.contains("FROM conversations")).count();
        if reads == 0 {
            failures.push(format!("no statement of the server read conversations: {statements:#?}"));
        }
        for statement in statements.iter().filter(|q| q.contains("tenant_id =")) {
            failures.push(format!("a statement names the tenant although the predicate is off: {statement}"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn the_probes_catch_a_server_that_reads_past_row_level_security() {
    // The control for the two tests above: the same probes against a server that reads as the
    // tables' owner (not subject to the policies) and without the tenant predicate.
    let model = Model::load().expect("the model loads");
    let database = fresh_demo_database().await;
    let sql = Sql::connect(&database.url).await;
    let seeded = seed_other_tenant(&sql, &model).await;
    let owner = db::pool::connect(&database.url, 4).await.expect("the database answers");
    let mut settings = ReadSettings::new(skiptoken_key(&database.url).await);
    settings.tenant_predicate = false;
    let demo = DemoApp { app: spawn_with(owner, settings), db_url: database.url.clone() };
    let probe = Probe::new(&demo, &sql, &model).await;
    let failures = isolation_failures(&probe).await;

    let mut missed = Vec::new();
    for set in model.entity_sets() {
        for probe in ["(a)", "(b)", "(c)"] {
            if !failures.iter().any(|f| f.starts_with(&format!("[{}] {probe} ", set.name))) {
                missed.push(format!("{} {probe}", set.name));
            }
        }
    }
    for (navigation, baits) in &seeded.baits {
        let (set, name) = navigation.split_once('/').expect("Set/Navigation");
        let expansion = format!("[{set}] (d) {set}?$expand={name}(");
        if *baits > 0 && !failures.iter().any(|f| f.starts_with(&expansion)) {
            missed.push(format!("{navigation} (d)"));
        }
    }
    assert!(missed.is_empty(), "the probes missed the other tenant's rows in: {missed:?}");
}

/// A statement as the reading role that must fail with `permission denied`-like SQLSTATE 42501.
async fn refused(client: &tokio_postgres::Client, sql: &str) -> Result<(), String> {
    match client.batch_execute(sql).await {
        Ok(()) => Err(format!("`{sql}` succeeded as {READER}")),
        Err(error) if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Ok(()),
        Err(error) => Err(format!("`{sql}` failed otherwise: {error:?}")),
    }
}

#[tokio::test]
async fn every_table_with_a_tenant_column_has_row_level_security_and_a_tenant_policy() {
    let database = demo_database().await;
    let sql = Sql::connect(&database.url).await;
    // Each table of the public schema with a tenant column (and `tenants`): whether row-level
    // security is on, and each policy that applies to the reader's SELECTs with its USING.
    let rows = sql
        .rows(&format!(
            "SELECT c.relname::text, c.relrowsecurity, p.polname::text, p.polpermissive, \
                    pg_get_expr(p.polqual, p.polrelid) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' \
             LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polcmd IN ('*', 'r') \
                  AND (0::oid = ANY (p.polroles) OR '{READER}'::regrole = ANY (p.polroles)) \
             WHERE c.relkind IN ('r', 'p') AND (c.relname = 'tenants' OR EXISTS (SELECT FROM pg_attribute a \
                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)) \
             ORDER BY 1, 3"
        ))
        .await;
    let mut failures = Vec::new();
    let mut guarded = BTreeSet::new();
    for row in &rows {
        let (table, secured): (String, bool) = (row.get(0), row.get(1));
        let (policy, permissive, using): (Option<String>, Option<bool>, Option<String>) =
            (row.get(2), row.get(3), row.get(4));
        if !secured {
            failures.push(format!("{table}: row-level security is off"));
        }
        let Some(policy) = policy else {
            failures.push(format!("{table}: no policy admits the reader's rows (so none are, or RLS is off)"));
            continue;
        };
        let column = if table == "tenants" { "id" } else { "tenant_id" };
        let using = using.unwrap_or_default();
        // Permissive policies are OR-ed: each one must admit only the request's tenant.
        if permissive == Some(true) && !(using.contains("current_setting('app.tenant_id'") && using.contains(column)) {
            failures.push(format!("{table}: policy {policy} admits rows by `{using}`"));
        }
        if secured {
            guarded.insert(table);
        }
    }
    assert!(guarded.contains("tenants"), "`tenants` is guarded: {guarded:?}");
    let model = Model::load().expect("the model loads");
    for table in model.tables() {
        if !guarded.contains(&table.name) && !failures.iter().any(|f| f.starts_with(&format!("{}:", table.name))) {
            failures.push(format!("{}: read by the feed but not among the guarded tables {guarded:?}", table.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_reading_role_cannot_bypass_row_level_security_or_read_the_secrets() {
    let database = demo_database().await;
    let sql = Sql::connect(&database.url).await;
    let role = sql
        .rows(&format!(
            "SELECT r.rolsuper, r.rolbypassrls, \
                    (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid), \
                    (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid), \
                    (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') \
                     AND has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')), \
                    has_table_privilege(r.oid, 'feed_secrets', 'SELECT') \
             FROM pg_roles r WHERE r.rolname = '{READER}'"
        ))
        .await;
    assert_eq!(role.len(), 1, "the role {READER} exists");
    let role = &role[0];
    let (superuser, bypass, owned, member_of, writable, secrets): (bool, bool, i64, i64, i64, bool) =
        (role.get(0), role.get(1), role.get(2), role.get(3), role.get(4), role.get(5));
    assert!(!superuser, "{READER} is a superuser");
    assert!(!bypass, "{READER} has BYPASSRLS");
    assert_eq!(owned, 0, "{READER} owns relations (an owner is not subject to its tables' policies)");
    assert_eq!(member_of, 0, "{READER} is a member of other roles");
    assert_eq!(writable, 0, "{READER} may change tables");
    assert!(!secrets, "{READER} may read feed_secrets");

    // As the reader: the secrets, switching row-level security off, or switching it off for a
    // table are all refused.
    let reader = Sql::connect(&database.url).await;
    let client = reader.client();
    client.batch_execute(&format!("SET ROLE {READER}")).await.expect("the superuser becomes the reader");
    let mut failures = Vec::new();
    for statement in [
        "SELECT * FROM feed_secrets",
        "ALTER TABLE conversations DISABLE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON conversations",
        "SET row_security = off; SELECT count(*) FROM conversations",
    ] {
        if let Err(problem) = refused(client, statement).await {
            failures.push(problem);
        }
        client.batch_execute("RESET row_security").await.expect("row_security resets");
    }

    // The server's own pool reads as the reader, and sees nothing outside a tenant's transaction.
    let pool = db::pool::connect_reader(&database.url, 1, Duration::from_secs(10)).await.expect("the reader pool");
    let pooled = pool.get().await.expect("a pooled connection");
    let row = pooled.query_one("SELECT current_user::text, (SELECT count(*) FROM conversations)", &[]).await.unwrap();
    let (user, visible): (String, i64) = (row.get(0), row.get(1));
    if user != READER || visible != 0 {
        failures.push(format!("the server's pool reads as `{user}` and sees {visible} conversations unscoped"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_reader_sees_a_tenants_rows_only_inside_the_transaction_that_names_it() {
    let database = demo_database().await;
    let sql = Sql::connect(&database.url).await;
    let count_of = |tenant: &str| format!("SELECT count(*) FROM conversations WHERE tenant_id = '{tenant}'");
    let (own, other, all) = (
        sql.count(&count_of(TENANT)).await,
        sql.count(&count_of(OTHER_TENANT)).await,
        sql.count("SELECT count(*) FROM conversations").await,
    );
    assert!(own > 0 && other > 0 && all == own + other, "{own} + {other} = {all}");

    let reader = Sql::connect(&database.url).await;
    let client = reader.client();
    client.batch_execute(&format!("SET ROLE {READER}")).await.expect("the superuser becomes the reader");
    let visible =
        || async { client.query_one("SELECT count(*) FROM conversations", &[]).await.unwrap().get::<_, i64>(0) };
    let setting = || async {
        client
            .query_one("SELECT current_setting('app.tenant_id', true)", &[])
            .await
            .unwrap()
            .get::<_, Option<String>>(0)
    };

    assert_eq!(setting().await, None, "a new session names no tenant");
    assert_eq!(visible().await, 0, "without app.tenant_id the reader sees no conversation");

    client.batch_execute("BEGIN READ ONLY").await.unwrap();
    client.query_one("SELECT set_config('app.tenant_id', $1, true)", &[&TENANT]).await.unwrap();
    assert_eq!(visible().await, own, "inside {TENANT}'s transaction the reader sees {TENANT}'s conversations");
    let tenants: Vec<String> =
        client.query("SELECT id FROM tenants ORDER BY id", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(tenants, [TENANT], "and only its own tenant row");
    client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(setting().await.as_deref().unwrap_or_default(), "", "the setting ends with the transaction");
    assert_eq!(visible().await, 0, "after COMMIT the reader sees no conversation again");

    client.batch_execute("BEGIN READ ONLY").await.unwrap();
    client.query_one("SELECT set_config('app.tenant_id', $1, true)", &[&OTHER_TENANT]).await.unwrap();
    assert_eq!(visible().await, other, "inside {OTHER_TENANT}'s transaction the reader sees only its conversations");
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(visible().await, 0, "after ROLLBACK the reader sees no conversation again");
}

#[tokio::test]
async fn a_token_for_a_tenant_the_database_does_not_know_is_refused_without_rows() {
    let demo = spawn_demo_app().await;
    let model = Model::load().expect("the model loads");
    let call = demo
        .sql_strings(&format!(
            "SELECT id FROM conversations WHERE tenant_id = '{TENANT}' AND media = 'Voice' ORDER BY id LIMIT 1"
        ))
        .await
        .remove(0);
    let nobody = client_with_token(&token_for("nobody"));
    let mut paths: Vec<String> = [
        "Calls".to_owned(),
        "Calls/$count".to_owned(),
        "Calls?$top=5&$count=true&$expand=QueueSegments".to_owned(),
        format!("Calls('{call}')"),
        format!("Calls('{call}')/QueueSegments"),
    ]
    .into();
    paths.extend(model.entity_sets().iter().map(|set| format!("{}?$top=1", set.name)));
    let mut failures = Vec::new();
    for path in &paths {
        let response = nobody.get(demo.url(path)).send().await.expect("the request is answered");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status != StatusCode::FORBIDDEN || error_code(&body) != "UnknownTenant" {
            failures.push(format!("{path}: {status} {}", short(&text)));
        }
        if body.get("value").is_some() || text.contains(&call) {
            failures.push(format!("{path}: rows came back: {}", short(&text)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
