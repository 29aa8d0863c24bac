//! The lookup refresh: for each tenant with a source, the current objects of every lookup set
//! (from its upstream API, or from the local source table `lookup_sources`) are reconciled
//! with the published snapshot, in one transaction per tenant:
//!
//! - an object that is new is inserted;
//! - an object whose attributes changed is updated in place;
//! - an object that vanished from the source gets `deletedAt` = the run's time (it is never
//!   deleted: reports keep naming it);
//! - an object that comes back gets `deletedAt` cleared again (and its attributes updated).
//!
//! Every list is fetched before the transaction starts, so a failing upstream, like a crash
//! in the middle, leaves the previous snapshot entirely in place.

use super::config::Source;
use super::{Counts, Jobs};
use crate::odata::model::{EntitySet, SetKind, Source as PropertySource, TENANT_COLUMN};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tokio_postgres::types::ToSql;

pub use crate::odata::model::DELETED_COLUMN;

/// The objects of one tenant, per lookup set, keyed by property name.
type Objects = BTreeMap<String, Vec<Map<String, Value>>>;

/// Refreshes one tenant. `Ok(None)` when the tenant has no source configured.
pub async fn refresh_tenant(jobs: &Jobs, tenant: &str, now: DateTime<Utc>) -> anyhow::Result<Option<Counts>> {
    let sets: Vec<&EntitySet> = jobs.model.entity_sets().iter().filter(|s| s.kind == SetKind::Lookup).collect();
    let objects = match jobs.config.source(tenant) {
        Source::None => return Ok(None),
        Source::Upstream(config) => {
            let upstream = jobs.upstream(config)?;
            let mut objects = Objects::new();
            for set in &sets {
                let items =
                    upstream.list(&set.name).await.with_context(|| format!("{}: the upstream list", set.name))?;
                objects.insert(set.name.clone(), items);
            }
            objects
        }
        Source::Local => local_objects(jobs, tenant).await?,
    };
    let mut client = jobs.pool.get().await.context("no database connection for the refresh")?;
    let tx = client.transaction().await?;
    let mut counts = Counts::default();
    for set in &sets {
        let rows = staged_rows(set, tenant, objects.get(&set.name).map(Vec::as_slice).unwrap_or_default())?;
        counts
            .add(&reconcile(&tx, set, tenant, &rows, now).await.with_context(|| format!("{}: reconciling", set.name))?);
    }
    tx.commit().await.context("the refresh did not commit")?;
    Ok(Some(counts))
}

