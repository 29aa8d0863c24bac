//! The demo data set, loaded into a real database, is consistent: every reference the model
//! declares resolves, every value is in its documented list, every table has rows, and the
//! tenants differ in time zone and retention. The checks are derived from the model, so a new
//! relationship or value list is checked without touching this file.

use crate::support::database::{fresh_database, query_rows};
use odata_feed::odata::model::{EntitySet, Model};
use std::collections::BTreeSet;

/// A small but complete data set: every kind of row appears at this scale.
const SCALE: u32 = 3_000;
const SEED: u64 = 7;

fn row_filter(set: &EntitySet, alias: &str) -> String {
    match &set.row_filter {
        Some(f) => format!("{alias}.{} = '{}'", f.column, f.value),
        None => "TRUE".into(),
    }
}

#[tokio::test]
async fn the_demo_data_is_consistent_with_the_model() {
    let db = fresh_database().await;
    let pool = odata_feed::db::pool::connect(&db.url, 2).await.expect("pool");
    odata_feed::demo::load_once(&pool, SCALE, SEED).await.expect("demo data loads");
    let model = Model::load().expect("model");
    let mut problems = Vec::new();

    for set in model.entity_sets() {
        // References: to-one navigations that start from a foreign key (not from the set's own key,
        // which marks an optional reverse link such as Users -> Agent).
        for nav in set.navigation.iter().filter(|n| !n.collection) {
            let locals: Vec<&str> = nav.on.iter().map(|(l, _)| l.as_str()).collect();
            if locals.iter().copied().collect::<BTreeSet<_>>() == set.key.iter().map(String::as_str).collect() {
                continue;
            }
            let target = model.entity_set(&nav.target).expect("target");
            let join: Vec<String> = nav
                .on
                .iter()
                .map(|(l, r)| {
                    format!(
                        "t.{} = s.{}",
                        target.property(r).expect("r").column(),
                        set.property(l).expect("l").column()
                    )
                })
                .collect();
            let not_null: Vec<String> =
                locals.iter().map(|l| format!("s.{} IS NOT NULL", set.property(l).expect("l").column())).collect();
            let sql = format!(
                "SELECT count(*) FROM {} s WHERE {} AND {} AND NOT EXISTS \
                 (SELECT 1 FROM {} t WHERE t.tenant_id = s.tenant_id AND {} AND {})",
                set.table,
                row_filter(set, "s"),
                not_null.join(" AND "),
                target.table,
                join.join(" AND "),
                row_filter(target, "t"),
            );
            let dangling: i64 = query_rows(&db.url, &sql).await[0].get(0);
            if dangling > 0 {
                problems.push(format!("{}.{}: {dangling} rows point at no {}", set.name, nav.name, target.name));
            }
        }
        // Value lists.
        for property in set.properties.iter().filter(|p| !p.allowed_values.is_empty() && !p.is_local_time()) {
            let allowed: BTreeSet<&str> = property.allowed_values.iter().map(|v| v.value.as_str()).collect();
            let sql = format!(
                "SELECT DISTINCT s.{col}::text FROM {} s WHERE {} AND s.{col} IS NOT NULL",
                set.table,
                row_filter(set, "s"),
                col = property.column()
            );
            for row in query_rows(&db.url, &sql).await {
                let value: String = row.get(0);
                if !allowed.contains(value.as_str()) {
                    problems.push(format!("{}.{} has `{value}`, not in {allowed:?}", set.name, property.name));
                }
            }
        }
        // Every set has rows in the main tenant.
        let sql =
            format!("SELECT count(*) FROM {} s WHERE s.tenant_id = 'contoso' AND {}", set.table, row_filter(set, "s"));
        let rows: i64 = query_rows(&db.url, &sql).await[0].get(0);
        if rows == 0 {
            problems.push(format!("{} has no rows for the main tenant", set.name));
        }
    }
    assert!(problems.is_empty(), "demo data problems:\n{}", problems.join("\n"));
}

#[tokio::test]
async fn the_demo_data_has_two_tenants_with_their_own_zone_and_retention_and_agents_are_users() {
    let db = fresh_database().await;
    let pool = odata_feed::db::pool::connect(&db.url, 2).await.expect("pool");
    odata_feed::demo::load_once(&pool, SCALE, SEED).await.expect("demo data loads");

    let tenants = query_rows(&db.url, "SELECT id::text, time_zone, retention_days FROM tenants ORDER BY id").await;
    assert!(tenants.len() >= 2);
    let zones: BTreeSet<String> = tenants.iter().map(|r| r.get(1)).collect();
    let retentions: BTreeSet<i32> = tenants.iter().map(|r| r.get(2)).collect();
    assert_eq!(zones.len(), tenants.len(), "each tenant has its own time zone");
    assert_eq!(retentions.len(), tenants.len(), "each tenant has its own retention");

    let conversations: i64 =
        query_rows(&db.url, "SELECT count(*) FROM conversations WHERE tenant_id = 'contoso'").await[0].get(0);
    assert_eq!(conversations, i64::from(SCALE), "the main tenant has exactly `scale` conversations");

    let agents_not_users: i64 = query_rows(
        &db.url,
        "SELECT count(*) FROM agents a WHERE NOT EXISTS \
         (SELECT 1 FROM users u WHERE u.tenant_id = a.tenant_id AND u.id = a.id AND u.user_type = 'Agent')",
    )
    .await[0]
        .get(0);
    assert_eq!(agents_not_users, 0, "every agent is a user of type Agent");

    let bad_durations: i64 = query_rows(
        &db.url,
        "SELECT count(*) FROM conversations WHERE ended_at_utc IS NOT NULL AND \
         (ended_at_utc < started_at_utc OR abs(duration_seconds - extract(epoch FROM ended_at_utc - started_at_utc)) > 1)",
    )
    .await[0]
        .get(0);
    assert_eq!(bad_durations, 0, "conversation durations match their start and end");

    // Loading again is a no-op: the data set is reused.
    odata_feed::demo::load_once(&pool, SCALE, SEED).await.expect("second call");
    let again: i64 =
        query_rows(&db.url, "SELECT count(*) FROM conversations WHERE tenant_id = 'contoso'").await[0].get(0);
    assert_eq!(again, conversations);
}
