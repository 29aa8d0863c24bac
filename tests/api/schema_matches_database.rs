//! The migrated database and the model in schema/ agree column by column, and the storage
//! rules hold: tenant_id leads every key, unique index and foreign key, and every time anchor
//! is indexed.

use crate::support::database::{fresh_database, query_rows};
use odata_feed::odata::model::{Model, Retention};
use std::collections::{BTreeMap, BTreeSet};

/// Tables that exist for the feed's own bookkeeping rather than for an entity set.
/// Tables of the service itself rather than of the feed: not in the model.
const BOOKKEEPING_TABLES: [&str; 5] =
    ["__diesel_schema_migrations", "feed_secrets", "tenants", "job_runs", "lookup_sources"];

#[tokio::test]
async fn every_model_table_exists_with_the_same_columns_types_and_nullability() {
    let db = fresh_database().await;
    let rows = query_rows(
        &db.url,
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .await;
    let mut database: BTreeMap<String, BTreeSet<(String, String, bool)>> = BTreeMap::new();
    for row in rows {
        let (table, column, ty, not_null): (String, String, String, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        database.entry(table).or_default().insert((column, ty, !not_null));
    }
    let model = Model::load().expect("model loads");
    let mut differences = Vec::new();
    for table in model.tables() {
        let expected: BTreeSet<(String, String, bool)> =
            table.columns.iter().map(|c| (c.name.clone(), c.sql_type.to_string(), c.nullable)).collect();
        let Some(actual) = database.remove(&table.name) else {
            differences.push(format!("table {} is missing from the database", table.name));
            continue;
        };
        for column in expected.difference(&actual) {
            differences.push(format!("{}: model has {column:?}, database differs or lacks it", table.name));
        }
        for column in actual.difference(&expected) {
            differences.push(format!("{}: database has {column:?}, model differs or lacks it", table.name));
        }
    }
    for table in database.keys().filter(|t| !BOOKKEEPING_TABLES.contains(&t.as_str())) {
        differences.push(format!("table {table} exists in the database but not in the model"));
    }
    assert!(differences.is_empty(), "schema/ and the migrations disagree:\n{}", differences.join("\n"));
}

#[tokio::test]
async fn tenant_id_leads_every_primary_key_unique_index_and_foreign_key() {
    let db = fresh_database().await;
    let indexes = query_rows(
        &db.url,
        "SELECT i.indexrelid::regclass::text, c.relname::text, a.attname::text \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
         WHERE n.nspname = 'public' AND c.relname NOT IN ('tenants', 'feed_secrets', '__diesel_schema_migrations', 'job_runs')",
    )
    .await;
    let foreign_keys = query_rows(
        &db.url,
        "SELECT k.conname::text, c.relname::text, a.attname::text \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
         WHERE k.contype = 'f'",
    )
    .await;
    assert!(indexes.len() > 26, "expected the keys and time-anchor indexes, found {}", indexes.len());
    assert!(foreign_keys.len() >= 26, "expected a tenant foreign key per table, found {}", foreign_keys.len());
    let offenders: Vec<String> = indexes
        .iter()
        .chain(foreign_keys.iter())
        .filter(|row| row.get::<_, String>(2) != "tenant_id")
        .map(|row| {
            format!(
                "{} on {} starts with {}",
                row.get::<_, String>(0),
                row.get::<_, String>(1),
                row.get::<_, String>(2)
            )
        })
        .collect();
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[tokio::test]
async fn every_time_anchor_has_an_index_after_the_tenant() {
    let db = fresh_database().await;
    let rows = query_rows(
        &db.url,
        "SELECT c.relname::text, a.attname::text \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[1] \
         WHERE i.indnatts >= 2",
    )
    .await;
    let indexed: BTreeSet<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let model = Model::load().expect("model loads");
    let missing: Vec<String> = model
        .entity_sets()
        .iter()
        .filter_map(|set| match &set.retention {
            Retention::Anchor { column } if !indexed.contains(&(set.table.clone(), column.clone())) => {
                Some(format!("{} ({}.{column})", set.name, set.table))
            }
            _ => None,
        })
        .collect();
    assert!(missing.is_empty(), "time anchors without a (tenant_id, anchor) index: {missing:?}");
}