/// The local source's objects of a tenant, with their ids.
async fn local_objects(jobs: &Jobs, tenant: &str) -> anyhow::Result<Objects> {
    let client = jobs.pool.get().await.context("no database connection for the refresh")?;
    let rows = client
        .query(
            "SELECT entity_set, id, attributes FROM lookup_sources WHERE tenant_id = $1 ORDER BY entity_set, id",
            &[&tenant],
        )
        .await?;
    let mut objects = Objects::new();
    for row in rows {
        let (set, id, attributes): (String, String, Value) = (row.get(0), row.get(1), row.get(2));
        let mut item = match attributes {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        item.insert("id".to_owned(), Value::String(id));
        objects.entry(set).or_default().push(item);
    }
    Ok(objects)
}

/// The objects as rows of the set's table (JSON objects keyed by column, the tenant filled
/// in, `deletedAt` left out), one per key: a key listed twice keeps its last object.
fn staged_rows(set: &EntitySet, tenant: &str, items: &[Map<String, Value>]) -> anyhow::Result<Value> {
    let mut rows: BTreeMap<Vec<String>, Map<String, Value>> = BTreeMap::new();
    for item in items {
        let mut row = Map::new();
        row.insert(TENANT_COLUMN.to_owned(), Value::String(tenant.to_owned()));
        for property in &set.properties {
            let PropertySource::Column(column) = &property.source else { continue };
            if column == DELETED_COLUMN || column == TENANT_COLUMN {
                continue;
            }
            if let Some(value) = item.get(&property.name) {
                row.insert(column.clone(), value.clone());
            }
        }
        let key: Vec<String> = set
            .key_properties()
            .map(|p| row.get(p.column()).filter(|v| !v.is_null()).map(|v| v.to_string()))
            .collect::<Option<_>>()
            .with_context(|| format!("{}: an object without its key", set.name))?;
        if rows.insert(key.clone(), row).is_some() {
            tracing::warn!(set = %set.name, key = ?key, "the source lists an object twice; the last one is kept");
        }
    }
    Ok(Value::Array(rows.into_values().map(Value::Object).collect()))
}

/// Reconciles one set's table of one tenant with `rows`; returns what changed.
async fn reconcile(
    tx: &tokio_postgres::Transaction<'_>,
    set: &EntitySet,
    tenant: &str,
    rows: &Value,
    now: DateTime<Utc>,
) -> anyhow::Result<Counts> {
    let table = &set.table;
    let staged = format!("staged_{table}");
    let keys: Vec<&str> = set.key_properties().map(|p| p.column()).collect();
    let attributes: Vec<&str> = set
        .properties
        .iter()
        .filter_map(|p| match &p.source {
            PropertySource::Column(c) if c != DELETED_COLUMN && !keys.contains(&c.as_str()) => Some(c.as_str()),
            _ => None,
        })
        .collect();
    let same_key = keys.iter().map(|k| format!("a.{k} = s.{k}")).collect::<Vec<_>>().join(" AND ");
    let list =
        |prefix: &str, columns: &[&str]| columns.iter().map(|c| format!("{prefix}{c}")).collect::<Vec<_>>().join(", ");
    tx.batch_execute(&format!("CREATE TEMP TABLE {staged} (LIKE {table}) ON COMMIT DROP")).await?;
    let load = format!("INSERT INTO {staged} SELECT * FROM jsonb_populate_recordset(NULL::{staged}, $1::jsonb)");
    let objects: [&(dyn ToSql + Sync); 1] = [rows];
    tx.execute(&load, &objects).await?;
    // An index and statistics, so the planner joins by key rather than scanning the staged
    // rows once per row of a large table.
    tx.batch_execute(&format!("CREATE INDEX ON {staged} ({}); ANALYZE {staged}", keys.join(", "))).await?;
    let restored = tx
        .execute(
            &format!(
                "UPDATE {table} a SET {DELETED_COLUMN} = NULL FROM {staged} s \
                 WHERE a.{TENANT_COLUMN} = $1 AND {same_key} AND a.{DELETED_COLUMN} IS NOT NULL"
            ),
            &[&tenant],
        )
        .await?;
    let updated = match attributes.is_empty() {
        true => 0,
        false => {
            tx.execute(
                &format!(
                    "UPDATE {table} a SET ({}) = ROW({}) FROM {staged} s WHERE a.{TENANT_COLUMN} = $1 AND {same_key} \
                     AND ({}) IS DISTINCT FROM ({})",
                    list("", &attributes),
                    list("s.", &attributes),
                    list("a.", &attributes),
                    list("s.", &attributes),
                ),
                &[&tenant],
            )
            .await?
        }
    };
    let all: Vec<&str> = keys.iter().chain(attributes.iter()).copied().collect();
    let inserted = tx
        .execute(
            &format!(
                "INSERT INTO {table} ({TENANT_COLUMN}, {}) SELECT $1::varchar, {} FROM {staged} s \
                 WHERE NOT EXISTS (SELECT 1 FROM {table} a WHERE a.{TENANT_COLUMN} = $1 AND {same_key})",
                list("", &all),
                list("s.", &all),
            ),
            &[&tenant],
        )
        .await?;
    let deleted = tx
        .execute(
            &format!(
                "UPDATE {table} a SET {DELETED_COLUMN} = $2 WHERE a.{TENANT_COLUMN} = $1 AND a.{DELETED_COLUMN} IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM {staged} s WHERE {same_key})"
            ),
            &[&tenant, &now],
        )
        .await?;
    tx.batch_execute(&format!("DROP TABLE {staged}")).await?;
    Ok(Counts {
        inserted: inserted as i64,
        updated: updated as i64,
        deleted: deleted as i64,
        restored: restored as i64,
        purged: 0,
    })
}
