//! The retention purge: for each tenant, every statistical row whose time anchor is older than
//! the run's time minus the tenant's retention (`tenants.retention_days`) is deleted, and so is
//! every lookup object whose `deletedAt` is older than that. A row exactly at the cut-off
//! stays; rows without an anchor value are kept; rows with no anchor of their own go with their
//! parent (`ON DELETE CASCADE`).
//!
//! Rows are deleted in batches of `purge_batch_rows`, each batch its own short transaction,
//! so no lock is held for long and readers are never blocked. Running it again deletes nothing.

use super::lookup_refresh::DELETED_COLUMN;
use super::{Counts, Jobs};
use crate::odata::model::{Retention, SetKind, TENANT_COLUMN};
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

/// Every `(table, instant column)` the purge cuts by: statistical anchors and lookup
/// `deleted_at`, each table once.
pub fn purge_targets(model: &crate::odata::model::Model) -> Vec<(String, String)> {
    let mut targets = BTreeSet::new();
    for set in model.entity_sets() {
        match (&set.retention, set.kind) {
            (Retention::Anchor { column }, _) => {
                let column = set.property(column).map_or(column.as_str(), |p| p.column());
                targets.insert((set.table.clone(), column.to_owned()));
            }
            (Retention::Snapshot, SetKind::Lookup) => {
                targets.insert((set.table.clone(), DELETED_COLUMN.to_owned()));
            }
            _ => {}
        }
    }
    targets.into_iter().collect()
}

/// Purges one tenant; returns the rows deleted.
pub async fn purge_tenant(jobs: &Jobs, tenant: &str, now: DateTime<Utc>) -> anyhow::Result<Counts> {
    let client = jobs.pool.get().await.context("no database connection for the purge")?;
    let row = client
        .query_opt("SELECT retention_days FROM tenants WHERE id = $1", &[&tenant])
        .await?
        .with_context(|| format!("no tenant `{tenant}`"))?;
    let days: i32 = row.get(0);
    let cutoff = now - Duration::days(i64::from(days));
    let mut purged = 0i64;
    for (table, column) in purge_targets(&jobs.model) {
        let statement = format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} \
             WHERE {TENANT_COLUMN} = $1 AND {column} < $2 LIMIT $3))"
        );
        loop {
            let deleted = client
                .execute(&statement, &[&tenant, &cutoff, &jobs.config.purge_batch_rows])
                .await
                .with_context(|| format!("purging {table}"))?;
            purged += deleted as i64;
            if (deleted as i64) < jobs.config.purge_batch_rows {
                break;
            }
        }
    }
    tracing::info!(tenant, %cutoff, purged, "tenant purged");
    Ok(Counts { purged, ..Counts::default() })
}
